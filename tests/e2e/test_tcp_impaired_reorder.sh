#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bulk TCP through tunproxy over a bad link with loss, reordering and
# delay ("netem loss 2% reorder 10% delay 5ms" of issue 3), still
# byte-exact. This kernel has no netem, so the impairment is the userspace
# stage of the device simulator (issue 4): `tunproxy device --impair
# loss=2%,reorder=10%,delay=5ms` holds the TUN and carries its packets over
# the UDP dev transport to `tunproxy --listen udp:...`, impairing both
# directions (seeded: TP_IMPAIR_SEED replays a failure).
#
#   ns app: tp0 (the simulator's TUN, moved here), curl, nc
#   ns proxy: tunproxy device --impair ... <-udp 127.0.0.1:PORT-> tunproxy --listen
#   ns net: nginx, SHA-256 sink
#
# A 20 MiB file is downloaded by curl from nginx over IPv4 and uploaded by
# nc to a SHA-256 sink over IPv6; SHA-256 compared at both ends. The
# simulator's counters must show loss and reordering each way, the proxy's
# that it retransmitted (download) and held out-of-order segments (upload);
# afterwards no connection or flow is left. Skipped while `tunproxy device`
# does not exist. (The nftables-loss variant is test_tcp_impaired.sh.)
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tp_require curl nginx nc sha256sum
"$TUNPROXY" device --help 2>&1 | grep -q -- '--impair' ||
	skip "this tunproxy has no 'device --impair' (the device simulator of issue 4)"
tp_setup

SIZE_MIB=${TP_IMPAIRED_MIB:-20}
SIZE=$((SIZE_MIB * 1024 * 1024))
SEED=${TP_IMPAIR_SEED:-$((RANDOM + 1))}
SPEC="loss=2%,reorder=10%,delay=5ms,seed=$SEED"
DEV_PORT=8081
SINK_PORT=9000
www="$TP_TMP/www"
mkdir -p "$www"
head -c "$SIZE" /dev/urandom >"$www/big.bin" || fail "cannot make the test file"
sum=$(sha256sum "$www/big.bin" | cut -d' ' -f1)

tp_start_http "$www"
tp_start_sink "$SINK_PORT"

# The proxy on the UDP dev transport (it is TP_PID: lib.sh's counters and
# teardown work as usual).
: >>"$TP_LOG"
# shellcheck disable=SC2086 # TP_WRAPPER is a command line
setsid ip netns exec "$NS_PROXY" $TP_WRAPPER "$TUNPROXY" --listen "udp:127.0.0.1:$DEV_PORT" \
	$TP_VERBOSE ${TP_TCP_RX:+--tcp-rx "$TP_TCP_RX"} >>"$TP_LOG" 2>&1 </dev/null &
TP_PID=$!
tp_wait_for 10 sh -c "ip netns exec $NS_PROXY ss -Hlun 'sport = :$DEV_PORT' | grep -q ." ||
	fail "tunproxy --listen did not bind udp :$DEV_PORT"

# The device simulator: its TUN is made in "proxy" (next to its UDP
# socket) and moved to "app", where the fd keeps working.
DEV_LOG="$TP_TMP/device.log"
# shellcheck disable=SC2086
tp_spawn "$NS_PROXY" "$DEV_LOG" $TP_WRAPPER "$TUNPROXY" device -v \
	--server "127.0.0.1:$DEV_PORT" --tun "$TP_TUN" --no-tun-config --impair "$SPEC"
DEV_PID=$TP_SPAWNED
TP_PIDS+=("$DEV_PID")
tp_wait_for 10 ip -n "$NS_PROXY" link show "$TP_TUN" ||
	fail "the device simulator did not create $TP_TUN: $(tail -n 5 "$DEV_LOG")"
ip -n "$NS_PROXY" link set "$TP_TUN" netns "$NS_APP" || fail "move $TP_TUN to app"
ip -n "$NS_APP" addr add "$APP_V4/24" dev "$TP_TUN" || fail "app addr"
ip -n "$NS_APP" addr add "$APP_V6/64" dev "$TP_TUN" nodad || fail "app addr6"
ip -n "$NS_APP" link set "$TP_TUN" mtu 1500 up || fail "app link up"
ip -n "$NS_APP" route add default dev "$TP_TUN" || fail "app route"
ip -n "$NS_APP" -6 route add default dev "$TP_TUN" || fail "app route6"
tp_running "$DEV_PID" || fail "the device simulator died: $(tail -n 5 "$DEV_LOG")"
tp_log "device --impair $SPEC <-> tunproxy --listen udp:127.0.0.1:$DEV_PORT"

# dev_counter NAME: the simulator's counter NAME (SIGUSR1, then its dump).
dev_counter() {
	local before i
	tp_running "$DEV_PID" || fail "the device simulator is not running"
	before=$(grep -c '^counters end' "$DEV_LOG")
	kill -USR1 "$DEV_PID"
	for ((i = 0; i < 100 * TP_SLOW; i++)); do
		[ "$(grep -c '^counters end' "$DEV_LOG")" -gt "$before" ] && break
		sleep 0.05
	done
	awk -v n="$1" '$1 == "counter" && $2 == n { v = $3 } END { if (v == "") exit 1; print v }' \
		"$DEV_LOG" || fail "no counter '$1' in the device simulator's dump"
}
now() { date +%s.%N; }
rate() { awk -v b="$1" -v t0="$2" -v t1="$3" \
	'BEGIN { d = t1 - t0; printf "%.2f s, %.1f MiB/s", d, b / d / 1048576 }'; }

rtx0=$(tp_counter tcp_retransmits) || exit 1
ooo0=$(tp_counter tcp_ooo_queued) || exit 1

t0=$(now)
out=$(in_app curl -sS --max-time 100 -o "$TP_TMP/dl.bin" -w '%{http_code} %{size_download}' \
	"http://$HOST_V4/big.bin" 2>&1) || fail "impaired download: curl: $out"
t1=$(now)
[ "$out" = "200 $SIZE" ] || fail "impaired download: status/size '$out', want '200 $SIZE'"
got=$(sha256sum "$TP_TMP/dl.bin" | cut -d' ' -f1)
[ "$got" = "$sum" ] || fail "impaired download: SHA-256 $got, want $sum"
rm -f "$TP_TMP/dl.bin"
rtx1=$(tp_counter tcp_retransmits) || exit 1
tp_log "download $SIZE_MIB MiB over IPv4: SHA-256 ok, $(rate "$SIZE" "$t0" "$t1"); tcp_retransmits +$((rtx1 - rtx0))"

t0=$(now)
out=$(in_app timeout 100 nc -N "$HOST_V6" "$SINK_PORT" <"$www/big.bin" 2>&1) ||
	fail "impaired upload: nc failed (status $?): $out"
t1=$(now)
[ "$out" = "$SIZE $sum" ] || fail "impaired upload: the sink answered '$out', want '$SIZE $sum'"
cut -d' ' -f1-4 "$TP_TMP/sink.log" | grep -qxF "sink $HOST_V6 $SIZE $sum" ||
	fail "impaired upload: no matching line in the sink's log: $(cat "$TP_TMP/sink.log")"
ooo1=$(tp_counter tcp_ooo_queued) || exit 1
tp_log "upload $SIZE_MIB MiB over IPv6: SHA-256 ok at the sink, $(rate "$SIZE" "$t0" "$t1"); tcp_ooo_queued +$((ooo1 - ooo0))"

# The impairment happened, both ways, and the proxy had to deal with it.
lost_dn=$(dev_counter impair_down_lost)
lost_up=$(dev_counter impair_up_lost)
ro_dn=$(dev_counter impair_down_reordered)
ro_up=$(dev_counter impair_up_reordered)
full=$(($(dev_counter impair_down_queue_full) + $(dev_counter impair_up_queue_full)))
tp_log "simulator: lost $lost_up up / $lost_dn down, reordered $ro_up up / $ro_dn down, queue full $full"
[ "$lost_dn" -gt 50 ] && [ "$lost_up" -gt 50 ] || fail "too few packets lost: up $lost_up, down $lost_dn"
[ "$ro_dn" -gt 500 ] && [ "$ro_up" -gt 500 ] || fail "too few packets reordered: up $ro_up, down $ro_dn"
[ $((rtx1 - rtx0)) -ge $((lost_dn / 4)) ] ||
	fail "tcp_retransmits moved by $((rtx1 - rtx0)) only, with $lost_dn packets to the app lost"
[ $((ooo1 - ooo0)) -gt 0 ] || fail "tcp_ooo_queued did not move although the app's packets were reordered"

tp_wait_counter tcp_conns_open -eq 0 15 ||
	fail "tcp_conns_open is $(tp_counter tcp_conns_open) after the transfers, want 0"
tp_wait_counter flows_open -eq 0 15 ||
	fail "flows_open is $(tp_counter flows_open) after the transfers, want 0"
tp_print_counters

# The simulator must stop cleanly too (sanitizer builds: no report).
kill -TERM "$DEV_PID"
tp_wait_for 10 sh -c "! kill -0 $DEV_PID 2>/dev/null || grep -q '^Z' /proc/$DEV_PID/status 2>/dev/null" ||
	fail "the device simulator did not exit on SIGTERM"
wait "$DEV_PID"
rc=$?
[ "$rc" = 0 ] || fail "the device simulator exited with status $rc: $(tail -n 5 "$DEV_LOG")"
grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$DEV_LOG" &&
	fail "sanitizer report in the device simulator's log: $(grep -m1 -A5 -E 'Sanitizer|runtime error' "$DEV_LOG")"
tp_proxy_alive || fail "the proxy died"
tp_pass
