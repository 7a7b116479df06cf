#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 1,000 concurrent TCP connections through tunproxy, each carrying data
# checked byte for byte: tcp_many.py in "app" opens them all (half IPv4,
# half IPv6) to an asyncio echo server in "net", then sends two messages of
# 1-8 KB of random bytes on every connection at once and compares each
# echo. While all are open the proxy must count them (tcp_conns_open,
# flows_open) and hold a host socket for each; after the client closes them
# (its FIN first, the server's after) the connection and flow counts, the
# proxy's open fds and its memory must all come back to their idle values.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
NCONN=${TP_MANY_CONNS:-1000}
PORT=7000
# Every connection is a socket in the client, the proxy and the server.
ulimit -n 16384 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
[ "$(ulimit -n)" -ge $((NCONN + 200)) ] || skip "cannot raise the fd limit to $((NCONN + 200))"
tp_setup

tp_spawn "$NS_NET" "$TP_TMP/echo.log" "$TP_PY" -u "$TP_E2E_DIR/tcp_echo_server.py" "$PORT" \
	"$HOST_V4" "$HOST_V6"
TP_PIDS+=("$TP_SPAWNED")
tp_wait_for 10 sh -c "[ \$(grep -c '^listening' '$TP_TMP/echo.log') = 2 ]" ||
	fail "the echo server did not come up: $(cat "$TP_TMP/echo.log")"
tp_start_proxy

nfds() { find "/proc/$TP_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# Settle: the counters and the fd count of an idle proxy.
tp_wait_counter flows_open -eq 0 5 || fail "flows open before the test: $(tp_counter flows_open)"
fds0=$(nfds)
mem0=$(tp_counter mem_used) || exit 1
created0=$(tp_counter tcp_conns_created) || exit 1

go="$TP_TMP/go"
t0=$(date +%s.%N)
tp_spawn "$NS_APP" "$TP_TMP/client.log" "$TP_PY" -u "$TP_E2E_DIR/tcp_many.py" "$PORT" \
	"$HOST_V4" "$HOST_V6" --conns "$NCONN" --hold "$go" --hold-timeout 60
client=$TP_SPAWNED
TP_PIDS+=("$client")
for ((i = 0; i < 900 * TP_SLOW; i++)); do
	grep -q '^ready' "$TP_TMP/client.log" && break
	tp_running "$client" || break
	sleep 0.1
done
grep -q "^ready $NCONN\$" "$TP_TMP/client.log" ||
	fail "the client did not get all $NCONN connections through: $(cat "$TP_TMP/client.log")"
tp_log "$(grep -E '^(connected|exchanged)' "$TP_TMP/client.log" | tr '\n' ';')"

# All of them open at once, each with its host socket.
open=$(tp_counter tcp_conns_open) || exit 1
flows=$(tp_counter flows_open) || exit 1
fds=$(nfds)
mem=$(tp_counter mem_used) || exit 1
tp_log "with $NCONN connections open: tcp_conns_open $open, flows_open $flows," \
	"proxy fds $fds0 -> $fds, mem_used $mem0 -> $mem ($(((mem - mem0) / NCONN)) bytes per connection)"
[ "$open" -eq "$NCONN" ] || fail "tcp_conns_open is $open with $NCONN connections open"
[ "$flows" -eq "$NCONN" ] || fail "flows_open is $flows with $NCONN connections open"
[ "$fds" -ge $((fds0 + NCONN)) ] ||
	fail "the proxy has $fds fds open (idle: $fds0) with $NCONN connections: want a socket each"

touch "$go"
wait "$client"
rc=$?
t1=$(date +%s.%N)
[ "$rc" = 0 ] || fail "the client failed (status $rc): $(cat "$TP_TMP/client.log")"
grep -q "^closed $NCONN connections cleanly" "$TP_TMP/client.log" ||
	fail "the client did not close cleanly: $(cat "$TP_TMP/client.log")"
grep -q 'error' "$TP_TMP/echo.log" && fail "the echo server saw errors: $(grep error "$TP_TMP/echo.log" | head)"
tp_log "client done in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s (with the hold)"

created=$(tp_counter tcp_conns_created) || exit 1
[ $((created - created0)) -eq "$NCONN" ] ||
	fail "tcp_conns_created went from $created0 to $created, want $NCONN more"

# Everything released.
tp_wait_counter tcp_conns_open -eq 0 15 ||
	fail "tcp_conns_open is $(tp_counter tcp_conns_open) after all $NCONN connections closed, want 0"
tp_wait_counter flows_open -eq 0 15 ||
	fail "flows_open is $(tp_counter flows_open) after all $NCONN connections closed, want 0"
tp_wait_counter mem_used -le "$mem0" 10 ||
	fail "mem_used is $(tp_counter mem_used) after all connections closed, want its idle $mem0"
tp_wait_for 10 sh -c "[ \$(find /proc/$TP_PID/fd -mindepth 1 -maxdepth 1 | wc -l) -le $fds0 ]" ||
	fail "the proxy still has $(nfds) fds open after all connections closed (idle: $fds0)"
tp_print_counters
tp_proxy_alive || fail "the proxy died"
tp_pass
