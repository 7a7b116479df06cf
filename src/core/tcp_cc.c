/* SPDX-License-Identifier: MIT */
/* tcp_cc.c - congestion control toward the app: CUBIC (RFC 9438).
 *
 * Theory of operation
 *
 * The window of data tunproxy may have in flight toward the app is
 * min(app's advertised window, cwnd). cwnd starts at 10 segments
 * (RFC 6928) and grows by the bytes acknowledged in slow start. After a
 * loss it follows CUBIC: multiplicative decrease to 0.7 of the window, then
 * the cubic function of the time since the loss, with the Reno-friendly
 * estimate (RFC 9438 4.3) as a floor. That floor matters here: the app is
 * usually a few microseconds away, where Reno regrows in milliseconds while
 * the cubic curve, being a function of wall time, would take seconds.
 *
 * Loss detection lives in tcp_rack.c (RACK-TLP, with SACK), tcp.c
 * (duplicate ACKs, without) and tcp_timer.c (RTO); they call
 * tcp_cc_on_loss() on entering fast recovery (or when a loss probe turns
 * out to have repaired a loss), and tcp_cc_on_rto() on a timeout. During
 * recovery the window does not grow; on leaving it cwnd = ssthresh
 * (RFC 6675 / RFC 6582).
 *
 * Undo (the idea of RFC 3708 / Linux's undo with D-SACK): each reduction
 * remembers cwnd and ssthresh from before it and counts the segments
 * resent in its episode; the app D-SACKs each copy it got twice
 * (tcp_rack.c uncounts them). When every resend was D-SACKed the losses
 * were reordering or delay, and tcp_cc_undo() puts the window back.
 *
 * All arithmetic is integer (the core links no libm): windows in bytes,
 * time in milliseconds, the cube root by bisection.
 */
#include "core/tcp_int.h"

#define CUBIC_BETA_PCT	 70  /* multiplicative decrease, percent */
#define CUBIC_ALPHA_PERM 529 /* 3(1-b)/(1+b) in thousandths */
#define TCP_CWND_MAX	 (64u << 20)

static uint32_t now_ms(const struct core_engine *e)
{
	uint32_t ms = (uint32_t)(e->now / 1000);
	return ms ? ms : 1; /* 0 means "no epoch" */
}

static uint64_t cbrt_u64(uint64_t x)
{
	uint64_t lo = 0, hi = 2642245; /* cbrt(2^64) */

	while (lo < hi) {
		uint64_t mid = (lo + hi + 1) / 2;
		if (mid * mid * mid <= x)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* Bytes in flight: sent and not acknowledged. */
uint32_t tcp_flight(const struct tcp_conn *t)
{
	return t->snd_nxt - t->snd_una;
}

/**
 * tcp_pipe() - RFC 6675 "pipe": bytes believed to be in the network
 * @t:	connection
 *
 * Sent bytes minus those SACKed, minus those taken as lost, plus the
 * copies of those resent (the scoreboard's counts). Without a scoreboard:
 * minus [rtx_next, rtx_end) (the segment NewReno resends, everything
 * outstanding after an RTO), minus one segment per duplicate ACK in fast
 * recovery (each left the network).
 */
uint32_t tcp_pipe(const struct tcp_conn *t)
{
	uint32_t flight = tcp_flight(t);
	uint32_t out = 0;

	if (t->sb) {
		out = t->sb->sacked + t->sb->lost - t->sb->rtx;
	} else {
		uint32_t a = t->rtx_next, b = t->rtx_end;
		if (SEQ_LT(a, t->snd_una))
			a = t->snd_una;
		if (SEQ_GT(b, t->snd_nxt))
			b = t->snd_nxt;
		if (SEQ_LT(a, b))
			out = b - a;
		if (t->in_recovery)
			out += (uint32_t)t->dupacks * tcp_eff_mss(t);
	}
	return out >= flight ? 0 : flight - out;
}

void tcp_cc_init(struct core_engine *e, struct tcp_conn *t)
{
	(void)e;
	t->cwnd = TCP_INIT_CWND_SEGS * tcp_eff_mss(t);
	t->ssthresh = UINT32_MAX;
	t->cc_wmax = 0;
	t->cc_epoch = 0;
}

/* The cubic window W(t) in bytes, RFC 9438 eq. 1, for t ms after the epoch
 * began (K and W_max as set then). */
static uint32_t cubic_target(const struct tcp_conn *t, uint32_t elapsed_ms)
{
	int64_t d = (int64_t)elapsed_ms - (int64_t)t->cc_k;
	if (d > 60000)
		d = 60000;
	if (d < -60000)
		d = -60000;
	/* C = 0.4 segments/s^3: mss * 0.4 * (d/1000)^3 = mss*4*d^3 / 1e10.
	 * The product mss*4*d^3 passes 2^63 once the MSS is over ~10.7 KB
	 * (MTU 65520), so it is split: 4|d|^3 = q*1e10 + r with q <= 86,400
	 * and r < 1e10, and mss*q + mss*r/1e10 is the same quotient with no
	 * term above 2^50 for any 16-bit MSS (test_tcp_rfc5961.c,
	 * test_cubic_jumbo_mss). */
	uint64_t mss = tcp_eff_mss(t);
	uint64_t ad = (uint64_t)(d < 0 ? -d : d);
	uint64_t c4 = 4 * ad * ad * ad; /* <= 8.64e14 */
	uint64_t q = c4 / 10000000000ull, r = c4 % 10000000000ull;
	int64_t grow = (int64_t)(mss * q + mss * r / 10000000000ull);
	int64_t w = (int64_t)t->cc_wmax + (d < 0 ? -grow : grow);
	if (w < (int64_t)tcp_eff_mss(t))
		w = tcp_eff_mss(t);
	if (w > TCP_CWND_MAX)
		w = TCP_CWND_MAX;
	return (uint32_t)w;
}

/**
 * tcp_cc_on_ack() - grow the window for newly acknowledged data
 * @e:		engine (for the clock)
 * @t:		connection
 * @acked:	bytes newly acknowledged
 */
void tcp_cc_on_ack(struct core_engine *e, struct tcp_conn *t, uint32_t acked)
{
	if (t->in_recovery || !acked)
		return;
	/* Do not grow a window the app is not using (RFC 7661 spirit):
	 * otherwise an idle period followed by a burst overruns queues. */
	if (tcp_flight(t) + acked < t->cwnd / 2)
		return;
	if (t->cwnd < t->ssthresh) {
		uint32_t n = t->cwnd + acked;
		if (n > t->ssthresh && t->ssthresh != UINT32_MAX)
			n = t->ssthresh;
		t->cwnd = n < TCP_CWND_MAX ? n : TCP_CWND_MAX;
		return;
	}

	uint32_t ms = now_ms(e);
	if (!t->cc_epoch) {
		t->cc_epoch = ms;
		if (t->cwnd < t->cc_wmax) {
			uint64_t segs = (t->cc_wmax - t->cwnd) / tcp_eff_mss(t);
			t->cc_k = (uint32_t)cbrt_u64(segs * 2500000000ull);
		} else {
			t->cc_k = 0;
			t->cc_wmax = t->cwnd;
		}
		t->cc_west = t->cwnd;
	}
	uint32_t rtt_ms = t->srtt / 1000;
	uint32_t target = cubic_target(t, ms - t->cc_epoch + rtt_ms);
	if (target > t->cwnd + t->cwnd / 2)
		target = t->cwnd + t->cwnd / 2;

	/* Reno-friendly estimate: alpha segments per window acked. */
	uint64_t inc = (uint64_t)CUBIC_ALPHA_PERM * tcp_eff_mss(t) * acked /
		       ((uint64_t)t->cwnd * 1000);
	t->cc_west += (uint32_t)(inc ? inc : 1);

	uint32_t n = t->cwnd;
	if (target > n)
		n += (uint32_t)((uint64_t)(target - n) * acked / n);
	if (t->cc_west > n)
		n = t->cc_west;
	t->cwnd = n < TCP_CWND_MAX ? n : TCP_CWND_MAX;
}

static void cubic_reduce(struct tcp_conn *t)
{
	uint32_t w = t->cwnd;

	/* Fast convergence (RFC 9438 4.7). */
	if (w < t->cc_wmax)
		t->cc_wmax =
		    (uint32_t)((uint64_t)w * (100 + CUBIC_BETA_PCT) / 200);
	else
		t->cc_wmax = w;
	uint32_t s = (uint32_t)((uint64_t)w * CUBIC_BETA_PCT / 100);
	if (s < 2u * tcp_eff_mss(t))
		s = 2u * tcp_eff_mss(t);
	t->ssthresh = s;
	t->cc_epoch = 0;
}

/* A new reduction episode: what undo would restore. */
static void undo_begin(struct tcp_conn *t)
{
	t->undo_on = 1;
	t->undo_marker = t->snd_una;
	t->undo_rtx = 0;
	t->prior_cwnd = t->cwnd;
	t->prior_ssthresh = t->ssthresh;
}

/* Entering fast recovery (RACK or 3 duplicate ACKs), or a loss repaired
 * by a loss probe. */
void tcp_cc_on_loss(struct core_engine *e, struct tcp_conn *t)
{
	(void)e;
	undo_begin(t);
	/* An app-limited window should not set the new ssthresh. */
	if (t->cwnd > tcp_flight(t) && tcp_flight(t) >= 2u * tcp_eff_mss(t))
		t->cwnd = tcp_flight(t);
	cubic_reduce(t);
	t->cwnd = t->ssthresh;
}

/* Retransmission timeout: back to one segment (RFC 5681 3.1). */
void tcp_cc_on_rto(struct core_engine *e, struct tcp_conn *t)
{
	(void)e;
	/* One episode with a fast recovery it interrupts, or with the
	 * timeouts before it. */
	if (!t->in_recovery && t->backoff <= 1)
		undo_begin(t);
	if (t->backoff <= 1) /* later timeouts keep the first reduction */
		cubic_reduce(t);
	t->cwnd = tcp_eff_mss(t);
}

/* Leaving recovery: deflate to ssthresh (RFC 6675 5, RFC 6582 3.2). */
void tcp_cc_recovery_done(struct core_engine *e, struct tcp_conn *t)
{
	(void)e;
	if (t->cwnd > t->ssthresh || t->ssthresh == UINT32_MAX)
		t->cwnd = t->ssthresh == UINT32_MAX ? t->cwnd : t->ssthresh;
	tcp_rack_recovery_done(t);
}

/**
 * tcp_cc_undo() - the last reduction was for losses that did not happen
 * @e:	engine
 * @t:	connection
 *
 * Restores the window from before it (never lowers it), ends a fast or RTO
 * recovery still under way and forgets which segments were taken as lost:
 * the resends were all D-SACKed.
 */
void tcp_cc_undo(struct core_engine *e, struct tcp_conn *t)
{
	CTR_INC(e, tcp_recoveries_undone);
	if (t->prior_cwnd > t->cwnd)
		t->cwnd = t->prior_cwnd;
	if (t->prior_ssthresh > t->ssthresh)
		t->ssthresh = t->prior_ssthresh;
	t->cc_epoch = 0;
	t->undo_on = 0;
	t->in_recovery = 0;
	t->dupacks = 0;
	t->recover = t->snd_una;
	/* What was taken as lost was not: RACK marks it again if some of it
	 * really is (as Linux does). */
	if (t->sb)
		tcp_sb_unmark(t);
}
