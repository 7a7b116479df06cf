#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Half-close through tunproxy, each direction on its own (RFC 9293 3.6),
# over IPv4 and IPv6, with tcp_halfclose.py at both ends:
#  - app first: the app sends 2 MiB and shuts down its write side; the
#    server reads to end of stream, then (0.3 s later) replies with the
#    digest of what it got and 2 MiB more, and closes: the reply must reach
#    the app complete after the app's FIN;
#  - server first: the server sends 2 MiB and shuts down its write side at
#    once; the app reads to end of stream, then (0.3 s later) sends 2 MiB
#    and shuts down: the server must get it all after its own FIN.
# The SHA-256 of every stream is compared between the two ends. Afterwards
# no connection or flow is left open.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
PORT_A=7101
PORT_B=7102
tp_setup
tp_spawn "$NS_NET" "$TP_TMP/server.log" "$TP_PY" -u "$TP_E2E_DIR/tcp_halfclose.py" server \
	"$PORT_A" "$PORT_B" "$HOST_V4" "$HOST_V6"
TP_PIDS+=("$TP_SPAWNED")
tp_wait_for 10 sh -c "[ \$(grep -c '^listening' '$TP_TMP/server.log') = 4 ]" ||
	fail "the server did not come up: $(cat "$TP_TMP/server.log")"
tp_start_proxy

created0=$(tp_counter tcp_conns_created) || exit 1
n=0
for host in "$HOST_V4" "$HOST_V6"; do
	for mode in app-first server-first; do
		port=$PORT_A
		[ "$mode" = server-first ] && port=$PORT_B
		out=$(in_app "$TP_PY" "$TP_E2E_DIR/tcp_halfclose.py" client "$mode" "$host" "$port" 2>&1) ||
			fail "$mode to $host: $out"
		line=${out% *} # without the trailing address
		# The server prints its line just after the connection ends.
		tp_wait_for 5 grep -qxF "$line" "$TP_TMP/server.log" ||
			fail "$mode to $host: the two ends disagree: client '$line', server log: $(cat "$TP_TMP/server.log")"
		tp_log "$mode over $host: both ends agree on every byte ($line)"
		n=$((n + 1))
	done
done
grep -q '^error' "$TP_TMP/server.log" && fail "the server saw errors: $(grep '^error' "$TP_TMP/server.log")"
created=$(tp_counter tcp_conns_created) || exit 1
[ $((created - created0)) -eq "$n" ] ||
	fail "tcp_conns_created went from $created0 to $created, want $n more"
# A RST that answers a segment of no connection is allowed: when our
# FIN was resent (a tail loss probe on a loaded machine), the app's second
# ACK of it can arrive after the flow ended, and RFC 9293 answers it so.
# Any other RST aborted a connection.
rst=$(tp_counter tcp_rst_sent) || exit 1
stray=$(tp_counter tcp_rst_stray) || exit 1
if [ $((rst - stray)) != 0 ]; then
	tp_print_counters
	fail "tcp_rst_sent is $rst ($stray of them stray): a half-closed connection was reset"
fi

# server-first ends in the proxy's short TIME-WAIT.
tp_wait_counter tcp_conns_open -eq 0 10 ||
	fail "tcp_conns_open is $(tp_counter tcp_conns_open) after all connections ended, want 0"
tp_wait_counter flows_open -eq 0 10 ||
	fail "flows_open is $(tp_counter flows_open) after all connections ended, want 0"
tp_print_counters
tp_proxy_alive || fail "the proxy died"
tp_pass
