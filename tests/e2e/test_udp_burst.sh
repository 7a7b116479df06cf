#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bursts of thousands of datagrams of one UDP flow, each way, over IPv4 and
# IPv6: every datagram must arrive, in order and byte for byte (sequence
# numbers, payload and SHA-256 checked by tests/e2e/udp_burst.py). App ->
# host, a TUN batch's datagrams of one flow leave as UDP GSO sends
# (sendmmsg + UDP_SEGMENT), and so do the app's own UDP_SEGMENT sends
# (up-gso), which the TUN hands over whole (USO, Linux 6.2); host -> app,
# recvmmsg fills several transmit slots per call and runs of one flow are
# written to the TUN as USO super-packets. The counters must show that path was taken, or, with
# TP_EXPECT_UDP=fallback (tests/CMakeLists.txt: the .nobatch variant runs
# the proxy under tests/e2e/shim_udp_nobatch.c, which refuses UDP_SEGMENT,
# sendmmsg, recvmmsg and the TUN's USO offload), that the fallback was,
# with the same result.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tp_setup
BURST_PORT=7790
kernel_at_least() {
	local v major minor
	v=$(uname -r)
	major=${v%%.*}
	v=${v#*.}
	minor=${v%%[!0-9]*}
	((major > $1 || (major == $1 && minor >= $2)))
}
for h in "$HOST_V4" "$HOST_V6"; do
	tp_spawn "$NS_NET" "$TP_TMP/burst-$h.log" "$TP_PY" -u "$TP_E2E_DIR/udp_burst.py" server "$h" "$BURST_PORT"
	TP_PIDS+=("$TP_SPAWNED")
	tp_wait_for 10 tp_udp_listening "$BURST_PORT" "$h" || fail "burst server ($h) not listening"
done
tp_start_proxy

expect=${TP_EXPECT_UDP:-batched}
for h in "$HOST_V4" "$HOST_V6"; do
	for dir in up down up-gso; do
		gso=()
		[ "$dir" = up-gso ] && gso=(--gso)
		out=$(in_app "$TP_PY" "$TP_E2E_DIR/udp_burst.py" client "$h" "$BURST_PORT" "${dir%-gso}" \
			"${gso[@]}" --count 5000 --size 1200 --burst 32 --gap 2 2>&1) ||
			fail "$dir to $h: $out"
		tp_log "$dir $h: $out"
	done
done

gso=$(tp_counter udp_gso_sends) || exit 1
segs=$(tp_counter udp_gso_segments) || exit 1
batched=$(tp_counter udp_tx_batched) || exit 1
rxb=$(tp_counter udp_rx_batched) || exit 1
calls=$(tp_counter udp_rx_mmsg_calls) || exit 1
errs=$(tp_counter udp_batch_send_errors) || exit 1
trunc=$(tp_counter udp_rx_truncated) || exit 1
trains=$(tp_counter udp_gso_trains) || exit 1
usow=$(tp_counter tun_uso_written) || exit 1
usod=$(tp_counter tun_uso_datagrams) || exit 1
tp_log "udp_gso_trains $trains (USO from the app), tun_uso_written $usow ($usod datagrams)"
tp_log "udp_tx_batched $batched, udp_gso_sends $gso ($segs datagrams), udp_rx_batched $rxb in $calls recvmmsg calls"
[ "$errs" = 0 ] || fail "udp_batch_send_errors = $errs"
[ "$trunc" = 0 ] || fail "udp_rx_truncated = $trunc"
[ "$batched" -gt 0 ] || fail "no datagram was sent in a batch (udp_tx_batched = 0)"
if [ "$expect" = fallback ]; then
	[ "$gso" = 0 ] || fail "UDP GSO was refused by the shim, yet udp_gso_sends = $gso"
	[ "$rxb" = 0 ] || fail "recvmmsg was refused by the shim, yet udp_rx_batched = $rxb"
	[ "$trains" = 0 ] || fail "TUN USO was refused by the shim, yet udp_gso_trains = $trains"
	[ "$usow" = 0 ] || fail "TUN USO was refused by the shim, yet tun_uso_written = $usow"
	grep -q "UDP GSO (UDP_SEGMENT): no" "$TP_LOG" || [ -z "$TP_VERBOSE" ] ||
		fail "the proxy did not log the missing UDP GSO"
else
	[ "$gso" -gt 0 ] || fail "no UDP GSO send (udp_gso_sends = 0)"
	[ "$segs" -gt "$gso" ] || fail "GSO sends carried $segs datagrams in $gso sends"
	[ "$calls" -gt 0 ] || fail "no recvmmsg call read two or more datagrams"
	# TUN USO needs Linux 6.2.
	if kernel_at_least 6 2; then
		[ "$trains" -gt 0 ] || fail "no UDP super-packet from the app (udp_gso_trains = 0)"
		[ "$usow" -gt 0 ] && [ "$usod" -gt "$usow" ] ||
			fail "no UDP super-packet to the app (tun_uso_written $usow, $usod datagrams)"
	fi
fi
tp_pass
