#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Resets in the middle of a transfer through tunproxy, each way, over IPv4
# and IPv6, with tcp_reset.py at both ends:
#  - host reset: the server in "net" sends 256 KB, pauses, pushes more and
#    closes with SO_LINGER 0 while data is in flight: the app must end with
#    ECONNRESET (not a clean end of stream, not a hang), every byte before
#    it right and at least the 256 KB; tcp_rst_sent moves;
#  - app reset: the app sends and receives 256 KB (each byte checked at
#    the other end), then closes with SO_LINGER 0 while the server is still
#    sending: the server must see ECONNRESET or EPIPE, never a clean end of
#    stream; tcp_rst_received moves.
# Afterwards the proxy holds no connection or flow.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
PORT_A=7201
PORT_B=7202
tp_setup
tp_spawn "$NS_NET" "$TP_TMP/server.log" "$TP_PY" -u "$TP_E2E_DIR/tcp_reset.py" server \
	"$PORT_A" "$PORT_B" "$HOST_V4" "$HOST_V6"
TP_PIDS+=("$TP_SPAWNED")
tp_wait_for 10 sh -c "[ \$(grep -c '^listening' '$TP_TMP/server.log') = 4 ]" ||
	fail "the server did not come up: $(cat "$TP_TMP/server.log")"
tp_start_proxy

client() { in_app "$TP_PY" "$TP_E2E_DIR/tcp_reset.py" client "$@" 2>&1; }
# nlines PATTERN: lines of the server log matching PATTERN.
nlines() { grep -cE "$1" "$TP_TMP/server.log"; }

rsts0=$(tp_counter tcp_rst_sent) || exit 1
rstr0=$(tp_counter tcp_rst_received) || exit 1
k=0
for host in "$HOST_V4" "$HOST_V6"; do
	k=$((k + 1))
	out=$(client host-reset "$host" "$PORT_A") || fail "host reset over $host: $out"
	tp_log "host reset over $host: $out (server: $(grep '^host-reset' "$TP_TMP/server.log" | tail -n 1))"
	[ "$(nlines '^host-reset sent [0-9]+ then RST$')" = "$k" ] ||
		fail "host reset over $host: server log: $(cat "$TP_TMP/server.log")"

	out=$(client app-reset "$host" "$PORT_B") || fail "app reset over $host: $out"
	tp_wait_for 5 sh -c "[ \$(grep -c '^app-reset' '$TP_TMP/server.log') -ge $k ]" ||
		fail "app reset over $host: the server did not notice within 5 s: $(cat "$TP_TMP/server.log")"
	line=$(grep '^app-reset' "$TP_TMP/server.log" | tail -n 1)
	tp_log "app reset over $host: $out; server: $line"
	printf '%s\n' "$line" | grep -qE '^app-reset got [0-9]+ sent [0-9]+ (recv|send)=(ECONNRESET|EPIPE)$' ||
		fail "app reset over $host: the server saw '$line', want ECONNRESET or EPIPE (a RST), not end of stream"
	# Bytes still in flight when the RST came are lost (as without the
	# proxy), but some must have arrived, each checked by the server.
	got=$(printf '%s\n' "$line" | cut -d' ' -f3)
	[ "$got" -gt 0 ] || fail "app reset over $host: the server got none of the app's data"
done
grep -q '^error' "$TP_TMP/server.log" && fail "the server saw errors: $(grep '^error' "$TP_TMP/server.log")"
rsts=$(tp_counter tcp_rst_sent) || exit 1
rstr=$(tp_counter tcp_rst_received) || exit 1
[ $((rsts - rsts0)) -ge 2 ] || fail "tcp_rst_sent went from $rsts0 to $rsts, want at least 2 more"
[ $((rstr - rstr0)) -ge 2 ] || fail "tcp_rst_received went from $rstr0 to $rstr, want at least 2 more"

tp_wait_counter tcp_conns_open -eq 0 10 ||
	fail "tcp_conns_open is $(tp_counter tcp_conns_open) after the resets, want 0"
tp_wait_counter flows_open -eq 0 10 ||
	fail "flows_open is $(tp_counter flows_open) after the resets, want 0"
tp_print_counters
tp_proxy_alive || fail "the proxy died"
tp_pass
