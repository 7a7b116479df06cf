#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The memory budget on the userspace receive path (the phone's path: host
# data waits in tunproxy's rings, tcprx_copy.c; no TUN offloads): 64
# concurrent 10 MiB downloads under --max-memory $TP_BUDGET (default 3M)
# must all finish byte-exact (SHA-256 of each against the served file)
# within 120 s, mem_peak must stay within the budget and the proxy's RSS
# within budget + 4 MiB (checked in the normal build only: a sanitizer
# build's shadow memory and quarantine of freed blocks, 256 MiB, are not
# the proxy's). The server (socat) sends the file and
# closes, and the client reads until the FIN: a FIN that reaches tunproxy
# behind data still in flight must reach the app too (it did not, and 8 of
# 64 downloads hung at their end). Prints the time it took and the ring
# counters. tests/CMakeLists.txt runs it at 2M, 3M and 8M.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tp_require socat sha256sum prlimit timeout
tp_setup
BUDGET=${TP_BUDGET:-3M}
BUDGET_BYTES=$(numfmt --from=iec "$BUDGET")
N=${TP_RX_CONNS:-64}
MIB=${TP_RX_MIB:-10}
SRC_PORT=9001
mkdir -p "$TP_TMP/dl"
head -c $((MIB << 20)) /dev/urandom >"$TP_TMP/f.bin" || fail "cannot make the test file"
sum=$(sha256sum "$TP_TMP/f.bin" | cut -d' ' -f1)
# A backlog for all N at once: socat's default of 5 drops SYNs.
tp_spawn "$NS_NET" "$TP_TMP/src.log" socat \
	"TCP-LISTEN:$SRC_PORT,bind=$HOST_V4,fork,reuseaddr,backlog=256" "OPEN:$TP_TMP/f.bin"
TP_PIDS+=("$TP_SPAWNED")
tp_wait_for 10 sh -c "ip netns exec $NS_NET ss -Hltn 'sport = :$SRC_PORT' | grep -q ." ||
	fail "the source server is not listening"
TP_WRAPPER="prlimit --nofile=20000:20000 $TP_WRAPPER" \
	tp_start_proxy --tcp-rx copy --no-offload --max-memory "$BUDGET"
rss() { awk '/^VmRSS/ { print $2 * 1024 }' "/proc/$TP_PID/status"; }
[ "$(tp_counter tcp_rx_userspace)" = 1 ] || fail "not on the userspace receive path"

t0=$(date +%s.%N)
pids=()
for ((i = 0; i < N; i++)); do
	in_app timeout 120 sh -c 'socat -u "TCP:$1:$2" "CREATE:$3" && date +%s.%N >"$3.end"' \
		sh "$HOST_V4" "$SRC_PORT" "$TP_TMP/dl/$i.bin" 2>>"$TP_TMP/client.log" &
	pids+=("$!")
done
# RSS while the downloads run (the peak is what an iOS extension pays).
rss_max=$(rss)
while :; do
	r=$(rss)
	[ -n "$r" ] && [ "$r" -gt "$rss_max" ] && rss_max=$r
	live=0
	for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && live=1 && break; done
	[ $live = 1 ] || break
	sleep 0.2
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
t1=$(date +%s.%N)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
bad=0
short=""
for ((i = 0; i < N; i++)); do
	s=$(sha256sum "$TP_TMP/dl/$i.bin" 2>/dev/null | cut -d' ' -f1)
	[ "$s" = "$sum" ] && continue
	bad=$((bad + 1))
	short="$short $(stat -c %s "$TP_TMP/dl/$i.bin" 2>/dev/null)"
done
# Fairness: when the first and the last download finished.
spread=$(cat "$TP_TMP"/dl/*.end 2>/dev/null | sort -n |
	awk -v t0="$t0" 'NR == 1 { a = $1 } { b = $1 } END { printf "first done after %.1f s, last after %.1f s", a - t0, b - t0 }')
peak=$(tp_counter mem_peak)
tp_log "budget $BUDGET: $N x $MIB MiB in $secs s ($spread); $bad not byte-exact; $failed clients failed;" \
	"mem_peak $peak; RSS peak $rss_max;" \
	"rings refused $(tp_last counter tcp_rx_rings_refused)," \
	"ringless $(tp_last counter tcp_rx_ringless)"
[ "$bad" = 0 ] || fail "$bad of $N downloads hung or differ (bytes received:$short)"
[ "$failed" = 0 ] || fail "$failed clients failed: $(tail -n 3 "$TP_TMP/client.log")"
[ "$peak" -le "$BUDGET_BYTES" ] || fail "mem_peak $peak is over the budget $BUDGET_BYTES"
if grep -q __asan_init "$TUNPROXY" 2>/dev/null; then
	tp_log "sanitizer build: RSS not judged"
else
	[ "$rss_max" -le $((BUDGET_BYTES + (4 << 20))) ] ||
		fail "RSS peaked at $rss_max, over budget + 4 MiB"
fi
tp_wait_counter tcp_conns_open -eq 0 20 || fail "connections left open"
# All connections closed: every ring is back, the spare too
# (tcprx_copy_release drops it when no connection holds a ring).
[ "$(tp_counter tcp_rx_ring_bytes)" -eq 0 ] ||
	fail "ring bytes left: $(tp_last counter tcp_rx_ring_bytes)"
tp_print_counters
tp_pass
