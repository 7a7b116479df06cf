/* SPDX-License-Identifier: MIT */
/* capture_stream.h - the reading side of the tee's mirror stream
 * (mirror.h), as `tunproxy capture` runs it: the greeting is checked, then
 * each record is decoded, filtered (capture_filter.h) and written to a
 * pcapng file (pcapng.h) with its direction and the drops reported before
 * it.
 *
 * The bytes come from a TCP connection to the tee, which may be anyone
 * listening on that port: nothing in them is trusted. No I/O here but the
 * pcapng writer's, so the fuzz target (fuzz/harness_capture.c) drives it
 * with any bytes, cut anywhere.
 */
#ifndef TP_TOOLS_CAPTURE_STREAM_H
#define TP_TOOLS_CAPTURE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture_filter.h"
#include "pcapng.h"

/* Room for several maximal records (24 + 65535 bytes each), so a full
 * buffer always holds a whole record: reading never stalls. */
#define CAPTURE_STREAM_BUF (256 * 1024)

enum cap_status { CAP_GO_ON, CAP_STOP, CAP_FAIL };

struct capture_stream {
	/* Set by the caller. */
	const struct capture_filter *filter;
	struct pcapng *w;
	uint64_t max_packets; /* stop after this many; 0: no limit */

	/* Totals over every connection. */
	uint64_t written, tee_dropped, filtered;
	uint64_t pending_drops; /* to report on the next written packet */

	/* This connection. */
	bool greeted;
	size_t have;
	uint8_t buf[CAPTURE_STREAM_BUF];
};

/* A new connection: the next bytes start with a greeting. */
void capture_stream_restart(struct capture_stream *s);

/* Where the next bytes go, and how many fit (always > 0). */
uint8_t *capture_stream_space(struct capture_stream *s, size_t *room);

/* n bytes were put at capture_stream_space(): decodes and writes every
 * whole record, then flushes the writer. CAP_FAIL: not a mirror stream
 * (logged) or the file could not be written; CAP_STOP: max_packets
 * written. */
enum cap_status capture_stream_got(struct capture_stream *s, size_t n);

#endif
