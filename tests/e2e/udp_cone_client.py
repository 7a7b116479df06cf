#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The app side of the full-cone test: one UDP socket sends to A, then to
B, and prints every datagram it receives within the wait as
"from ADDR PORT: TEXT", one per line.

Usage: udp_cone_client.py HOST_A PORT_A HOST_B PORT_B [WAIT_SECONDS]
"""

import socket
import sys
import time


def main():
    ha, pa, hb, pb = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    wait = float(sys.argv[5]) if len(sys.argv) > 5 else 2.0
    fam = socket.AF_INET6 if ":" in ha else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.sendto(b"hello A", (ha, pa))
    end = time.time() + wait
    sent_b = False
    while time.time() < end:
        s.settimeout(max(0.01, end - time.time()))
        try:
            data, peer = s.recvfrom(2048)
        except socket.timeout:
            break
        print("from %s %d: %s" % (peer[0], peer[1], data.decode()), flush=True)
        if not sent_b and data.startswith(b"A "):
            # After A answered: B as a destination of our own, to compare
            # the mapping both saw.
            s.sendto(b"hello B", (hb, pb))
            sent_b = True


main()
