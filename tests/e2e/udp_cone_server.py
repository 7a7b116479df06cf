#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Two UDP servers, A and B, for the full-cone test: a datagram to A gets
two answers sent to the address it came from: "A <addr> <port>" from A,
and "B" from B, which the client never wrote to. A datagram to B is
answered "B <addr> <port>" from B (so the client can compare the mapping
each server saw).

Usage: udp_cone_server.py HOST_A PORT_A HOST_B PORT_B
"""

import select
import socket
import sys


def sock(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((host, port))
    return s


def main():
    a = sock(sys.argv[1], int(sys.argv[2]))
    b = sock(sys.argv[3], int(sys.argv[4]))
    while True:
        ready, _, _ = select.select([a, b], [], [])
        for s in ready:
            _, peer = s.recvfrom(2048)
            seen = ("%s %d" % (peer[0], peer[1])).encode()
            if s is a:
                a.sendto(b"A " + seen, peer)
                b.sendto(b"B-unsolicited", peer)
            else:
                b.sendto(b"B " + seen, peer)


main()
