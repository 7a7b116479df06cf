#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tunproxy run as root: curl 10 MiB byte-exact (IPv4, IPv6), DNS through
# the forwarder (dig over UDP and TCP to 10.0.0.1 and fdaa::1, getent),
# ping, exit statuses (7, 143, 127), signal forwarding, and nothing left
# behind. The outer namespace is a test namespace (run_lib.sh).
# shellcheck source=run_lib.sh
. "$(dirname "$0")/run_lib.sh"
rl_setup
rl_checks

# Root without CAP_SYS_ADMIN (as in a container): exit 1 and a hint.
in_proxy setpriv --bounding-set=-sys_admin "$TUNPROXY" run -- true 2>>"$TP_TMP/run.err"
rc=$?
[ "$rc" = 1 ] || fail "without CAP_SYS_ADMIN: exit $rc, want 1"
grep -q '^hint: uid 0 without CAP_SYS_ADMIN' "$TP_TMP/run.err" ||
	fail "no hint without CAP_SYS_ADMIN: $(tail -n 2 "$TP_TMP/run.err")"
tp_log "root without CAP_SYS_ADMIN: exit 1 with a hint: ok"
rl_check_clean
tp_pass
