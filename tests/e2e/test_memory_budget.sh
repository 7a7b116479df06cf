#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The memory budget (docs/robustness.md, "Exhaustion and memory budget"):
# tunproxy --max-memory 2M (the engine's fixed tables take about 0.6 MiB of
# it), with fds to spare (prlimit), so that memory is what runs out.
#   1. Windows shrink: 12 connections push data at a server that stops
#      reading (small socket buffers everywhere, so the data backs up into
#      the proxy). The proxy holds what the host sockets refuse in buffers
#      charged to the budget; once those no longer fit, a connection's
#      window closes instead (tcp_window_closed_memory) and memory never
#      passes the budget (mem_peak). The connections stay open.
#   2. New flows refused: an app opens connections until one is refused;
#      it gets a RST (ECONNREFUSED) once flow slots no longer fit
#      (flows_refused_memory); meanwhile new UDP flows and pings get ICMP
#      "administratively prohibited". The proxy stays alive, logs what to
#      do (--max-memory), its RSS stays bounded.
#   3. Everything is closed: memory comes back, new connections work.
# Prints the figures (connections held, mem_peak, RSS) for the docs.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tp_require curl ping prlimit
tp_setup
BUDGET=${TP_BUDGET:-2M}
BUDGET_BYTES=$(numfmt --from=iec "$BUDGET")
HOLD_PORT=9000
www="$TP_TMP/www"
mkdir -p "$www"
echo "small" >"$www/index.html"
tp_start_http "$www"
tp_start_udp_echo
# Small socket buffers, so a few MiB back up into the proxy quickly.
for ns in "$NS_APP" "$NS_PROXY" "$NS_NET"; do
	ip netns exec "$ns" sysctl -qw net.ipv4.tcp_rmem="4096 32768 65536" \
		net.ipv4.tcp_wmem="4096 32768 65536" || fail "tcp_rmem in $ns"
done
tp_spawn "$NS_NET" "$TP_TMP/hold.log" prlimit --nofile=20000:20000 "$TP_PY" -u \
	"$TP_E2E_DIR/tcp_echo_server.py" "$HOLD_PORT" "$HOST_V4"
TP_PIDS+=("$TP_SPAWNED")
tp_wait_for 10 grep -q listening "$TP_TMP/hold.log" || fail "hold server did not come up"

# The proxy's host sockets have a fixed receive buffer (--host-rcvbuf,
# default 8 MiB) that the sysctl above does not reach: give them the same
# 64 KiB, or the echoed data would not back up.
TP_WRAPPER="prlimit --nofile=20000:20000 $TP_WRAPPER" tp_start_proxy --max-memory "$BUDGET" \
	--host-rcvbuf 64K
rss() { awk '/^VmRSS/ { print $2 * 1024 }' "/proc/$TP_PID/status"; }
base=$(tp_counter mem_used)
rss0=$(rss)
tp_log "budget $BUDGET_BYTES bytes; engine tables $base bytes; RSS $rss0 bytes at start"
[ "$base" -lt "$BUDGET_BYTES" ] || fail "the tables alone take $base of $BUDGET_BYTES"

check_budget() {
	local used peak
	used=$(tp_counter mem_used)
	peak=$(tp_last counter mem_peak)
	[ "$used" -le "$BUDGET_BYTES" ] || fail "mem_used $used is over the budget $BUDGET_BYTES"
	[ "$peak" -le "$BUDGET_BYTES" ] || fail "mem_peak $peak is over the budget $BUDGET_BYTES"
}

# --- 1. windows shrink ----------------------------------------------------------
in_app "$TP_PY" -u "$TP_E2E_DIR/conn_hog.py" "$HOST_V4" "$HOLD_PORT" --max 12 \
	--send $((3 << 20)) --send-time 8 --hold "$TP_TMP/release1" >"$TP_TMP/hog1.log" 2>&1 &
TP_PIDS+=("$!")
tp_wait_for 30 grep -q opened "$TP_TMP/hog1.log" || fail "senders did not finish: $(cat "$TP_TMP/hog1.log")"
hog1=$(head -n 1 "$TP_TMP/hog1.log")
tp_log "senders: $hog1"
grep -q '^opened 12, then none' <<<"$hog1" || fail "the 12 connections were not all opened: $hog1"
closed=$(tp_counter tcp_window_closed_memory)
used1=$(tp_last counter mem_used)
[ "$closed" -ge 1 ] || fail "no window was closed for memory (tcp_window_closed_memory 0, mem_used $used1)"
check_budget
[ "$(tp_last counter tcp_conns_open)" -ge 12 ] || fail "connections were lost: $(tp_last counter tcp_conns_open) open"
grep -q 'window closed, memory budget: tcp .*(raise it: --max-memory)' "$TP_LOG" ||
	fail "no log line about windows closed for memory"
tp_log "windows closed for memory: $closed times; mem_used $used1, mem_peak $(tp_last counter mem_peak)"
touch "$TP_TMP/release1"
tp_wait_for 20 grep -q closed "$TP_TMP/hog1.log" || fail "senders did not close"
tp_wait_counter tcp_conns_open -eq 0 20 || fail "connections left open: $(tp_counter tcp_conns_open)"

# --- 2. new flows refused ---------------------------------------------------------
in_app "$TP_PY" -u "$TP_E2E_DIR/conn_hog.py" "$HOST_V4" "$HOLD_PORT" --max 19000 \
	--hold "$TP_TMP/release2" >"$TP_TMP/hog2.log" 2>&1 &
TP_PIDS+=("$!")
tp_wait_for 120 grep -q opened "$TP_TMP/hog2.log" || fail "the hog did not finish opening: $(cat "$TP_TMP/hog2.log")"
hog2=$(head -n 1 "$TP_TMP/hog2.log")
tp_log "hog: $hog2"
grep -q ', then ECONNREFUSED after' <<<"$hog2" || fail "the connection past the budget was not refused with a RST: $hog2"
held=$(awk '{ print $2 }' <<<"$hog2" | tr -d ,)
mem0=$(tp_counter flows_refused_memory)
[ "$mem0" -ge 1 ] || fail "flows_refused_memory is $mem0"
[ "$(tp_last counter flows_refused_socket)" = 0 ] || fail "fds ran out first: raise the prlimit"
out=$(in_app "$TP_PY" "$TP_E2E_DIR/udp_refused.py" "$HOST_V4" "$ECHO_PORT" \
	--expect EHOSTUNREACH --timeout 1 2>&1) || fail "UDP at the budget: $out"
out=$(in_app ping -c 2 -i 0.2 -W 1 "$HOST_V4" 2>&1) && fail "ping at the budget succeeded: $out"
grep -qiE 'Packet filtered|prohibited' <<<"$out" || fail "ping at the budget: '$out'"
out=$(in_app curl -sS -v --max-time 5 "http://$HOST_V4/" 2>&1)
rc=$?
[ "$rc" = 7 ] && grep -q 'Connection refused' <<<"$out" ||
	fail "curl at the budget: status $rc, '$(tail -n 3 <<<"$out")' (want 7, Connection refused)"
mem1=$(tp_counter flows_refused_memory)
[ $((mem1 - mem0)) -ge 4 ] || fail "flows_refused_memory went from $mem0 to $mem1, want >= 4 more"
check_budget
peak=$(tp_last counter mem_peak)
grep -qE 'refused, memory budget: (tcp|udp|icmp) .* bytes in use by [0-9]+ flows \(raise it: --max-memory\)' "$TP_LOG" ||
	fail "no log line about flows refused for memory"
rss1=$(rss)
growth=$((rss1 - rss0))
tp_log "at the budget: $held connections held, $mem1 flows refused, mem_peak $peak, RSS $rss1 (+$growth)"
# Host sockets live in the kernel; what the proxy itself holds per flow is
# its slot (charged) and a socket-table entry: RSS must stay in proportion.
# A sanitizer build adds shadow memory and allocator quarantine per byte the
# engine touches: the bound is then four times looser (the engine's own
# accounting, checked above, stays exact).
slack=2
grep -q __asan_init "$TUNPROXY" 2>/dev/null && slack=8
[ "$growth" -le $((slack * BUDGET_BYTES + (8 << 20))) ] ||
	fail "RSS grew by $growth bytes with a $BUDGET_BYTES budget"
tp_proxy_alive || fail "the proxy died at the budget"

# --- 3. recovery ------------------------------------------------------------------
touch "$TP_TMP/release2"
tp_wait_for 60 grep -q closed "$TP_TMP/hog2.log" || fail "the hog did not close"
tp_wait_counter tcp_conns_open -eq 0 60 || fail "connections left open: $(tp_counter tcp_conns_open)"
out=$(in_app curl -sS --max-time 5 "http://$HOST_V4/" 2>&1) || fail "curl after recovery: $out"
[ "$out" = small ] || fail "curl after recovery: '$out'"
out=$(in_app "$TP_PY" "$TP_E2E_DIR/udp_echo.py" "$HOST_V4" "$ECHO_PORT" --count 5 --timeout 1 \
	--retries 2 2>&1) || fail "UDP after recovery: $out"
mem2=$(tp_counter flows_refused_memory)
[ "$mem2" = "$mem1" ] || fail "flows_refused_memory still moves after recovery ($mem1 -> $mem2)"
used=$(tp_last counter mem_used)
tp_log "recovered: mem_used $used (tables $base), RSS $(rss)"
tp_print_counters
tp_pass
