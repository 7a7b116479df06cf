# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# upstream_lib.sh: upstream proxies for the egress tests, in the "net"
# namespace (source after lib.sh). Each proxy listens on $NET_V4 and
# leaves from $UP_OUT_V4 (an extra address on net's loopback), so a server
# can tell a flow that came through the upstream (peer $UP_OUT_V4) from a
# direct one (peer $PROXY_V4, the proxy namespace's veth).

UP_OUT_V4=203.0.113.77
UP_OUT_V6=2001:db8:1::77
PEER_PORT=9100 # the peer-address server: answers with who connected

up_setup() {
	ip -n "$NS_NET" addr add "$UP_OUT_V4/32" dev lo || fail "addr $UP_OUT_V4"
	ip -n "$NS_NET" addr add "$UP_OUT_V6/128" dev lo nodad || fail "addr $UP_OUT_V6"
}

# up_listening PORT: a TCP listener on $NET_V4:PORT in net.
up_listening() {
	# shellcheck disable=SC2016
	in_net ss -Hltn "sport = :$1" | grep -qF "$NET_V4"
}

# up_start_microsocks PORT [USER PASS]: sets UP_PID.
up_start_microsocks() {
	local port=$1 auth=()
	[ $# -ge 3 ] && auth=(-u "$2" -P "$3")
	tp_spawn "$NS_NET" "$TP_TMP/microsocks.$port.log" microsocks -i "$NET_V4" -p "$port" \
		-b "$UP_OUT_V4" "${auth[@]}"
	UP_PID=$TP_SPAWNED
	TP_PIDS+=("$UP_PID")
	tp_wait_for 10 up_listening "$port" || fail "microsocks did not come up on $port"
}

# up_start_dante PORT [BLOCKRULE]: dante (no authentication) on PORT;
# BLOCKRULE, e.g. "203.0.113.10/32 port = 9999", is refused. Sets UP_PID.
up_start_dante() {
	local port=$1 block=${2:-}
	local conf="$TP_TMP/danted.$port.conf"
	{
		echo "logoutput: $TP_TMP/danted.$port.out"
		echo "internal: $NET_V4 port = $port"
		echo "internal: $NET_V6 port = $port"
		echo "external: $UP_OUT_V4"
		echo "external: $UP_OUT_V6"
		echo "socksmethod: none"
		echo "clientmethod: none"
		echo "user.privileged: root"
		echo "user.unprivileged: nobody"
		echo "client pass { from: 0.0.0.0/0 to: 0.0.0.0/0 }"
		echo "client pass { from: ::/0 to: ::/0 }"
		[ -n "$block" ] && echo "socks block { from: 0.0.0.0/0 to: $block }"
		# For udpreply, "from" is the remote that answers: every
		# pair of families.
		for f in 0.0.0.0/0 ::/0; do
			for t in 0.0.0.0/0 ::/0; do
				echo "socks pass { from: $f to: $t command: connect udpassociate udpreply }"
			done
		done
	} >"$conf"
	tp_spawn "$NS_NET" "$TP_TMP/danted.$port.log" danted -f "$conf" -p "$TP_TMP/danted.$port.pid" -N 1
	UP_PID=$TP_SPAWNED
	TP_PIDS+=("$UP_PID")
	tp_wait_for 10 up_listening "$port" ||
		fail "danted did not come up on $port: $(tail -n 5 "$TP_TMP/danted.$port.log" "$TP_TMP/danted.$port.out" 2>/dev/null)"
}

# up_start_peer_server: on $HOST_V4:$PEER_PORT and [$HOST_V6]:$PEER_PORT,
# answers each connection with the peer's address.
up_start_peer_server() {
	tp_require socat
	# shellcheck disable=SC2016 # expanded by socat's shell
	tp_spawn "$NS_NET" "$TP_TMP/peer4.log" socat \
		"TCP4-LISTEN:$PEER_PORT,bind=$HOST_V4,fork,reuseaddr" SYSTEM:'echo $SOCAT_PEERADDR'
	TP_PIDS+=("$TP_SPAWNED")
	# shellcheck disable=SC2016
	tp_spawn "$NS_NET" "$TP_TMP/peer6.log" socat \
		"TCP6-LISTEN:$PEER_PORT,bind=[$HOST_V6],fork,reuseaddr" SYSTEM:'echo $SOCAT_PEERADDR'
	TP_PIDS+=("$TP_SPAWNED")
	# shellcheck disable=SC2016
	tp_wait_for 10 sh -c "ip netns exec $NS_NET ss -Hltn 'sport = :$PEER_PORT' | grep -c . | grep -q 2" ||
		fail "peer-address servers did not come up"
}

# up_peer HOST: which address the server at HOST ("[V6]" for IPv6) saw
# us come from.
up_peer() {
	local t=TCP4
	case $1 in *:*) t=TCP6 ;; esac
	# -u: only read, so no FIN of ours (microsocks would end both ways).
	in_app socat -T 5 -u "$t:$1:$PEER_PORT" - 2>&1 | "$TP_PY" -c '
import ipaddress, sys
s = sys.stdin.read().strip()
try:
    print(ipaddress.ip_address(s.strip("[]")).compressed)
except ValueError:
    print(s)'
}

# up_download NAME FILE: curl fetches FILE (under tp_start_http's root)
# from $HOST_V4 and [$HOST_V6]; each copy must have FILE's size and
# SHA-256. NAME prefixes the failure message.
up_download() {
	local name=$1 file=$2 size sum host out got
	size=$(stat -c %s "$file") || fail "$name: no $file"
	sum=$(sha256sum "$file" | cut -d' ' -f1)
	for host in "$HOST_V4" "[$HOST_V6]"; do
		out=$(in_app curl -sS -g --max-time 60 -o "$TP_TMP/dl.bin" -w '%{http_code} %{size_download}' \
			"http://$host:$HTTP_PORT/${file##*/}" 2>&1) || fail "$name: download from $host: $out"
		[ "$out" = "200 $size" ] || fail "$name: download from $host: '$out', want '200 $size'"
		got=$(sha256sum "$TP_TMP/dl.bin" | cut -d' ' -f1)
		[ "$got" = "$sum" ] || fail "$name: download from $host: SHA-256 $got, want $sum"
		rm -f "$TP_TMP/dl.bin"
	done
}
