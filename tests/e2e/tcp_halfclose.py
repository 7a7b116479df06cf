#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Half-closed TCP connections, both ways (client and server).

Mode "app-first" (server port PORT_A): the client sends a request of random
bytes and shuts down its write side; the server reads to end of stream,
waits a moment, then replies with SHA-256(request) (32 bytes) followed by a
body of random bytes, and closes. The client reads the reply to end of
stream after its own FIN: the data must keep flowing to it.

Mode "server-first" (server port PORT_B): the server sends a greeting of
random bytes and shuts down its write side at once; the client reads it to
end of stream, waits a moment, then sends data of random bytes and shuts
down; the server reads it all to end of stream and closes. The data must
keep flowing from the client after the server's FIN.

Both sides print what they sent and received as SHA-256 hex, so the caller
can compare the two ends:
  server: "app-first req=SHA reply=SHA"  "server-first greeting=SHA data=SHA"
  client: the same line (plus the address), exit 0 if its own checks pass.

Usage: tcp_halfclose.py server PORT_A PORT_B HOST [HOST ...]
       tcp_halfclose.py client app-first|server-first HOST PORT [--size N]
"""

import argparse
import hashlib
import os
import socket
import sys
import time

from tcp_util import connect, say, serve_ports


PAUSE = 0.3  # the half-closed state lasts at least this long


def recv_all(s):
    chunks = []
    while True:
        b = s.recv(1 << 20)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def serve_app_first(conn, size):
    req = recv_all(conn)  # to the client's FIN
    time.sleep(PAUSE)
    body = os.urandom(size)
    conn.sendall(hashlib.sha256(req).digest() + body)
    say("app-first req=%s reply=%s" % (sha(req), sha(body)))


def serve_server_first(conn, size):
    greeting = os.urandom(size)
    conn.sendall(greeting)
    conn.shutdown(socket.SHUT_WR)
    data = recv_all(conn)  # keeps arriving after our FIN
    say("server-first greeting=%s data=%s" % (sha(greeting), sha(data)))


def server(a):
    return serve_ports(a.hosts, ((a.port_a, serve_app_first), (a.port_b, serve_server_first)),
                       a.size)


def client(a):
    s = connect(a.host, a.port, a.timeout)
    if a.mode == "app-first":
        req = os.urandom(a.size)
        s.sendall(req)
        s.shutdown(socket.SHUT_WR)
        reply = recv_all(s)
        s.close()
        line = "app-first req=%s reply=%s" % (sha(req), sha(reply[32:]))
        print("%s %s" % (line, a.host), flush=True)
        if len(reply) != 32 + a.size:
            print("FAIL: got %d reply bytes after our FIN, want %d" % (len(reply), 32 + a.size),
                  file=sys.stderr)
            return 1
        if reply[:32] != hashlib.sha256(req).digest():
            print("FAIL: the server's digest of our request differs from ours", file=sys.stderr)
            return 1
    else:
        greeting = recv_all(s)  # to the server's FIN
        time.sleep(PAUSE)
        data = os.urandom(a.size)
        s.sendall(data)  # must still be delivered
        s.shutdown(socket.SHUT_WR)
        rest = recv_all(s)
        s.close()
        line = "server-first greeting=%s data=%s" % (sha(greeting), sha(data))
        print("%s %s" % (line, a.host), flush=True)
        if len(greeting) != a.size:
            print("FAIL: the greeting had %d bytes before end of stream, want %d"
                  % (len(greeting), a.size), file=sys.stderr)
            return 1
        if rest:
            print("FAIL: %d bytes after the server's FIN" % len(rest), file=sys.stderr)
            return 1
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="role", required=True)
    sp = sub.add_parser("server")
    sp.add_argument("port_a", type=int)
    sp.add_argument("port_b", type=int)
    sp.add_argument("hosts", nargs="+")
    sp.add_argument("--size", type=int, default=2 << 20)
    cp = sub.add_parser("client")
    cp.add_argument("mode", choices=["app-first", "server-first"])
    cp.add_argument("host")
    cp.add_argument("port", type=int)
    cp.add_argument("--size", type=int, default=2 << 20)
    cp.add_argument("--timeout", type=float, default=20.0)
    a = ap.parse_args()
    try:
        return server(a) if a.role == "server" else client(a)
    except OSError as e:
        print("FAIL: %s: %s" % (a.role, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
