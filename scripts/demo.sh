#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tunproxy demo: builds tunproxy if needed, makes three network namespaces
# (an "app" whose only network is tunproxy's TUN device, the "proxy" that
# runs tunproxy, and a "net" with a DNS server, a web server, a UDP echo
# server and a pingable host), shows a DNS lookup, a TCP download, a UDP
# exchange and a ping going through tunproxy, prints its counters, then
# does it again the short way, `tunproxy run -- CMD`, and removes
# everything. Only namespaces it creates see any traffic.
# Run as root on Debian 12:  sudo bash scripts/demo.sh
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)

if [ -t 1 ]; then B=$'\033[1m' C=$'\033[36m' R=$'\033[31m' N=$'\033[0m'; else B="" C="" R="" N=""; fi
bold() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
say() { printf '   %s\n' "$*"; }
cmdline() { printf '%sapp$ %s%s\n' "$C" "$*" "$N"; }
# show CMD...: print the command as typed in "app", then run it there.
show() {
	cmdline "$*"
	in_app "$@" 2>&1 | sed 's/^/   /'
	return "${PIPESTATUS[0]}"
}
die() {
	printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "run me as root (network namespaces and TUN devices need it): sudo bash scripts/demo.sh"
[ -c /dev/net/tun ] || die "/dev/net/tun is missing (load the tun module: modprobe tun)"

# --- packages -----------------------------------------------------------------
PKGS="build-essential cmake libcmocka-dev iproute2 procps util-linux python3
  dnsmasq-base bind9-dnsutils socat iputils-ping nginx-light curl"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	bold "Installing packages:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086 # one word per package
	{ apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } \
		>/tmp/tunproxy-demo-apt.log 2>&1 ||
		die "apt-get failed, see /tmp/tunproxy-demo-apt.log"
fi

# --- build ----------------------------------------------------------------------
if [ ! -f build/CMakeCache.txt ]; then
	bold "Configuring the build (build/)"
	cmake -S . -B build >/tmp/tunproxy-demo-cmake.log 2>&1 ||
		{ cat /tmp/tunproxy-demo-cmake.log; die "cmake failed"; }
fi
bold "Building tunproxy"
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target tunproxy >/tmp/tunproxy-demo-build.log 2>&1 ||
	{ tail -n 30 /tmp/tunproxy-demo-build.log; die "build failed"; }
say "built $ROOT/build/tunproxy"

# --- topology -------------------------------------------------------------------
export TUNPROXY="$ROOT/build/tunproxy"
export TP_VERBOSE="" TP_NAME=demo
# shellcheck source=../tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"

bold "Creating the namespaces"
tp_setup
cat <<EOT
   $NS_APP    the app: its only interface is the TUN device $TP_TUN
               ($APP_V4/24, $APP_V6/64, default routes via $TP_TUN)
   $NS_PROXY  runs tunproxy; reaches the world only through a veth
               to "net" ($PROXY_V4, $PROXY_V6)
   $NS_NET    the "internet": $NET_V4 / $NET_V6 on the veth, and a host
               $HOST_V4 / $HOST_V6 running dnsmasq, nginx and a UDP echo
               server
EOT

bold "Starting the servers in $NS_NET"
tp_start_dns
tp_start_udp_echo
mkdir -p "$TP_TMP/www"
head -c $((4 << 20)) /dev/urandom >"$TP_TMP/www/file"
chmod -R a+rX "$TP_TMP/www"
WANT_SHA=$(sha256sum <"$TP_TMP/www/file" | cut -d' ' -f1)
tp_start_http "$TP_TMP/www"
say "dnsmasq answers $DNS_NAME (A $HOST_V4, AAAA $HOST_V6); UDP echo on port $ECHO_PORT"
say "nginx serves a 4 MiB file of random bytes (sha256 ${WANT_SHA:0:16}...) on port 80"

bold "Starting tunproxy in $NS_PROXY"
tp_start_proxy
say "tunproxy (pid $TP_PID) created $TP_TUN, which now lives in $NS_APP"
cmdline ip route
in_app ip route | sed 's/^/   /'

bold "A DNS lookup from the app, through tunproxy"
show dig +short +time=3 @"$HOST_V4" "$DNS_NAME" A || die "DNS lookup failed"
show dig +short +time=3 @"$HOST_V6" "$DNS_NAME" AAAA || die "DNS lookup over IPv6 failed"

bold "A TCP download: curl fetches 4 MiB from nginx, through tunproxy"
cmdline "curl -sS http://$HOST_V4/file | sha256sum"
got=$(in_app sh -c "curl -sS --max-time 30 http://$HOST_V4/file | sha256sum" | cut -d' ' -f1)
say "$got"
[ "$got" = "$WANT_SHA" ] || die "the download differs (want $WANT_SHA)"
say "the same bytes nginx has"

bold "A UDP exchange: the echo server sends our datagram back"
cmdline "echo \"hello through tunproxy\" | socat -t 2 - UDP4:$HOST_V4:$ECHO_PORT"
reply=$(echo "hello through tunproxy" | in_app socat -t 2 - "UDP4:$HOST_V4:$ECHO_PORT")
say "$reply"
[ "$reply" = "hello through tunproxy" ] || die "no UDP echo"
cmdline "echo \"and over IPv6\" | socat -t 2 - UDP6:[$HOST_V6]:$ECHO_PORT"
reply=$(echo "and over IPv6" | in_app socat -t 2 - "UDP6:[$HOST_V6]:$ECHO_PORT")
say "$reply"
[ "$reply" = "and over IPv6" ] || die "no UDP echo over IPv6"

bold "A ping: the echo requests travel as the proxy's own pings"
show ping -c 3 -i 0.3 "$HOST_V4" || die "ping failed"
show ping -6 -c 3 -i 0.3 "$HOST_V6" || die "ping -6 failed"

bold "tunproxy's counters (kill -USR1 $TP_PID), the non-zero ones"
tp_dump
awk '$1 == "counters" && $2 == "end" { last = NR } { line[NR] = $0 }
     END { for (i = last - 1; i > 0 && line[i] ~ /^(counter|drop) /; i--) start = i
           for (i = start; i < last; i++) { split(line[i], f, " ")
             if (f[3] != "0") printf "   %-28s %s\n", f[1] == "drop" ? "drop " f[2] : f[2], f[3] } }' "$TP_LOG"

bold "Stopping tunproxy"
tp_stop_proxy || { tail -n 20 "$TP_LOG"; die "tunproxy did not stop cleanly"; }
say "tunproxy exited cleanly"

# --- tunproxy run ---------------------------------------------------------------
bold "The short way: tunproxy run -- CMD"
cat <<EOT
   tunproxy run makes the namespace, the TUN, the addresses, the routes and
   a resolv.conf for one command, runs it, and exits with its status. Here
   it runs inside $NS_PROXY (standing in for your machine), whose
   resolv.conf names dnsmasq: CMD's DNS goes to tunproxy at 10.0.0.1, which
   forwards it there.
EOT
mkdir -p "/etc/netns/$NS_PROXY"
printf 'nameserver %s\n' "$NET_V4" >"/etc/netns/$NS_PROXY/resolv.conf"
trap 'rm -rf "/etc/netns/$NS_PROXY"; tp_teardown' EXIT
runshow() {
	local a line="tunproxy run --"
	for a in "$@"; do
		case $a in *[[:space:]\|]*) line="$line '$a'" ;; *) line="$line $a" ;; esac
	done
	printf '%s$ %s%s\n' "$C" "$line" "$N"
	ip netns exec "$NS_PROXY" "$TUNPROXY" run -- "$@" 2>&1 | sed 's/^/   /'
	return "${PIPESTATUS[0]}"
}
runshow cat /etc/resolv.conf || die "tunproxy run failed"
runshow getent hosts "$DNS_NAME" || die "getent through tunproxy run failed"
got=$(runshow sh -c "curl -sS --max-time 30 http://$DNS_NAME/file | sha256sum") ||
	die "curl through tunproxy run failed"
printf '%s\n' "$got"
[[ $got == *"$WANT_SHA"* ]] || die "the download through tunproxy run differs"
runshow ping -c 2 -i 0.3 "$HOST_V6" || die "ping through tunproxy run failed"
printf '%s$ tunproxy run -- sh -c "exit 7"; echo $?%s\n' "$C" "$N"
ip netns exec "$NS_PROXY" "$TUNPROXY" run -- sh -c "exit 7"
say "$?"
say "(as a normal user it works the same, in a user namespace of its own)"

bold "Cleaning up"
say "the namespaces and servers go now"
# shellcheck disable=SC2034 # read by the EXIT trap in lib.sh
TP_DONE=1
exit 0
