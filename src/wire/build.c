/* SPDX-License-Identifier: MIT */
/* build.c - builders for IPv4/IPv6 packets with UDP, TCP and ICMP (see
 * build.h), and the fragmenter.
 *
 * Builders write headers in front of a payload the caller already placed,
 * then fill every checksum: IPv4 header (RFC 791 3.1, RFC 1071), UDP
 * (RFC 768; a computed zero is sent as 0xffff), TCP (RFC 9293 3.1) and
 * ICMPv6 (RFC 4443 2.3) over their pseudo-headers, ICMPv4 (RFC 792) without.
 * IPv4 packets carry DF and id 0, which RFC 6864 4.1 allows for atomic
 * datagrams. The total packet is limited to 65535 bytes for both families.
 *
 * TCP options are laid out as Linux does, each item padded with NOPs to a
 * 32-bit boundary (RFC 9293 3.2, RFC 7323 2.2/3.2, RFC 2018 2/3); SACK
 * blocks that do not fit in the 40 option bytes are left out.
 *
 * ICMP errors quote the offending packet up to the minimum MTU of the
 * family: 576 bytes in all for IPv4 (RFC 1812 4.3.2.3), 1280 for IPv6
 * (RFC 4443 2.4(c)).
 *
 * Fragmentation: IPv4 (RFC 791 2.3, 3.2) splits the data at multiples of 8
 * bytes, clears DF, copies into later fragments only the options whose
 * "copied" flag is set, and recomputes each header checksum. A whole
 * datagram gets the low 16 bits of the caller's id (the builders write id
 * 0, which RFC 6864 allows only for atomic datagrams); an input that is
 * itself a fragment is split further keeping its id, offset and final MF.
 * IPv6 (RFC 8200 4.5) treats the fixed header as the whole unfragmentable
 * part and inserts a Fragment header after it; packets whose first next
 * header is Hop-by-Hop, Routing or Fragment are refused, since their
 * unfragmentable part would need to be found first.
 */
#include "wire/build.h"

#include <string.h>

#include "wire/bytes.h"
#include "wire/csum.h"
#include "wire/hdr.h"
#include "wire/ip6ext.h"

#define WIRE_DEFAULT_TTL 64
#define WIRE_MAX_PACKET	 65535u

/* Fragments are built in a stack buffer this large; a larger MTU yields
 * fragments of at most this size, which is still within the MTU. */
#define WIRE_FRAG_SCRATCH 16384u

/* Writes the IP header for l4_len bytes of transport; see build.h. */
size_t wire_ip_write(uint8_t *buf, size_t cap, const struct wire_ip_hdr *ip,
		     size_t l4_len)
{
	if (ip->family != 4 && ip->family != 6)
		return 0;
	size_t hl = wire_ip_hdr_len(ip->family);
	if (l4_len > WIRE_MAX_PACKET - hl || cap < hl + l4_len)
		return 0;
	uint8_t ttl = ip->ttl ? ip->ttl : WIRE_DEFAULT_TTL;

	if (ip->family == 4) {
		buf[0] = 0x45;
		buf[1] = 0;
		wire_put16(buf + 2, (uint16_t)(hl + l4_len));
		wire_put16(buf + 4, 0);
		wire_put16(buf + 6, 0x4000); /* DF */
		buf[8] = ttl;
		buf[9] = ip->proto;
		memcpy(buf + 12, wire_addr_v4(&ip->src), 4);
		memcpy(buf + 16, wire_addr_v4(&ip->dst), 4);
		wire_ip4_fill_csum(buf);
	} else {
		wire_put32(buf, 0x60000000u);
		wire_put16(buf + 4, (uint16_t)l4_len);
		buf[6] = ip->proto;
		buf[7] = ttl;
		memcpy(buf + 8, ip->src.b, 16);
		memcpy(buf + 24, ip->dst.b, 16);
	}
	return hl;
}

/* Writes the IP header of a packet of protocol proto whose transport
 * header (l4_hdr_len bytes) and payload follow; *h is set to the header
 * written, for the pseudo-header. Returns its length, 0 if it does not
 * fit. */
static size_t build_ip_for(uint8_t *buf, size_t cap,
			   const struct wire_ip_hdr *ip, uint8_t proto,
			   size_t l4_hdr_len, size_t payload_len,
			   struct wire_ip_hdr *h)
{
	*h = *ip;
	h->proto = proto;
	if (payload_len > WIRE_MAX_PACKET)
		return 0;
	return wire_ip_write(buf, cap, h, l4_hdr_len + payload_len);
}

/* The checksum of l4_len transport bytes at l4 over the pseudo-header. */
static uint16_t build_l4_csum(const struct wire_ip_hdr *ip, const uint8_t *l4,
			      size_t l4_len)
{
	uint32_t sum = wire_csum_pseudo(ip->family, &ip->src, &ip->dst,
					ip->proto, (uint32_t)l4_len);
	return wire_csum_fold(wire_csum_add(sum, l4, l4_len));
}

/* Builds a UDP packet around a payload in place; see build.h. */
size_t wire_udp_build(uint8_t *buf, size_t cap, const struct wire_ip_hdr *ip,
		      uint16_t sport, uint16_t dport, size_t payload_len)
{
	struct wire_ip_hdr h;
	size_t hl = build_ip_for(buf, cap, ip, WIRE_PROTO_UDP, WIRE_UDP_HDR_LEN,
				 payload_len, &h);
	if (!hl)
		return 0;
	size_t l4_len = WIRE_UDP_HDR_LEN + payload_len;

	uint8_t *u = buf + hl;
	wire_l4_sport_set(u, sport);
	wire_l4_dport_set(u, dport);
	wire_udp_len_set(u, (uint16_t)l4_len);
	wire_put16(u + WIRE_UDP_CSUM_OFF, 0);
	uint16_t csum = build_l4_csum(&h, u, l4_len);
	/* RFC 768: a computed zero is sent as all ones. */
	wire_set_csum(u, WIRE_UDP_CSUM_OFF, csum ? csum : 0xffff);
	return hl + l4_len;
}

/* Option bytes a TCP header can hold (RFC 9293 3.1: data offset <= 15). */
#define TCP_OPT_SPACE (WIRE_TCP_MAX_HDR_LEN - WIRE_TCP_HDR_LEN)

/* Lays out the options of o at out (when out is not NULL); returns their
 * length, a multiple of 4 no larger than TCP_OPT_SPACE. */
static size_t build_tcp_opts(const struct wire_tcp_opts *o, uint8_t *out)
{
	uint8_t tmp[TCP_OPT_SPACE];
	uint8_t *p = out ? out : tmp;
	size_t n = 0;

	if (o->mss) {
		p[n] = 2;
		p[n + 1] = 4;
		wire_put16(p + n + 2, o->mss);
		n += 4;
	}
	if (o->sack_permitted) {
		p[n] = p[n + 1] = 1;
		p[n + 2] = 4;
		p[n + 3] = 2;
		n += 4;
	}
	if (o->has_ts) {
		p[n] = p[n + 1] = 1;
		p[n + 2] = 8;
		p[n + 3] = 10;
		wire_put32(p + n + 4, o->ts_val);
		wire_put32(p + n + 8, o->ts_ecr);
		n += 12;
	}
	if (o->has_wscale) {
		p[n] = 1;
		p[n + 1] = 3;
		p[n + 2] = 3;
		p[n + 3] = o->wscale > 14 ? 14 : o->wscale;
		n += 4;
	}
	/* MSS + SACK-permitted + timestamps + window scale is 24 bytes, so
	 * the fixed options always fit; SACK blocks take what is left. */
	unsigned blocks = o->sack_count;
	if (blocks > WIRE_TCP_MAX_SACK)
		blocks = WIRE_TCP_MAX_SACK;
	if (n + 4 + 8 * (size_t)blocks > TCP_OPT_SPACE)
		blocks = (unsigned)((TCP_OPT_SPACE - n - 4) / 8);
	if (blocks) {
		p[n] = p[n + 1] = 1;
		p[n + 2] = 5;
		p[n + 3] = (uint8_t)(2 + 8 * blocks);
		for (unsigned k = 0; k < blocks; k++) {
			wire_put32(p + n + 4 + 8 * k, o->sack[k].start);
			wire_put32(p + n + 8 + 8 * k, o->sack[k].end);
		}
		n += 4 + 8 * (size_t)blocks;
	}
	return n;
}

/* The TCP header length for these options; see build.h. */
size_t wire_tcp_hdr_len(const struct wire_tcp_opts *opts)
{
	return WIRE_TCP_HDR_LEN + build_tcp_opts(opts, NULL);
}

/* Builds a TCP segment around a payload in place; see build.h. */
size_t wire_tcp_build(uint8_t *buf, size_t cap, const struct wire_ip_hdr *ip,
		      const struct wire_tcp_hdr *tcp, size_t payload_len)
{
	struct wire_ip_hdr h;
	size_t thl = wire_tcp_hdr_len(&tcp->opts);
	size_t hl =
	    build_ip_for(buf, cap, ip, WIRE_PROTO_TCP, thl, payload_len, &h);
	if (!hl)
		return 0;
	size_t l4_len = thl + payload_len;

	uint8_t *t = buf + hl;
	wire_l4_sport_set(t, tcp->sport);
	wire_l4_dport_set(t, tcp->dport);
	wire_tcp_seq_set(t, tcp->seq);
	wire_put32(t + 8, tcp->ack);
	t[12] = (uint8_t)(thl / 4 << 4);
	wire_tcp_flags_set(t, tcp->flags);
	wire_put16(t + 14, tcp->window);
	wire_put16(t + WIRE_TCP_CSUM_OFF, 0);
	wire_put16(t + 18, 0); /* urgent pointer: never sent */
	build_tcp_opts(&tcp->opts, t + WIRE_TCP_HDR_LEN);
	wire_set_csum(t, WIRE_TCP_CSUM_OFF, build_l4_csum(&h, t, l4_len));
	return hl + l4_len;
}

/* Writes the ICMP/ICMPv6 header (type, code, 4-byte rest) in front of
 * data_len bytes already in place, with its checksum; returns the packet
 * length or 0. */
static size_t build_icmp(uint8_t *buf, size_t cap, const struct wire_ip_hdr *ip,
			 uint8_t type, uint8_t code, uint32_t rest,
			 size_t data_len)
{
	struct wire_ip_hdr h;
	size_t hl = build_ip_for(
	    buf, cap, ip, ip->family == 4 ? WIRE_PROTO_ICMP : WIRE_PROTO_ICMP6,
	    WIRE_ICMP_HDR_LEN, data_len, &h);
	if (!hl)
		return 0;
	size_t l4_len = WIRE_ICMP_HDR_LEN + data_len;

	uint8_t *m = buf + hl;
	wire_icmp_type_set(m, type);
	m[1] = code;
	wire_put32(m + 4, rest);
	/* RFC 4443 2.3: ICMPv6 sums the pseudo-header; RFC 792 ICMP not. */
	if (h.family == 4) {
		wire_icmp4_fill_csum(m, l4_len);
	} else {
		wire_put16(m + WIRE_ICMP_CSUM_OFF, 0);
		wire_set_csum(m, WIRE_ICMP_CSUM_OFF,
			      build_l4_csum(&h, m, l4_len));
	}
	return hl + l4_len;
}

/* Builds an echo request or reply around data in place; see build.h. */
size_t wire_icmp_echo_build(uint8_t *buf, size_t cap,
			    const struct wire_ip_hdr *ip, uint8_t type,
			    uint16_t id, uint16_t seq, size_t data_len)
{
	return build_icmp(buf, cap, ip, type, 0, (uint32_t)id << 16 | seq,
			  data_len);
}

/* Builds an ICMP error quoting orig; see build.h. */
size_t wire_icmp_error_build(uint8_t *buf, size_t cap,
			     const struct wire_ip_hdr *ip, uint8_t type,
			     uint8_t code, uint32_t mtu_or_zero,
			     const uint8_t *orig, size_t orig_len)
{
	if (ip->family != 4 && ip->family != 6)
		return 0;
	size_t limit = ip->family == 4 ? 576 : 1280;
	size_t room = limit - wire_ip_hdr_len(ip->family) - WIRE_ICMP_HDR_LEN;
	size_t quote = orig_len < room ? orig_len : room;
	size_t at = wire_ip_hdr_len(ip->family) + WIRE_ICMP_HDR_LEN;
	if (cap < at + quote)
		return 0;
	/* memmove: the caller may quote a packet already in buf. */
	memmove(buf + at, orig, quote);
	/* The 32-bit field after the checksum: the next-hop MTU in its low
	 * 16 bits for IPv4 (RFC 1191 4), the whole field for IPv6 (RFC 4443
	 * 3.2), zero ("unused") otherwise. */
	return build_icmp(buf, cap, ip, type, code, mtu_or_zero, quote);
}

/* Copies into out the options of the IPv4 header opt (olen bytes) that
 * RFC 791 3.1 says later fragments keep (copied flag set), padded with
 * End-of-Option-List to 32 bits; returns their length. Malformed options
 * end the copy. */
static size_t build_ip4_copied_opts(const uint8_t *opt, size_t olen,
				    uint8_t *out)
{
	size_t i = 0, n = 0;

	while (i < olen) {
		uint8_t type = opt[i];
		if (type == 0)
			break;
		if (type == 1) {
			i++;
			continue;
		}
		if (olen - i < 2 || opt[i + 1] < 2 || opt[i + 1] > olen - i)
			break;
		if (type & 0x80) {
			memcpy(out + n, opt + i, opt[i + 1]);
			n += opt[i + 1];
		}
		i += opt[i + 1];
	}
	while (n % 4)
		out[n++] = 0;
	return n;
}

/* Splits an IPv4 packet of tot bytes with an ihl-byte header. */
static int build_frag4(const uint8_t *pkt, size_t tot, size_t ihl, size_t mtu,
		       uint32_t id, wire_frag_emit_fn emit, void *ctx)
{
	uint8_t frag[WIRE_FRAG_SCRATCH];
	uint8_t later[WIRE_TCP_MAX_HDR_LEN]; /* 60: the IPv4 maximum too */
	size_t later_len =
	    WIRE_IP4_HDR_LEN + build_ip4_copied_opts(pkt + WIRE_IP4_HDR_LEN,
						     ihl - WIRE_IP4_HDR_LEN,
						     later + WIRE_IP4_HDR_LEN);
	memcpy(later, pkt, WIRE_IP4_HDR_LEN);
	later[0] = (uint8_t)(0x40 | later_len / 4);

	size_t base = wire_ip4_frag_offset(pkt);
	bool last_mf = wire_ip4_frag_field(pkt) & WIRE_IP4_MF;
	size_t data = tot - ihl;
	if (base + data > WIRE_MAX_PACKET)
		return -1;
	/* A whole datagram takes the caller's id (ours are built with id 0);
	 * a fragment being split again must keep the id it shares with its
	 * siblings. */
	uint16_t ip_id = base || last_mf ? wire_ip4_id(pkt) : (uint16_t)id;
	wire_ip4_id_set(later, ip_id);

	int count = 0;
	for (size_t off = 0; off < data;) {
		const uint8_t *hdr = off ? later : pkt;
		size_t hl = off ? later_len : ihl;
		size_t n = ((mtu - hl) & ~(size_t)7);
		bool more = true;
		if (n >= data - off) {
			n = data - off;
			more = last_mf;
		}
		memcpy(frag, hdr, hl);
		memcpy(frag + hl, pkt + ihl + off, n);
		wire_ip4_total_len_set(frag, (uint16_t)(hl + n));
		wire_ip4_id_set(frag, ip_id);
		/* DF cleared, MF set on all but the last, offset in 8s. */
		wire_ip4_frag_field_set(
		    frag,
		    (uint16_t)((more ? WIRE_IP4_MF : 0) | (base + off) / 8));
		wire_ip4_fill_csum(frag);
		if (emit(ctx, frag, hl + n))
			return -1;
		count++;
		off += n;
	}
	return count;
}

/* Splits an IPv6 packet of tot bytes, inserting Fragment headers. */
static int build_frag6(const uint8_t *pkt, size_t tot, size_t mtu, uint32_t id,
		       wire_frag_emit_fn emit, void *ctx)
{
	uint8_t frag[WIRE_FRAG_SCRATCH];
	const size_t hl = WIRE_IP6_HDR_LEN + WIRE_IP6_FRAG_HDR_LEN;
	uint8_t nh = wire_ip6_next_header(pkt);

	if (nh == WIRE_IP6_NH_HOPOPTS || nh == WIRE_IP6_NH_ROUTING ||
	    nh == WIRE_IP6_NH_FRAGMENT)
		return -1;
	size_t data = tot - WIRE_IP6_HDR_LEN;
	int count = 0;
	for (size_t off = 0; off < data;) {
		size_t n = (mtu - hl) & ~(size_t)7;
		bool more = true;
		if (n >= data - off) {
			n = data - off;
			more = false;
		}
		memcpy(frag, pkt, WIRE_IP6_HDR_LEN);
		wire_ip6_payload_len_set(frag,
					 (uint16_t)(WIRE_IP6_FRAG_HDR_LEN + n));
		wire_ip6_next_header_set(frag, WIRE_IP6_NH_FRAGMENT);
		uint8_t *fh = frag + WIRE_IP6_HDR_LEN;
		fh[0] = nh;
		fh[1] = 0;
		wire_put16(fh + 2, (uint16_t)(off | (more ? 1 : 0)));
		wire_put32(fh + 4, id);
		memcpy(frag + hl, pkt + WIRE_IP6_HDR_LEN + off, n);
		if (emit(ctx, frag, hl + n))
			return -1;
		count++;
		off += n;
	}
	return count;
}

/* Splits pkt into fragments of at most mtu bytes; see build.h. */
int wire_ip_fragment(const uint8_t *pkt, size_t pkt_len, size_t mtu,
		     uint32_t id, wire_frag_emit_fn emit, void *ctx)
{
	if (pkt_len < 1)
		return -1;
	size_t tot, ihl = 0;
	unsigned version = wire_ip_version(pkt);

	if (version == 4) {
		if (pkt_len < WIRE_IP4_HDR_LEN || mtu < 68)
			return -1;
		ihl = wire_ip4_hdr_len(pkt);
		tot = wire_ip4_total_len(pkt);
		if (ihl < WIRE_IP4_HDR_LEN || tot < ihl || tot > pkt_len)
			return -1;
	} else if (version == 6) {
		if (pkt_len < WIRE_IP6_HDR_LEN || mtu < 1280)
			return -1;
		tot = WIRE_IP6_HDR_LEN + (size_t)wire_ip6_payload_len(pkt);
		if (tot > pkt_len)
			return -1;
	} else {
		return -1;
	}
	if (tot <= mtu)
		return emit(ctx, pkt, tot) ? -1 : 1;
	if (mtu > WIRE_FRAG_SCRATCH)
		mtu = WIRE_FRAG_SCRATCH;
	if (version == 4)
		return build_frag4(pkt, tot, ihl, mtu, id, emit, ctx);
	return build_frag6(pkt, tot, mtu, id, emit, ctx);
}
