#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Impaired links (issue 5, point 3), part 1 of 3: random loss of 1% and of
# 5% of the packets in each direction (nftables on the loopback between the
# device simulator and the proxy: this kernel has no netem; the rules'
# counters prove the drops, both ways). For each, a 20 MiB download (curl
# from nginx) and a 20 MiB upload (nc to a SHA-256 sink) are byte-exact and
# finish; the proxy retransmitted to the app (tcp_retransmits) and the app's
# kernel to the proxy (TcpRetransSegs, with the proxy holding out-of-order
# segments: tcp_ooo_queued). Durations and counters are printed as a table.
# See impair_lib.sh for the topology and the knobs (TP_IMPAIR_MIB,
# TP_IMPAIR_SEED, TP_IMPAIR_SUMMARY); the other parts are
# test_impair_link.sh (reorder, duplicate, corrupt) and test_impair_delay.sh.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=devloop_lib.sh
. "$(dirname "$0")/devloop_lib.sh"
# shellcheck source=impair_lib.sh
. "$(dirname "$0")/impair_lib.sh"
im_setup
im_case loss1
im_case loss5
im_finish
tp_pass
