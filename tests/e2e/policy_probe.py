#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes one packet that opens a flow (TCP SYN, UDP datagram or ICMP echo
request) into a TUN device and reports what the proxy answered, for
destinations an application cannot reach through its own kernel: the
kernel never routes ::1 out of a device nor accepts an answer from it, and
sends multicast without expecting any answer.

Run inside the namespace that holds the device. The packet goes out on an
AF_PACKET socket bound to it (so it reaches whoever holds the TUN fd, the
proxy, unchanged); the same socket sees the proxy's packets to the device
before the kernel's input checks.

Usage: policy_probe.py IFACE SRC DST PROTO [--dport N] [--expect KIND]
                       [--timeout SEC]
PROTO is tcp, udp or icmp (ICMPv6 for an IPv6 DST). KIND is one of
  rst     a TCP RST answering our SYN
  admin   ICMP destination unreachable "administratively prohibited"
          (type 3 code 13; ICMPv6 type 1 code 1) quoting our packet
  none    no answer at all within the timeout
Prints what came back and exits 0 only if it was KIND.
"""

import argparse
import logging
import random
import select
import socket
import sys
import time

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)  # no interface chatter
from scapy.all import (  # noqa: E402
    ICMP,
    IP,
    TCP,
    UDP,
    ICMPv6DestUnreach,
    ICMPv6EchoRequest,
    IPv6,
    raw,
)

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD


def build(src, dst, proto, dport, sport, ident):
    v6 = ":" in dst
    ip = IPv6(src=src, dst=dst) if v6 else IP(src=src, dst=dst)
    if proto == "tcp":
        return ip / TCP(sport=sport, dport=dport, flags="S", seq=1000, window=65535)
    if proto == "udp":
        return ip / UDP(sport=sport, dport=dport) / b"policy probe"
    if v6:
        return ip / ICMPv6EchoRequest(id=ident, seq=1, data=b"policy probe")
    return ip / ICMP(type=8, id=ident, seq=1) / b"policy probe"


def classify(data, src, dst, proto, sport, ident):
    """What a packet from the TUN says about our probe, or None if it is not
    about it."""
    v6 = data[0] >> 4 == 6
    pkt = IPv6(data) if v6 else IP(data)
    if pkt.dst != src:
        return None
    if proto == "tcp" and pkt.haslayer(TCP) and pkt.src == dst:
        t = pkt[TCP]
        if t.dport != sport:
            return None
        if t.flags & 0x04:
            return "rst (flags %s, ack %d)" % (t.flags, t.ack)
        return "tcp %s" % t.flags
    if not v6 and pkt.haslayer(ICMP) and pkt[ICMP].type == 3:
        inner = pkt[ICMP].payload
        if isinstance(inner, IP) and inner.dst == dst:
            return "admin" if pkt[ICMP].code == 13 else "icmp 3/%d" % pkt[ICMP].code
        return None
    if v6 and pkt.haslayer(ICMPv6DestUnreach):
        u = pkt[ICMPv6DestUnreach]
        inner = u.payload
        if isinstance(inner, IPv6) and inner.dst == dst:
            return "admin" if u.code == 1 else "icmp6 1/%d" % u.code
        return None
    if pkt.src == dst:
        return "reply: %s" % pkt.summary()
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("proto", choices=["tcp", "udp", "icmp"])
    ap.add_argument("--dport", type=int, default=7)
    ap.add_argument("--expect", choices=["rst", "admin", "none"], required=True)
    ap.add_argument("--timeout", type=float, default=1.5)
    a = ap.parse_args()

    sport = random.randint(20000, 60000)
    ident = random.randint(1, 65535)
    pkt = raw(build(a.src, a.dst, a.proto, a.dport, sport, ident))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((a.iface, 0))
    s.sendto(pkt, (a.iface, ETH_P_IPV6 if ":" in a.dst else ETH_P_IP))
    what = None
    end = time.monotonic() + a.timeout
    while what is None:
        left = end - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([s], [], [], left)
        if not r:
            break
        data, addr = s.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING or not data:
            continue  # our own probe
        what = classify(data, a.src, a.dst, a.proto, sport, ident)
    got = what or "none"
    kind = got.split(" ")[0]
    print("%s %s:%d -> %s: %s" % (a.proto, a.src, sport, a.dst, got))
    return 0 if kind == a.expect else 1


if __name__ == "__main__":
    sys.exit(main())
