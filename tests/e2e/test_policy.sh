#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Safe defaults and the destination policy (docs/robustness.md, "Safe
# defaults"). Servers listen on the proxy namespace's own loopback
# (127.0.0.1 and ::1: TCP 8080, UDP echo 7777): the proxy host's local
# services, which the app behind the TUN must not reach by default.
#
# In "app", 127.0.0.0/8 is taken off lo and routed into the TUN (with
# route_localnet), so real tools there aim at the proxy host's loopback.
# IPv6 ::1 and multicast cannot be sent that way (the kernel neither routes
# ::1 out of a device nor accepts answers from it), so those are probed
# with packets written into the TUN (policy_probe.py).
#   1. Defaults: TCP to 127.0.0.1 gets a RST at once (curl and nc: Connection
#      refused), UDP an ICMP "administratively prohibited" (the app's
#      socket: EHOSTUNREACH), ping 127.0.0.1 fails ("Packet filtered");
#      ::1 gets RST / ICMPv6 admin-prohibited; multicast and broadcast get no
#      answer; link-local 169.254.169.254 (cloud metadata) and fe80::1 get
#      RST / ICMP admin-prohibited; flows_refused_policy counts each, the
#      proxy logs the tuple,
#      the loopback servers see nothing, and normal traffic still flows.
#   2. --deny: one host port (UDP 203.0.113.10:7777) and one IPv6 host's
#      port 80 refused, the rest of those hosts still reachable.
#   3. An allow list: deny 0.0.0.0/0 and ::/0, allow 203.0.113.10:80 and
#      127.0.0.1:8080: exactly those work (the proxy host's loopback server
#      answers through the proxy), everything else is refused.
#   4. --allow-loopback: TCP, UDP and ping to 127.0.0.1 reach the proxy
#      host's loopback.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tp_require curl nc ping
"$TP_PY" -c 'import scapy' 2>/dev/null || skip "needs python3-scapy"
tp_setup
www="$TP_TMP/www"
mkdir -p "$www"
echo "served from net" >"$www/index.html"
tp_start_http "$www"
tp_start_udp_echo
LPORT=8080
lo_www="$TP_TMP/lo_www"
mkdir -p "$lo_www"
echo "served from the proxy host's loopback" >"$lo_www/index.html"
for a in 127.0.0.1 ::1; do
	tp_spawn "$NS_PROXY" "$TP_TMP/lo_http_$a.log" "$TP_PY" -u -m http.server \
		--bind "$a" --directory "$lo_www" "$LPORT"
	TP_PIDS+=("$TP_SPAWNED")
	tp_spawn "$NS_PROXY" "$TP_TMP/lo_echo_$a.log" "$TP_PY" -u \
		"$TP_E2E_DIR/udp_echo_server.py" "$a" "$ECHO_PORT"
	TP_PIDS+=("$TP_SPAWNED")
done
tp_wait_for 10 sh -c "ip netns exec $NS_PROXY ss -Hltn 'sport = :$LPORT' | grep -q '::1'" ||
	fail "loopback HTTP servers did not come up"
tp_wait_for 10 sh -c "ip netns exec $NS_PROXY ss -Hlun 'sport = :$ECHO_PORT' | grep -q '::1'" ||
	fail "loopback UDP echo servers did not come up"

# The app's kernel must send 127.0.0.0/8 into the TUN and accept answers
# from there: no loopback address on lo, route_localnet on.
ip -n "$NS_APP" addr del 127.0.0.1/8 dev lo || fail "cannot take 127.0.0.1 off app's lo"
in_app sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.default.route_localnet=1 \
	net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 ||
	fail "route_localnet in app"

conn() { in_app "$TP_PY" "$TP_E2E_DIR/tcp_connect.py" "$@" 2>&1; }
udp_refused() { in_app "$TP_PY" "$TP_E2E_DIR/udp_refused.py" "$@" 2>&1; }
udp_echo() { in_app "$TP_PY" "$TP_E2E_DIR/udp_echo.py" "$@" --count 5 --timeout 1 --retries 2 2>&1; }
probe() { in_app "$TP_PY" "$TP_E2E_DIR/policy_probe.py" "$TP_TUN" "$@" 2>&1; }
url() { case $1 in *:*) echo "http://[$1]:$2/" ;; *) echo "http://$1:$2/" ;; esac; }

# expect_tcp_refused HOST PORT: connect, curl and nc all say "refused", fast.
expect_tcp_refused() {
	local out rc
	out=$(conn "$1" "$2" --expect ECONNREFUSED --within 1) || fail "connect $1:$2: $out"
	# curl -v: its summary says "Couldn't connect", its trace the errno.
	out=$(in_app curl -sS -v --max-time 5 "$(url "$1" "$2")" 2>&1)
	rc=$?
	[ "$rc" = 7 ] && grep -q 'Connection refused' <<<"$out" ||
		fail "curl $1:$2: status $rc, '$(tail -n 3 <<<"$out")' (want 7, Connection refused)"
	out=$(in_app nc -v -w 5 "$1" "$2" </dev/null 2>&1) && fail "nc $1:$2 succeeded: $out"
	grep -q 'Connection refused' <<<"$out" || fail "nc $1:$2: '$out' (want Connection refused)"
}

# expect_udp_refused HOST PORT: the app's connected socket gets the error
# an ICMP "administratively prohibited" means to Linux.
expect_udp_refused() {
	local out
	out=$(udp_refused "$1" "$2" --expect EHOSTUNREACH,EACCES --timeout 1) ||
		fail "UDP to $1:$2 not refused: $out"
}

# expect_ping_refused HOST: ping fails and says why.
expect_ping_refused() {
	local out
	out=$(in_app ping -c 2 -i 0.2 -W 1 "$1" 2>&1) && fail "ping $1 succeeded: $out"
	grep -qiE 'Packet filtered|prohibited' <<<"$out" ||
		fail "ping $1: '$out' (want Packet filtered / prohibited)"
}

expect_http() {
	local out
	out=$(in_app curl -sS --max-time 5 "$(url "$1" "$2")" 2>&1) || fail "curl $1:$2: $out"
	[ "$out" = "$3" ] || fail "curl $1:$2: got '$out', want '$3'"
}

restart_proxy() {
	tp_stop_proxy || fail "the proxy did not stop cleanly"
	tp_start_proxy "$@"
}

# --- 1. defaults ---------------------------------------------------------------
tp_start_proxy
pol0=$(tp_counter flows_refused_policy)
expect_tcp_refused 127.0.0.1 "$LPORT"
expect_tcp_refused 127.0.0.53 22
expect_udp_refused 127.0.0.1 "$ECHO_PORT"
expect_ping_refused 127.0.0.1
tp_log "127.0.0.1: TCP refused (RST), UDP refused (ICMP admin), ping refused"
for p in "tcp --dport $LPORT --expect rst" "udp --dport $ECHO_PORT --expect admin" \
	"icmp --expect admin"; do
	# shellcheck disable=SC2086 # p is a word list
	out=$(probe "$APP_V6" ::1 $p) || fail "probe ::1 $p: $out"
	tp_log "probe: $out"
	# shellcheck disable=SC2086
	out=$(probe "$APP_V6" ::ffff:127.0.0.1 $p) || fail "probe ::ffff:127.0.0.1 $p: $out"
done
for d in 224.0.0.251 255.255.255.255 0.0.0.0; do
	out=$(probe "$APP_V4" "$d" udp --dport 5353 --expect none) || fail "probe $d: $out"
done
out=$(probe "$APP_V6" ff02::fb udp --dport 5353 --expect none) || fail "probe ff02::fb: $out"
out=$(probe "$APP_V4" 224.0.0.1 icmp --expect none) || fail "probe 224.0.0.1 ping: $out"
out=$(probe "$APP_V4" 255.255.255.255 tcp --dport 80 --expect none) ||
	fail "probe 255.255.255.255 SYN: $out"
tp_log "::1 refused (RST, ICMPv6 admin), multicast/broadcast/unspecified refused in silence"
# Link-local (issue 10, finding 4): the cloud metadata address with real
# tools, fe80::/10 with packets (the app's kernel has no route for it).
sleep 1.1 # the refusal log line is once a second per kind: this one must show
expect_tcp_refused 169.254.169.254 80
expect_udp_refused 169.254.169.254 53
for p in "tcp --dport 80 --expect rst" "udp --dport 53 --expect admin" "icmp --expect admin"; do
	# shellcheck disable=SC2086 # p is a word list
	out=$(probe "$APP_V6" fe80::1 $p) || fail "probe fe80::1 $p: $out"
done
grep -qE 'refused by policy: tcp 10\.0\.0\.8:[0-9]+ -> 169\.254\.169\.254:80: deny 169\.254\.0\.0/16 \(link-local' "$TP_LOG" ||
	fail "no log line for the link-local refusal"
tp_log "169.254.169.254 and fe80::1 refused (RST, ICMP admin)"
pol=$(tp_counter flows_refused_policy)
# connect+curl+nc for two ports, udp, 2 pings, 6 probes to ::1 and
# ::ffff:127.0.0.1, 6 silent probes.
[ $((pol - pol0)) -ge 21 ] || fail "flows_refused_policy went from $pol0 to $pol, want >= 21 more"
[ "$(tp_last counter flows_created)" = 0 ] ||
	fail "flows were created for refused destinations: $(tp_last counter flows_created)"
grep -qE 'refused by policy: tcp 10\.0\.0\.8:[0-9]+ -> 127\.0\.0\.1:8080: deny 127\.0\.0\.0/8 \(loopback' "$TP_LOG" ||
	fail "no log line with the refused tuple and rule"
grep -q 'GET' "$TP_TMP/lo_http_127.0.0.1.log" "$TP_TMP/lo_http_::1.log" &&
	fail "a loopback server saw a request"
# The proxy still carries everything else.
expect_http "$HOST_V4" 80 "served from net"
expect_http "$HOST_V6" 80 "served from net"
out=$(udp_echo "$HOST_V4" "$ECHO_PORT") || fail "UDP echo to net after refusals: $out"
out=$(in_app ping -c 1 -W 2 "$HOST_V4" 2>&1) || fail "ping net after refusals: $out"
tp_log "refused: $((pol - pol0)) flows; normal traffic unaffected"

# --- 2. deny list --------------------------------------------------------------
restart_proxy --deny "$HOST_V4/32:$ECHO_PORT" --deny "[$HOST_V6]:80"
expect_udp_refused "$HOST_V4" "$ECHO_PORT"
expect_tcp_refused "$HOST_V6" 80
out=$(udp_echo "$HOST_V6" "$ECHO_PORT") || fail "UDP echo v6 (not denied): $out"
expect_http "$HOST_V4" 80 "served from net"
out=$(in_app ping -c 1 -W 2 "$HOST_V4" 2>&1) || fail "ping (a port rule leaves ICMP alone): $out"
[ "$(tp_counter flows_refused_policy)" -ge 4 ] || fail "deny list: flows_refused_policy did not move"
grep -qE "refused by policy: udp 10\.0\.0\.8:[0-9]+ -> $HOST_V4:$ECHO_PORT: deny $HOST_V4/32:$ECHO_PORT" "$TP_LOG" ||
	fail "no log line for the deny rule"
tp_log "--deny: the denied host ports are refused, the rest works"

# --- 3. allow list ---------------------------------------------------------------
restart_proxy --deny 0.0.0.0/0,::/0 --allow "$HOST_V4:80" --allow "127.0.0.1:$LPORT"
expect_http "$HOST_V4" 80 "served from net"
expect_http 127.0.0.1 "$LPORT" "served from the proxy host's loopback"
grep -q 'GET' "$TP_TMP/lo_http_127.0.0.1.log" || fail "the loopback server saw no request"
expect_tcp_refused "$HOST_V6" 80
expect_tcp_refused "$NET_V4" 80
expect_udp_refused "$HOST_V4" "$ECHO_PORT"
expect_udp_refused 127.0.0.1 "$ECHO_PORT"
expect_ping_refused "$HOST_V4"
out=$(in_app ping -6 -c 1 -W 2 "$HOST_V6" 2>&1) && fail "ping -6 allowed by the allow list: $out"
tp_log "allow list: only $HOST_V4:80 and 127.0.0.1:$LPORT reachable"

# --- 4. --allow-loopback ---------------------------------------------------------
restart_proxy --allow-loopback
expect_http 127.0.0.1 "$LPORT" "served from the proxy host's loopback"
out=$(udp_echo 127.0.0.1 "$ECHO_PORT") || fail "UDP echo on the proxy's loopback: $out"
out=$(in_app ping -c 2 -i 0.2 -W 2 127.0.0.1 2>&1) || fail "ping 127.0.0.1 with --allow-loopback: $out"
out=$(probe "$APP_V6" ::1 tcp --dport "$LPORT" --expect rst) &&
	fail "::1 with --allow-loopback: still refused with a RST: $out"
# Multicast stays refused: allowing loopback opens nothing else.
out=$(probe "$APP_V4" 224.0.0.251 udp --dport 5353 --expect none) || fail "probe mcast: $out"
[ "$(tp_counter flows_refused_policy)" -ge 1 ] || fail "multicast not counted"
tp_log "--allow-loopback: TCP, UDP and ping reach the proxy host's loopback"

tp_print_counters
tp_proxy_alive || fail "the proxy died"
tp_pass
