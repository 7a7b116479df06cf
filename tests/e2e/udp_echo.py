#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""UDP echo client for tunproxy's e2e tests: sends random payloads to an echo
server over connected UDP sockets and checks each reply byte for byte.

Usage: udp_echo.py HOST PORT [--count N] [--min A] [--max B] [--sizes S,S,..]
                   [--sockets K] [--timeout SEC] [--retries R] [--seed X]
                   [--interval SEC]

Random payloads have lengths uniform in [A, B] (and A and B themselves are
always sent); --sizes adds exact sizes (e.g. large datagrams that must be
fragmented both ways). Payloads go round-robin over K sockets (K flows in the
proxy). A datagram whose reply does not come within the timeout is sent
again up to R times (and counted); a reply that matches no payload we sent
on that socket, or a payload never echoed, fails the run (exit 1).
"""

import argparse
import os
import random
import select
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--min", type=int, default=1)
    ap.add_argument("--max", type=int, default=1400)
    ap.add_argument("--sizes", default="")
    ap.add_argument("--sockets", type=int, default=4)
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--retries", type=int, default=2)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--interval", type=float, default=0.0)
    a = ap.parse_args()

    seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET

    sizes = [a.min, a.max]
    sizes += [rng.randint(a.min, a.max) for _ in range(max(0, a.count - 2))]
    sizes = sizes[: a.count] if a.count >= 1 else []
    sizes += [int(s) for s in a.sizes.split(",") if s]

    socks = []
    for _ in range(a.sockets):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.connect((a.host, a.port))
        socks.append(s)

    retries = 0
    bytes_ok = 0
    sent = [[] for _ in socks]  # payloads already confirmed, per socket
    for i, size in enumerate(sizes):
        k = i % len(socks)
        s = socks[k]
        payload = rng.randbytes(size)
        ok = False
        for attempt in range(a.retries + 1):
            if attempt:
                retries += 1
            s.send(payload)
            deadline = time.monotonic() + a.timeout
            while not ok:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                r, _, _ = select.select([s], [], [], left)
                if not r:
                    break
                reply = s.recv(70000)
                if reply == payload:
                    ok = True
                elif reply in sent[k]:
                    continue  # a late duplicate of an earlier retry
                else:
                    print(
                        "FAIL: datagram %d (%d bytes, socket %d, seed %d): reply of %d bytes "
                        "differs; first difference at byte %s"
                        % (i, size, k, seed, len(reply), first_diff(payload, reply)),
                        file=sys.stderr,
                    )
                    return 1
            if ok:
                break
        if not ok:
            print(
                "FAIL: datagram %d (%d bytes, socket %d, seed %d) never echoed after %d tries"
                % (i, size, k, seed, a.retries + 1),
                file=sys.stderr,
            )
            return 1
        if attempt:
            sent[k].append(payload)
        bytes_ok += size
        if a.interval:
            time.sleep(a.interval)

    print(
        "ok: %d datagrams (%d bytes) echoed intact to %s port %d over %d sockets, "
        "%d resent, seed %d" % (len(sizes), bytes_ok, a.host, a.port, len(socks), retries, seed)
    )
    return 0


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


if __name__ == "__main__":
    sys.exit(main())
