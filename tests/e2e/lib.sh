# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# lib.sh: the three-namespace topology of shared/TESTING.md for tunproxy's
# end-to-end tests. Source it from tests/e2e/test_*.sh (run by bash).
#
#   ns app                      ns proxy                    ns net
#   tp0 10.0.0.8/24, fdaa::8/64 tunproxy (holds TUN fd)     vn 198.51.100.1/24, 2001:db8::1/64
#   default routes -> tp0       vp 198.51.100.2/24  <---->  lo 203.0.113.10/32, 2001:db8:1::10/128
#                               2001:db8::2/64              dnsmasq, UDP echo, nginx
#                               default routes -> net
#
# Only the documentation ranges exist, and only inside namespaces made here:
# "proxy" has no route to anything but "net", and "net" does not forward, so
# nothing a test (or a proxy bug) sends can leave the machine.
#
# Typical use:
#   . "$(dirname "$0")/lib.sh"
#   tp_setup                 # namespaces, veth, addresses (--raw-ping: leave
#                            # ping_group_range at its default "1 0")
#   tp_start_dns; tp_start_udp_echo
#   tp_start_proxy [extra tunproxy args]
#   in_app dig ...; v=$(tp_counter udp_flows_open)
#   tp_pass              # or fail "what went wrong"
# Teardown runs from an EXIT trap, also on failure: it stops the proxy
# (failing the test if it did not exit 0 or a sanitizer reported), kills the
# PIDs it started and deletes its namespaces.
#
# Environment: TUNPROXY (the binary; CTest sets it, default build/tunproxy),
# TP_WRAPPER (e.g. "valgrind --error-exitcode=99"), TP_VERBOSE (proxy log
# level flag, default -v), TP_KEEP=1 (keep the temp dir with the logs),
# TP_TCP_RX (auto|peek|copy: tp_start_proxy adds --tcp-rx), TP_PROXY_PRELOAD
# (an LD_PRELOAD library for the proxy, e.g. the SO_PEEK_OFF shim) and
# TP_EXPECT_RX (userspace|fallback: tp_pass checks the proxy's receive path,
# tcp_rx_userspace = 1 or tcp_rx_fallbacks > 0), TP_EXPECT_LOG (tp_pass
# checks the proxy log has this text). tests/CMakeLists.txt sets these for
# the *.copy, *.nopeek, *.latepeek and *.nooffload variants.

TP_E2E_DIR=${TP_E2E_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
TP_ROOT=$(cd "$TP_E2E_DIR/../.." && pwd)
TUNPROXY=${TUNPROXY:-$TP_ROOT/build/tunproxy}
TP_WRAPPER=${TP_WRAPPER:-}
TP_VERBOSE=${TP_VERBOSE--v}
TP_NAME=${TP_NAME:-$(basename "$0" .sh)}

# Debian's python3 (it has scapy); a pyenv shim earlier in PATH may not.
if [ -x /usr/bin/python3 ]; then TP_PY=/usr/bin/python3; else TP_PY=python3; fi

# Everything is slower under a wrapper such as valgrind: scale the waits.
if [ -n "$TP_WRAPPER" ]; then TP_SLOW=10; else TP_SLOW=1; fi

# Unique per run, so parallel runs never collide (shared/TESTING.md).
TP_ID="tp$$"
NS_APP="${TP_ID}-app"
NS_PROXY="${TP_ID}-proxy"
NS_NET="${TP_ID}-net"
TP_TUN=tp0

# Addresses of the topology.
NET_V4=198.51.100.1
PROXY_V4=198.51.100.2
NET_V6=2001:db8::1
PROXY_V6=2001:db8::2
HOST_V4=203.0.113.10
HOST_V6=2001:db8:1::10
APP_V4=10.0.0.8
APP_V6=fdaa::8
ECHO_PORT=7777
HTTP_PORT=80
# Names dnsmasq answers (and nothing else: it has no upstream).
DNS_NAME=www.tp.test # A 203.0.113.10, AAAA 2001:db8:1::10
DNS_NAME4=v4only.tp.test # A 203.0.113.41 only
DNS_NAME6=v6only.tp.test # AAAA 2001:db8:1::61 only
DNS_MULTI=multi.tp.test # A 203.0.113.51..54, AAAA 2001:db8:1::51..52

TP_TMP=""
TP_LOG=""
TP_PID=""
TP_PIDS=() # every server we started (each is its own process group)
TP_NS_MADE=()
TP_DONE=0

tp_log() { printf '[%s] %s\n' "$TP_NAME" "$*" >&2; }

# skip MSG: the environment cannot run this test (CTest counts exit 77 as
# skipped, not passed).
skip() {
	tp_log "SKIP: $*"
	exit 77
}

# fail MSG: report, show the proxy's log tail, and exit 1 (teardown follows).
fail() {
	tp_log "FAIL: $*"
	tp_show_log
	exit 1
}

tp_show_log() {
	if [ -n "$TP_LOG" ] && [ -s "$TP_LOG" ]; then
		tp_log "---- proxy log ($TP_LOG), last 30 lines without counter dumps ----"
		grep -vE '^(counter|drop) [a-z0-9_]+ [0-9]+$|^counters end$' "$TP_LOG" | tail -n 30 >&2
		tp_log "---- end of proxy log ----"
	fi
}

tp_pass() {
	tp_check_rx_path
	TP_DONE=1
	tp_log "PASS"
	exit 0
}

# tp_check_rx_path: with TP_EXPECT_RX set, the proxy (if still running) must
# be on the receive path the variant asked for (see the top).
tp_check_rx_path() {
	if [ -n "${TP_EXPECT_LOG:-}" ]; then
		grep -qF -- "$TP_EXPECT_LOG" "$TP_LOG" || fail "the proxy log lacks '$TP_EXPECT_LOG'"
	fi
	[ -n "${TP_EXPECT_RX:-}" ] && [ -n "${TP_PID:-}" ] && tp_running "$TP_PID" || return 0
	local v
	case $TP_EXPECT_RX in
	userspace)
		v=$(tp_counter tcp_rx_userspace) || exit 1
		[ "$v" = 1 ] || fail "tcp_rx_userspace = $v: auto did not pick the rings under the shim"
		;;
	fallback)
		v=$(tp_counter tcp_rx_fallbacks) || exit 1
		[ "$v" -gt 0 ] || fail "tcp_rx_fallbacks = 0: no socket moved to a ring mid-stream"
		;;
	esac
	tp_log "receive path as expected ($TP_EXPECT_RX, $v)"
}

# in_app/in_proxy/in_net CMD...: run CMD inside that namespace.
in_app() { ip netns exec "$NS_APP" "$@"; }
in_proxy() { ip netns exec "$NS_PROXY" "$@"; }
in_net() { ip netns exec "$NS_NET" "$@"; }

# tp_require CMD...: skip unless each command exists.
tp_require() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "needs '$c' (scripts/test.sh installs it)"
	done
}

tp_check_env() {
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, TUN)"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun"
	command -v ip >/dev/null 2>&1 || skip "no 'ip' (iproute2)"
	ip netns list >/dev/null 2>&1 || skip "'ip netns' does not work here"
	tp_require setsid sysctl ss
	if [ ! -x "$TUNPROXY" ]; then
		fail "tunproxy binary not found at $TUNPROXY (build it, or set TUNPROXY)"
	fi
}

# Run "$@" until it succeeds, every 0.1 s, for at most $1 seconds (scaled by
# TP_SLOW). Returns 1 on timeout.
tp_wait_for() {
	local secs=$1 i n
	shift
	n=$((secs * 10 * TP_SLOW))
	for ((i = 0; i < n; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# tp_timed CMD...: runs CMD in app, output discarded; prints "STATUS
# MILLISECONDS" (read -r rc ms < <(tp_timed ...)), for checks that a
# refusal arrives at once rather than after a timeout.
tp_timed() {
	local t0 t1 rc
	t0=$(date +%s%N)
	in_app "$@" >/dev/null 2>&1
	rc=$?
	t1=$(date +%s%N)
	echo "$rc $(((t1 - t0) / 1000000))"
}

# --- process bookkeeping ----------------------------------------------------

# tp_spawn NS LOGFILE CMD...: start CMD in namespace NS, in its own session
# and process group (so its children can be stopped with it), output to
# LOGFILE. Sets TP_SPAWNED to its PID. setsid does not fork here: a
# background job of a non-interactive shell is not a group leader.
tp_spawn() {
	local ns=$1 log=$2
	shift 2
	setsid ip netns exec "$ns" "$@" >"$log" 2>&1 </dev/null &
	TP_SPAWNED=$!
}

# True while PID runs (a zombie counts as gone).
tp_running() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ]
}

# tp_stop_pid PID: SIGTERM its process group (it is the leader), then
# SIGKILL after a grace period. Only ever PIDs this script started.
tp_stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	if tp_running "$pid"; then
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			tp_running "$pid" || break
			sleep 0.1
		done
		if tp_running "$pid"; then
			kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
		fi
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# --- topology ----------------------------------------------------------------

# tp_setup [--raw-ping]: make the namespaces, veth pair, addresses, routes.
# --raw-ping leaves net.ipv4.ping_group_range at the namespace default "1 0",
# so ping sockets are refused and the proxy must fall back to a raw socket.
tp_setup() {
	local ping_group=1 ns
	[ "${1:-}" = --raw-ping ] && ping_group=0
	tp_check_env
	TP_TMP=$(mktemp -d "/tmp/${TP_NAME}.${TP_ID}.XXXXXX") || fail "mktemp"
	TP_LOG="$TP_TMP/proxy.log"
	trap tp_teardown EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	for ns in "$NS_APP" "$NS_PROXY" "$NS_NET"; do
		ip netns add "$ns" || fail "ip netns add $ns"
		TP_NS_MADE+=("$ns")
		ip -n "$ns" link set lo up || fail "lo up in $ns"
		# No DAD anywhere: addresses must be usable at once.
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 >/dev/null
	done

	# veth made inside our namespaces: its names cannot collide with others.
	ip -n "$NS_PROXY" link add vp type veth peer name vn netns "$NS_NET" ||
		fail "veth"
	ip -n "$NS_PROXY" addr add "$PROXY_V4/24" dev vp || fail "addr vp"
	ip -n "$NS_PROXY" addr add "$PROXY_V6/64" dev vp nodad || fail "addr6 vp"
	ip -n "$NS_PROXY" link set vp up || fail "vp up"
	ip -n "$NS_NET" addr add "$NET_V4/24" dev vn || fail "addr vn"
	ip -n "$NS_NET" addr add "$NET_V6/64" dev vn nodad || fail "addr6 vn"
	ip -n "$NS_NET" link set vn up || fail "vn up"
	ip -n "$NS_NET" addr add "$HOST_V4/32" dev lo || fail "addr lo"
	ip -n "$NS_NET" addr add "$HOST_V6/128" dev lo nodad || fail "addr6 lo"
	ip -n "$NS_PROXY" route add default via "$NET_V4" || fail "route"
	ip -n "$NS_PROXY" -6 route add default via "$NET_V6" || fail "route6"

	if [ "$ping_group" = 1 ]; then
		in_proxy sysctl -qw net.ipv4.ping_group_range="0 2147483647" ||
			fail "ping_group_range"
	fi
	# The veth link needs a moment to come up (carrier).
	tp_wait_for 5 in_proxy ping -c 1 -W 1 "$NET_V4" || fail "proxy cannot reach net"
	tp_wait_for 5 in_proxy ping -6 -c 1 -W 1 "$HOST_V6" ||
		fail "proxy cannot reach net over IPv6"
}

# tp_start_proxy [ARGS...]: start tunproxy in "proxy" with --tun tp0
# --no-tun-config plus ARGS, wait for the device, move it to "app" and
# configure it there.
tp_start_proxy() {
	# shellcheck disable=SC2086 # TP_VERBOSE is empty or one option
	tp_start_proxy_cmd "$TUNPROXY" --tun "$TP_TUN" --no-tun-config $TP_VERBOSE \
		${TP_TCP_RX:+--tcp-rx "$TP_TCP_RX"} "$@"
}

# tp_stop_proxy: SIGTERM the proxy and check it exits 0 with no sanitizer or
# valgrind report in its log. Returns 1 (after logging why) otherwise.
tp_stop_proxy() {
	local pid=$TP_PID rc i
	[ -n "$pid" ] || return 0
	TP_PID=""
	if ! tp_running "$pid"; then
		wait "$pid"
		rc=$?
		tp_log "tunproxy had already exited (status $rc)"
		return 1
	fi
	kill -TERM "$pid"
	for ((i = 0; i < 100 * TP_SLOW; i++)); do
		tp_running "$pid" || break
		sleep 0.1
	done
	if tp_running "$pid"; then
		tp_log "tunproxy did not exit within $((10 * TP_SLOW)) s of SIGTERM"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 1
	fi
	wait "$pid"
	rc=$?
	if [ "$rc" != 0 ]; then
		tp_log "tunproxy exited with status $rc after SIGTERM"
		return 1
	fi
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|ERROR SUMMARY: [1-9]' "$TP_LOG"; then
		tp_log "sanitizer/valgrind report in the proxy log"
		return 1
	fi
	return 0
}

# tp_proxy_alive: true while the proxy process runs.
tp_proxy_alive() { [ -n "$TP_PID" ] && tp_running "$TP_PID"; }

tp_teardown() {
	local rc=$? pid ns
	trap - EXIT INT TERM
	if [ -n "$TP_PID" ]; then
		if [ "$rc" = 0 ] || [ "$TP_DONE" = 1 ]; then
			if ! tp_stop_proxy; then
				tp_log "FAIL: the proxy did not shut down cleanly"
				tp_show_log
				rc=1
			fi
		else
			tp_stop_pid "$TP_PID"
			TP_PID=""
		fi
	fi
	for pid in "${TP_PIDS[@]}"; do
		tp_stop_pid "$pid"
	done
	for ns in "${TP_NS_MADE[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$TP_TMP" ]; then
		if [ "$rc" != 0 ] && [ "$rc" != 77 ] || [ -n "${TP_KEEP:-}" ]; then
			tp_log "logs kept in $TP_TMP"
		else
			rm -rf "$TP_TMP"
		fi
	fi
	exit "$rc"
}

# --- servers in "net" --------------------------------------------------------

# tp_start_dns: dnsmasq on 198.51.100.1, 203.0.113.10, 2001:db8::1 and
# 2001:db8:1::10, answering only the DNS_* test names (no upstream).
tp_start_dns() {
	tp_require dnsmasq dig
	tp_spawn "$NS_NET" "$TP_TMP/dnsmasq.log" dnsmasq --keep-in-foreground \
		--conf-file=/dev/null --no-resolv --no-hosts --no-poll --bind-interfaces \
		--pid-file= --log-facility=- --log-queries --cache-size=0 \
		--listen-address="$NET_V4,$HOST_V4,$NET_V6,$HOST_V6" \
		--local=/tp.test/ \
		--host-record="$DNS_NAME,$HOST_V4,$HOST_V6" \
		--host-record="$DNS_NAME4,203.0.113.41" \
		--host-record="$DNS_NAME6,2001:db8:1::61" \
		--host-record="$DNS_MULTI,203.0.113.51,2001:db8:1::51" \
		--host-record="$DNS_MULTI,203.0.113.52,2001:db8:1::52" \
		--host-record="$DNS_MULTI,203.0.113.53" \
		--host-record="$DNS_MULTI,203.0.113.54"
	TP_PIDS+=("$TP_SPAWNED")
	tp_wait_for 10 in_net dig +time=1 +tries=1 +short @"$HOST_V4" "$DNS_NAME" A ||
		fail "dnsmasq did not come up: $(tail -n 5 "$TP_TMP/dnsmasq.log")"
	tp_wait_for 10 in_net dig +time=1 +tries=1 +short @"$HOST_V6" "$DNS_NAME" A ||
		fail "dnsmasq (IPv6) did not come up"
}

tp_udp_listening() {
	# shellcheck disable=SC2016
	in_net ss -Hlun "sport = :$1" | grep -qF "$2"
}

# tp_start_udp_echo [PORT]: UDP echo servers bound to 203.0.113.10 and
# [2001:db8:1::10] (bound, so replies come from the address the app used).
# They echo datagrams of any size (reassembled large ones too).
tp_start_udp_echo() {
	local port=${1:-$ECHO_PORT}
	tp_spawn "$NS_NET" "$TP_TMP/echo4.log" "$TP_PY" -u "$TP_E2E_DIR/udp_echo_server.py" \
		"$HOST_V4" "$port"
	TP_PIDS+=("$TP_SPAWNED")
	tp_spawn "$NS_NET" "$TP_TMP/echo6.log" "$TP_PY" -u "$TP_E2E_DIR/udp_echo_server.py" \
		"$HOST_V6" "$port"
	TP_PIDS+=("$TP_SPAWNED")
	tp_wait_for 10 tp_udp_listening "$port" "$HOST_V4" || fail "UDP echo (v4) not listening"
	tp_wait_for 10 tp_udp_listening "$port" "$HOST_V6" || fail "UDP echo (v6) not listening"
}

# tp_start_sink PORT: tcp_sink.py on 203.0.113.10:PORT and
# [2001:db8:1::10]:PORT, logging to $TP_TMP/sink.log one line per
# connection with the byte count and SHA-256 it received (an upload is
# checked against that line). Returns once both listen.
tp_start_sink() {
	local port=$1
	tp_spawn "$NS_NET" "$TP_TMP/sink.log" "$TP_PY" -u "$TP_E2E_DIR/tcp_sink.py" \
		"$HOST_V4" "$port" "$HOST_V6" "$port"
	TP_PIDS+=("$TP_SPAWNED")
	# shellcheck disable=SC2016
	tp_wait_for 10 sh -c "ip netns exec $NS_NET ss -Hltn 'sport = :$port' | grep -q '\\[$HOST_V6\\]'" &&
		tp_wait_for 10 sh -c "ip netns exec $NS_NET ss -Hltn 'sport = :$port' | grep -q '$HOST_V4'" ||
		fail "the sink is not listening: $(cat "$TP_TMP/sink.log")"
}

# tp_start_http DIR: nginx serving DIR on 203.0.113.10:80 and
# [2001:db8:1::10]:80. TP_HTTP_LIMIT_RATE (e.g. 2m) makes it send each
# response at that many bytes per second (nginx limit_rate).
tp_start_http() {
	local dir=$1 conf="$TP_TMP/nginx"
	tp_require nginx
	mkdir -p "$conf"
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
    server {
        listen $HOST_V4:$HTTP_PORT;
        listen [$HOST_V6]:$HTTP_PORT;
        root $dir;
        ${TP_HTTP_LIMIT_RATE:+limit_rate $TP_HTTP_LIMIT_RATE;}
    }
}
EOF
	tp_spawn "$NS_NET" "$TP_TMP/nginx.log" nginx -p "$conf" -c "$conf/nginx.conf"
	TP_PIDS+=("$TP_SPAWNED")
	# shellcheck disable=SC2016
	tp_wait_for 10 sh -c "ip netns exec $NS_NET ss -Hltn 'sport = :$HTTP_PORT' | grep -q ." ||
		fail "nginx did not come up: $(tail -n 5 "$conf/error.log" 2>/dev/null)"
}

# --- the proxy's counters ----------------------------------------------------

# tp_dump: ask the proxy for its counters (SIGUSR1) and wait for the new
# "counters end" line in its log.
tp_dump() {
	local before i
	tp_proxy_alive || fail "tunproxy is not running (asked for counters)"
	before=$(grep -c '^counters end' "$TP_LOG")
	kill -USR1 "$TP_PID" || fail "cannot signal tunproxy"
	for ((i = 0; i < 100 * TP_SLOW; i++)); do
		[ "$(grep -c '^counters end' "$TP_LOG")" -gt "$before" ] && return 0
		sleep 0.05
	done
	fail "no 'counters end' line within $((5 * TP_SLOW)) s of SIGUSR1"
}

# tp_last KIND NAME: the value of "KIND NAME VALUE" in the latest dump.
tp_last() {
	awk -v k="$1" -v n="$2" '$1 == k && $2 == n { v = $3 } END { if (v == "") exit 1; print v }' \
		"$TP_LOG"
}

# tp_counter NAME: a fresh dump, then print counter NAME's value.
tp_counter() {
	tp_dump
	tp_last counter "$1" || fail "no counter '$1' in the proxy's dump"
}

# tp_drop REASON: a fresh dump, then print drop reason REASON's count.
tp_drop() {
	tp_dump
	tp_last drop "$1" || fail "no drop reason '$1' in the proxy's dump"
}

# tp_print_counters [KIND]: a fresh dump, its non-zero values printed to
# stderr (KIND "counter" or "drop": only those lines).
tp_print_counters() {
	tp_dump
	awk -v kind="${1:-}" '
	    $1 == "counters" && $2 == "end" { last = NR } { line[NR] = $0 }
	    END { for (i = last - 1; i > 0 && line[i] ~ /^(counter|drop) /; i--) start = i
	          for (i = start; i < last; i++) {
	              split(line[i], f, " ")
	              if (f[3] != "0" && (kind == "" || f[1] == kind)) print "  " line[i] } }' \
		"$TP_LOG" >&2
}

# tp_wait_counter NAME OP VALUE SECS: poll until "counter OP VALUE" holds
# (OP is a test(1) operator: -eq -ge -le ...). Returns 1 on timeout.
tp_wait_counter() {
	local name=$1 op=$2 want=$3 secs=$4 i v
	for ((i = 0; i < secs * 5 * TP_SLOW; i++)); do
		v=$(tp_counter "$name")
		test "$v" "$op" "$want" && return 0
		sleep 0.2
	done
	return 1
}

# --- another proxy program ----------------------------------------------------

# tp_start_proxy_cmd CMD [ARGS...]: what tp_start_proxy does, for any program
# that creates TUN device $TP_TUN in "proxy" and leaves it unconfigured
# (e.g. examples/embed --tun tp0 --no-tun-config): start it there under
# TP_WRAPPER, wait for the device, move it to "app" and configure it. The
# program's output goes to the proxy log; tp_counter works if it prints
# counters on SIGUSR1 the way tunproxy does, and teardown checks its exit
# status and the log as for tunproxy.
tp_start_proxy_cmd() {
	: >>"$TP_LOG"
	# A device of the same name left by a previous proxy must be gone.
	tp_wait_for 5 sh -c "! ip -n '$NS_APP' link show '$TP_TUN'" ||
		fail "$TP_TUN still exists in app"
	local pre=()
	# ASan insists on being first in the preload list; the shim is only
	# an interposer, so the order check can be waived.
	[ -n "${TP_PROXY_PRELOAD:-}" ] && pre=(env "LD_PRELOAD=$TP_PROXY_PRELOAD"
		"ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
	# shellcheck disable=SC2086 # TP_WRAPPER is a command line
	setsid ip netns exec "$NS_PROXY" "${pre[@]}" $TP_WRAPPER "$@" >>"$TP_LOG" 2>&1 </dev/null &
	TP_PID=$!
	local i
	for ((i = 0; i < 100 * TP_SLOW; i++)); do
		ip -n "$NS_PROXY" link show "$TP_TUN" >/dev/null 2>&1 && break
		tp_running "$TP_PID" || fail "$1 exited at start-up"
		sleep 0.1
	done
	ip -n "$NS_PROXY" link show "$TP_TUN" >/dev/null 2>&1 ||
		fail "$1 did not create $TP_TUN"
	ip -n "$NS_PROXY" link set "$TP_TUN" netns "$NS_APP" || fail "move $TP_TUN to app"
	ip -n "$NS_APP" addr add "$APP_V4/24" dev "$TP_TUN" || fail "app addr"
	ip -n "$NS_APP" addr add "$APP_V6/64" dev "$TP_TUN" nodad || fail "app addr6"
	ip -n "$NS_APP" link set "$TP_TUN" mtu 1500 up || fail "app link up"
	ip -n "$NS_APP" route add default dev "$TP_TUN" || fail "app route"
	ip -n "$NS_APP" -6 route add default dev "$TP_TUN" || fail "app route6"
	tp_running "$TP_PID" || fail "$1 died after the TUN was moved"
	tp_log "proxy pid $TP_PID up: $*"
}
