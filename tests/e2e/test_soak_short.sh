#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The soak of issue 5 (point 6), shortened for CI: tests/soak/soak.sh for
# 60 s (TP_SOAK_SECONDS) of mixed traffic (short HTTP requests, bulk
# transfers, DNS, ping, UDP echo) through the proxy: RSS flat after the
# warm-up (within 5%), fds back to their start once the traffic stops, no
# request failed. The full run is `tests/soak/soak.sh` (10 minutes).
TP_NAME=${TP_NAME:-test_soak_short}
export TP_NAME
exec bash "$(dirname "$0")/../soak/soak.sh" --seconds "${TP_SOAK_SECONDS:-60}"
