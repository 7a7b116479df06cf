/* SPDX-License-Identifier: MIT */
/* peek.h - what a packet's headers say, read from a capture.
 *
 * wire_packet_parse() is the engine's checker: it refuses whatever the
 * engine must not act on (a length that lies, a wrong checksum, a packet
 * cut short). A capture must still be able to say "this is TCP to port
 * 443 from 10.0.0.8" about exactly those packets, and about snapshots
 * that hold only the first bytes of a packet. wire_packet_peek() reads
 * the same headers with the same code (the IPv4 fields of wire/hdr.h, the
 * IPv6 chain walk of wire/ip6ext.h) but trusts only the bytes it is given:
 *   - no checksum is verified;
 *   - the IP length fields are neither checked nor used: the walk is
 *     bounded by the captured bytes alone (as a BPF filter is);
 *   - the ports are reported when the first 4 bytes of a TCP or UDP
 *     header were captured, also in the first fragment of a datagram
 *     (offset 0), where the transport header is.
 * What it still refuses: a packet without a whole fixed IP header, an
 * IPv4 IHL below 5 or past the captured bytes, and an IPv6 extension
 * chain that is cut short or malformed as wire_ip6_walk() says.
 */
#ifndef TP_WIRE_PEEK_H
#define TP_WIRE_PEEK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/addr.h"
#include "wire/packet.h"

struct wire_peek {
	uint8_t family;		   /* 4 or 6 */
	uint8_t proto;		   /* transport protocol (after IPv6
				      extension headers; in a later
				      fragment, the one it carries) */
	bool is_fragment;	   /* not IPv6 atomic fragments (RFC 6946) */
	bool has_ports;		   /* sport and dport are valid */
	uint16_t sport, dport;	   /* host order */
	struct wire_addr src, dst; /* as in addr.h */
};

/* Reads the headers of the len captured bytes at buf into *pk. Returns
 * WIRE_OK, or why the IP header cannot be read (WIRE_DROP_EMPTY,
 * _VERSION, _IP4_SHORT, _IP4_IHL, _IP6_SHORT, _IP6_EXTHDR); never reads
 * outside [buf, buf+len). */
enum wire_drop wire_packet_peek(const uint8_t *buf, size_t len,
				struct wire_peek *pk);

#endif
