#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TCP through an HTTP CONNECT upstream (tinyproxy with basic auth,
# --upstream http://USER:PASS@HOST:PORT): a byte-exact download (curl,
# SHA-256) over IPv4 and IPv6 destinations, the server seeing the
# upstream as its peer. Wrong credentials (407) are a RST counted in
# upstream_auth_failed. Then --route: one prefix goes direct (its server
# sees the proxy namespace's own address), the rest through the upstream
# (that server sees the upstream's), and a blocked port is refused at
# once (route_blocked).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=upstream_lib.sh
. "$(dirname "$0")/upstream_lib.sh"
tp_require curl nginx sha256sum tinyproxy socat
tp_setup
up_setup

SIZE=$((4 * 1024 * 1024))
www="$TP_TMP/www"
mkdir -p "$www"
head -c "$SIZE" /dev/urandom >"$www/big.bin" || fail "cannot make the test file"
tp_start_http "$www"
up_start_peer_server

HP=8888
cat >"$TP_TMP/tinyproxy.conf" <<EOF2
User nobody
Group nogroup
Port $HP
Listen $NET_V4
Timeout 60
LogLevel Info
MaxClients 50
Allow $PROXY_V4
BasicAuth tpuser tppass
EOF2
tp_spawn "$NS_NET" "$TP_TMP/tinyproxy.log" tinyproxy -d -c "$TP_TMP/tinyproxy.conf"
TP_PIDS+=("$TP_SPAWNED")
tp_wait_for 10 up_listening "$HP" || fail "tinyproxy did not come up: $(tail -n 5 "$TP_TMP/tinyproxy.log")"

tp_start_proxy --upstream "http://tpuser:tppass@$NET_V4:$HP"
up_download "HTTP CONNECT" "$www/big.bin"
# tinyproxy's Bind takes one family only: it leaves from an address of
# its own choice (on its host), never the proxy namespace's.
out=$(up_peer "$HOST_V4")
if [ -z "$out" ] || [ "$out" = "$PROXY_V4" ]; then
	fail "the server saw '$out', want the upstream's address"
fi
up=$(tp_counter upstream_connects)
[ "$up" -ge 3 ] || fail "upstream_connects is $up, want >= 3"
tp_log "HTTP CONNECT: downloads byte-exact (v4, v6), server saw the upstream"
tp_stop_proxy || fail "tunproxy did not stop cleanly"

tp_start_proxy --upstream "http://tpuser:nope@$NET_V4:$HP"
read -r rc ms < <(tp_timed curl -sS --max-time 10 "http://$HOST_V4:$HTTP_PORT/")
[ "$rc" = 7 ] || fail "wrong password: curl exit $rc, want 7"
a=$(tp_counter upstream_auth_failed)
[ "$a" -ge 1 ] || fail "wrong password: upstream_auth_failed is $a"
tp_log "HTTP CONNECT with a wrong password: RST in $ms ms, upstream_auth_failed $a"
tp_stop_proxy || fail "tunproxy did not stop cleanly"

# Routes: 203.0.113.10 direct, port 9998 there blocked, the rest (IPv6)
# upstream.
tp_start_proxy --upstream "http://tpuser:tppass@$NET_V4:$HP" \
	--route "$HOST_V4/32=direct" --route "$HOST_V4:9998=block"
out=$(up_peer "$HOST_V4")
[ "$out" = "$PROXY_V4" ] || fail "route direct: the server saw '$out', want the proxy's $PROXY_V4"
out=$(up_peer "[$HOST_V6]")
if [ -z "$out" ] || [ "$out" = "$PROXY_V6" ]; then
	fail "route upstream: the v6 server saw '$out', want the upstream's address"
fi
b0=$(tp_counter route_blocked)
read -r rc ms < <(tp_timed curl -sS --max-time 10 "http://$HOST_V4:9998/")
[ "$rc" = 7 ] || fail "route block: curl exit $rc, want 7"
[ "$ms" -lt 1000 ] || fail "route block: took $ms ms"
b=$(tp_counter route_blocked)
[ "$b" -eq $((b0 + 1)) ] || fail "route_blocked went from $b0 to $b"
up=$(tp_counter upstream_connects)
[ "$up" -eq 1 ] || fail "upstream_connects is $up, want 1 (only the IPv6 flow)"
tp_log "routes: direct, upstream and block each as written"
tp_pass
