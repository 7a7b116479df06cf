/* SPDX-License-Identifier: MIT */
/* peek.c - the capture's view of a packet's headers (see peek.h).
 *
 * IPv4 (RFC 791 3.1) and IPv6 (RFC 8200 3, 4) through the accessors of
 * hdr.h and the chain walk of ip6ext.c, which wire_packet_parse() uses
 * too. An IPv6 first fragment (offset 0) holds the rest of the chain and
 * the transport header (RFC 8200 4.5), so the walk goes on past its
 * Fragment header; a later fragment ends it there.
 */
#include "wire/peek.h"

#include <string.h>

#include "wire/hdr.h"
#include "wire/ip6ext.h"

/* IPv4: the fixed header and the IHL. *l4 is set to the transport
 * header's offset, *first to whether this is no fragment or the first. */
static enum wire_drop peek_ip4(const uint8_t *buf, size_t len,
			       struct wire_peek *pk, size_t *l4, bool *first)
{
	if (len < WIRE_IP4_HDR_LEN)
		return WIRE_DROP_IP4_SHORT;
	size_t ihl = wire_ip4_hdr_len(buf);
	if (ihl < WIRE_IP4_HDR_LEN || ihl > len)
		return WIRE_DROP_IP4_IHL;
	pk->family = 4;
	pk->proto = wire_ip4_proto(buf);
	wire_addr_from4(&pk->src, wire_ip4_src(buf));
	wire_addr_from4(&pk->dst, wire_ip4_dst(buf));
	pk->is_fragment = wire_ip4_is_fragment(buf);
	*first = wire_ip4_frag_offset(buf) == 0;
	*l4 = ihl;
	return WIRE_OK;
}

/* IPv6: the fixed header and the extension chain within the captured
 * bytes; the same results as peek_ip4. */
static enum wire_drop peek_ip6(const uint8_t *buf, size_t len,
			       struct wire_peek *pk, size_t *l4, bool *first)
{
	if (len < WIRE_IP6_HDR_LEN)
		return WIRE_DROP_IP6_SHORT;
	pk->family = 6;
	wire_addr_from6(&pk->src, wire_ip6_src(buf));
	wire_addr_from6(&pk->dst, wire_ip6_dst(buf));

	struct wire_ip6_walk w;
	wire_ip6_walk_start(&w, buf);
	*first = true;
	for (;;) {
		enum wire_drop r = wire_ip6_walk(buf, len, &w);
		if (r != WIRE_OK)
			return r;
		if (w.nh != WIRE_IP6_NH_FRAGMENT)
			break;
		pk->is_fragment = true;
		if (wire_ip6_frag_offset(buf + w.off) != 0) {
			*first = false;
			pk->proto = wire_ip6_frag_next_header(buf + w.off);
			*l4 = w.off + WIRE_IP6_FRAG_HDR_LEN;
			return WIRE_OK;
		}
		wire_ip6_walk_skip_frag(buf, &w);
	}
	pk->proto = w.nh;
	*l4 = w.off;
	return WIRE_OK;
}

/* Reads what the captured bytes say; see peek.h. */
enum wire_drop wire_packet_peek(const uint8_t *buf, size_t len,
				struct wire_peek *pk)
{
	size_t l4 = 0;
	bool first = false;
	enum wire_drop r;

	memset(pk, 0, sizeof(*pk));
	if (len == 0)
		return WIRE_DROP_EMPTY;
	switch (wire_ip_version(buf)) {
	case 4:
		r = peek_ip4(buf, len, pk, &l4, &first);
		break;
	case 6:
		r = peek_ip6(buf, len, pk, &l4, &first);
		break;
	default:
		return WIRE_DROP_VERSION;
	}
	if (r != WIRE_OK)
		return r;
	if (first &&
	    (pk->proto == WIRE_PROTO_TCP || pk->proto == WIRE_PROTO_UDP) &&
	    len - l4 >= 4) {
		pk->has_ports = true;
		pk->sport = wire_l4_sport(buf + l4);
		pk->dport = wire_l4_dport(buf + l4);
	}
	return WIRE_OK;
}
