#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --host-rcvbuf without CAP_NET_ADMIN (src/host/hostsock_rcvbuf_linux.c):
# the kernel refuses SO_RCVBUFFORCE (tests/e2e/shim_no_rcvbufforce.c
# simulates it for a proxy run as root), so the proxy must fall back to
# plain SO_RCVBUF, which the kernel caps at net.core.rmem_max and doubles,
# and log once the size it got and the setting to raise. The test asks for
# four times net.core.rmem_max: a stalled download's host socket in
# "proxy" (ss -m) must then have a receive buffer (rb) of exactly
# 2 x net.core.rmem_max (without the fallback it would be the kernel's
# autotuned size; with FORCE it would be the size asked), the log must
# carry the warning with both numbers, and a download after it must
# arrive intact (SHA-256).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tp_require nginx ss curl sha256sum
[ -n "${TP_PROXY_PRELOAD:-}" ] || skip "needs TP_PROXY_PRELOAD=shim_no_rcvbufforce.so (tests/CMakeLists.txt sets it)"
tp_setup

rmem_max=$(in_proxy cat /proc/sys/net/core/rmem_max) || fail "cannot read net.core.rmem_max"
want=$((4 * rmem_max))
[ "$want" -lt $((1 << 31)) ] || skip "net.core.rmem_max ($rmem_max) is too large to ask for more"
export TP_SHIM_COUNT="$TP_TMP/shim.count"

www="$TP_TMP/www"
mkdir -p "$www"
head -c $((16 << 20)) /dev/urandom >"$www/data.bin" || fail "cannot make the test file"
sum=$(sha256sum "$www/data.bin" | cut -d' ' -f1)
truncate -s 1G "$www/big.bin" || fail "cannot make the large file"
tp_start_http "$www"
tp_start_proxy --host-rcvbuf "$want"

# One connection that reads 1 MiB of a 1 GiB file and then stops, so its
# host socket stays open for ss to look at.
cat >"$TP_TMP/stall.py" <<EOF2
import socket, sys, time
s = socket.create_connection(("$HOST_V4", $HTTP_PORT))
s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
left = 1 << 20
while left > 0:
    n = len(s.recv(min(left, 65536)))
    if n == 0:
        sys.exit("connection closed early")
    left -= n
print("stalled", flush=True)
time.sleep(120)
EOF2
tp_spawn "$NS_APP" "$TP_TMP/stall.log" "$TP_PY" -u "$TP_TMP/stall.py"
stall=$TP_SPAWNED
TP_PIDS+=("$stall")
tp_wait_for 30 grep -q stalled "$TP_TMP/stall.log" ||
	fail "the app did not read its 1 MiB: $(cat "$TP_TMP/stall.log")"

rb=$(in_proxy ss -Htmn state established "dport = :$HTTP_PORT" |
	sed -n 's/.*skmem:(r[0-9]*,rb\([0-9]*\),.*/\1/p')
tp_log "host socket receive buffer: $rb B (asked $want B, net.core.rmem_max $rmem_max B)"
[ "$rb" = $((2 * rmem_max)) ] || fail "host socket receive buffer is '$rb' B, want 2 x net.core.rmem_max = $((2 * rmem_max)) (the SO_RCVBUF fallback)"
[ -s "$TP_SHIM_COUNT" ] || fail "the shim refused no SO_RCVBUFFORCE: it was not in the path"
msg="host TCP receive buffers are $((2 * rmem_max)) bytes, not the $want asked"
grep -qF "$msg" "$TP_LOG" || fail "the proxy log lacks '$msg'"
[ "$(grep -cF 'host TCP receive buffers are' "$TP_LOG")" = 1 ] || fail "the warning is not logged exactly once"
tp_stop_pid "$stall"

out=$(in_app curl -sS --max-time 60 -o "$TP_TMP/dl.bin" -w '%{http_code}' \
	"http://$HOST_V4:$HTTP_PORT/data.bin" 2>&1) || fail "download: curl: $out"
[ "$out" = 200 ] || fail "download: status '$out'"
got=$(sha256sum "$TP_TMP/dl.bin" | cut -d' ' -f1)
[ "$got" = "$sum" ] || fail "download: SHA-256 $got, want $sum"
[ "$(grep -cF 'host TCP receive buffers are' "$TP_LOG")" = 1 ] || fail "the warning was logged again for the second socket"
tp_pass
