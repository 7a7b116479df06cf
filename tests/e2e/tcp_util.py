# SPDX-License-Identifier: MIT
"""Socket helpers shared by the two-port TCP test scripts (tcp_halfclose.py,
tcp_reset.py): thread-safe output lines, a server that runs one handler
per port on every host, and the client's connect."""

import socket
import sys
import threading

_out = threading.Lock()


def say(msg):
    """One whole line on stdout (threads must not interleave)."""
    with _out:
        sys.stdout.write(msg + "\n")
        sys.stdout.flush()


def _serve_conn(conn, fn, arg, errors):
    try:
        fn(conn, arg)
    except errors as e:
        say("error in %s: %s" % (fn.__name__, e))
    finally:
        conn.close()


def _listen_loop(host, port, fn, arg, errors):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(16)
    say("listening %s %d" % (host, port))
    while True:
        conn, _ = s.accept()
        threading.Thread(target=_serve_conn, args=(conn, fn, arg, errors),
                         daemon=True).start()


def serve_ports(hosts, handlers, arg, errors=(OSError,)):
    """Listens on every (port, fn) of handlers on every host; each
    connection runs fn(conn, arg) in its own thread (an exception in
    errors is printed as "error in FN: ...") and is closed after. Runs
    until killed; returns 0."""
    ts = []
    for host in hosts:
        for port, fn in handlers:
            t = threading.Thread(target=_listen_loop, args=(host, port, fn, arg, errors),
                                 daemon=True)
            t.start()
            ts.append(t)
    for t in ts:
        t.join()
    return 0


def connect(host, port, timeout):
    """A TCP connection to host (IPv6 if it has a colon) with a timeout."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, port))
    return s
