#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the committed seed corpus of the fuzz targets: fuzz/corpus/<target>/.

    python3 fuzz/make_seeds.py [OUTDIR]      (default: fuzz/corpus)

Packets are built here byte by byte (struct, checksums per RFC 1071), so the
script needs nothing but Python; when scapy is importable, every packet is
also parsed back with it and its checksums compared, as an independent check
of the builder. The seeds follow the input formats documented at the top of
fuzz/harness_wire.c and fuzz/harness_router.c; the output is deterministic,
so regenerating gives the same files.
"""
import os
import struct
import sys

try:
    from scapy.layers.inet import IP  # type: ignore
    from scapy.layers.inet6 import IPv6  # type: ignore
    HAVE_SCAPY = True
except Exception:  # scapy is optional
    HAVE_SCAPY = False

APP4, DST4 = bytes([10, 0, 0, 2]), bytes([198, 51, 100, 1])
APP6 = bytes.fromhex("fd000000000000000000000000000002")
DST6 = bytes.fromhex("20010db8000000000000000000000001")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def pseudo(src, dst, proto, length):
    if len(src) == 4:
        return src + dst + struct.pack("!BBH", 0, proto, length)
    return src + dst + struct.pack("!IxxxB", length, proto)


def ip4(proto, payload, src=APP4, dst=DST4, ident=0, flags_off=0x4000,
        options=b""):
    ihl = 5 + len(options) // 4
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(payload),
                    ident, flags_off, 64, proto, 0, src, dst) + options
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ip6(nh, payload, src=APP6, dst=DST6):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), nh, 64, src,
                       dst) + payload


def l4_csum(src, dst, proto, seg, at):
    c = csum(pseudo(src, dst, proto, len(seg)) + seg)
    if proto == 17 and c == 0:
        c = 0xFFFF
    return seg[:at] + struct.pack("!H", c) + seg[at + 2:]


def udp(src, dst, sport, dport, data):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    return l4_csum(src, dst, 17, seg, 6)


def tcp_opts(mss=None, wscale=None, sackperm=False, ts=None, sack=()):
    o = b""
    if mss is not None:
        o += struct.pack("!BBH", 2, 4, mss)
    if sackperm:
        o += b"\x01\x01\x04\x02"
    if ts is not None:
        o += b"\x01\x01" + struct.pack("!BBII", 8, 10, ts[0], ts[1])
    if wscale is not None:
        o += struct.pack("!BBBB", 1, 3, 3, wscale)
    if sack:
        o += b"\x01\x01" + struct.pack("!BB", 5, 2 + 8 * len(sack))
        for a, b in sack:
            o += struct.pack("!II", a, b)
    return o


def tcp(src, dst, sport, dport, seq, ack, flags, opts=b"", data=b"",
        win=65535):
    doff = (20 + len(opts)) // 4
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags,
                      win, 0, 0) + opts + data
    return l4_csum(src, dst, 6, seg, 16)


def icmp4(typ, ident, seq, data):
    m = struct.pack("!BBHHH", typ, 0, 0, ident, seq) + data
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def icmp6(src, dst, typ, ident, seq, data):
    m = struct.pack("!BBHHH", typ, 0, 0, ident, seq) + data
    return l4_csum(src, dst, 58, m, 2)


def frag6_hdr(nh, off, more, ident):
    return struct.pack("!BBHI", nh, 0, off | (1 if more else 0), ident)


def scapy_check(pkt):
    """Cross-checks the checksums of a whole packet with scapy: with every
    checksum field deleted, scapy recomputes them; the bytes must not
    change."""
    if not HAVE_SCAPY:
        return
    p = IP(pkt) if pkt[0] >> 4 == 4 else IPv6(pkt)
    for layer in p.layers():
        inst = p.getlayer(layer)
        for f in ("chksum", "cksum"):
            if f in inst.fields:
                del inst.fields[f]
    if bytes(p) != pkt:
        raise SystemExit("make_seeds: scapy computes other checksums")


# --- the packets -----------------------------------------------------------

def packets():
    data = bytes(range(48))
    syn_opts = tcp_opts(mss=1460, sackperm=True, ts=(1000, 0), wscale=7)
    pk = {}
    pk["v4_udp"] = ip4(17, udp(APP4, DST4, 40000, 53, b"\x12\x34" + data))
    pk["v4_udp_zero_csum"] = ip4(
        17, struct.pack("!HHHH", 40000, 9, 8 + 4, 0) + b"abcd")
    pk["v4_tcp_syn"] = ip4(6, tcp(APP4, DST4, 40000, 80, 1000, 0, 0x02,
                                  syn_opts))
    pk["v4_tcp_data_sack"] = ip4(6, tcp(
        APP4, DST4, 40000, 80, 1001, 5001, 0x18,
        tcp_opts(ts=(1001, 77), sack=((6000, 7000), (8000, 9000))), data))
    pk["v4_tcp_fin"] = ip4(6, tcp(APP4, DST4, 40000, 80, 1049, 9001, 0x11))
    pk["v4_tcp_rst"] = ip4(6, tcp(APP4, DST4, 40000, 80, 1050, 0, 0x04))
    pk["v4_icmp_echo"] = ip4(1, icmp4(8, 0x77, 1, data))
    pk["v4_options_udp"] = ip4(17, udp(APP4, DST4, 1, 2, data),
                               options=b"\x94\x04\x00\x00")
    pk["v6_udp"] = ip6(17, udp(APP6, DST6, 40000, 53, data))
    pk["v6_tcp_syn"] = ip6(6, tcp(APP6, DST6, 40000, 443, 7, 0, 0x02,
                                  syn_opts))
    pk["v6_tcp_ack"] = ip6(6, tcp(APP6, DST6, 40000, 443, 8, 99, 0x10,
                                  tcp_opts(ts=(5, 6))))
    pk["v6_icmp_echo"] = ip6(58, icmp6(APP6, DST6, 128, 0x99, 2, data))
    # Hop-by-Hop (PadN) then Destination Options (PadN) then UDP.
    ext = bytes([60, 0, 1, 4, 0, 0, 0, 0]) + bytes([17, 0, 1, 4, 0, 0, 0, 0])
    pk["v6_ext_udp"] = ip6(0, ext + udp(APP6, DST6, 5, 6, data))
    # Fragments: a UDP datagram split at offset 32 (both families).
    u4 = udp(APP4, DST4, 40000, 9, bytes(range(64)))
    pk["v4_frag_first"] = ip4(17, u4[:32], ident=0x1234, flags_off=0x2000)
    pk["v4_frag_last"] = ip4(17, u4[32:], ident=0x1234, flags_off=32 // 8)
    u6 = udp(APP6, DST6, 40000, 9, bytes(range(64)))
    pk["v6_frag_first"] = ip6(44, frag6_hdr(17, 0, True, 0xABCD) + u6[:32])
    pk["v6_frag_last"] = ip6(44, frag6_hdr(17, 32, False, 0xABCD) + u6[32:])
    pk["v6_atomic_frag"] = ip6(44, frag6_hdr(17, 0, False, 1) + u6)
    for name, p in pk.items():
        if "frag" not in name and "zero_csum" not in name:
            scapy_check(p)
    return pk


# --- the router programs ---------------------------------------------------

OP = dict(tcp=0, udp=5, icmp=7, frag=8, raw=9, mutate=10, host_data=11,
          eof=12, error=13, connected=14, dgram=15, tx_space=16, rx_error=17,
          events=18, clock=19, drain=21, fail_open=22, toggle_drain=23)
F_SYN, F_ACK, F_ACKPSH, F_FIN, F_FINPSH, F_RST, F_RSTACK = 1, 2, 3, 4, 5, 6, 7
F_SYNACK, F_ACKDATA, F_RAW, F_SACK = 8, 9, 10, 11


def config(mtu=0, budget=0, no_drain=False, finish=0, flows=11, reasm=3,
           slots=30, half=3, est=7, policy=0):
    """The router's 4 config bytes (rt_config): budget 0 is 32 MiB, 1-3
    leave 8 KiB, 48 KiB, 300 KiB above what core_create takes; policy 0-3
    picks one of rt_policy[]."""
    b0 = mtu | budget << 2 | (16 if no_drain else 0) | finish << 5
    return bytes([b0, flows | reasm << 4, slots, half | est << 2 | policy << 5])


def op_tcp(tuple_, fsel, modes=0, extra=b"", opts_bits=0x08, opt_vals=b"",
           length=0):
    return (bytes([OP["tcp"], tuple_, fsel, modes]) + extra +
            bytes([opts_bits]) + opt_vals + bytes([length]))


def syn(t):
    # MSS 1460, wscale 7, SACK-permitted, timestamps.
    return op_tcp(t, F_SYN, opts_bits=0x0F,
                  opt_vals=struct.pack("!HB", 1460, 7))


def op(name, *args):
    return bytes([OP[name]]) + bytes(args)


def handshake(t):
    return syn(t) + op("connected", 0) + op_tcp(t, F_ACK)


def programs():
    pr = {}
    t = 0  # v4 tuple to port 80
    pr["tcp_v4_full"] = config() + handshake(t) + (
        op_tcp(t, F_ACKPSH, length=100) +           # 400 bytes to the host
        op("host_data", 0, 0x0B, 0xB8, 0) +          # 3000 bytes from it
        op_tcp(t, F_ACK) +
        op("clock", 0, 50) +                         # delayed ACK
        op_tcp(t, F_FIN) + op("eof", 0, 0) + op_tcp(t, F_ACK) +
        op("clock", 2))
    # SACK: host data, the app SACKs a block past a hole, then ACKs.
    pr["tcp_v4_sack"] = config() + handshake(t) + (
        op("host_data", 0, 0x40, 0x00, 0) +
        op_tcp(t, F_SACK, modes=0x04, extra=struct.pack("!H", 0x2000),
               opts_bits=0x08 | 0x10, opt_vals=struct.pack("!HH", 0x100, 1400)) +
        op_tcp(t, F_SACK, modes=0x04, extra=struct.pack("!H", 0x2000),
               opts_bits=0x08 | 0x20,
               opt_vals=struct.pack("!HHHH", 0x100, 1400, 0x300, 1400)) +
        op("clock", 3, 2) + op_tcp(t, F_ACK) + op("clock", 2))
    # Out of order data from the app, then the hole filled.
    pr["tcp_v6_ooo"] = config() + handshake(2) + (
        op_tcp(2, F_ACKPSH, modes=0x02, extra=struct.pack("!H", 400),
               length=100) +
        op_tcp(2, F_ACKPSH, length=100) +
        op("tx_space", 0, 0, 0, 0) + op_tcp(2, F_ACKPSH, length=200) +
        op("tx_space", 0, 2, 0, 0) + op_tcp(2, F_RST))
    pr["tcp_refused"] = config() + syn(0) + op(
        "error", 0, 0, 0, 0, 0, 0, 0, 0)
    pr["tcp_unreachable_v6"] = config() + syn(2) + op(
        "error", 0, 2, 2, 1, 3, 0, 0, 0)
    pr["tcp_connect_timeout"] = config(finish=1) + syn(1) + op("clock", 3, 80)
    pr["tcp_ring_full"] = config(slots=2, no_drain=True) + handshake(t) + (
        op("host_data", 0, 0xFF, 0xFF, 0) + op("drain", 1) +
        op("toggle_drain") + op_tcp(t, F_ACK) + op("clock", 2))
    pr["tcp_limits"] = config(flows=1, half=0, est=0) + syn(0) + syn(4) + (
        syn(8) + op("connected", 0) + op("connected", 1))
    pr["udp_v4"] = config() + (
        op("udp", 1, 0, 0, 100) + op("dgram", 0, 0, 200, 0, 1) +
        op("error", 0, 0, 0, 0, 0, 0, 0, 0) +
        op("udp", 1, 0, 0, 10) + op("clock", 3, 10))
    pr["udp_v6_big_reply"] = config(mtu=1) + (
        op("udp", 3, 0, 0, 8) + op("dgram", 0, 0x20, 0x00, 1, 0))
    pr["icmp_echo"] = config() + (
        op("icmp", 0, 0, 0, 1, 8) + op("dgram", 0, 0, 64, 0, 0) +
        op("icmp", 2, 0, 0, 1, 8) + op("dgram", 0, 0, 64, 0, 0) +
        op("error", 0, 2, 1, 3, 1, 0, 0, 0) + op("clock", 3, 10))
    pr["frag_udp"] = config() + (
        op("frag", 0x01, 0x0F, 0xA0, 10, 0x12, 0x34, 0, 0) +
        op("frag", 0x03, 0x0F, 0xA0, 0, 0x12, 0x35, 4, 0) +
        op("frag", 0x30, 0x05, 0xDC, 20, 0, 1, 0, 0))
    pr["mutate_fail_open"] = config(finish=2) + (
        op("fail_open", 1) + op("udp", 0, 0, 0, 10) +
        op("mutate", 0x10, 20, 0, 0, 9, 0xFF, 1) +
        op("mutate", 0x00, 0, 0, 10, 2, 0, 33, 0x40, 1))
    # Destinations the policy refuses: a UDP flow and a SYN to denied
    # ports, then an allowed one.
    pr["policy_deny"] = config(policy=3) + (
        op("udp", 3, 0, 0, 10) + syn(0) + syn(2) + op("connected", 0))
    pr["policy_allow_list"] = config(policy=2) + (
        op("udp", 1, 0, 0, 10) + op("icmp", 2, 0, 0, 1, 8) + syn(0))
    # A budget a few KiB above the base: data held for a full host socket
    # runs into it and the window closes.
    pr["budget_tight"] = config(budget=1) + handshake(t) + (
        op("tx_space", 0, 0, 0, 0) +
        op_tcp(t, F_ACKPSH, modes=0x40, length=200) +
        op_tcp(t, F_ACKPSH, modes=0x40, length=200) +
        op("tx_space", 0, 2, 0, 0) + op_tcp(t, F_ACK))
    raw = packets()["v4_tcp_syn"]
    pr["raw_syn"] = config() + op("raw", 0) + struct.pack("!H", len(raw)) + raw
    return pr


# --- the other targets ----------------------------------------------------

def opts_seeds():
    s = {}
    s["syn_linux"] = b"\0" + tcp_opts(mss=1460, sackperm=True,
                                      ts=(123, 0), wscale=7)
    s["sack3"] = b"\0" + tcp_opts(ts=(1, 2), sack=((1, 2), (3, 4), (5, 6)))
    s["sack4_nots"] = b"\0" + tcp_opts(sack=((1, 2), (3, 4), (5, 6), (7, 8)))
    s["unknown_eol"] = b"\0" + bytes([30, 4, 0, 0, 1, 0, 2, 4])
    s["bad_len"] = b"\0" + bytes([2, 3, 5, 180])
    s["builder_all"] = b"\x01" + bytes([0x27]) + struct.pack(
        "!HBII", 1460, 9, 5, 6) + bytes(range(32))
    return s


def reasm_seeds():
    def frag(key, off, length, seed, more):
        return bytes([key << 2 | (16 if more else 0)]) + struct.pack(
            "!HHB", off // 8, length, seed)

    s = {}
    s["v4_in_order"] = bytes([0x07]) + frag(0, 0, 32, 1, True) + frag(
        0, 32, 32, 1, True) + frag(0, 64, 5, 1, False)
    s["v6_ext_reverse"] = bytes([0x07]) + frag(3, 1024, 100, 2, False) + frag(
        3, 0, 1024, 2, True)
    s["overlap_dup"] = bytes([0x07]) + frag(1, 0, 64, 3, True) + frag(
        1, 0, 64, 3, True) + frag(1, 32, 64, 4, True) + frag(
        1, 0, 64, 3, True) + frag(1, 64, 8, 3, False)
    s["evict_timeout"] = bytes([0x11]) + frag(0, 0, 2048, 1, True) + frag(
        2, 0, 3000, 1, True) + bytes([2, 0x80, 0]) + bytes([3]) + frag(
        2, 3000 // 8 * 8 + 8, 10, 1, False)
    return s


# --- the dev transport, virtio-net framing and capture targets -------------

def u16(v):
    return struct.pack("!H", v)


def u32(v):
    return struct.pack("!I", v)


def devtransport_seeds():
    """fz_devtransport_run programs: [idle] then ops (harness_devio.c)."""
    def dgram(sender, length, seed):
        return bytes([sender << 3]) + u16(length) + bytes([seed])
    read = bytes([6, 63])
    def write(n):
        return bytes([7, n - 1])
    def clock(ms):
        return bytes([4]) + u16(ms)
    def idle(extra):  # the idle time minus 1 ms plus extra ms
        return bytes([5 | extra << 3])
    s = {}
    # one client, data both ways
    s["one_client"] = bytes([1]) + dgram(0, 60, 1) + dgram(0, 1500, 2) + \
        read + write(3) + dgram(0, 0, 0) + read + write(8)
    # a second sender refused, then taking over after the idle time
    s["takeover"] = bytes([0]) + dgram(0, 40, 1) + read + dgram(1, 40, 2) + \
        read + write(2) + idle(0) + dgram(1, 40, 3) + read + idle(1) + \
        dgram(1, 40, 4) + read + write(2) + dgram(0, 40, 5) + read
    # keepalives hold the session
    s["keepalive"] = bytes([2]) + dgram(0, 20, 1) + read + (
        clock(1000) + dgram(0, 0, 0) + read + dgram(2, 30, 9) + read) * 4
    # a batch mixing senders, read in small pieces
    s["mixed_batch"] = bytes([3]) + dgram(0, 10, 1) + dgram(1, 10, 2) + \
        dgram(0, 0, 0) + dgram(3, 10, 3) + bytes([6, 1]) + idle(2) + \
        dgram(3, 10, 4) + dgram(0, 10, 5) + dgram(3, 0, 0) + bytes([6, 2]) + \
        read + write(1)
    # no client yet: writes are dropped
    s["no_client"] = bytes([0]) + write(4) + clock(9000) + read
    return s


def vnet_hdr(flags=0, gso=0, hdr_len=0, gso_size=0, start=0, off=0):
    return struct.pack("<BBHHHH", flags, gso, hdr_len, gso_size, start, off)


def vnet_seeds():
    """fz_vnet_run programs: [mtu] then ops (harness_devio.c)."""
    pk = packets()
    def frame(data, tso=False):
        # the first 80 bytes from the input, the rest the pattern of seed 0
        return bytes([0 | (4 if tso else 0)]) + u16(
            (len(data) - (65536 - 2048) if tso else len(data)) & 0xffff) + \
            b"\0" + data[:80]
    read = bytes([1])
    def gso(cnt, var, mss, seq, xs):
        return bytes([2, cnt, var]) + u16(mss) + u32(seq) + bytes(xs)
    s = {}
    s["plain_packets"] = bytes([0]) + frame(vnet_hdr() + pk["v4_udp"]) + \
        frame(vnet_hdr() + pk["v4_tcp_syn"]) + frame(vnet_hdr() +
        pk["v6_icmp_echo"]) + read
    s["csum_partial"] = bytes([0]) + frame(vnet_hdr(1, 0, 0, 0, 20, 16) +
        pk["v4_tcp_syn"]) + frame(vnet_hdr(2) + pk["v4_udp"]) + read
    s["short_frames"] = bytes([0]) + bytes([0]) + u16(3) + b"\0" + \
        bytes(3) + bytes([0]) + u16(10) + b"\0" + bytes(10) + \
        frame(vnet_hdr() + pk["v4_tcp_syn"]) + read
    big = vnet_hdr(1, 1, 40, 1448, 20, 16) + pk["v4_tcp_syn"]
    s["tso_frame"] = bytes([2]) + bytes([4]) + u16(
        (len(big) + 3000 - (65536 - 2048)) & 0xffff) + b"\0" + big + read
    s["gso_runs"] = bytes([0]) + gso(6, 0, 1448, 0xfffff000, [1] * 6) + \
        gso(0x80 | 10, 0, 1220, 7, [1] * 10) + \
        gso(8, 0x0f, 1000, 100, [1, 1, 0xc1, 0x08, 0x00, 1, 0x55, 1]) + \
        gso(14, 0x03, 9000, 0, [1] * 14)
    s["timers"] = bytes([3]) + frame(vnet_hdr() + pk["v4_tcp_syn"]) + \
        read + bytes([3]) + u16(5000) + bytes([3]) + u16(60000)
    return s


def mirror_record(pkt, direction=2, kind=1, dropped=0, orig=None):
    return u32(24 + len(pkt)) + bytes([kind, direction]) + u16(0) + \
        u32(dropped) + u32(len(pkt) if orig is None else orig) + \
        struct.pack("!Q", 1800000000000000000) + pkt


def capture_seeds():
    """fz_capture_run inputs (harness_capture.c)."""
    pk = packets()
    greeting = b"TPMIRROR" + u16(1) + u16(24) + u32(0)
    def chunks(stream, size):
        out = b""
        for i in range(0, len(stream), size):
            part = stream[i:i + size]
            out += bytes([len(part) & 0xff]) + part
        return out
    def build(kind, direction, dropped, pkt, orig_delta=0):
        # [kind] [dir] [dropped] [len u16] [orig delta] [orig u32?] [bytes]
        b = bytes([1 if kind == 1 else 0])
        if kind != 1:
            b += bytes([kind])
        b += bytes([direction])
        b += bytes([1]) if dropped == 0 else bytes([0, dropped])
        b += u16(len(pkt))
        b += bytes([1]) if orig_delta == 0 else bytes([0, orig_delta])
        return b + bytes([0]) + pkt
    stream = greeting + mirror_record(pk["v4_udp"], 2) + \
        mirror_record(pk["v4_tcp_syn"], 1, dropped=3) + \
        mirror_record(pk["v6_icmp_echo"], 2, orig=2000) + \
        mirror_record(b"", 9, kind=7, dropped=1) + \
        mirror_record(pk["v6_ext_udp"], 1)
    s = {}
    # [filter] [port] [max] [mode]: no filter, raw chunks
    s["raw_all"] = bytes([0]) + u16(0) + bytes([0, 0]) + chunks(stream, 37)
    s["raw_tcp_port"] = bytes([1 | 4]) + u16(80) + bytes([0, 0]) + \
        chunks(stream, 250)
    s["raw_udp_host6"] = bytes([2 | 8 | 16]) + u16(0) + \
        bytes.fromhex("20010db8000000000000000000000001") + bytes([2, 0]) + \
        chunks(stream, 5)
    s["raw_bad_greeting"] = bytes([0]) + u16(0) + bytes([0, 0]) + \
        chunks(b"TPMIRROX" + stream[8:], 64)
    s["raw_bad_length"] = bytes([0]) + u16(0) + bytes([0, 0]) + \
        chunks(greeting + u32(7) + bytes(20), 64)
    s["built_icmp_host4"] = bytes([3 | 8]) + u16(0) + bytes([203, 0, 113, 10]) + \
        bytes([0, 1]) + build(1, 2, 0, pk["v4_icmp_echo"]) + \
        build(1, 1, 5, pk["v4_udp"], 40) + build(3, 1, 0, b"") + \
        build(1, 0, 0, pk["v6_icmp_echo"])
    s["built_port_string"] = bytes([0x20]) + bytes([5]) + b"00053" + \
        bytes([1, 3]) + build(1, 2, 0, pk["v4_udp"]) + \
        build(1, 1, 0, pk["v4_frag_first"]) + build(1, 1, 0, pk["v4_tcp_fin"])
    return s


def dns_name(name):
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def dns_seeds():
    """DNS responses: A, AAAA, a CNAME chain with compression, a query."""
    q = dns_name("www.example.test") + struct.pack(">HH", 1, 1)
    a = struct.pack(">HHHIH", 0xC00C, 1, 1, 60, 4) + bytes([192, 0, 2, 7])
    s = {"a": struct.pack(">HHHHHH", 1, 0x8180, 1, 1, 0, 0) + q + a}
    q6 = dns_name("v6.example.test") + struct.pack(">HH", 28, 1)
    aaaa = struct.pack(">HHHIH", 0xC00C, 28, 1, 300, 16) + DST6
    s["aaaa"] = struct.pack(">HHHHHH", 2, 0x8180, 1, 1, 0, 0) + q6 + aaaa
    target = dns_name("cdn.example.net")
    cname = struct.pack(">HHHIH", 0xC00C, 5, 1, 300, len(target)) + target
    off = 12 + len(q) + 12  # where the CNAME's target starts
    a2 = struct.pack(">HHHIH", 0xC000 | off, 1, 1, 30, 4) + bytes(
        [198, 51, 100, 9])
    s["cname_chain"] = struct.pack(">HHHHHH", 3, 0x8180, 1, 2, 0, 0) + q + \
        cname + a2
    s["query"] = struct.pack(">HHHHHH", 4, 0x0100, 1, 0, 0, 0) + q
    return s


def client_hello(sni):
    name = sni.encode()
    sn = struct.pack(">HBH", len(name) + 3, 0, len(name)) + name
    ext = struct.pack(">HH", 43, 3) + bytes([2, 3, 4]) + \
        struct.pack(">HH", 0, len(sn)) + sn
    body = struct.pack(">H", 0x0303) + bytes(32) + b"\0" + \
        struct.pack(">HH", 2, 0x1301) + b"\x01\x00" + \
        struct.pack(">H", len(ext)) + ext
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs


def sni_seeds():
    return {"client_hello": client_hello("www.example.test"),
            "client_hello_cut": client_hello("cut.example.test")[:70]}


def http_seeds():
    return {"get": b"GET /index.html HTTP/1.1\r\nUser-Agent: x\r\n"
                   b"Host: www.example.test:8080\r\n\r\n",
            "post_v6": b"POST / HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\n"}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus")
    sets = {
        "fuzz_packet_parse": {n: b"\x00" + p for n, p in packets().items()},
        "fuzz_tcp_opts": opts_seeds(),
        "fuzz_reasm": reasm_seeds(),
        "fuzz_router": programs(),
        "fuzz_devtransport": devtransport_seeds(),
        "fuzz_vnet": vnet_seeds(),
        "fuzz_capture": capture_seeds(),
        "fuzz_names_dns": dns_seeds(),
        "fuzz_names_sni": sni_seeds(),
        "fuzz_names_http": http_seeds(),
    }
    # Round trips through the fragmenter: the same packets at small MTUs.
    for n in ("v4_tcp_data_sack", "v4_options_udp", "v6_ext_udp"):
        sets["fuzz_packet_parse"][n + "_frag"] = b"\x02" + packets()[n]
    for target, seeds in sets.items():
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        for name, data in sorted(seeds.items()):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
    print("make_seeds: wrote %d seeds in %s%s" % (
        sum(len(s) for s in sets.values()), out,
        " (checked with scapy)" if HAVE_SCAPY else ""))


if __name__ == "__main__":
    main()
