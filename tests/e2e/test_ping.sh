#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ICMP echo through tunproxy: ping and ping -6 from "app" to the host in
# "net" get their replies (right source, sequence and payload; iputils ping
# reports corrupted payloads and duplicates), two pings at once keep their
# own identifiers apart, a ping to an address nobody answers gets no reply,
# and the proxy counts the echoes. With TP_PING_RAW=1 (test_ping_raw.sh)
# ping sockets are not allowed in "proxy" (ping_group_range "1 0"), so the
# proxy must fall back to a raw ICMP socket, whose per-flow reply stash is
# charged to max_memory.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tp_require ping
if [ "${TP_PING_RAW:-0}" = 1 ]; then
	tp_setup --raw-ping
	[ "$(in_proxy sysctl -n net.ipv4.ping_group_range | tr -s '\t ' ' ')" = "1 0" ] ||
		fail "ping_group_range in proxy is not the default '1 0'"
else
	tp_setup
fi
tp_start_proxy

# check_ping OUTPUT DEST COUNT: COUNT replies from DEST, in order, intact.
check_ping() {
	local out=$1 dest=$2 count=$3 seq
	grep -q "$count packets transmitted, $count received" <<<"$out" ||
		fail "ping $dest: want $count of $count replies: $out"
	for ((seq = 1; seq <= count; seq++)); do
		grep -qE "from $dest: icmp_seq=$seq " <<<"$out" ||
			fail "ping $dest: no reply with icmp_seq=$seq from $dest: $out"
	done
	if grep -qiE 'wrong data|DUP!|truncated' <<<"$out"; then
		fail "ping $dest: corrupted or duplicated replies: $out"
	fi
}

req0=$(tp_counter icmp_echo_requests) || exit 1
rep0=$(tp_counter icmp_echo_replies) || exit 1

out=$(in_app ping -c 3 -i 0.2 -W 3 "$HOST_V4" 2>&1) || fail "ping $HOST_V4 failed: $out"
check_ping "$out" "$HOST_V4" 3
tp_log "ping $HOST_V4: 3/3 replies"
out=$(in_app ping -6 -c 3 -i 0.2 -W 3 "$HOST_V6" 2>&1) || fail "ping -6 $HOST_V6 failed: $out"
check_ping "$out" "$HOST_V6" 3
tp_log "ping -6 $HOST_V6: 3/3 replies"

# The other address of "net" too, and full-size payloads with a pattern.
out=$(in_app ping -c 2 -i 0.2 -W 3 -s 1472 -p a55a0ff0 "$NET_V4" 2>&1) ||
	fail "ping -s 1472 $NET_V4 failed: $out"
check_ping "$out" "$NET_V4" 2
out=$(in_app ping -6 -c 2 -i 0.2 -W 3 -s 1452 -p 5aa5f00f "$NET_V6" 2>&1) ||
	fail "ping -6 -s 1452 $NET_V6 failed: $out"
check_ping "$out" "$NET_V6" 2
tp_log "full-size pings with patterns: ok"

# Two pings at once per family: each must get exactly its own replies.
in_app ping -c 5 -i 0.2 -W 3 "$HOST_V4" >"$TP_TMP/p1" 2>&1 &
p1=$!
in_app ping -c 5 -i 0.2 -W 3 "$HOST_V4" >"$TP_TMP/p2" 2>&1 &
p2=$!
in_app ping -6 -c 5 -i 0.2 -W 3 "$HOST_V6" >"$TP_TMP/p3" 2>&1 &
p3=$!
in_app ping -6 -c 5 -i 0.2 -W 3 "$HOST_V6" >"$TP_TMP/p4" 2>&1 &
p4=$!
wait $p1 || fail "concurrent ping 1: $(cat "$TP_TMP/p1")"
wait $p2 || fail "concurrent ping 2: $(cat "$TP_TMP/p2")"
wait $p3 || fail "concurrent ping -6 3: $(cat "$TP_TMP/p3")"
wait $p4 || fail "concurrent ping -6 4: $(cat "$TP_TMP/p4")"
check_ping "$(cat "$TP_TMP/p1")" "$HOST_V4" 5
check_ping "$(cat "$TP_TMP/p2")" "$HOST_V4" 5
check_ping "$(cat "$TP_TMP/p3")" "$HOST_V6" 5
check_ping "$(cat "$TP_TMP/p4")" "$HOST_V6" 5
tp_log "four concurrent pings: 5/5 replies each"

# Nobody has these addresses: the proxy must not invent replies.
out=$(in_app ping -c 2 -i 0.2 -W 1 203.0.113.99 2>&1)
grep -q ' 0 received' <<<"$out" || fail "ping 203.0.113.99 got replies: $out"
out=$(in_app ping -6 -c 2 -i 0.2 -W 1 2001:db8:1::99 2>&1)
grep -q ' 0 received' <<<"$out" || fail "ping -6 2001:db8:1::99 got replies: $out"
tp_log "unanswered pings: no replies, as it should be"

# The raw fallback keeps a 2 KiB reply stash per echo flow: it is charged
# to max_memory like the flow slot. From one dump to the next, every echo
# flow opened or expired moves mem_used by the same amount, a slot plus
# the stash (flows of the phases above may expire meanwhile).
if [ "${TP_PING_RAW:-0}" = 1 ]; then
	tp_dump
	m0=$(tp_last counter mem_used) || fail "no mem_used in the dump"
	f0=$(tp_last counter icmp_flows_open) || fail "no icmp_flows_open in the dump"
	for i in 1 2 3 4; do
		out=$(in_app ping -c 1 -W 3 "$HOST_V4" 2>&1) || fail "ping $i for the memory check: $out"
	done
	tp_dump
	m1=$(tp_last counter mem_used) || fail "no mem_used in the dump"
	f1=$(tp_last counter icmp_flows_open) || fail "no icmp_flows_open in the dump"
	nf=$((f1 - f0))
	[ "$nf" -gt 0 ] || fail "icmp_flows_open went from $f0 to $f1 over 4 new pings"
	per=$(((m1 - m0) / nf))
	{ [ "$per" -ge 2048 ] && [ $((m1 - m0)) = $((per * nf)) ]; } ||
		fail "mem_used went from $m0 to $m1 for $nf more echo flows: the raw reply stash (2048 B) is not charged"
	tp_log "raw fallback: $nf more echo flows, mem_used +$((m1 - m0)) B ($per B each: slot + 2 KiB stash)"
fi

req=$(tp_counter icmp_echo_requests) || exit 1
rep=$(tp_counter icmp_echo_replies) || exit 1
nosock=$(tp_counter icmp_no_socket) || exit 1
# 3+3+2+2+4x5 answered, 2+2 unanswered.
[ $((req - req0)) -ge 34 ] || fail "icmp_echo_requests went from $req0 to $req: want at least 34 more"
[ $((rep - rep0)) -ge 30 ] || fail "icmp_echo_replies went from $rep0 to $rep: want at least 30 more"
[ $((rep - rep0)) -le $((req - req0)) ] || fail "more replies ($((rep - rep0))) than requests ($((req - req0)))"
[ "$nosock" = 0 ] || fail "icmp_no_socket is $nosock"
tp_print_counters
tp_proxy_alive || fail "the proxy died"
tp_pass
