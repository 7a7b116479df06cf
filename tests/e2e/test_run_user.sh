#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tunproxy run as an unprivileged user (uid 65534, a user namespace of its
# own, /dev/net/tun 0666 for the test): the same checks as test_run.sh,
# plus the errors an unprivileged user meets.
# shellcheck source=run_lib.sh
. "$(dirname "$0")/run_lib.sh"
rl_setup user
out=$(rl_run -- id -u) || fail "id failed"
[ "$out" = 65534 ] || fail "CMD runs as uid $out, want 65534"
rl_checks

# No access to /dev/net/tun: exit 1 and a hint.
chmod 0600 /dev/net/tun
rl_run -- true
rc=$?
chmod 0666 /dev/net/tun
[ "$rc" = 1 ] || fail "without /dev/net/tun access: exit $rc, want 1"
grep -q 'hint: /dev/net/tun' "$TP_TMP/run.err" || fail "no hint about /dev/net/tun"
tp_log "no /dev/net/tun access: exit 1 with a hint: ok"

# User namespaces refused: exit 1 and a hint naming the setting. Without
# touching the machine's sysctls: a user namespace of the test's own (ids
# mapped 1:1) whose user.max_user_namespaces is 0, so tunproxy's own
# unshare(CLONE_NEWUSER) fails there as on a system that forbids it.
cat >"$TP_TMP/userns_off.sh" <<'EOS'
while [ -z "$(cat /proc/self/uid_map)" ]; do sleep 0.05; done
# uid 0 here now: a new exec gets the namespace's capabilities
exec sh -c 'echo 0 >/proc/sys/user/max_user_namespaces || exit 90
	exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"' sh "$@"
EOS
ip netns exec "$NS_PROXY" unshare -U sh "$TP_TMP/userns_off.sh" "$TUNPROXY" run -- true \
	2>>"$TP_TMP/run.err" &
pid=$!
tp_wait_for 5 sh -c "[ \"\$(readlink /proc/$pid/ns/user)\" != \"\$(readlink /proc/self/ns/user)\" ]" ||
	fail "unshare -U did not start"
{ echo "0 0 65536" >"/proc/$pid/uid_map" && echo "0 0 65536" >"/proc/$pid/gid_map"; } ||
	fail "cannot map the test's user namespace"
wait "$pid"
rc=$?
[ "$rc" != 90 ] || fail "cannot set max_user_namespaces in the test's user namespace"
[ "$rc" = 1 ] || fail "with user namespaces refused: exit $rc, want 1"
grep -q 'cannot create a user and network namespace' "$TP_TMP/run.err" ||
	fail "no error about the user namespace: $(tail -n 2 "$TP_TMP/run.err")"
grep -q '^hint: .*max_user_namespaces' "$TP_TMP/run.err" ||
	fail "no hint naming user.max_user_namespaces: $(tail -n 2 "$TP_TMP/run.err")"
tp_log "user namespaces refused: exit 1 with a hint: ok"
rl_check_clean
tp_pass
