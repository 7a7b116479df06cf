#!/usr/bin/env python3
"""Checks that a UDP send to a closed port ends in "connection refused" for
the app: on a connected UDP socket, the ICMP/ICMPv6 port-unreachable that
comes back makes a later send or recv fail with ECONNREFUSED.

Usage: udp_refused.py HOST PORT [--tries N] [--timeout SEC]
Exit 0 when ECONNREFUSED was seen, 1 otherwise (timeout, a reply, another
error).
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
    a = ap.parse_args()
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
        except ConnectionRefusedError:
            print("ok: %s port %d: connection refused (try %d)" % (a.host, a.port, i + 1))
            return 0
        except OSError as e:
            print("FAIL: %s port %d: %s (want ECONNREFUSED)" % (a.host, a.port, e), file=sys.stderr)
            return 1
    print("FAIL: %s port %d: no ECONNREFUSED after %d sends" % (a.host, a.port, a.tries),
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
