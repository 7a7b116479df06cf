#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The C embedding example (examples/embed.c) end to end: an app that reads
# a TUN on its own thread and feeds tunproxy in callback mode (tp_input in
# batches, output callback writing back), as an iOS packetFlow app does.
# Through it, from the app namespace: DNS (dig, over IPv4 and IPv6), ping
# (IPv4 and IPv6), HTTP (curl, small page), and a 20 MiB byte-exact
# download (IPv4 and IPv6) and upload (IPv4), SHA-256 compared. The
# engine's counters (read with SIGUSR1, as from tunproxy) must show the
# connections, and all of them closed at the end. scripts/test.sh runs
# this in the ASan/UBSan tree and under ThreadSanitizer (build-tsan, where
# the Darwin TCP receive path is built too: TP_TCPRX_COPY=ON); a sanitizer
# report fails it.
#
# Environment: TP_EMBED (the example binary; CTest sets it, default
# build/examples/embed), TP_EMBED_MIB (transfer size, default 20).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
TP_EMBED=${TP_EMBED:-$TP_ROOT/build/examples/embed}
tp_require dig curl nginx nc ping sha256sum
[ -x "$TP_EMBED" ] || fail "embed example not found at $TP_EMBED (build it, or set TP_EMBED)"
# lib.sh checks for the tunproxy binary, which this test does not run.
[ -x "$TUNPROXY" ] || TUNPROXY=$TP_EMBED
tp_setup

SIZE_MIB=${TP_EMBED_MIB:-20}
SIZE=$((SIZE_MIB * 1024 * 1024))
SINK_PORT=9000
www="$TP_TMP/www"
mkdir -p "$www"
printf 'hello from net\n' >"$www/hello.txt"
head -c "$SIZE" /dev/urandom >"$www/big.bin" || fail "cannot make the test file"
sum=$(sha256sum "$www/big.bin" | cut -d' ' -f1)

tp_start_dns
tp_start_http "$www"
tp_start_sink "$SINK_PORT"
tp_start_proxy_cmd "$TP_EMBED" --tun "$TP_TUN" --no-tun-config -v

url() {
	case $1 in
	*:*) printf 'http://[%s]:%s/%s' "$1" "$HTTP_PORT" "$2" ;;
	*) printf 'http://%s:%s/%s' "$1" "$HTTP_PORT" "$2" ;;
	esac
}

# DNS over UDP, to a v4 and a v6 server.
for server in "$HOST_V4" "$HOST_V6"; do
	out=$(in_app dig +time=5 +tries=2 +short @"$server" "$DNS_NAME" A 2>&1) ||
		fail "dig @$server: $out"
	[ "$out" = "$HOST_V4" ] || fail "dig @$server $DNS_NAME A: got '$out', want $HOST_V4"
done
tp_log "dig over IPv4 and IPv6: ok"

# ICMP echo.
in_app ping -c 3 -i 0.2 -W 5 "$HOST_V4" >"$TP_TMP/ping4.log" 2>&1 ||
	fail "ping $HOST_V4: $(tail -n 3 "$TP_TMP/ping4.log")"
in_app ping -6 -c 3 -i 0.2 -W 5 "$HOST_V6" >"$TP_TMP/ping6.log" 2>&1 ||
	fail "ping -6 $HOST_V6: $(tail -n 3 "$TP_TMP/ping6.log")"
tp_log "ping over IPv4 and IPv6: ok"

created0=$(tp_counter tcp_conns_created) || exit 1

# HTTP: a small page, then the big file byte-exact over both families.
out=$(in_app curl -sS --max-time 30 "$(url "$HOST_V4" hello.txt)" 2>&1) || fail "curl: $out"
[ "$out" = "hello from net" ] || fail "curl hello.txt: got '$out'"
for host in "$HOST_V4" "$HOST_V6"; do
	out=$(in_app curl -sS --max-time 300 -o "$TP_TMP/dl.bin" -w '%{http_code} %{size_download}' \
		"$(url "$host" big.bin)" 2>&1) || fail "download from $host: curl: $out"
	[ "$out" = "200 $SIZE" ] || fail "download from $host: status/size '$out', want '200 $SIZE'"
	got=$(sha256sum "$TP_TMP/dl.bin" | cut -d' ' -f1)
	[ "$got" = "$sum" ] || fail "download from $host: SHA-256 $got, want $sum"
	rm -f "$TP_TMP/dl.bin"
	tp_log "download $SIZE_MIB MiB from $host: SHA-256 ok"
done

# Upload: nc sends the file and half-closes; the sink answers with what it got.
out=$(in_app timeout 300 nc -N "$HOST_V4" "$SINK_PORT" <"$www/big.bin" 2>&1) ||
	fail "upload: nc failed (status $?): $out"
[ "$out" = "$SIZE $sum" ] || fail "upload: the sink answered '$out', want '$SIZE $sum'"
tp_log "upload $SIZE_MIB MiB to $HOST_V4: SHA-256 ok at the sink"

created=$(tp_counter tcp_conns_created) || exit 1
[ $((created - created0)) -eq 4 ] ||
	fail "tcp_conns_created went from $created0 to $created, want 4 more"
tp_wait_counter tcp_conns_open -eq 0 15 ||
	fail "tcp_conns_open is $(tp_counter tcp_conns_open) after the transfers, want 0"
tp_print_counters

# A clean stop (exit status 0, no sanitizer report: checked by teardown,
# ThreadSanitizer's reports here).
tp_stop_proxy || fail "the embed example did not stop cleanly"
if grep -q 'ThreadSanitizer' "$TP_LOG"; then
	grep -A 20 'ThreadSanitizer' "$TP_LOG" | head -n 60 >&2
	fail "ThreadSanitizer report in the example's log"
fi
grep -q '^embed: stopped' "$TP_LOG" || fail "no 'embed: stopped' line in the log"
tp_pass
