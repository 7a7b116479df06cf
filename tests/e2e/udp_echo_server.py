#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""UDP echo server for tunproxy's e2e tests: every datagram received on
ADDR:PORT goes back unchanged to its sender, from ADDR (bound, so the reply's
source is the address the client used).

Usage: udp_echo_server.py ADDR PORT

socat's UDP-RECVFROM,fork was tried first: with several client sockets
talking at once its children read each other's datagrams and some were never
echoed, so the tests could not tell its losses from the proxy's.
"""

import socket
import sys


def main():
    addr, port = sys.argv[1], int(sys.argv[2])
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.bind((addr, port))
    print("echo server on %s port %d" % (addr, port), flush=True)
    while True:
        data, peer = s.recvfrom(65535)
        try:
            s.sendto(data, peer)
        except OSError as e:  # e.g. the peer's port went away (ICMP error)
            print("sendto %s: %s" % (peer, e), flush=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
