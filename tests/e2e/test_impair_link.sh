#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Impaired links (issue 5, point 3), part 2 of 3: the device simulator's
# impairment stage (`tunproxy device --impair`, both directions) reorders
# 25% of the packets, then duplicates 5%, then flips one bit in 1%. For
# each, a 20 MiB download and a 20 MiB upload are byte-exact (SHA-256) and
# finish. Reordering: the proxy held out-of-order segments. Corruption: the
# proxy's checksum drops moved (packets to it) and so did the app kernel's
# checksum error counters (packets to the app), both TCPs retransmitted, and
# UDP echo and ping through the same link get every reply intact (a flipped
# bit never reaches an application). See impair_lib.sh; part 1 is
# test_impair_loss.sh, part 3 test_impair_delay.sh.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=devloop_lib.sh
. "$(dirname "$0")/devloop_lib.sh"
# shellcheck source=impair_lib.sh
. "$(dirname "$0")/impair_lib.sh"
im_setup
im_case reorder25
im_case dup5
im_case corrupt1
im_finish
tp_pass
