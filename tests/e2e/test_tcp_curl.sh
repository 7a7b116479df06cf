#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# HTTP over tunproxy's userspace TCP with the app's kernel TCP and curl on
# one side and nginx in "net" on the other, over IPv4 and IPv6: small pages
# (a few bytes, a few KB, 200 KB: several windows) are fetched and compared
# byte for byte, HEAD must give the headers (with the right Content-Length)
# and no body, a 404 must come through as a 404, and several requests in one
# curl run must reuse one keep-alive connection (curl's num_connects and the
# proxy's tcp_conns_created agree). Afterwards every connection is closed
# and the proxy's TCP connection and flow counts are back to zero.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tp_require curl nginx cmp head
tp_setup

www="$TP_TMP/www"
mkdir -p "$www"
printf 'hello from net\n' >"$www/hello.txt"
head -c 3000 /dev/urandom | base64 >"$www/page.html"
head -c 200000 /dev/urandom >"$www/blob.bin"
tp_start_http "$www"
tp_start_proxy

# url HOST PATH: an http URL for HOST (an IPv6 literal gets brackets).
url() {
	case $1 in
	*:*) printf 'http://[%s]:%s/%s' "$1" "$HTTP_PORT" "$2" ;;
	*) printf 'http://%s:%s/%s' "$1" "$HTTP_PORT" "$2" ;;
	esac
}
fetch() { in_app curl -sS --max-time 20 "$@" 2>&1; }

created0=$(tp_counter tcp_conns_created) || exit 1
for host in "$HOST_V4" "$HOST_V6"; do
	# GET: each page byte-exact.
	for f in hello.txt page.html blob.bin; do
		out=$(fetch -o "$TP_TMP/got" -w '%{http_code} %{size_download}' "$(url "$host" "$f")") ||
			fail "GET $f from $host: $out"
		[ "$out" = "200 $(stat -c %s "$www/$f")" ] || fail "GET $f from $host: status/size '$out'"
		cmp -s "$www/$f" "$TP_TMP/got" || fail "GET $f from $host: the body differs from the file"
	done
	tp_log "GET from $host: 3 pages byte-exact"

	# HEAD: headers only, the right length, no body.
	hdr=$(fetch -I "$(url "$host" blob.bin)") || fail "HEAD from $host: $hdr"
	hdr=$(printf '%s\n' "$hdr" | tr -d '\r')
	printf '%s\n' "$hdr" | grep -q '^HTTP/1.1 200 OK$' || fail "HEAD from $host: no 200 in: $hdr"
	printf '%s\n' "$hdr" | grep -qi '^Content-Length: 200000$' ||
		fail "HEAD from $host: wrong Content-Length in: $hdr"
	printf '%s\n' "$hdr" | grep -qi '^Server: nginx' || fail "HEAD from $host: not nginx: $hdr"

	# A missing page is a 404 from nginx, not a transport error.
	out=$(fetch -o /dev/null -w '%{http_code}' "$(url "$host" nope.html)") ||
		fail "GET nope.html from $host: $out"
	[ "$out" = 404 ] || fail "GET nope.html from $host: status $out, want 404"

	# Keep-alive: four requests, one connection.
	c0=$(tp_counter tcp_conns_created) || exit 1
	out=$(fetch -w '%{num_connects} %{http_code}\n' \
		-o "$TP_TMP/k1" "$(url "$host" page.html)" \
		-o "$TP_TMP/k2" "$(url "$host" blob.bin)" \
		-o "$TP_TMP/k3" "$(url "$host" hello.txt)" \
		-o "$TP_TMP/k4" "$(url "$host" page.html)") || fail "keep-alive to $host: $out"
	c1=$(tp_counter tcp_conns_created) || exit 1
	[ "$(printf '%s\n' "$out" | tr '\n' ' ')" = "1 200 0 200 0 200 0 200 " ] ||
		fail "keep-alive to $host: want one connect and four 200s, curl says: $out"
	[ $((c1 - c0)) -eq 1 ] ||
		fail "keep-alive to $host: tcp_conns_created went from $c0 to $c1, want exactly 1 more"
	cmp -s "$www/page.html" "$TP_TMP/k1" && cmp -s "$www/blob.bin" "$TP_TMP/k2" &&
		cmp -s "$www/hello.txt" "$TP_TMP/k3" && cmp -s "$www/page.html" "$TP_TMP/k4" ||
		fail "keep-alive to $host: a body differs from its file"
	tp_log "HEAD, 404 and 4 keep-alive requests on 1 connection to $host: ok"
done
created=$(tp_counter tcp_conns_created) || exit 1
# Per family: 3 GETs + HEAD + 404 + 1 keep-alive connection = 6.
[ $((created - created0)) -eq 12 ] ||
	fail "tcp_conns_created went from $created0 to $created, want 12 more"

tp_wait_counter tcp_conns_open -eq 0 10 ||
	fail "tcp_conns_open is $(tp_counter tcp_conns_open) after all transfers, want 0"
tp_wait_counter flows_open -eq 0 10 ||
	fail "flows_open is $(tp_counter flows_open) after all transfers, want 0"
tp_print_counters
tp_proxy_alive || fail "the proxy died"
tp_pass
