#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Honest connection setup through tunproxy: the app's connect fails the way
# the real destination makes the proxy's connect fail, and at once.
#  - A closed port in "net" (its kernel answers RST): the app gets RST,
#    i.e. ECONNREFUSED / curl's and nc's "Connection refused", in under 1 s,
#    over IPv4 and IPv6, to both net addresses; tcp_connect_refused moves.
#  - A destination the proxy has no route to ("unreachable" routes in
#    "proxy" for 203.0.113.99 and 2001:db8:1::99): the app gets an ICMP
#    unreachable, i.e. EHOSTUNREACH or ENETUNREACH, in under 1 s;
#    tcp_connect_unreachable moves.
# Afterwards an open port still works, and nothing is left open.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tp_require curl nc
tp_setup
www="$TP_TMP/www"
mkdir -p "$www"
echo "still serving" >"$www/index.html"
tp_start_http "$www"
tp_start_proxy
UNREACH_V4=203.0.113.99
UNREACH_V6=2001:db8:1::99
ip -n "$NS_PROXY" route add unreachable "$UNREACH_V4/32" || fail "unreachable route"
ip -n "$NS_PROXY" -6 route add unreachable "$UNREACH_V6/128" || fail "unreachable route6"

conn() { in_app "$TP_PY" "$TP_E2E_DIR/tcp_connect.py" "$@" 2>&1; }

ref0=$(tp_counter tcp_connect_refused) || exit 1
unr0=$(tp_counter tcp_connect_unreachable) || exit 1
rst0=$(tp_counter tcp_rst_sent) || exit 1
icmp0=$(tp_counter icmp_errors_sent) || exit 1

n=0
for host in "$HOST_V4" "$NET_V4" "$HOST_V6" "$NET_V6"; do
	for port in 9 40000; do
		out=$(conn "$host" "$port" --expect ECONNREFUSED --within 1) ||
			fail "connect to closed port $port on $host: $out"
		tp_log "closed port: $out"
		n=$((n + 1))
	done
done
# Real tools say it in words.
for host in "$HOST_V4" "$HOST_V6"; do
	h=$host
	case $host in *:*) h="[$host]" ;; esac
	# curl -v: its summary says "Couldn't connect", its trace the errno.
	out=$(in_app curl -sS -v --max-time 5 "http://$h:9/" 2>&1)
	rc=$?
	[ "$rc" = 7 ] && printf '%s' "$out" | grep -q 'Connection refused' ||
		fail "curl to closed port 9 on $host: status $rc, '$(printf '%s' "$out" | tail -n 3)' (want 7, Connection refused)"
	out=$(in_app nc -v -w 5 "$host" 9 </dev/null 2>&1) &&
		fail "nc to closed port 9 on $host succeeded: $out"
	printf '%s' "$out" | grep -q 'Connection refused' ||
		fail "nc to closed port 9 on $host: '$out' (want Connection refused)"
	n=$((n + 2))
done
ref=$(tp_counter tcp_connect_refused) || exit 1
rst=$(tp_counter tcp_rst_sent) || exit 1
[ $((ref - ref0)) -eq "$n" ] ||
	fail "tcp_connect_refused went from $ref0 to $ref, want $n more"
[ $((rst - rst0)) -ge "$n" ] || fail "tcp_rst_sent went from $rst0 to $rst, want at least $n more"

for host in "$UNREACH_V4" "$UNREACH_V6"; do
	out=$(conn "$host" 80 --expect EHOSTUNREACH,ENETUNREACH --within 1) ||
		fail "connect to unreachable $host: $out"
	tp_log "unreachable: $out"
	out=$(in_app nc -v -w 5 "$host" 80 </dev/null 2>&1) &&
		fail "nc to unreachable $host succeeded: $out"
	printf '%s' "$out" | grep -qE 'No route to host|Network is unreachable' ||
		fail "nc to unreachable $host: '$out' (want No route to host / Network is unreachable)"
done
unr=$(tp_counter tcp_connect_unreachable) || exit 1
icmp=$(tp_counter icmp_errors_sent) || exit 1
[ $((unr - unr0)) -eq 4 ] || fail "tcp_connect_unreachable went from $unr0 to $unr, want 4 more"
[ $((icmp - icmp0)) -ge 4 ] || fail "icmp_errors_sent went from $icmp0 to $icmp, want at least 4 more"

# The proxy still connects what can be connected.
for host in "$HOST_V4" "$HOST_V6"; do
	out=$(conn "$host" "$HTTP_PORT" --expect ok --within 2) || fail "connect to open port after refusals: $out"
	h=$host
	case $host in *:*) h="[$host]" ;; esac
	out=$(in_app curl -sS --max-time 5 "http://$h/" 2>&1) || fail "curl after refusals to $host: $out"
	[ "$out" = "still serving" ] || fail "curl after refusals to $host: got '$out'"
done

tp_wait_counter tcp_conns_open -eq 0 10 ||
	fail "tcp_conns_open is $(tp_counter tcp_conns_open) at the end, want 0"
tp_wait_counter tcp_half_open -eq 0 10 ||
	fail "tcp_half_open is $(tp_counter tcp_half_open) at the end, want 0"
tp_wait_counter flows_open -eq 0 10 ||
	fail "flows_open is $(tp_counter flows_open) at the end, want 0"
tp_print_counters
tp_proxy_alive || fail "the proxy died"
tp_pass
