#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# UDP datagrams through tunproxy, checked byte for byte: a client in "app"
# sends random payloads of 1..1400 bytes over several sockets (several flows)
# to a UDP echo server in "net" and compares every reply, over IPv4 and IPv6;
# then datagrams larger than the 1500-byte MTU, which the app's kernel
# fragments into the TUN (the proxy reassembles them) and whose echoes the
# proxy must fragment back to the app. The proxy's counters must agree.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tp_setup
tp_start_udp_echo
tp_start_proxy

echo_client() { in_app "$TP_PY" "$TP_E2E_DIR/udp_echo.py" "$@" 2>&1; }

tx0=$(tp_counter udp_tx_datagrams) || exit 1
rx0=$(tp_counter udp_rx_datagrams) || exit 1

for host in "$HOST_V4" "$HOST_V6"; do
	out=$(echo_client "$host" "$ECHO_PORT" --count 1000 --min 1 --max 1400 --sockets 8) ||
		fail "random payloads to $host: $out"
	tp_log "$out"
done

reasm0=$(tp_counter frag_reassembled) || exit 1
fsent0=$(tp_counter frag_sent) || exit 1
# 1472/1452 fill a 1500-byte packet exactly; one byte more must fragment.
# 65507 is the largest UDP payload over IPv4; 65487 the largest over IPv6 that
# tunproxy takes (its reassembled packets, header included, must fit in 65535
# bytes: 40 bytes less than RFC 8200 allows).
out=$(echo_client "$HOST_V4" "$ECHO_PORT" --count 0 --sockets 2 --timeout 3 \
	--sizes 1472,1473,2000,4000,8000,20000,20000,30000,65507) ||
	fail "large datagrams (IPv4): $out"
tp_log "$out"
out=$(echo_client "$HOST_V6" "$ECHO_PORT" --count 0 --sockets 2 --timeout 3 \
	--sizes 1452,1453,2000,4000,8000,20000,20000,30000,65487) ||
	fail "large datagrams (IPv6): $out"
tp_log "$out"

reasm=$(tp_counter frag_reassembled) || exit 1
fsent=$(tp_counter frag_sent) || exit 1
# 8 of 9 datagrams per family need fragments each way (two or more each).
[ $((reasm - reasm0)) -ge 16 ] ||
	fail "frag_reassembled went from $reasm0 to $reasm: want at least 16 more"
[ $((fsent - fsent0)) -ge 32 ] ||
	fail "frag_sent went from $fsent0 to $fsent: want at least 32 more (fragments to the app)"

tx=$(tp_counter udp_tx_datagrams) || exit 1
rx=$(tp_counter udp_rx_datagrams) || exit 1
[ $((tx - tx0)) -ge 2018 ] || fail "udp_tx_datagrams went from $tx0 to $tx: want at least 2018 more"
[ $((rx - rx0)) -ge 2018 ] || fail "udp_rx_datagrams went from $rx0 to $rx: want at least 2018 more"
open=$(tp_counter udp_flows_open) || exit 1
[ "$open" -ge 20 ] || fail "udp_flows_open is $open: want the 20 sockets' flows still open"
tp_print_counters
tp_proxy_alive || fail "the proxy died"
tp_pass
