/* SPDX-License-Identifier: MIT */
/* capture_stream.c - mirror records to pcapng blocks (capture_stream.h). */
#include "capture_stream.h"

#include <string.h>

#include "mirror.h"
#include "tool_util.h"
#include "tunproxy.h"

void capture_stream_restart(struct capture_stream *s)
{
	s->greeted = false;
	s->have = 0;
}

uint8_t *capture_stream_space(struct capture_stream *s, size_t *room)
{
	*room = sizeof(s->buf) - s->have;
	return s->buf + s->have;
}

static enum cap_status write_record(struct capture_stream *s,
				    const struct mirror_rec *r)
{
	s->tee_dropped += r->dropped;
	s->pending_drops += r->dropped;
	if (r->kind != MIRROR_KIND_PACKET)
		return CAP_GO_ON;
	if (!capture_filter_match(s->filter, r->pkt, r->len)) {
		s->filtered++;
		return CAP_GO_ON;
	}
	enum pcapng_dir dir = r->dir == MIRROR_DIR_INBOUND ? PCAPNG_DIR_INBOUND
			      : r->dir == MIRROR_DIR_OUTBOUND
				  ? PCAPNG_DIR_OUTBOUND
				  : PCAPNG_DIR_UNKNOWN;
	int rc = pcapng_packet(s->w, r->ts_ns, r->pkt, r->len, r->orig_len, dir,
			       s->pending_drops);
	if (rc < 0)
		return CAP_FAIL;
	s->pending_drops = 0;
	s->written++;
	if (s->max_packets && s->written >= s->max_packets)
		return CAP_STOP;
	return CAP_GO_ON;
}

enum cap_status capture_stream_got(struct capture_stream *s, size_t n)
{
	s->have += n;
	size_t off = 0;
	if (!s->greeted) {
		if (s->have < MIRROR_GREETING_SIZE)
			return CAP_GO_ON;
		if (mirror_check_greeting(s->buf) < 0) {
			tool_log(TP_LOG_ERROR,
				 "not a tunproxy tee mirror stream "
				 "(or another version)");
			return CAP_FAIL;
		}
		s->greeted = true;
		off = MIRROR_GREETING_SIZE;
		tool_log(TP_LOG_INFO, "capturing");
	}
	enum cap_status st = CAP_GO_ON;
	struct mirror_rec rec;
	long k = 0;
	while (st == CAP_GO_ON &&
	       (k = mirror_decode(s->buf + off, s->have - off, &rec)) > 0) {
		st = write_record(s, &rec);
		off += (size_t)k;
	}
	if (k < 0) {
		tool_log(TP_LOG_ERROR, "malformed mirror stream");
		return CAP_FAIL;
	}
	memmove(s->buf, s->buf + off, s->have - off);
	s->have -= off;
	if (pcapng_flush(s->w) < 0)
		return CAP_FAIL;
	return st;
}
