#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The development loop of docs/devloop.md, end to end: the device simulator
# holds the app's TUN and sends its packets over UDP to the tee, which
# relays them to tunproxy --listen udp and mirrors them to a capture client.
#   - dig (A over IPv4, AAAA over IPv6), ping, ping -6 and a curl download
#     (sha256-checked) work through the chain;
#   - tshark -r on the pcapng file shows those packets in both directions
#     with the right direction flags (outbound: from the app), and as many
#     packets as the tee relayed;
#   - killing (SIGKILL) and restarting the capture client while a ping runs
#     leaves the relay unharmed (no ping lost), the killed capture's file is
#     still readable and the new one sees the later packets;
#   - an idle device keeps its session past --client-idle: it sends
#     keepalives (its keepalives counter), and another sender is refused;
#   - a second client sending packets straight to the proxy gets nothing
#     back and is counted (dev_foreign_dropped) while the first keeps
#     working; once the first has been silent for --client-idle, the second
#     takes the session and gets its answers (dev_client_changes), and
#     nothing of the first's flows: a TCP connection whose server keeps
#     sending is reset at the server (dev_session_flows_closed) instead of
#     having its segments relayed to the newcomer (issue 11, item 8).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=devloop_lib.sh
. "$(dirname "$0")/devloop_lib.sh"
tp_require tshark curl ping sha256sum
tp_setup
tp_start_dns
mkdir -p "$TP_TMP/www"
head -c 1048576 /dev/urandom >"$TP_TMP/www/file"
tp_start_http "$TP_TMP/www"

dl_start_proxy --client-idle 2s
dl_start_tee
CAP1="$TP_TMP/cap1.pcapng"
dl_start_capture "$CAP1"
dl_start_device

# --- the app's traffic through the chain --------------------------------------
out=$(in_app dig +time=3 +tries=2 +short @"$HOST_V4" "$DNS_NAME" A 2>&1) ||
	fail "dig A through the chain failed: $out"
[ "$out" = "$HOST_V4" ] || fail "dig A: got '$out', want $HOST_V4"
out=$(in_app dig +time=3 +tries=2 +short @"$HOST_V6" "$DNS_NAME" AAAA 2>&1) ||
	fail "dig AAAA over IPv6 through the chain failed: $out"
[ "$out" = "$HOST_V6" ] || fail "dig AAAA: got '$out', want $HOST_V6"
tp_log "dig A and AAAA (IPv4 and IPv6 transport): ok"

out=$(in_app ping -c 3 -i 0.2 -W 3 "$HOST_V4" 2>&1) || fail "ping failed: $out"
grep -q '3 packets transmitted, 3 received' <<<"$out" || fail "ping: $out"
out=$(in_app ping -6 -c 3 -i 0.2 -W 3 "$HOST_V6" 2>&1) || fail "ping -6 failed: $out"
grep -q '3 packets transmitted, 3 received' <<<"$out" || fail "ping -6: $out"
tp_log "ping and ping -6: 3/3 each"

in_app curl -sS -m 30 -o "$TP_TMP/got" "http://$HOST_V4/file" || fail "curl through the chain failed"
want=$(sha256sum <"$TP_TMP/www/file")
got=$(sha256sum <"$TP_TMP/got")
[ "$want" = "$got" ] || fail "curl: the downloaded file differs"
tp_log "curl 1 MiB through the chain: sha256 matches"

# --- the capture --------------------------------------------------------------
dl_stop "$DL_CAP_PID" "$DL_CAP_LOG" INT || fail "capture did not stop cleanly on SIGINT"
copies=$(dl_tee_counter mirror_copies)
tdropped=$(dl_tee_counter mirror_dropped)
captured=$(tshark -r "$CAP1" 2>/dev/null | wc -l)
tshark -r "$CAP1" >/dev/null 2>&1 || fail "tshark cannot read $CAP1"
[ "$tdropped" = 0 ] || fail "the tee dropped $tdropped copies for the capture"
[ "$captured" -gt 0 ] && [ "$captured" -le "$copies" ] && [ $((copies - captured)) -le 5 ] ||
	fail "capture has $captured packets, the tee queued $copies copies"
tp_log "capture: $captured packets, tee copies $copies"

# expect_dir FILTER DIR MIN WHAT: at least MIN packets match FILTER, all
# with direction DIR (1 inbound, 2 outbound).
expect_dir() {
	local filter=$1 dir=$2 min=$3 what=$4 dirs n bad
	dirs=$(dl_tshark "$CAP1" "$filter" frame.packet_flags_direction)
	n=$(grep -c . <<<"$dirs")
	[ "$n" -ge "$min" ] || fail "capture: $what: $n packets, want at least $min"
	bad=$(grep -vcE "^0x0*$dir$" <<<"$dirs")
	[ "$bad" = 0 ] || fail "capture: $what: $bad of $n packets not in direction $dir: $dirs"
}
q="dns.qry.name == \"$DNS_NAME\""
expect_dir "$q && dns.flags.response == 0 && ip.dst == $HOST_V4" 2 1 "DNS A query (outbound)"
expect_dir "$q && dns.flags.response == 1 && ip.src == $HOST_V4 && dns.a == $HOST_V4" 1 1 "DNS A answer (inbound)"
expect_dir "$q && dns.flags.response == 0 && ipv6.dst == $HOST_V6" 2 1 "DNS AAAA query (outbound)"
expect_dir "$q && dns.flags.response == 1 && dns.aaaa == $HOST_V6" 1 1 "DNS AAAA answer (inbound)"
expect_dir "icmp.type == 8 && ip.dst == $HOST_V4" 2 3 "echo requests (outbound)"
expect_dir "icmp.type == 0 && ip.src == $HOST_V4" 1 3 "echo replies (inbound)"
expect_dir "icmpv6.type == 128 && ipv6.dst == $HOST_V6" 2 3 "ICMPv6 echo requests (outbound)"
expect_dir "icmpv6.type == 129 && ipv6.src == $HOST_V6" 1 3 "ICMPv6 echo replies (inbound)"
expect_dir "tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport == 80" 2 1 "TCP SYN (outbound)"
expect_dir "tcp.flags.syn == 1 && tcp.flags.ack == 1 && tcp.srcport == 80" 1 1 "TCP SYN-ACK (inbound)"
expect_dir "http.request.method == \"GET\"" 2 1 "HTTP request (outbound)"
expect_dir "http.response.code == 200" 1 1 "HTTP response (inbound)"
# The same echo sequence numbers went out and came back.
seq_out=$(dl_tshark "$CAP1" "icmp.type == 8" icmp.seq | sort -n | tr '\n' ' ')
seq_in=$(dl_tshark "$CAP1" "icmp.type == 0" icmp.seq | sort -n | tr '\n' ' ')
[ "$seq_out" = "1 2 3 " ] && [ "$seq_in" = "1 2 3 " ] ||
	fail "capture: echo sequences out [$seq_out] in [$seq_in], want 1 2 3 each"
# Every byte of the download is in the capture (inbound TCP payload).
payload=$(dl_tshark "$CAP1" "tcp.srcport == 80 && tcp.len > 0" tcp.len | awk '{ s += $1 } END { print s + 0 }')
[ "$payload" -ge 1048576 ] || fail "capture: $payload bytes of inbound HTTP payload, want >= 1 MiB"
tp_log "tshark: DNS, echo, TCP and HTTP packets present, directions right"

# --- capture killed and restarted mid-run -------------------------------------
CAP2="$TP_TMP/cap2.pcapng"
CAP3="$TP_TMP/cap3.pcapng"
dl_start_capture "$CAP2"
in_app ping -c 30 -i 0.1 -W 3 "$HOST_V4" >"$TP_TMP/ping30" 2>&1 &
ping_pid=$!
sleep 1
kill -KILL "$DL_CAP_PID"
wait "$DL_CAP_PID" 2>/dev/null
sleep 0.3
dl_start_capture "$CAP3"
wait "$ping_pid" || fail "ping during the capture restart failed: $(cat "$TP_TMP/ping30")"
grep -q '30 packets transmitted, 30 received' "$TP_TMP/ping30" ||
	fail "ping during the capture restart lost packets: $(cat "$TP_TMP/ping30")"
tshark -r "$CAP2" >/dev/null 2>&1 || fail "the killed capture's file is not readable"
n2=$(dl_tshark "$CAP2" "icmp.type == 8" icmp.seq | wc -l)
last3=$(dl_tshark "$CAP3" "icmp.type == 0" icmp.seq | sort -n | tail -n 1)
[ "$n2" -ge 1 ] || fail "the killed capture recorded no echo request"
[ "${last3:-0}" = 30 ] || fail "the restarted capture did not see the last echo reply (got '${last3}')"
disc=$(dl_tee_counter mirror_disconnects)
[ "$disc" -ge 2 ] || fail "tee mirror_disconnects is $disc, want >= 2"
dl_stop "$DL_CAP_PID" "$DL_CAP_LOG" INT || fail "restarted capture did not stop cleanly"
tp_log "capture killed and restarted during ping: 30/30 replies, both files readable"

# --- an idle device keeps its session ---------------------------------------
# No app traffic for longer than --client-idle 2s: the device's keepalives
# (every 1 s by default) hold the session, so another sender is refused.
ka0=$(dl_dev_counter keepalives)
sleep 3
ka1=$(dl_dev_counter keepalives)
[ $((ka1 - ka0)) -ge 2 ] || fail "the idle device sent $((ka1 - ka0)) keepalives in 3 s, want >= 2"
out=$(in_proxy "$TP_PY" "$TP_E2E_DIR/dev_client.py" 127.0.0.1 "$DL_PROXY_PORT" \
	"$APP_V4" "$HOST_V4" "$DNS_NAME" 2 1) || fail "dev_client.py failed: $out"
[ "$out" = "replies 0 answers 0" ] || fail "another sender took an idle device's session: $out"
[ "$(tp_counter dev_client_changes)" = 1 ] || fail "the idle device lost its session"
tp_log "idle device: $((ka1 - ka0)) keepalives in 3 s kept the session; another sender refused"

# A TCP connection of the device whose server sends every 0.1 s: it must
# end (reset at the server) when another client takes the session.
tp_spawn "$NS_NET" "$TP_TMP/trickle.log" "$TP_PY" "$TP_E2E_DIR/tcp_trickle.py" serve "$HOST_V4" 9000
TP_PIDS+=("$TP_SPAWNED")
trickle_listening() { in_net ss -Hltn "sport = :9000" | grep -q .; }
tp_wait_for 5 trickle_listening || fail "trickle server not listening"
in_app "$TP_PY" "$TP_E2E_DIR/tcp_trickle.py" read "$HOST_V4" 9000 >"$TP_TMP/trickle_read.log" 2>&1 &
tp_wait_for 10 grep -q connected "$TP_TMP/trickle.log" || fail "the trickle connection did not open"

# --- a second client ----------------------------------------------------------
fd0=$(tp_counter dev_foreign_dropped)
ch0=$(tp_counter dev_client_changes)
[ "$ch0" = 1 ] || fail "dev_client_changes is $ch0 before the second client, want 1"
# Keep the first client busy while the second one tries.
in_app ping -c 30 -i 0.1 -W 3 "$HOST_V4" >"$TP_TMP/ping_busy" 2>&1 &
ping_pid=$!
out=$(in_proxy "$TP_PY" "$TP_E2E_DIR/dev_client.py" 127.0.0.1 "$DL_PROXY_PORT" \
	"$APP_V4" "$HOST_V4" "$DNS_NAME" 5 1.5) || fail "dev_client.py failed: $out"
[ "$out" = "replies 0 answers 0" ] || fail "the second client got packets back: $out"
wait "$ping_pid" || fail "ping of the first client failed meanwhile: $(cat "$TP_TMP/ping_busy")"
grep -q '30 packets transmitted, 30 received' "$TP_TMP/ping_busy" ||
	fail "the first client lost pings while the second tried: $(cat "$TP_TMP/ping_busy")"
fd1=$(tp_counter dev_foreign_dropped)
ch1=$(tp_counter dev_client_changes)
[ $((fd1 - fd0)) -ge 5 ] || fail "dev_foreign_dropped went from $fd0 to $fd1, want +5"
[ "$ch1" = 1 ] || fail "dev_client_changes is $ch1 after the refused client, want 1"
out=$(in_app dig +time=3 +tries=2 +short @"$HOST_V4" "$DNS_NAME" A 2>&1) ||
	fail "dig after the second client failed: $out"
tp_log "second client refused and counted ($((fd1 - fd0)) datagrams); first unharmed"

# Silence the first client (stop the device): after --client-idle 2s the
# session is free and the second client's queries are answered.
dl_stop "$DL_DEV_PID" "$TP_TMP/device.log" || fail "device simulator did not stop cleanly"
sleep 2.5
out=$(in_proxy "$TP_PY" "$TP_E2E_DIR/dev_client.py" 127.0.0.1 "$DL_PROXY_PORT" \
	"$APP_V4" "$HOST_V4" "$DNS_NAME" 3 2) || fail "dev_client.py failed: $out"
[ "$out" = "replies 3 answers 3" ] || fail "the second client, now alone, got: $out (segments of the first's flows?)"
ch2=$(tp_counter dev_client_changes)
[ "$ch2" = 2 ] || fail "dev_client_changes is $ch2 after the takeover, want 2"
closed=$(tp_counter dev_session_flows_closed)
[ "$closed" -ge 1 ] || fail "dev_session_flows_closed is $closed after the takeover"
tp_wait_for 5 grep -q "ended" "$TP_TMP/trickle.log" ||
	fail "the first client's TCP connection was not ended: $(cat "$TP_TMP/trickle.log")"
grep -q "ended reset" "$TP_TMP/trickle.log" ||
	fail "the first client's TCP connection ended without a reset: $(cat "$TP_TMP/trickle.log")"
tp_log "after the first client's silence the second took over and got 3/3 answers and nothing else; $closed flows of the first closed, its TCP server saw a reset"

tp_print_counters counter
dl_stop "$DL_TEE_PID" "$TP_TMP/tee.log" || fail "tee did not stop cleanly"
tp_proxy_alive || fail "the proxy died"
tp_pass
