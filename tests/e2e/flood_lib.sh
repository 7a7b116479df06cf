# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# flood_lib.sh: shared by test_flood_syn.sh, test_flood_udp.sh and
# test_flood_icmp.sh (issue 5, point 4). Source lib.sh first.
#
# The flood generator is flood.c, compiled here with cc: it writes crafted
# packets (random source addresses and ports, right checksums) into tp0 in
# "app" through an AF_PACKET socket, so they reach the proxy as if the app
# had sent them. The floods are aimed at the test host 203.0.113.10 in
# "net" only (a closed port for TCP and UDP), and the proxy's replies to
# the made-up sources go back into tp0, where app's kernel drops them (not
# its addresses, no forwarding): nothing leaves the namespaces.
#
# The proxy runs with --max-memory $FL_MAX_MEMORY; its RSS bound is its
# idle RSS plus that budget (the budget is what the engine may allocate for
# flows and buffers; code, libc and the fixed tables are in the idle RSS).
# Under a sanitizer the RSS is not comparable (shadow memory, quarantine):
# it is printed, not checked. Under TP_WRAPPER (valgrind) the floods would
# take minutes: skipped.
#
# Environment: TP_FLOOD_COUNT (packets per flood, default 100000),
# TP_FLOOD_RATE (packets/s, default 20000: a 5 s flood; 0 = as fast as the
# device takes them).

FL_COUNT=${TP_FLOOD_COUNT:-100000}
FL_RATE=${TP_FLOOD_RATE:-20000}
FL_MAX_MEMORY_MIB=16
FL_MAX_MEMORY="${FL_MAX_MEMORY_MIB}M"
FL_BIN=""
FL_PID=""
FL_SAN=0

# fl_setup: the checks and the generator (call after tp_setup).
fl_setup() {
	[ -z "$TP_WRAPPER" ] || skip "floods under TP_WRAPPER ($TP_WRAPPER) would take minutes"
	tp_require cc
	FL_BIN="$TP_TMP/flood"
	cc -O2 -o "$FL_BIN" "$TP_E2E_DIR/flood.c" 2>"$TP_TMP/cc.log" ||
		fail "cannot compile flood.c: $(cat "$TP_TMP/cc.log")"
	if ldd "$TUNPROXY" 2>/dev/null | grep -qE 'lib(asan|tsan|msan)' ||
		nm "$TUNPROXY" 2>/dev/null | grep -q '__asan_init'; then
		FL_SAN=1
	fi
}

# fl_after_proxy: call after tp_start_proxy: a longer TUN queue (the
# flood's packets queue there while the proxy works), the idle figures.
fl_after_proxy() {
	ip -n "$NS_APP" link set "$TP_TUN" txqueuelen 10000 || fail "txqueuelen"
	FL_RSS0=$(fl_status VmRSS)
	FL_FDS0=$(fl_fds)
	tp_log "proxy idle: RSS $FL_RSS0 kB, $FL_FDS0 fds; bound $((FL_RSS0 + FL_MAX_MEMORY_MIB * 1024)) kB (idle + --max-memory $FL_MAX_MEMORY)"
}

# fl_counter0 NAME: a proxy counter, 0 if this proxy has no such counter
# (flows_evicted is newer than the tests).
fl_counter0() {
	tp_dump
	tp_last counter "$1" 2>/dev/null || echo 0
}

# fl_status FIELD: a /proc/PID/status value of the proxy (kB).
fl_status() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$TP_PID/status"; }
fl_fds() { find "/proc/$TP_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# fl_start MODE DST PORT: start a flood in the background (FL_PID).
fl_start() {
	FL_OUT="$TP_TMP/flood-$1.out"
	in_app "$FL_BIN" "$TP_TUN" "$1" "$FL_COUNT" "$2" "$3" --rate "$FL_RATE" >"$FL_OUT" 2>&1 &
	FL_PID=$!
	TP_PIDS+=("$FL_PID")
}

# fl_wait: wait for the flood to end; it must have sent every packet.
fl_wait() {
	local rc
	wait "$FL_PID"
	rc=$?
	FL_PID=""
	[ "$rc" = 0 ] || fail "the flood generator failed (status $rc): $(cat "$FL_OUT")"
	grep -q "^flood: $FL_COUNT " "$FL_OUT" || fail "the flood did not send $FL_COUNT packets: $(cat "$FL_OUT")"
	tp_log "$(cat "$FL_OUT")"
}

# fl_running: true while the flood is still going.
fl_running() { [ -n "$FL_PID" ] && kill -0 "$FL_PID" 2>/dev/null; }

# fl_check_rss WHAT: the proxy's peak RSS (VmHWM) within the bound.
fl_check_rss() {
	local hwm bound mem_peak
	hwm=$(fl_status VmHWM)
	bound=$((FL_RSS0 + FL_MAX_MEMORY_MIB * 1024))
	mem_peak=$(tp_counter mem_peak)
	tp_log "$1: peak RSS (VmHWM) $hwm kB (idle $FL_RSS0 kB, bound $bound kB); engine mem_peak $mem_peak bytes of $FL_MAX_MEMORY"
	[ "$mem_peak" -le $((FL_MAX_MEMORY_MIB * 1048576)) ] ||
		fail "$1: the engine's mem_peak $mem_peak is above --max-memory $FL_MAX_MEMORY"
	if [ "$FL_SAN" = 1 ]; then
		tp_log "(sanitizer build: the RSS bound is not checked)"
	else
		[ "$hwm" -le "$bound" ] || fail "$1: peak RSS $hwm kB is above the bound $bound kB"
	fi
}

# fl_tun_drops: packets app's kernel could not queue to the proxy (tp0's
# TX dropped): they were never written into the TUN.
fl_tun_drops() {
	ip -n "$NS_APP" -s -s link show "$TP_TUN" |
		awk '/TX:/ { getline; print $4; exit }'
}

# fl_wait_fds N SECS: wait until the proxy has N fds open again.
fl_wait_fds() {
	local want=$1 secs=$2 i
	for ((i = 0; i < secs * 5; i++)); do
		[ "$(fl_fds)" -le "$want" ] && return 0
		sleep 0.2
	done
	return 1
}

# fl_mark_flow_limits: note rx_packets and the flow-limit counters before a
# UDP or ICMP flood; fl_check_flow_limits WHAT EXTRA after it: log the
# deltas (EXTRA: more "name value" text for the line) and add to FAILS
# unless the proxy read all FL_COUNT packets (WHAT names them) and one of
# flows_refused_limit, flows_refused_memory, flows_evicted moved.
fl_mark_flow_limits() {
	FL_RX0=$(tp_counter rx_packets)
	FL_LIM0=$(tp_counter flows_refused_limit)
	FL_MEM0=$(tp_counter flows_refused_memory)
	FL_EV0=$(fl_counter0 flows_evicted)
}

fl_check_flow_limits() {
	local rx lim mem ev
	rx=$(($(tp_counter rx_packets) - FL_RX0))
	lim=$(($(tp_counter flows_refused_limit) - FL_LIM0))
	mem=$(($(tp_counter flows_refused_memory) - FL_MEM0))
	ev=$(($(fl_counter0 flows_evicted) - FL_EV0))
	tp_log "proxy read $rx packets; flows_open $(tp_counter flows_open)," \
		"flows_refused_limit +$lim, flows_refused_memory +$mem, flows_evicted +$ev," \
		"$2, fds $(fl_fds); tp0 TX drops $(fl_tun_drops)"
	[ "$rx" -ge "$FL_COUNT" ] ||
		FAILS+=("the proxy read only $rx of the $FL_COUNT $1")
	[ $((lim + mem + ev)) -gt 0 ] ||
		FAILS+=("none of flows_refused_limit, flows_refused_memory, flows_evicted moved during the flood")
}
