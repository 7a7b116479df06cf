#!/usr/bin/env bash
# test_tcp_bulk.sh with the TUN opened without the virtio-net header
# (--no-offload): one packet per segment both ways, the path a handed-in
# fd (Android, Darwin utun) takes.
TP_BULK_PROXY_ARGS=--no-offload
# shellcheck source=test_tcp_bulk.sh
. "$(dirname "$0")/test_tcp_bulk.sh"
