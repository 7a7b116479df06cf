#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Running out of file descriptors (docs/robustness.md, "Exhaustion and
# memory budget"). The proxy runs under `prlimit --nofile=64:64`; a long
# download (24 MiB of random bytes that nginx paces at 2 MB/s) runs through
# it the whole time. Then an app opens TCP connections and holds them until the
# proxy has no fd left for another host socket. While it is so:
#   - a new TCP connect is refused at once (RST: ECONNREFUSED, curl's
#     "Connection refused"), a new UDP flow gets an ICMP "administratively
#     prohibited" (EHOSTUNREACH), a new ping fails ("Packet filtered");
#   - flows_refused_socket counts them, and the proxy logs, at most once a
#     second, what happened and what to do ("raise ... ulimit -n");
#   - the download keeps flowing.
# The held connections are then closed: new TCP, UDP and ping work again
# and flows_refused_socket stops moving. The download finishes and is
# byte-exact (SHA-256). The proxy exits cleanly (teardown checks).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tp_require curl ping prlimit sha256sum
tp_setup
FD_LIMIT=${TP_FD_LIMIT:-64}
HOLD_PORT=9000
www="$TP_TMP/www"
mkdir -p "$www"
head -c $((24 << 20)) /dev/urandom >"$www/big"
echo "small" >"$www/index.html"
# Paced by the server, so the bytes keep arriving steadily (curl's own
# --limit-rate lets a fast start run ahead, then pauses for seconds).
TP_HTTP_LIMIT_RATE=2m tp_start_http "$www"
tp_start_udp_echo
tp_spawn "$NS_NET" "$TP_TMP/hold.log" "$TP_PY" -u "$TP_E2E_DIR/tcp_echo_server.py" \
	"$HOLD_PORT" "$HOST_V4"
TP_PIDS+=("$TP_SPAWNED")
tp_wait_for 10 grep -q listening "$TP_TMP/hold.log" || fail "hold server did not come up"

# The proxy with a low open-file limit (around any wrapper such as valgrind).
TP_WRAPPER="prlimit --nofile=$FD_LIMIT:$FD_LIMIT $TP_WRAPPER" tp_start_proxy
fds() { ls "/proc/$TP_PID/fd" 2>/dev/null | wc -l; }
limit=$(awk '/Max open files/ { print $4 }' "/proc/$TP_PID/limits")
[ "$limit" = "$FD_LIMIT" ] || fail "the proxy's open-file limit is '$limit', want $FD_LIMIT"
fd0=$(fds)
tp_log "proxy: RLIMIT_NOFILE $limit, $fd0 fds open at start"

# The long transfer, started before the exhaustion and kept up through it.
in_app curl -sS --max-time 120 -o "$TP_TMP/got" "http://$HOST_V4/big" \
	>"$TP_TMP/curl.log" 2>&1 &
CURL_PID=$!
TP_PIDS+=("$CURL_PID")
tp_wait_for 10 test -s "$TP_TMP/got" || fail "the download did not start"

# Use up the fds: connections held open until $TP_TMP/release exists.
in_app "$TP_PY" -u "$TP_E2E_DIR/conn_hog.py" "$HOST_V4" "$HOLD_PORT" --max 1000 \
	--hold "$TP_TMP/release" >"$TP_TMP/hog.log" 2>&1 &
HOG_PID=$!
TP_PIDS+=("$HOG_PID")
tp_wait_for 30 grep -q opened "$TP_TMP/hog.log" || fail "the hog did not finish opening: $(cat "$TP_TMP/hog.log")"
hog=$(head -n 1 "$TP_TMP/hog.log")
tp_log "hog: $hog"
grep -q ', then ECONNREFUSED after' "$TP_TMP/hog.log" ||
	fail "the connection past the fd limit was not refused with a RST: $hog"
held=$(awk '{ print $2 }' <<<"$hog" | tr -d ,)
fdx=$(fds)
tp_log "proxy fds while exhausted: $fdx (limit $FD_LIMIT)"
[ "$fdx" -ge $((FD_LIMIT - 1)) ] || fail "the proxy has only $fdx fds open: not exhausted"
sock0=$(tp_counter flows_refused_socket)
[ "$sock0" -ge 1 ] || fail "flows_refused_socket is $sock0 after the hog's refusal"

# While exhausted: every new flow is refused at once, each kind its way.
size0=$(stat -c %s "$TP_TMP/got")
out=$(in_app "$TP_PY" "$TP_E2E_DIR/tcp_connect.py" "$HOST_V4" "$HTTP_PORT" \
	--expect ECONNREFUSED --within 1 2>&1) || fail "TCP while out of fds: $out"
out=$(in_app curl -sS -v --max-time 5 "http://$HOST_V4/" 2>&1)
rc=$?
[ "$rc" = 7 ] && grep -q 'Connection refused' <<<"$out" ||
	fail "curl while out of fds: status $rc, '$(tail -n 3 <<<"$out")' (want 7, Connection refused)"
out=$(in_app "$TP_PY" "$TP_E2E_DIR/udp_refused.py" "$HOST_V4" "$ECHO_PORT" \
	--expect EHOSTUNREACH --timeout 1 2>&1) || fail "UDP while out of fds: $out"
out=$(in_app ping -c 2 -i 0.2 -W 1 "$HOST_V4" 2>&1) && fail "ping while out of fds succeeded: $out"
grep -qiE 'Packet filtered|prohibited' <<<"$out" || fail "ping while out of fds: '$out'"
sock1=$(tp_counter flows_refused_socket)
[ $((sock1 - sock0)) -ge 5 ] || fail "flows_refused_socket went from $sock0 to $sock1, want >= 5 more"
grep -qE 'refused, no host socket: (tcp|udp|icmp) .* too many open files \(EMFILE\): raise the open-file limit \(ulimit -n' "$TP_LOG" ||
	fail "no log line saying the fds ran out and what to do"
lines=$(grep -c 'refused, no host socket' "$TP_LOG")
tp_log "refused while out of fds: $((sock1 - sock0 + 1)) flows, $lines log lines"
# A stall is no progress in 10 s (nginx sends every ~100 ms or so).
t0=$(date +%s.%N)
tp_wait_for 10 sh -c "[ \$(stat -c %s '$TP_TMP/got') -gt $size0 ]" ||
	fail "the download stalled while the proxy was out of fds ($size0 -> $(stat -c %s "$TP_TMP/got") bytes in 10 s)"
size1=$(stat -c %s "$TP_TMP/got")
tp_log "download went on: $size0 -> $size1 bytes during the exhaustion (progress seen after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s)"
[ "$(fds)" -ge $((FD_LIMIT - 1)) ] || fail "the fds were freed before the download was seen moving"
tp_proxy_alive || fail "the proxy died while out of fds"

# Free the fds: service comes back.
touch "$TP_TMP/release"
tp_wait_for 20 grep -q closed "$TP_TMP/hog.log" || fail "the hog did not close"
tp_wait_for 20 in_app "$TP_PY" "$TP_E2E_DIR/tcp_connect.py" "$HOST_V4" "$HTTP_PORT" --expect ok ||
	fail "TCP connects do not work again after the fds were freed"
out=$(in_app curl -sS --max-time 5 "http://$HOST_V4/" 2>&1) || fail "curl after recovery: $out"
[ "$out" = small ] || fail "curl after recovery: '$out'"
out=$(in_app "$TP_PY" "$TP_E2E_DIR/udp_echo.py" "$HOST_V4" "$ECHO_PORT" --count 5 --timeout 1 \
	--retries 2 2>&1) || fail "UDP after recovery: $out"
out=$(in_app ping -c 2 -i 0.2 -W 2 "$HOST_V4" 2>&1) || fail "ping after recovery: $out"
sock2=$(tp_counter flows_refused_socket)
[ "$sock2" = "$sock1" ] || fail "flows_refused_socket still moves after recovery ($sock1 -> $sock2)"
tp_log "recovered: TCP, UDP and ping work again; $(fds) fds open"

wait "$CURL_PID" || fail "the download failed: $(cat "$TP_TMP/curl.log")"
want=$(sha256sum <"$www/big")
got=$(sha256sum <"$TP_TMP/got")
[ "$want" = "$got" ] || fail "the download through the exhaustion is not byte-exact"
tp_log "download: 24 MiB byte-exact through the exhaustion (held $held connections)"
tp_print_counters
tp_pass
