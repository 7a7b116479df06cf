#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A long-lived TCP connection that keeps sending, for the dev-session
takeover test (test_devloop.sh).

  tcp_trickle.py serve HOST PORT   accept one connection, send 100 bytes
                                   every 0.1 s; print "connected" when it
                                   arrives and, when a send fails, "ended
                                   reset" (ECONNRESET/EPIPE: the peer reset
                                   it) or "ended other ERRNO", then exit.
  tcp_trickle.py read HOST PORT    connect, print "connected", read until
                                   the connection ends; print "read N".

Lines are flushed at once so the test can wait for them in the log.
"""
import errno
import socket
import sys
import time


def say(msg):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


def serve(host, port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(1)
    conn, _ = ls.accept()
    say("connected")
    while True:
        try:
            conn.send(b"t" * 100)
        except OSError as e:
            if e.errno in (errno.ECONNRESET, errno.EPIPE):
                say("ended reset")
            else:
                say("ended other %s" % errno.errorcode.get(e.errno, e.errno))
            return
        time.sleep(0.1)


def read(host, port):
    s = socket.create_connection((host, port), timeout=10)
    say("connected")
    s.settimeout(None)
    n = 0
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            n += len(b)
    except OSError:
        pass
    say("read %d" % n)


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "serve":
        serve(host, port)
    else:
        read(host, port)


if __name__ == "__main__":
    main()
