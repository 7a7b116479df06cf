/* SPDX-License-Identifier: MIT */
/* tcp_sack.c - the scoreboard: what was sent to the app, when, and its fate.
 *
 * Theory of operation
 *
 * When the app's SYN carried SACK-permitted (RFC 2018), tunproxy keeps one
 * record per segment it has sent and the app has not cumulatively
 * acknowledged (struct tcp_sb, tcp_int.h): where the segment ends, when it
 * was last sent (microseconds), and whether it is SACKed, taken as lost,
 * resent, or was ever sent twice. That is what RACK-TLP (RFC 8985,
 * tcp_rack.c) needs: loss is decided by time - a segment sent before one
 * that was delivered, and older than that one's RTT plus a reordering
 * window, is lost - which also finds lost retransmissions. The records are
 * in sequence order and cover [snd_una, snd_nxt) exactly; the FIN is a
 * record of its own. Byte counts of the SACKed, lost and resent records
 * give RFC 6675's pipe without a scan.
 *
 * Memory: the scoreboard is allocated (from the budget) when data is first
 * sent with nothing in flight, holds TCP_SB_INIT records, doubles when the
 * flight needs more up to TCP_SB_MAX, and is freed as soon as the app has
 * acknowledged everything: an idle connection holds none. Records leave at
 * the front as ACKs arrive and are compacted when the array's end is
 * reached. If the budget refuses the scoreboard, the connection carries on
 * without one (NewReno on duplicate ACKs, RFC 6582, and the RTO: slower
 * recovery, never wrong) and tries again with the next data sent; if it
 * refuses growth, no more new data goes out until ACKs free records.
 *
 * Each ACK's SACK blocks mark the records they cover (a record partly
 * covered is split at the block's edge when there is room; the app SACKs
 * whole segments, so that is rare). A first block below the cumulative ACK,
 * or inside the second block, is a D-SACK (RFC 2883): the app got something
 * twice. D-SACKs feed RACK's reordering window and the undo of a spurious
 * window reduction (tcp_rack.c, tcp_cc.c); they mark nothing.
 *
 * After an RTO every record not SACKed is taken as lost; after a second RTO
 * in a row the SACKs are forgotten too (RFC 2018 8: the app may have
 * reneged) and everything is sent again.
 */
#include <string.h>

#include "core/tcp_int.h"

static size_t sb_size(uint32_t cap)
{
	return sizeof(struct tcp_sb) + (size_t)cap * sizeof(struct tcp_seg);
}

/* Adds (sign 1) or removes (-1) len of a record with flags fl from the
 * counts. */
static void acct(struct tcp_sb *b, uint8_t fl, uint32_t len, int sign)
{
	uint32_t d = sign > 0 ? len : (uint32_t)-len;

	if (fl & TCP_SEG_SACKED)
		b->sacked += d;
	if (fl & TCP_SEG_LOST)
		b->lost += d;
	if (fl & TCP_SEG_RTX)
		b->rtx += d;
}

void tcp_sb_free(struct core_engine *e, struct tcp_conn *t)
{
	if (!t->sb)
		return;
	core_mem_free(&e->mem, t->sb, sb_size(t->sb->cap));
	t->sb = NULL;
}

/* A scoreboard of cap records holding the old one's (or a new, empty one).
 * Returns NULL, leaving the old one, if the budget refuses. */
static struct tcp_sb *sb_resize(struct core_engine *e, struct tcp_conn *t,
				uint32_t cap)
{
	struct tcp_sb *o = t->sb;
	struct tcp_sb *b = core_mem_alloc(&e->mem, sb_size(cap));

	if (!b)
		return NULL;
	if (o) {
		*b = *o;
		memcpy(b->seg, &o->seg[o->head], o->n * sizeof(o->seg[0]));
		core_mem_free(&e->mem, o, sb_size(o->cap));
	} else {
		b->fack = t->snd_una;
	}
	b->head = 0;
	b->cap = cap;
	t->sb = b;
	return b;
}

/* Makes room for want more records at the end. Returns the room there. */
static uint32_t sb_make_room(struct core_engine *e, struct tcp_conn *t,
			     uint32_t want)
{
	struct tcp_sb *b = t->sb;

	if (b->head + b->n + want > b->cap && b->head) {
		memmove(b->seg, &b->seg[b->head], b->n * sizeof(b->seg[0]));
		b->head = 0;
	}
	if (b->n + want > b->cap && b->cap < TCP_SB_MAX) {
		uint32_t cap = b->cap;
		while (cap < b->n + want && cap < TCP_SB_MAX)
			cap *= 2;
		if (sb_resize(e, t, cap))
			b = t->sb;
	}
	return b->cap - b->head - b->n;
}

/* Appends a record ending at end, sent at xmit. The room must be there. */
static void sb_push(struct tcp_sb *b, uint32_t end, uint32_t xmit)
{
	struct tcp_seg *r = &b->seg[b->head + b->n++];

	r->end = end;
	r->xmit = xmit;
	r->fl = 0;
}

/* No scoreboard while data is in flight (the budget refused one): records
 * for the flight as it is, maxseg bytes each, as if sent now - later than
 * they were, so RACK only errs on the side of waiting. */
static bool sb_start_midflight(struct core_engine *e, struct tcp_conn *t,
			       uint32_t want, uint32_t maxseg)
{
	uint32_t dend = t->fin_sent ? t->snd_nxt - 1 : t->snd_nxt;
	uint32_t data = dend - t->snd_una;
	uint32_t have = (data + maxseg - 1) / maxseg + t->fin_sent;
	uint32_t cap = TCP_SB_INIT;

	/* In recovery without a scoreboard, NewReno finishes the job. */
	if (t->in_recovery || SEQ_LT(t->snd_una, t->recover) || t->backoff)
		return false;
	while (cap < have + want && cap < TCP_SB_MAX)
		cap *= 2;
	if (have + 1 > cap || !sb_resize(e, t, cap))
		return false;
	uint32_t now = (uint32_t)e->now;
	for (uint32_t s = t->snd_una; s != dend;) {
		uint32_t l = dend - s < maxseg ? dend - s : maxseg;
		s += l;
		sb_push(t->sb, s, now);
	}
	if (t->fin_sent)
		sb_push(t->sb, t->snd_nxt, now);
	return true;
}

/**
 * tcp_sb_room() - how many new segments may be sent, as far as records go
 * @e:		engine
 * @t:		connection
 * @want:	segments the caller would like to send
 * @maxseg:	the largest payload a segment can have (tcp_max_payload)
 *
 * Creates or grows the scoreboard as needed (see the top of the file).
 * Return: want without a scoreboard; else at most the records left.
 */
uint32_t tcp_sb_room(struct core_engine *e, struct tcp_conn *t, uint32_t want,
		     uint32_t maxseg)
{
	if (!t->sack_ok)
		return want;
	if (!t->sb) {
		if (t->snd_una == t->snd_nxt) {
			uint32_t cap = TCP_SB_INIT;
			while (cap < want && cap < TCP_SB_MAX)
				cap *= 2;
			if (!sb_resize(e, t, cap))
				return want; /* without: see the top */
		} else if (!sb_start_midflight(e, t, want, maxseg)) {
			return want;
		}
	}
	uint32_t room = sb_make_room(e, t, want);
	return want < room ? want : room;
}

/**
 * tcp_sb_sent() - record the segment just sent, ending at snd_nxt
 * @e:	engine (the clock)
 * @t:	connection, snd_nxt already advanced past the segment
 *
 * Room must have been made with tcp_sb_room(); if it was not, the
 * scoreboard is dropped and the connection goes on without one.
 */
void tcp_sb_sent(struct core_engine *e, struct tcp_conn *t)
{
	struct tcp_sb *b = t->sb;

	if (!b)
		return;
	if (b->head + b->n >= b->cap) {
		tcp_sb_free(e, t);
		return;
	}
	sb_push(b, t->snd_nxt, (uint32_t)e->now);
	t->pto_restart = 1;
}

/**
 * tcp_sb_ack() - the app acknowledged up to ack (beyond snd_una)
 * @e:		engine
 * @t:		connection, snd_una not yet moved
 * @ack:	the new cumulative ACK
 *
 * Records wholly acknowledged are delivered (RACK) and dropped, one partly
 * acknowledged is trimmed; the scoreboard is freed with the last one.
 */
void tcp_sb_ack(struct core_engine *e, struct tcp_conn *t, uint32_t ack)
{
	struct tcp_sb *b = t->sb;
	uint32_t start = t->snd_una, k = 0;

	if (!b)
		return;
	t->pto_restart = 1;
	while (k < b->n) {
		struct tcp_seg *r = tcp_sb_at(b, k);
		if (SEQ_GT(r->end, ack)) {
			if (SEQ_GT(ack, start))
				acct(b, r->fl, ack - start, -1);
			break;
		}
		if (!(r->fl & TCP_SEG_SACKED))
			tcp_rack_delivered(e, t, r);
		else
			b->nsacked--;
		acct(b, r->fl, r->end - start, -1);
		start = r->end;
		k++;
	}
	b->head += k;
	b->n -= k;
	b->hint = b->hint > k ? b->hint - k : 0;
	if (!b->n)
		tcp_sb_free(e, t);
}

/* Splits record i at sequence at (inside it). Returns false if there is
 * no room. */
static bool sb_split(struct core_engine *e, struct tcp_conn *t, uint32_t i,
		     uint32_t at)
{
	if (!sb_make_room(e, t, 1))
		return false;
	struct tcp_sb *b = t->sb;
	struct tcp_seg *r = tcp_sb_at(b, i);
	memmove(r + 1, r, (b->n - i) * sizeof(*r));
	r->end = at;
	b->n++;
	if (r->fl & TCP_SEG_SACKED)
		b->nsacked++;
	if (b->hint > i)
		b->hint++;
	return true;
}

/* Marks record i SACKed: delivered. */
static void sb_sacked(const struct core_engine *e, struct tcp_conn *t,
		      uint32_t i)
{
	struct tcp_sb *b = t->sb;
	struct tcp_seg *r = tcp_sb_at(b, i);
	uint32_t len = r->end - tcp_sb_start(t, i);

	acct(b, r->fl, len, -1);
	r->fl = (uint8_t)((r->fl & TCP_SEG_EVER) | TCP_SEG_SACKED);
	acct(b, r->fl, len, 1);
	b->nsacked++;
	tcp_rack_delivered(e, t, r);
}

/* Marks the records in [s, end) SACKed; returns true if any was new. */
static bool sb_sack_range(struct core_engine *e, struct tcp_conn *t, uint32_t s,
			  uint32_t end)
{
	bool any = false;
	uint32_t lo = 0, hi = t->sb->n;

	/* The first record ending after s. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (SEQ_LEQ(tcp_sb_at(t->sb, mid)->end, s))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (uint32_t i = lo; i < t->sb->n; i++) {
		uint32_t rs = tcp_sb_start(t, i);
		struct tcp_seg *r = tcp_sb_at(t->sb, i);
		if (!SEQ_LT(rs, end))
			break;
		if (r->fl & TCP_SEG_SACKED)
			continue;
		if (SEQ_LT(rs, s)) {
			/* The block starts inside: the part above s is
			 * the next record, looked at next. */
			sb_split(e, t, i, s);
			continue;
		}
		if (SEQ_GT(r->end, end) && !sb_split(e, t, i, end))
			break;
		sb_sacked(e, t, i);
		any = true;
	}
	return any;
}

/**
 * tcp_sack_update() - what an ACK from the app says beyond its ACK number
 * @e:		engine
 * @t:		connection, the ACK's cumulative part already taken
 * @o:		the ACK's parsed options
 * @una0:	snd_una before this ACK
 *
 * Marks SACKed records, passes a D-SACK on, then lets RACK-TLP look at
 * the result (tcp_rack_on_ack).
 */
void tcp_sack_update(struct core_engine *e, struct tcp_conn *t,
		     const struct wire_tcp_opts *o, uint32_t una0)
{
	uint32_t bs[WIRE_TCP_MAX_SACK], be[WIRE_TCP_MAX_SACK];
	int n = 0;
	bool sacked = false, dsack_tlp = false;

	if (!t->sack_ok) {
		tcp_rack_on_ack(e, t, una0, false, false);
		return;
	}
	for (int i = 0; i < o->sack_count && i < WIRE_TCP_MAX_SACK; i++) {
		uint32_t s = o->sack[i].start, end = o->sack[i].end;
		if (!SEQ_LT(s, end))
			continue;
		if (i == 0 &&
		    (SEQ_LEQ(end, t->snd_una) ||
		     (o->sack_count > 1 && SEQ_GEQ(s, o->sack[1].start) &&
		      SEQ_LEQ(end, o->sack[1].end)))) {
			/* RFC 2883 4: a D-SACK. */
			if (t->tlp_on && t->tlp_retrans &&
			    SEQ_LT(s, t->tlp_end) &&
			    SEQ_GEQ(end, t->tlp_end - 1))
				dsack_tlp = true;
			tcp_rack_dsack(e, t, s, end);
			continue;
		}
		if (SEQ_LEQ(end, t->snd_una) || SEQ_GT(end, t->snd_nxt))
			continue; /* bogus */
		if (SEQ_LT(s, t->snd_una))
			s = t->snd_una;
		/* Sorted by start, so RACK sees deliveries in order. */
		int k = n++;
		while (k > 0 && SEQ_LT(s, bs[k - 1])) {
			bs[k] = bs[k - 1];
			be[k] = be[k - 1];
			k--;
		}
		bs[k] = s;
		be[k] = end;
	}
	for (int i = 0; i < n && t->sb; i++)
		sacked |= sb_sack_range(e, t, bs[i], be[i]);
	tcp_rack_on_ack(e, t, una0, sacked, dsack_tlp);
}

/**
 * tcp_sb_mark_lost() - take record i as lost (RACK, RTO)
 * @t:	connection
 * @i:	record, not SACKed
 *
 * A record whose retransmission was in flight loses that too: it will be
 * sent once more.
 */
void tcp_sb_mark_lost(struct tcp_conn *t, uint32_t i)
{
	struct tcp_sb *b = t->sb;
	struct tcp_seg *r = tcp_sb_at(b, i);
	uint32_t len = r->end - tcp_sb_start(t, i);

	acct(b, r->fl, len, -1);
	r->fl = (uint8_t)((r->fl & ~TCP_SEG_RTX) | TCP_SEG_LOST);
	acct(b, r->fl, len, 1);
	if (b->hint > i)
		b->hint = i;
}

/**
 * tcp_sb_resent() - record i was just sent again
 * @e:	engine (the clock)
 * @t:	connection
 * @i:	record
 *
 * A lost record's copy is now in flight; a loss probe (not lost) only
 * gets the new time.
 */
void tcp_sb_resent(const struct core_engine *e, struct tcp_conn *t, uint32_t i)
{
	struct tcp_sb *b = t->sb;
	struct tcp_seg *r = tcp_sb_at(b, i);
	uint32_t now = (uint32_t)e->now;

	/* A resend answers an ACK, so it left after RACK's segment even if
	 * the clock has not moved since (RACK orders ties by sequence). */
	if (b->rack_ok && (int32_t)(now - b->rack_xmit) <= 0)
		now = b->rack_xmit + 1;
	r->xmit = now;
	r->fl |= TCP_SEG_EVER;
	t->pto_restart = 1; /* the ACK clock runs */
	if ((r->fl & (TCP_SEG_LOST | TCP_SEG_RTX)) == TCP_SEG_LOST) {
		r->fl |= TCP_SEG_RTX;
		b->rtx += r->end - tcp_sb_start(t, i);
	}
}

/**
 * tcp_sb_next_lost() - the first record to send again
 * @t:	connection with a scoreboard
 * @i:	the record found
 *
 * Return: false if none is lost and not yet resent.
 */
bool tcp_sb_next_lost(struct tcp_conn *t, uint32_t *i)
{
	struct tcp_sb *b = t->sb;

	for (uint32_t k = b->hint; k < b->n; k++) {
		uint8_t fl = tcp_sb_at(b, k)->fl;
		if ((fl & (TCP_SEG_SACKED | TCP_SEG_LOST | TCP_SEG_RTX)) ==
		    TCP_SEG_LOST) {
			*i = k;
			return true;
		}
		b->hint = k + 1;
	}
	return false;
}

/**
 * tcp_sb_rto() - the retransmission timer expired
 * @t:			connection with a scoreboard
 * @forget_sacks:	also forget what was SACKed (repeated timeouts)
 *
 * Everything not SACKed is lost and will be sent again in order.
 */
void tcp_sb_rto(struct tcp_conn *t, bool forget_sacks)
{
	struct tcp_sb *b = t->sb;
	uint32_t start = t->snd_una;

	b->sacked = b->lost = b->rtx = 0;
	b->nsacked = 0;
	b->hint = 0;
	for (uint32_t i = 0; i < b->n; i++) {
		struct tcp_seg *r = tcp_sb_at(b, i);
		if (forget_sacks)
			r->fl &= (uint8_t)~TCP_SEG_SACKED;
		if (r->fl & TCP_SEG_SACKED) {
			b->nsacked++;
		} else {
			r->fl =
			    (uint8_t)((r->fl & TCP_SEG_EVER) | TCP_SEG_LOST);
		}
		acct(b, r->fl, r->end - start, 1);
		start = r->end;
	}
}

/**
 * tcp_sb_unmark() - nothing is taken as lost any more (undo)
 * @t:	connection with a scoreboard
 */
void tcp_sb_unmark(struct tcp_conn *t)
{
	struct tcp_sb *b = t->sb;

	for (uint32_t i = 0; i < b->n; i++)
		tcp_sb_at(b, i)->fl &= (uint8_t) ~(TCP_SEG_LOST | TCP_SEG_RTX);
	b->lost = b->rtx = 0;
	b->hint = b->n;
}
