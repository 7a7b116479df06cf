#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TCP and UDP through SOCKS5 upstreams (--upstream socks5://..., RFC 1928,
# RFC 1929): microsocks with a username and password, dante without.
# Through each: a byte-exact download (curl, SHA-256) from an IPv4 and an
# IPv6 destination, and a byte-exact upload (nc to the sink, which logs
# the size and SHA-256 it got); the servers see the upstream's address as
# the peer, not the proxy's. A CONNECT the upstream refuses (dante's block
# rule; microsocks' own connect refused) reaches the app as a RST within
# 1 s (upstream_refused counts it); microsocks refusing UDP ASSOCIATE
# reaches dig as an ICMP unreachable at once. Through dante, dig over UDP
# (UDP ASSOCIATE) to IPv4 and IPv6 servers, which see the queries come
# from the upstream; the same dante reached over IPv6 carries TCP and UDP
# too. Wrong credentials are counted in upstream_auth_failed. With the
# upstream stopped, a connect fails within 1 s (upstream_unreachable),
# and once it is back the next connection works.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=upstream_lib.sh
. "$(dirname "$0")/upstream_lib.sh"
tp_require curl nginx nc sha256sum microsocks danted socat
tp_setup
up_setup

SIZE=$((4 * 1024 * 1024))
SINK_PORT=9000
www="$TP_TMP/www"
mkdir -p "$www"
head -c "$SIZE" /dev/urandom >"$www/big.bin" || fail "cannot make the test file"
sum=$(sha256sum "$www/big.bin" | cut -d' ' -f1)
tp_start_http "$www"
tp_start_dns
up_start_peer_server
tp_start_sink "$SINK_PORT"

# transfers NAME: download from v4 and v6, upload to v4, peers checked.
transfers() {
	local name=$1 out
	up_download "$name" "$www/big.bin"
	# microsocks ends both directions at the first end of stream, so
	# the sink's answer (sent after our FIN) may not come back: its log
	# says what arrived.
	local n0
	n0=$(grep -c "^sink .* $SIZE $sum " "$TP_TMP/sink.log")
	in_app timeout 60 nc -N "$HOST_V4" "$SINK_PORT" <"$www/big.bin" >/dev/null 2>&1
	tp_wait_for 10 sh -c "[ \$(grep -c '^sink .* $SIZE $sum ' '$TP_TMP/sink.log') -gt $n0 ]" ||
		fail "$name: upload: the sink did not get $SIZE bytes with SHA-256 $sum: $(tail -n 2 "$TP_TMP/sink.log")"
	out=$(up_peer "$HOST_V4")
	[ "$out" = "$UP_OUT_V4" ] || fail "$name: the server saw '$out', want the upstream's $UP_OUT_V4"
	# microsocks binds only IPv4 (-b): over IPv6 the upstream leaves
	# from an address of its own choice, never the proxy's.
	out=$(up_peer "[$HOST_V6]")
	if [ -z "$out" ] || [ "$out" = "$PROXY_V6" ]; then
		fail "$name: the v6 server saw '$out', want an address of the upstream"
	fi
	tp_log "$name: download (v4, v6) and upload byte-exact; servers saw the upstream"
}

# rst_fast WHAT COUNTER PORT: a connect to $HOST_V4:PORT that the upstream
# cannot carry reaches the app as a RST in < 1 s, and COUNTER grows.
rst_fast() {
	local what=$1 counter=$2 port=$3 c0 c
	c0=$(tp_counter "$counter")
	read -r rc ms < <(tp_timed curl -sS --max-time 10 "http://$HOST_V4:$port/")
	# curl exit 7: "Failed to connect" (connection refused: our RST).
	[ "$rc" = 7 ] || fail "$what: curl exit $rc, want 7 (RST)"
	[ "$ms" -lt 1000 ] || fail "$what: the RST came after $ms ms, want < 1000"
	c=$(tp_counter "$counter")
	[ "$c" -gt "$c0" ] || fail "$what: $counter stayed at $c"
	tp_log "$what: RST in $ms ms ($counter $c)"
}

# 1. microsocks with username/password.
up_start_microsocks 1080 tpuser 'tp:p@ss'
tp_start_proxy --upstream "socks5://tpuser:tp%3Ap%40ss@$NET_V4:1080"
transfers microsocks
# Nothing listens on port 9: microsocks says refused.
rst_fast "microsocks: refused CONNECT" upstream_refused 9
up=$(tp_counter upstream_connects)
[ "$up" -ge 6 ] || fail "upstream_connects is $up, want >= 6"
# microsocks has no UDP ASSOCIATE: its refusal reaches dig as an ICMP
# unreachable at once, not a timeout.
r0=$(tp_counter upstream_refused)
t0=$(date +%s%N)
out=$(in_app dig +time=5 +tries=1 @"$HOST_V4" "$DNS_NAME" A 2>&1)
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 1000 ] || fail "microsocks: refused UDP ASSOCIATE: dig took $ms ms ($out)"
echo "$out" | grep -qi "refused\|unreachable" || fail "microsocks: dig did not see a refusal: $out"
r=$(tp_counter upstream_refused)
[ "$r" -gt "$r0" ] || fail "microsocks: upstream_refused stayed at $r after the UDP ASSOCIATE"
tp_log "microsocks: UDP ASSOCIATE refused -> ICMP unreachable to dig in $ms ms"

# The upstream stops: a connect fails fast, and recovers once it is back.
tp_stop_pid "$UP_PID"
rst_fast "upstream down" upstream_unreachable "$HTTP_PORT"
up_start_microsocks 1080 tpuser 'tp:p@ss'
out=$(up_peer "$HOST_V4")
[ "$out" = "$UP_OUT_V4" ] || fail "after the upstream came back: got '$out'"
tp_log "upstream back: flows recover"
tp_wait_counter tcp_conns_open -eq 0 15 || fail "connections left open"
tp_stop_proxy || fail "tunproxy did not stop cleanly"

# 2. Wrong credentials: refused, counted as an authentication failure.
tp_start_proxy --upstream "socks5://tpuser:wrong@$NET_V4:1080"
rst_fast "wrong password" upstream_auth_failed "$HTTP_PORT"
tp_stop_proxy || fail "tunproxy did not stop cleanly"
tp_stop_pid "$UP_PID"

# 3. dante, no authentication, one destination port blocked.
up_start_dante 1081 "$HOST_V4/32 port = 9999"
tp_start_proxy --upstream "socks5://$NET_V4:1081"
transfers dante
rst_fast "dante: refused CONNECT" upstream_refused 9999
# UDP through the association: DNS over IPv4 and IPv6, and dnsmasq saw
# the queries come from the upstream.
for server in "$HOST_V4" "$HOST_V6"; do
	out=$(in_app dig +time=3 +tries=1 +short @"$server" "$DNS_NAME" A 2>&1) ||
		fail "dante: dig @$server: $out"
	[ "$out" = "$HOST_V4" ] || fail "dante: dig @$server: got '$out', want $HOST_V4"
done
grep -q "query\[A\] $DNS_NAME from $UP_OUT_V4" "$TP_TMP/dnsmasq.log" ||
	fail "dnsmasq did not see a query from the upstream ($UP_OUT_V4): $(grep query "$TP_TMP/dnsmasq.log" | tail -n 3)"
grep -q "query\[A\] $DNS_NAME from $UP_OUT_V6" "$TP_TMP/dnsmasq.log" ||
	fail "dnsmasq did not see an IPv6 query from the upstream ($UP_OUT_V6)"
tp_log "dante: dig over UDP ASSOCIATE (v4, v6) answered; dnsmasq saw the upstream"
tp_stop_proxy || fail "tunproxy did not stop cleanly"

# The same upstream reached over IPv6 ([2001:db8::1]:1081): TCP and UDP.
tp_start_proxy --upstream "socks5://[$NET_V6]:1081"
out=$(up_peer "$HOST_V4")
[ "$out" = "$UP_OUT_V4" ] || fail "dante over IPv6: the server saw '$out', want $UP_OUT_V4"
out=$(in_app dig +time=3 +tries=1 +short @"$HOST_V4" "$DNS_NAME" A 2>&1) ||
	fail "dante over IPv6: dig: $out"
[ "$out" = "$HOST_V4" ] || fail "dante over IPv6: dig got '$out'"
tp_log "dante over IPv6: TCP and UDP through it"
tp_wait_counter tcp_conns_open -eq 0 15 || fail "connections left open"
tp_print_counters
tp_pass
