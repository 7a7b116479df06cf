#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Soak (issue 5, point 6): minutes of mixed traffic through tunproxy, with
# the proxy's memory and fds watched.
#
#   tests/soak/soak.sh [--minutes N | --seconds N]     (default 10 minutes)
#
# Run as root (namespaces: the topology of tests/e2e/lib.sh). The traffic,
# all from the app namespace to the test hosts in "net" (soak_loops.sh,
# soak_http.py), until the deadline:
#   - many short HTTP requests: 4 threads, a new TCP connection each, small
#     pages over IPv4 and IPv6 (about 100-150 a second);
#   - bulk transfers, one after the other: an 8 MiB download (curl,
#     SHA-256 checked) and an 8 MiB upload (nc to a SHA-256 sink), v4 and
#     v6 in turn, 5 s apart;
#   - DNS: dig A/AAAA from dnsmasq over v4 and v6, 5 a second (a new UDP
#     flow each);
#   - ping: one echo every 0.2 s over IPv4 and one over IPv6;
#   - UDP echo: a burst of 50 datagrams a second (udp_echo.py).
# Every SOAK_SAMPLE seconds (default 5) the proxy's VmRSS, open fds and
# flows_open/mem_used are sampled. The proxy runs with --udp-timeout 10
# --dns-timeout 5 --icmp-timeout 5, so that its flows are gone soon after
# the traffic stops.
#
# Pass/fail:
#   - RSS flat: after the warm-up (a fifth of the run, at least 15 s, at
#     most 120 s), no sample is more than 5% above the highest warm-up
#     sample (the band of all post-warm-up samples around it is printed;
#     not checked for a sanitizer build or under TP_WRAPPER);
#   - when the traffic has stopped and the flows have expired, the proxy's
#     open fd count is back to its value before the traffic (and
#     tcp_conns_open and flows_open are 0);
#   - no HTTP request, bulk transfer, DNS lookup or UDP burst failed (each
#     has retries or generous timeouts; retries and ping losses are only
#     printed: under load app's kernel drops a few packets at tp0's queue,
#     counted as its TX drops);
#   - the proxy is alive and exits cleanly (sanitizer builds: no report).
# Output: the samples and a summary (markdown: SOAK_REPORT=FILE also writes
# it there). Environment: as tests/e2e/lib.sh (TUNPROXY, TP_WRAPPER, ...),
# SOAK_SECONDS, SOAK_SAMPLE, SOAK_BULK_MIB (default 8).
SOAK_DIR=$(cd "$(dirname "$0")" && pwd)
TP_E2E_DIR=${TP_E2E_DIR:-$(cd "$SOAK_DIR/../e2e" && pwd)}
TP_NAME=${TP_NAME:-soak}
SECS=${SOAK_SECONDS:-600}
while [ $# -gt 0 ]; do
	case $1 in
	--minutes) SECS=$(($2 * 60)); shift 2 ;;
	--seconds) SECS=$2; shift 2 ;;
	-h | --help) sed -n '2,/^SOAK_DIR/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "soak.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
	esac
done
# shellcheck source=../e2e/lib.sh
. "$TP_E2E_DIR/lib.sh"
SAMPLE=${SOAK_SAMPLE:-5}
BULK_MIB=${SOAK_BULK_MIB:-8}
WARM=$((SECS / 5))
[ "$WARM" -lt 15 ] && WARM=15
[ "$WARM" -gt 120 ] && WARM=120
SINK_PORT=9000
# Under ASan (quarantine, shadow memory) or valgrind the RSS says nothing
# about the proxy's own memory: it is printed, not checked.
SAN=0
if [ -n "${TP_WRAPPER:-}" ] || ldd "$TUNPROXY" 2>/dev/null | grep -qE 'lib(asan|tsan|msan)' ||
	nm "$TUNPROXY" 2>/dev/null | grep -q '__asan_init'; then
	SAN=1
fi

tp_require curl nginx nc dig ping sha256sum
tp_setup
www="$TP_TMP/www"
mkdir -p "$www"
head -c 1200 /dev/urandom >"$www/small.bin"
head -c 20000 /dev/urandom >"$www/page.bin"
head -c $((BULK_MIB * 1048576)) /dev/urandom >"$www/bulk.bin"
bulk_sum=$(sha256sum "$www/bulk.bin" | cut -d' ' -f1)
tp_start_http "$www"
tp_start_dns
tp_start_udp_echo
tp_spawn "$NS_NET" "$TP_TMP/sink.log" "$TP_PY" -u "$TP_E2E_DIR/tcp_sink.py" \
	"$HOST_V4" "$SINK_PORT" "$HOST_V6" "$SINK_PORT"
TP_PIDS+=("$TP_SPAWNED")
# shellcheck disable=SC2016
tp_wait_for 10 sh -c "ip netns exec $NS_NET ss -Hltn 'sport = :$SINK_PORT' | grep -q '\\[$HOST_V6\\]'" &&
	tp_wait_for 10 sh -c "ip netns exec $NS_NET ss -Hltn 'sport = :$SINK_PORT' | grep -q '$HOST_V4'" ||
	fail "the sink is not listening: $(cat "$TP_TMP/sink.log")"
tp_start_proxy --udp-timeout 10 --dns-timeout 5 --icmp-timeout 5

rss() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$TP_PID/status"; }
fds() { find "/proc/$TP_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
FDS0=$(fds)
RSS0=$(rss)
tp_log "soak: $SECS s of mixed traffic, samples every $SAMPLE s, warm-up $WARM s; proxy pid $TP_PID: RSS $RSS0 kB, $FDS0 fds"

T0=$(date +%s)
DEADLINE=$((T0 + SECS))
LOOPS=()
loop() { # loop NAME CMD...: a traffic loop in "app", its own log
	local name=$1
	shift
	tp_spawn "$NS_APP" "$TP_TMP/loop-$name.log" "$@"
	TP_PIDS+=("$TP_SPAWNED")
	LOOPS+=("$name:$TP_SPAWNED")
}
loop http "$TP_PY" -u "$SOAK_DIR/soak_http.py" "$SECS" 4 0.02 \
	"http://$HOST_V4/small.bin" 1200 "http://[$HOST_V6]/small.bin" 1200 \
	"http://$HOST_V4/page.bin" 20000 "http://[$HOST_V6]/page.bin" 20000
loop bulk bash "$SOAK_DIR/soak_loops.sh" bulk "$DEADLINE" "http://$HOST_V4/bulk.bin" \
	"http://[$HOST_V6]/bulk.bin" "$www/bulk.bin" "$bulk_sum" "$HOST_V4" "$HOST_V6" "$SINK_PORT"
loop dns bash "$SOAK_DIR/soak_loops.sh" dns "$DEADLINE" "$HOST_V4" "$HOST_V6" "$DNS_NAME" "$HOST_V4" "$HOST_V6"
loop udp bash "$SOAK_DIR/soak_loops.sh" udp "$DEADLINE" "$HOST_V4" "$HOST_V6" "$ECHO_PORT" "$TP_PY" "$TP_E2E_DIR"
loop ping4 ping -i 0.2 -w "$SECS" -q "$HOST_V4"
loop ping6 ping -6 -i 0.2 -w "$SECS" -q "$HOST_V6"

# Samples: seconds since the start, RSS kB, fds, flows_open, mem_used.
SAMPLES="$TP_TMP/samples"
: >"$SAMPLES"
printf '[%s] %6s %8s %6s %6s %10s\n' "$TP_NAME" t rss_kB fds flows mem_used >&2
while :; do
	now=$(date +%s)
	[ "$now" -ge "$DEADLINE" ] && break
	tp_proxy_alive || fail "the proxy died during the soak"
	line="$((now - T0)) $(rss) $(fds) $(tp_counter flows_open) $(tp_counter mem_used)"
	echo "$line" >>"$SAMPLES"
	# shellcheck disable=SC2086
	printf '[%s] %6s %8s %6s %6s %10s\n' "$TP_NAME" $line >&2
	left=$((DEADLINE - $(date +%s)))
	[ "$left" -le 0 ] && break
	sleep $((left < SAMPLE ? left : SAMPLE))
done

# The traffic ends by itself at the deadline (a bulk transfer may finish
# after it): wait for every loop.
for l in "${LOOPS[@]}"; do
	pid=${l#*:}
	for ((i = 0; i < 1800; i++)); do
		tp_running "$pid" || break
		sleep 0.1
	done
	tp_running "$pid" && fail "traffic loop ${l%%:*} did not end 180 s after the deadline"
	wait "$pid" 2>/dev/null
done
T_END=$(($(date +%s) - T0))
# Packets the app's kernel could not queue to the proxy (tp0 full): the
# only place where this setup loses packets on purpose-free paths.
TUN_DROPS=$(ip -n "$NS_APP" -s link show "$TP_TUN" | awk '/TX:/ { getline; print $4; exit }')
RSS_END=$(rss)

# Flows expire (UDP 10 s, DNS and ICMP 5 s, TCP at once or after a 2 s
# TIME-WAIT); then the fds must be back where they started.
tp_wait_counter tcp_conns_open -eq 0 30 || fail "tcp_conns_open is $(tp_counter tcp_conns_open) after the soak"
tp_wait_counter flows_open -eq 0 60 || fail "flows_open is $(tp_counter flows_open) 60 s after the soak"
for ((i = 0; i < 100; i++)); do
	[ "$(fds)" = "$FDS0" ] && break
	sleep 0.2
done
FDS_END=$(fds)
RSS_IDLE=$(rss)

# The verdict.
count() { sed -n "s/^$2 ok \\([0-9]*\\) failed \\([0-9]*\\)$/\\$1/p" "$TP_TMP/loop-$3.log" | tail -n 1; }
http_ok=$(count 1 http http) http_fail=$(count 2 http http)
bulk_ok=$(count 1 bulk bulk) bulk_fail=$(count 2 bulk bulk)
dns_ok=$(count 1 dns dns) dns_fail=$(count 2 dns dns)
dns_retried=$(sed -n 's/^dns retried \([0-9]*\)$/\1/p' "$TP_TMP/loop-dns.log")
udp_resent=$(sed -n 's/^udp retried \([0-9]*\)$/\1/p' "$TP_TMP/loop-udp.log")
udp_ok=$(count 1 udp udp) udp_fail=$(count 2 udp udp)
pings() { sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\2 of \1 answered/p' "$TP_TMP/loop-$1.log"; }
ping4=$(pings ping4)
ping6=$(pings ping6)
read -r n_s rss_warm_max post_min post_max post_first post_last <<<"$(awk -v w="$WARM" '
	$1 <= w { if ($2 > wm) wm = $2 }
	$1 > w { if (!n || $2 < mn) mn = $2; if ($2 > mx) mx = $2; if (!n) first = $2; last = $2; n++ }
	END { print n + 0, wm + 0, mn + 0, mx + 0, first + 0, last + 0 }' "$SAMPLES")"
read -r fds_max flows_max mem_max <<<"$(awk '
	{ if ($3 > f) f = $3; if ($4 > fl) fl = $4; if ($5 > m) m = $5 } END { print f + 0, fl + 0, m + 0 }' "$SAMPLES")"
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%+.1f%%", (a - b) * 100 / b; else print "n/a" }'; }

REPORT="$TP_TMP/soak.md"
{
	echo "Soak of $SECS s (traffic until $T_END s), samples every $SAMPLE s, warm-up $WARM s; tunproxy $("$TUNPROXY" --version 2>&1 | head -n 1)"
	echo
	echo "| what | figure |"
	echo "| --- | --- |"
	echo "| short HTTP requests | $http_ok ok, $http_fail failed |"
	echo "| bulk transfers ($BULK_MIB MiB, SHA-256) | $bulk_ok ok, $bulk_fail failed |"
	echo "| DNS lookups | $dns_ok ok ($dns_retried answered at dig's retry), $dns_fail failed |"
	echo "| UDP echo bursts (50 datagrams) | $udp_ok ok ($udp_resent datagrams resent), $udp_fail failed |"
	echo "| packets app's kernel dropped at tp0's queue (TX dropped) | $TUN_DROPS |"
	echo "| ping IPv4 / IPv6 | ${ping4:-?} / ${ping6:-?} |"
	echo "| RSS at start (idle) | $RSS0 kB |"
	echo "| RSS, highest in warm-up | $rss_warm_max kB |"
	echo "| RSS after warm-up ($n_s samples): first / min / max / last | $post_first / $post_min / $post_max / $post_last kB (max $(pct "$post_max" "$rss_warm_max") vs warm-up peak) |"
	echo "| RSS at the end of the traffic / idle after | $RSS_END / $RSS_IDLE kB |"
	echo "| open fds: before / highest sample / after | $FDS0 / $fds_max / $FDS_END |"
	echo "| flows_open highest sample; mem_used highest sample | $flows_max; $mem_max bytes |"
	echo "| counters | tcp_conns_created $(tp_counter tcp_conns_created), flows_created $(tp_counter flows_created), mem_peak $(tp_counter mem_peak), tcp_retransmits $(tp_counter tcp_retransmits), rx_dropped_malformed $(tp_counter rx_dropped_malformed), tx_dropped $(tp_counter tx_dropped) |"
} >"$REPORT"
tp_log "summary:"
cat "$REPORT" >&2
[ -n "${SOAK_REPORT:-}" ] && cp "$REPORT" "$SOAK_REPORT"

FAILS=()
[ -n "$http_ok" ] || FAILS+=("the HTTP loop printed no result: $(tail -n 3 "$TP_TMP/loop-http.log")")
[ "${http_fail:-1}" = 0 ] || FAILS+=("$http_fail HTTP requests failed: $(grep '^error' "$TP_TMP/loop-http.log" | head -n 3)")
[ "${bulk_fail:-1}" = 0 ] || FAILS+=("$bulk_fail bulk transfers failed: $(grep '^error' "$TP_TMP/loop-bulk.log" | head -n 3)")
[ "${dns_fail:-1}" = 0 ] || FAILS+=("$dns_fail DNS lookups failed: $(grep '^error' "$TP_TMP/loop-dns.log" | head -n 3)")
[ "${udp_fail:-1}" = 0 ] || FAILS+=("$udp_fail UDP echo bursts failed: $(grep '^error' "$TP_TMP/loop-udp.log" | head -n 3)")
[ "${http_ok:-0}" -gt 0 ] && [ "${bulk_ok:-0}" -gt 0 ] && [ "${dns_ok:-0}" -gt 0 ] && [ "${udp_ok:-0}" -gt 0 ] ||
	FAILS+=("some traffic never succeeded (http $http_ok, bulk $bulk_ok, dns $dns_ok, udp $udp_ok)")
if [ "$SAN" = 1 ]; then
	tp_log "(sanitizer build or TP_WRAPPER: the RSS is printed, not checked; the allocator's quarantine grows it, LeakSanitizer checks leaks at exit)"
elif [ "$n_s" -gt 0 ]; then
	[ "$post_max" -le $((rss_warm_max * 105 / 100)) ] ||
		FAILS+=("RSS grew after the warm-up: $post_max kB, more than 5% above the warm-up's $rss_warm_max kB")
else
	FAILS+=("no RSS sample after the warm-up (run longer than $WARM s)")
fi
[ "$FDS_END" = "$FDS0" ] || FAILS+=("the proxy has $FDS_END fds open after the traffic, $FDS0 before")
tp_proxy_alive || fail "the proxy died"
[ ${#FAILS[@]} = 0 ] || fail "$(printf '%s; ' "${FAILS[@]}")"
tp_pass
