#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# UDP flow flood (issue 5, point 4): 100,000 UDP datagrams, each from a
# random source address and port (a new flow for the proxy each time:
# flood.c writes them into the TUN at 20,000/s), to a closed port of the
# test host (203.0.113.10:9). The proxy runs with --max-flows 2048
# --max-memory 16M --udp-timeout 10. Checked:
#   - a dig through the proxy, started while the flood runs, gets its
#     answer (dig retries: 3 tries of 2 s);
#   - the flow limit held and was counted: flows_refused_limit,
#     flows_refused_memory or flows_evicted (old datagram flows ended to
#     make room) moved;
#   - the proxy's peak RSS (VmHWM) stays under its idle RSS + --max-memory,
#     its engine mem_peak under --max-memory;
#   - every datagram reached the proxy, it is alive, and once the flood's
#     flows have expired the fd count is back to its start and a dig works.
# Every check runs; failures are reported together at the end.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=flood_lib.sh
. "$(dirname "$0")/flood_lib.sh"
tp_require dig
tp_setup
fl_setup
tp_start_dns
MAX_FLOWS=2048
tp_start_proxy --max-flows "$MAX_FLOWS" --max-memory "$FL_MAX_MEMORY" --udp-timeout 10 --dns-timeout 10
fl_after_proxy
PORT=9
in_net ss -Hlun "sport = :$PORT" | grep -q . && fail "udp port $PORT is open in net"
FAILS=()

lookup() { in_app dig +time=2 +tries=3 +short @"$HOST_V4" "$DNS_NAME" A 2>&1; }

fl_mark_flow_limits
fl_start udp "$HOST_V4" "$PORT"
sleep 1
fl_running || tp_log "warning: the flood ended before the dig started (slow machine?)"
out=$(lookup)
if [ "$out" = "$HOST_V4" ]; then
	tp_log "dig during the flood: ok ($(fl_running && echo 'the flood still running' || echo 'the flood over'))"
else
	FAILS+=("dig during the UDP flood got no answer: '$out' (flows_open $(tp_counter flows_open) of $MAX_FLOWS)")
	tp_log "dig during the flood FAILED: $out"
fi
fl_wait
fl_check_flow_limits datagrams "flows_refused_socket $(tp_counter flows_refused_socket)"
fl_check_rss "UDP flood"
tp_proxy_alive || fail "the proxy died during the flood"

# The flood's flows expire (--udp-timeout 10).
tp_wait_counter udp_flows_open -eq 0 40 || fail "udp_flows_open is $(tp_counter udp_flows_open) long after the flood"
fl_wait_fds "$FL_FDS0" 20 || fail "the proxy has $(fl_fds) fds open after the flood, $FL_FDS0 before"
out=$(lookup)
[ "$out" = "$HOST_V4" ] || fail "dig after the UDP flood: '$out'"
tp_print_counters counter
[ ${#FAILS[@]} = 0 ] || fail "$(printf '%s; ' "${FAILS[@]}")"
tp_pass
