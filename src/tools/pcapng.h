/* SPDX-License-Identifier: MIT */
/* pcapng.h - a minimal pcapng writer for raw IP packets.
 *
 * One section, one interface of link type LINKTYPE_RAW (101: each packet
 * starts with its IPv4 or IPv6 header) with nanosecond timestamps, and an
 * Enhanced Packet Block per packet carrying its direction in epb_flags
 * (inbound or outbound, which Wireshark shows as
 * frame.packet_flags_direction) and, after a gap, epb_dropcount.
 *
 * Blocks are assembled in a buffer and written whole with write(2), so a
 * file ends on a block boundary whenever the writer has flushed: stopping
 * the capture at any point after a flush leaves a valid file. Format:
 * draft-ietf-opsawg-pcapng (sections 4.1 SHB, 4.2 IDB, 4.3 EPB, 4.6 ISB).
 */
#ifndef TP_TOOLS_PCAPNG_H
#define TP_TOOLS_PCAPNG_H

#include <stddef.h>
#include <stdint.h>

/* epb_flags direction values (bits 0-1). */
enum pcapng_dir {
	PCAPNG_DIR_UNKNOWN = 0,
	PCAPNG_DIR_INBOUND = 1,
	PCAPNG_DIR_OUTBOUND = 2,
};

struct pcapng;

/* A writer on fd (not closed by the writer) that has queued the section
 * and interface headers. app names the writing program (shb_userappl),
 * ifname/ifdesc the interface. NULL if out of memory. */
struct pcapng *pcapng_open(int fd, const char *app, const char *ifname,
			   const char *ifdesc);

/* Queues one packet: ts_ns is wall-clock nanoseconds since the epoch;
 * len bytes of pkt are stored, orig_len is the packet's length on the wire
 * (>= len); dropcount, if not 0, is the number of packets lost just
 * before this one. Flushes by itself when the buffer is full. Returns 0
 * or -errno from a failed write. */
int pcapng_packet(struct pcapng *w, uint64_t ts_ns, const uint8_t *pkt,
		  uint32_t len, uint32_t orig_len, enum pcapng_dir dir,
		  uint64_t dropcount);

/* Writes everything queued. Returns 0 or -errno (e.g. -EPIPE when the
 * reader went away). */
int pcapng_flush(struct pcapng *w);

/* Queues an Interface Statistics Block (packets received and dropped),
 * flushes, and frees the writer. Returns the flush result. */
int pcapng_close(struct pcapng *w, uint64_t ts_ns, uint64_t received,
		 uint64_t dropped);

#endif
