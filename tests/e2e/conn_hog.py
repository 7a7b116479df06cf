#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Opens TCP connections one after the other and holds them, to use up a
resource of the proxy in between (its fds, its memory budget).

Connects to HOST PORT until a connect fails or --max connections are open.
With --send BYTES, every open connection then writes up to BYTES of data
(never reading what comes back) for at most --send-time seconds, so the
data backs up into the proxy. Prints one line
  "opened N, then ERRNO after MS ms, sent BYTES"
(ERRNO "none" if --max was reached first), then holds every connection
until the file --hold exists (or --hold-timeout passes), closes them all and
prints "closed N".

Usage: conn_hog.py HOST PORT [--max N] [--send BYTES] [--send-time SEC]
                   [--hold FILE] [--hold-timeout SEC] [--connect-timeout SEC]
Exit 0 if at least one connection was opened.
"""

import argparse
import errno
import os
import resource
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--max", type=int, default=100000)
    ap.add_argument("--send", type=int, default=0)
    ap.add_argument("--send-time", type=float, default=5.0)
    ap.add_argument("--hold", default=None)
    ap.add_argument("--hold-timeout", type=float, default=120.0)
    ap.add_argument("--connect-timeout", type=float, default=5.0)
    a = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    socks = []
    failed = "none"
    t_fail = 0.0
    while len(socks) < a.max:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(a.connect_timeout)
        t0 = time.monotonic()
        try:
            s.connect((a.host, a.port))
        except OSError as e:
            failed = errno.errorcode.get(e.errno, str(e)) if e.errno else "timeout"
            t_fail = (time.monotonic() - t0) * 1000
            s.close()
            break
        socks.append(s)

    sent = 0
    if a.send and socks:
        chunk = os.urandom(65536)
        left = {s: a.send for s in socks}
        for s in socks:
            s.setblocking(False)
        end = time.monotonic() + a.send_time
        while left and time.monotonic() < end:
            progress = False
            for s in list(left):
                try:
                    n = s.send(chunk[: min(len(chunk), left[s])])
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    del left[s]
                    continue
                sent += n
                left[s] -= n
                progress = True
                if left[s] <= 0:
                    del left[s]
            if not progress:
                time.sleep(0.05)

    print("opened %d, then %s after %.0f ms, sent %d" % (len(socks), failed, t_fail, sent),
          flush=True)
    if a.hold:
        end = time.monotonic() + a.hold_timeout
        while not os.path.exists(a.hold) and time.monotonic() < end:
            time.sleep(0.05)
    for s in socks:
        try:
            s.setblocking(True)
            s.settimeout(1)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        s.close()
    print("closed %d" % len(socks), flush=True)
    return 0 if socks else 1


if __name__ == "__main__":
    sys.exit(main())
