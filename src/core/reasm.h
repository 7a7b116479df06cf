/* SPDX-License-Identifier: MIT */
/* reasm.h - IPv4 and IPv6 fragment reassembly in a bounded buffer.
 *
 * Apps send UDP datagrams larger than the TUN MTU; their kernel fragments
 * them and tunproxy must put them back together before the datagram can go
 * out on a host socket. A datagram under reassembly is keyed by
 * (family, src, dst, protocol, id) as RFC 791 says (without the protocol
 * for IPv6, RFC 8200 4.5). Memory is
 * bounded twice: at most max_datagrams in progress and at most max_bytes of
 * reassembly buffers in all (each sized to the datagram's highest offset
 * seen, so never less than the fragment data it holds); a fragment that
 * would pass either bound is dropped with its datagram and counted, as is
 * a datagram not completed within timeout_us (RFC 8200 says 60 s;
 * tunproxy's default is shorter because an app retries sooner).
 * Overlapping fragments drop the whole datagram (RFC 5722 for IPv6; done for
 * IPv4 too because overlaps are only ever an attack); exact duplicates
 * are ignored and counted (RFC 8200 4.5 allows it).
 */
#ifndef TP_CORE_REASM_H
#define TP_CORE_REASM_H

#include <stddef.h>
#include <stdint.h>

#include "core/mem.h"
#include "wire/packet.h"

struct reasm;

struct reasm_stats {
	uint64_t completed;    /* datagrams reassembled */
	uint64_t timed_out;    /* datagrams dropped at timeout */
	uint64_t dropped_full; /* fragments refused by a bound */
	uint64_t evicted;      /* older datagrams dropped to make room */
	uint64_t
	    dropped_bad; /* overlaps, too long (> 65535), conflicting ends */
	uint64_t duplicates; /* exact duplicate fragments ignored */
};

/* Creates a reassembler charged to mem. Returns NULL if mem refuses. */
struct reasm *reasm_create(struct core_mem *mem, size_t max_bytes,
			   unsigned max_datagrams, uint64_t timeout_us);
void reasm_destroy(struct reasm *r);

enum reasm_result {
	REASM_HELD,   /* kept; the datagram is not complete yet */
	REASM_DONE,   /* *out now holds the whole datagram */
	REASM_DROPPED /* refused; see the stats */
};

/* Adds one fragment (pkt->is_fragment set by wire_packet_parse). On
 * REASM_DONE, *out and *out_len describe a complete, unfragmented IP packet
 * (IPv4 header with offset/MF cleared and lengths and checksum fixed; IPv6
 * with the Fragment header removed) that the caller must parse again. That
 * buffer belongs to the reassembler and stays valid until the next call of
 * any reasm function. */
enum reasm_result reasm_add(struct reasm *r, const struct wire_packet *pkt,
			    uint64_t now_us, const uint8_t **out,
			    size_t *out_len);

/* Drops datagrams older than the timeout. */
void reasm_expire(struct reasm *r, uint64_t now_us);

/* The earliest time reasm_expire has work, or UINT64_MAX if none. */
uint64_t reasm_next_deadline(const struct reasm *r);

const struct reasm_stats *reasm_stats(const struct reasm *r);

#endif
