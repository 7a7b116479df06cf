#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_tcp_bulk.sh with the TUN opened without the virtio-net header
# (--no-offload): one packet per segment both ways, the path a handed-in
# fd (Android, Darwin utun) takes. The *.nooffload variant sets
# TP_BULK_PROXY_ARGS empty and makes the kernel refuse the offloads instead
# (tests/e2e/shim_old_kernel.c): the fallback must give the same result.
TP_BULK_PROXY_ARGS=${TP_BULK_PROXY_ARGS---no-offload}
# shellcheck source=test_tcp_bulk.sh
. "$(dirname "$0")/test_tcp_bulk.sh"
