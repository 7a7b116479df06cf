#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ICMP echo flood (issue 5, point 4): 100,000 echo requests, each from a
# random source address with a random identifier and sequence number (a
# new echo flow for the proxy each time: flood.c writes them into the TUN
# at 20,000/s), to the test host 203.0.113.10. The proxy runs with
# --max-flows 2048 --max-memory 16M --icmp-timeout 10. Checked:
#   - a ping through the proxy, started while the flood runs, gets replies
#     (at least one of 5);
#   - the flow limit held and was counted: flows_refused_limit,
#     flows_refused_memory or flows_evicted moved;
#   - the proxy's peak RSS (VmHWM) stays under its idle RSS + --max-memory,
#     its engine mem_peak under --max-memory;
#   - every request reached the proxy, it is alive, and once the flood's
#     flows have expired the fd count is back to its start and ping works.
# Every check runs; failures are reported together at the end.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=flood_lib.sh
. "$(dirname "$0")/flood_lib.sh"
tp_require ping
tp_setup
fl_setup
MAX_FLOWS=2048
tp_start_proxy --max-flows "$MAX_FLOWS" --max-memory "$FL_MAX_MEMORY" --icmp-timeout 10
fl_after_proxy
FAILS=()

pings() { in_app ping -c 5 -i 0.3 -W 2 "$HOST_V4" 2>&1; }
received() { echo "$1" | sed -n 's/.* \([0-9]*\) received.*/\1/p'; }

fl_mark_flow_limits
fl_start icmp "$HOST_V4" 0
sleep 1
fl_running || tp_log "warning: the flood ended before the ping started (slow machine?)"
out=$(pings)
n=$(received "$out")
if [ "${n:-0}" -gt 0 ]; then
	tp_log "ping during the flood: $n of 5 replies ($(fl_running && echo 'the flood still running' || echo 'the flood over'))"
else
	FAILS+=("ping during the ICMP flood got no reply (flows_open $(tp_counter flows_open) of $MAX_FLOWS)")
	tp_log "ping during the flood FAILED: $(echo "$out" | grep "packets transmitted")"
fi
fl_wait
fl_check_flow_limits requests "icmp_echo_requests $(tp_counter icmp_echo_requests)"
fl_check_rss "ICMP echo flood"
tp_proxy_alive || fail "the proxy died during the flood"

tp_wait_counter icmp_flows_open -eq 0 40 || fail "icmp_flows_open is $(tp_counter icmp_flows_open) long after the flood"
fl_wait_fds "$FL_FDS0" 20 || fail "the proxy has $(fl_fds) fds open after the flood, $FL_FDS0 before"
out=$(pings)
[ "$(received "$out")" -gt 0 ] 2>/dev/null || fail "ping after the ICMP flood: $out"
tp_print_counters counter
[ ${#FAILS[@]} = 0 ] || fail "$(printf '%s; ' "${FAILS[@]}")"
tp_pass
