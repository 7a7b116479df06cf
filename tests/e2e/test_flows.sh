#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Watching flows (issue 15): during a curl of a named host, `tunproxy flows
# --json` lists the connection with the name the app asked for (from the
# DNS answer that crossed the proxy, the HTTP Host header, the TLS SNI),
# its state and growing byte counts; when it closes, the connection log
# (--log-flows --log-format json) has its line with the exact byte counts
# curl saw; the metrics address serves text a strict Prometheus parser
# accepts; the control socket is 0600 and refuses another uid even when
# the file mode would let it connect.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tp_require openssl curl setpriv
tp_setup
tp_start_dns
mkdir -p "$TP_TMP/www"
head -c $((6 << 20)) /dev/urandom >"$TP_TMP/www/big"
# 6 MiB at 1 MiB/s: the download lasts about 6 s, long enough to look.
TP_HTTP_LIMIT_RATE=1m tp_start_http "$TP_TMP/www"

# A TLS server with a self-signed certificate for tls.tp.test.
TLS_NAME=tls.tp.test
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$TLS_NAME" \
	-keyout "$TP_TMP/key.pem" -out "$TP_TMP/cert.pem" >/dev/null 2>&1 ||
	fail "openssl req"
echo hello-tls >"$TP_TMP/www/hello"
(cd "$TP_TMP/www" && tp_spawn "$NS_NET" "$TP_TMP/tls.log" openssl s_server \
	-accept "$HOST_V4:443" -cert "$TP_TMP/cert.pem" -key "$TP_TMP/key.pem" \
	-WWW -quiet)
TP_PIDS+=("$TP_SPAWNED")
tp_wait_for 10 sh -c "ip netns exec $NS_NET ss -Hltn 'sport = :443' | grep -q ." ||
	fail "openssl s_server did not come up"

CTL="$TP_TMP/control.sock"
METRICS=127.0.0.1:9464
tp_start_proxy --control "$CTL" --metrics "$METRICS" --log-flows --log-format json
flows() { "$TUNPROXY" flows --control "$CTL" "$@"; }
check() { "$TP_PY" "$TP_E2E_DIR/flows_check.py" "$@"; }

# --- the control socket: owner only ---
mode=$(stat -c %a "$CTL") || fail "no control socket at $CTL"
[ "$mode" = 600 ] || fail "control socket mode $mode, want 600"
flows >/dev/null || fail "tunproxy flows failed for the owner"
# Opened up on purpose: the peer credential check must still refuse.
chmod 666 "$CTL"
chmod 755 "$TP_TMP"
if out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$TUNPROXY" flows --control "$CTL" 2>&1); then
	fail "another uid was served: $out"
fi
grep -q "permission denied" <<<"$out" || fail "refusal without a reason: $out"
chmod 600 "$CTL"
chmod 700 "$TP_TMP"
tp_log "control socket: 0600, another uid refused ($out)"

# --- a name from DNS: dig through the proxy, then a bare TCP connection ---
got=$(in_app dig +time=3 +tries=2 +short @"$HOST_V4" "$DNS_NAME" A) ||
	fail "dig failed"
[ "$got" = "$HOST_V4" ] || fail "dig answered '$got'"
in_app "$TP_PY" -c "
import socket, time
s = socket.create_connection(('$HOST_V4', 80)); time.sleep(1.5); s.close()" &
bare=$!
sleep 0.7
flows --json >"$TP_TMP/dns.json" || fail "flows --json failed"
check flow "$TP_TMP/dns.json" 80 "$DNS_NAME" dns >/dev/null ||
	fail "the bare connection is not named from DNS: $(cat "$TP_TMP/dns.json")"
wait "$bare"
tp_log "DNS-learned name: ok"

# --- HTTP download: the Host header names it; bytes grow while it runs ---
in_app curl -sS -o "$TP_TMP/got" --resolve "$DNS_NAME:80:$HOST_V4" \
	-w '%{size_request} %{size_header} %{size_download}\n' \
	"http://$DNS_NAME/big" >"$TP_TMP/curl.out" 2>&1 &
cpid=$!
sleep 1
flows --json >"$TP_TMP/f1.json" || fail "flows --json failed"
b1=$(check flow "$TP_TMP/f1.json" 80 "$DNS_NAME" http) ||
	fail "the download is not listed: $(cat "$TP_TMP/f1.json")"
sleep 1
flows --json >"$TP_TMP/f2.json" || fail "flows --json failed"
b2=$(check flow "$TP_TMP/f2.json" 80 "$DNS_NAME" http) || fail "second look"
[ "$b2" -gt "$b1" ] || fail "bytes_to_app did not grow: $b1 then $b2"
tp_log "during the download: bytes_to_app $b1 -> $b2"
flows >"$TP_TMP/table.txt" || fail "flows (table) failed"
grep -q "$DNS_NAME" "$TP_TMP/table.txt" || fail "the table lacks the name: $(cat "$TP_TMP/table.txt")"
grep -q "host: rtt:" "$TP_TMP/table.txt" || fail "the table lacks TCP_INFO"
wait "$cpid" || fail "curl failed: $(cat "$TP_TMP/curl.out")"
cmp -s "$TP_TMP/got" "$TP_TMP/www/big" || fail "download corrupted"
read -r req hdr body <"$TP_TMP/curl.out"

# --- HTTPS: the SNI names it ---
out=$(in_app curl -sS -k --resolve "$TLS_NAME:443:$HOST_V4" "https://$TLS_NAME/hello") ||
	fail "https curl failed: $out"
grep -q hello-tls <<<"$out" || fail "https answer: $out"

# --- the connection log: one line per flow when it ends ---
# The proxy closes after TIME-WAIT (2 s) at the latest.
tp_wait_for 10 sh -c "grep -q '\"name\":\"$TLS_NAME\"' '$TP_LOG' &&
	[ \$(grep -c '\"event\":\"flow_end\".*\"dst\":\"$HOST_V4:80\".*\"name_source\":\"http\"' '$TP_LOG') -ge 1 ]" ||
	fail "no flow_end lines: $(grep flow_end "$TP_LOG" | tail -n 5)"
check logline "$TP_LOG" 80 "$DNS_NAME" http "$req" "$((hdr + body))" ||
	fail "the download's log line is wrong"
grep '"name":"'"$TLS_NAME"'"' "$TP_LOG" | grep -q '"name_source":"sni"' ||
	fail "the TLS flow was not named from its SNI: $(grep "$TLS_NAME" "$TP_LOG")"
tp_log "connection log: the download's line has from_app=$req to_app=$((hdr + body))"

# --- metrics ---
in_proxy curl -sS -o "$TP_TMP/metrics.txt" "http://$METRICS/metrics" ||
	fail "metrics scrape failed"
n=$(check prom "$TP_TMP/metrics.txt") || fail "metrics are not valid Prometheus text"
grep -q '^tunproxy_tcp_conns_created_total [1-9]' "$TP_TMP/metrics.txt" ||
	fail "tcp_conns_created missing from the metrics"
grep -q '^tunproxy_open_flows{proto="tcp"} ' "$TP_TMP/metrics.txt" ||
	fail "no per-protocol gauge"
tp_log "metrics: $n samples, valid"

"$TUNPROXY" stats --json --control "$CTL" | "$TP_PY" -c \
	'import json,sys; d=json.load(sys.stdin); assert d["tcp_conns_created"] >= 3, d' ||
	fail "stats --json"
tp_dump # SIGUSR1 still prints the counters
tp_proxy_alive || fail "the proxy died"
tp_pass
