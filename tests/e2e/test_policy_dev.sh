#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The proxy never carries the app to its own dev-transport socket (which
# would feed the app's packets back into the proxy). tunproxy listens on
# the wildcard address (--listen udp:[::]:8081 --listen-public: IPv4 and
# IPv6), so its socket is reachable on every address of the proxy host,
# not only on loopback (which the safe defaults refuse anyway). Through the
# dev loop (device simulator -> tee -> proxy):
#   - UDP to the proxy host's veth addresses 198.51.100.2 and 2001:db8::2
#     at port 8081 is refused with ICMP/ICMPv6 "administratively
#     prohibited" (EHOSTUNREACH / EACCES for the app), counted in
#     flows_refused_policy and logged as the dev transport's socket;
#   - UDP to another port of that address is carried (nothing listens:
#     the app sees the host's real "connection refused");
#   - TCP to port 8081 of that address is carried too (the rule is for
#     the UDP socket only): the host answers RST, i.e. Connection refused;
#   - the dev loop keeps working (dig through it).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=devloop_lib.sh
. "$(dirname "$0")/devloop_lib.sh"
tp_require dig
tp_setup
tp_start_dns

proxy_args=(--listen "udp:[::]:$DL_PROXY_PORT" --listen-public -vv)
: >>"$TP_LOG"
# shellcheck disable=SC2086 # TP_WRAPPER is a command line
setsid ip netns exec "$NS_PROXY" $TP_WRAPPER "$TUNPROXY" "${proxy_args[@]}" \
	>>"$TP_LOG" 2>&1 </dev/null &
TP_PID=$!
tp_wait_for 10 dl_udp_bound "$DL_PROXY_PORT" || fail "proxy did not bind udp :$DL_PROXY_PORT"
dl_start_tee
dl_start_device

out=$(in_app dig +time=3 +tries=2 +short @"$HOST_V4" "$DNS_NAME" A 2>&1) || fail "dig through the dev loop: $out"
[ "$out" = "$HOST_V4" ] || fail "dig: got '$out'"
grep -q "refusing flows to our own socket: .*$PROXY_V4/32:$DL_PROXY_PORT" "$TP_LOG" ||
	fail "the proxy did not list $PROXY_V4:$DL_PROXY_PORT as its own socket"

pol0=$(tp_counter flows_refused_policy)
out=$(in_app "$TP_PY" "$TP_E2E_DIR/udp_refused.py" "$PROXY_V4" "$DL_PROXY_PORT" \
	--expect EHOSTUNREACH --timeout 1 2>&1) || fail "UDP to the proxy's own socket: $out"
tp_log "$out"
out=$(in_app "$TP_PY" "$TP_E2E_DIR/udp_refused.py" "$PROXY_V6" "$DL_PROXY_PORT" \
	--expect EACCES --timeout 1 2>&1) || fail "UDP to the proxy's own socket (IPv6): $out"
tp_log "$out"
pol=$(tp_counter flows_refused_policy)
[ $((pol - pol0)) -ge 2 ] || fail "flows_refused_policy went from $pol0 to $pol, want 2 more"
grep -qE "refused by policy: udp 10\.0\.0\.8:[0-9]+ -> $PROXY_V4:$DL_PROXY_PORT: deny $PROXY_V4/32:$DL_PROXY_PORT \(the proxy's own dev transport socket\)" "$TP_LOG" ||
	fail "no log line naming the dev transport's socket"

out=$(in_app "$TP_PY" "$TP_E2E_DIR/udp_refused.py" "$PROXY_V4" 9999 --timeout 1 2>&1) ||
	fail "UDP to another port of the proxy host: $out"
out=$(in_app "$TP_PY" "$TP_E2E_DIR/tcp_connect.py" "$PROXY_V4" "$DL_PROXY_PORT" \
	--expect ECONNREFUSED --within 2 2>&1) || fail "TCP to port $DL_PROXY_PORT: $out"
[ "$(tp_counter flows_refused_policy)" = "$pol" ] || fail "other ports were refused by the policy"
out=$(in_app dig +time=3 +tries=2 +short @"$HOST_V4" "$DNS_NAME" A 2>&1) || fail "dig after: $out"
tp_log "the proxy's own socket refused on $PROXY_V4 and $PROXY_V6; other ports carried"
tp_print_counters
tp_pass
