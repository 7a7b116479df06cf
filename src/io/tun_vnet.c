/* SPDX-License-Identifier: MIT */
/* tun_vnet.c - virtio-net headers and GSO runs; see tun_vnet.h. */
#include "io/tun_vnet.h"

#include <stdbool.h>
#include <string.h>

#include "wire/bytes.h"
#include "wire/csum.h"
#include "wire/packet.h"

void vnet_hdr_read(const uint8_t *p, struct vnet_hdr *h)
{
	h->flags = p[0];
	h->gso_type = p[1];
	memcpy(&h->hdr_len, p + 2, 2);
	memcpy(&h->gso_size, p + 4, 2);
	memcpy(&h->csum_start, p + 6, 2);
	memcpy(&h->csum_offset, p + 8, 2);
}

void vnet_hdr_write(uint8_t *p, const struct vnet_hdr *h)
{
	p[0] = h->flags;
	p[1] = h->gso_type;
	memcpy(p + 2, &h->hdr_len, 2);
	memcpy(p + 4, &h->gso_size, 2);
	memcpy(p + 6, &h->csum_start, 2);
	memcpy(p + 8, &h->csum_offset, 2);
}

/* One outgoing TCP segment as the run finder sees it. */
struct seg {
	size_t iphl; /* IP header */
	size_t hl;   /* IP + TCP headers */
	size_t plen; /* payload */
	uint32_t seq;
	uint8_t flags;
};

/* A TCP segment without fragments, IPv4 options or IPv6 extension
 * headers (the engine builds none), whose lengths agree with len. */
static bool seg_of(const struct core_tx_pkt *p, struct seg *s)
{
	const uint8_t *b = p->data;

	if (p->family == 4) {
		if (p->len < WIRE_IP4_HDR_LEN + WIRE_TCP_HDR_LEN ||
		    b[0] != 0x45 || b[9] != WIRE_PROTO_TCP ||
		    (wire_get16(b + 6) & 0x3fff) != 0 ||
		    wire_get16(b + 2) != p->len)
			return false;
		s->iphl = WIRE_IP4_HDR_LEN;
	} else {
		if (p->len < WIRE_IP6_HDR_LEN + WIRE_TCP_HDR_LEN ||
		    b[0] >> 4 != 6 || b[6] != WIRE_PROTO_TCP ||
		    wire_get16(b + 4) + (size_t)WIRE_IP6_HDR_LEN != p->len)
			return false;
		s->iphl = WIRE_IP6_HDR_LEN;
	}
	const uint8_t *t = b + s->iphl;
	size_t thl = (size_t)(t[12] >> 4) * 4;
	if (thl < WIRE_TCP_HDR_LEN || s->iphl + thl > p->len)
		return false;
	s->hl = s->iphl + thl;
	s->plen = p->len - s->hl;
	s->seq = wire_get32(t + 4);
	s->flags = t[13];
	return true;
}

/* Byte ranges [from, to) of a header that must match across a run; the
 * rest (lengths, IPv4 id and checksum, sequence number, flags, TCP
 * checksum) differs per segment and is rebuilt for the super-packet. */
static bool same_range(const uint8_t *a, const uint8_t *b, size_t from,
		       size_t to)
{
	return memcmp(a + from, b + from, to - from) == 0;
}

static bool same_headers(const uint8_t *a, const uint8_t *b,
			 const struct seg *s)
{
	bool ip = s->iphl == WIRE_IP4_HDR_LEN
		      ? same_range(a, b, 0, 2) && same_range(a, b, 6, 10) &&
			    same_range(a, b, 12, 20)
		      : same_range(a, b, 0, 4) && same_range(a, b, 6, 40);
	const uint8_t *ta = a + s->iphl, *tb = b + s->iphl;
	return ip && same_range(ta, tb, 0, 4) && same_range(ta, tb, 8, 13) &&
	       same_range(ta, tb, 14, 16) &&
	       same_range(ta, tb, 18, s->hl - s->iphl);
}

int vnet_gso_run(const struct core_tx_pkt *pkts, int n)
{
	struct seg first, prev, s;

	/* Only plain data segments start a run: a SYN, FIN, RST or ECN
	 * flag on the first piece would be copied to every piece. */
	if (n < 2 || !seg_of(&pkts[0], &first) || first.flags != WIRE_TCP_ACK ||
	    first.plen == 0)
		return 1;
	/* The whole super-packet, an IPv6 header included, stays within
	 * 65535 bytes: the kernel's own GSO packets do (gso_max_size 64 KiB
	 * without BIG TCP), and so does every packet the engine parses
	 * (wire_packet_parse refuses more: l3_len is 16 bits). Counting only
	 * the IPv6 payload let a run reach 65575 bytes (fuzz_vnet). */
	size_t total = pkts[0].len;
	prev = first;
	int k = 1;
	while (k < n) {
		if (pkts[k].family != pkts[0].family || !seg_of(&pkts[k], &s) ||
		    s.hl != first.hl ||
		    !same_headers(pkts[0].data, pkts[k].data, &first))
			break;
		if (s.seq != prev.seq + (uint32_t)prev.plen || s.plen == 0 ||
		    s.plen > first.plen)
			break;
		/* GSO gives PSH and FIN to the last piece only. */
		if ((s.flags & ~(WIRE_TCP_PSH | WIRE_TCP_FIN)) != WIRE_TCP_ACK)
			break;
		if (total + s.plen > 65535)
			break;
		total += s.plen;
		k++;
		if (s.flags != WIRE_TCP_ACK || s.plen < first.plen)
			break; /* a short or flagged segment ends the run */
		prev = s;
	}
	return k;
}

size_t vnet_gso_merge(struct core_tx_pkt *pkts, int k, struct vnet_hdr *h)
{
	struct seg first, last;

	seg_of(&pkts[0], &first);
	seg_of(&pkts[k - 1], &last);
	uint8_t *b = pkts[0].data;
	uint8_t *t = b + first.iphl;
	size_t total = pkts[0].len;
	for (int i = 1; i < k; i++)
		total += pkts[i].len - first.hl;
	size_t l4_len = total - first.iphl;

	t[13] = last.flags;
	/* The TCP checksum is left partial, as the kernel's own TSO
	 * leaves it: the pseudo-header sum, not complemented. The kernel
	 * completes it if it cuts the packet, or trusts it on local
	 * delivery. */
	uint8_t tail[8] = {0};
	uint32_t sum;
	if (pkts[0].family == 4) {
		wire_put16(b + 2, (uint16_t)total);
		b[10] = b[11] = 0;
		uint16_t ipsum =
		    wire_csum_fold(wire_csum_add(0, b, first.iphl));
		memcpy(b + 10, &ipsum, 2);
		tail[1] = WIRE_PROTO_TCP;
		wire_put16(tail + 2, (uint16_t)l4_len);
		sum = wire_csum_add(wire_csum_add(0, b + 12, 8), tail, 4);
		h->gso_type = VNET_GSO_TCPV4;
	} else {
		wire_put16(b + 4, (uint16_t)l4_len);
		wire_put32(tail, (uint32_t)l4_len);
		tail[7] = WIRE_PROTO_TCP;
		sum = wire_csum_add(wire_csum_add(0, b + 8, 32), tail, 8);
		h->gso_type = VNET_GSO_TCPV6;
	}
	uint16_t partial = (uint16_t)~wire_csum_fold(sum);
	memcpy(t + 16, &partial, 2);
	h->flags = VNET_F_NEEDS_CSUM;
	h->hdr_len = (uint16_t)first.hl;
	h->gso_size = (uint16_t)first.plen;
	h->csum_start = (uint16_t)first.iphl;
	h->csum_offset = 16;
	return first.hl;
}

/* An unfragmented UDP datagram without IPv4 options or IPv6 extension
 * headers whose lengths agree with len; *iphl and *plen filled. */
static bool udp_of(const struct core_tx_pkt *p, size_t *iphl, size_t *plen)
{
	const uint8_t *b = p->data;

	if (p->family == 4) {
		if (p->len <= WIRE_IP4_HDR_LEN + WIRE_UDP_HDR_LEN ||
		    b[0] != 0x45 || b[9] != WIRE_PROTO_UDP ||
		    (wire_get16(b + 6) & 0x3fff) != 0 ||
		    wire_get16(b + 2) != p->len)
			return false;
		*iphl = WIRE_IP4_HDR_LEN;
	} else {
		if (p->len <= WIRE_IP6_HDR_LEN + WIRE_UDP_HDR_LEN ||
		    b[0] >> 4 != 6 || b[6] != WIRE_PROTO_UDP ||
		    wire_get16(b + 4) + (size_t)WIRE_IP6_HDR_LEN != p->len)
			return false;
		*iphl = WIRE_IP6_HDR_LEN;
	}
	if (wire_get16(b + *iphl + 4) != p->len - *iphl)
		return false;
	*plen = p->len - *iphl - WIRE_UDP_HDR_LEN;
	return true;
}

int vnet_uso_run(const struct core_tx_pkt *pkts, int n)
{
	size_t iphl, plen, first;

	if (n < 2 || !udp_of(&pkts[0], &iphl, &first))
		return 1;
	const uint8_t *a = pkts[0].data;
	size_t l4 = WIRE_UDP_HDR_LEN + first;
	int k = 1;
	while (k < n && k < VNET_USO_SEGS) {
		const uint8_t *b = pkts[k].data;
		size_t ih;
		if (pkts[k].family != pkts[0].family ||
		    !udp_of(&pkts[k], &ih, &plen) || plen > first)
			break;
		bool same =
		    iphl == WIRE_IP4_HDR_LEN
			? same_range(a, b, 0, 2) && same_range(a, b, 6, 10) &&
			      same_range(a, b, 12, 20)
			: same_range(a, b, 0, 4) && same_range(a, b, 6, 40);
		if (!same || !same_range(a + iphl, b + iphl, 0, 4))
			break;
		if (iphl + l4 + plen > 65535)
			break;
		l4 += plen;
		k++;
		if (plen < first)
			break; /* a short datagram ends the run */
	}
	return k;
}

size_t vnet_uso_merge(struct core_tx_pkt *pkts, int k, struct vnet_hdr *h)
{
	size_t iphl, first;

	udp_of(&pkts[0], &iphl, &first);
	uint8_t *b = pkts[0].data;
	size_t hl = iphl + WIRE_UDP_HDR_LEN;
	size_t total = pkts[0].len;
	for (int i = 1; i < k; i++)
		total += pkts[i].len - hl;
	size_t l4_len = total - iphl;
	uint8_t *u = b + iphl;
	wire_put16(u + 4, (uint16_t)l4_len);
	/* Partial, as for TCP (vnet_gso_merge): the kernel adjusts it for
	 * each datagram it cuts and completes it. */
	uint8_t tail[8] = {0};
	uint32_t sum;
	if (pkts[0].family == 4) {
		wire_put16(b + 2, (uint16_t)total);
		b[10] = b[11] = 0;
		uint16_t ipsum = wire_csum_fold(wire_csum_add(0, b, iphl));
		memcpy(b + 10, &ipsum, 2);
		tail[1] = WIRE_PROTO_UDP;
		wire_put16(tail + 2, (uint16_t)l4_len);
		sum = wire_csum_add(wire_csum_add(0, b + 12, 8), tail, 4);
	} else {
		wire_put16(b + 4, (uint16_t)l4_len);
		wire_put32(tail, (uint32_t)l4_len);
		tail[7] = WIRE_PROTO_UDP;
		sum = wire_csum_add(wire_csum_add(0, b + 8, 32), tail, 8);
	}
	uint16_t partial = (uint16_t)~wire_csum_fold(sum);
	memcpy(u + 6, &partial, 2);
	h->flags = VNET_F_NEEDS_CSUM;
	h->gso_type = VNET_GSO_UDP_L4;
	h->hdr_len = (uint16_t)hl;
	h->gso_size = (uint16_t)first;
	h->csum_start = (uint16_t)iphl;
	h->csum_offset = 6;
	return hl;
}
