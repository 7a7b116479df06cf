#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One end-to-end run with the proxy under valgrind memcheck (issue 5, point
# 2): a representative mix through one tunproxy process - DNS (A and AAAA
# over IPv4 and IPv6), UDP echo (several flows, both families, a datagram
# that is fragmented both ways), ping and ping -6, a few curls of a page
# (IPv4 and IPv6), a 1 MiB download and a 1 MiB upload (SHA-256 checked), a
# burst of malformed packets (malformed.py), a connect to a closed port
# (RST), then SIGTERM with flows still open. It fails if memcheck
# reports any error (invalid reads/writes, uninitialised values, bad frees)
# or a definite, indirect or possible leak: valgrind's exit status
# (--error-exitcode, leaks counted as errors) and its ERROR SUMMARY in the
# proxy log (lib.sh's teardown checks both; so does this script, to say
# which).
#
# TP_WRAPPER may be set to another valgrind command line; by default it is
# the one below. Skipped without valgrind, and for a sanitizer build
# (ASan and valgrind do not mix).
# shellcheck source=lib.sh
TP_VG_OPTS="--suppressions=$(cd "$(dirname "$0")" && pwd)/valgrind.supp --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --track-origins=yes --num-callers=30"
if [ -z "${TP_WRAPPER:-}" ]; then
	TP_WRAPPER="valgrind $TP_VG_OPTS"
fi
. "$(dirname "$0")/lib.sh"
tp_require valgrind curl nginx nc dig ping sha256sum
if ldd "$TUNPROXY" 2>/dev/null | grep -qE 'lib(asan|tsan|msan)' || nm "$TUNPROXY" 2>/dev/null | grep -q '__asan_init'; then
	skip "$TUNPROXY is a sanitizer build: valgrind cannot run it"
fi
tp_setup
www="$TP_TMP/www"
mkdir -p "$www"
echo "tunproxy under valgrind" >"$www/index.html"
head -c 1048576 /dev/urandom >"$www/one.bin"
sum=$(sha256sum "$www/one.bin" | cut -d' ' -f1)
tp_start_http "$www"
tp_start_dns
tp_start_udp_echo
SINK_PORT=9000
tp_start_sink "$SINK_PORT"
tp_start_proxy
grep -q 'Memcheck' "$TP_LOG" || fail "the proxy does not run under valgrind memcheck: TP_WRAPPER='$TP_WRAPPER'"
tp_log "tunproxy under: $TP_WRAPPER"

# DNS
for s in "$HOST_V4" "$HOST_V6"; do
	out=$(in_app dig +time=5 +tries=3 +short @"$s" "$DNS_NAME" A) || fail "dig @$s: $out"
	[ "$out" = "$HOST_V4" ] || fail "dig @$s A: '$out'"
	out=$(in_app dig +time=5 +tries=3 +short @"$s" "$DNS_NAME" AAAA) || fail "dig @$s AAAA: $out"
	[ "$out" = "$HOST_V6" ] || fail "dig @$s AAAA: '$out'"
done
tp_log "dns ok"

# UDP echo, a few flows, and one datagram fragmented both ways.
for h in "$HOST_V4" "$HOST_V6"; do
	out=$(in_app "$TP_PY" "$TP_E2E_DIR/udp_echo.py" "$h" "$ECHO_PORT" --count 100 --sockets 4 \
		--sizes 3000 --timeout 5 --retries 3 2>&1) || fail "udp echo $h: $out"
	tp_log "$out"
done

# ping
in_app ping -c 5 -i 0.2 -W 5 "$HOST_V4" >"$TP_TMP/ping4" 2>&1 || fail "ping: $(tail -n 2 "$TP_TMP/ping4")"
in_app ping -6 -c 5 -i 0.2 -W 5 "$HOST_V6" >"$TP_TMP/ping6" 2>&1 || fail "ping -6: $(tail -n 2 "$TP_TMP/ping6")"
tp_log "ping ok"

# curls
for i in 1 2 3; do
	for u in "http://$HOST_V4/index.html" "http://[$HOST_V6]/index.html"; do
		out=$(in_app curl -sS --max-time 30 "$u" 2>&1) || fail "curl $u: $out"
		[ "$out" = "tunproxy under valgrind" ] || fail "curl $u: '$out'"
	done
done
tp_log "curl ok"

# a small TCP transfer each way
out=$(in_app curl -sS --max-time 60 -o "$TP_TMP/dl.bin" -w '%{http_code}' "http://$HOST_V4/one.bin" 2>&1) ||
	fail "download: $out"
[ "$(sha256sum "$TP_TMP/dl.bin" | cut -d' ' -f1)" = "$sum" ] || fail "download: SHA-256 differs"
out=$(in_app timeout 60 nc -N "$HOST_V6" "$SINK_PORT" <"$www/one.bin" 2>&1) || fail "upload: nc: $out"
[ "$out" = "1048576 $sum" ] || fail "upload: the sink answered '$out'"
tp_log "1 MiB down and up ok"

# hostile input: a burst of malformed packets (the parsers under memcheck)
out=$(in_app "$TP_PY" "$TP_E2E_DIR/malformed.py" "$TP_TUN" --scale 5 2>&1) || fail "malformed.py: $out"
tp_log "malformed packets: $(echo "$out" | tail -n 1 | cut -c1-120)"
tp_proxy_alive || fail "the proxy died on malformed input"

# a refused connect
out=$(in_app curl -sS --max-time 30 "http://$HOST_V4:81/" 2>&1) && fail "curl to a closed port succeeded: $out"
echo "$out" | grep -qi 'refused\|connect' || fail "curl to a closed port: $out"

tp_wait_counter tcp_conns_open -eq 0 30 || fail "tcp_conns_open is $(tp_counter tcp_conns_open)"
tp_print_counters counter

# Stop the proxy here to read valgrind's verdict (teardown would do the
# same, but say less).
pid=$TP_PID
if ! tp_stop_proxy; then
	grep -E '==[0-9]+== ' "$TP_LOG" | grep -vE 'Copyright|Command|Using Valgrind|Memcheck, a' | tail -n 60 >&2
	fail "valgrind reported errors or leaks (or the proxy did not exit cleanly): see above"
fi
summary=$(grep -E '==[0-9]+== ERROR SUMMARY' "$TP_LOG" | tail -n 1)
[ -n "$summary" ] || fail "no valgrind ERROR SUMMARY in the proxy log (pid $pid)"
echo "$summary" | grep -q 'ERROR SUMMARY: 0 errors' || fail "valgrind: $summary"
tp_log "valgrind: ${summary#*== }; $(grep -E 'definitely lost|indirectly lost|possibly lost|still reachable|All heap blocks' "$TP_LOG" | sed 's/==[0-9]*== *//' | tr '\n' ' ')"
tp_pass
