#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What an app that stops reading can pin in the host's kernel (issue 11,
# item 7): host data waits in each host TCP socket until the app
# acknowledges it, so --host-rcvbuf bounds every host socket's receive
# queue. Four connections from "app" each ask nginx in "net" for a 1 GiB
# file, read the first 64 MiB as fast as they can (so the kernel's
# autotuning, were it on, would grow the buffers) and then stop reading;
# once the queues stop growing, every host socket in
# "proxy" (ss -m) must have a receive buffer (rb) of exactly the configured
# 1 MiB and hold no more than that (r, plus one buffer of slack: the kernel
# checks the limit before it queues), and the four together must have
# pinned at least a quarter of it each (so the bound was what held them).
# Then the apps go away, the connections close and the proxy serves a
# normal download. With kernel autotuning (the old behaviour, and
# --host-rcvbuf auto) the same app pinned several MiB per socket
# (docs/robustness.md has the figures).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tp_require nginx ss curl
tp_setup

BOUND=$((1024 * 1024))
NCONN=4
www="$TP_TMP/www"
mkdir -p "$www"
truncate -s 1G "$www/big.bin" || fail "cannot make the test file"
echo hello >"$www/small.txt"
tp_start_http "$www"
tp_start_proxy --host-rcvbuf 1M

# The app: NCONN connections, a request on each, 64 MiB read from each in
# turn, then nothing more.
cat >"$TP_TMP/stall.py" <<EOF
import socket, sys, time
socks = []
for i in range($NCONN):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect(("$HOST_V4", $HTTP_PORT))
    s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    socks.append(s)
for s in socks:
    left = 64 << 20
    while left > 0:
        n = len(s.recv(min(left, 1 << 20)))
        if n == 0:
            sys.exit("connection closed early")
        left -= n
print("stalled", flush=True)
time.sleep(120)
EOF
tp_spawn "$NS_APP" "$TP_TMP/stall.log" "$TP_PY" -u "$TP_TMP/stall.py"
stall=$TP_SPAWNED
TP_PIDS+=("$stall")
tp_wait_for 60 grep -q stalled "$TP_TMP/stall.log" ||
	fail "the app did not read its 4 x 64 MiB: $(cat "$TP_TMP/stall.log")"

# "r rb" of each host socket to nginx, from ss -m in "proxy".
queues() {
	in_proxy ss -Htmn state established "dport = :$HTTP_PORT" |
		sed -n 's/.*skmem:(r\([0-9]*\),rb\([0-9]*\),.*/\1 \2/p'
}
total() { queues | awk '{ s += $1 } END { print s + 0 }'; }

# Wait until the queues stop growing (the same total twice, 0.5 s apart).
prev=-1
for ((i = 0; i < 40; i++)); do
	cur=$(total)
	[ "$cur" -gt 0 ] && [ "$cur" = "$prev" ] && break
	prev=$cur
	sleep 0.5
done
mapfile -t rows < <(queues)
[ "${#rows[@]}" = "$NCONN" ] || fail "want $NCONN host sockets to nginx, ss shows ${#rows[@]}: ${rows[*]}"
sum=0
for row in "${rows[@]}"; do
	read -r r rb <<<"$row"
	tp_log "host socket: queued $r B, receive buffer $rb B"
	[ "$rb" = "$BOUND" ] || fail "host socket receive buffer is $rb B, want $BOUND (--host-rcvbuf 1M)"
	[ "$r" -le $((BOUND + 65536)) ] || fail "host socket holds $r B, past the $BOUND B bound"
	[ "$r" -ge $((BOUND / 4)) ] || fail "host socket holds only $r B: the app did not pin anything, the test proves nothing"
	sum=$((sum + r))
done
tp_log "$NCONN stalled connections pin $sum B in host sockets (bound: $NCONN x $BOUND B)"
grep -q "host TCP receive buffers are" "$TP_LOG" && fail "the proxy says its buffers were capped: $(grep 'receive buffers' "$TP_LOG")"

# The app goes away: its connections end, the proxy keeps serving.
tp_stop_pid "$stall"
tp_wait_counter tcp_conns_open -eq 0 20 || fail "tcp_conns_open is $(tp_counter tcp_conns_open) after the app went away"
out=$(in_app curl -sS --max-time 10 "http://$HOST_V4:$HTTP_PORT/small.txt" 2>&1) || fail "curl after the stall: $out"
[ "$out" = hello ] || fail "curl after the stall got '$out'"
tp_proxy_alive || fail "the proxy died"
tp_pass
