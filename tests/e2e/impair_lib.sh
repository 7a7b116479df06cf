# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# impair_lib.sh: the impaired-link matrix of issue 5 point 3, shared by
# test_impair_loss.sh, test_impair_link.sh and test_impair_delay.sh (split so
# that each stays well inside CTest's 600 s per test). Source lib.sh and
# devloop_lib.sh first, then this file, then:
#
#   im_setup                 # servers, proxy (UDP dev transport), test file
#   im_case loss1            # one impairment: a download and an upload
#   im_case ...
#   im_finish                # summary table, clean shutdown
#
# Topology (devloop_lib.sh without the tee): the device simulator holds tp0
# (moved to "app", where curl and nc run) and carries its packets over UDP
# on 127.0.0.1 in "proxy" to `tunproxy --listen udp:127.0.0.1:8081`:
#
#   ns app: tp0, curl, nc      ns proxy: tunproxy device --impair SPEC
#                                          <-udp lo-> tunproxy --listen   ns net: nginx, sink
#
# Each case restarts the simulator with its own --impair SPEC (both
# directions); the proxy stays up (--client-idle 300ms lets the new
# simulator take the session). Loss is nftables on "proxy"'s loopback input
# hook (this kernel has no netem): a datagram dropped there is lost for the
# sender too (it was sent), and every drop is one IP packet of the app's or
# the proxy's TCP. The cases:
#
#   loss1      nft drops 1% each way          (proxy and app must retransmit)
#   loss5      nft drops 5% each way
#   reorder25  --impair reorder=25%           (25% held 1 ms: overtaken)
#   dup5       --impair dup=5%
#   corrupt1   --impair corrupt=1%            (one bit flipped; the proxy's
#              checksums drop them on the way up, the app kernel's on the
#              way down: both counted, and both TCPs retransmit)
#   delay50    --impair delay=50ms,jitter=20ms (each way: RTT ~100 ms, and
#              jitter reorders, as netem's does)
#
# For each case, 20 MiB (TP_IMPAIR_MIB) of random bytes are downloaded by
# curl from nginx and uploaded by nc to tcp_sink.py, SHA-256 compared at
# both ends, alternating IPv4/IPv6 between cases. Printed per transfer: the
# duration, the proxy's tcp_retransmits / tcp_fast_retransmits /
# tcp_rto_expired / tcp_ooo_queued, the app kernel's TcpRetransSegs. The
# timeout of a transfer is generous (TP_IMPAIR_TIMEOUT, default 200 s);
# durations are never pass/fail criteria.
# Environment: TP_IMPAIR_MIB (size, default 20; 8 for a sanitizer build),
# TP_IMPAIR_SEED (the impairment seed; printed, so a failure replays),
# TP_IMPAIR_PROXY_ARGS (more tunproxy options, e.g. --host-rcvbuf 1M).

# A sanitizer build is several times slower: 8 MiB there unless told.
if [ -z "${TP_IMPAIR_MIB:-}" ] && { ldd "$TUNPROXY" 2>/dev/null | grep -qE 'lib(asan|tsan|msan|ubsan)' ||
	nm "$TUNPROXY" 2>/dev/null | grep -q '__asan_init'; }; then
	TP_IMPAIR_MIB=8
fi
IM_MIB=${TP_IMPAIR_MIB:-20}
IM_SIZE=$((IM_MIB * 1024 * 1024))
IM_TIMEOUT=${TP_IMPAIR_TIMEOUT:-200}
IM_SEED=${TP_IMPAIR_SEED:-$((RANDOM + 1))}
IM_SINK_PORT=9000
IM_NCASE=0
IM_ROWS=()
IM_NFT=0

im_now() { date +%s.%N; }
im_secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# im_app_stats: the app namespace's kernel counters, one "NAME VALUE" a
# line (Tcp/Ip/Udp from snmp, TcpExt/IpExt from netstat, Ip6* from snmp6).
im_app_stats() {
	in_app awk '
	    FILENAME ~ /snmp6$/ { print $1, $2; next }
	    { p = substr($1, 1, length($1) - 1)
	      if (hdr[p]) { for (i = 2; i <= NF; i++) print p names[p, i], $i; hdr[p] = 0 }
	      else { for (i = 2; i <= NF; i++) names[p, i] = $i; hdr[p] = 1 } }' \
		/proc/net/snmp /proc/net/netstat /proc/net/snmp6
}

# im_stat FILE NAME: NAME's value in an im_app_stats snapshot (0 if absent).
im_stat() { awk -v n="$2" '$1 == n { v = $2 } END { print v + 0 }' "$1"; }

# The app kernel's checksum failures (IPv4 header: IpExt InCsumErrors; TCP,
# UDP, ICMP) and its other drops of damaged packets (bad headers, an address
# not its own: IPv6 has no header checksum, a flipped address bit is caught
# by the address check or the transport's pseudo-header).
im_app_csum() {
	local f=$1
	echo $(($(im_stat "$f" TcpInCsumErrors) + $(im_stat "$f" IpExtInCsumErrors) +
		$(im_stat "$f" UdpInCsumErrors) + $(im_stat "$f" IcmpInCsumErrors) +
		$(im_stat "$f" Icmp6InCsumErrors) + $(im_stat "$f" Udp6InCsumErrors)))
}
im_app_bad() {
	local f=$1
	echo $(($(im_app_csum "$f") + $(im_stat "$f" IpInHdrErrors) + $(im_stat "$f" IpInAddrErrors) +
		$(im_stat "$f" IpInUnknownProtos) + $(im_stat "$f" Ip6InHdrErrors) +
		$(im_stat "$f" Ip6InAddrErrors) + $(im_stat "$f" Ip6InUnknownProtos) +
		$(im_stat "$f" Ip6InTruncatedPkts) + $(im_stat "$f" Ip6InNoRoutes)))
}

# The proxy's drops of packets a flipped bit makes malformed: checksums
# (IMP_CSUM) and the header checks that come first (IM_HDR).
IM_CSUM="ip4_bad_checksum tcp_bad_checksum udp_bad_checksum icmp_bad_checksum"
IM_HDR="ip4_bad_ihl ip4_bad_total_length ip6_bad_payload_length ip6_bad_ext_header
  bad_version tcp_bad_data_offset tcp_bad_option bad_fragment"

# im_snap FILE: the proxy's counters and drop reasons now ("counter N V",
# "drop N V" lines, from one fresh dump).
im_snap() {
	tp_dump
	awk '$1 == "counters" && $2 == "end" { last = NR } { line[NR] = $0 }
	     END { for (i = last - 1; i > 0 && line[i] ~ /^(counter|drop) /; i--) start = i
	           for (i = start; i < last; i++) print line[i] }' "$TP_LOG" >"$1"
}
# im_val FILE KIND NAME
im_val() { awk -v k="$2" -v n="$3" '$1 == k && $2 == n { v = $3 } END { print v + 0 }' "$1"; }
# im_delta A B KIND NAME: B's value minus A's.
im_delta() { echo $(($(im_val "$2" "$3" "$4") - $(im_val "$1" "$3" "$4"))); }
# im_drops_delta A B REASONS: the sum of those drop reasons' deltas.
im_drops_delta() {
	local d=0 r
	for r in $3; do d=$((d + $(im_delta "$1" "$2" drop "$r"))); done
	echo "$d"
}

im_setup() {
	tp_require curl nginx nc nft sha256sum
	"$TUNPROXY" device --help 2>&1 | grep -q -- '--impair' ||
		skip "this tunproxy has no 'device --impair'"
	tp_setup
	mkdir -p "$TP_TMP/www"
	head -c "$IM_SIZE" /dev/urandom >"$TP_TMP/www/big.bin" || fail "cannot make the test file"
	IM_SUM=$(sha256sum "$TP_TMP/www/big.bin" | cut -d' ' -f1)
	tp_start_http "$TP_TMP/www"
	tp_start_sink "$IM_SINK_PORT"
	# No tee: the simulator talks to the proxy directly.
	DL_TEE_PORT=$DL_PROXY_PORT
	tp_start_udp_echo
	# shellcheck disable=SC2086 # a list of options
	dl_start_proxy --client-idle 300ms --icmp-timeout 2 --udp-timeout 3 ${TP_IMPAIR_PROXY_ARGS:-}
	tp_log "matrix: $IM_MIB MiB each way per case, seed $IM_SEED (TP_IMPAIR_SEED replays)"
}

# im_loss PERMILLE: nft drops that share of the datagrams each way between
# the simulator and the proxy (input hook of "proxy"'s loopback).
im_loss() {
	in_proxy nft -f - <<EOF || fail "nft setup"
table inet imloss {
	chain in {
		type filter hook input priority 0;
		iifname "lo" udp dport $DL_PROXY_PORT numgen random mod 1000 < $1 counter drop comment "up"
		iifname "lo" udp sport $DL_PROXY_PORT numgen random mod 1000 < $1 counter drop comment "down"
	}
}
EOF
	IM_NFT=1
}
im_nft_dropped() {
	in_proxy nft list chain inet imloss in |
		sed -n "s/.*counter packets \\([0-9]*\\) bytes.*comment \"$1\".*/\\1/p"
}
im_loss_off() {
	[ "$IM_NFT" = 1 ] || return 0
	in_proxy nft delete table inet imloss || fail "cannot remove the nft loss table"
	IM_NFT=0
}

im_url() {
	case $1 in
	*:*) printf 'http://[%s]:%s/big.bin' "$1" "$HTTP_PORT" ;;
	*) printf 'http://%s:%s/big.bin' "$1" "$HTTP_PORT" ;;
	esac
}

# im_transfer CASE down|up HOST: one transfer, checked byte-exact; sets
# IM_DUR (seconds).
im_transfer() {
	local c=$1 dir=$2 host=$3 t0 out got
	t0=$(im_now)
	if [ "$dir" = down ]; then
		out=$(in_app curl -sS --max-time "$IM_TIMEOUT" -o "$TP_TMP/dl.bin" \
			-w '%{http_code} %{size_download}' "$(im_url "$host")" 2>&1) ||
			fail "$c: download from $host: curl: $out (seed $IM_SEED)"
		IM_DUR=$(im_secs "$t0" "$(im_now)")
		[ "$out" = "200 $IM_SIZE" ] || fail "$c: download: status/size '$out', want '200 $IM_SIZE'"
		got=$(sha256sum "$TP_TMP/dl.bin" | cut -d' ' -f1)
		[ "$got" = "$IM_SUM" ] || fail "$c: download: SHA-256 $got, want $IM_SUM (seed $IM_SEED)"
		rm -f "$TP_TMP/dl.bin"
	else
		out=$(in_app timeout "$IM_TIMEOUT" nc -N "$host" "$IM_SINK_PORT" <"$TP_TMP/www/big.bin" 2>&1) ||
			fail "$c: upload to $host: nc failed (status $?): $out (seed $IM_SEED)"
		IM_DUR=$(im_secs "$t0" "$(im_now)")
		[ "$out" = "$IM_SIZE $IM_SUM" ] ||
			fail "$c: upload: the sink answered '$out', want '$IM_SIZE $IM_SUM' (seed $IM_SEED)"
	fi
}

# im_case NAME: run one impairment case (see the header).
im_case() {
	local c=$1 spec="" loss=0 host_dn host_up dir a b ka kb d
	case $c in
	loss1) loss=10 ;;
	loss5) loss=50 ;;
	reorder25) spec="reorder=25%" ;;
	dup5) spec="dup=5%" ;;
	corrupt1) spec="corrupt=1%" ;;
	delay50) spec="delay=50ms,jitter=20ms,limit=20000" ;;
	*) fail "unknown impairment case '$c'" ;;
	esac
	if [ $((IM_NCASE % 2)) = 0 ]; then
		host_dn=$HOST_V4 host_up=$HOST_V6
	else
		host_dn=$HOST_V6 host_up=$HOST_V4
	fi
	IM_NCASE=$((IM_NCASE + 1))

	if [ -n "$DL_DEV_PID" ]; then
		dl_stop "$DL_DEV_PID" "$TP_TMP/device.log" ||
			fail "the device simulator did not stop cleanly"
		DL_DEV_PID=""
	fi
	if [ -n "$spec" ]; then
		dl_start_device --impair "$spec,seed=$IM_SEED"
	else
		dl_start_device
	fi
	# The new simulator owns the session once it is heard (after the
	# previous one's 300 ms of silence).
	local i
	for ((i = 0; i < 20 * TP_SLOW; i++)); do
		in_app ping -c 1 -W 1 "$HOST_V4" >/dev/null 2>&1 && break
	done
	[ "$i" -lt $((20 * TP_SLOW)) ] || fail "$c: no ping through the new simulator"
	[ "$loss" -gt 0 ] && im_loss "$loss"
	tp_log "---- $c: ${spec:-nft loss $((loss / 10))% each way} ----"

	for dir in down up; do
		im_snap "$TP_TMP/a"
		im_app_stats >"$TP_TMP/ka"
		if [ "$dir" = down ]; then im_transfer "$c" down "$host_dn"; else im_transfer "$c" up "$host_up"; fi
		im_snap "$TP_TMP/b"
		im_app_stats >"$TP_TMP/kb"
		a=$TP_TMP/a b=$TP_TMP/b ka=$TP_TMP/ka kb=$TP_TMP/kb
		local rtx frtx rto ooo krtx pbad kbad pcsum kcsum
		rtx=$(im_delta "$a" "$b" counter tcp_retransmits)
		frtx=$(im_delta "$a" "$b" counter tcp_fast_retransmits)
		rto=$(im_delta "$a" "$b" counter tcp_rto_expired)
		ooo=$(im_delta "$a" "$b" counter tcp_ooo_queued)
		pcsum=$(im_drops_delta "$a" "$b" "$IM_CSUM")
		pbad=$((pcsum + $(im_drops_delta "$a" "$b" "$IM_HDR")))
		krtx=$(($(im_stat "$kb" TcpRetransSegs) - $(im_stat "$ka" TcpRetransSegs)))
		kcsum=$(($(im_app_csum "$kb") - $(im_app_csum "$ka")))
		kbad=$(($(im_app_bad "$kb") - $(im_app_bad "$ka")))
		if [ "$dir" = down ]; then h=$host_dn; else h=$host_up; fi
		tp_log "$c $dir ($h): ${IM_DUR}s; proxy tcp_retransmits +$rtx (fast +$frtx, rto +$rto)," \
			"tcp_ooo_queued +$ooo, malformed drops +$pbad (checksum +$pcsum);" \
			"app kernel TcpRetransSegs +$krtx, bad packets +$kbad (checksum +$kcsum)"
		IM_ROWS+=("$c|$dir|$h|$IM_DUR|$rtx|$frtx|$rto|$ooo|$krtx|$pbad|$kbad")
		# Where packets were lost, the sender of the data retransmitted.
		case $c in
		loss* | corrupt*)
			if [ "$dir" = down ]; then
				[ "$rtx" -gt 0 ] || fail "$c: the proxy retransmitted nothing to the app over a lossy link"
			else
				[ "$krtx" -gt 0 ] || fail "$c: the app's kernel retransmitted nothing over a lossy link"
				[ "$ooo" -gt 0 ] || fail "$c: the proxy held no out-of-order segment behind the app's losses"
			fi
			;;
		esac
		case $c in
		corrupt*)
			if [ "$dir" = down ]; then
				[ "$kcsum" -gt 0 ] || fail "$c: the app's kernel counted no checksum error"
			else
				[ "$pcsum" -gt 0 ] || fail "$c: the proxy counted no bad checksum"
			fi
			;;
		reorder*)
			[ "$dir" = up ] && { [ "$ooo" -gt 0 ] || fail "$c: tcp_ooo_queued did not move"; }
			;;
		esac
	done

	[ "${c#corrupt}" != "$c" ] && im_corrupt_dgrams "$c"

	# The impairment happened, each way.
	local up dn
	case $c in
	loss*)
		up=$(im_nft_dropped up) dn=$(im_nft_dropped down)
		tp_log "$c: nft dropped $up datagrams to the proxy, $dn to the simulator"
		[ "${up:-0}" -gt 0 ] && [ "${dn:-0}" -gt 0 ] || fail "$c: nft dropped nothing one way (up $up, down $dn)"
		im_loss_off
		;;
	reorder*) up=$(dl_dev_counter impair_up_reordered) dn=$(dl_dev_counter impair_down_reordered) ;;
	dup*) up=$(dl_dev_counter impair_up_duplicated) dn=$(dl_dev_counter impair_down_duplicated) ;;
	corrupt*) up=$(dl_dev_counter impair_up_corrupted) dn=$(dl_dev_counter impair_down_corrupted) ;;
	delay*) up=$(dl_dev_counter impair_up_out) dn=$(dl_dev_counter impair_down_out) ;;
	esac
	if [ "${c#loss}" = "$c" ]; then
		local full
		full=$(($(dl_dev_counter impair_up_queue_full) + $(dl_dev_counter impair_down_queue_full)))
		tp_log "$c: simulator impaired $up packets up, $dn down (queue full: $full)"
		[ "$up" -gt 0 ] && [ "$dn" -gt 0 ] || fail "$c: the simulator impaired nothing one way (up $up, down $dn)"
	fi
	IM_ROWS+=("#$c|$up|$dn")
	tp_wait_counter tcp_conns_open -eq 0 20 ||
		fail "$c: tcp_conns_open is $(tp_counter tcp_conns_open) after the transfers, want 0"
}

# im_corrupt_dgrams CASE: UDP and ICMP through the corrupting link: every
# echoed datagram must come back intact (udp_echo.py fails on a reply that
# differs from what it sent; ping reports "wrong data"), the damaged ones
# are dropped by checksums and resent by the client: the proxy's
# udp/icmp/ip4 checksum drops move (up) and so do the app kernel's (down).
im_corrupt_dgrams() {
	local c=$1 a=$TP_TMP/a b=$TP_TMP/b ka=$TP_TMP/ka kb=$TP_TMP/kb out h pd kd
	im_snap "$a"
	im_app_stats >"$ka"
	for h in "$HOST_V4" "$HOST_V6"; do
		out=$(in_app timeout $((120 * TP_SLOW)) "$TP_PY" "$TP_E2E_DIR/udp_echo.py" "$h" "$ECHO_PORT" \
			--count 1500 --min 64 --max 1400 --sockets 4 --timeout 0.3 --retries 10 2>&1) ||
			fail "$c: UDP echo to $h through the corrupting link: $out"
		tp_log "$c: UDP echo $h: $out"
		out=$(in_app ping -q -c 300 -i 0.005 -W 1 -s 1000 "$h" 2>&1)
		if echo "$out" | grep -qi 'wrong data\|corrupted'; then
			fail "$c: ping to $h got a corrupted reply: $out"
		fi
		echo "$out" | grep -q ' 0 received' && fail "$c: no ping reply from $h: $out"
		tp_log "$c: ping $h: $(echo "$out" | grep 'packets transmitted')"
	done
	im_snap "$b"
	im_app_stats >"$kb"
	pd=$(im_drops_delta "$a" "$b" "$IM_CSUM")
	kd=$(($(im_app_csum "$kb") - $(im_app_csum "$ka")))
	tp_log "$c: datagrams: proxy udp_bad_checksum +$(im_delta "$a" "$b" drop udp_bad_checksum)," \
		"icmp_bad_checksum +$(im_delta "$a" "$b" drop icmp_bad_checksum), all checksum drops +$pd;" \
		"app kernel UdpInCsumErrors +$(($(im_stat "$kb" UdpInCsumErrors) + $(im_stat "$kb" Udp6InCsumErrors) - $(im_stat "$ka" UdpInCsumErrors) - $(im_stat "$ka" Udp6InCsumErrors)))," \
		"all checksum errors +$kd"
	[ "$(im_delta "$a" "$b" drop udp_bad_checksum)" -gt 0 ] || fail "$c: the proxy counted no bad UDP checksum"
	[ "$kd" -gt 0 ] || fail "$c: the app kernel counted no checksum error on UDP/ICMP"
	IM_ROWS+=("$c|udp+icmp|-|-|-|-|-|-|-|$pd|$kd")
}

# im_finish: the summary (a markdown table, for docs/robustness.md), the
# simulator and proxy stopped cleanly (teardown checks the proxy).
im_finish() {
	local r
	{
		echo "| impairment | direction | size | duration | tcp_retransmits | fast | rto | tcp_ooo_queued | app TcpRetransSegs | proxy malformed drops | app kernel bad pkts | impaired up/down | result |"
		echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
		local imp=""
		for r in "${IM_ROWS[@]}"; do
			[ "${r#\#}" != "$r" ] && imp="${imp}${r#\#}
"
		done
		for r in "${IM_ROWS[@]}"; do
			[ "${r#\#}" != "$r" ] && continue
			IFS='|' read -r c dir h dur rtx frtx rto ooo krtx pbad kbad <<<"$r"
			local ud
			ud=$(printf '%s' "$imp" | awk -F'|' -v c="$c" '$1 == c { print $2 "/" $3 }')
			if [ "$dir" = udp+icmp ]; then
				echo "| $c | UDP echo + ping, both ways | 2 x (1500 datagrams + 300 pings) | - | - | - | - | - | - | $pbad | $kbad | $ud | every reply intact |"
			else
				echo "| $c | $dir ($h) | $IM_MIB MiB | $dur s | $rtx | $frtx | $rto | $ooo | $krtx | $pbad | $kbad | $ud | SHA-256 ok |"
			fi
		done
	} >"$TP_TMP/summary.md"
	tp_log "summary (seed $IM_SEED):"
	cat "$TP_TMP/summary.md" >&2
	if [ -n "${TP_IMPAIR_SUMMARY:-}" ]; then cp "$TP_TMP/summary.md" "$TP_IMPAIR_SUMMARY"; fi
	tp_wait_counter flows_open -eq 0 20 ||
		fail "flows_open is $(tp_counter flows_open) after the matrix, want 0"
	dl_stop "$DL_DEV_PID" "$TP_TMP/device.log" || fail "the device simulator did not stop cleanly"
	DL_DEV_PID=""
	tp_proxy_alive || fail "the proxy died"
}
