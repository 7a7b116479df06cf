#!/usr/bin/env bash
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
tp_pass
