#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Full-cone UDP (--udp-nat full-cone, RFC 4787 endpoint-independent
# mapping and filtering). An app socket sends to server A; A answers, and
# server B (another address and port, which the app never wrote to) sends
# to the address A saw: the app receives B's datagram, from B's address
# and port. The app then writes to B itself, and B reports the same
# public address and port as A did (one mapping for all destinations).
# IPv4 and IPv6. With the default (symmetric) mapping, B's unsolicited
# datagram never reaches the app. The app's flows all close by their
# idle timeout, and then the mapping socket with them. A remote that a
# --route rule blocks cannot send into a mapping (udp_cone_dropped).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tp_setup

B_V4=203.0.113.20
B_V6=2001:db8:1::20
ip -n "$NS_NET" addr add "$B_V4/32" dev lo || fail "addr $B_V4"
ip -n "$NS_NET" addr add "$B_V6/128" dev lo nodad || fail "addr $B_V6"
PA=7101
PB=7102
for pair in "$HOST_V4 $B_V4" "$HOST_V6 $B_V6"; do
	read -r a b <<<"$pair"
	tp_spawn "$NS_NET" "$TP_TMP/cone.$a.log" "$TP_PY" -u "$TP_E2E_DIR/udp_cone_server.py" \
		"$a" "$PA" "$b" "$PB"
	TP_PIDS+=("$TP_SPAWNED")
	tp_wait_for 10 tp_udp_listening "$PB" "$b" || fail "cone server on $b not listening"
done

# run_client A B: the client's output.
run_client() {
	in_app timeout 10 "$TP_PY" -u "$TP_E2E_DIR/udp_cone_client.py" "$1" "$PA" "$2" "$PB" 1.5
}

# Symmetric (the default): only answers from destinations we wrote to.
tp_start_proxy --udp-timeout 2
for pair in "$HOST_V4 $B_V4" "$HOST_V6 $B_V6"; do
	read -r a b <<<"$pair"
	out=$(run_client "$a" "$b")
	echo "$out" | grep -q "^from $a $PA: A " || fail "symmetric: no answer from A ($a): $out"
	echo "$out" | grep -q "^from $b $PB: B " || fail "symmetric: no answer from B ($b) after writing to it: $out"
	if echo "$out" | grep -q "B-unsolicited"; then
		fail "symmetric: B's unsolicited datagram reached the app: $out"
	fi
done
tp_log "symmetric: B's unsolicited datagram filtered (v4, v6)"
tp_stop_proxy || fail "tunproxy did not stop cleanly"

tp_start_proxy --udp-nat full-cone --udp-timeout 2
for pair in "$HOST_V4 $B_V4" "$HOST_V6 $B_V6"; do
	read -r a b <<<"$pair"
	out=$(run_client "$a" "$b")
	echo "$out" | grep -q "^from $b $PB: B-unsolicited" ||
		fail "full cone: B's datagram to A's mapping did not reach the app from $b:$PB: $out"
	seen_a=$(echo "$out" | sed -n "s/^from $a $PA: A //p")
	seen_b=$(echo "$out" | sed -n "s/^from $b $PB: B //p")
	if [ -z "$seen_a" ] || [ "$seen_a" != "$seen_b" ]; then
		fail "full cone: A saw '$seen_a', B saw '$seen_b': want one mapping"
	fi
	tp_log "full cone ($a): B reached the app; A and B both saw $seen_a"
done
tp_wait_counter udp_flows_open -eq 0 15 || fail "UDP flows still open after their timeout"
# The mappings went with their flows: no UDP socket of ours is left.
n=$(in_proxy ss -Huan | grep -c .)
[ "$n" -eq 0 ] || fail "$n UDP sockets left in the proxy after every flow ended"
tp_print_counters
tp_stop_proxy || fail "tunproxy did not stop cleanly"

# A remote the routes block cannot send into a mapping either: dropped
# and counted.
tp_start_proxy --udp-nat full-cone --route "$B_V4/32:$PB=block"
out=$(run_client "$HOST_V4" "$B_V4")
echo "$out" | grep -q "^from $HOST_V4 $PA: A " || fail "full cone + block: no answer from A: $out"
if echo "$out" | grep -q "B-unsolicited"; then
	fail "full cone: a blocked remote's datagram reached the app: $out"
fi
d=$(tp_counter udp_cone_dropped)
[ "$d" -ge 1 ] || fail "udp_cone_dropped is $d after a blocked remote sent"
tp_log "full cone: a blocked remote is dropped (udp_cone_dropped $d)"
tp_pass
