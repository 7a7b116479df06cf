#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks that a UDP send to a closed port ends in "connection refused" for
the app: on a connected UDP socket, the ICMP/ICMPv6 port-unreachable that
comes back makes a later send or recv fail with ECONNREFUSED.

Usage: udp_refused.py HOST PORT [--tries N] [--timeout SEC] [--expect ERRNO,..]
Exit 0 when ECONNREFUSED (or one of the --expect errno names, e.g.
EHOSTUNREACH for an ICMP "administratively prohibited") was seen, 1
otherwise (timeout, a reply, another error).
"""

import argparse
import errno
import select
import socket
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--tries", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--expect", default="ECONNREFUSED")
    a = ap.parse_args()
    want = set(a.expect.split(","))
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.connect((a.host, a.port))
    for i in range(a.tries):
        try:
            s.send(b"is anybody there? %d" % i)
            r, _, _ = select.select([s], [], [], a.timeout)
            if not r:
                continue
            data = s.recv(2048)
            print("FAIL: got a %d-byte reply from a closed port" % len(data), file=sys.stderr)
            return 1
        except OSError as e:
            name = errno.errorcode.get(e.errno, str(e.errno))
            if name in want:
                print("ok: %s port %d: %s (try %d)" % (a.host, a.port, e, i + 1))
                return 0
            print("FAIL: %s port %d: %s (want %s)" % (a.host, a.port, e, a.expect),
                  file=sys.stderr)
            return 1
    print("FAIL: %s port %d: no %s after %d sends" % (a.host, a.port, a.expect, a.tries),
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
