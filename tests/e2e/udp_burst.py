#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Bursts of one UDP flow, sequence-checked and byte-exact, either way.

  udp_burst.py server ADDR PORT
  udp_burst.py client ADDR PORT up|down --count N --size S --burst B --gap MS

Each datagram is an 8-byte sequence number and a payload derived from it
(so the receiver checks every byte without a copy of the stream). Every
50th datagram is shorter, so a run of same-size datagrams ends the way a
GSO run does (a short last segment). The sender paces bursts of B
datagrams back to back, GAP ms apart: moderate on average, bursty at the
scale of one TUN batch. The receiver requires every datagram, in order,
and both ends compare the SHA-256 of the whole stream.

up: the client sends to the server, then asks for its verdict (--gso:
    each burst as UDP_SEGMENT super-packets).
down: the client asks the server to send, and checks what arrives.
Prints one line "ok N datagrams SHA" or "FAIL ..." (exit 1).
"""
import argparse
import hashlib
import socket
import struct
import sys
import time

PATTERN = bytes((i * 7 + 3) % 256 for i in range(70000))


def payload(seq, size):
    if seq % 50 == 49:
        size = max(8, size - 1 - seq % 97)
    body = PATTERN[seq % 251:seq % 251 + size - 8]
    return struct.pack("!Q", seq) + body


def big_buffers(s):
    for opt in (getattr(socket, "SO_RCVBUFFORCE", 33), socket.SO_RCVBUF):
        try:
            s.setsockopt(socket.SOL_SOCKET, opt, 8 << 20)
            break
        except OSError:
            pass
    try:
        s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_SNDBUFFORCE", 32), 8 << 20)
    except OSError:
        pass


def send_stream_gso(s, count, size, burst, gap):
    """The same stream, each burst sent as UDP GSO super-packets
    (UDP_SEGMENT, as QUIC stacks send): the datagrams of a burst up to a
    short one in one sendmsg."""
    h = hashlib.sha256()
    seq = 0
    while seq < count:
        end = min(count, seq + burst)
        while seq < end:
            train = []
            while seq < end:
                p = payload(seq, size)
                train.append(p)
                seq += 1
                if len(p) < size:
                    break
            for p in train:
                h.update(p)
            seg = len(train[0])
            cmsg = [(17, 103, struct.pack("=H", seg))] if len(train) > 1 else []
            while True:
                try:
                    s.sendmsg([b"".join(train)], cmsg)
                    break
                except BlockingIOError:
                    time.sleep(0.0005)
        time.sleep(gap / 1000.0)
    return h.hexdigest()


def send_stream(s, count, size, burst, gap, dst=None):
    h = hashlib.sha256()
    seq = 0
    while seq < count:
        for _ in range(burst):
            if seq >= count:
                break
            p = payload(seq, size)
            h.update(p)
            while True:
                try:
                    if dst:
                        s.sendto(p, dst)
                    else:
                        s.send(p)
                    break
                except BlockingIOError:
                    time.sleep(0.0005)
            seq += 1
        time.sleep(gap / 1000.0)
    return h.hexdigest()


def recv_stream(s, count, size, idle):
    """Returns (error or None, received count, sha)."""
    h = hashlib.sha256()
    s.settimeout(idle)
    got = 0
    while got < count:
        try:
            p = s.recv(70000)
        except socket.timeout:
            return "stopped after %d of %d datagrams" % (got, count), got, h.hexdigest()
        if len(p) < 8:
            continue  # a control message
        seq = struct.unpack("!Q", p[:8])[0]
        if seq != got:
            return "datagram %d arrived where %d was due" % (seq, got), got, h.hexdigest()
        if p != payload(seq, size):
            return "datagram %d: payload differs (%d bytes)" % (seq, len(p)), got, h.hexdigest()
        h.update(p)
        got += 1
    return None, got, h.hexdigest()


def server(addr, port):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    big_buffers(s)
    s.bind((addr, port))
    print("listening", flush=True)
    while True:
        msg, peer = s.recvfrom(70000)
        if len(msg) < 8 and not msg.startswith(b"{"):
            continue
        try:
            req = msg.decode().split()
        except UnicodeDecodeError:
            continue
        if not req or req[0] not in ("{up", "{down"):
            continue
        count, size, burst, gap = int(req[1]), int(req[2]), int(req[3]), float(req[4])
        if req[0] == "{up":
            s.connect(peer)
            s.send(b"{go")
            err, got, sha = recv_stream(s, count, size, 5.0)
            s.send(("%s %d %s" % (err or "ok", got, sha)).encode()[:1000])
        else:
            s.connect(peer)
            time.sleep(0.05)
            sha = send_stream(s, count, size, burst, gap)
            s.send(("{sha %s" % sha).encode())
        # Back to serving anyone: a fresh unconnected socket.
        s.close()
        s = socket.socket(fam, socket.SOCK_DGRAM)
        big_buffers(s)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))


def client(a):
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    big_buffers(s)
    s.connect((a.addr, a.port))
    req = "{%s %d %d %d %s" % (a.dir, a.count, a.size, a.burst, a.gap)
    s.settimeout(10)
    if a.dir == "up":
        s.send(req.encode())
        if s.recv(100) != b"{go":
            print("FAIL no go from the server")
            return 1
        if a.gso:
            sha = send_stream_gso(s, a.count, a.size, a.burst, a.gap)
        else:
            sha = send_stream(s, a.count, a.size, a.burst, a.gap)
        s.settimeout(15)
        verdict = s.recv(2000).decode()
        parts = verdict.split()
        if verdict.startswith("ok ") and int(parts[1]) == a.count and parts[2] == sha:
            print("ok %d datagrams %s" % (a.count, sha))
            return 0
        print("FAIL server says: %s (sent sha %s)" % (verdict, sha))
        return 1
    s.send(req.encode())
    err, got, sha = recv_stream(s, a.count, a.size, 5.0)
    if err:
        print("FAIL %s" % err)
        return 1
    s.settimeout(5)
    while True:
        m = s.recv(2000)
        if m.startswith(b"{sha "):
            break
    if m.decode().split()[1] != sha:
        print("FAIL sha differs: server %s, client %s" % (m.decode(), sha))
        return 1
    print("ok %d datagrams %s" % (got, sha))
    return 0


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]))
        return 0
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["client"])
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("dir", choices=["up", "down"])
    p.add_argument("--count", type=int, default=4000)
    p.add_argument("--size", type=int, default=1200)
    p.add_argument("--burst", type=int, default=32)
    p.add_argument("--gap", type=float, default=2.0)
    p.add_argument("--gso", action="store_true",
                   help="up: send each burst with UDP_SEGMENT")
    return client(p.parse_args())


if __name__ == "__main__":
    sys.exit(main())
