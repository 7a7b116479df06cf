/* SPDX-License-Identifier: MIT */
/* hdr.c - the header-field helpers of hdr.h that are more than one load:
 * checksums recomputed in place, the pseudo-header of a header already
 * written, and the per-flow comparison of headers that segmentation
 * offload relies on.
 */
#include "wire/hdr.h"

#include "wire/addr.h"
#include "wire/csum.h"
#include "wire/packet.h"

/* Recomputes the IPv4 header checksum in place; see hdr.h. */
void wire_ip4_fill_csum(uint8_t *l3)
{
	size_t ihl = wire_ip4_hdr_len(l3);

	wire_put16(l3 + WIRE_IP4_CSUM_OFF, 0);
	wire_set_csum(l3, WIRE_IP4_CSUM_OFF,
		      wire_csum_fold(wire_csum_add(0, l3, ihl)));
}

/* Recomputes an ICMPv4 checksum in place; see hdr.h. */
void wire_icmp4_fill_csum(uint8_t *m, size_t len)
{
	wire_put16(m + WIRE_ICMP_CSUM_OFF, 0);
	wire_set_csum(m, WIRE_ICMP_CSUM_OFF,
		      wire_csum_fold(wire_csum_add(0, m, len)));
}

/* The pseudo-header sum from the addresses of a fixed header; see hdr.h. */
uint32_t wire_ip_pseudo_sum(const uint8_t *l3, uint8_t proto, uint32_t l4_len)
{
	struct wire_addr src, dst;

	if (wire_ip_version(l3) == 4) {
		wire_addr_from4(&src, wire_ip4_src(l3));
		wire_addr_from4(&dst, wire_ip4_dst(l3));
		return wire_csum_pseudo(4, &src, &dst, proto, l4_len);
	}
	wire_addr_from6(&src, wire_ip6_src(l3));
	wire_addr_from6(&dst, wire_ip6_dst(l3));
	return wire_csum_pseudo(6, &src, &dst, proto, l4_len);
}

/* True if bytes [from, to) of a and b are equal. */
static bool same_range(const uint8_t *a, const uint8_t *b, size_t from,
		       size_t to)
{
	return memcmp(a + from, b + from, to - from) == 0;
}

/* IPv4: version/IHL and TOS [0,2), flags/offset, TTL and protocol [6,10),
 * addresses [12,20); IPv6: version, class and flow label [0,4), next
 * header, hop limit and addresses [6,40). */
bool wire_ip_hdr_alike(const uint8_t *a, const uint8_t *b)
{
	if (wire_ip_version(a) == 4)
		return same_range(a, b, 0, 2) && same_range(a, b, 6, 10) &&
		       same_range(a, b, 12, WIRE_IP4_HDR_LEN);
	return same_range(a, b, 0, 4) && same_range(a, b, 6, WIRE_IP6_HDR_LEN);
}

/* Ports [0,4), acknowledgment and data offset [8,13), window [14,16),
 * urgent pointer and options [18,hl). */
bool wire_tcp_hdr_alike(const uint8_t *a, const uint8_t *b, size_t hl)
{
	if (hl < WIRE_TCP_HDR_LEN)
		return false;
	return same_range(a, b, 0, 4) && same_range(a, b, 8, 13) &&
	       same_range(a, b, 14, WIRE_TCP_CSUM_OFF) &&
	       same_range(a, b, WIRE_TCP_CSUM_OFF + 2, hl);
}
