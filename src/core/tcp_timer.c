/* SPDX-License-Identifier: MIT */
/* tcp_timer.c - RTT estimation and every TCP timer, folded into one.
 *
 * Theory of operation
 *
 * Each flow has a single deadline in the engine's timer heap. A connection
 * has at most these pending times, and the heap holds the earliest:
 *   rtx_at   one of: the pending connect's limit (SYN_PENDING, 75 s), the
 *            SYN-ACK retransmission (SYN_RCVD), the retransmission timer
 *            (data or FIN in flight), the persist timer (app window zero,
 *            nothing in flight, host data waiting), the end of TIME-WAIT;
 *            which one is implied by the state and by what is in flight;
 *   ack_at   the delayed ACK (40 ms, or every second full segment);
 *   lr_at    RACK-TLP (tcp_rack.c): the tail loss probe timeout, or RACK's
 *            reordering timer (a segment that becomes lost unless
 *            delivered by then); only while data is in flight with SACK;
 *   idle     last_active + tcp_idle_timeout_us (established and closing
 *            states, and TIME-WAIT while the host socket has not taken
 *            the app's last bytes): the connection is reset both ways.
 * The heap is only touched when the wanted deadline is earlier than the one
 * armed: an early wake-up re-arms and costs one pop, while re-arming on
 * every segment (the idle deadline moves with each one) would cost a heap
 * operation per packet.
 *
 * RTT and RTO follow RFC 6298: one segment at a time is timed with the
 * microsecond clock (Karn: never a retransmitted one, and timing stops at
 * an RTO), srtt/rttvar with gains 1/8 and 1/4, RTO = srtt + 4 rttvar
 * clamped to [200 ms, 60 s], initial 1 s, doubled per expiry (backoff),
 * reset when new data is acknowledged. Timestamps (RFC 7323) are echoed and
 * used for PAWS but not for RTT: their millisecond clock is coarser than
 * the microsecond one the engine is driven with. With RACK-TLP the RTO is
 * the last resort: a probe fires first (and re-arms it), and RACK finds
 * most losses from ACKs alone.
 */
#include "core/tcp_int.h"

/**
 * tcp_rto() - the retransmission timeout before backoff
 * @t:	connection
 *
 * Return: microseconds.
 */
uint32_t tcp_rto(const struct tcp_conn *t)
{
	if (!t->srtt)
		return TCP_RTO_INIT_US;
	uint32_t var4 = t->rttvar * 4;
	uint32_t rto = t->srtt + (var4 > 1000 ? var4 : 1000);
	if (rto < TCP_RTO_MIN_US)
		rto = TCP_RTO_MIN_US;
	if (rto > TCP_RTO_MAX_US)
		rto = TCP_RTO_MAX_US;
	return rto;
}

/* The timeout with the current backoff applied (RFC 6298 5.5). */
uint32_t tcp_rto_backed_off(const struct tcp_conn *t)
{
	uint64_t rto = (uint64_t)tcp_rto(t)
		       << (t->backoff < 16 ? t->backoff : 16);
	return rto > TCP_RTO_MAX_US ? TCP_RTO_MAX_US : (uint32_t)rto;
}

/**
 * tcp_rtt_sample() - feed one round-trip measurement (RFC 6298 2.2, 2.3)
 * @t:		connection
 * @rtt_us:	the measurement
 */
void tcp_rtt_sample(struct tcp_conn *t, uint32_t rtt_us)
{
	if (!rtt_us)
		rtt_us = 1;
	if (!t->srtt) {
		t->srtt = rtt_us;
		t->rttvar = rtt_us / 2;
		return;
	}
	uint32_t d = t->srtt > rtt_us ? t->srtt - rtt_us : rtt_us - t->srtt;
	t->rttvar = t->rttvar - t->rttvar / 4 + d / 4;
	t->srtt = t->srtt - t->srtt / 8 + rtt_us / 8;
	if (!t->srtt)
		t->srtt = 1;
}

/* Our TSval: a millisecond clock (RFC 7323 5.4) offset per connection so
 * values do not reveal uptime or relate connections. */
uint32_t tcp_ts_now(const struct core_engine *e, const struct tcp_conn *t)
{
	return (uint32_t)(e->now / 1000) + t->iss;
}

/* Called for each in-order data segment that does not need an ACK at
 * once: ACK every second full segment (RFC 9293 3.8.6.3, RFC 5681 4.2),
 * otherwise within TCP_DELACK_US. */
void tcp_delack(struct core_engine *e, struct tcp_conn *t)
{
	if (++t->segs_unacked >= 2) {
		t->ack_now = 1;
		return;
	}
	if (!t->ack_at)
		t->ack_at = e->now + TCP_DELACK_US;
}

static bool idle_applies(const struct tcp_conn *t)
{
	/* TIME-WAIT normally holds no socket. One still open waits for the
	 * host to take the app's last bytes: a host that never does must
	 * not keep the flow, its socket and its buffer forever. */
	if (t->state == TCP_TIME_WAIT)
		return !t->sock_closed;
	return t->state != TCP_SYN_PENDING && t->state != TCP_CLOSED;
}

/**
 * tcp_timer_arm() - put the connection's earliest deadline in the heap
 * @e:	engine
 * @t:	connection
 */
void tcp_timer_arm(struct core_engine *e, struct tcp_conn *t)
{
	union flow *f = tcp_flow(t);
	uint64_t when = UINT64_MAX;

	if (f->c.closing)
		return;
	if (t->rtx_at)
		when = t->rtx_at;
	if (t->ack_at && t->ack_at < when)
		when = t->ack_at;
	if (t->lr_at && t->lr_at < when)
		when = t->lr_at;
	if (e->cfg.tcp_idle_timeout_us && idle_applies(t)) {
		uint64_t idle = f->c.last_active + e->cfg.tcp_idle_timeout_us;
		if (idle < when)
			when = idle;
	}
	if (when == UINT64_MAX)
		return; /* an armed timer may fire early: harmless */
	if (f->c.heap_pos != FLOW_NONE && f->c.deadline <= when)
		return;
	flow_timer_set(e, f, when);
}

/* Persist timer (RFC 9293 3.8.6.1): the app's window is zero and we have
 * data. The probe is an ACK with an old sequence number (snd_una - 1),
 * which the app must answer with an ACK carrying its current window. */
static void persist_fire(struct core_engine *e, struct tcp_conn *t)
{
	CTR_INC(e, tcp_zero_window_probes);
	tcp_send_ctl(e, t, t->snd_una - 1, WIRE_TCP_ACK);
	if (t->backoff < 16)
		t->backoff++;
	t->rtx_at = e->now + tcp_rto_backed_off(t);
}

/* Retransmission timeout (RFC 6298 5.4-5.6, RFC 5681 3.1). */
static void rto_fire(struct core_engine *e, struct tcp_conn *t)
{
	if (++t->backoff > TCP_RTO_RETRIES) {
		core_log_flow(e, TP_LOG_DEBUG, &t->c.key,
			      "giving up after %u timeouts", TCP_RTO_RETRIES);
		tcp_abort(e, t, true);
		return;
	}
	CTR_INC(e, tcp_rto_expired);
	tcp_cc_on_rto(e, t);
	/* Everything not SACKed is lost; after a second timeout in a row
	 * the SACKs too (RFC 2018 8: the app may have reneged). */
	if (t->sb)
		tcp_sb_rto(t, t->backoff > 1);
	t->lr_at = 0;
	t->tlp_on = 0;
	t->in_recovery = 0;
	t->dupacks = 0;
	t->rtt_on = 0; /* Karn */
	t->recover = t->snd_nxt;
	/* Without a scoreboard: everything outstanding is taken as lost and
	 * sent again as the window (now one segment) grows. */
	t->rtx_next = t->snd_una;
	t->rtx_end = t->snd_nxt;
	t->rtx_at = 0;
	tcp_output(e, t);
	if (!t->rtx_at && !tcp_flow(t)->c.closing)
		t->rtx_at = e->now + tcp_rto_backed_off(t);
}

/**
 * tcp_timer() - the flow's timer fired
 * @e:	engine, e->now the current time
 * @f:	the flow (its heap entry already removed)
 */
void tcp_timer(struct core_engine *e, union flow *f)
{
	struct tcp_conn *t = tcp_of(f);
	uint64_t now = e->now;

	if (f->c.closing)
		return;
	switch (t->state) {
	case TCP_SYN_PENDING:
		if (t->rtx_at && now >= t->rtx_at) {
			/* The host never answered: stay silent, as a lossy
			 * path would be; the app's next SYN starts over. */
			CTR_INC(e, tcp_connect_timeout);
			t->rtx_at = 0;
			flow_close(e, f, true);
			return;
		}
		break;
	case TCP_TIME_WAIT:
		if (t->rtx_at && now >= t->rtx_at) {
			flow_close(e, f, false);
			return;
		}
		break;
	default:
		break;
	}

	if (e->cfg.tcp_idle_timeout_us && idle_applies(t) &&
	    now >= f->c.last_active + e->cfg.tcp_idle_timeout_us) {
		CTR_INC(e, flows_expired);
		tcp_abort(e, t, true);
		return;
	}

	if (t->ack_at && now >= t->ack_at) {
		t->ack_at = 0;
		t->ack_now = 1;
	}

	if (t->lr_at && now >= t->lr_at) {
		t->lr_at = 0;
		tcp_rack_timer(e, t);
		if (f->c.closing)
			return;
	}

	if (t->rtx_at && now >= t->rtx_at) {
		t->rtx_at = 0;
		if (t->state == TCP_SYN_RCVD) {
			if (++t->backoff > TCP_SYNACK_RETRIES) {
				tcp_abort(e, t, false);
				return;
			}
			CTR_INC(e, tcp_retransmits);
			t->rtt_on = 0; /* Karn */
			tcp_send_synack(e, t);
			t->rtx_at = now + tcp_rto_backed_off(t);
		} else if (t->snd_una == t->snd_nxt) {
			if (t->snd_wnd == 0 && !t->fin_sent)
				persist_fire(e, t);
		} else {
			rto_fire(e, t);
		}
	}

	if (!f->c.closing) {
		if (t->state != TCP_SYN_RCVD)
			tcp_output(e, t);
		else if (t->ack_now)
			t->ack_now =
			    0; /* nothing to ACK before the handshake */
		tcp_timer_arm(e, t);
	}
}
