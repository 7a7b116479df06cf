#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Floods under a low open-file limit (issue 10, finding 2; docs/robustness.md
# "Floods"). The proxy starts under `prlimit --nofile=256:1024` with the
# default --max-flows (65536), so file descriptors, not the flow table, are
# what a flood exhausts. Checked:
#   - tunproxy raised its soft limit to the hard one (1024: /proc/PID/limits
#     and the log line) and logged the datagram budget it derived from it;
#   - 100,000 UDP datagrams from distinct source addresses and ports (a new
#     flow each, flood.c at 20,000/s) to a closed port of the test host: a dig,
#     a curl and a ping started while the flood runs get their answers, and
#     a dig and a ping right after it ends (the flood's flows have not
#     expired: 10 s) too;
#   - 30,000 echo requests from distinct sources (6,000/s, so the flood
#     lasts 5 s): a ping and a dig during the flood and right after it get
#     their answers;
#   - datagram flows were ended to make room (flows_evicted), no flow was
#     refused for want of a socket (flows_refused_socket stays 0: the budget
#     kept fds free), UDP and ICMP flows open never exceed the budget, and
#     the proxy never held more fds than its limit;
#   - the proxy is alive and exits cleanly (teardown).
# On a proxy without fd-aware admission the flood takes every fd: the dig,
# curl and pings are refused (ICMP administratively prohibited, RST).
# Every check runs; failures are reported together at the end.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=flood_lib.sh
. "$(dirname "$0")/flood_lib.sh"
tp_require dig curl ping prlimit
tp_setup
fl_setup
tp_start_dns
mkdir -p "$TP_TMP/www"
echo "tunproxy fd flood page" >"$TP_TMP/www/index.html"
tp_start_http "$TP_TMP/www"
SOFT=256
HARD=1024
TP_WRAPPER="prlimit --nofile=$SOFT:$HARD" tp_start_proxy --max-memory "$FL_MAX_MEMORY" \
	--udp-timeout 10 --dns-timeout 10 --icmp-timeout 10
fl_after_proxy
FAILS=()
PORT=9
in_net ss -Hlun "sport = :$PORT" | grep -q . && fail "udp port $PORT is open in net"

limit=$(awk '/Max open files/ { print $4 }' "/proc/$TP_PID/limits")
[ "$limit" = "$HARD" ] || FAILS+=("the proxy's open-file limit is '$limit', want the hard limit $HARD")
grep -q "open-file limit raised from $SOFT to the hard limit $HARD" "$TP_LOG" ||
	FAILS+=("no log line saying the open-file limit was raised")
budget=$(sed -n 's/.*open-file limit [0-9]*: room for [0-9]* flows .*UDP\/ICMP flows held to \([0-9]*\),.*/\1/p' "$TP_LOG" | tail -n 1)
if [ -n "$budget" ]; then
	tp_log "budget: $(grep -o 'open-file limit [0-9]*: room.*' "$TP_LOG" | tail -n 1)"
else
	FAILS+=("no log line with the flow budget derived from the open-file limit")
	budget=$HARD
fi

lookup() { in_app dig +time=2 +tries=3 +short @"$HOST_V4" "$DNS_NAME" A 2>&1; }
page() { in_app curl -sS --max-time 20 "http://$HOST_V4/index.html" 2>&1; }
pings() { in_app ping -c 5 -i 0.3 -W 2 "$HOST_V4" 2>&1; }
received() { echo "$1" | sed -n 's/.* \([0-9]*\) received.*/\1/p'; }
state() { echo "(flows_open $(tp_counter flows_open), fds $(fl_fds) of $HARD, $(fl_running && echo 'the flood still running' || echo 'the flood over'))"; }

# fds_max: the most fds the proxy held, sampled every 0.1 s in the
# background until the file $TP_TMP/stop-sampling appears.
sample_fds() {
	local max=0 n
	while [ ! -e "$TP_TMP/stop-sampling" ]; do
		n=$(fl_fds)
		[ "$n" -gt "$max" ] && max=$n && echo "$max" >"$TP_TMP/fds-max"
		sleep 0.1
	done
}
sample_fds &
TP_PIDS+=("$!")

# --- UDP ---------------------------------------------------------------------
ev0=$(fl_counter0 flows_evicted)
sock0=$(tp_counter flows_refused_socket)
fl_start udp "$HOST_V4" "$PORT"
sleep 1
fl_running || tp_log "warning: the flood ended before the dig started (slow machine?)"
out=$(lookup)
if [ "$out" = "$HOST_V4" ]; then
	tp_log "dig during the UDP flood: ok $(state)"
else
	FAILS+=("dig during the UDP flood got no answer: '$out' $(state)")
fi
out=$(page)
if [ "$out" = "tunproxy fd flood page" ]; then
	tp_log "curl during the UDP flood: ok $(state)"
else
	FAILS+=("curl during the UDP flood failed: '$out' $(state)")
fi
out=$(pings)
n=$(received "$out")
if [ "${n:-0}" -gt 0 ]; then
	tp_log "ping during the UDP flood: $n of 5 replies $(state)"
else
	FAILS+=("ping during the UDP flood got no reply: $(echo "$out" | grep 'packets transmitted') $(state)")
fi
udp_max=$(tp_counter udp_flows_open)
fl_wait
out=$(lookup)
if [ "$out" = "$HOST_V4" ]; then
	tp_log "dig right after the UDP flood: ok $(state)"
else
	FAILS+=("dig right after the UDP flood got no answer: '$out' $(state)")
fi
out=$(pings)
n=$(received "$out")
if [ "${n:-0}" -gt 0 ]; then
	tp_log "ping right after the UDP flood: $n of 5 replies $(state)"
else
	FAILS+=("ping right after the UDP flood got no reply: $(echo "$out" | grep 'packets transmitted') $(state)")
fi
ev1=$(fl_counter0 flows_evicted)
tp_log "UDP flood: flows_evicted +$((ev1 - ev0)), udp_flows_open $udp_max during, $(tp_counter udp_flows_open) after (budget $budget)"
[ $((ev1 - ev0)) -gt 0 ] || FAILS+=("no datagram flow was evicted during the UDP flood")
[ "$udp_max" -le "$budget" ] || FAILS+=("udp_flows_open $udp_max is above the budget $budget")

# --- ICMP --------------------------------------------------------------------
FL_COUNT=30000
FL_RATE=6000
fl_start icmp "$HOST_V4" 0
sleep 1
fl_running || tp_log "warning: the flood ended before the ping started (slow machine?)"
out=$(pings)
n=$(received "$out")
if [ "${n:-0}" -gt 0 ]; then
	tp_log "ping during the ICMP flood: $n of 5 replies $(state)"
else
	FAILS+=("ping during the ICMP flood got no reply: $(echo "$out" | grep 'packets transmitted') $(state)")
fi
out=$(lookup)
if [ "$out" = "$HOST_V4" ]; then
	tp_log "dig during the ICMP flood: ok $(state)"
else
	FAILS+=("dig during the ICMP flood got no answer: '$out' $(state)")
fi
icmp_max=$(tp_counter icmp_flows_open)
fl_wait
out=$(pings)
n=$(received "$out")
if [ "${n:-0}" -gt 0 ]; then
	tp_log "ping right after the ICMP flood: $n of 5 replies $(state)"
else
	FAILS+=("ping right after the ICMP flood got no reply: $(echo "$out" | grep 'packets transmitted') $(state)")
fi
out=$(lookup)
if [ "$out" = "$HOST_V4" ]; then
	tp_log "dig right after the ICMP flood: ok $(state)"
else
	FAILS+=("dig right after the ICMP flood got no answer: '$out' $(state)")
fi
ev2=$(fl_counter0 flows_evicted)
tp_log "ICMP flood: flows_evicted +$((ev2 - ev1)), icmp_flows_open $icmp_max during (budget $budget)"
[ $((ev2 - ev1)) -gt 0 ] || FAILS+=("no datagram flow was evicted during the ICMP flood")
[ "$icmp_max" -le "$budget" ] || FAILS+=("icmp_flows_open $icmp_max is above the budget $budget")

touch "$TP_TMP/stop-sampling"
sock1=$(tp_counter flows_refused_socket)
fds_max=$(cat "$TP_TMP/fds-max" 2>/dev/null || echo 0)
tp_log "flows_refused_socket +$((sock1 - sock0)); the proxy held at most $fds_max fds (limit $HARD)"
[ "$sock1" = "$sock0" ] || FAILS+=("flows_refused_socket moved by $((sock1 - sock0)): the floods ran the proxy out of fds")
[ "$fds_max" -lt "$HARD" ] || FAILS+=("the proxy held $fds_max fds, its whole limit")
fl_check_rss "floods under an fd limit"
tp_proxy_alive || fail "the proxy died during the floods"
tp_print_counters counter
[ ${#FAILS[@]} = 0 ] || fail "$(printf '%s; ' "${FAILS[@]}")"
tp_pass
