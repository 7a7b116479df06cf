#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A UDP datagram to a closed port: the host in "net" answers the proxy's
# socket with port-unreachable, and the proxy must send the app the
# ICMP/ICMPv6 port-unreachable a real network would, so the app's connected
# UDP socket fails with ECONNREFUSED ("connection refused"). The app's kernel
# only accepts that error if it quotes the app's own datagram, so this also
# checks the quoted headers. Over IPv4 and IPv6, to both "net" addresses.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tp_setup
tp_start_udp_echo
tp_start_proxy

refused() { in_app "$TP_PY" "$TP_E2E_DIR/udp_refused.py" "$@" 2>&1; }

err0=$(tp_counter icmp_errors_sent) || exit 1
n=0
for host in "$HOST_V4" "$NET_V4" "$HOST_V6" "$NET_V6"; do
	for port in 9 40000; do
		out=$(refused "$host" "$port" 2>&1) || fail "UDP to closed $host port $port: $out"
		tp_log "$out"
		n=$((n + 1))
	done
done
err=$(tp_counter icmp_errors_sent) || exit 1
[ $((err - err0)) -ge "$n" ] ||
	fail "icmp_errors_sent went from $err0 to $err: want at least $n more"

# The open port still answers (the refusals did not break UDP), and the
# closed-port check can tell the difference: the echo port must NOT refuse.
out=$(in_app "$TP_PY" "$TP_E2E_DIR/udp_echo.py" "$HOST_V4" "$ECHO_PORT" --count 20 --sockets 1 2>&1) ||
	fail "echo after refusals (v4): $out"
out=$(in_app "$TP_PY" "$TP_E2E_DIR/udp_echo.py" "$HOST_V6" "$ECHO_PORT" --count 20 --sockets 1 2>&1) ||
	fail "echo after refusals (v6): $out"
if out=$(refused "$HOST_V4" "$ECHO_PORT" --tries 1 2>&1); then
	fail "the open echo port was reported refused: $out"
fi
tp_print_counters
tp_proxy_alive || fail "the proxy died"
tp_pass
