#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# soak_loops.sh: the traffic loops of tests/soak/soak.sh, each run in the
# app namespace until DEADLINE (epoch seconds); each prints one line
# "KIND ok N failed M" at the end (and "error ..." lines for the first
# failures). Never fails itself: soak.sh judges the counts.
#
#   soak_loops.sh bulk DEADLINE URL4 URL6 FILE SHA256 SINK4 SINK6 PORT
#       download FILE from URL4/URL6 (alternating) with curl, SHA-256
#       checked; upload it to the SHA-256 sink at SINK4/SINK6:PORT with nc;
#       a pause of 5 s between rounds
#   soak_loops.sh dns DEADLINE SERVER4 SERVER6 NAME WANT4 WANT6
#       dig A and AAAA of NAME from both servers, 5 a second (dig's own
#       retries of a lost query are allowed, counted: "dns retried N")
#   soak_loops.sh udp DEADLINE HOST4 HOST6 PORT PY E2EDIR
#       udp_echo.py bursts of 50 datagrams (2 sockets), one a second
set -u
kind=$1 deadline=$2
shift 2
ok=0 failed=0 nerr=0 retried=0
err() {
	failed=$((failed + 1))
	if [ "$nerr" -lt 5 ]; then
		echo "error $*"
		nerr=$((nerr + 1))
	fi
}
alive() { [ "$(date +%s)" -lt "$deadline" ]; }
i=0
case $kind in
bulk)
	url4=$1 url6=$2 file=$3 sum=$4 sink4=$5 sink6=$6 port=$7
	size=$(stat -c %s "$file")
	tmp=$(mktemp)
	while alive; do
		if [ $((i % 2)) = 0 ]; then url=$url4 sink=$sink4; else url=$url6 sink=$sink6; fi
		i=$((i + 1))
		if curl -sS --max-time 120 -o "$tmp" "$url" 2>/dev/null &&
			[ "$(sha256sum <"$tmp" | cut -d' ' -f1)" = "$sum" ]; then
			ok=$((ok + 1))
		else
			err "download $url: $(stat -c %s "$tmp" 2>/dev/null) bytes, SHA-256 differs or curl failed"
		fi
		alive || break
		out=$(timeout 120 nc -N "$sink" "$port" <"$file" 2>&1)
		if [ "$out" = "$size $sum" ]; then
			ok=$((ok + 1))
		else
			err "upload to $sink: the sink answered '$out'"
		fi
		sleep 5
	done
	rm -f "$tmp"
	;;
dns)
	s4=$1 s6=$2 name=$3 want4=$4 want6=$5
	while alive; do
		if [ $((i % 2)) = 0 ]; then s=$s4; else s=$s6; fi
		if [ $((i / 2 % 2)) = 0 ]; then t=A want=$want4; else t=AAAA want=$want6; fi
		i=$((i + 1))
		out=$(dig +time=2 +tries=3 +short @"$s" "$name" "$t" 2>&1)
		# A query or answer lost on the way is retried by dig (it prints
		# "timed out" for the lost try, then the answer): counted apart.
		if [ "$(printf '%s\n' "$out" | tail -n 1)" = "$want" ]; then
			ok=$((ok + 1))
			retried=$((retried + $(printf '%s\n' "$out" | grep -c 'timed out')))
		else
			err "dig @$s $name $t: '$out'"
		fi
		sleep 0.2
	done
	;;
udp)
	h4=$1 h6=$2 port=$3 py=$4 dir=$5
	while alive; do
		if [ $((i % 2)) = 0 ]; then h=$h4; else h=$h6; fi
		i=$((i + 1))
		if out=$("$py" "$dir/udp_echo.py" "$h" "$port" --count 50 --sockets 2 --timeout 1 --retries 3 2>&1); then
			ok=$((ok + 1))
			n=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9]*\) resent,.*/\1/p')
			retried=$((retried + ${n:-0}))
		else
			err "udp echo $h: $out"
		fi
		sleep 1
	done
	;;
*)
	echo "soak_loops.sh: unknown kind $kind" >&2
	exit 2
	;;
esac
echo "$kind ok $ok failed $failed"
case $kind in dns | udp) echo "$kind retried $retried" ;; esac
