#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Connects once and checks how the connect ends, and how fast.

Usage: tcp_connect.py HOST PORT --expect ERRNO[,ERRNO...] [--within SEC]
       [--timeout SEC]
ERRNO names as in errno (ECONNREFUSED, EHOSTUNREACH, ...) or "ok" for a
successful connect. Prints "HOST PORT: NAME after N ms" and exits 0 only if
the outcome is one of those expected and came within --within seconds.
"""

import argparse
import errno
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--expect", required=True)
    ap.add_argument("--within", type=float, default=1.0)
    ap.add_argument("--timeout", type=float, default=10.0)
    a = ap.parse_args()
    want = set(a.expect.split(","))
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    t0 = time.monotonic()
    try:
        s.connect((a.host, a.port))
        got = "ok"
    except socket.timeout:
        got = "timeout"
    except OSError as e:
        got = errno.errorcode.get(e.errno, str(e.errno))
    dt = time.monotonic() - t0
    s.close()
    msg = "%s %d: %s after %.0f ms" % (a.host, a.port, got, dt * 1000)
    if got not in want:
        print("FAIL: %s, want %s" % (msg, " or ".join(sorted(want))), file=sys.stderr)
        return 1
    if dt > a.within:
        print("FAIL: %s, want it within %.1f s" % (msg, a.within), file=sys.stderr)
        return 1
    print(msg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
