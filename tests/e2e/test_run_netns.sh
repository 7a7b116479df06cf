#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tunproxy run --netns: attach to an existing network namespace (a path
# as root, a PID as root and as an unprivileged user who owns the PID's
# user namespace) instead of creating one. CMD's traffic goes through the
# TUN made there; once tunproxy exits, the TUN and its routes are gone and
# the namespace is as it was.
# shellcheck source=run_lib.sh
. "$(dirname "$0")/run_lib.sh"
rl_setup
TARGET=${TP_ID}-target
ip netns add "$TARGET" || fail "ip netns add $TARGET"
TP_NS_MADE+=("$TARGET")

# 1. A path, as root.
sha=$(rl_run --netns "/run/netns/$TARGET" -- sh -c \
	"ip -o link show | grep -q tun || exit 9; curl -sS --max-time 60 http://$HOST_V4/blob | sha256sum")
rc=$?
[ "$rc" = 0 ] || fail "--netns PATH: exit $rc: $(tail -n 3 "$TP_TMP/run.err")"
[ "${sha%% *}" = "$RL_BLOB_SHA" ] || fail "--netns PATH: sha $sha"
out=$(rl_run --netns "/run/netns/$TARGET" -- dig +time=3 +tries=2 +short "$DNS_NAME4" A)
[ "$out" = 203.0.113.41 ] || fail "--netns PATH: dig gave '$out'"
links=$(ip -n "$TARGET" -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')
[ "$links" = "lo " ] || fail "--netns PATH: links left in the namespace: $links"
[ -z "$(ip -n "$TARGET" route show)" ] || fail "routes left: $(ip -n "$TARGET" route show)"
out=$(rl_run --netns "$TARGET" -- cat /sys/class/net/lo/operstate /proc/net/dev | grep -c tun)
[ "$out" -ge 1 ] || fail "--netns NAME: no TUN in /proc/net/dev inside"
tp_log "--netns PATH and NAME (root): ok"

# 2. A PID, as root: a process in a namespace of its own.
ip netns exec "$NS_PROXY" unshare -n sleep 60 &
holder=$!
TP_PIDS+=("$holder")
tp_wait_for 5 sh -c "[ \"\$(readlink /proc/$holder/ns/net)\" != \"\$(readlink /proc/self/ns/net)\" ]" ||
	fail "unshare -n did not start"
sha=$(rl_run --netns "$holder" -- sh -c "curl -sS --max-time 60 http://$HOST_V4/blob | sha256sum")
[ "${sha%% *}" = "$RL_BLOB_SHA" ] || fail "--netns PID: sha $sha: $(tail -n 3 "$TP_TMP/run.err")"
tp_log "--netns PID (root): ok"

# 3. A PID, as an unprivileged user who made that user+network namespace.
mode=$(stat -c %a /dev/net/tun)
RL_TUN_MODE=$mode
chmod 0666 /dev/net/tun
chmod 0755 "$TP_TMP"
if setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Urn true 2>/dev/null; then
	ip netns exec "$NS_PROXY" setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Urn sleep 60 &
	uholder=$!
	TP_PIDS+=("$uholder")
	tp_wait_for 5 sh -c "[ \"\$(readlink /proc/$uholder/ns/user)\" != \"\$(readlink /proc/self/ns/user)\" ]" ||
		fail "unshare -Urn did not start"
	RL_USER=65534
	sha=$(rl_run --netns "$uholder" -- sh -c "curl -sS --max-time 60 http://$HOST_V4/blob | sha256sum")
	[ "${sha%% *}" = "$RL_BLOB_SHA" ] ||
		fail "--netns PID (user): sha $sha: $(tail -n 3 "$TP_TMP/run.err")"
	# A root-owned namespace path: refused with a hint, exit 1.
	rl_run --netns "/run/netns/$TARGET" -- true
	rc=$?
	[ "$rc" = 1 ] || fail "--netns of root's namespace as a user: exit $rc, want 1"
	grep -q 'hint: entering a network namespace' "$TP_TMP/run.err" ||
		fail "no hint for a namespace the user cannot enter: $(tail -n 2 "$TP_TMP/run.err")"
	RL_USER=""
	tp_log "--netns PID (user), and a refused PATH: ok"
else
	tp_log "no unprivileged user namespaces: the user part is not run"
fi
tp_stop_pid "$holder"
[ -n "${uholder:-}" ] && tp_stop_pid "$uholder"
rl_check_clean
tp_pass
