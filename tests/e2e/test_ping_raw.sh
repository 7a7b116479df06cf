#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_ping.sh with ping sockets forbidden in the proxy's namespace
# (net.ipv4.ping_group_range left at "1 0"): tunproxy, running as root, must
# fall back to a raw ICMP socket and still deliver every reply.
TP_NAME=test_ping_raw TP_PING_RAW=1 exec bash "$(dirname "$0")/test_ping.sh"
