#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bulk TCP through tunproxy over a lossy path, still byte-exact. This kernel
# has no netem, so the loss is nftables (shared/TESTING.md): 2% of the
# packets are dropped at random in each direction, and the nft counters must
# prove drops happened both ways. A file of random bytes is downloaded by
# curl from nginx (tunproxy must retransmit to the app: tcp_retransmits
# moves) and uploaded by nc to a SHA-256 sink (the app's kernel retransmits;
# tunproxy holds the out-of-order segments behind each hole: tcp_ooo_queued
# moves), IPv4 and IPv6 one each; SHA-256 compared at both ends. Then the
# connections and flows are back to 0.
#
# Why a fourth namespace: nft drops on "app"'s own output hook are not
# losses for the app's TCP (the kernel sees the local drop as a failed
# transmit and simply sends the segment again later, no retransmission), and
# the output hook sees 64 KB GSO super-packets, not segments. So the clients
# run in namespace "cli" behind "app", which forwards between a veth and the
# TUN, and the loss rules sit on app's forward hook: every drop is a real
# loss. Toward the proxy it is one MSS-sized packet (the client's veth has
# gso_max_segs 1); toward the app it is whatever tunproxy wrote, with the
# TUN offloads a GSO super-packet of up to 44 segments (as netem on a GSO
# device would drop it), a harder case for SACK recovery. Each direction's
# drops are checked against the packets its rule saw (a counting rule in
# front), so the check holds whatever the packet sizes.
#
#   ns cli 10.0.1.2, fdab::2 --veth-- ns app (forwards; nft loss) --tp0-- tunproxy
#
# Second part, when the userspace impairment stage exists (`tunproxy device
# --impair ...`, issue 4): the same download with reordering and delay,
# device simulator in "app" holding the TUN, tunproxy listening on UDP.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tp_require curl nginx nc nft sha256sum
tp_setup

SIZE_MIB=${TP_IMPAIRED_MIB:-100}
SIZE=$((SIZE_MIB * 1024 * 1024))
LOSS_PERMILLE=20 # 2%
SINK_PORT=9000
www="$TP_TMP/www"
mkdir -p "$www"
head -c "$SIZE" /dev/urandom >"$www/big.bin" || fail "cannot make the test file"
sum=$(sha256sum "$www/big.bin" | cut -d' ' -f1)

tp_start_http "$www"
tp_start_sink "$SINK_PORT"
tp_start_proxy

# The client namespace behind "app".
NS_CLI="${TP_ID}-cli"
ip netns add "$NS_CLI" || fail "ip netns add $NS_CLI"
TP_NS_MADE+=("$NS_CLI")
ip -n "$NS_CLI" link set lo up || fail "lo up in cli"
ip -n "$NS_APP" link add va type veth peer name vc netns "$NS_CLI" || fail "veth app-cli"
ip -n "$NS_APP" addr add 10.0.1.1/24 dev va || fail "addr va"
ip -n "$NS_APP" addr add fdab::1/64 dev va nodad || fail "addr6 va"
ip -n "$NS_APP" link set va up || fail "va up"
ip -n "$NS_CLI" addr add 10.0.1.2/24 dev vc || fail "addr vc"
ip -n "$NS_CLI" addr add fdab::2/64 dev vc nodad || fail "addr6 vc"
ip -n "$NS_CLI" link set vc gso_max_segs 1 up || fail "vc up"
ip -n "$NS_CLI" route add default via 10.0.1.1 || fail "cli route"
ip -n "$NS_CLI" -6 route add default via fdab::1 || fail "cli route6"
in_app sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
	net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 ||
	fail "cannot make app forward"
in_cli() { ip netns exec "$NS_CLI" "$@"; }
tp_wait_for 5 in_cli ping -c 1 -W 1 10.0.1.1 || fail "cli cannot reach app"

# Random loss in both directions, on the packets app forwards.
in_app nft "add table inet tpimp
add chain inet tpimp fw { type filter hook forward priority 0; }
add rule inet tpimp fw oifname $TP_TUN counter comment \"seen_toproxy\"
add rule inet tpimp fw iifname $TP_TUN counter comment \"seen_toapp\"
add rule inet tpimp fw oifname $TP_TUN numgen random mod 1000 < $LOSS_PERMILLE counter drop comment \"toproxy\"
add rule inet tpimp fw iifname $TP_TUN numgen random mod 1000 < $LOSS_PERMILLE counter drop comment \"toapp\"" ||
	fail "cannot add the nftables loss rules in app"

# nft_drops toproxy|toapp: packets that loss rule dropped so far;
# nft_drops seen_toproxy|seen_toapp: packets that went that way at all.
nft_drops() {
	in_app nft list chain inet tpimp fw |
		sed -n "s/.*counter packets \\([0-9]*\\) bytes.*comment \"$1\".*/\\1/p"
}
# loss_worked DROPPED SEEN: at least a quarter of the configured rate, and
# at least 5 packets (the super-packets of 100 MiB are ~1,600 or more).
loss_worked() {
	[ "$1" -ge 5 ] && [ $(($1 * 1000 * 4)) -ge $(($2 * LOSS_PERMILLE)) ]
}
now() { date +%s.%N; }
rate() { awk -v b="$1" -v t0="$2" -v t1="$3" \
	'BEGIN { d = t1 - t0; printf "%.2f s, %.1f MiB/s", d, b / d / 1048576 }'; }
url() {
	case $1 in
	*:*) printf 'http://[%s]:%s/%s' "$1" "$HTTP_PORT" "$2" ;;
	*) printf 'http://%s:%s/%s' "$1" "$HTTP_PORT" "$2" ;;
	esac
}

rtx0=$(tp_counter tcp_retransmits) || exit 1
ooo0=$(tp_counter tcp_ooo_queued) || exit 1
in0=$(nft_drops toapp)
seen_in0=$(nft_drops seen_toapp)

# Download over IPv4, upload over IPv6 (the other family is in test_tcp_bulk).
t0=$(now)
out=$(in_cli curl -sS --max-time 100 -o "$TP_TMP/dl.bin" -w '%{http_code} %{size_download}' \
	"$(url "$HOST_V4" big.bin)" 2>&1) || fail "lossy download: curl: $out"
t1=$(now)
[ "$out" = "200 $SIZE" ] || fail "lossy download: status/size '$out', want '200 $SIZE'"
got=$(sha256sum "$TP_TMP/dl.bin" | cut -d' ' -f1)
[ "$got" = "$sum" ] || fail "lossy download: SHA-256 $got, want $sum"
rm -f "$TP_TMP/dl.bin"
in1=$(nft_drops toapp)
seen_in=$(($(nft_drops seen_toapp) - seen_in0))
rtx1=$(tp_counter tcp_retransmits) || exit 1
tp_log "download $SIZE_MIB MiB over IPv4 with 2% loss each way: SHA-256 ok, $(rate "$SIZE" "$t0" "$t1");" \
	"nft dropped $((in1 - in0)) of $seen_in packets to the app; tcp_retransmits +$((rtx1 - rtx0))"
loss_worked $((in1 - in0)) "$seen_in" ||
	fail "nft dropped only $((in1 - in0)) of $seen_in packets toward the app during the download: the impairment did not work"
[ $((rtx1 - rtx0)) -ge $(((in1 - in0) / 2)) ] ||
	fail "tcp_retransmits went from $rtx0 to $rtx1 while nft dropped $((in1 - in0)) packets to the app"

out0=$(nft_drops toproxy)
seen_out0=$(nft_drops seen_toproxy)
t0=$(now)
out=$(in_cli timeout 100 nc -N "$HOST_V6" "$SINK_PORT" <"$www/big.bin" 2>&1) ||
	fail "lossy upload: nc failed (status $?): $out"
t1=$(now)
[ "$out" = "$SIZE $sum" ] || fail "lossy upload: the sink answered '$out', want '$SIZE $sum'"
cut -d' ' -f1-4 "$TP_TMP/sink.log" | grep -qxF "sink $HOST_V6 $SIZE $sum" ||
	fail "lossy upload: no matching line in the sink's log: $(cat "$TP_TMP/sink.log")"
out1=$(nft_drops toproxy)
seen_out=$(($(nft_drops seen_toproxy) - seen_out0))
ooo1=$(tp_counter tcp_ooo_queued) || exit 1
tp_log "upload $SIZE_MIB MiB over IPv6 with 2% loss each way: SHA-256 ok at the sink," \
	"$(rate "$SIZE" "$t0" "$t1"); nft dropped $((out1 - out0)) of $seen_out packets from the app;" \
	"tcp_ooo_queued +$((ooo1 - ooo0))"
loss_worked $((out1 - out0)) "$seen_out" ||
	fail "nft dropped only $((out1 - out0)) of $seen_out packets from the app: the impairment did not work"
[ $((ooo1 - ooo0)) -gt 0 ] ||
	fail "tcp_ooo_queued did not move (still $ooo1) although the app's segments were lost"

in_app nft delete table inet tpimp || fail "cannot remove the nftables rules"
tp_wait_counter tcp_conns_open -eq 0 15 ||
	fail "tcp_conns_open is $(tp_counter tcp_conns_open) after the transfers, want 0"
tp_wait_counter flows_open -eq 0 15 ||
	fail "flows_open is $(tp_counter flows_open) after the transfers, want 0"
tp_print_counters
tp_proxy_alive || fail "the proxy died"
tp_pass
