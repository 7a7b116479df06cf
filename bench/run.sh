#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/run.sh: tunproxy's benchmark, beside the kernel and the peers.
#
#   bench/run.sh            full run: 3 repetitions, 10 s iperf3, 5 s probes
#   bench/run.sh --quick    1 repetition, short durations
#   bench/run.sh --reps N --time SECS --probe-time SECS
#
# Every forwarder gets the same three-namespace topology of
# shared/TESTING.md, made fresh for each forwarder and repetition:
#
#   ns app (the client)  ->  ns proxy (the forwarder)  ->  ns net (servers)
#                            vp 198.51.100.2/24 <-> vn 198.51.100.1/24
#                                                       lo 203.0.113.10
# Forwarders (FORWARDERS, default "kernel tunproxy tunproxy-plain
# tunproxy-embedded tunproxy-embedded-3M tunproxy-65520 pasta pasta-65520
# slirp4netns slirp4netns-65520"):
#   kernel        app --veth--> proxy (ip_forward=1, a plain router) --> net
#   tunproxy      tunproxy --tun tp0 --no-tun-config in proxy; tp0 moved to
#                 app, 10.0.0.8/24, default route via tp0, MTU 1500
#                 (the TUN offloads on, its default: TSO/GSO super-packets
#                 both ways; tunproxy-plain: --no-offload, one packet per
#                 segment as over a handed-in fd; tunproxy-65520: --mtu
#                 65520 and the same on tp0; tunproxy-embedded: the
#                 phone's data path on this machine, --tcp-rx copy
#                 --no-offload (host data in userspace rings, one packet
#                 per segment: what iOS and a handed-in Android fd get);
#                 tunproxy-embedded-3M: the same under --max-memory 3M)
#   pasta         pasta -f --config-net in proxy, attached to the app ns
#                 (MTU 1500; pasta-65520: pasta's default MTU)
#   slirp4netns   slirp4netns --configure in proxy, tap0 in the app ns
#                 (MTU 1500; slirp4netns-65520)
# Scenarios (SCENARIOS, default "up down rr crr urr mem dl64"; the -65520
# and -plain variants run only "up down", tunproxy-embedded-3M only dl64,
# unless SCENARIOS is set):
#   up, down   iperf3 single stream to/from 203.0.113.10 (-R for down);
#              Gbit/s, sender retransmits, forwarder CPU seconds per GB
#   rr         probe rr: 1-byte TCP round trips per second, one connection
#   crr        probe crr: TCP connections per second (client closes first)
#   urr        probe urr: 1-byte UDP round trips per second
#   unf        probe unf: DNS-like queries per second, each from a new UDP
#              socket (a new flow for the forwarder)
#   udp        iperf3 -u -l 1400 at each rate of UDP_RATES (default 1G),
#              each way, with default socket buffers and with -w 4M (what
#              QUIC stacks set): loss % and goodput
#   umax       the highest received rate with < 1 % loss, each way, while
#              offering the rates of UDP_LADDER in turn (default 0.25G 0.5G
#              1G 1.5G 2G 3G 4G 6G, 4 MB buffers, UDP_LADDER_TIME s each,
#              default 3); the ladder stops at the first rate that loses
#              more
#   mem        forwarder VmRSS at start-up, then before and after opening
#              HOLD_COUNTS (default "1000 10000") idle connections with
#              probe hold; per connection = delta / N. For tunproxy also
#              its mem_used counter (SIGUSR1). Run in the first repetition.
#   idle       the forwarder's wake-ups (context switches of all its
#              threads) over IDLE_TIME s (default 20) with no flows, then
#              with 1,000 idle TCP connections held open (probe hold)
#   wrk        wrk -t 2 -c 32 -d WRK_TIME (default 8) --latency fetching a
#              1 MiB file from nginx: requests/s, latency median, p90,
#              p99, requests over wrk's 2 s timeout, and the packets the
#              app-side device dropped on transmit (ip -s link: the app's
#              ACKs and requests waiting in a TUN queue the forwarder did
#              not drain; its queue length is the kernel's default, 500)
#   dl64       64 concurrent 10 MiB downloads (socat sends a file and
#              closes; socat clients read to the FIN): seconds for all,
#              aggregate Gbit/s, the forwarder's RSS peak, and for tunproxy
#              mem_peak and the receive-ring counters
# Results: a table on stdout (medians, and each forwarder's ratio to the
# kernel path of the same run) and the same as markdown in
# bench/results/<date>-<host>.md, with the raw per-repetition figures.
# Benchmarks are not tests: nothing here fails on a number.
#
# Environment: FORWARDERS, SCENARIOS, HOLD_COUNTS, REPS, TIME, PROBE_TIME,
# UDP_RATES, UDP_LADDER, UDP_LADDER_TIME,
# TW_REUSE (net.ipv4.tcp_tw_reuse in all namespaces, default 1; see docs/performance.md),
# PIN (1: client on CPU 0, servers on CPU 1; 0: no pinning; see docs/performance.md),
# PERF=1 (perf profiles of the forwarders during iperf3),
# TUNPROXY (binary; default: build it in build-bench/), TUNPROXY_ARGS
# (extra options), TUNPROXY_BASE (another tunproxy binary, e.g. main's
# build, run as the forwarders tunproxy-base and tunproxy-base-plain for a
# before/after in the same run), KEEP=1 (keep the temp dir with logs).
# Needs root.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
BENCH="$ROOT/bench"

REPS=${REPS:-3}
TIME=${TIME:-10}
PROBE_TIME=${PROBE_TIME:-5}
QUICK=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick)
		QUICK=1
		REPS=1
		TIME=3
		PROBE_TIME=2
		;;
	--reps) REPS=$2; shift ;;
	--time) TIME=$2; shift ;;
	--probe-time) PROBE_TIME=$2; shift ;;
	-h | --help)
		sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*) echo "run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done
FORWARDERS=${FORWARDERS:-kernel tunproxy tunproxy-plain tunproxy-embedded tunproxy-embedded-3M tunproxy-65520 pasta pasta-65520 slirp4netns slirp4netns-65520}
HOLD_COUNTS=${HOLD_COUNTS:-1000 10000}
SCENARIOS_SET=${SCENARIOS+x}
SCENARIOS=${SCENARIOS:-up down rr crr urr unf udp umax mem idle wrk dl64}
IDLE_TIME=${IDLE_TIME:-20}
WRK_TIME=${WRK_TIME:-8}
WRK_PORT=7300
UDP_RATES=${UDP_RATES:-1G}
UDP_LADDER=${UDP_LADDER:-0.25G 0.5G 1G 1.5G 2G 3G 4G 6G}
UDP_LADDER_TIME=${UDP_LADDER_TIME:-3}
# net.ipv4.tcp_tw_reuse in every namespace. The kernel default (2) reuses a
# TIME_WAIT port for a new connect() only over loopback, so past ~14k
# back-to-back connections to one server port even the kernel path falls to
# a few hundred conn/s. With 1 (what hosts making many short outbound
# connections set) the app's kernel reuses TIME_WAIT ports safely when the
# forwarder's segments carry TCP timestamps (RFC 7323): crr then shows
# whether a forwarder offers them, as shared/reference/peer-findings.md says.
TW_REUSE=${TW_REUSE:-1}
# PIN=1 (default): the client runs on CPU 0 and the servers on CPU 1
# (taskset); the forwarder is left to the scheduler. Unpinned, a 1-byte
# round trip costs ~3x more when client and server land on different CPUs
# of this VM than on the same one (cross-CPU wake-ups), and the rr figures
# of repeated runs spread from 15k to 50k. Pinned, the kernel path measures
# the cross-CPU case every time (the figure peer-findings.md reports).
PIN=${PIN:-1}
# PERF=1: perf record the userspace forwarder during the first repetition's
# iperf3 runs (TCP, and UDP at the first of UDP_RATES with 4 MB buffers)
# and its urr and unf probes; flat profiles and system-call counts go to
# bench/results/<date>-perf-FWD-SCENARIO.txt.
PERF=${PERF:-0}
[ "$PERF" = 1 ] && ! command -v perf >/dev/null && { echo "run.sh: PERF=1 needs perf" >&2; PERF=0; }
STAMP=$(date -u +%Y%m%d-%H%M%S)
if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	CLIENT_PIN=(taskset -c 0)
	SERVER_PIN=(taskset -c 1)
else
	PIN=0
	CLIENT_PIN=()
	SERVER_PIN=()
fi

[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (network namespaces, TUN)" >&2; exit 1; }
for c in ip iperf3 gcc python3 ss setsid socat; do
	command -v "$c" >/dev/null || { echo "run.sh: needs $c" >&2; exit 1; }
done

# Addresses (documentation ranges: they exist only in our namespaces).
NET_V4=198.51.100.1
PROXY_V4=198.51.100.2
SERVER=203.0.113.10
APP_V4=10.0.0.8
IPERF_PORT=5201
PROBE_PORT=7000 # rr, crr, urr
DL_PORT=7200    # dl64's file server
DL_CONNS=64
DL_MIB=10
HOLD_PORT=7100  # idle connections (not the port crr filled with TIME_WAITs)

ID="bp$$"
TMP=$(mktemp -d "/tmp/tunproxy-bench.$ID.XXXXXX")
RAW="$TMP/raw.tsv"
: >"$RAW"
PIDS=()
NS_MADE=()
FWD_PID=""
FWD_LOG=""

log() { printf '[bench] %s\n' "$*" >&2; }

# --- process bookkeeping: only PIDs we started, each its own group ----------

running() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ]
}

stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	if running "$pid"; then
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 100; i++)); do
			running "$pid" || break
			sleep 0.1
		done
		running "$pid" && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null; }
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# spawn NS LOG CMD...: start CMD in NS in its own session; sets SPAWNED.
spawn() {
	local ns=$1 lg=$2
	shift 2
	setsid ip netns exec "$ns" "$@" >"$lg" 2>&1 </dev/null &
	SPAWNED=$!
	PIDS+=("$SPAWNED")
}

teardown_topology() {
	local pid ns
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	PIDS=()
	FWD_PID=""
	for ns in "${NS_MADE[@]}"; do ip netns del "$ns" 2>/dev/null; done
	NS_MADE=()
}

cleanup() {
	trap - EXIT INT TERM
	teardown_topology
	if [ -n "${KEEP:-}" ]; then
		log "logs kept in $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# --- build --------------------------------------------------------------------

PROBE="$TMP/probe"
gcc -O2 -Wall -Wextra -o "$PROBE" "$BENCH/probe.c" || { echo "run.sh: probe build failed" >&2; exit 1; }

# build_tunproxy SRC BUILD: Release build of the tunproxy binary.
build_tunproxy() {
	cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release -DTP_TESTS=OFF >>"$TMP/cmake.log" 2>&1 &&
		cmake --build "$2" -j "$(nproc)" --target tunproxy >>"$TMP/cmake.log" 2>&1
}

TUNPROXY_OK=1
TUNPROXY_REV="$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
if [ -z "${TUNPROXY:-}" ]; then
	TUNPROXY="$ROOT/build-bench/tunproxy"
	case " $FORWARDERS " in
	*" tunproxy"*)
		log "building tunproxy (Release) in build-bench/"
		if ! build_tunproxy "$ROOT" "$ROOT/build-bench"; then
			tail -n 5 "$TMP/cmake.log" >&2
			# Work in progress elsewhere in the tree must not stop the
			# bench: fall back to the last commit.
			log "the working tree does not build; building the last commit (HEAD) instead"
			mkdir -p "$TMP/src"
			TUNPROXY="$TMP/build/tunproxy"
			TUNPROXY_REV="$(git -C "$ROOT" rev-parse --short HEAD) (HEAD; the working tree did not build)"
			if ! { git -C "$ROOT" archive HEAD | tar -x -C "$TMP/src" &&
				build_tunproxy "$TMP/src" "$TMP/build"; }; then
				tail -n 20 "$TMP/cmake.log" >&2
				log "tunproxy build failed: its rows are skipped"
				TUNPROXY_OK=0
			fi
		fi
		;;
	esac
fi
[ -x "$TUNPROXY" ] || TUNPROXY_OK=0

# Forwarder file descriptors: 10,000 held connections need 10,000+ sockets.
ulimit -Hn 1048576 2>/dev/null
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# --- topology -----------------------------------------------------------------

# setup_common: app, proxy, net namespaces; veth proxy<->net; servers in net.
setup_common() {
	local tag=$1 ns
	NS_APP="$ID-$tag-app"
	NS_PROXY="$ID-$tag-proxy"
	NS_NET="$ID-$tag-net"
	for ns in "$NS_APP" "$NS_PROXY" "$NS_NET"; do
		ip netns add "$ns" || return 1
		NS_MADE+=("$ns")
		ip -n "$ns" link set lo up
		# See TW_REUSE above: connect() may reuse a TIME_WAIT port only
		# when the peer's segments carried timestamps.
		ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse="$TW_REUSE"
	done
	ip -n "$NS_PROXY" link add vp type veth peer name vn netns "$NS_NET" || return 1
	ip -n "$NS_PROXY" addr add "$PROXY_V4/24" dev vp
	ip -n "$NS_PROXY" link set vp mtu 1500 up
	ip -n "$NS_NET" addr add "$NET_V4/24" dev vn
	ip -n "$NS_NET" link set vn mtu 1500 up
	ip -n "$NS_NET" addr add "$SERVER/32" dev lo
	ip -n "$NS_PROXY" route add default via "$NET_V4" || return 1
	wait_for 5 ip netns exec "$NS_PROXY" ping -c 1 -W 1 "$SERVER" ||
		{ log "proxy cannot reach $SERVER"; return 1; }

	spawn "$NS_NET" "$TMP/probe-server.log" "${SERVER_PIN[@]}" "$PROBE" server "$PROBE_PORT"
	spawn "$NS_NET" "$TMP/probe-hold-server.log" "${SERVER_PIN[@]}" "$PROBE" server "$HOLD_PORT"
	wait_for 5 sh -c "ip netns exec '$NS_NET' ss -Hltn 'sport = :$PROBE_PORT' | grep -q ." || return 1
	wait_for 5 sh -c "ip netns exec '$NS_NET' ss -Hltn 'sport = :$HOLD_PORT' | grep -q ." || return 1
}

# setup_FORWARDER: connect the app ns to the proxy ns through it. Sets
# FWD_PID (the userspace forwarder, empty for the kernel).
setup_kernel() {
	ip -n "$NS_APP" link add va type veth peer name vq netns "$NS_PROXY" || return 1
	ip -n "$NS_APP" addr add "$APP_V4/24" dev va
	ip -n "$NS_APP" link set va mtu 1500 up
	ip -n "$NS_PROXY" addr add 10.0.0.1/24 dev vq
	ip -n "$NS_PROXY" link set vq mtu 1500 up
	ip -n "$NS_APP" route add default via 10.0.0.1
	ip netns exec "$NS_PROXY" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$NS_NET" route add 10.0.0.0/24 via "$PROXY_V4"
}

setup_tunproxy() {
	local mtu=${1:-1500} extra=${2:-} i
	[ "$TUNPROXY_OK" = 1 ] || { log "no tunproxy binary"; return 1; }
	FWD_LOG="$TMP/tunproxy.log"
	# shellcheck disable=SC2086 # TUNPROXY_ARGS is a list of options
	spawn "$NS_PROXY" "$FWD_LOG" "$TUNPROXY" --tun tp0 --no-tun-config -q \
		--mtu "$mtu" $extra ${TUNPROXY_ARGS:-}
	FWD_PID=$SPAWNED
	for ((i = 0; i < 100; i++)); do
		ip -n "$NS_PROXY" link show tp0 >/dev/null 2>&1 && break
		running "$FWD_PID" || { log "tunproxy exited: $(tail -n 3 "$FWD_LOG")"; return 1; }
		sleep 0.1
	done
	ip -n "$NS_PROXY" link set tp0 netns "$NS_APP" || return 1
	ip -n "$NS_APP" addr add "$APP_V4/24" dev tp0
	ip -n "$NS_APP" link set tp0 mtu "$mtu" up
	ip -n "$NS_APP" route add default dev tp0
}

setup_pasta() {
	local mtu=$1
	command -v pasta >/dev/null || { log "pasta not installed"; return 1; }
	FWD_LOG="$TMP/pasta.log"
	# No port forwarding (-t/-u/-T/-U none): only the outbound path is used.
	# IPv4 only (-4): this topology has no IPv6 route in the proxy ns.
	# --runas 0: as root pasta would drop to "nobody" and then may not
	# join a namespace root made; the data path is the same either way.
	spawn "$NS_PROXY" "$FWD_LOG" pasta -f -q -4 --runas 0 --config-net -m "$mtu" \
		-a "$APP_V4" -n 24 -g 10.0.0.1 -t none -u none -T none -U none \
		--netns "/run/netns/$NS_APP"
	FWD_PID=$SPAWNED
	wait_for 10 sh -c "ip -n '$NS_APP' -4 route show default | grep -q ." ||
		{ log "pasta did not configure the app ns: $(tail -n 3 "$FWD_LOG")"; return 1; }
}

setup_slirp4netns() {
	local mtu=$1
	command -v slirp4netns >/dev/null || { log "slirp4netns not installed"; return 1; }
	FWD_LOG="$TMP/slirp4netns.log"
	spawn "$NS_PROXY" "$FWD_LOG" slirp4netns --configure --mtu="$mtu" \
		--disable-host-loopback --netns-type=path "/run/netns/$NS_APP" tap0
	FWD_PID=$SPAWNED
	wait_for 10 sh -c "ip -n '$NS_APP' -4 route show default | grep -q ." ||
		{ log "slirp4netns did not configure the app ns: $(tail -n 3 "$FWD_LOG")"; return 1; }
}

setup_forwarder() {
	case $1 in
	kernel) setup_kernel ;;
	tunproxy) setup_tunproxy 1500 ;;
	tunproxy-plain) setup_tunproxy 1500 --no-offload ;;
	tunproxy-embedded) setup_tunproxy 1500 "--no-offload --tcp-rx copy" ;;
	tunproxy-embedded-3M) setup_tunproxy 1500 "--no-offload --tcp-rx copy --max-memory 3M" ;;
	tunproxy-65520) setup_tunproxy 65520 ;;
	tunproxy-base | tunproxy-base-plain)
		[ -x "${TUNPROXY_BASE:-}" ] || { log "$1 needs TUNPROXY_BASE=binary"; return 1; }
		local cur=$TUNPROXY
		TUNPROXY=$TUNPROXY_BASE
		if [ "$1" = tunproxy-base ]; then setup_tunproxy 1500; else setup_tunproxy 1500 --no-offload; fi
		TUNPROXY=$cur
		;;
	pasta) setup_pasta 1500 ;;
	pasta-65520) setup_pasta 65520 ;;
	slirp4netns) setup_slirp4netns 1500 ;;
	slirp4netns-65520) setup_slirp4netns 65520 ;;
	*) log "unknown forwarder $1"; return 1 ;;
	esac
}

# --- measurements -------------------------------------------------------------

in_app() { ip netns exec "$NS_APP" "$@"; }

# record FWD METRIC REP VALUE [NOTE]
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:-}" >>"$RAW"; }

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# CPU seconds (user + system) a process has used.
cpu_s() {
	local tck
	tck=$(getconf CLK_TCK)
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk -v t="$tck" '{ printf "%.3f", ($12 + $13) / t }'
}

# tunproxy's counter NAME, via SIGUSR1 (prints "counter NAME VALUE" ...
# "counters end" to its log).
tp_counter() {
	local name=$1 before i
	before=$(grep -c '^counters end' "$FWD_LOG")
	kill -USR1 "$FWD_PID" 2>/dev/null || return 1
	for ((i = 0; i < 50; i++)); do
		[ "$(grep -c '^counters end' "$FWD_LOG")" -gt "$before" ] && break
		sleep 0.1
	done
	awk -v n="$name" '$1 == "counter" && $2 == n { v = $3 } END { if (v != "") print v }' "$FWD_LOG"
}

fwd_alive() { [ -z "$FWD_PID" ] || running "$FWD_PID"; }

# iperf FWD REP up|down
run_iperf() {
	local fwd=$1 rep=$2 dir=$3 srv js r c0 c1 out
	local -a rflag=()
	[ "$dir" = down ] && rflag=(-R)
	js="$TMP/iperf-$fwd-$rep-$dir.json"
	spawn "$NS_NET" "$TMP/iperf-server.log" "${SERVER_PIN[@]}" iperf3 -s -1 -B "$SERVER" -p "$IPERF_PORT"
	srv=$SPAWNED
	wait_for 5 sh -c "ip netns exec '$NS_NET' ss -Hltn 'sport = :$IPERF_PORT' | grep -q ." ||
		{ log "iperf3 server did not start"; return; }
	[ -n "$FWD_PID" ] && c0=$(cpu_s "$FWD_PID")
	CUR_REP=$rep perf_begin "$fwd-$dir" "$TIME"
	timeout $((TIME + 30)) ip netns exec "$NS_APP" "${CLIENT_PIN[@]}" iperf3 -c "$SERVER" -p "$IPERF_PORT" \
		-t "$TIME" --connect-timeout 3000 -J "${rflag[@]}" >"$js" 2>"$js.err"
	[ -n "$FWD_PID" ] && c1=$(cpu_s "$FWD_PID")
	stop_pid "$srv"
	perf_end "$fwd-$dir" "iperf3 -t $TIME"
	out=$(python3 - "$js" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    if "error" in d:
        print("ERR", d["error"].replace("\t", " ")); sys.exit()
    e = d["end"]
    print(e["sum_received"]["bits_per_second"] / 1e9, e["sum_received"]["bytes"],
          e["sum_sent"].get("retransmits", ""))
except Exception as ex:
    print("ERR", "no result (%s)" % type(ex).__name__)
EOF
)
	if [ "${out%% *}" = ERR ]; then
		log "$fwd $dir: iperf3 failed: ${out#ERR }"
		record "$fwd" "${dir}_gbps" "$rep" fail "${out#ERR }"
		return
	fi
	read -r gbps bytes retr <<<"$out"
	record "$fwd" "${dir}_gbps" "$rep" "$gbps"
	record "$fwd" "${dir}_retr" "$rep" "$retr"
	if [ -n "$FWD_PID" ] && [ -n "$c0" ] && [ -n "$c1" ]; then
		r=$(awk -v a="$c0" -v b="$c1" -v n="$bytes" 'BEGIN { if (n > 0) printf "%.3f", (b - a) / (n / 1e9) }')
		record "$fwd" "${dir}_cpu_per_gb" "$rep" "$r"
	fi
	log "$fwd rep $rep $dir: $(printf '%.2f' "$gbps") Gbit/s, $retr retransmits"
}

# perf_begin NAME SECS / perf_end NAME WHAT: with PERF=1, in the first
# repetition (CUR_REP), sample the forwarder and count its system calls for SECS
# seconds; perf_end writes bench/results/<date>-perf-NAME.txt.
PERF_PIDS=""
perf_begin() {
	local name=$1 secs=$2 ev="" sc
	PERF_PIDS=""
	[ "$PERF" = 1 ] && [ -n "$FWD_PID" ] && [ "${CUR_REP:-1}" = 1 ] || return 0
	perf record -q -F 999 -g -p "$FWD_PID" -o "$TMP/perf-$name.data" -- sleep "$secs" \
		>"$TMP/perf.log" 2>&1 &
	PERF_PIDS=$!
	for sc in read write readv writev recvfrom recvmsg recvmmsg sendto sendmsg \
		sendmmsg splice socket connect close setsockopt epoll_wait epoll_pwait epoll_ctl; do
		perf list 2>/dev/null | grep -q "syscalls:sys_enter_$sc " &&
			ev="$ev${ev:+,}syscalls:sys_enter_$sc"
	done
	perf stat -x, -e "$ev" -p "$FWD_PID" -o "$TMP/perf-$name.stat" -- sleep "$secs" \
		>>"$TMP/perf.log" 2>&1 &
	PERF_PIDS="$PERF_PIDS $!"
}

perf_end() {
	local name=$1 what=$2 pdata="$TMP/perf-$1.data"
	[ -n "$PERF_PIDS" ] || return 0
	# shellcheck disable=SC2086 # two PIDs
	wait $PERF_PIDS
	PERF_PIDS=""
	mkdir -p "$BENCH/results"
	{
		echo "# $name: $what, forwarder PID $FWD_PID"
		echo "# system calls of the forwarder during the run (count, event):"
		awk -F, '$1 ~ /^[0-9]+$/ { printf "#   %12d  %s\n", $1, $3 }' "$TMP/perf-$name.stat"
		echo "# time by shared object:"
		perf report -i "$pdata" --stdio --no-children --sort dso -g none 2>/dev/null |
			grep -E '^ +[0-9]' | sed 's/^/#/'
		echo "# time including callees, kernel entry points:"
		perf report -i "$pdata" --stdio --children --sort symbol -g none 2>/dev/null |
			grep -E '\] (__sys_|__x64_sys|ksys_|tun_get_user|tun_do_read|handle_softirqs|tcp_v4_rcv|udp_rcv|udp_sendmsg|do_epoll_wait|__sock_release|inet_dgram_connect)' |
			head -n 25 | sed 's/^/#/'
		echo "# flat profile:"
		perf report -i "$pdata" --stdio --no-children --sort dso,symbol \
			--percent-limit 0.5 -g none 2>/dev/null | grep -E '^ +[0-9]'
	} >"$BENCH/results/$STAMP-perf-$name.txt"
	log "perf profile in bench/results/$STAMP-perf-$name.txt"
}

# udp_iperf DIR RATE BUF SECS: one iperf3 -u -l 1400 run; prints
# "LOSS_PERCENT GOODPUT_GBPS" (the receiver's figures) or "ERR why".
udp_iperf() {
	local dir=$1 rate=$2 buf=$3 secs=$4 srv js
	local -a extra=()
	[ "$dir" = down ] && extra+=(-R)
	[ "$buf" != def ] && extra+=(-w "$buf")
	js="$TMP/iperf-udp.json"
	spawn "$NS_NET" "$TMP/iperf-server.log" "${SERVER_PIN[@]}" iperf3 -s -1 -B "$SERVER" -p "$IPERF_PORT"
	srv=$SPAWNED
	wait_for 5 sh -c "ip netns exec '$NS_NET' ss -Hltn 'sport = :$IPERF_PORT' | grep -q ." ||
		{ echo "ERR iperf3 server did not start"; return; }
	[ -n "${UDP_PERF:-}" ] && perf_begin "$UDP_PERF" "$secs" >&2
	timeout $((secs + 30)) ip netns exec "$NS_APP" "${CLIENT_PIN[@]}" iperf3 -c "$SERVER" -p "$IPERF_PORT" \
		-u -l 1400 -b "$rate" -t "$secs" --connect-timeout 3000 -J "${extra[@]}" >"$js" 2>"$js.err"
	[ -n "${UDP_PERF:-}" ] && perf_end "$UDP_PERF" "iperf3 -u -l 1400 -b $rate -w $buf, $dir" >&2
	stop_pid "$srv"
	python3 - "$js" <<'EOF2'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    if "error" in d:
        print("ERR", d["error"].replace("\t", " ")); sys.exit()
    s = d["end"]["sum"]
    # The receiver's count: what arrived of what was sent, per second.
    good = (s["packets"] - s["lost_packets"]) * 1400 * 8 / s["seconds"] / 1e9
    print(s["lost_percent"], good)
except Exception as ex:
    print("ERR", "no result (%s)" % type(ex).__name__)
EOF2
}

# run_udp FWD REP: loss and goodput at UDP_RATES, both ways, both buffers.
run_udp() {
	local fwd=$1 rep=$2 dir rate buf out
	for rate in $UDP_RATES; do
		for buf in 4M def; do
			for dir in up down; do
				UDP_PERF=""
				[ "$buf" = 4M ] && [ "$rate" = "${UDP_RATES%% *}" ] && UDP_PERF="$fwd-udp-$dir"
				out=$(CUR_REP=$rep udp_iperf "$dir" "$rate" "$buf" "$TIME")
				UDP_PERF=""
				local m="udp_${dir}_${rate}_${buf}"
				if [ "${out%% *}" = ERR ]; then
					log "$fwd udp $dir $rate buffers $buf: failed: ${out#ERR }"
					record "$fwd" "${m}_loss" "$rep" fail "${out#ERR }"
					continue
				fi
				read -r loss good <<<"$out"
				record "$fwd" "${m}_loss" "$rep" "$loss"
				record "$fwd" "${m}_gbps" "$rep" "$good"
				log "$fwd rep $rep udp $dir $rate buffers $buf: $(printf '%.2f' "$loss") % lost, $(printf '%.2f' "$good") Gbit/s received"
			done
		done
	done
}

# run_umax FWD REP: the highest rate received with < 1 % loss while
# offering the rates of UDP_LADDER in turn (iperf3 may send less than it
# is asked to: the received rate, not the offered one, is recorded).
run_umax() {
	local fwd=$1 rep=$2 dir rate out best
	for dir in up down; do
		best=0
		for rate in $UDP_LADDER; do
			out=$(udp_iperf "$dir" "$rate" 4M "$UDP_LADDER_TIME")
			[ "${out%% *}" = ERR ] && break
			read -r loss good <<<"$out"
			log "$fwd rep $rep umax $dir $rate offered: $(printf '%.2f' "$loss") % lost, $(printf '%.2f' "$good") Gbit/s received"
			awk -v l="$loss" 'BEGIN { exit !(l < 1) }' || break
			best=$(awk -v a="$best" -v b="$good" 'BEGIN { print (b > a ? b : a) }')
		done
		record "$fwd" "udp_${dir}_max_gbps" "$rep" "$best"
	done
}

# run_probe FWD REP rr|crr|urr|unf
run_probe() {
	local fwd=$1 rep=$2 kind=$3 line val
	[ "$kind" = unf ] || [ "$kind" = urr ] && CUR_REP=$rep perf_begin "$fwd-$kind" "$PROBE_TIME"
	line=$(timeout $((PROBE_TIME + 30)) ip netns exec "$NS_APP" "${CLIENT_PIN[@]}" "$PROBE" "$kind" "$SERVER" \
		"$PROBE_PORT" "$PROBE_TIME" 2>"$TMP/probe-$kind.err")
	perf_end "$fwd-$kind" "probe $kind, $PROBE_TIME s"
	val=$(awk '{ print $2 }' <<<"$line")
	if [ -z "$line" ] || grep -q FAILED <<<"$line"; then
		log "$fwd $kind: failed: $line $(tail -n 2 "$TMP/probe-$kind.err")"
		record "$fwd" "$kind" "$rep" fail "$line"
		return
	fi
	record "$fwd" "$kind" "$rep" "$val"
	if [ "$kind" = crr ]; then
		# "slowest second N, last second N": TIME_WAIT trouble shows here.
		record "$fwd" crr_slowest "$rep" "$(sed -n 's/.*slowest second \([0-9]*\).*/\1/p' <<<"$line")" \
			"$(grep '^crr per second' "$TMP/probe-$kind.err")"
	fi
	log "$fwd rep $rep $kind: $line"
}

# hold_open N LOG: the probe holds N idle connections from the app ns
# (its output in LOG); waits until it says "ready" (or gives up). Sets
# HOLD_PID; fd 9 is the fifo's writer end: closing it (exec 9>&-) makes the
# probe close them all (SIGTERM does too).
hold_open() {
	local n=$1 lg=$2 i
	mkfifo "$TMP/hold.fifo"
	setsid ip netns exec "$NS_APP" "$PROBE" hold "$SERVER" "$HOLD_PORT" "$n" \
		<"$TMP/hold.fifo" >"$lg" 2>&1 &
	HOLD_PID=$!
	PIDS+=("$HOLD_PID")
	exec 9>"$TMP/hold.fifo"
	rm -f "$TMP/hold.fifo"
	for ((i = 0; i < 1500; i++)); do
		grep -q '^ready' "$lg" && break
		running "$HOLD_PID" || break
		sleep 0.1
	done
}

# run_mem FWD REP: RSS before/after HOLD_COUNTS idle connections.
run_mem() {
	local fwd=$1 rep=$2 n before after mu0 mu1 hold i line lg
	[ -n "$FWD_PID" ] || return 0
	for n in $HOLD_COUNTS; do
		before=$(rss_kb "$FWD_PID")
		[ "$fwd" != "${fwd#tunproxy}" ] && mu0=$(tp_counter mem_used)
		lg="$TMP/hold-$fwd-$n.log"
		hold_open "$n" "$lg"
		hold=$HOLD_PID
		line=$(grep '^ready' "$lg")
		sleep 1 # let the forwarder settle
		after=$(rss_kb "$FWD_PID")
		[ "$fwd" != "${fwd#tunproxy}" ] && mu1=$(tp_counter mem_used)
		log "$fwd $n idle connections: ${line:-no ready line: $(tail -n 2 "$lg")}; RSS $before -> $after kB"
		if [ -n "$line" ] && [ -n "$after" ]; then
			local up
			up=$(awk '{ print $2 }' <<<"$line")
			record "$fwd" "rss_before_$n" "$rep" "$before"
			record "$fwd" "rss_after_$n" "$rep" "$after"
			record "$fwd" "held_$n" "$rep" "$up" "$line"
			if [ "${up:-0}" -gt 0 ]; then
				record "$fwd" "rss_per_conn_$n" "$rep" \
					"$(awk -v a="$before" -v b="$after" -v n="$up" 'BEGIN { printf "%.0f", (b - a) * 1024 / n }')"
				if [ -n "${mu0:-}" ] && [ -n "${mu1:-}" ]; then
					record "$fwd" "mem_used_per_conn_$n" "$rep" \
						"$(awk -v a="$mu0" -v b="$mu1" -v n="$up" 'BEGIN { printf "%.0f", (b - a) / n }')"
					record "$fwd" "mem_used_$n" "$rep" "$mu1"
				fi
			fi
		else
			record "$fwd" "held_$n" "$rep" fail "$(tail -n 1 "$lg")"
		fi
		exec 9>&-
		stop_pid "$hold"
		# Wait until the forwarder has let the connections go.
		sleep 2
		fwd_alive || { log "$fwd died while holding $n connections"; return; }
		record "$fwd" "rss_released_$n" "$rep" "$(rss_kb "$FWD_PID")"
		if [ "$fwd" != "${fwd#tunproxy}" ]; then
			# Closed connections may linger briefly (TIME-WAIT): give
			# them up to 10 s more to leave the table.
			local fo
			for ((i = 0; i < 10; i++)); do
				fo=$(tp_counter tcp_conns_open)
				[ "${fo:-1}" = 0 ] && break
				sleep 1
			done
			record "$fwd" "tcp_conns_open_released_$n" "$rep" "$fo" "after $((i + 2)) s"
			record "$fwd" "mem_used_released_$n" "$rep" "$(tp_counter mem_used)"
		fi
	done
}

# Context switches (voluntary and not) of every thread of process $1.
ctx_switches() {
	cat /proc/"$1"/task/*/status 2>/dev/null |
		awk '/^(non)?voluntary_ctxt_switches/ { s += $2 } END { print s + 0 }'
}

# run_idle FWD REP: wake-ups per IDLE_TIME s, idle and with 1,000 idle
# connections.
run_idle() {
	local fwd=$1 rep=$2 a b hold lg i
	[ -n "$FWD_PID" ] || return 0
	sleep 1
	a=$(ctx_switches "$FWD_PID")
	sleep "$IDLE_TIME"
	b=$(ctx_switches "$FWD_PID")
	record "$fwd" idle_wakeups "$rep" "$((b - a))"
	lg="$TMP/idle-hold-$fwd.log"
	hold_open 1000 "$lg"
	hold=$HOLD_PID
	sleep 2 # the handshakes' delayed ACKs and timers settle
	a=$(ctx_switches "$FWD_PID")
	sleep "$IDLE_TIME"
	b=$(ctx_switches "$FWD_PID")
	record "$fwd" idle_wakeups_1000 "$rep" "$((b - a))" "$(grep '^ready' "$lg")"
	exec 9>&-
	stop_pid "$hold"
	log "$fwd idle: $(tail -n 2 "$RAW" | cut -f 4 | tr '\n' ' ')wake-ups in $IDLE_TIME s (none / 1,000 connections)"
}

# The app namespace's device toward the forwarder (tp0, tap0, va...).
app_dev() {
	ip -n "$NS_APP" -o route show default | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n 1
}

# tx_dropped DEV: the app-side device's transmit drops.
tx_dropped() {
	ip -n "$NS_APP" -s -j link show "$1" 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["tx"]["dropped"])' 2>/dev/null
}

# run_wrk FWD REP
run_wrk() {
	local fwd=$1 rep=$2 conf="$TMP/nginx" srv dev d0 d1 out
	command -v wrk >/dev/null && command -v nginx >/dev/null ||
		{ log "wrk: needs wrk and nginx"; return; }
	mkdir -p "$conf/www"
	[ -f "$conf/www/1m.bin" ] || head -c $((1 << 20)) /dev/urandom >"$conf/www/1m.bin"
	cat >"$conf/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
user root;
pid $conf/nginx.pid;
error_log $conf/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $conf/body;
    proxy_temp_path $conf/proxy;
    fastcgi_temp_path $conf/fastcgi;
    uwsgi_temp_path $conf/uwsgi;
    scgi_temp_path $conf/scgi;
    default_type application/octet-stream;
    sendfile on;
    keepalive_requests 100000;
    server { listen $SERVER:$WRK_PORT; root $conf/www; }
}
EOF
	spawn "$NS_NET" "$TMP/nginx.log" "${SERVER_PIN[@]}" nginx -c "$conf/nginx.conf" -e "$conf/error.log"
	srv=$SPAWNED
	wait_for 5 sh -c "ip netns exec '$NS_NET' ss -Hltn 'sport = :$WRK_PORT' | grep -q ." ||
		{ log "wrk: nginx did not start: $(tail -n 2 "$conf/error.log")"; stop_pid "$srv"; return; }
	dev=$(app_dev)
	d0=$(tx_dropped "$dev")
	out=$(timeout $((WRK_TIME + 30)) ip netns exec "$NS_APP" "${CLIENT_PIN[@]}" wrk -t 2 -c 32 \
		-d "${WRK_TIME}s" --latency "http://$SERVER:$WRK_PORT/1m.bin" 2>&1)
	d1=$(tx_dropped "$dev")
	stop_pid "$srv"
	echo "$out" >"$TMP/wrk-$fwd-$rep.txt"
	python3 "$BENCH/wrk_parse.py" "$fwd" "$rep" "${d0:-}" "${d1:-}" <<<"$out" >>"$RAW"
	log "$fwd rep $rep wrk: $(grep -E 'Requests/sec|99%|timeout' <<<"$out" | tr -s ' ' | tr '\n' ' ')drops $((${d1:-0} - ${d0:-0}))"
}

# run_dl64 FWD REP: DL_CONNS concurrent DL_MIB MiB downloads, each to the
# FIN (the end of a download is where a lost wake-up shows).
run_dl64() {
	local fwd=$1 rep=$2 srv t0 t1 i r peak pids=() failed=0 secs
	[ -f "$TMP/dl.bin" ] || head -c $((DL_MIB << 20)) /dev/urandom >"$TMP/dl.bin"
	spawn "$NS_NET" "$TMP/dl-server.log" "${SERVER_PIN[@]}" socat \
		"TCP-LISTEN:$DL_PORT,bind=$SERVER,fork,reuseaddr,backlog=256" "OPEN:$TMP/dl.bin"
	srv=$SPAWNED
	wait_for 5 sh -c "ip netns exec '$NS_NET' ss -Hltn 'sport = :$DL_PORT' | grep -q ." ||
		{ log "dl64 server did not start"; return; }
	peak=0
	t0=$(date +%s.%N)
	for ((i = 0; i < DL_CONNS; i++)); do
		timeout 120 ip netns exec "$NS_APP" "${CLIENT_PIN[@]}" socat -u \
			"TCP:$SERVER:$DL_PORT" "OPEN:/dev/null" 2>/dev/null &
		pids+=("$!")
	done
	while :; do
		if [ -n "$FWD_PID" ]; then
			r=$(rss_kb "$FWD_PID")
			[ -n "$r" ] && [ "$r" -gt "$peak" ] && peak=$r
		fi
		local live=0 p
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && live=1 && break; done
		[ $live = 1 ] || break
		sleep 0.1
	done
	for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
	t1=$(date +%s.%N)
	stop_pid "$srv"
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	if [ "$failed" != 0 ]; then
		log "$fwd dl64: $failed of $DL_CONNS downloads failed or hung"
		record "$fwd" dl64_s "$rep" fail "$failed of $DL_CONNS failed"
		return
	fi
	record "$fwd" dl64_s "$rep" "$secs"
	record "$fwd" dl64_gbps "$rep" "$(awk -v s="$secs" -v n=$((DL_CONNS * (DL_MIB << 20))) 'BEGIN { printf "%.3f", n * 8 / s / 1e9 }')"
	[ -n "$FWD_PID" ] && record "$fwd" dl64_rss_peak_kb "$rep" "$peak"
	if [ "$fwd" != "${fwd#tunproxy}" ]; then
		record "$fwd" dl64_mem_peak "$rep" "$(tp_counter mem_peak)"
		for c in tcp_rx_ringless tcp_rx_rings_refused; do
			record "$fwd" "dl64_$c" "$rep" "$(awk -v n="$c" '$1 == "counter" && $2 == n { v = $3 } END { print v + 0 }' "$FWD_LOG")"
		done
	fi
	log "$fwd rep $rep dl64: $DL_CONNS x $DL_MIB MiB in $secs s, RSS peak $peak kB"
}

scenarios_for() {
	case $1 in
	*-embedded-3M) [ -n "$SCENARIOS_SET" ] && echo "$SCENARIOS" || echo "dl64" ;;
	*-65520) [ -n "$SCENARIOS_SET" ] && echo "$SCENARIOS" || echo "up down" ;;
	# The phone's path (one packet per TUN read/write): the UDP figures too.
	*-plain | tunproxy-base) [ -n "$SCENARIOS_SET" ] && echo "$SCENARIOS" || echo "up down urr unf udp umax" ;;
	*) echo "$SCENARIOS" ;;
	esac
}

run_forwarder() {
	local fwd=$1 rep=$2 s
	log "== $fwd (repetition $rep of $REPS)"
	FWD_PID=""
	FWD_LOG=""
	if ! setup_common "r$rep" || ! setup_forwarder "$fwd"; then
		log "$fwd: setup failed, skipped"
		record "$fwd" setup "$rep" fail
		teardown_topology
		return
	fi
	sleep 0.5
	if [ -n "$FWD_PID" ]; then
		record "$fwd" base_rss_kb "$rep" "$(rss_kb "$FWD_PID")"
		# RSS counts the shared C library's pages (about 1.3 MB of
		# glibc, shared with every process); what the forwarder itself
		# holds is its anonymous memory.
		record "$fwd" base_anon_kb "$rep" \
			"$(awk '/^Anonymous:/ { print $2 }' "/proc/$FWD_PID/smaps_rollup" 2>/dev/null)"
		[ "$fwd" != "${fwd#tunproxy}" ] && record "$fwd" base_mem_used "$rep" "$(tp_counter mem_used)"
	fi
	for s in $(scenarios_for "$fwd"); do
		if ! fwd_alive; then
			log "$fwd: the forwarder is gone ($(tail -n 3 "$FWD_LOG" 2>/dev/null)); skipping the rest"
			record "$fwd" died "$rep" "$s"
			break
		fi
		[ "$s" = mem ] && [ "$rep" != 1 ] && continue
		local r0="" t0=""
		if [ "$fwd" != "${fwd#tunproxy}" ]; then
			r0=$(tp_counter tcp_retransmits)
			t0=$(awk '$1 == "counter" && $2 == "tcp_rto_expired" { v = $3 } END { print v }' "$FWD_LOG")
		fi
		case $s in
		up | down) run_iperf "$fwd" "$rep" "$s" ;;
		rr | crr | urr | unf) run_probe "$fwd" "$rep" "$s" ;;
		udp) run_udp "$fwd" "$rep" ;;
		umax) run_umax "$fwd" "$rep" ;;
		mem) run_mem "$fwd" "$rep" ;;
		dl64) run_dl64 "$fwd" "$rep" ;;
		wrk) run_wrk "$fwd" "$rep" ;;
		idle) [ "$rep" = 1 ] && run_idle "$fwd" "$rep" ;;
		*) log "unknown scenario $s" ;;
		esac
		if [ -n "$r0" ] && fwd_alive; then
			# Segments tunproxy resent to the app during this scenario.
			local r1 t1
			r1=$(tp_counter tcp_retransmits)
			t1=$(awk '$1 == "counter" && $2 == "tcp_rto_expired" { v = $3 } END { print v }' "$FWD_LOG")
			record "$fwd" "${s}_tp_retransmits" "$rep" "$((r1 - r0))" "tcp_rto_expired +$((t1 - t0))"
		fi
	done
	if [ "$fwd" != "${fwd#tunproxy}" ] && fwd_alive; then
		# What tunproxy saw over the whole run (one SIGUSR1, then read).
		local c
		tp_counter mem_peak >/dev/null
		for c in tcp_retransmits tcp_fast_retransmits tcp_rto_expired tx_dropped \
			tcp_ooo_dropped tcp_window_closed_memory mem_refused mem_peak \
			udp_send_errors udp_batch_send_errors udp_gso_sends udp_gso_segments \
			udp_rx_batched udp_rx_truncated \
			flows_refused_limit flows_refused_memory flows_refused_socket; do
			record "$fwd" "end_$c" "$rep" "$(awk -v n="$c" '$1 == "counter" && $2 == n { v = $3 } END { print v }' "$FWD_LOG")"
		done
	fi
	if [ -n "$FWD_LOG" ] && [ -s "$FWD_LOG" ]; then
		cp "$FWD_LOG" "$TMP/$fwd-rep$rep.log"
	fi
	teardown_topology
}

# --- main -----------------------------------------------------------------------

log "forwarders: $FORWARDERS; scenarios: $SCENARIOS; $REPS repetition(s), iperf3 ${TIME}s, probes ${PROBE_TIME}s"
for ((rep = 1; rep <= REPS; rep++)); do
	for fwd in $FORWARDERS; do
		run_forwarder "$fwd" "$rep"
	done
done

mkdir -p "$BENCH/results"
OUT="$BENCH/results/$STAMP-$(hostname -s).md"
{
	echo "machine	$(uname -srm); $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)); $(free -g | awk '/^Mem:/ { print $2 }') GB RAM"
	echo "date	$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "tunproxy	$TUNPROXY_REV, Release, $TUNPROXY${TUNPROXY_ARGS:+ $TUNPROXY_ARGS}"
	echo "iperf3	$(iperf3 --version 2>/dev/null | head -n 1)"
	command -v pasta >/dev/null && echo "pasta	$(dpkg-query -W -f='${Version}' passt 2>/dev/null)"
	command -v slirp4netns >/dev/null && echo "slirp4netns	$(slirp4netns --version | head -n 1 | awk '{ print $3 }') (libslirp $(slirp4netns --version | sed -n 's/^libslirp: //p'))"
	echo "settings	$REPS repetition(s), iperf3 -t $TIME, probes $PROBE_TIME s, idle connections: $HOLD_COUNTS, net.ipv4.tcp_tw_reuse=$TW_REUSE, $([ "$PIN" = 1 ] && echo 'client pinned to CPU 0, servers to CPU 1' || echo 'no CPU pinning')$([ "$QUICK" = 1 ] && echo ' (--quick)')"
} >"$TMP/meta.tsv"
python3 "$BENCH/report.py" "$RAW" "$TMP/meta.tsv" "$OUT"
log "markdown results: $OUT"
