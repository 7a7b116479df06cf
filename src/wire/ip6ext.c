/* SPDX-License-Identifier: MIT */
/* ip6ext.c - the IPv6 extension-header walk (see ip6ext.h).
 *
 * Header lengths: AH counts 32-bit words minus 2 (RFC 4302 2.2), the other
 * length-carrying headers 8-byte units minus 1 (RFC 8200 4.3-4.6); the
 * Fragment header is 8 bytes. Every header's first two bytes are checked
 * to be there before its length is read, and its whole length before the
 * walk moves past it, so nothing past l3 + end is read.
 */
#include "wire/ip6ext.h"

#include "wire/hdr.h"

void wire_ip6_walk_start(struct wire_ip6_walk *w, const uint8_t *l3)
{
	w->nh = wire_ip6_next_header(l3);
	w->count = 0;
	w->off = WIRE_IP6_HDR_LEN;
	w->nh_off = 6;
}

void wire_ip6_walk_skip_frag(const uint8_t *l3, struct wire_ip6_walk *w)
{
	w->nh_off = w->off;
	w->nh = wire_ip6_frag_next_header(l3 + w->off);
	w->off += WIRE_IP6_FRAG_HDR_LEN;
	w->count++;
}

/* Walks to the transport header or a real Fragment header; see ip6ext.h. */
enum wire_drop wire_ip6_walk(const uint8_t *l3, size_t end,
			     struct wire_ip6_walk *w)
{
	for (;;) {
		const uint8_t *h = l3 + w->off;
		size_t hlen;

		switch (w->nh) {
		case WIRE_IP6_NH_HOPOPTS:
		case WIRE_IP6_NH_ROUTING:
		case WIRE_IP6_NH_DSTOPTS:
		case WIRE_IP6_NH_AH:
			/* RFC 8200 4.3: Hop-by-Hop only right after the
			 * fixed header. */
			if (w->nh == WIRE_IP6_NH_HOPOPTS &&
			    w->off != WIRE_IP6_HDR_LEN)
				return WIRE_DROP_IP6_EXTHDR;
			if (w->count >= WIRE_IP6_MAX_EXT || end < w->off ||
			    end - w->off < 2)
				return WIRE_DROP_IP6_EXTHDR;
			hlen = w->nh == WIRE_IP6_NH_AH ? ((size_t)h[1] + 2) * 4
						       : ((size_t)h[1] + 1) * 8;
			if (hlen > end - w->off)
				return WIRE_DROP_IP6_EXTHDR;
			w->nh_off = w->off;
			w->nh = h[0];
			w->off += hlen;
			w->count++;
			continue;
		case WIRE_IP6_NH_FRAGMENT:
			if (w->count >= WIRE_IP6_MAX_EXT || end < w->off ||
			    end - w->off < WIRE_IP6_FRAG_HDR_LEN)
				return WIRE_DROP_IP6_EXTHDR;
			/* RFC 6946: an atomic fragment stands alone. */
			if (wire_ip6_frag_offset(h) == 0 &&
			    !wire_ip6_frag_more(h)) {
				wire_ip6_walk_skip_frag(l3, w);
				continue;
			}
			return WIRE_OK;
		default:
			return WIRE_OK;
		}
	}
}
