#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes a burst of malformed IPv4/IPv6 packets into a TUN device, for
tunproxy's e2e test of hostile input. Run inside the namespace that holds the
device: packets sent on an AF_PACKET socket bound to it go to whoever holds
the TUN fd (the proxy), byte for byte, with no kernel checks.

Usage: malformed.py IFACE [--seed N] [--scale K]

Packets are built with scapy (the broken fields set by hand) or are plain
random bytes. Their destinations are only the test's documentation
addresses. Prints one JSON object: packets sent, how many of them are
malformed beyond doubt in a length, header-checksum or version field (the
proxy must count each of those as malformed), and per-kind counts.
"""

import argparse
import json
import os
import random
import socket
import sys
import time

from scapy.all import (  # noqa: E402  (scapy is slow to import; keep it here)
    ICMP,
    IP,
    TCP,
    UDP,
    ICMPv6EchoRequest,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    Raw,
    raw,
)

V4_DSTS = ["203.0.113.10", "198.51.100.1"]
V6_DSTS = ["2001:db8:1::10", "2001:db8::1"]
SRC4 = "10.0.0.8"
SRC6 = "fdaa::8"
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD


class Burst:
    def __init__(self, iface, seed):
        self.rng = random.Random(seed)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        self.iface = iface
        self.sent = 0
        self.refused = 0
        self.must_drop = 0
        self.kinds = {}

    def send(self, kind, data, must_drop):
        """Sends one packet; must_drop marks a packet that is malformed in a
        way no parser may accept (a length, the IPv4 header checksum, the
        version)."""
        proto = ETH_P_IPV6 if data[:1] and data[0] >> 4 == 6 else ETH_P_IP
        try:
            self.sock.sendto(data, (self.iface, proto))
        except OSError:
            self.refused += 1  # e.g. zero length: the kernel said no
            return
        self.sent += 1
        self.must_drop += 1 if must_drop else 0
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        if self.sent % 64 == 0:
            time.sleep(0.005)  # stay within the TUN's queue (500 packets)

    # --- helpers -----------------------------------------------------------

    def payload(self, lo=0, hi=64):
        return Raw(self.rng.randbytes(self.rng.randint(lo, hi)))

    def dst4(self):
        return self.rng.choice(V4_DSTS)

    def dst6(self):
        return self.rng.choice(V6_DSTS)

    def udp4(self):
        p = IP(src=SRC4, dst=self.dst4()) / UDP(
            sport=self.rng.randint(1024, 65535), dport=7777
        ) / self.payload(1, 200)
        return bytearray(raw(p))

    def udp6(self):
        p = IPv6(src=SRC6, dst=self.dst6()) / UDP(
            sport=self.rng.randint(1024, 65535), dport=7777
        ) / self.payload(1, 200)
        return bytearray(raw(p))


def ip4_csum_fix(b):
    """Recomputes the IPv4 header checksum of b in place (for headers whose
    other fields were broken after building)."""
    ihl = (b[0] & 0x0F) * 4
    ihl = max(20, min(ihl, len(b)))
    b[10] = b[11] = 0
    s = 0
    for i in range(0, ihl - 1, 2):
        s += (b[i] << 8) | b[i + 1]
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    c = ~s & 0xFFFF
    b[10], b[11] = c >> 8, c & 0xFF
    return b


def run(bu, scale):
    r = bu.rng
    n = scale

    # --- IPv4 headers -------------------------------------------------------
    for _ in range(n):  # truncated fixed header
        b = bu.udp4()
        bu.send("ip4_short", bytes(b[: r.randint(1, 19)]), True)
    for _ in range(n):  # IHL below 5
        b = bu.udp4()
        b[0] = 0x40 | r.randint(0, 4)
        bu.send("ip4_ihl_small", bytes(ip4_csum_fix(b)), True)
    for _ in range(n):  # IHL longer than the packet
        b = bu.udp4()[: r.randint(20, 59)]
        b[0] = 0x4F
        b[2:4] = len(b).to_bytes(2, "big")
        bu.send("ip4_ihl_past_end", bytes(ip4_csum_fix(b)), True)
    for _ in range(n):  # total length larger than what arrived
        b = bu.udp4()
        tot = len(b) + r.randint(1, 1000)
        b[2:4] = tot.to_bytes(2, "big")
        bu.send("ip4_totlen_long", bytes(ip4_csum_fix(b)), True)
    for _ in range(n):  # total length shorter than the header
        b = bu.udp4()
        b[2:4] = r.randint(0, 19).to_bytes(2, "big")
        bu.send("ip4_totlen_short", bytes(ip4_csum_fix(b)), True)
    for _ in range(n):  # header checksum wrong
        b = bu.udp4()
        b[10] ^= 1 << r.randint(0, 7)
        bu.send("ip4_bad_csum", bytes(b), True)
    for _ in range(n // 2):  # options whose length runs past the header
        p = IP(src=SRC4, dst=bu.dst4(), options=[]) / UDP(dport=7777) / bu.payload()
        b = bytearray(raw(p))
        hdr = b[:20]
        opt = bytes([0x44, r.choice([0, 1, 40, 255]), 5, 0])  # timestamp, lying len
        b = hdr + opt + b[20:]
        b[0] = 0x46
        b[2:4] = len(b).to_bytes(2, "big")
        bu.send("ip4_bad_option", bytes(ip4_csum_fix(b)), False)

    # --- UDP over IPv4 ------------------------------------------------------
    for _ in range(n):  # UDP length larger than the IP payload
        b = bu.udp4()
        ulen = len(b) - 20 + r.randint(1, 2000)
        b[24:26] = min(ulen, 65535).to_bytes(2, "big")
        bu.send("udp4_len_long", bytes(b), True)
    for _ in range(n):  # UDP length below 8
        b = bu.udp4()
        b[24:26] = r.randint(0, 7).to_bytes(2, "big")
        bu.send("udp4_len_short", bytes(b), True)
    for _ in range(n):  # IP payload shorter than a UDP header
        p = IP(src=SRC4, dst=bu.dst4(), proto=17) / Raw(r.randbytes(r.randint(0, 7)))
        bu.send("udp4_truncated", raw(p), True)
    for _ in range(n):  # UDP checksum wrong (non-zero)
        b = bu.udp4()
        c = int.from_bytes(b[26:28], "big") ^ (1 << r.randint(0, 15))
        b[26:28] = (c or 1).to_bytes(2, "big")
        bu.send("udp4_bad_csum", bytes(b), False)

    # --- TCP and ICMP over IPv4 --------------------------------------------
    for _ in range(n // 2):  # truncated TCP header
        p = IP(src=SRC4, dst=bu.dst4(), proto=6) / Raw(r.randbytes(r.randint(0, 19)))
        bu.send("tcp4_truncated", raw(p), False)
    for _ in range(n // 2):  # data offset < 5 or past the segment
        p = IP(src=SRC4, dst=bu.dst4()) / TCP(
            sport=r.randint(1024, 65535), dport=80, flags="S",
            dataofs=r.choice([0, 1, 4, 15])
        )
        bu.send("tcp4_bad_doff", raw(p), False)
    for _ in range(n // 2):  # option length lies
        p = IP(src=SRC4, dst=bu.dst4()) / TCP(
            sport=r.randint(1024, 65535), dport=80, flags="S", dataofs=6,
            options=[],
        ) / Raw(bytes([2, r.choice([0, 1, 9, 255]), 5, 0xB4]))
        bu.send("tcp4_bad_option", raw(p), False)
    for _ in range(n // 2):  # ICMP shorter than its header
        p = IP(src=SRC4, dst=bu.dst4(), proto=1) / Raw(r.randbytes(r.randint(0, 7)))
        bu.send("icmp4_truncated", raw(p), False)
    for _ in range(n // 2):  # ICMP echo with a wrong checksum
        p = IP(src=SRC4, dst=bu.dst4()) / ICMP(type=8, id=r.randint(0, 65535)) / bu.payload()
        b = bytearray(raw(p))
        b[22 + r.randint(0, 1)] ^= 1 << r.randint(0, 7)
        bu.send("icmp4_bad_csum", bytes(b), False)

    # --- IPv4 fragments ---------------------------------------------------------
    for _ in range(n // 2):  # offset + length past 65535
        p = IP(src=SRC4, dst=bu.dst4(), id=r.randint(0, 65535), flags="MF",
               frag=8189, proto=17) / Raw(r.randbytes(r.choice([16, 64, 200])))
        bu.send("frag4_past_64k", raw(p), False)
    for _ in range(n // 2):  # overlapping pieces of one datagram
        ident = r.randint(0, 65535)
        for off in (0, 1, 2, 1):
            p = IP(src=SRC4, dst=bu.dst4(), id=ident, flags="MF", frag=off,
                   proto=17) / Raw(r.randbytes(24))
            bu.send("frag4_overlap", raw(p), False)
    for _ in range(n // 2):  # first fragments never completed
        p = IP(src=SRC4, dst=bu.dst4(), id=r.randint(0, 65535), flags="MF",
               proto=17) / Raw(r.randbytes(r.choice([8, 200, 1400])))
        bu.send("frag4_incomplete", raw(p), False)
    for _ in range(n // 4):  # zero-length and odd-length middle fragments
        p = IP(src=SRC4, dst=bu.dst4(), id=r.randint(0, 65535), flags="MF",
               frag=r.randint(1, 100), proto=17) / Raw(r.randbytes(r.choice([0, 3, 13])))
        bu.send("frag4_odd", raw(p), False)

    # --- IPv6 ---------------------------------------------------------------
    for _ in range(n):  # shorter than the fixed header
        b = bu.udp6()
        bu.send("ip6_short", bytes(b[: r.randint(1, 39)]), True)
    for _ in range(n):  # payload length larger than what arrived
        b = bu.udp6()
        b[4:6] = (len(b) - 40 + r.randint(1, 2000)).to_bytes(2, "big")
        bu.send("ip6_paylen_long", bytes(b), True)
    for _ in range(n):  # UDP length lies (larger than the payload)
        b = bu.udp6()
        b[44:46] = min(len(b) - 40 + r.randint(1, 500), 65535).to_bytes(2, "big")
        bu.send("udp6_len_long", bytes(b), True)
    for _ in range(n // 2):  # UDP checksum zero (forbidden over IPv6) or wrong
        b = bu.udp6()
        b[46:48] = r.choice([b"\0\0", bytes([b[46] ^ 0x10, b[47]])])
        bu.send("udp6_bad_csum", bytes(b), False)
    for _ in range(n // 2):  # hop-by-hop header whose length runs past the end
        p = IPv6(src=SRC6, dst=bu.dst6()) / IPv6ExtHdrHopByHop() / UDP(dport=7777)
        b = bytearray(raw(p))
        b[41] = r.randint(10, 255)
        bu.send("ip6_hbh_past_end", bytes(b), False)
    for _ in range(n // 4):  # a long chain of destination options headers
        p = IPv6(src=SRC6, dst=bu.dst6())
        for _ in range(r.randint(20, 150)):
            p = p / IPv6ExtHdrDestOpt()
        p = p / UDP(dport=7777) / bu.payload()
        b = raw(p)
        if len(b) <= 1500:
            bu.send("ip6_long_chain", b, False)
    for _ in range(n // 2):  # hop-by-hop anywhere but first
        p = IPv6(src=SRC6, dst=bu.dst6()) / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / UDP(
            dport=7777) / bu.payload()
        bu.send("ip6_hbh_not_first", raw(p), False)
    for _ in range(n // 2):  # chain ends mid-header (truncated routing header)
        p = IPv6(src=SRC6, dst=bu.dst6()) / IPv6ExtHdrRouting(addresses=["2001:db8::1"])
        b = raw(p)
        b = b[: 40 + r.randint(0, len(b) - 41)]
        b = bytearray(b)
        b[4:6] = (len(b) - 40).to_bytes(2, "big")
        bu.send("ip6_truncated_ext", bytes(b), False)
    for _ in range(n // 2):  # fragment header truncated / lying / past 64 KiB
        kind = r.randint(0, 2)
        if kind == 0:
            p = IPv6(src=SRC6, dst=bu.dst6(), nh=44) / Raw(r.randbytes(r.randint(0, 7)))
        elif kind == 1:
            p = IPv6(src=SRC6, dst=bu.dst6()) / IPv6ExtHdrFragment(
                offset=8190, m=1, id=r.randint(0, 2**32 - 1), nh=17) / Raw(r.randbytes(64))
        else:  # not-last fragment whose length is not a multiple of 8
            p = IPv6(src=SRC6, dst=bu.dst6()) / IPv6ExtHdrFragment(
                offset=0, m=1, id=r.randint(0, 2**32 - 1), nh=17) / Raw(r.randbytes(13))
        bu.send("ip6_bad_frag", raw(p), False)
    for _ in range(n // 2):  # ICMPv6 echo with a wrong checksum, and truncated
        if r.randint(0, 1):
            p = IPv6(src=SRC6, dst=bu.dst6()) / ICMPv6EchoRequest(cksum=r.randint(1, 65535))
        else:
            p = IPv6(src=SRC6, dst=bu.dst6(), nh=58) / Raw(r.randbytes(r.randint(0, 3)))
        bu.send("icmp6_bad", raw(p), False)
    for _ in range(n // 4):  # unknown next header after a valid chain
        p = IPv6(src=SRC6, dst=bu.dst6()) / IPv6ExtHdrDestOpt(nh=r.choice([143, 253, 99])) / (
            bu.payload(8, 64))
        bu.send("ip6_unknown_nh", raw(p), False)

    # --- neither 4 nor 6, bit flips, noise ----------------------------------
    for _ in range(n):  # IP version neither 4 nor 6
        b = bu.udp4() if r.randint(0, 1) else bu.udp6()
        b[0] = (r.choice([0, 1, 2, 3, 5, 7, 8, 15]) << 4) | (b[0] & 0x0F)
        bu.send("bad_version", bytes(b), True)
    for _ in range(2 * n):  # a few flipped bits in a valid datagram
        b = bu.udp4() if r.randint(0, 1) else bu.udp6()
        for _ in range(r.randint(1, 4)):
            i = r.randrange(len(b))
            b[i] ^= 1 << r.randint(0, 7)
        bu.send("bit_flips", bytes(b), False)
    for _ in range(2 * n):  # random bytes, random length
        bu.send("random", r.randbytes(r.randint(1, 1500)), False)
    for _ in range(n // 4):
        bu.send("empty", b"", True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--scale", type=int, default=100)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "big")
    bu = Burst(a.iface, seed)
    run(bu, a.scale)
    print(json.dumps({"seed": seed, "sent": bu.sent, "refused": bu.refused,
                      "must_drop": bu.must_drop, "kinds": bu.kinds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
