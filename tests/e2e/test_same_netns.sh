#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The TUN as the default route of tunproxy's own namespace (issue 10,
# finding 3; docs/tunproxy.md, "The TUN as this namespace's default route").
# Here tunproxy creates and configures tp0 (10.0.0.8/24, fdaa::8/64) in
# "proxy" and stays there; the programs are in "proxy" too: dig, curl and the
# probes below run there, and the default route sends their packets into
# tp0. tunproxy's own sockets must leave by the veth to "net" instead, or
# they would come back into tp0 as new flows, forever.
#   1. --fwmark 42 with the policy-routing recipe: table 100 holds
#      "default dev tp0" and "ip rule add not fwmark 42 table 100" sends
#      everything unmarked there (IPv4 and IPv6); the main table keeps the
#      veth default route for the marked sockets. Checked:
#        - dig (IPv4 and IPv6 servers) and curl (IPv4 and IPv6) from
#          "proxy" get their answers through tunproxy (its counters moved);
#        - no loop: one UDP datagram each to 10.0.0.9 and fdaa::9 (the TUN's
#          neighbours) is refused by the TUN-prefix rule: flows_created stays
#          at 1 (the first dig's flow), flows_refused_policy moves by 2, and
#          tunproxy read a handful of packets, not a storm.
#   2. --bind-interface vp: both default routes in the main table, tp0's
#      preferred (metric 10, the veth's 100 and 2000); sockets bound to vp
#      take the veth's. The same dig and curl work; ip route get says tp0.
# Before tunproxy had --fwmark/--bind-interface it could not run this way
# at all; before the TUN-prefix rule a datagram to 10.0.0.9 looped.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tp_require curl dig
tp_setup
tp_start_dns
www="$TP_TMP/www"
mkdir -p "$www"
echo "served from net" >"$www/index.html"
tp_start_http "$www"
MARK=42
TABLE=100

# The replies tunproxy writes into tp0 come from addresses whose reverse
# route depends on the mark; strict reverse-path filtering would drop them.
in_proxy sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 ||
	fail "rp_filter in proxy"

# start_here ARGS...: tunproxy --tun tp0 in "proxy", configuring the device
# itself (the default 10.0.0.8/24, fdaa::8/64), which stays there.
start_here() {
	: >>"$TP_LOG"
	# shellcheck disable=SC2086 # TP_WRAPPER is a command line, TP_VERBOSE one option
	setsid ip netns exec "$NS_PROXY" $TP_WRAPPER "$TUNPROXY" --tun "$TP_TUN" $TP_VERBOSE "$@" \
		>>"$TP_LOG" 2>&1 </dev/null &
	TP_PID=$!
	tp_wait_for 10 sh -c "ip -n '$NS_PROXY' -6 addr show dev '$TP_TUN' | grep -q fdaa::8" ||
		fail "tunproxy did not configure $TP_TUN in proxy: $(tail -n 5 "$TP_LOG")"
	tp_running "$TP_PID" || fail "tunproxy exited at start-up: $(tail -n 5 "$TP_LOG")"
	tp_log "proxy pid $TP_PID up in its own TUN's namespace: $*"
}

lookup() { in_proxy dig +time=2 +tries=2 +short @"$1" "$DNS_NAME" "$2" 2>&1; }
page() {
	local url
	case $1 in *:*) url="http://[$1]/index.html" ;; *) url="http://$1/index.html" ;; esac
	in_proxy curl -sS --max-time 10 "$url" 2>&1
}
send_udp() {
	in_proxy "$TP_PY" -c 'import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"loop?", (a, 7777))' "$1" || fail "cannot send to $1"
}

# check_service WHAT: dig and curl over both families, through tunproxy.
check_service() {
	local out c0
	c0=$(tp_counter tcp_conns_created)
	out=$(lookup "$HOST_V6" AAAA)
	[ "$out" = "$HOST_V6" ] || fail "$1: dig AAAA @$HOST_V6: '$out'"
	out=$(page "$HOST_V4")
	[ "$out" = "served from net" ] || fail "$1: curl $HOST_V4: '$out'"
	out=$(page "$HOST_V6")
	[ "$out" = "served from net" ] || fail "$1: curl $HOST_V6: '$out'"
	[ $(($(tp_counter tcp_conns_created) - c0)) -ge 2 ] ||
		fail "$1: the curls did not go through tunproxy (tcp_conns_created did not move)"
	[ "$(tp_counter udp_flows_open)" -ge 1 ] || fail "$1: the digs did not go through tunproxy"
	tp_log "$1: dig (IPv4, IPv6) and curl (IPv4, IPv6) from tunproxy's own namespace work"
}

# check_no_loop WHAT: datagrams to the TUN's neighbours are refused, once.
check_no_loop() {
	local created pol rx
	created=$(tp_counter flows_created)
	pol=$(tp_last counter flows_refused_policy)
	rx=$(tp_last counter rx_packets)
	send_udp 10.0.0.9
	send_udp fdaa::9
	sleep 1
	tp_proxy_alive || fail "$1: the proxy died"
	[ "$(tp_counter flows_created)" = "$created" ] ||
		fail "$1: flows_created went from $created to $(tp_last counter flows_created) after one datagram each to 10.0.0.9 and fdaa::9 (a loop)"
	[ $(($(tp_last counter flows_refused_policy) - pol)) = 2 ] ||
		fail "$1: flows_refused_policy went from $pol to $(tp_last counter flows_refused_policy), want +2"
	[ $(($(tp_last counter rx_packets) - rx)) -lt 20 ] ||
		fail "$1: tunproxy read $(($(tp_last counter rx_packets) - rx)) packets after 2 datagrams"
	grep -qE "refused by policy: udp 10\.0\.0\.8:[0-9]+ -> 10\.0\.0\.9:7777: deny 10\.0\.0\.0/24 \(the TUN's own prefix" "$TP_LOG" ||
		fail "$1: no log line for the TUN-prefix refusal"
	tp_log "$1: datagrams to 10.0.0.9 and fdaa::9 refused, flows_created stays $created"
}

# --- 1. fwmark and a policy rule ----------------------------------------------
start_here --fwmark "$MARK"
grep -q "host sockets carry fwmark 0x2a" "$TP_LOG" || fail "no log line about the fwmark"
for v in -4 -6; do
	ip -n "$NS_PROXY" "$v" route add default dev "$TP_TUN" table "$TABLE" || fail "route $v table $TABLE"
	ip -n "$NS_PROXY" "$v" rule add not fwmark "$MARK" table "$TABLE" || fail "rule $v not fwmark"
done
got=$(ip -n "$NS_PROXY" route get "$HOST_V4")
grep -q "dev $TP_TUN" <<<"$got" || fail "unmarked traffic does not go to $TP_TUN: $got"
got=$(ip -n "$NS_PROXY" route get "$HOST_V4" mark "$MARK")
grep -q "dev vp" <<<"$got" || fail "marked traffic does not go to vp: $got"

# One flow first: the DNS query (the count the loop check holds to).
out=$(lookup "$HOST_V4" A)
[ "$out" = "$HOST_V4" ] || fail "fwmark: dig @$HOST_V4: '$out'"
[ "$(tp_counter flows_created)" = 1 ] || fail "fwmark: flows_created is $(tp_last counter flows_created) after one dig, want 1"
check_no_loop fwmark
check_service fwmark

# --- 2. bind-interface and route metrics ----------------------------------------
tp_stop_proxy || fail "the proxy did not stop cleanly"
for v in -4 -6; do
	ip -n "$NS_PROXY" "$v" rule del not fwmark "$MARK" table "$TABLE" || fail "rule $v del"
done
tp_wait_for 5 sh -c "! ip -n '$NS_PROXY' link show '$TP_TUN'" || fail "$TP_TUN still exists"
ip -n "$NS_PROXY" route replace default via "$NET_V4" dev vp metric 100 || fail "route metric"
ip -n "$NS_PROXY" route del default via "$NET_V4" dev vp metric 0 2>/dev/null
ip -n "$NS_PROXY" -6 route del default via "$NET_V6" || fail "route6 del"
ip -n "$NS_PROXY" -6 route add default via "$NET_V6" dev vp metric 2000 || fail "route6 metric"
start_here --bind-interface vp
grep -q "host sockets are bound to vp" "$TP_LOG" || fail "no log line about the bound interface"
ip -n "$NS_PROXY" route add default dev "$TP_TUN" metric 10 || fail "route tp0"
ip -n "$NS_PROXY" -6 route add default dev "$TP_TUN" metric 10 || fail "route6 tp0"
got=$(ip -n "$NS_PROXY" route get "$HOST_V4")
grep -q "dev $TP_TUN" <<<"$got" || fail "the default route is not $TP_TUN: $got"
out=$(lookup "$HOST_V4" A)
[ "$out" = "$HOST_V4" ] || fail "bind-interface: dig @$HOST_V4: '$out'"
check_no_loop bind-interface
check_service bind-interface
tp_print_counters counter
tp_pass
