# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# run_lib.sh: helpers for the `tunproxy run` tests (test_run*.sh).
#
# The "outer" namespace, where `tunproxy run` itself runs and its host
# sockets live, is lib.sh's "proxy" namespace: its only way out is the veth
# to "net" (nginx, dnsmasq). Its /etc/resolv.conf names dnsmasq in "net"
# (ip netns exec bind-mounts /etc/netns/NAME/resolv.conf), so the DNS
# forwarder is tested against "the host's own resolver" without touching
# the machine's. Nothing leaves namespaces the test made.
#
#   rl_setup [user]     topology, dnsmasq, nginx with a 10 MiB file; "user":
#                       runs become uid/gid 65534 and /dev/net/tun is made
#                       0666 for the test (restored at exit)
#   rl_run ARGS...      tunproxy run ARGS in the outer namespace (as the
#                       chosen user); stdout to stdout, stderr to
#                       $TP_TMP/run.err
#   rl_run_bg ARGS...   the same in the background: RL_PID
#   rl_check_clean      no TUN, namespace, temp dir or process left behind
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RL_USER=""
RL_TUN_MODE=""
RL_ETC=""
RL_BLOB_SHA=""

rl_teardown() {
	local rc=$?
	[ -n "$RL_TUN_MODE" ] && chmod "$RL_TUN_MODE" /dev/net/tun
	[ -n "$RL_ETC" ] && rm -rf "$RL_ETC"
	(exit "$rc")
	tp_teardown
}

# Every tunproxy run and CMD of this test carries RL_MARK in its
# environment: the PIDs of any still running (other tests' namespaces come
# and go meanwhile, so the mark, not the set of namespaces, is what tells
# ours).
RL_MARK="tp-run-test-$$"
rl_marked_pids() {
	local f
	for f in /proc/[0-9]*/environ; do
		[ "${f#/proc/}" = "$BASHPID/environ" ] && continue
		grep -qzx "RL_MARK=$RL_MARK" "$f" 2>/dev/null && basename "$(dirname "$f")"
	done
}

rl_setup() {
	tp_setup
	trap rl_teardown EXIT
	tp_require nginx dnsmasq dig curl getent setpriv sha256sum socat
	if [ "${1:-}" = user ]; then
		RL_USER=65534
		RL_TUN_MODE=$(stat -c %a /dev/net/tun)
		chmod 0666 /dev/net/tun || fail "chmod /dev/net/tun"
		unshare_ok=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
			unshare -Urn true 2>&1) || skip "no unprivileged user namespaces here: $unshare_ok"
		chmod 0755 "$TP_TMP"
	fi
	RL_ETC=/etc/netns/$NS_PROXY
	mkdir -p "$RL_ETC" || fail "mkdir $RL_ETC"
	printf 'nameserver %s\nsearch tp.test\n' "$NET_V4" >"$RL_ETC/resolv.conf"
	tp_start_dns
	mkdir -p "$TP_TMP/www"
	head -c $((10 << 20)) /dev/urandom >"$TP_TMP/www/blob"
	chmod -R a+rX "$TP_TMP/www"
	RL_BLOB_SHA=$(sha256sum <"$TP_TMP/www/blob" | cut -d' ' -f1)
	tp_start_http "$TP_TMP/www"
}

# The command line of `tunproxy run` in the outer namespace, as the user.
rl_argv() {
	RL_ARGV=(ip netns exec "$NS_PROXY" env "RL_MARK=$RL_MARK")
	[ -n "$RL_USER" ] &&
		RL_ARGV+=(setpriv --reuid="$RL_USER" --regid="$RL_USER" --clear-groups)
	# shellcheck disable=SC2206 # TP_WRAPPER is words
	RL_ARGV+=($TP_WRAPPER "$TUNPROXY" run)
}

rl_run() {
	rl_argv
	"${RL_ARGV[@]}" "$@" 2>>"$TP_TMP/run.err"
}

# A simple command in the background: $! is tunproxy itself (ip, env and
# setpriv exec), so signals reach it. Job control on (set -m): otherwise
# bash starts background commands with SIGINT ignored, as a shell script's
# `cmd &` would be.
rl_run_bg() {
	rl_argv
	rm -f "$TP_TMP/bg.out" # rl_wait_file must not see the last run's
	set -m
	"${RL_ARGV[@]}" "$@" >"$TP_TMP/bg.out" 2>>"$TP_TMP/run.err" &
	RL_PID=$!
	set +m
}

# rl_wait_file FILE PATTERN: until FILE holds PATTERN (10 s).
rl_wait_file() { tp_wait_for 10 grep -q "$2" "$1"; }

rl_check_clean() {
	local links left
	links=$(ip -n "$NS_PROXY" -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort | tr '\n' ' ')
	[ "$links" = "lo vp " ] || fail "links left in the outer namespace: $links"
	left=$(rl_marked_pids | while read -r p; do
		echo "$p:$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
	done)
	[ -z "$left" ] || fail "processes left behind: $left"
	# shellcheck disable=SC2012
	left=$(ls -d /tmp/tunproxy-run.* 2>/dev/null | head -n 3)
	[ -z "$left" ] || fail "temporary directories left: $left"
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TP_TMP/run.err" 2>/dev/null; then
		fail "sanitizer report: $(grep -m3 -E 'Sanitizer|runtime error' "$TP_TMP/run.err")"
	fi
}

# The functional checks, as root or as the user (test_run.sh, test_run_user.sh).
rl_checks() {
	local out sha rc

	# A 10 MiB download, byte-exact (IPv4 and IPv6).
	sha=$(rl_run -- sh -c "curl -sS --max-time 60 http://$HOST_V4/blob | sha256sum") ||
		fail "curl over IPv4 failed: $(tail -n 5 "$TP_TMP/run.err")"
	[ "${sha%% *}" = "$RL_BLOB_SHA" ] || fail "IPv4 download: sha $sha, want $RL_BLOB_SHA"
	sha=$(rl_run -- sh -c "curl -sS --max-time 60 'http://[$HOST_V6]/blob' | sha256sum") ||
		fail "curl over IPv6 failed: $(tail -n 5 "$TP_TMP/run.err")"
	[ "${sha%% *}" = "$RL_BLOB_SHA" ] || fail "IPv6 download: sha $sha, want $RL_BLOB_SHA"
	sha=$(rl_run --no-offload -- sh -c "curl -sS --max-time 60 http://$HOST_V4/blob | sha256sum") ||
		fail "curl with --no-offload failed: $(tail -n 5 "$TP_TMP/run.err")"
	[ "${sha%% *}" = "$RL_BLOB_SHA" ] || fail "--no-offload download: sha $sha"
	tp_log "10 MiB over IPv4 and IPv6 (and without offloads), byte-exact: ok"

	# DNS through the forwarder: resolv.conf names 10.0.0.1 and fdaa::1.
	out=$(rl_run -- cat /etc/resolv.conf) || fail "cat resolv.conf failed"
	grep -q '^nameserver 10.0.0.1$' <<<"$out" || fail "resolv.conf inside: $out"
	grep -q '^nameserver fdaa::1$' <<<"$out" || fail "resolv.conf inside (v6): $out"
	for server in 10.0.0.1 fdaa::1; do
		for tcp in "" +tcp; do
			out=$(rl_run -- dig +time=3 +tries=2 $tcp +short @"$server" "$DNS_NAME" A) ||
				fail "dig $tcp @$server failed: $out"
			[ "$out" = "$HOST_V4" ] || fail "dig $tcp @$server A: got '$out'"
			out=$(rl_run -- dig +time=3 +tries=2 $tcp +short @"$server" "$DNS_NAME" AAAA) ||
				fail "dig $tcp @$server AAAA failed: $out"
			[ "$out" = "$HOST_V6" ] || fail "dig $tcp @$server AAAA: got '$out'"
		done
	done
	# dig with no server: the resolv.conf we wrote.
	out=$(rl_run -- dig +time=3 +tries=2 +short "$DNS_NAME4" A) || fail "dig (default server) failed"
	[ "$out" = 203.0.113.41 ] || fail "dig default server: got '$out'"
	out=$(rl_run -- getent hosts "$DNS_NAME4") || fail "getent hosts failed"
	[ "$(tr -s ' \t' ' ' <<<"$out")" = "203.0.113.41 $DNS_NAME4" ] || fail "getent hosts: '$out'"
	out=$(rl_run -- getent ahostsv4 "$DNS_NAME4") || fail "getent ahostsv4 failed"
	grep -q '^203.0.113.41 ' <<<"$out" || fail "getent ahostsv4: $out"
	out=$(rl_run -- getent ahostsv6 "$DNS_NAME6") || fail "getent ahostsv6 failed"
	grep -q '^2001:db8:1::61 ' <<<"$out" || fail "getent ahostsv6: $out"
	# A name, resolved and fetched (the search list came along: "www").
	sha=$(rl_run -- sh -c "curl -sS --max-time 60 http://www/blob | sha256sum") ||
		fail "curl by name failed: $(tail -n 5 "$TP_TMP/run.err")"
	[ "${sha%% *}" = "$RL_BLOB_SHA" ] || fail "download by name: sha $sha"
	# An IPv6 upstream named with --dns.
	out=$(rl_run --dns "$NET_V6" -- dig +time=3 +tries=2 +tcp +short "$DNS_NAME6" AAAA) ||
		fail "dig via --dns $NET_V6 failed"
	[ "$out" = 2001:db8:1::61 ] || fail "--dns $NET_V6: got '$out'"
	# --no-dns: the outer namespace's file is left as it is.
	out=$(rl_run --no-dns -- cat /etc/resolv.conf)
	grep -q "^nameserver $NET_V4\$" <<<"$out" || fail "--no-dns changed resolv.conf: $out"
	tp_log "DNS over UDP and TCP, IPv4 and IPv6, dig and getent: ok"

	# A loopback stub resolver in the outer namespace (as systemd-resolved's
	# 127.0.0.53), which the policy refuses to CMD itself: the forwarder
	# still reaches it, and CMD's own try at 127.0.0.53 stays inside.
	tp_spawn "$NS_PROXY" "$TP_TMP/stub.log" dnsmasq --keep-in-foreground \
		--conf-file=/dev/null --no-resolv --no-hosts --no-poll --bind-interfaces \
		--pid-file= --log-facility=- --cache-size=0 --listen-address=127.0.0.53 \
		--local=/stub.test/ --host-record=answer.stub.test,203.0.113.99
	TP_PIDS+=("$TP_SPAWNED")
	tp_wait_for 10 in_proxy dig +time=1 +tries=1 +short @127.0.0.53 answer.stub.test ||
		fail "the stub dnsmasq did not come up"
	printf 'nameserver 127.0.0.53\n' >"$RL_ETC/resolv.conf"
	for tcp in "" +tcp; do
		out=$(rl_run -- dig +time=3 +tries=2 $tcp +short answer.stub.test A) ||
			fail "dig $tcp via the loopback stub failed"
		[ "$out" = 203.0.113.99 ] || fail "dig $tcp via the loopback stub: got '$out'"
	done
	out=$(rl_run -- getent ahostsv4 answer.stub.test) || fail "getent via the stub failed"
	grep -q '^203.0.113.99 ' <<<"$out" || fail "getent via the stub: $out"
	tp_stop_pid "$TP_SPAWNED"
	tp_log "a loopback stub upstream (127.0.0.53), UDP and TCP: ok"

	# Several host nameservers, the first one dead: each gets an address
	# of its own inside, so the C library fails over as on the host.
	printf 'options timeout:1 attempts:1\nnameserver 198.51.100.77\nnameserver %s\n' \
		"$NET_V4" >"$RL_ETC/resolv.conf"
	out=$(rl_run -- cat /etc/resolv.conf)
	grep -q '^nameserver 10.0.0.2$' <<<"$out" || fail "no second resolver inside: $out"
	grep -q '^options timeout:1 attempts:1$' <<<"$out" || fail "options not kept: $out"
	out=$(rl_run -- getent hosts "$DNS_NAME4") || fail "getent with a dead first nameserver failed"
	[ "$(tr -s ' \t' ' ' <<<"$out")" = "203.0.113.41 $DNS_NAME4" ] ||
		fail "getent with a dead first nameserver: '$out'"
	out=$(rl_run -- dig +time=2 +tries=1 +short @10.0.0.2 "$DNS_NAME4" A)
	[ "$out" = 203.0.113.41 ] || fail "dig @10.0.0.2 (the second nameserver): '$out'"
	tp_log "several nameservers, the first dead: failover inside: ok"

	# An IPv6 nameserver on the host, asked over both families inside.
	printf 'nameserver %s\n' "$NET_V6" >"$RL_ETC/resolv.conf"
	for server in 10.0.0.1 fdaa::1; do
		out=$(rl_run -- dig +time=3 +tries=2 +short @"$server" "$DNS_NAME6" AAAA)
		[ "$out" = 2001:db8:1::61 ] || fail "IPv6 upstream via $server: got '$out'"
	done
	out=$(rl_run -- getent ahostsv6 "$DNS_NAME") || fail "getent via an IPv6 upstream failed"
	grep -q "^$HOST_V6 " <<<"$out" || fail "getent via an IPv6 upstream: $out"
	printf 'nameserver %s\nsearch tp.test\n' "$NET_V4" >"$RL_ETC/resolv.conf"
	tp_log "an IPv6 nameserver on the host: ok"

	# An upload whose client exits as soon as its last write returns:
	# the kernel still holds the tail in the closed socket, and tunproxy
	# must serve it before exiting. The sink waits 1 s before it reads
	# each connection, so megabytes are still queued when socat exits.
	# Three times, byte-exact.
	tp_spawn "$NS_NET" "$TP_TMP/sink.log" "$TP_PY" -u -c '
import hashlib, socket, sys, threading, time
def serve(c):
    time.sleep(1)
    h, n = hashlib.sha256(), 0
    while True:
        b = c.recv(1 << 16)
        if not b:
            break
        h.update(b)
        n += len(b)
    print("sink", "x", n, h.hexdigest(), flush=True)
    c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 9999))
s.listen(8)
while True:
    threading.Thread(target=serve, args=(s.accept()[0],)).start()
' "$HOST_V4"
	TP_PIDS+=("$TP_SPAWNED")
	tp_wait_for 10 sh -c "ip netns exec $NS_NET ss -Hltn 'sport = :9999' | grep -q ." ||
		fail "the TCP sink did not come up"
	# More than every buffer on the way holds (the app's socket, the
	# engine's window, the host sockets): the tail is still in the app's
	# socket when socat exits.
	cat "$TP_TMP/www/blob" "$TP_TMP/www/blob" "$TP_TMP/www/blob" "$TP_TMP/www/blob" \
		"$TP_TMP/www/blob" "$TP_TMP/www/blob" >"$TP_TMP/up"
	chmod a+r "$TP_TMP/up"
	up_sha=$(sha256sum <"$TP_TMP/up" | cut -d' ' -f1)
	for i in 1 2 3; do
		rl_run -- socat -u "OPEN:$TP_TMP/up" "TCP:$HOST_V4:9999" ||
			fail "upload $i: socat failed: $(tail -n 3 "$TP_TMP/run.err")"
	done
	tp_wait_for 10 sh -c "[ \$(grep -c '^sink ' '$TP_TMP/sink.log') -ge 3 ]" ||
		fail "the sink saw $(grep -c '^sink ' "$TP_TMP/sink.log") of 3 uploads end"
	out=$(awk '$1 == "sink" { print $3, $4 }' "$TP_TMP/sink.log" | sort | uniq -c | awk '{print $1, $2, $3}')
	[ "$out" = "3 $((60 << 20)) $up_sha" ] ||
		fail "uploads by a client that exits at once: got [$out], want 3 x $((60 << 20)) bytes $up_sha"
	tp_stop_pid "$TP_SPAWNED"
	rm -f "$TP_TMP/up"
	tp_log "uploads whose client exits at once arrive whole: ok"

	# Engine options apply: --mtu sets the TUN's MTU inside.
	out=$(rl_run --mtu 1400 -- cat /sys/class/net/tun0/mtu) || fail "--mtu 1400 failed"
	[ "$out" = 1400 ] || fail "--mtu 1400: the TUN has MTU '$out'"

	# ping.
	out=$(rl_run -- ping -c 2 -i 0.5 -W 3 "$HOST_V4" 2>&1) || fail "ping $HOST_V4 failed: $out"
	out=$(rl_run -- ping -6 -c 2 -i 0.5 -W 3 "$HOST_V6" 2>&1) || fail "ping $HOST_V6 failed: $out"

	# Exit statuses.
	rl_run -- sh -c 'exit 7'
	rc=$?
	[ "$rc" = 7 ] || fail "exit 7 gave $rc"
	rl_run -- sh -c 'kill -TERM $$'
	rc=$?
	[ "$rc" = 143 ] || fail "a CMD killed by SIGTERM gave $rc, want 143"
	rl_run -- no-such-command-tp
	rc=$?
	[ "$rc" = 127 ] || fail "a missing CMD gave $rc, want 127"
	grep -q 'no-such-command-tp: command not found' "$TP_TMP/run.err" ||
		fail "no 'command not found' message"
	# shellcheck disable=SC2016 # the shell inside expands it
	out=$(SHELL=/bin/sh rl_run <<<'echo from-the-shell $((6*7))')
	[ "$out" = "from-the-shell 42" ] || fail "no CMD: \$SHELL gave '$out'"

	# Signals are forwarded: SIGTERM to tunproxy ends CMD (143).
	rl_run_bg -- sh -c 'echo started; exec sleep 30'
	rl_wait_file "$TP_TMP/bg.out" started || fail "background CMD did not start"
	kill -TERM "$RL_PID"
	wait "$RL_PID"
	rc=$?
	[ "$rc" = 143 ] || fail "SIGTERM to tunproxy run gave $rc, want 143"
	tp_log "exit statuses and signals: ok"
	rl_check_clean
	tp_log "nothing left behind: ok"
}
