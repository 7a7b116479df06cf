#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Many short HTTP requests for the soak test: THREADS threads each open a
new TCP connection per request (HTTP/1.0 GET, the server closes), read the
whole answer and check the status and the body's length, until SECONDS have
passed. Each thread waits PAUSE seconds between requests (the soak must not
hog a shared machine). URLs are taken round-robin.

Usage: soak_http.py SECONDS THREADS PAUSE URL LENGTH [URL LENGTH ...]
Prints "http ok N failed M" and up to 5 error lines; exits 0.
"""

import socket
import sys
import threading
import time
from urllib.parse import urlsplit

lock = threading.Lock()
ok = 0
failed = 0
errors = []


def one(url, length):
    u = urlsplit(url)
    host = u.hostname
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect((host, u.port or 80))
        hosthdr = "[%s]" % host if fam == socket.AF_INET6 else host
        s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (u.path, hosthdr)).encode())
        data = bytearray()
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200") and not head.startswith(b"HTTP/1.0 200"):
        raise RuntimeError("status: %r" % head[:40])
    if len(body) != length:
        raise RuntimeError("body %d bytes, want %d" % (len(body), length))


def worker(deadline, pause, targets, k):
    global ok, failed
    i = k
    while time.monotonic() < deadline:
        url, length = targets[i % len(targets)]
        i += 1
        try:
            one(url, length)
            with lock:
                ok += 1
        except Exception as e:  # noqa: BLE001 - every failure is counted
            with lock:
                failed += 1
                if len(errors) < 5:
                    errors.append("%s: %s" % (url, e))
        time.sleep(pause)


def main():
    a = sys.argv[1:]
    if len(a) < 5 or (len(a) - 3) % 2:
        print(__doc__, file=sys.stderr)
        return 2
    secs, threads, pause = float(a[0]), int(a[1]), float(a[2])
    targets = [(a[i], int(a[i + 1])) for i in range(3, len(a), 2)]
    deadline = time.monotonic() + secs
    ts = [threading.Thread(target=worker, args=(deadline, pause, targets, k)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("http ok %d failed %d" % (ok, failed))
    for e in errors:
        print("error %s" % e)
    return 0


if __name__ == "__main__":
    sys.exit(main())
