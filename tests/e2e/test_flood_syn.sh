#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SYN flood (issue 5, point 4): 100,000 TCP SYNs from random source
# addresses and ports (flood.c writes them into the TUN at 20,000/s) to the
# test host 203.0.113.10, port 81, where nftables in "net" drops every SYN:
# each connect the proxy makes stays pending, so the half-open table fills
# up (--max-half-open 256) and stays full for the whole flood - the
# classic SYN flood. The proxy runs with --max-memory 16M. Checked:
#   - a normal curl of a page on port 80, started while the flood runs,
#     succeeds (generous timeout: a SYN the proxy drops may be retried by
#     the app's kernel, but a RST fails it);
#   - the half-open limit was reached and counted: tcp_refused_half_open
#     (SYNs refused) plus flows_evicted (pending connects ended to make
#     room for newer SYNs) moved by at least half the flood;
#   - the proxy's peak RSS (VmHWM) stays under its idle RSS + --max-memory,
#     its engine mem_peak under --max-memory;
#   - every SYN reached the proxy (rx_packets), the proxy is alive; once the
#     port answers again (nft removed: the connects are refused) nothing is
#     left half-open, the fd count is back to its start, a curl works;
#   - then 20,000 IPv6 SYNs to the closed port, and a curl over IPv6.
# Every check runs; failures are reported together at the end.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=flood_lib.sh
. "$(dirname "$0")/flood_lib.sh"
tp_require curl nginx nft
tp_setup
fl_setup
mkdir -p "$TP_TMP/www"
echo "tunproxy flood test page" >"$TP_TMP/www/index.html"
tp_start_http "$TP_TMP/www"
HALF_OPEN=256
tp_start_proxy --max-half-open "$HALF_OPEN" --max-memory "$FL_MAX_MEMORY"
fl_after_proxy
PORT=81
in_net ss -Hltn "sport = :$PORT" | grep -q . && fail "port $PORT is open in net"
in_net nft "add table inet flood
add chain inet flood in { type filter hook input priority 0; }
add rule inet flood in tcp dport $PORT counter drop" || fail "nft in net"

page() {
	local url
	case $1 in *:*) url="http://[$1]/index.html" ;; *) url="http://$1/index.html" ;; esac
	in_app curl -sS --max-time 60 "$url" 2>&1
}
FAILS=()

rx0=$(tp_counter rx_packets)
ref0=$(tp_counter tcp_refused_half_open)
ev0=$(fl_counter0 flows_evicted)
fl_start syn "$HOST_V4" "$PORT"
sleep 1
fl_running || tp_log "warning: the flood ended before the curl started (slow machine?)"
t0=$(date +%s.%N)
if out=$(page "$HOST_V4") && [ "$out" = "tunproxy flood test page" ]; then
	tp_log "curl during the flood: ok in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s" \
		"($(fl_running && echo 'the flood still running' || echo 'the flood over'))"
else
	FAILS+=("curl during the SYN flood failed: $out (tcp_half_open $(tp_counter tcp_half_open) of $HALF_OPEN)")
	tp_log "curl during the flood FAILED: $out"
fi
fl_wait
rx1=$(tp_counter rx_packets)
ref1=$(tp_counter tcp_refused_half_open)
ev1=$(fl_counter0 flows_evicted)
tp_log "proxy read $((rx1 - rx0)) packets; tcp_half_open $(tp_counter tcp_half_open)," \
	"tcp_refused_half_open +$((ref1 - ref0)), flows_evicted +$((ev1 - ev0)), tcp_rst_sent $(tp_counter tcp_rst_sent);" \
	"tp0 TX drops $(fl_tun_drops)"
[ $((rx1 - rx0)) -ge "$FL_COUNT" ] ||
	FAILS+=("the proxy read only $((rx1 - rx0)) of the $FL_COUNT SYNs")
[ $((ref1 - ref0 + ev1 - ev0)) -ge $((FL_COUNT / 2)) ] ||
	FAILS+=("tcp_refused_half_open (+$((ref1 - ref0))) and flows_evicted (+$((ev1 - ev0))) moved too little, with $FL_COUNT SYNs to a black hole")
fl_check_rss "SYN flood (IPv4)"
tp_proxy_alive || fail "the proxy died during the flood"

# The port answers again: the pending connects are refused at their next
# SYN retransmission (within about 16 s).
in_net nft delete table inet flood || fail "nft delete in net"
tp_wait_counter tcp_half_open -eq 0 60 || fail "tcp_half_open is $(tp_counter tcp_half_open) after the flood"
fl_wait_fds "$FL_FDS0" 20 || fail "the proxy has $(fl_fds) fds open after the flood, $FL_FDS0 before"
out=$(page "$HOST_V4") || fail "curl after the SYN flood failed: $out"

# IPv6, smaller, to the closed port.
FL_COUNT=20000
fl_start syn "$HOST_V6" "$PORT"
fl_wait
fl_check_rss "SYN flood (IPv6)"
out=$(page "$HOST_V6") || fail "curl over IPv6 after the IPv6 SYN flood failed: $out"
tp_wait_counter tcp_half_open -eq 0 20 || fail "tcp_half_open is $(tp_counter tcp_half_open) after the IPv6 flood"
tp_wait_counter tcp_conns_open -eq 0 20 || fail "tcp_conns_open is $(tp_counter tcp_conns_open) after the floods"
fl_wait_fds "$FL_FDS0" 20 || fail "the proxy has $(fl_fds) fds open after the floods, $FL_FDS0 before"
tp_print_counters counter
[ ${#FAILS[@]} = 0 ] || fail "$(printf '%s; ' "${FAILS[@]}")"
tp_pass
