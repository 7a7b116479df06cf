#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hostile input: a few thousand malformed packets written into the TUN
# (truncated headers, lying lengths, bad checksums, bad IHL, bogus IPv6
# extension chains and fragments, wrong versions, bit flips, random bytes;
# see malformed.py). Afterwards the proxy must be alive, must have read them
# all, counted at least every packet that is malformed beyond doubt in
# rx_dropped_malformed, kept its log rate-limited, and still serve DNS, UDP
# and ping.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
"$TP_PY" -c 'import scapy' 2>/dev/null || skip "needs python3-scapy"
tp_setup
tp_start_dns
tp_start_udp_echo
tp_start_proxy

# It works before the burst (so a failure after it means something).
in_app dig +time=2 +tries=2 +short @"$HOST_V4" "$DNS_NAME" A | grep -qx "$HOST_V4" ||
	fail "DNS did not work even before the burst"

rx0=$(tp_counter rx_packets) || exit 1
mal0=$(tp_counter rx_dropped_malformed) || exit 1
tx_drop0=$(in_app cat "/sys/class/net/$TP_TUN/statistics/tx_dropped")
lines0=$(wc -l <"$TP_LOG")

out=$(in_app "$TP_PY" "$TP_E2E_DIR/malformed.py" "$TP_TUN" --scale 100) ||
	fail "malformed.py failed: $out"
tp_log "burst: $out"
sent=$("$TP_PY" -c 'import json,sys; print(json.loads(sys.argv[1])["sent"])' "$out")
must=$("$TP_PY" -c 'import json,sys; print(json.loads(sys.argv[1])["must_drop"])' "$out")
[ "$sent" -ge 2000 ] || fail "only $sent packets were written into the TUN"
tx_drop=$(in_app cat "/sys/class/net/$TP_TUN/statistics/tx_dropped")
lost=$((tx_drop - tx_drop0)) # dropped by the TUN queue, never reached the proxy

# Let the proxy drain its queue, then check what it saw.
tp_wait_for 10 tp_proxy_alive || true
tp_proxy_alive || fail "tunproxy died during the malformed burst"
want_rx=$((rx0 + sent - lost))
tp_wait_counter rx_packets -ge "$want_rx" 10 ||
	fail "rx_packets is $(tp_counter rx_packets): want at least $want_rx ($sent sent, $lost lost in the TUN queue)"
mal=$(tp_counter rx_dropped_malformed) || exit 1
[ $((mal - mal0)) -ge "$must" ] ||
	fail "rx_dropped_malformed went from $mal0 to $mal: want at least $must more (packets malformed beyond doubt)"
tp_log "rx_dropped_malformed +$((mal - mal0)) for $sent packets ($must malformed beyond doubt)"
tp_print_counters drop

# Logs about bad input must be rate-limited, not one line per packet.
lines=$(wc -l <"$TP_LOG")
[ $((lines - lines0)) -lt $((sent / 4)) ] ||
	fail "the proxy log grew by $((lines - lines0)) lines for $sent bad packets: not rate-limited"

# Still serving, at once: large datagrams first (the burst left incomplete
# and bogus fragments behind, which must not keep reassembly from serving
# new datagrams), then DNS (v4 and v6), UDP echo with byte checks, ping.
for host in "$HOST_V4" "$HOST_V6"; do
	out=$(in_app "$TP_PY" "$TP_E2E_DIR/udp_echo.py" "$host" "$ECHO_PORT" --count 0 \
		--sizes 4000,20000 --sockets 1 --retries 0 --timeout 3 2>&1) ||
		fail "fragmented UDP datagrams to $host right after the burst: $out"
done
in_app dig +time=2 +tries=2 +short @"$HOST_V4" "$DNS_NAME" A | grep -qx "$HOST_V4" ||
	fail "DNS over IPv4 failed after the burst"
in_app dig +time=2 +tries=2 +short @"$HOST_V6" "$DNS_NAME" AAAA | grep -qx "$HOST_V6" ||
	fail "DNS over IPv6 failed after the burst"
for host in "$HOST_V4" "$HOST_V6"; do
	out=$(in_app "$TP_PY" "$TP_E2E_DIR/udp_echo.py" "$host" "$ECHO_PORT" --count 100 \
		--sizes 4000,20000 2>&1) || fail "UDP echo to $host after the burst: $out"
	tp_log "$out"
done
out=$(in_app ping -c 2 -i 0.2 -W 3 "$HOST_V4" 2>&1) || fail "ping after the burst: $out"
out=$(in_app ping -6 -c 2 -i 0.2 -W 3 "$HOST_V6" 2>&1) || fail "ping -6 after the burst: $out"
tp_log "DNS, UDP echo and ping still work after the burst"
tp_print_counters
tp_proxy_alive || fail "the proxy died"
tp_pass
