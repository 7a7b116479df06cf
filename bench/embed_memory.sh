#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/embed_memory.sh: the embedded engine's memory against the iOS
# Network Extension limits (docs/embedding.md, "Memory").
#
# Runs examples/embed (callback mode, as an iOS app embeds the engine) in
# the three-namespace topology of tests/e2e/lib.sh and reports its VmRSS
# (the whole process: engine, driver, its threads, libc) and the engine's
# mem_used/mem_peak counters (what max_memory bounds):
#   1. idle, just started;
#   2. during a bulk download (curl, BULK_MIB) and a bulk upload at once:
#      the highest RSS sampled every 100 ms, and VmHWM;
#   3. with 1,000 and with 10,000 idle TCP connections open through it
#      (bench/probe.c "hold" in the app namespace, "server" in net);
#   all with the default budget (max_memory 0 = 32 MiB), then
#   4. at a small budget (BUDGET, default 2M): 10,000 connections are
#      offered and a bulk transfer runs; the engine must refuse flows
#      (flows_refused_memory > 0), keep mem_peak <= the budget, still
#      carry the transfer byte-exact, and stay within the RSS reached
#      with the default budget.
# Prints a markdown table; exits 1 if a check of step 4 fails. Needs root
# (namespaces, TUN), gcc, curl, nginx, nc.
#
# Environment: EMBED (the example; default: built in build-embmem/ with
# the default build type, no sanitizers), BUDGET (2M), BULK_MIB (200),
# HOLD_COUNTS ("1000 10000").
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
BUDGET=${BUDGET:-2M}
BULK_MIB=${BULK_MIB:-200}
HOLD_COUNTS=${HOLD_COUNTS:-1000 10000}
HOLD_PORT=9100

if [ -z "${EMBED:-}" ]; then
	cmake -S "$ROOT" -B "$ROOT/build-embmem" -DTP_TESTS=OFF >/dev/null &&
		cmake --build "$ROOT/build-embmem" -j 2 --target embed >/dev/null ||
		{ echo "embed_memory.sh: build failed" >&2; exit 1; }
	EMBED=$ROOT/build-embmem/examples/embed
fi
export TUNPROXY=$EMBED # lib.sh checks that a proxy binary exists
TP_NAME=embed_memory
TP_VERBOSE=""
# shellcheck source=../tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"
tp_require gcc curl nginx nc
tp_setup
PROBE=$TP_TMP/probe
gcc -O2 -o "$PROBE" "$ROOT/bench/probe.c" || fail "cannot build bench/probe.c"

www=$TP_TMP/www
mkdir -p "$www"
head -c $((BULK_MIB * 1024 * 1024)) /dev/urandom >"$www/big.bin"
sum=$(sha256sum "$www/big.bin" | cut -d' ' -f1)
tp_start_http "$www"
tp_spawn "$NS_NET" "$TP_TMP/probe-server.log" "$PROBE" server "$HOLD_PORT"
TP_PIDS+=("$TP_SPAWNED")
tp_spawn "$NS_NET" "$TP_TMP/sink.log" "$TP_PY" -u "$TP_E2E_DIR/tcp_sink.py" "$HOST_V4" 9000
TP_PIDS+=("$TP_SPAWNED")
tp_wait_for 10 sh -c "ip netns exec $NS_NET ss -Hltn 'sport = :$HOLD_PORT' | grep -q ." ||
	fail "probe server not listening"
tp_wait_for 10 sh -c "ip netns exec $NS_NET ss -Hltn 'sport = :9000' | grep -q ." ||
	fail "sink not listening"

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$TP_PID/status"; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$TP_PID/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
mibb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }
ROWS=()
row() { ROWS+=("| $1 | $2 | $3 | $4 | $5 |"); }
checks_failed=0
check() {
	if eval "$2"; then
		tp_log "ok: $1"
	else
		tp_log "FAILED: $1"
		checks_failed=1
	fi
}

# hold N: open N idle connections (HOLD_UP of them did, HOLD_FAILED did
# not), kept until release_hold.
HOLD_PID=""
hold() {
	local lg=$TP_TMP/hold-$1.log i
	mkfifo "$TP_TMP/hold.fifo"
	setsid ip netns exec "$NS_APP" "$PROBE" hold "$HOST_V4" "$HOLD_PORT" "$1" \
		<"$TP_TMP/hold.fifo" >"$lg" 2>&1 &
	HOLD_PID=$!
	TP_PIDS+=("$HOLD_PID")
	exec 9>"$TP_TMP/hold.fifo"
	rm -f "$TP_TMP/hold.fifo"
	for ((i = 0; i < 1500; i++)); do
		grep -q '^ready' "$lg" && break
		tp_running "$HOLD_PID" || break
		sleep 0.1
	done
	HOLD_UP=$(awk '/^ready/ { print $2 }' "$lg")
	HOLD_FAILED=$(awk '/^ready/ { print $9 }' "$lg")
}
release_hold() {
	exec 9>&-
	tp_stop_pid "$HOLD_PID"
	tp_wait_counter tcp_conns_open -eq 0 30 || tp_log "connections still open: $(tp_counter tcp_conns_open)"
}

# bulk: a download and an upload at once; sets PEAK_RSS (kB, sampled).
bulk() {
	local dl ul i r
	PEAK_RSS=0
	in_app curl -sS --max-time 300 -o "$TP_TMP/dl.bin" "http://$HOST_V4/big.bin" &
	dl=$!
	in_app timeout 300 nc -N "$HOST_V4" 9000 <"$www/big.bin" >"$TP_TMP/ul.out" 2>&1 &
	ul=$!
	while kill -0 "$dl" 2>/dev/null || kill -0 "$ul" 2>/dev/null; do
		r=$(rss_kb)
		[ "${r:-0}" -gt "$PEAK_RSS" ] && PEAK_RSS=$r
		sleep 0.1
	done
	wait "$dl" || fail "bulk download failed"
	wait "$ul" || fail "bulk upload failed"
	[ "$(sha256sum "$TP_TMP/dl.bin" | cut -d' ' -f1)" = "$sum" ] || fail "download corrupted"
	[ "$(cat "$TP_TMP/ul.out")" = "$((BULK_MIB * 1048576)) $sum" ] || fail "upload corrupted"
	rm -f "$TP_TMP/dl.bin"
}

# --- default budget -----------------------------------------------------------
tp_start_proxy_cmd "$EMBED" --tun "$TP_TUN" --no-tun-config
sleep 1
row "idle, default budget" "$(mib "$(rss_kb)")" "$(mibb "$(tp_counter mem_used)")" "-" ""
bulk
row "bulk: ${BULK_MIB} MiB down + up at once" "$(mib "$PEAK_RSS") (HWM $(mib "$(hwm_kb)"))" \
	"$(mibb "$(tp_counter mem_peak)") (peak)" "-" "byte-exact"
for n in $HOLD_COUNTS; do
	hold "$n"
	sleep 1
	row "$n idle TCP connections" "$(mib "$(rss_kb)")" "$(mibb "$(tp_counter mem_used)")" \
		"-" "$HOLD_UP up, $HOLD_FAILED failed"
	release_hold
done
DEFAULT_HWM=$(hwm_kb)
tp_stop_proxy || fail "embed did not stop cleanly"

# --- small budget -------------------------------------------------------------
budget_bytes=$(awk -v b="$BUDGET" 'BEGIN { n = b + 0; if (b ~ /[Kk]$/) n *= 1024;
	if (b ~ /[Mm]$/) n *= 1048576; printf "%d", n }')
: >"$TP_LOG"
tp_start_proxy_cmd "$EMBED" --tun "$TP_TUN" --no-tun-config --max-memory "$BUDGET"
sleep 1
row "idle, budget $BUDGET" "$(mib "$(rss_kb)")" "$(mibb "$(tp_counter mem_used)")" "-" ""
hold 10000
sleep 1
refused=$(tp_counter flows_refused_memory)
row "10000 connections offered, budget $BUDGET" "$(mib "$(rss_kb)")" \
	"$(mibb "$(tp_counter mem_used)")" "$refused" "$HOLD_UP up, $HOLD_FAILED failed"
check "at the budget, new flows are refused (flows_refused_memory $refused > 0)" \
	'[ "$refused" -gt 0 ]'
release_hold
bulk
peak=$(tp_counter mem_peak)
row "bulk at budget $BUDGET" "$(mib "$PEAK_RSS") (HWM $(mib "$(hwm_kb)"))" \
	"$(mibb "$peak") (peak)" "$(tp_counter flows_refused_memory)" "byte-exact"
check "mem_peak $peak <= budget $budget_bytes" '[ "$peak" -le "$budget_bytes" ]'
check "RSS at the budget (HWM $(hwm_kb) kB) <= RSS with the default budget ($DEFAULT_HWM kB)" \
	'[ "$(hwm_kb)" -le "$DEFAULT_HWM" ]'
tp_stop_proxy || fail "embed did not stop cleanly"

echo
echo "| state | VmRSS MiB | mem_used MiB | flows_refused_memory | notes |"
echo "| --- | --- | --- | --- | --- |"
printf '%s\n' "${ROWS[@]}"
[ "$checks_failed" = 0 ] || fail "a budget check failed"
tp_pass
