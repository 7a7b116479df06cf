#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A bare client of the UDP dev transport: sends COUNT DNS queries for NAME,
each one an IPv4/UDP packet from SRC to DNS_SERVER:53 in its own datagram, to
the proxy at HOST:PORT, then collects replies for WAIT seconds.

Prints "replies N answers M": N datagrams came back, M of them DNS answers
to our queries (right ids, from DNS_SERVER:53). Used to prove that a second
client is refused while the first owns the session, and that it gets
answers once the session is free.

usage: dev_client.py HOST PORT SRC DNS_SERVER NAME COUNT WAIT
"""
import socket
import struct
import sys
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def dns_query(qid, name):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", 1, 1)


def ip_udp(src, dst, sport, dport, payload):
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    ulen = 8 + len(payload)
    pseudo = s + d + struct.pack("!BBH", 0, 17, ulen)
    udp = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    udp = udp[:6] + struct.pack("!H", csum(pseudo + udp) or 0xFFFF) + udp[8:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 0x1234, 0, 64, 17, 0, s, d)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + udp


def main():
    host, port, src, server, name = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    count, wait = int(sys.argv[6]), float(sys.argv[7])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((host, port))
    ids = set()
    for i in range(count):
        qid = 0x4000 + i
        ids.add(qid)
        sock.send(ip_udp(src, server, 40000 + i, 53, dns_query(qid, name)))
        time.sleep(0.05)
    sock.settimeout(0.2)
    replies = answers = 0
    deadline = time.time() + wait
    while time.time() < deadline:
        try:
            pkt = sock.recv(65535)
        except socket.timeout:
            continue
        except ConnectionRefusedError:
            continue
        replies += 1
        if len(pkt) >= 30 and pkt[0] >> 4 == 4 and pkt[9] == 17:
            ihl = (pkt[0] & 15) * 4
            sport = struct.unpack("!H", pkt[ihl:ihl + 2])[0]
            qid = struct.unpack("!H", pkt[ihl + 8:ihl + 10])[0]
            if socket.inet_ntoa(pkt[12:16]) == server and sport == 53 and qid in ids:
                answers += 1
    print("replies %d answers %d" % (replies, answers))


if __name__ == "__main__":
    main()
