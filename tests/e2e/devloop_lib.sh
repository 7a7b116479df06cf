# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# devloop_lib.sh: the development loop of docs/devloop.md on top of lib.sh's
# topology. Source lib.sh first, then this file.
#
#   ns app            ns proxy (all on 127.0.0.1)                      ns net
#   tp0 10.0.0.8  <-  tunproxy device --tun tp0 --server :8080
#                       -> tunproxy tee :8080 -> :8081, mirror tcp :8082
#                                                 -> tunproxy --listen udp:127.0.0.1:8081 -> net
#                          tunproxy capture --from :8082 -w FILE
#
# The device simulator creates tp0 in "proxy" (its UDP socket lives there,
# next to the tee and the proxy) and the device is moved to "app", as
# tp_start_proxy does with the proxy's own TUN. The proxy is TP_PID, so
# lib.sh's tp_counter/tp_dump/teardown work unchanged; the other tools are
# in TP_PIDS (stopped by teardown) and have their own logs and counters.

DL_TEE_PORT=8080
DL_PROXY_PORT=8081
DL_MIRROR_PORT=8082
DL_TEE_PID=""
DL_DEV_PID=""
DL_CAP_PID=""

dl_udp_bound() { in_proxy ss -Hlun "sport = :$1" | grep -q .; }
dl_tcp_listening() { in_proxy ss -Hltn "sport = :$1" | grep -q .; }

# dl_start_proxy [ARGS]: tunproxy --listen udp:127.0.0.1:8081 in "proxy".
dl_start_proxy() {
	: >>"$TP_LOG"
	# shellcheck disable=SC2086 # TP_WRAPPER is a command line
	setsid ip netns exec "$NS_PROXY" $TP_WRAPPER "$TUNPROXY" \
		--listen "udp:127.0.0.1:$DL_PROXY_PORT" $TP_VERBOSE "$@" \
		>>"$TP_LOG" 2>&1 </dev/null &
	TP_PID=$!
	tp_wait_for 10 dl_udp_bound "$DL_PROXY_PORT" || fail "proxy did not bind udp :$DL_PROXY_PORT"
	tp_running "$TP_PID" || fail "tunproxy --listen exited at start-up"
	tp_log "tunproxy --listen pid $TP_PID up"
}

# dl_start_tee [ARGS]: the tee relaying :8080 <-> :8081, mirror on :8082.
dl_start_tee() {
	# shellcheck disable=SC2086
	tp_spawn "$NS_PROXY" "$TP_TMP/tee.log" $TP_WRAPPER "$TUNPROXY" tee -v \
		--listen "127.0.0.1:$DL_TEE_PORT" --forward "127.0.0.1:$DL_PROXY_PORT" \
		--mirror "127.0.0.1:$DL_MIRROR_PORT" "$@"
	DL_TEE_PID=$TP_SPAWNED
	TP_PIDS+=("$DL_TEE_PID")
	tp_wait_for 10 dl_udp_bound "$DL_TEE_PORT" || fail "tee did not bind udp :$DL_TEE_PORT: $(tail -n 5 "$TP_TMP/tee.log")"
	tp_wait_for 10 dl_tcp_listening "$DL_MIRROR_PORT" || fail "tee mirror not listening"
}

# dl_start_capture FILE [ARGS]: a capture client writing FILE; waits until
# the tee has it as a subscriber. Sets DL_CAP_PID and DL_CAP_LOG.
dl_start_capture() {
	local file=$1 n
	shift
	n=$(ls "$TP_TMP"/capture*.log 2>/dev/null | wc -l)
	DL_CAP_LOG="$TP_TMP/capture$n.log"
	# shellcheck disable=SC2086
	tp_spawn "$NS_PROXY" "$DL_CAP_LOG" $TP_WRAPPER "$TUNPROXY" capture -v \
		--from "127.0.0.1:$DL_MIRROR_PORT" -w "$file" "$@"
	DL_CAP_PID=$TP_SPAWNED
	TP_PIDS+=("$DL_CAP_PID")
	tp_wait_for 10 grep -q 'capturing' "$DL_CAP_LOG" ||
		fail "capture did not connect: $(tail -n 5 "$DL_CAP_LOG")"
}

# dl_start_device [ARGS]: the device simulator with tp0, moved to "app" and
# configured there like the proxy's TUN in tp_start_proxy.
dl_start_device() {
	tp_wait_for 5 sh -c "! ip -n '$NS_APP' link show '$TP_TUN'" ||
		fail "$TP_TUN still exists in app"
	# shellcheck disable=SC2086
	tp_spawn "$NS_PROXY" "$TP_TMP/device.log" $TP_WRAPPER "$TUNPROXY" device -v \
		--server "127.0.0.1:$DL_TEE_PORT" --tun "$TP_TUN" --no-tun-config "$@"
	DL_DEV_PID=$TP_SPAWNED
	TP_PIDS+=("$DL_DEV_PID")
	tp_wait_for 10 ip -n "$NS_PROXY" link show "$TP_TUN" ||
		fail "device simulator did not create $TP_TUN: $(tail -n 5 "$TP_TMP/device.log")"
	ip -n "$NS_PROXY" link set "$TP_TUN" netns "$NS_APP" || fail "move $TP_TUN to app"
	ip -n "$NS_APP" addr add "$APP_V4/24" dev "$TP_TUN" || fail "app addr"
	ip -n "$NS_APP" addr add "$APP_V6/64" dev "$TP_TUN" nodad || fail "app addr6"
	ip -n "$NS_APP" link set "$TP_TUN" mtu 1500 up || fail "app link up"
	ip -n "$NS_APP" route add default dev "$TP_TUN" || fail "app route"
	ip -n "$NS_APP" -6 route add default dev "$TP_TUN" || fail "app route6"
	tp_running "$DL_DEV_PID" || fail "device simulator died after the TUN was moved"
}

# dl_counter PID LOG NAME: SIGUSR1 to a tool, then NAME's value from the
# fresh "counter NAME VALUE" dump in LOG.
dl_counter() {
	local pid=$1 log=$2 name=$3 before i
	tp_running "$pid" || fail "$(basename "$log" .log) is not running (asked for $name)"
	before=$(grep -c '^counters end' "$log")
	kill -USR1 "$pid"
	for ((i = 0; i < 100 * TP_SLOW; i++)); do
		[ "$(grep -c '^counters end' "$log")" -gt "$before" ] && break
		sleep 0.05
	done
	awk -v n="$name" '$1 == "counter" && $2 == n { v = $3 } END { if (v == "") exit 1; print v }' "$log" ||
		fail "no counter '$name' in $log"
}

dl_tee_counter() { dl_counter "$DL_TEE_PID" "$TP_TMP/tee.log" "$1"; }
dl_dev_counter() { dl_counter "$DL_DEV_PID" "$TP_TMP/device.log" "$1"; }

# dl_stop PID LOG [SIGNAL]: stop a tool (default SIGTERM) and check it exits
# 0 within 10 s with no sanitizer report in LOG. Returns 1 (logged) if not.
dl_stop() {
	local pid=$1 log=$2 sig=${3:-TERM} i rc
	tp_running "$pid" || { tp_log "$(basename "$log") process had already exited"; return 1; }
	kill -"$sig" "$pid"
	for ((i = 0; i < 100 * TP_SLOW; i++)); do
		tp_running "$pid" || break
		sleep 0.1
	done
	if tp_running "$pid"; then
		tp_log "$(basename "$log") did not exit after SIG$sig"
		return 1
	fi
	wait "$pid"
	rc=$?
	if [ "$rc" != 0 ]; then
		tp_log "$(basename "$log") exited with status $rc: $(tail -n 5 "$log")"
		return 1
	fi
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log"; then
		tp_log "sanitizer report in $log"
		return 1
	fi
	return 0
}

# dl_tshark FILE FILTER FIELD...: one line per matching packet.
dl_tshark() {
	local file=$1 filter=$2
	shift 2
	local args=() f
	for f in "$@"; do args+=(-e "$f"); done
	tshark -r "$file" -Y "$filter" -T fields -E separator=' ' "${args[@]}" 2>/dev/null
}
