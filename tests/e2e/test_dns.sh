#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# DNS over UDP through tunproxy: dig in "app" asks dnsmasq in "net", over
# IPv4 and IPv6 transports, for A and AAAA records; every answer is checked
# against the records dnsmasq was given, and the proxy's counters must show
# the UDP flows it carried.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tp_setup
tp_start_dns
tp_start_proxy

# ask SERVER NAME TYPE: dig's answer section (sorted), or fail.
ask() {
	local out
	out=$(in_app dig +time=3 +tries=2 +nocookie @"$1" "$2" "$3" 2>&1) ||
		fail "dig @$1 $2 $3 failed (exit $?): $out"
	grep -q 'status: NOERROR' <<<"$out" || fail "dig @$1 $2 $3: not NOERROR: $out"
	grep -q "SERVER: $1#53" <<<"$out" || fail "dig @$1 $2 $3: answer not from $1: $out"
	in_app dig +time=3 +tries=2 +short @"$1" "$2" "$3" | sort
}

expect() { # expect SERVER NAME TYPE WANT...
	local server=$1 name=$2 type=$3 got want
	shift 3
	want=$(printf '%s\n' "$@" | sort)
	got=$(ask "$server" "$name" "$type")
	[ "$got" = "$want" ] ||
		fail "dig @$server $name $type: got [${got//$'\n'/ }], want [${want//$'\n'/ }]"
}

before=$(tp_counter udp_tx_datagrams) || exit 1
for server in "$HOST_V4" "$NET_V4" "$HOST_V6" "$NET_V6"; do
	expect "$server" "$DNS_NAME" A "$HOST_V4"
	expect "$server" "$DNS_NAME" AAAA "$HOST_V6"
	expect "$server" "$DNS_NAME4" A 203.0.113.41
	expect "$server" "$DNS_NAME6" AAAA 2001:db8:1::61
	expect "$server" "$DNS_MULTI" A 203.0.113.51 203.0.113.52 203.0.113.53 203.0.113.54
	expect "$server" "$DNS_MULTI" AAAA 2001:db8:1::51 2001:db8:1::52
	tp_log "A and AAAA answers via $server: ok"
done

# A name dnsmasq does not know: NXDOMAIN, answered (not a timeout).
out=$(in_app dig +time=3 +tries=2 @"$HOST_V6" nosuch.tp.test A 2>&1) ||
	fail "dig nosuch.tp.test failed: $out"
grep -q 'status: NXDOMAIN' <<<"$out" || fail "nosuch.tp.test: want NXDOMAIN: $out"

# Many lookups from many source ports: each one a new flow.
for _ in $(seq 1 20); do
	expect "$HOST_V4" "$DNS_NAME" A "$HOST_V4"
done

after=$(tp_counter udp_tx_datagrams) || exit 1
# 4 servers x 6 queries x 2 digs each (full + short), + NXDOMAIN + 20 x 2
[ $((after - before)) -ge 89 ] ||
	fail "udp_tx_datagrams went from $before to $after: want at least 89 more"
created=$(tp_counter flows_created) || exit 1
[ "$created" -ge 80 ] || fail "flows_created is $created: want at least 80 (one per dig, less port reuse)"
tp_print_counters
tp_proxy_alive || fail "the proxy died"
tp_pass
