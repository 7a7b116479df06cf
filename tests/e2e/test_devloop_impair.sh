#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A 20 MiB download through the development loop over a bad link: between
# the device simulator and the tee, nftables drops 2% of the datagrams each
# way (this kernel has no netem) and the simulator's own impairment stage
# reorders 10% and duplicates 1% of the packets each way (seeded, so a
# failure replays). The file must arrive byte-exact (sha256), and the
# counters must prove the impairment happened: nft's drop counters, the
# simulator's reordered/duplicated counts, TCP retransmissions.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=devloop_lib.sh
. "$(dirname "$0")/devloop_lib.sh"
tp_require curl nft sha256sum
tp_setup
mkdir -p "$TP_TMP/www"
head -c $((20 * 1048576)) /dev/urandom >"$TP_TMP/www/big"
tp_start_http "$TP_TMP/www"

dl_start_proxy
dl_start_tee
CAP="$TP_TMP/cap.pcapng"
dl_start_capture "$CAP" --proto icmp
SPEC="reorder=10%,dup=1%,seed=${TP_IMPAIR_SEED:-1}"
dl_start_device --impair "$SPEC"

# 2% random loss each way on the device <-> tee hop (loopback in "proxy").
in_proxy nft -f - <<EOF || fail "nft setup"
table inet dlimp {
	chain out {
		type filter hook output priority 0;
		oifname "lo" udp dport $DL_TEE_PORT numgen random mod 1000 < 20 counter drop comment "to-tee"
		oifname "lo" udp sport $DL_TEE_PORT numgen random mod 1000 < 20 counter drop comment "to-device"
	}
}
EOF
tp_log "impairment: nft 2% loss each way, device --impair $SPEC"

in_app ping -c 20 -i 0.05 -W 2 "$HOST_V4" >"$TP_TMP/ping" 2>&1 # some may be lost
start=$(date +%s.%N)
in_app curl -sS -m 300 -o "$TP_TMP/got" "http://$HOST_V4/big" || fail "curl of 20 MiB failed"
secs=$(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || echo "?")
want=$(sha256sum <"$TP_TMP/www/big")
got=$(sha256sum <"$TP_TMP/got")
[ "$want" = "$got" ] || fail "the 20 MiB download differs (sizes $(stat -c %s "$TP_TMP/www/big") / $(stat -c %s "$TP_TMP/got"))"
tp_log "20 MiB through the impaired chain in ${secs}s: sha256 matches"

# nft_dropped COMMENT: packets the rule with that comment dropped.
nft_dropped() {
	in_proxy nft list chain inet dlimp out | grep "comment \"$1\"" |
		sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}
to_tee=$(nft_dropped to-tee)
to_dev=$(nft_dropped to-device)
[ "${to_tee:-0}" -gt 0 ] || fail "nft dropped nothing towards the tee"
[ "${to_dev:-0}" -gt 0 ] || fail "nft dropped nothing towards the device"
ro_up=$(dl_dev_counter impair_up_reordered)
ro_dn=$(dl_dev_counter impair_down_reordered)
du_up=$(dl_dev_counter impair_up_duplicated)
du_dn=$(dl_dev_counter impair_down_duplicated)
[ "$ro_dn" -gt 100 ] && [ "$ro_up" -gt 10 ] || fail "too few reordered packets: up $ro_up down $ro_dn"
[ "$du_dn" -gt 10 ] && [ "$du_up" -gt 0 ] || fail "too few duplicated packets: up $du_up down $du_dn"
tp_log "nft dropped $to_tee -> tee, $to_dev -> device; device reordered $ro_up up / $ro_dn down, duplicated $du_up / $du_dn"
rtx=$(tp_counter tcp_retransmits)
frtx=$(tp_counter tcp_fast_retransmits)
[ $((rtx + frtx)) -gt 0 ] || fail "the proxy retransmitted nothing over a lossy link"
tp_log "proxy retransmissions: $rtx ($frtx fast)"

# The tee relayed; the capture (ICMP only) kept up and saw the pings.
dl_stop "$DL_CAP_PID" "$DL_CAP_LOG" INT || fail "capture did not stop cleanly"
n=$(tshark -r "$CAP" -Y "icmp || icmpv6" 2>/dev/null | wc -l)
all=$(tshark -r "$CAP" 2>/dev/null | wc -l)
[ "$n" -gt 0 ] && [ "$n" = "$all" ] || fail "capture --proto icmp: $n ICMP of $all packets"
tp_print_counters counter
dl_stop "$DL_DEV_PID" "$TP_TMP/device.log" || fail "device simulator did not stop cleanly"
dl_stop "$DL_TEE_PID" "$TP_TMP/tee.log" || fail "tee did not stop cleanly"
tp_proxy_alive || fail "the proxy died"
tp_pass
