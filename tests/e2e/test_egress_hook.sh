#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The egress hook (tp_config.egress_hook), through the embedding example:
# examples/embed --mark 42 sets SO_MARK on every host socket from the
# hook, as an Android app would call VpnService.protect(fd) there. nft
# counters in the proxy namespace's output path count the engine's TCP,
# UDP and ICMP echo packets that carry mark 42 and those that do not:
# after DNS (dig), HTTP (curl) and ping over IPv4 and IPv6, every one
# must be marked. The hook also refuses sockets to port 9999 (--refuse-
# port): a connect there reaches the app as a RST at once, counted in
# egress_refused, and the engine goes on serving.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
TP_EMBED=${TP_EMBED:-$TP_ROOT/build/examples/embed}
tp_require dig curl nginx ping nft
[ -x "$TP_EMBED" ] || fail "embed example not found at $TP_EMBED"
[ -x "$TUNPROXY" ] || TUNPROXY=$TP_EMBED
tp_setup

MARK=42
in_proxy nft -f - <<EOF2 || fail "nft setup"
table inet tpmark {
	chain out {
		type filter hook output priority 0;
		oifname "vp" meta l4proto { tcp, udp } meta mark $MARK counter comment "marked"
		oifname "vp" meta l4proto { tcp, udp } meta mark != $MARK counter comment "unmarked"
		oifname "vp" icmp type echo-request meta mark $MARK counter comment "ping4_marked"
		oifname "vp" icmpv6 type echo-request meta mark $MARK counter comment "ping6_marked"
		oifname "vp" icmp type echo-request meta mark != $MARK counter comment "ping_unmarked"
		oifname "vp" icmpv6 type echo-request meta mark != $MARK counter comment "ping_unmarked"
	}
}
EOF2

# nft_count COMMENT: packets counted by the rules with that comment.
nft_count() {
	in_proxy nft list chain inet tpmark out |
		awk -v c="\"$1\"" '$0 ~ "comment " c { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) } END { print n + 0 }'
}

www="$TP_TMP/www"
mkdir -p "$www"
printf 'hello from net\n' >"$www/hello.txt"
tp_start_dns
tp_start_http "$www"
tp_start_proxy_cmd "$TP_EMBED" --tun "$TP_TUN" --no-tun-config -v --mark "$MARK" --refuse-port 9999

for server in "$HOST_V4" "$HOST_V6"; do
	out=$(in_app dig +time=5 +tries=2 +short @"$server" "$DNS_NAME" A 2>&1) || fail "dig @$server: $out"
	[ "$out" = "$HOST_V4" ] || fail "dig @$server: got '$out'"
	host=$server
	case $server in *:*) host="[$server]" ;; esac
	out=$(in_app curl -sS -g --max-time 10 "http://$host:$HTTP_PORT/hello.txt" 2>&1) || fail "curl $host: $out"
	[ "$out" = "hello from net" ] || fail "curl $host: got '$out'"
done
in_app ping -c 2 -i 0.2 -W 5 "$HOST_V4" >/dev/null 2>&1 || fail "ping $HOST_V4"
in_app ping -6 -c 2 -i 0.2 -W 5 "$HOST_V6" >/dev/null 2>&1 || fail "ping -6 $HOST_V6"

marked=$(nft_count marked)
unmarked=$(nft_count unmarked)
p4=$(nft_count ping4_marked)
p6=$(nft_count ping6_marked)
pu=$(nft_count ping_unmarked)
tp_log "nft: $marked TCP/UDP packets marked, $unmarked not; echo requests marked v4 $p4, v6 $p6, unmarked $pu"
[ "$marked" -ge 10 ] || fail "only $marked marked TCP/UDP packets left the proxy"
[ "$unmarked" -eq 0 ] || fail "$unmarked TCP/UDP packets left the proxy without mark $MARK"
if [ "$p4" -lt 2 ] || [ "$p6" -lt 2 ]; then
	fail "echo requests not marked (v4 $p4, v6 $p6)"
fi
[ "$pu" -eq 0 ] || fail "$pu echo requests left without the mark"

# A socket the hook refuses: the app's connect is refused at once.
r0=$(tp_counter egress_refused)
read -r rc ms < <(tp_timed curl -sS --max-time 10 "http://$HOST_V4:9999/")
[ "$rc" = 7 ] || fail "refused by the hook: curl exit $rc, want 7 (connection refused)"
[ "$ms" -lt 1000 ] || fail "refused by the hook: took $ms ms"
r=$(tp_counter egress_refused)
[ "$r" -eq $((r0 + 1)) ] || fail "egress_refused went from $r0 to $r, want one more"
out=$(in_app curl -sS --max-time 10 "http://$HOST_V4:$HTTP_PORT/hello.txt" 2>&1) || fail "curl after the refusal: $out"
[ "$out" = "hello from net" ] || fail "curl after the refusal: got '$out'"
tp_log "hook refusal: RST in $ms ms, egress_refused $r; later flows fine"

tp_stop_proxy || fail "the embed example did not stop cleanly"
grep -q '^embed: stopped.*egress hook calls [1-9]' "$TP_LOG" || fail "no hook calls in the example's log"
tp_pass
