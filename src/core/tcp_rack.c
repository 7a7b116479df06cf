/* SPDX-License-Identifier: MIT */
/* tcp_rack.c - loss detection toward the app: RACK-TLP (RFC 8985).
 *
 * Theory of operation
 *
 * With SACK, loss is decided by time rather than by counting duplicate
 * ACKs. The scoreboard (tcp_sack.c) knows when each segment in flight was
 * last sent. RACK remembers, of the segments the app has delivered (SACKed
 * or cumulatively acknowledged), the one sent last, and its RTT. A segment
 * sent before it and still not delivered is lost once it is older than
 * that RTT plus a reordering window (reo_wnd); until then RACK's timer
 * waits for it. Because a retransmission gets a new send time, a lost
 * retransmission is found the same way as soon as something sent after it
 * arrives, instead of by the RTO.
 *
 * The reordering window (RFC 8985 6.2): zero until the app's path has shown
 * reordering, when in recovery or with DupThresh (3) segments SACKed - so
 * losses are repaired as fast as with duplicate ACKs - otherwise a quarter
 * of the minimum RTT. Once reordering is seen (a segment never sent twice
 * is delivered below one delivered before it, or the app D-SACKs a
 * retransmission) the window is min_rtt/4 always, and each round trip with
 * a D-SACK widens it by one more quarter (up to 16 quarters, never more
 * than SRTT); after 16 recoveries without one it is back to one quarter.
 *
 * Tail loss probe (RFC 8985 7): when the last segments of a flight are
 * lost, nothing is delivered after them, so RACK cannot see the loss and
 * only the RTO (200 ms at least) would. Instead a probe timeout (PTO) of
 * 2 SRTT + 2 ms (+ 200 ms of the app's delayed ACK when one segment is in
 * flight; never later than the RTO) is restarted whenever data is sent or
 * newly acknowledged. When it fires, one segment goes out beyond cwnd: new
 * data if the window and the host socket allow, otherwise the last segment
 * not SACKed again; its ACK (and SACK) lets RACK find what was lost, and
 * fast recovery repairs it. One probe per episode; after it the RTO is
 * re-armed and stays the backstop (RFC 6298 is unchanged). If the probe
 * was a retransmission and the app's ACK moves beyond it without a D-SACK,
 * a loss was repaired and the window is reduced as for fast recovery.
 * Departing from RFC 8985, probes are also sent in fast recovery (never in
 * an RTO recovery), and there always the last segment again: RACK needs
 * ACKs, and a Linux app, after three duplicate ACKs, compresses its SACKs
 * into one per millisecond or so; when that one is lost, the recovery
 * would otherwise wait for the RTO. The duplicate makes the app answer at
 * once.
 *
 * Timers: the flow's one heap entry (tcp_timer.c) also holds lr_at, which
 * is RACK's reordering timer or the PTO (lr_pto), whichever is pending; the
 * reordering timer wins.
 *
 * Entering recovery (the first loss RACK marks outside a recovery) reduces
 * the window once (tcp_cc_on_loss); lost segments are then resent as the
 * pipe allows (tcp_output.c). Undo (tcp_cc.c): each resend in a reduction
 * episode is counted, each D-SACK for data of that episode uncounted; when
 * all were D-SACKed, every loss was spurious and the reduction is undone.
 *
 * Without SACK there is no scoreboard: losses are found by three duplicate
 * ACKs (NewReno, tcp.c) and the RTO.
 */
#include "core/tcp_int.h"

/* a was sent after b (RFC 8985 6.2 RACK_sent_after): times, then sequence
 * numbers for segments sent in the same microsecond. */
static bool sent_after(uint32_t a_xmit, uint32_t a_end, uint32_t b_xmit,
		       uint32_t b_end)
{
	int32_t d = (int32_t)(a_xmit - b_xmit);

	return d > 0 || (d == 0 && SEQ_GT(a_end, b_end));
}

static bool in_recovery(const struct tcp_conn *t)
{
	return t->in_recovery || SEQ_LT(t->snd_una, t->recover);
}

/**
 * tcp_rack_delivered() - a segment was SACKed or cumulatively acknowledged
 * @e:	engine (the clock)
 * @t:	connection with a scoreboard
 * @s:	its record
 *
 * RFC 8985 6.2 steps 1-3, called in sequence order within an ACK.
 */
void tcp_rack_delivered(const struct core_engine *e, struct tcp_conn *t,
			const struct tcp_seg *s)
{
	struct tcp_sb *b = t->sb;
	int32_t d = (int32_t)((uint32_t)e->now - s->xmit);
	uint32_t rtt = d > 0 ? (uint32_t)d : 0;

	/* Step 3: delivered below something delivered earlier, and sent
	 * only once: the path reordered it. */
	if (SEQ_GT(s->end, b->fack))
		b->fack = s->end;
	else if (SEQ_LT(s->end, b->fack) && !(s->fl & TCP_SEG_EVER))
		t->reord_seen = 1;

	/* Step 2: an RTT shorter than any seen, for a segment sent twice,
	 * is the ACK of the first copy: it says nothing about the second. */
	if (s->fl & TCP_SEG_EVER) {
		if (t->min_rtt && rtt < t->min_rtt)
			return;
	} else if (!t->min_rtt || rtt < t->min_rtt) {
		t->min_rtt = rtt ? rtt : 1;
	}
	if (!b->rack_ok ||
	    sent_after(s->xmit, s->end, b->rack_xmit, b->rack_end)) {
		b->rack_xmit = s->xmit;
		b->rack_end = s->end;
		b->rack_rtt = rtt;
		b->rack_ok = 1;
	}
}

/**
 * tcp_rack_dsack() - the app reported data it received twice
 * @e:		engine
 * @t:		connection
 * @s:		the D-SACK block
 * @end:	its end
 *
 * RFC 8985 6.2 step 4: one widening of the reordering window per round
 * trip with D-SACKs. And the undo count of the current reduction.
 */
void tcp_rack_dsack(struct core_engine *e, struct tcp_conn *t, uint32_t s,
		    uint32_t end)
{
	struct tcp_sb *b = t->sb;

	/* The copy of a loss probe: it says nothing about reordering, and
	 * its episode is not the reduction's (tlp_on_ack() sees to it). */
	if (t->tlp_on && t->tlp_retrans && SEQ_LT(s, t->tlp_end) &&
	    SEQ_GEQ(end, t->tlp_end - 1))
		return;
	if (b && b->dsack_on && SEQ_GEQ(t->snd_una, b->dsack_round))
		b->dsack_on = 0;
	if (!b || !b->dsack_on) {
		if (b) {
			b->dsack_on = 1;
			b->dsack_round = t->snd_nxt;
		}
		if (t->reo_extra < TCP_REO_EXTRA_MAX)
			t->reo_extra++;
		t->reo_persist = TCP_REO_PERSIST;
	}
	/* A retransmission was not needed: reordering (or a delay spike). */
	t->reord_seen = 1;

	if (!t->undo_on || !t->undo_rtx || SEQ_LT(s, t->undo_marker))
		return;
	uint32_t mss = tcp_eff_mss(t);
	uint32_t segs = (end - s + mss / 2) / mss;
	if (!segs)
		segs = 1;
	t->undo_rtx = (uint16_t)(t->undo_rtx > segs ? t->undo_rtx - segs : 0);
	/* Every resend D-SACKed: nothing was lost. */
	if (!t->undo_rtx)
		tcp_cc_undo(e, t);
}

/* RFC 8985 6.2 step 4: the reordering window, in microseconds. */
static uint32_t reo_wnd(const struct tcp_conn *t)
{
	if (!t->reord_seen &&
	    (in_recovery(t) || t->sb->nsacked >= TCP_DUPTHRESH))
		return 0;
	uint64_t w = (uint64_t)(1u + t->reo_extra) * t->min_rtt / 4;
	if (t->srtt && w > t->srtt)
		w = t->srtt;
	return (uint32_t)w;
}

/* The first loss outside a recovery starts one (RFC 6675 / 8985 9.2).
 * Its reduction also answers for a loss an outstanding probe may have
 * repaired: that episode ends, and the PTO starts afresh. */
static void enter_recovery(struct core_engine *e, struct tcp_conn *t)
{
	CTR_INC(e, tcp_fast_retransmits);
	tcp_cc_on_loss(e, t);
	t->in_recovery = 1;
	t->recover = t->snd_nxt;
	t->tlp_on = 0;
	if (t->lr_pto)
		t->lr_at = 0;
}

/**
 * tcp_rack_detect() - mark what RACK finds lost (RFC 8985 6.2 step 5)
 * @e:	engine
 * @t:	connection
 *
 * Arms RACK's reordering timer for the first segment that is not lost yet
 * but will be, and enters recovery on a loss.
 */
void tcp_rack_detect(struct core_engine *e, struct tcp_conn *t)
{
	struct tcp_sb *b = t->sb;
	uint32_t now = (uint32_t)e->now;
	int32_t wait = 0;
	bool lost = false;

	if (!b || !b->rack_ok)
		return;
	uint32_t reo = reo_wnd(t);
	for (uint32_t i = 0; i < b->n; i++) {
		const struct tcp_seg *r = tcp_sb_at(b, i);
		bool orig = !(r->fl & TCP_SEG_EVER);
		if (r->fl & TCP_SEG_SACKED ||
		    (r->fl & (TCP_SEG_LOST | TCP_SEG_RTX)) == TCP_SEG_LOST)
			continue;
		/* First transmissions are in sequence and time order: once
		 * one was sent after RACK's segment, or is not old enough,
		 * so is every later one, and every later resend. */
		if (!sent_after(b->rack_xmit, b->rack_end, r->xmit, r->end)) {
			if (orig)
				break;
			continue;
		}
		int32_t left = (int32_t)(r->xmit + b->rack_rtt + reo - now);
		if (left <= 0) {
			tcp_sb_mark_lost(t, i);
			lost = true;
			continue;
		}
		if (!wait || left < wait)
			wait = left;
		if (orig)
			break;
	}
	if (wait) {
		t->lr_at = e->now + (uint32_t)wait;
		t->lr_pto = 0;
	} else if (t->lr_at && !t->lr_pto) {
		t->lr_at = 0;
	}
	if (lost && !in_recovery(t))
		enter_recovery(e, t);
}

/* RFC 8985 7.4: what the ACK says about an outstanding loss probe. */
static void tlp_on_ack(struct core_engine *e, struct tcp_conn *t, uint32_t una0,
		       bool sacked, bool dsack_tlp)
{
	if (!t->tlp_on || SEQ_LT(t->snd_una, t->tlp_end))
		return;
	if (!t->tlp_retrans || dsack_tlp) {
		t->tlp_on = 0; /* new data, or both copies arrived */
	} else if (SEQ_GT(t->snd_una, t->tlp_end)) {
		/* Beyond the probe and no D-SACK for it: the probe repaired
		 * a loss, which deserves the reduction fast recovery would
		 * have made. */
		t->tlp_on = 0;
		if (!in_recovery(t))
			tcp_cc_on_loss(e, t);
	} else if (t->snd_una == una0 && !sacked) {
		t->tlp_on = 0; /* a plain duplicate: both arrived */
	}
}

/**
 * tcp_rack_on_ack() - loss detection after an ACK was taken in
 * @e:		engine
 * @t:		connection
 * @una0:	snd_una before the ACK
 * @sacked:	the ACK SACKed something new
 * @dsack_tlp:	it D-SACKed the loss probe
 */
void tcp_rack_on_ack(struct core_engine *e, struct tcp_conn *t, uint32_t una0,
		     bool sacked, bool dsack_tlp)
{
	tlp_on_ack(e, t, una0, sacked, dsack_tlp);
	if (t->sb && t->sb->dsack_on && SEQ_GEQ(t->snd_una, t->sb->dsack_round))
		t->sb->dsack_on = 0;
	tcp_rack_detect(e, t);
}

/* RFC 8985 7.2: may a probe be scheduled? Not after an RTO (the RTO
 * recovery, in_recovery clear, runs its course), nor twice per episode.
 * Unlike RFC 8985 also in fast recovery: there RACK needs ACKs to see
 * losses, and a Linux app sends few of them - after three duplicate ACKs
 * it compresses SACKs into one every millisecond or so - so one lost ACK
 * stops the recovery until the RTO. A probe makes the app answer. */
static bool pto_allowed(const struct tcp_conn *t)
{
	return t->sb && !t->tlp_on &&
	       (t->in_recovery || SEQ_GEQ(t->snd_una, t->recover)) &&
	       (t->state == TCP_ESTABLISHED || t->state == TCP_CLOSE_WAIT ||
		t->state == TCP_FIN_WAIT_1 || t->state == TCP_LAST_ACK ||
		t->state == TCP_CLOSING);
}

static uint32_t pto_us(const struct tcp_conn *t)
{
	if (!t->srtt)
		return TCP_RTO_INIT_US;
	uint32_t pto = 2 * t->srtt;
	return pto + (t->sb->n == 1 ? TCP_TLP_DELACK_US : TCP_TLP_MIN_US);
}

/**
 * tcp_rack_arm() - (re)start the PTO if it applies; called by tcp_output()
 * @e:	engine
 * @t:	connection, rtx_at already set for what is in flight
 */
void tcp_rack_arm(struct core_engine *e, struct tcp_conn *t)
{
	bool restart = t->pto_restart;

	t->pto_restart = 0;
	if (!t->sb || t->snd_una == t->snd_nxt) {
		t->lr_at = 0;
		return;
	}
	if (t->lr_at && !t->lr_pto)
		return; /* RACK's reordering timer runs */
	if (!pto_allowed(t)) {
		t->lr_at = 0;
		return;
	}
	if (t->lr_at && !restart)
		return;
	uint64_t at = e->now + pto_us(t);
	if (t->rtx_at && at > t->rtx_at)
		at = t->rtx_at; /* the RTO formula gives an earlier time */
	t->lr_at = at;
	t->lr_pto = 1;
}

/**
 * tcp_rack_timer() - lr_at expired: a probe or RACK's reordering timer
 * @e:	engine
 * @t:	connection
 */
void tcp_rack_timer(struct core_engine *e, struct tcp_conn *t)
{
	if (!t->lr_pto) {
		tcp_rack_detect(e, t);
		return;
	}
	if (!pto_allowed(t) || t->snd_una == t->snd_nxt)
		return;
	if (tcp_send_probe(e, t)) {
		CTR_INC(e, tcp_loss_probes);
		t->tlp_on = 1;
		t->tlp_end = t->snd_nxt;
		/* RFC 8985 7.3: the RTO, not another probe, comes next. */
		t->rtx_at = e->now + tcp_rto_backed_off(t);
	}
}

/* Fast recovery ended (RFC 8985 6.2 step 4): 16 in a row without D-SACK
 * bring the reordering window back to a quarter of the minimum RTT. */
void tcp_rack_recovery_done(struct tcp_conn *t)
{
	if (t->reo_persist && !--t->reo_persist)
		t->reo_extra = 0;
}
