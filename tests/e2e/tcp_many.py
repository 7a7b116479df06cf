#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Many concurrent TCP connections, each carrying data checked byte for byte
(client for tcp_echo_server.py).

All connections are opened first (at most --parallel connects in flight),
so that they are all open at the same time. Then every connection, all
concurrently, sends --rounds messages of random bytes (random sizes between
--min and --max, from a seeded generator, each message distinct) and reads
each echo back, comparing it with what was sent. With --hold FILE the
client then prints "ready N" and waits (at most --hold-timeout s) until FILE
exists, so the caller can look at the proxy while all connections are open.
Finally each connection shuts down its write side, expects end of stream
from the server and closes.

Usage: tcp_many.py PORT HOST [HOST ...] [--conns N] [options]
Connections are spread round-robin over the HOSTs. Prints a summary and
exits 0 only if every connection connected and every byte came back right.
"""

import argparse
import asyncio
import os
import random
import socket
import sys
import time


async def open_conn(host, port, sem, timeout):
    async with sem:
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        return await asyncio.wait_for(asyncio.open_connection(host, port, family=fam), timeout)


async def exchange(i, reader, writer, a, seed):
    rng = random.Random(seed * 1000003 + i)
    sent = 0
    for r in range(a.rounds):
        n = rng.randint(a.min, a.max)
        msg = rng.randbytes(n)
        writer.write(msg)
        await writer.drain()
        got = await asyncio.wait_for(reader.readexactly(n), a.timeout)
        if got != msg:
            bad = next(k for k in range(n) if got[k] != msg[k])
            raise ValueError("conn %d round %d: echo differs at byte %d of %d" % (i, r, bad, n))
        sent += n
    return sent


async def finish(i, reader, writer, timeout):
    writer.write_eof()
    rest = await asyncio.wait_for(reader.read(), timeout)
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    if rest:
        raise ValueError("conn %d: %d unexpected bytes before end of stream" % (i, len(rest)))


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("hosts", nargs="+")
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--parallel", type=int, default=200, help="connects in flight at most")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--min", type=int, default=1000)
    ap.add_argument("--max", type=int, default=8000)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--hold", default=None, help="wait for this file before closing")
    ap.add_argument("--hold-timeout", type=float, default=60.0)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)

    t0 = time.monotonic()
    sem = asyncio.Semaphore(a.parallel)
    hosts = [a.hosts[i % len(a.hosts)] for i in range(a.conns)]
    res = await asyncio.gather(*(open_conn(h, a.port, sem, a.timeout) for h in hosts),
                               return_exceptions=True)
    errs = [(i, r) for i, r in enumerate(res) if isinstance(r, BaseException)]
    conns = [r for r in res if not isinstance(r, BaseException)]
    t1 = time.monotonic()
    print("connected %d of %d in %.2f s" % (len(conns), a.conns, t1 - t0), flush=True)
    if errs:
        for i, e in errs[:5]:
            print("FAIL: connect %d to %s: %r" % (i, hosts[i], e), file=sys.stderr)
        for r, w in conns:
            w.close()
        return 1

    res = await asyncio.gather(*(exchange(i, r, w, a, seed) for i, (r, w) in enumerate(conns)),
                               return_exceptions=True)
    errs = [(i, r) for i, r in enumerate(res) if isinstance(r, BaseException)]
    total = sum(r for r in res if not isinstance(r, BaseException))
    t2 = time.monotonic()
    print("exchanged %d bytes each way on %d connections in %.2f s (seed %d)"
          % (total, len(conns) - len(errs), t2 - t1, seed), flush=True)
    if errs:
        for i, e in errs[:5]:
            print("FAIL: data on connection %d (%s): %r" % (i, hosts[i], e), file=sys.stderr)
        print("FAIL: %d of %d connections lost or mangled data" % (len(errs), len(conns)),
              file=sys.stderr)
        return 1

    if a.hold:
        print("ready %d" % len(conns), flush=True)
        deadline = time.monotonic() + a.hold_timeout
        while not os.path.exists(a.hold):
            if time.monotonic() > deadline:
                print("FAIL: %s did not appear within %.0f s" % (a.hold, a.hold_timeout),
                      file=sys.stderr)
                return 1
            await asyncio.sleep(0.05)

    res = await asyncio.gather(*(finish(i, r, w, a.timeout) for i, (r, w) in enumerate(conns)),
                               return_exceptions=True)
    errs = [(i, r) for i, r in enumerate(res) if isinstance(r, BaseException)]
    if errs:
        for i, e in errs[:5]:
            print("FAIL: closing connection %d (%s): %r" % (i, hosts[i], e), file=sys.stderr)
        return 1
    print("closed %d connections cleanly in %.2f s" % (len(conns), time.monotonic() - t2),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
