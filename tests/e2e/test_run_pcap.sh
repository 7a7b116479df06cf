#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --pcap: every packet crossing the TUN, both ways, as pcapng with its
# direction, readable by tshark: with `run` (to a file and to stdout), cut
# by SIGINT and even by SIGKILL (the file ends on a block boundary after
# every engine batch), and with --tun.
# shellcheck source=run_lib.sh
. "$(dirname "$0")/run_lib.sh"
rl_setup
tp_require tshark
head -c 100000 /dev/urandom >"$TP_TMP/www/small"
URL="http://$HOST_V4/small"

# pk FILE FILTER FIELD...: one line per matching packet (fields by spaces).
pk() {
	local file=$1 filter=$2 args=() f
	shift 2
	for f in "$@"; do args+=(-e "$f"); done
	tshark -r "$file" -Y "$filter" -T fields -E separator=' ' "${args[@]}"
}

# handshake FILE WHAT: the file reads, and holds the curl's SYN (outbound:
# from the app, direction 2) and SYN-ACK (inbound, 1) with their addresses.
handshake() {
	local file=$1 what=$2 syn synack
	tshark -r "$file" >/dev/null 2>"$TP_TMP/tshark.err" ||
		fail "$what: tshark cannot read the file: $(head -n 3 "$TP_TMP/tshark.err")"
	syn=$(pk "$file" 'tcp.flags.syn == 1 && tcp.flags.ack == 0' \
		frame.packet_flags_direction ip.src ip.dst tcp.dstport | head -n 1)
	[ "$syn" = "0x00000002 $APP_V4 $HOST_V4 80" ] ||
		[ "$syn" = "2 $APP_V4 $HOST_V4 80" ] ||
		fail "$what: SYN is '$syn', want direction outbound, $APP_V4 -> $HOST_V4:80"
	synack=$(pk "$file" 'tcp.flags.syn == 1 && tcp.flags.ack == 1' \
		frame.packet_flags_direction ip.src ip.dst tcp.srcport | head -n 1)
	[ "$synack" = "0x00000001 $HOST_V4 $APP_V4 80" ] ||
		[ "$synack" = "1 $HOST_V4 $APP_V4 80" ] ||
		fail "$what: SYN-ACK is '$synack', want direction inbound, $HOST_V4:80 -> $APP_V4"
}

# 1. To a file: the handshake, and every payload byte both ways.
f=$TP_TMP/run.pcapng
rl_run --pcap "$f" -- curl -sS -o /dev/null --max-time 20 "$URL" ||
	fail "curl with --pcap failed: $(tail -n 3 "$TP_TMP/run.err")"
handshake "$f" "--pcap FILE"
bytes=$(pk "$f" "ip.src == $HOST_V4 && tcp.srcport == 80" tcp.len | awk '{s += $1} END {print s + 0}')
[ "$bytes" -ge 100000 ] || fail "--pcap FILE: $bytes TCP payload bytes to the app, want >= 100000"
tp_log "--pcap FILE: handshake with directions, $bytes bytes from nginx: ok"

# 2. To stdout ("-"): CMD's own stdout goes to stderr, not into the capture.
rl_run --pcap - -- sh -c "curl -sS --max-time 20 $URL | head -c 10; echo" >"$TP_TMP/stdout.pcapng" ||
	fail "--pcap - failed"
handshake "$TP_TMP/stdout.pcapng" "--pcap -"
tp_log "--pcap -: ok"

# 3. Cut by SIGINT while CMD still runs: forwarded (130), the file reads.
f=$TP_TMP/int.pcapng
rl_run_bg --pcap "$f" -- sh -c "curl -sS -o /dev/null --max-time 20 $URL; echo fetched; exec sleep 30"
rl_wait_file "$TP_TMP/bg.out" fetched || fail "the background curl did not finish"
kill -INT "$RL_PID"
wait "$RL_PID"
rc=$?
[ "$rc" = 130 ] || fail "SIGINT: tunproxy run exited $rc, want 130"
handshake "$f" "cut by SIGINT"
tp_log "--pcap cut by SIGINT: ok"

# 4. Even SIGKILL (no chance to close) leaves a readable file.
f=$TP_TMP/kill.pcapng
rl_run_bg --pcap "$f" -- sh -c "curl -sS -o /dev/null --max-time 20 $URL; echo fetched; exec sleep 30"
rl_wait_file "$TP_TMP/bg.out" fetched || fail "the background curl did not finish"
kill -KILL "$RL_PID"
wait "$RL_PID" 2>/dev/null
handshake "$f" "cut by SIGKILL"
# CMD dies with tunproxy (PR_SET_PDEATHSIG).
for ((i = 0; i < 50; i++)); do
	[ -z "$(rl_marked_pids)" ] && break
	sleep 0.1
done
[ -z "$(rl_marked_pids)" ] || fail "CMD outlived a killed tunproxy: $(rl_marked_pids)"
tp_log "--pcap cut by SIGKILL: ok"

# 5. --pcap with --tun (the classic three-namespace setup).
f=$TP_TMP/tun.pcapng
tp_start_proxy --pcap "$f"
in_app curl -sS -o /dev/null --max-time 20 "$URL" || fail "curl via --tun failed"
tp_stop_proxy || fail "the proxy did not stop cleanly"
handshake "$f" "--tun --pcap"
tp_log "--tun --pcap: ok"

rl_check_clean
tp_pass
