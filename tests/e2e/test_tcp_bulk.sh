#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bulk TCP through tunproxy, byte-exact: a 100 MiB file of random bytes is
# downloaded by curl from nginx in "net" and uploaded by nc (-N: FIN after
# the file) to a SHA-256 sink in "net" (tcp_sink.py), over IPv4 and IPv6.
# SHA-256 is compared at both ends: the downloaded file against the served
# one, and the sink's digest and byte count (from its log, and as sent back
# to the client after the app's FIN) against the uploaded file. The proxy's
# byte counters must have seen the data, and afterwards tcp_conns_open and
# flows_open must be back to 0 and memory back to its idle level. Transfer
# rates are printed (information only: never a pass/fail criterion).
# The proxy opens its TUN with the virtio-net header, so both directions
# must have gone as TSO/GSO super-packets (tun_tso_read, tun_gso_written);
# test_tcp_bulk_plain.sh runs this again with --no-offload, where neither
# may move.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tp_require curl nginx nc sha256sum
tp_setup

SIZE_MIB=${TP_BULK_MIB:-100}
SIZE=$((SIZE_MIB * 1024 * 1024))
SINK_PORT=9000
www="$TP_TMP/www"
mkdir -p "$www"
head -c "$SIZE" /dev/urandom >"$www/big.bin" || fail "cannot make the test file"
sum=$(sha256sum "$www/big.bin" | cut -d' ' -f1)

tp_start_http "$www"
tp_start_sink "$SINK_PORT"
# shellcheck disable=SC2086 # a list of options
tp_start_proxy ${TP_BULK_PROXY_ARGS:-}

now() { date +%s.%N; }
rate() { awk -v b="$1" -v t0="$2" -v t1="$3" \
	'BEGIN { d = t1 - t0; printf "%.2f s, %.1f MiB/s (%.0f Mbit/s)", d, b / d / 1048576, b * 8 / d / 1e6 }'; }
url() {
	case $1 in
	*:*) printf 'http://[%s]:%s/%s' "$1" "$HTTP_PORT" "$2" ;;
	*) printf 'http://%s:%s/%s' "$1" "$HTTP_PORT" "$2" ;;
	esac
}

mem_idle=$(tp_counter mem_used) || exit 1
rxb0=$(tp_counter rx_bytes) || exit 1
txb0=$(tp_counter tx_bytes) || exit 1
created0=$(tp_counter tcp_conns_created) || exit 1

for host in "$HOST_V4" "$HOST_V6"; do
	# Download.
	t0=$(now)
	out=$(in_app curl -sS --max-time 100 -o "$TP_TMP/dl.bin" -w '%{http_code} %{size_download}' \
		"$(url "$host" big.bin)" 2>&1) || fail "download from $host: curl: $out"
	t1=$(now)
	[ "$out" = "200 $SIZE" ] || fail "download from $host: status/size '$out', want '200 $SIZE'"
	got=$(sha256sum "$TP_TMP/dl.bin" | cut -d' ' -f1)
	[ "$got" = "$sum" ] || fail "download from $host: SHA-256 $got, want $sum"
	rm -f "$TP_TMP/dl.bin"
	tp_log "download $SIZE_MIB MiB from $host: SHA-256 ok, $(rate "$SIZE" "$t0" "$t1")"

	# Upload: nc sends the file, shuts down its write side (-N), and prints
	# what the sink says it received.
	t0=$(now)
	out=$(in_app timeout 100 nc -N "$host" "$SINK_PORT" <"$www/big.bin" 2>&1) ||
		fail "upload to $host: nc failed (status $?): $out"
	t1=$(now)
	[ "$out" = "$SIZE $sum" ] ||
		fail "upload to $host: the sink answered '$out', want '$SIZE $sum'"
	cut -d' ' -f1-4 "$TP_TMP/sink.log" | grep -qxF "sink $host $SIZE $sum" ||
		fail "upload to $host: no matching line in the sink's log: $(cat "$TP_TMP/sink.log")"
	tp_log "upload $SIZE_MIB MiB to $host: SHA-256 ok at the sink, $(rate "$SIZE" "$t0" "$t1")"
done

# Two downloads and two uploads, each on its own connection.
created=$(tp_counter tcp_conns_created) || exit 1
[ $((created - created0)) -eq 4 ] ||
	fail "tcp_conns_created went from $created0 to $created, want 4 more"
# The proxy's own view of the bytes: the uploads came in from the TUN and
# the downloads went out to it (payload only, so at least this much).
rxb=$(tp_counter rx_bytes) || exit 1
[ $((rxb - rxb0)) -ge $((2 * SIZE)) ] ||
	fail "rx_bytes went from $rxb0 to $rxb: want at least $((2 * SIZE)) more (two uploads)"
txb=$(tp_counter tx_bytes) || exit 1
[ $((txb - txb0)) -ge $((2 * SIZE)) ] ||
	fail "tx_bytes went from $txb0 to $txb: want at least $((2 * SIZE)) more (two downloads)"

# Offloads: on by default, off with --no-offload.
gso=$(tp_counter tun_gso_written) || exit 1
tso=$(tp_counter tun_tso_read) || exit 1
case " ${TP_BULK_PROXY_ARGS:-} " in
*" --no-offload "*)
	[ "$gso" = 0 ] && [ "$tso" = 0 ] ||
		fail "--no-offload, yet tun_gso_written is $gso and tun_tso_read $tso"
	;;
*)
	if grep -q 'TUN offloads refused' "$TP_LOG"; then
		tp_log "this kernel refused the TUN offloads: the proxy fell back to the plain path"
	else
		[ "$gso" -gt 0 ] && [ "$tso" -gt 0 ] ||
			fail "offloads on, yet tun_gso_written is $gso and tun_tso_read $tso: no super-packets"
		tp_log "super-packets: $gso written carrying $(tp_counter tun_gso_segments) segments, $tso read"
	fi
	;;
esac

# Everything closed: no connection, no flow, no memory left behind (the
# flows the proxy closed first sit in a 2 s TIME-WAIT).
tp_wait_counter tcp_conns_open -eq 0 10 ||
	fail "tcp_conns_open is $(tp_counter tcp_conns_open) after the transfers, want 0"
tp_wait_counter flows_open -eq 0 10 ||
	fail "flows_open is $(tp_counter flows_open) after the transfers, want 0"
tp_wait_counter mem_used -le "$mem_idle" 10 ||
	fail "mem_used is $(tp_counter mem_used) after the transfers, want its idle $mem_idle"
tp_print_counters
tp_proxy_alive || fail "the proxy died"
tp_pass
