/* SPDX-License-Identifier: MIT */
/* tun_vnet.c - virtio-net headers and GSO runs; see tun_vnet.h. */
#include "io/tun_vnet.h"

#include <stdbool.h>
#include <string.h>

#include "wire/csum.h"
#include "wire/hdr.h"
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

/* True if p is an engine-built packet of protocol proto with a plain
 * fixed header (IPv4 without options, not a fragment; IPv6 without
 * extension headers), at least min_l4 transport bytes, and an IP length
 * that agrees with p->len; *iphl is set to the fixed header's length. */
static bool plain_ip(const struct core_tx_pkt *p, uint8_t proto, size_t min_l4,
		     size_t *iphl)
{
	const uint8_t *b = p->data;

	if (p->family == 4) {
		if (p->len < WIRE_IP4_HDR_LEN + min_l4 ||
		    wire_ip_version(b) != 4 ||
		    wire_ip4_hdr_len(b) != WIRE_IP4_HDR_LEN ||
		    wire_ip4_proto(b) != proto || wire_ip4_is_fragment(b) ||
		    wire_ip4_total_len(b) != p->len)
			return false;
		*iphl = WIRE_IP4_HDR_LEN;
	} else {
		if (p->len < WIRE_IP6_HDR_LEN + min_l4 ||
		    wire_ip_version(b) != 6 ||
		    wire_ip6_next_header(b) != proto ||
		    wire_ip6_payload_len(b) + (size_t)WIRE_IP6_HDR_LEN !=
			p->len)
			return false;
		*iphl = WIRE_IP6_HDR_LEN;
	}
	return true;
}

/* Writes the run's lengths into the first packet's IP header (and the
 * IPv4 header checksum they change). */
static void set_lengths(uint8_t *b, uint8_t family, size_t total, size_t l4_len)
{
	if (family == 4) {
		wire_ip4_total_len_set(b, (uint16_t)total);
		wire_ip4_fill_csum(b);
	} else {
		wire_ip6_payload_len_set(b, (uint16_t)l4_len);
	}
}

/* The partial transport checksum the kernel completes: the pseudo-header
 * sum folded, not complemented (network order). */
static uint16_t partial_csum(const uint8_t *b, uint8_t proto, size_t l4_len)
{
	return (uint16_t)~wire_csum_fold(
	    wire_ip_pseudo_sum(b, proto, (uint32_t)l4_len));
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

	if (!plain_ip(p, WIRE_PROTO_TCP, WIRE_TCP_HDR_LEN, &s->iphl))
		return false;
	const uint8_t *t = b + s->iphl;
	size_t thl = wire_tcp_data_off(t);
	if (thl < WIRE_TCP_HDR_LEN || s->iphl + thl > p->len)
		return false;
	s->hl = s->iphl + thl;
	s->plen = p->len - s->hl;
	s->seq = wire_tcp_seq(t);
	s->flags = wire_tcp_flags(t);
	return true;
}

/* The headers must match across a run but for what differs per segment
 * (lengths, IPv4 id and checksum, sequence number, flags, TCP checksum),
 * which is rebuilt for the super-packet. */
static bool same_headers(const uint8_t *a, const uint8_t *b,
			 const struct seg *s)
{
	return wire_ip_hdr_alike(a, b) &&
	       wire_tcp_hdr_alike(a + s->iphl, b + s->iphl, s->hl - s->iphl);
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

	wire_tcp_flags_set(t, last.flags);
	/* The TCP checksum is left partial, as the kernel's own TSO
	 * leaves it: the pseudo-header sum, not complemented. The kernel
	 * completes it if it cuts the packet, or trusts it on local
	 * delivery. */
	set_lengths(b, pkts[0].family, total, l4_len);
	wire_set_csum(t, WIRE_TCP_CSUM_OFF,
		      partial_csum(b, WIRE_PROTO_TCP, l4_len));
	h->gso_type = pkts[0].family == 4 ? VNET_GSO_TCPV4 : VNET_GSO_TCPV6;
	h->flags = VNET_F_NEEDS_CSUM;
	h->hdr_len = (uint16_t)first.hl;
	h->gso_size = (uint16_t)first.plen;
	h->csum_start = (uint16_t)first.iphl;
	h->csum_offset = WIRE_TCP_CSUM_OFF;
	return first.hl;
}

/* An unfragmented UDP datagram without IPv4 options or IPv6 extension
 * headers whose lengths agree with len; *iphl and *plen filled. */
static bool udp_of(const struct core_tx_pkt *p, size_t *iphl, size_t *plen)
{
	/* A datagram with no payload is left alone: plain_ip asks for one
	 * byte more than the UDP header. */
	if (!plain_ip(p, WIRE_PROTO_UDP, WIRE_UDP_HDR_LEN + 1, iphl) ||
	    wire_udp_len(p->data + *iphl) != p->len - *iphl)
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
		/* Ports alike; the UDP length and checksum are rebuilt. */
		if (!wire_ip_hdr_alike(a, b) ||
		    memcmp(a + iphl, b + iphl, 4) != 0)
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
	size_t iphl = 0, first = 0; /* set: vnet_uso_run checked pkts[0] */

	udp_of(&pkts[0], &iphl, &first);
	uint8_t *b = pkts[0].data;
	size_t hl = iphl + WIRE_UDP_HDR_LEN;
	size_t total = pkts[0].len;
	for (int i = 1; i < k; i++)
		total += pkts[i].len - hl;
	size_t l4_len = total - iphl;
	uint8_t *u = b + iphl;
	wire_udp_len_set(u, (uint16_t)l4_len);
	/* Partial, as for TCP (vnet_gso_merge): the kernel adjusts it for
	 * each datagram it cuts and completes it. */
	set_lengths(b, pkts[0].family, total, l4_len);
	wire_set_csum(u, WIRE_UDP_CSUM_OFF,
		      partial_csum(b, WIRE_PROTO_UDP, l4_len));
	h->flags = VNET_F_NEEDS_CSUM;
	h->gso_type = VNET_GSO_UDP_L4;
	h->hdr_len = (uint16_t)hl;
	h->gso_size = (uint16_t)first;
	h->csum_start = (uint16_t)iphl;
	h->csum_offset = WIRE_UDP_CSUM_OFF;
	return hl;
}
