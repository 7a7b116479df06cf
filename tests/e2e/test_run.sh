#!/usr/bin/env bash
# tunproxy run as root: curl 10 MiB byte-exact (IPv4, IPv6), DNS through
# the forwarder (dig over UDP and TCP to 10.0.0.1 and fdaa::1, getent),
# ping, exit statuses (7, 143, 127), signal forwarding, and nothing left
# behind. The outer namespace is a test namespace (run_lib.sh).
# shellcheck source=run_lib.sh
. "$(dirname "$0")/run_lib.sh"
rl_setup
rl_checks
tp_pass
