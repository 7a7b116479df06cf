/* SPDX-License-Identifier: MIT */
/* packet.c - the checker behind struct wire_packet (see packet.h).
 *
 * One pass over untrusted bytes, outermost header first. Each header is
 * bounds-checked against the bytes its enclosing header claims before any
 * of its fields is read, and the enclosing claim is itself checked against
 * the bytes received, so nothing past [buf, buf+len) is ever touched.
 *
 * IPv4 (RFC 791): IHL and total length are checked, the header checksum is
 * verified, options are skipped unread. Bytes past the total length (link
 * padding) are ignored.
 * IPv6 (RFC 8200): the payload length is checked, then the extension-header
 * chain is walked (ip6ext.c, which wire_packet_peek shares): Hop-by-Hop
 * (only first, 4.3), Routing, Destination Options, Fragment and AH (RFC 4302
 * 2.2, whose length is in 32-bit words), at most WIRE_IP6_MAX_EXT of them. Jumbograms (RFC 2675) are not supported:
 * a zero payload length means an empty payload.
 * Fragments (RFC 791, RFC 8200 4.5): the offset, MF flag and id are
 * reported and the transport header is not parsed. Fragments whose length
 * is not a multiple of 8 while more follow, empty fragments, and fragments
 * that would reassemble past 65535 bytes in all are refused here. An IPv6 atomic
 * fragment (offset 0, M clear; RFC 6946) is parsed as a whole packet.
 * UDP (RFC 768): the length field may be shorter than the IP payload (the
 * rest is ignored, as Linux does) but never longer; the checksum is verified
 * unless it is zero over IPv4, and zero is refused over IPv6 (RFC 8200 8.1).
 * TCP (RFC 9293 3.1): data offset checked, options parsed (RFC 9293 3.2,
 * RFC 7323, RFC 2018), checksum verified.
 * ICMP (RFC 792) and ICMPv6 (RFC 4443, checksum over the pseudo-header):
 * type and code, and id/seq of echo messages; checksum verified.
 * Not handled: IPv4 options' contents, ESP and other transports (refused as
 * WIRE_DROP_PROTO), Routing header processing (the proxy is the endpoint).
 */
#include "wire/packet.h"

#include <string.h>

#include "wire/bytes.h"
#include "wire/csum.h"
#include "wire/hdr.h"
#include "wire/ip6ext.h"

enum {
	TCPOPT_EOL = 0,
	TCPOPT_NOP = 1,
	TCPOPT_MSS = 2,
	TCPOPT_WSCALE = 3,
	TCPOPT_SACK_PERM = 4,
	TCPOPT_SACK = 5,
	TCPOPT_TS = 8,
};

/* RFC 7323 2.3: a shift above 14 is treated as 14. */
#define WIRE_TCP_MAX_WSCALE 14

static const char *const drop_names[WIRE_DROP__COUNT] = {
    [WIRE_OK] = "ok",
    [WIRE_DROP_EMPTY] = "empty",
    [WIRE_DROP_VERSION] = "bad_version",
    [WIRE_DROP_IP4_SHORT] = "ip4_short",
    [WIRE_DROP_IP4_IHL] = "ip4_bad_ihl",
    [WIRE_DROP_IP4_TOTLEN] = "ip4_bad_total_length",
    [WIRE_DROP_IP4_CSUM] = "ip4_bad_checksum",
    [WIRE_DROP_IP6_SHORT] = "ip6_short",
    [WIRE_DROP_IP6_PAYLEN] = "ip6_bad_payload_length",
    [WIRE_DROP_IP6_EXTHDR] = "ip6_bad_ext_header",
    [WIRE_DROP_FRAG_BAD] = "bad_fragment",
    [WIRE_DROP_UDP_SHORT] = "udp_short",
    [WIRE_DROP_UDP_LEN] = "udp_bad_length",
    [WIRE_DROP_UDP_CSUM] = "udp_bad_checksum",
    [WIRE_DROP_TCP_SHORT] = "tcp_short",
    [WIRE_DROP_TCP_DOFF] = "tcp_bad_data_offset",
    [WIRE_DROP_TCP_OPT] = "tcp_bad_option",
    [WIRE_DROP_TCP_CSUM] = "tcp_bad_checksum",
    [WIRE_DROP_ICMP_SHORT] = "icmp_short",
    [WIRE_DROP_ICMP_CSUM] = "icmp_bad_checksum",
    [WIRE_DROP_PROTO] = "unsupported_protocol",
};

/* The counter name of a drop reason; "unknown" if out of range. */
const char *wire_drop_name(enum wire_drop reason)
{
	if ((unsigned)reason >= WIRE_DROP__COUNT || !drop_names[reason])
		return "unknown";
	return drop_names[reason];
}

/* True if the transport checksum over pkt->l4 (l4_len bytes) verifies;
 * with_pseudo adds the pseudo-header (all but ICMPv4). */
static bool packet_csum_ok(const struct wire_packet *pkt, uint16_t l4_len,
			   bool with_pseudo)
{
	uint32_t sum = 0;

	if (pkt->l4_csum_ok &&
	    (pkt->proto == WIRE_PROTO_TCP || pkt->proto == WIRE_PROTO_UDP))
		return true;
	if (with_pseudo)
		sum = wire_csum_pseudo(pkt->family, &pkt->src, &pkt->dst,
				       pkt->proto, l4_len);
	sum = wire_csum_add(sum, pkt->l4, l4_len);
	return wire_csum_fold(sum) == 0;
}

/* Parses TCP options; see packet.h. */
bool wire_tcp_parse_opts(const uint8_t *opt, size_t len,
			 struct wire_tcp_opts *out)
{
	memset(out, 0, sizeof(*out));

	size_t i = 0;
	while (i < len) {
		uint8_t kind = opt[i];
		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		/* RFC 9293 3.2: every other option has a length byte that
		 * counts kind and length; it must fit in what is left. */
		if (len - i < 2)
			return false;
		uint8_t olen = opt[i + 1];
		if (olen < 2 || olen > len - i)
			return false;
		const uint8_t *v = opt + i + 2;

		switch (kind) {
		case TCPOPT_MSS:
			if (olen != 4)
				return false;
			out->mss = wire_get16(v);
			break;
		case TCPOPT_WSCALE:
			if (olen != 3)
				return false;
			out->has_wscale = true;
			out->wscale = v[0] > WIRE_TCP_MAX_WSCALE
					  ? WIRE_TCP_MAX_WSCALE
					  : v[0];
			break;
		case TCPOPT_SACK_PERM:
			if (olen != 2)
				return false;
			out->sack_permitted = true;
			break;
		case TCPOPT_TS:
			if (olen != 10)
				return false;
			out->has_ts = true;
			out->ts_val = wire_get32(v);
			out->ts_ecr = wire_get32(v + 4);
			break;
		case TCPOPT_SACK: {
			/* RFC 2018 3: 2 + 8n bytes, n >= 1. */
			unsigned n = (olen - 2u) / 8;
			if (olen < 10 || (olen - 2) % 8)
				return false;
			if (n > WIRE_TCP_MAX_SACK)
				n = WIRE_TCP_MAX_SACK;
			for (unsigned k = 0; k < n; k++) {
				out->sack[k].start = wire_get32(v + 8 * k);
				out->sack[k].end = wire_get32(v + 8 * k + 4);
			}
			out->sack_count = (uint8_t)n;
			break;
		}
		default:
			break; /* unknown: skipped by its length */
		}
		i += olen;
	}
	return true;
}

/* Checks the UDP header at pkt->l4 and fills the view. */
static enum wire_drop packet_udp(struct wire_packet *pkt)
{
	if (pkt->l4_len < WIRE_UDP_HDR_LEN)
		return WIRE_DROP_UDP_SHORT;
	uint16_t ulen = wire_udp_len(pkt->l4);
	if (ulen < WIRE_UDP_HDR_LEN || ulen > pkt->l4_len)
		return WIRE_DROP_UDP_LEN;
	/* Bytes past the UDP length are not part of the datagram. */
	pkt->l4_len = ulen;

	uint16_t csum = wire_get16(pkt->l4 + WIRE_UDP_CSUM_OFF);
	if (csum == 0 && !pkt->l4_csum_ok) {
		/* RFC 768: zero means "not computed"; RFC 8200 8.1 forbids
		 * it over IPv6. */
		if (pkt->family == 6)
			return WIRE_DROP_UDP_CSUM;
	} else if (!packet_csum_ok(pkt, ulen, true)) {
		return WIRE_DROP_UDP_CSUM;
	}
	pkt->sport = wire_l4_sport(pkt->l4);
	pkt->dport = wire_l4_dport(pkt->l4);
	pkt->payload = pkt->l4 + WIRE_UDP_HDR_LEN;
	pkt->payload_len = (uint16_t)(ulen - WIRE_UDP_HDR_LEN);
	return WIRE_OK;
}

/* Checks the TCP header and options at pkt->l4 and fills the view. */
static enum wire_drop packet_tcp(struct wire_packet *pkt)
{
	const uint8_t *t = pkt->l4;

	if (pkt->l4_len < WIRE_TCP_HDR_LEN)
		return WIRE_DROP_TCP_SHORT;
	size_t doff = wire_tcp_data_off(t);
	if (doff < WIRE_TCP_HDR_LEN || doff > pkt->l4_len)
		return WIRE_DROP_TCP_DOFF;

	struct wire_tcp *tcp = &pkt->u.tcp;
	if (!wire_tcp_parse_opts(t + WIRE_TCP_HDR_LEN, doff - WIRE_TCP_HDR_LEN,
				 &tcp->opts))
		return WIRE_DROP_TCP_OPT;
	if (!packet_csum_ok(pkt, pkt->l4_len, true))
		return WIRE_DROP_TCP_CSUM;

	pkt->sport = wire_l4_sport(t);
	pkt->dport = wire_l4_dport(t);
	tcp->seq = wire_tcp_seq(t);
	tcp->ack = wire_get32(t + 8);
	tcp->flags = wire_tcp_flags(t);
	tcp->window = wire_get16(t + 14);
	tcp->hdr_len = (uint8_t)doff;
	pkt->payload = t + doff;
	pkt->payload_len = (uint16_t)(pkt->l4_len - doff);
	return WIRE_OK;
}

/* Checks the ICMP or ICMPv6 message at pkt->l4 and fills the view. */
static enum wire_drop packet_icmp(struct wire_packet *pkt)
{
	const uint8_t *m = pkt->l4;

	if (pkt->l4_len < WIRE_ICMP_HDR_LEN)
		return WIRE_DROP_ICMP_SHORT;
	/* RFC 4443 2.3: ICMPv6 includes the pseudo-header; RFC 792 not. */
	if (!packet_csum_ok(pkt, pkt->l4_len, pkt->family == 6))
		return WIRE_DROP_ICMP_CSUM;

	struct wire_icmp *ic = &pkt->u.icmp;
	ic->type = wire_icmp_type(m);
	ic->code = m[1];
	bool echo = pkt->family == 4 ? (ic->type == 0 || ic->type == 8)
				     : (ic->type == 128 || ic->type == 129);
	if (echo) {
		ic->id = wire_icmp_echo_id(m);
		ic->seq = wire_icmp_echo_seq(m);
		pkt->sport = ic->id;
	}
	pkt->payload = m + WIRE_ICMP_HDR_LEN;
	pkt->payload_len = (uint16_t)(pkt->l4_len - WIRE_ICMP_HDR_LEN);
	return WIRE_OK;
}

/* Dispatches on pkt->proto once the IP layer is checked. */
static enum wire_drop packet_l4(struct wire_packet *pkt)
{
	pkt->l4 = pkt->l3 + pkt->l3_hdr_len;
	pkt->l4_len = (uint16_t)(pkt->l3_len - pkt->l3_hdr_len);

	switch (pkt->proto) {
	case WIRE_PROTO_UDP:
		return packet_udp(pkt);
	case WIRE_PROTO_TCP:
		return packet_tcp(pkt);
	case WIRE_PROTO_ICMP:
		return pkt->family == 4 ? packet_icmp(pkt) : WIRE_DROP_PROTO;
	case WIRE_PROTO_ICMP6:
		return pkt->family == 6 ? packet_icmp(pkt) : WIRE_DROP_PROTO;
	default:
		return WIRE_DROP_PROTO;
	}
}

/* For a fragment, points l4/payload at the fragment's data. */
static void packet_frag_data(struct wire_packet *pkt)
{
	pkt->l4 = pkt->payload = pkt->l3 + pkt->l3_hdr_len;
	pkt->l4_len = pkt->payload_len =
	    (uint16_t)(pkt->l3_len - pkt->l3_hdr_len);
}

/* RFC 791 / RFC 8200 4.5 rules a fragment's size must follow. unfrag is the
 * header length the reassembled packet would keep in front of the data.
 * The whole reassembled packet must fit in 65535 bytes: exactly RFC 791's
 * limit, and 40 bytes stricter than RFC 8200 (whose limit excludes the
 * fixed header) because l3_len is 16 bits. */
static enum wire_drop packet_frag_check(const struct wire_packet *pkt,
					uint32_t unfrag)
{
	uint32_t data = pkt->payload_len;

	if (data == 0 || (pkt->more_fragments && data % 8))
		return WIRE_DROP_FRAG_BAD;
	if (unfrag + pkt->frag_offset + data > 65535)
		return WIRE_DROP_FRAG_BAD;
	return WIRE_OK;
}

/* Checks an IPv4 header; buf holds len >= 1 bytes. */
static enum wire_drop packet_ip4(const uint8_t *buf, size_t len,
				 struct wire_packet *pkt)
{
	if (len < WIRE_IP4_HDR_LEN)
		return WIRE_DROP_IP4_SHORT;
	size_t ihl = wire_ip4_hdr_len(buf);
	if (ihl < WIRE_IP4_HDR_LEN || ihl > len)
		return WIRE_DROP_IP4_IHL;
	size_t tot = wire_ip4_total_len(buf);
	if (tot < ihl || tot > len)
		return WIRE_DROP_IP4_TOTLEN;
	if (wire_csum_fold(wire_csum_add(0, buf, ihl)) != 0)
		return WIRE_DROP_IP4_CSUM;

	pkt->l3_len = (uint16_t)tot;
	pkt->l3_hdr_len = (uint16_t)ihl;
	pkt->family = 4;
	pkt->tos = buf[1];
	pkt->ttl = wire_ip4_ttl(buf);
	pkt->proto = wire_ip4_proto(buf);
	wire_addr_from4(&pkt->src, wire_ip4_src(buf));
	wire_addr_from4(&pkt->dst, wire_ip4_dst(buf));

	uint16_t frag = wire_ip4_frag_field(buf);
	pkt->dont_fragment = frag & WIRE_IP4_DF;
	pkt->more_fragments = frag & WIRE_IP4_MF;
	pkt->frag_offset = (uint16_t)wire_ip4_frag_offset(buf);
	pkt->frag_id = wire_ip4_id(buf);
	if (pkt->more_fragments || pkt->frag_offset) {
		pkt->is_fragment = true;
		packet_frag_data(pkt);
		return packet_frag_check(pkt, (uint32_t)ihl);
	}
	return packet_l4(pkt);
}

/* Checks an IPv6 header and its extension headers; buf holds len >= 1. */
static enum wire_drop packet_ip6(const uint8_t *buf, size_t len,
				 struct wire_packet *pkt)
{
	if (len < WIRE_IP6_HDR_LEN)
		return WIRE_DROP_IP6_SHORT;
	size_t end = WIRE_IP6_HDR_LEN + (size_t)wire_ip6_payload_len(buf);
	if (end > len)
		return WIRE_DROP_IP6_PAYLEN;

	/* l3_len is 16 bits: a packet longer than 65535 bytes in all cannot
	 * come through any link tunproxy serves. */
	if (end > 0xffff)
		return WIRE_DROP_IP6_PAYLEN;
	pkt->l3_len = (uint16_t)end;
	pkt->family = 6;
	pkt->tos = (uint8_t)((buf[0] & 0xf) << 4 | buf[1] >> 4);
	pkt->ttl = wire_ip6_hop_limit(buf);
	wire_addr_from6(&pkt->src, wire_ip6_src(buf));
	wire_addr_from6(&pkt->dst, wire_ip6_dst(buf));

	struct wire_ip6_walk w;
	wire_ip6_walk_start(&w, buf);
	enum wire_drop r = wire_ip6_walk(buf, end, &w);
	if (r != WIRE_OK)
		return r;
	if (w.nh == WIRE_IP6_NH_FRAGMENT) {
		const uint8_t *fh = buf + w.off;
		pkt->is_fragment = true;
		pkt->more_fragments = wire_ip6_frag_more(fh);
		pkt->frag_offset = (uint16_t)wire_ip6_frag_offset(fh);
		pkt->frag_id = wire_ip6_frag_id(fh);
		pkt->frag_hdr_off = (uint16_t)w.off;
		pkt->frag_nh_off = (uint16_t)w.nh_off;
		pkt->proto = wire_ip6_frag_next_header(fh);
		pkt->l3_hdr_len = (uint16_t)(w.off + WIRE_IP6_FRAG_HDR_LEN);
		packet_frag_data(pkt);
		return packet_frag_check(pkt, (uint32_t)w.off);
	}
	/* No Next Header (59) and every other protocol packet_l4 does not
	 * handle are refused there as WIRE_DROP_PROTO. */
	pkt->proto = w.nh;
	pkt->l3_hdr_len = (uint16_t)w.off;
	return packet_l4(pkt);
}

static enum wire_drop packet_parse(const uint8_t *buf, size_t len, bool csum_ok,
				   struct wire_packet *pkt)
{
	memset(pkt, 0, sizeof(*pkt));
	pkt->l3 = buf;
	pkt->l4_csum_ok = csum_ok;
	if (len == 0)
		return WIRE_DROP_EMPTY;
	switch (wire_ip_version(buf)) {
	case 4:
		return packet_ip4(buf, len, pkt);
	case 6:
		return packet_ip6(buf, len, pkt);
	default:
		return WIRE_DROP_VERSION;
	}
}

/* Checks len bytes at buf and fills *pkt; see packet.h. */
enum wire_drop wire_packet_parse(const uint8_t *buf, size_t len,
				 struct wire_packet *pkt)
{
	return packet_parse(buf, len, false, pkt);
}

enum wire_drop wire_packet_parse_csum_ok(const uint8_t *buf, size_t len,
					 struct wire_packet *pkt)
{
	return packet_parse(buf, len, true, pkt);
}
