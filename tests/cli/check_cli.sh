#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check_cli.sh TUNPROXY VERSION: the command-line conventions of tunproxy
# and its subcommands (tunproxy(1), EXIT STATUS; src/tools/tools.h):
#   1. an unknown option, a missing value or a bad value: exit 2, exactly
#      two lines on stderr, the first naming the option or value, the
#      second "Try 'tunproxy [SUB] --help'." (no 69-line help)
#   2. arguments are checked before anything is created: a bad --tun-addr
#      with --tun creates no device (as root, in a network namespace of
#      its own); a closed --tun-fd names the fd and the reason
#   3. --version of the command and every subcommand prints the project
#      version
#   4. log lines start with an ISO-8601 UTC time; under journald
#      (JOURNAL_STREAM names stderr) with "<PRIO>" and no time
#   5. SIGHUP does not stop the proxy: it re-opens --log-file (a rotated
#      file is re-created) or, without one, says it ignored it
#   6. -vvv logs one trace line per packet with the decision
# The proxy runs with the UDP dev transport on 127.0.0.1 (no root, no
# TUN); the only packet sent is to 127.0.0.1, which the default policy
# refuses, so nothing leaves the machine.
set -u
bin=$1 version=$2
tmp=$(mktemp -d /tmp/tp-cli.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${TP_KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
die() { echo "FAIL: $*"; fail=1; }

# usage_error WANT_IN_LINE1 TRY_SUB ARGS...: exit 2 and the two lines.
usage_error() {
	local want=$1 sub=$2 rc
	shift 2
	"$bin" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	[ $rc = 2 ] || die "tunproxy $*: exit $rc, want 2"
	[ "$(wc -l <"$tmp/err")" = 2 ] || { die "tunproxy $*: want 2 lines on stderr:"; cat "$tmp/err"; }
	head -n 1 "$tmp/err" | grep -qF -- "$want" || die "tunproxy $*: first line does not name '$want': $(head -n 1 "$tmp/err")"
	[ "$(tail -n 1 "$tmp/err")" = "Try 'tunproxy${sub:+ $sub} --help'." ] ||
		die "tunproxy $*: last line '$(tail -n 1 "$tmp/err")'"
	[ -s "$tmp/out" ] && die "tunproxy $*: wrote to stdout"
}

# 1. usage errors
for sub in "" run tee device capture; do
	try=$sub
	[ "$sub" = run ] && try=""
	# shellcheck disable=SC2086 # no subcommand: no word
	usage_error "'--bogus'" "$try" $sub --bogus
done
usage_error "'-x'" "" -x
usage_error "--mtu" "" --mtu
usage_error "'5'" "" --listen udp:127.0.0.1:1 --mtu 5
usage_error "--max-flows" "" --listen udp:127.0.0.1:1 --max-flows 0
usage_error "--tcp-rx" "" --listen udp:127.0.0.1:1 --tcp-rx nope
usage_error "--netns" "" --listen udp:127.0.0.1:1 --netns x
usage_error "'--server'" device device --server
usage_error "--proto" capture capture --proto nope -w -
usage_error "--max-subscribers" tee tee --max-subscribers 99
usage_error "--tun-addr6" device device --tun-addr6 10.0.0.1/24
usage_error "unexpected argument" "" --listen udp:127.0.0.1:1 extra
usage_error "'1x'" flows flows --watch=1x
usage_error "'0'" flows flows --watch=0

# 2. checked before anything is created
usage_error "--tun-addr: '10.0.0.8/40'" "" --tun tpcli0 --tun-addr 10.0.0.8/40
usage_error "--tun-addr6: 'fdaa::8'x" "" --tun tpcli0 --tun-addr6 "fdaa::8'x"
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -n true 2>/dev/null; then
	# In a namespace of its own: the device, if made, would be visible
	# there and nowhere else.
	out=$(unshare -n sh -c "'$bin' --tun tpcli0 --tun-addr 10.0.0.8/33 2>/dev/null; echo rc=\$?; ip link show tpcli0 2>&1")
	echo "$out" | grep -q '^rc=2$' || die "bad --tun-addr as root: $out"
	echo "$out" | grep -q 'tpcli0:' && die "bad --tun-addr: the TUN device was created first"
fi
exec 7<>/dev/null
exec 7>&-
usage_error "--tun-fd 7: Bad file descriptor" "" --tun-fd 7
usage_error "--tun-fd 0: open read-only" "" --tun-fd 0

# 3. --version everywhere
for sub in "" run tee device capture; do
	# shellcheck disable=SC2086
	v=$("$bin" $sub --version 2>&1)
	[ "$v" = "tunproxy $version (API 1)" ] || die "tunproxy $sub --version: '$v'"
done

# start_proxy LOGNAME ARGS...: the proxy on a free loopback UDP port.
start_proxy() {
	local log=$1
	shift
	port=$((20000 + RANDOM % 20000))
	"$bin" --listen "udp:127.0.0.1:$port" "$@" 2>"$tmp/$log" &
	pid=$!
	pids+=("$pid")
	for _ in $(seq 50); do
		grep -q 'listening\|running\|ready' "$tmp/$log" 2>/dev/null && break
		sleep 0.1
	done
}
# stop_proxy: SIGTERM, then the exit status must be 0.
stop_proxy() {
	kill -TERM "$pid"
	wait "$pid"
	local rc=$?
	[ $rc = 0 ] || die "proxy exit $rc after SIGTERM, want 0"
}
iso='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z tunproxy (info|warn|error|debug|trace): '

# 4 and 5. time stamps; SIGHUP without a log file
start_proxy plain.log -v
kill -HUP "$pid"
sleep 0.5
kill -0 "$pid" 2>/dev/null || die "SIGHUP stopped the proxy"
stop_proxy
grep -E "tunproxy (info|warn)" "$tmp/plain.log" | grep -vEq "$iso" &&
	{ die "log lines without an ISO-8601 time:"; grep -vE "$iso" "$tmp/plain.log" | grep tunproxy | head -n 3; }
grep -Eq "$iso" "$tmp/plain.log" || { die "no timed log line:"; head -n 3 "$tmp/plain.log"; }
grep -q "SIGHUP: no --log-file to re-open; ignored" "$tmp/plain.log" || die "SIGHUP not logged"

touch "$tmp/journal.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$tmp/journal.log") start_proxy journal.log -v
stop_proxy
grep -q '^<6>tunproxy info: ' "$tmp/journal.log" || { die "no '<6>tunproxy info:' line under journald:"; head -n 3 "$tmp/journal.log"; }
grep -Eq '^[0-9]{4}-' "$tmp/journal.log" && die "a timed line under journald"

# 5. --log-file and SIGHUP after a rotation
start_proxy file-stderr.log -v --log-file "$tmp/tp.log"
sleep 0.3
mv "$tmp/tp.log" "$tmp/tp.log.1"
kill -HUP "$pid"
for _ in $(seq 50); do [ -s "$tmp/tp.log" ] && break; sleep 0.1; done
stop_proxy
grep -q "SIGHUP: log file re-opened" "$tmp/tp.log" 2>/dev/null || die "SIGHUP did not re-open --log-file"
grep -Eq "$iso" "$tmp/tp.log.1" || die "the rotated log has no timed line"
grep -q "tunproxy info" "$tmp/file-stderr.log" && die "log lines went to stderr despite --log-file"

# 6. -vvv: a UDP packet to 127.0.0.1:9 (refused by the default policy)
send_packet() {
	python3 - "$port" <<'PY'
import socket, struct, sys
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
src, dst = socket.inet_aton("10.0.0.8"), socket.inet_aton("127.0.0.1")
udp = struct.pack("!HHHH", 40000, 9, 8 + 4, 0) + b"ping"
c = csum(src + dst + struct.pack("!BBH", 0, 17, len(udp)) + udp) or 0xffff
udp = udp[:6] + struct.pack("!H", c) + udp[8:]
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src, dst)
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(ip + udp, ("127.0.0.1", int(sys.argv[1])))
s.settimeout(2)
try: s.recv(2048)
except OSError: pass
PY
}
start_proxy trace.log -vvv
send_packet
stop_proxy
grep -Eq "trace: packet udp 10\.0\.0\.8:40000 -> 127\.0\.0\.1:9 4 bytes: refused by policy" "$tmp/trace.log" ||
	{ die "-vvv: no trace line for the packet:"; grep -E "trace|refused" "$tmp/trace.log" | head -n 5; }
start_proxy notrace.log -vv
send_packet
stop_proxy
grep -q "trace:" "$tmp/notrace.log" && die "-vv printed trace lines"

[ $fail = 0 ] && echo "ok: usage errors, early checks, --version, log times, SIGHUP, -vvv"
exit $fail
