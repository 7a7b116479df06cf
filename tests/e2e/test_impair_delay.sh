#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Impaired links (issue 5, point 3), part 3 of 3: 50 ms +- 20 ms of delay
# in each direction (RTT about 100 ms; the jitter reorders packets, as
# netem's does), by the device simulator's impairment stage. A 20 MiB
# download and a 20 MiB upload are byte-exact (SHA-256) and finish within
# TP_IMPAIR_TIMEOUT each (default 200 s; about 25 s each in a normal run).
# Durations and counters printed.
# See impair_lib.sh; parts 1 and 2 are test_impair_loss.sh and
# test_impair_link.sh.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=devloop_lib.sh
. "$(dirname "$0")/devloop_lib.sh"
# shellcheck source=impair_lib.sh
. "$(dirname "$0")/impair_lib.sh"
im_setup
im_case delay50
im_finish
tp_pass
