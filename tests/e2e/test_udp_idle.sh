#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Idle UDP flows expire: with --udp-timeout 2 --dns-timeout 1, a flow that
# keeps exchanging stays (one flow, not re-created), and once everything is
# quiet udp_flows_open falls to 0 and flows_expired grows. A second proxy
# with --udp-timeout 30 --dns-timeout 1 shows that port 53 has its own,
# shorter timeout: the DNS flow goes, the echo flow stays.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tp_setup
tp_start_dns
tp_start_udp_echo
tp_start_proxy --udp-timeout 2 --dns-timeout 1

echo_client() { in_app "$TP_PY" "$TP_E2E_DIR/udp_echo.py" "$@" 2>&1; }

tp_wait_counter udp_flows_open -eq 0 5 || fail "udp_flows_open is not 0 at the start"
exp0=$(tp_counter flows_expired) || exit 1
cre0=$(tp_counter flows_created) || exit 1

# One socket, one datagram every 0.3 s for ~4.5 s: longer than the timeout,
# but never idle for it, so the flow must live throughout.
echo_client "$HOST_V4" "$ECHO_PORT" --count 15 --sockets 1 --interval 0.3 \
	>"$TP_TMP/keep.out" 2>&1 &
keep=$!
sleep 1
open=$(tp_counter udp_flows_open) || exit 1
[ "$open" -ge 1 ] || fail "udp_flows_open is $open during an exchange: want >= 1"
wait $keep || fail "keep-alive exchange: $(cat "$TP_TMP/keep.out")"
cre=$(tp_counter flows_created) || exit 1
[ $((cre - cre0)) -eq 1 ] ||
	fail "flows_created went from $cre0 to $cre: a busy flow expired and was re-created"
tp_log "busy flow lived past the timeout: ok"

# Then quiet: the flow must go, and only by expiry.
tp_wait_counter udp_flows_open -eq 0 15 || fail "udp_flows_open did not fall to 0 after the timeout"
exp=$(tp_counter flows_expired) || exit 1
[ $((exp - exp0)) -ge 1 ] || fail "flows_expired went from $exp0 to $exp: want at least 1 more"
tp_log "idle UDP flow expired: ok"

# DNS and echo flows, several of each, all quiet afterwards.
exp0=$exp
for _ in 1 2 3; do
	in_app dig +time=2 +tries=1 +short @"$HOST_V4" "$DNS_NAME" A | grep -qx "$HOST_V4" ||
		fail "dig through the proxy failed"
	in_app dig +time=2 +tries=1 +short @"$HOST_V6" "$DNS_NAME" AAAA | grep -qx "$HOST_V6" ||
		fail "dig -6 through the proxy failed"
done
out=$(echo_client "$HOST_V6" "$ECHO_PORT" --count 10 --sockets 3) || fail "echo v6: $out"
open=$(tp_counter udp_flows_open) || exit 1
[ "$open" -ge 1 ] || fail "udp_flows_open is $open right after 9 exchanges"
tp_wait_counter udp_flows_open -eq 0 15 || fail "udp_flows_open did not fall to 0"
exp=$(tp_counter flows_expired) || exit 1
[ $((exp - exp0)) -ge 9 ] || fail "flows_expired went from $exp0 to $exp: want at least 9 more"
open=$(tp_counter flows_open) || exit 1
[ "$open" = 0 ] || fail "flows_open is $open after every flow expired"
tp_log "6 DNS + 3 echo flows expired: ok"

# Second proxy: long UDP timeout, short DNS timeout.
tp_stop_proxy || fail "the first proxy did not stop cleanly"
tp_start_proxy --udp-timeout 30 --dns-timeout 1
in_app dig +time=2 +tries=1 +short @"$HOST_V4" "$DNS_NAME" A | grep -qx "$HOST_V4" ||
	fail "dig through the second proxy failed"
out=$(echo_client "$HOST_V4" "$ECHO_PORT" --count 5 --sockets 1) || fail "echo: $out"
tp_wait_counter udp_flows_open -eq 1 15 ||
	fail "udp_flows_open did not fall to 1 (the DNS flow should expire, the echo flow stay)"
sleep 2
open=$(tp_counter udp_flows_open) || exit 1
[ "$open" = 1 ] || fail "udp_flows_open is $open: the 30 s echo flow should still be open"
exp=$(tp_counter flows_expired) || exit 1
[ "$exp" = 1 ] || fail "flows_expired is $exp: want exactly the DNS flow"
tp_log "port 53 expires on its own timeout: ok"
tp_print_counters
tp_pass
