#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""TCP resets in the middle of a transfer, both ways (client and server).

Every stream is SHAKE-256 of a 16-byte nonce the client sends first, so the
receiver can check each byte it got before the reset.

Mode "host-reset" (server port PORT_A): the server sends the first --part
bytes of the stream, pauses (they reach the client), then pushes as much of
the rest as its socket takes without blocking and closes with SO_LINGER 0:
its kernel sends RST with data still in flight. The client reads as fast as
it can and must end with ECONNRESET, every byte before it being right and
at least --part of them.

Mode "app-reset" (server port PORT_B): the server reads the client's data
(SHAKE-256 of "up" + nonce, checked as it comes) and sends its own stream, both at once (one thread, select), until one
fails. The client sends
--part bytes, reads --part bytes of the server's stream (checked), then
closes with SO_LINGER 0 (RST) while the server is still sending. The server
must see ECONNRESET or EPIPE, never a clean end of stream. (It may get less
than --part: a RST discards what is still in flight, as it would without
the proxy.)

The server prints one line per connection:
  "host-reset sent N then RST"
  "app-reset got N sent M OP=ERR"   the first read or send to fail (OP recv
                                    or send, ERR an errno name, EOF, or
                                    CORRUPT: a byte differs)

Usage: tcp_reset.py server PORT_A PORT_B HOST [HOST ...]
       tcp_reset.py client host-reset|app-reset HOST PORT [--part N]
"""

import argparse
import errno
import hashlib
import os
import select
import socket
import struct
import sys
import time

from tcp_util import connect, say, serve_ports


PART = 256 * 1024
TOTAL = 16 << 20


def stream(nonce, n):
    return hashlib.shake_256(nonce).digest(n)


def recv_exact(s, n):
    b = bytearray()
    while len(b) < n:
        k = s.recv(n - len(b))
        if not k:
            raise EOFError("end of stream after %d of %d bytes" % (len(b), n))
        b += k
    return bytes(b)


def linger0(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def ename(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if e.errno else type(e).__name__


def serve_host_reset(conn, part):
    nonce = recv_exact(conn, 16)
    data = stream(nonce, TOTAL)
    conn.sendall(data[:part])
    time.sleep(0.5)
    conn.setblocking(False)
    sent = part
    try:
        while sent < TOTAL:
            sent += conn.send(data[sent:sent + 65536])
    except BlockingIOError:
        pass
    linger0(conn)
    say("host-reset sent %d then RST" % sent)


def serve_app_reset(conn, part):
    """Reads and sends at once, in one thread, until the first operation
    fails or sees end of stream: that first outcome is what the proxy did
    (a RST shows as ECONNRESET once; after it is consumed, reads see end of
    stream, so two threads could misreport it)."""
    nonce = recv_exact(conn, 16)
    data = stream(nonce, TOTAL)
    up = stream(b"up" + nonce, part)
    conn.setblocking(False)
    got = off = 0
    outcome = None
    deadline = time.monotonic() + 30
    while outcome is None and time.monotonic() < deadline:
        r, w, _ = select.select([conn], [conn] if off < TOTAL else [], [], 1.0)
        op = "recv"
        try:
            if r:
                k = conn.recv(65536)
                if not k:
                    outcome = "recv=EOF"
                    break
                if k != up[got:got + len(k)]:
                    outcome = "recv=CORRUPT"
                    break
                got += len(k)
            if w:
                op = "send"
                off += conn.send(data[off:off + 65536])
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as e:
            outcome = "%s=%s" % (op, ename(e))
    say("app-reset got %d sent %d %s" % (got, off, outcome or "timeout"))


def server(a):
    return serve_ports(a.hosts, ((a.port_a, serve_host_reset), (a.port_b, serve_app_reset)),
                       a.part, errors=(OSError, EOFError))


def client(a):
    s = connect(a.host, a.port, a.timeout)
    nonce = os.urandom(16)
    s.sendall(nonce)
    want = stream(nonce, TOTAL)
    if a.mode == "host-reset":
        got = bytearray()
        err = None
        try:
            while True:
                k = s.recv(1 << 20)
                if not k:
                    err = "EOF"
                    break
                got += k
        except socket.timeout:
            err = "timeout"
        except OSError as e:
            err = ename(e)
        s.close()
        print("host-reset: got %d bytes then %s" % (len(got), err), flush=True)
        if err != "ECONNRESET":
            print("FAIL: the transfer ended with %s, want ECONNRESET" % err, file=sys.stderr)
            return 1
        if bytes(got) != want[:len(got)]:
            bad = next(i for i in range(len(got)) if got[i] != want[i])
            print("FAIL: byte %d differs from what the server sent" % bad, file=sys.stderr)
            return 1
        if len(got) < a.part:
            print("FAIL: only %d bytes before the reset, want at least the %d sent before it"
                  % (len(got), a.part), file=sys.stderr)
            return 1
    else:
        s.sendall(stream(b"up" + nonce, a.part))
        got = recv_exact(s, a.part)
        if got != want[:a.part]:
            print("FAIL: the server's stream differs from what it sent", file=sys.stderr)
            return 1
        linger0(s)
        s.close()  # RST, with the server still sending
        print("app-reset: sent %d, got %d checked bytes, then reset" % (a.part, a.part),
              flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="role", required=True)
    sp = sub.add_parser("server")
    sp.add_argument("port_a", type=int)
    sp.add_argument("port_b", type=int)
    sp.add_argument("hosts", nargs="+")
    sp.add_argument("--part", type=int, default=PART)
    cp = sub.add_parser("client")
    cp.add_argument("mode", choices=["host-reset", "app-reset"])
    cp.add_argument("host")
    cp.add_argument("port", type=int)
    cp.add_argument("--part", type=int, default=PART)
    cp.add_argument("--timeout", type=float, default=10.0)
    a = ap.parse_args()
    try:
        return server(a) if a.role == "server" else client(a)
    except (OSError, EOFError) as e:
        print("FAIL: %s: %s" % (a.role, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
