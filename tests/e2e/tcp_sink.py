#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A TCP sink for upload tests: every connection is read to end of stream,
its bytes counted and hashed with SHA-256; then the server prints
"sink LOCALADDR BYTES SHA256HEX SECONDS" on stdout and sends "BYTES SHA256HEX\n"
back to the client before closing (so the client learns what arrived, and
the half-close app FIN -> server reply is exercised on the way).

Usage: tcp_sink.py HOST PORT [HOST PORT ...]
Serves until killed; one thread per connection.
"""

import hashlib
import socket
import sys
import threading
import time

_out = threading.Lock()


def say(msg):
    """One whole line on stdout (threads must not interleave)."""
    with _out:
        sys.stdout.write(msg + "\n")
        sys.stdout.flush()


def serve_conn(conn):
    local = conn.getsockname()[0]
    h = hashlib.sha256()
    n = 0
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    t0 = time.monotonic()
    try:
        while True:
            k = conn.recv_into(view)
            if k == 0:
                break
            h.update(view[:k])
            n += k
        dt = time.monotonic() - t0
        digest = h.hexdigest()
        say("sink %s %d %s %.3f" % (local, n, digest, dt))
        conn.sendall(b"%d %s\n" % (n, digest.encode()))
    except OSError as e:
        say("sink %s error after %d bytes: %s" % (local, n, e))
    finally:
        conn.close()


def listen_loop(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(64)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve_conn, args=(conn,), daemon=True).start()


def main():
    args = sys.argv[1:]
    if not args or len(args) % 2:
        print(__doc__, file=sys.stderr)
        return 2
    threads = []
    for i in range(0, len(args), 2):
        t = threading.Thread(target=listen_loop, args=(args[i], int(args[i + 1])), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
