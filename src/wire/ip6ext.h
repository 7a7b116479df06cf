/* SPDX-License-Identifier: MIT */
/* ip6ext.h - the walk along an IPv6 extension-header chain (RFC 8200 4).
 *
 * The one walk both views of a packet use: wire_packet_parse() (the
 * engine's checker) and wire_packet_peek() (the capture's lenient view).
 * It goes from the fixed header's Next Header over Hop-by-Hop, Routing,
 * Destination Options and AH headers, and over atomic Fragment headers
 * (RFC 6946), up to the transport header or to a real Fragment header.
 */
#ifndef TP_WIRE_IP6EXT_H
#define TP_WIRE_IP6EXT_H

#include <stddef.h>
#include <stdint.h>

#include "wire/packet.h"

/* Next Header values (IANA "Assigned Internet Protocol Numbers"). */
enum {
	WIRE_IP6_NH_HOPOPTS = 0,
	WIRE_IP6_NH_ROUTING = 43,
	WIRE_IP6_NH_FRAGMENT = 44,
	WIRE_IP6_NH_AH = 51,
	WIRE_IP6_NH_NONE = 59,
	WIRE_IP6_NH_DSTOPTS = 60
};

/* Extension headers walked before giving up (RFC 8200 4.1 only bounds them
 * by the packet; a small limit keeps a hostile chain cheap). */
#define WIRE_IP6_MAX_EXT 8

/* Where a walk stands: nh names the header at off. */
struct wire_ip6_walk {
	uint8_t nh;    /* the Next Header value read last */
	uint8_t count; /* extension headers passed so far */
	size_t off;    /* where the header nh names starts */
	size_t nh_off; /* where nh was read (6: in the fixed header) */
};

/* Starts a walk at the Next Header of the fixed header at l3. */
void wire_ip6_walk_start(struct wire_ip6_walk *w, const uint8_t *l3);

/* Walks on within [l3, l3 + end) to the transport header, or to a Fragment
 * header that is not atomic (w->nh == WIRE_IP6_NH_FRAGMENT, its 8 bytes
 * within end). Returns WIRE_OK, or WIRE_DROP_IP6_EXTHDR if a header runs
 * past end, Hop-by-Hop is not first (RFC 8200 4.3), or the chain is longer
 * than WIRE_IP6_MAX_EXT. To go on past a Fragment header, call
 * wire_ip6_walk_skip() and then this again. */
enum wire_drop wire_ip6_walk(const uint8_t *l3, size_t end,
			     struct wire_ip6_walk *w);

/* Steps over the Fragment header w stands at (8 bytes, within end). */
void wire_ip6_walk_skip_frag(const uint8_t *l3, struct wire_ip6_walk *w);

#endif
