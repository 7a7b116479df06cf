/* SPDX-License-Identifier: MIT */
/* mirror.h - the stream the tee sends to its subscribers (e.g. capture).
 *
 * A subscriber opens a TCP connection to the tee's mirror port and only
 * reads. The tee first sends a 16-byte greeting, then one record per
 * packet it relayed, all integers in network byte order:
 *
 *   greeting  "TPMIRROR" (8)  version (2) = 1   record header size (2) = 24
 *             reserved (4)
 *   record    length (4): of the whole record, header included
 *             kind (1) = 1: packet
 *             direction (1): 1 inbound (proxy -> device), 2 outbound
 *                            (device -> proxy), the pcapng epb_flags values
 *             flags (2) = 0
 *             dropped (4): this subscriber's copies dropped just before
 *                          this record (it was too slow)
 *             orig_len (4): the packet's length as relayed
 *             timestamp (8): nanoseconds since the epoch, when relayed
 *             packet (length - 24 bytes)
 *
 * TCP gives the subscriber the packets in order and tells the tee at once
 * when a subscriber goes away; a slow subscriber's copies are dropped by
 * the tee (counted, and reported in the next record), never queued
 * without bound and never allowed to delay the relay.
 */
#ifndef TP_TOOLS_MIRROR_H
#define TP_TOOLS_MIRROR_H

#include <stddef.h>
#include <stdint.h>

#define MIRROR_MAGIC	     "TPMIRROR"
#define MIRROR_VERSION	     1
#define MIRROR_GREETING_SIZE 16
#define MIRROR_HDR_SIZE	     24
#define MIRROR_MAX_PACKET    65535
#define MIRROR_KIND_PACKET   1
#define MIRROR_DIR_INBOUND   1 /* proxy -> device: towards the app */
#define MIRROR_DIR_OUTBOUND  2 /* device -> proxy: from the app */

struct mirror_rec {
	uint8_t kind;
	uint8_t dir;
	uint32_t dropped;
	uint32_t orig_len;
	uint64_t ts_ns;
	const uint8_t *pkt; /* decode: points into the input */
	uint32_t len;
};

/* Writes the greeting (MIRROR_GREETING_SIZE bytes) into out. */
void mirror_greeting(uint8_t *out);

/* Checks a greeting; 0 if it is one we understand, -1 otherwise. */
int mirror_check_greeting(const uint8_t *in);

/* Writes a record's 24-byte header into out for a packet of r->len. */
void mirror_put_header(uint8_t *out, const struct mirror_rec *r);

/* Decodes one record at in[0..avail). Returns its total length (and fills
 * r, with r->pkt pointing into in), 0 if more bytes are needed, or -1 if
 * the stream is not well-formed. */
long mirror_decode(const uint8_t *in, size_t avail, struct mirror_rec *r);

#endif
