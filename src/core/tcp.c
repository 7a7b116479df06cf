/* SPDX-License-Identifier: MIT */
/* tcp.c - TCP connections from the app, each spliced to a host socket.
 *
 * Theory of operation
 *
 * tunproxy is the passive end of every TCP connection the app opens. It
 * must look like an honest, well-behaved server, so nothing is sent to the
 * app before the real destination has answered:
 *
 *   app SYN     -> limits checked (max_tcp_half_open, max_tcp_established:
 *                  refused with RST and counted), a flow allocated, the
 *                  app's ISN and options kept (MSS clamped to the MTU,
 *                  window scale, SACK-permitted, timestamps), and the
 *                  driver asked to connect (ops->tcp_connect). State
 *                  SYN_PENDING. The app's retransmitted SYNs are absorbed.
 *   connected   -> SYN-ACK with our options (MSS, wscale 7, SACK-permitted
 *                  and timestamps only if the app offered them: timestamps
 *                  let the app's kernel reuse its TIME-WAIT ports), state
 *                  SYN_RCVD, retransmitted with backoff until the app ACKs.
 *   refused     -> RST to the app at once (tcp_connect_refused).
 *   unreachable -> ICMP destination unreachable quoting a copy of the
 *                  app's SYN (tcp_connect_unreachable).
 *   no answer   -> silence, as a lossy path would give; after 75 s the
 *                  pending flow is dropped (tcp_connect_timeout).
 *
 * Established, data moves both ways independently:
 *   app -> host  tcp_rbuf.c: written to the socket as it arrives, held in
 *                a bounded buffer only when the socket is full or the
 *                segment is out of order; the window shrinks instead of
 *                memory growing.
 *   host -> app  tcp_output.c: peeked from the socket straight into
 *                transmit ring slots; discarded from the socket only when
 *                the app acknowledges it.
 *
 * Closing is per direction (RFC 9293 3.6): the app's FIN becomes
 * shutdown(SHUT_WR) on the host socket once all its data is written; the
 * host's end of stream becomes our FIN once all host data is sent. The
 * other direction keeps flowing. The flow is freed when both FINs are
 * acknowledged: at once when the app closed first (LAST_ACK, the common
 * case), after a 2 s TIME-WAIT without buffers or socket when we did. A RST
 * from the app closes the host socket with RST; a host reset sends RST to
 * the app. RSTs and SYNs in synchronized states and in SYN_RCVD are
 * checked as RFC 5961 says (exact sequence number or a challenge ACK), an
 * ACK older than SND.UNA - MAX.SND.WND is challenged and dropped (5.2),
 * and challenge ACKs are limited per engine (7, tcp_challenge_ack());
 * segments are checked for acceptability (RFC 9293 3.10.7.4: in SYN_RCVD
 * too, before the handshake completes) and PAWS (RFC 7323 5).
 *
 * Segments for which no flow exists are answered with RST (RFC 9293
 * 3.10.7.1) unless they are RSTs or new SYNs.
 *
 * Not handled: urgent data (the URG pointer is ignored, the bytes are
 * delivered in line), TCP Fast Open (SYN data is not acknowledged, the app
 * sends it again), ECN (never negotiated), MPTCP and other options (not
 * echoed, so the app falls back to plain TCP), path MTU changes after the
 * handshake.
 */
#include <errno.h>
#include <string.h>

#include "core/tcp_int.h"

/* RFC 6528: ISN = M + F(4-tuple, secret), M a 4 microsecond clock; the
 * secret is the driver's random hash seed. */
static uint32_t gen_iss(const struct core_engine *e, const struct flow_key *k)
{
	uint64_t h = 0xcbf29ce484222325ull ^ e->cfg.hash_seed;
	const uint8_t *parts[2] = {k->src.b, k->dst.b};

	for (int p = 0; p < 2; p++)
		for (int i = 0; i < 16; i++)
			h = (h ^ parts[p][i]) * 0x100000001b3ull;
	h = (h ^ k->sport) * 0x100000001b3ull;
	h = (h ^ k->dport) * 0x100000001b3ull;
	h ^= h >> 29;
	return (uint32_t)h + (uint32_t)(e->now / 4);
}

/* Tells the driver what to watch on the host socket, if that changed. */
void tcp_set_want(struct core_engine *e, struct tcp_conn *t, bool rd, bool wr)
{
	if (t->sock_closed || t->c.sock < 0)
		return;
	if (rd == t->want_rd && wr == t->want_wr)
		return;
	t->want_rd = rd;
	t->want_wr = wr;
	e->ops->want(e->ops_ctx, t->c.sock, rd, wr);
}

static void set_half(struct core_engine *e, struct tcp_conn *t, bool on)
{
	if (on == t->cnt_half)
		return;
	t->cnt_half = on;
	if (on)
		CTR_INC(e, tcp_half_open);
	else
		CTR_DEC(e, tcp_half_open);
}

static void set_open(struct core_engine *e, struct tcp_conn *t, bool on)
{
	if (on == t->cnt_open)
		return;
	t->cnt_open = on;
	if (on)
		CTR_INC(e, tcp_conns_open);
	else
		CTR_DEC(e, tcp_conns_open);
}

/**
 * tcp_abort() - end a connection at once
 * @e:		engine
 * @t:		connection
 * @rst_app:	also send RST to the app
 *
 * The host socket is closed with RST by the sweep.
 */
void tcp_abort(struct core_engine *e, struct tcp_conn *t, bool rst_app)
{
	union flow *f = tcp_flow(t);

	if (f->c.closing)
		return;
	if (rst_app && t->state != TCP_TIME_WAIT && t->state != TCP_CLOSED)
		tcp_send_rst(e, t);
	t->state = TCP_CLOSED;
	flow_close(e, f, true);
}

/* Closes what is finished: the flow after LAST_ACK, the host socket at
 * the start of TIME-WAIT (which then holds nothing but this struct). */
void tcp_check_done(struct core_engine *e, struct tcp_conn *t)
{
	union flow *f = tcp_flow(t);

	if (f->c.closing || !t->shut_done)
		return;
	if (t->state == TCP_LAST_ACK && t->snd_una == t->snd_nxt) {
		t->state = TCP_CLOSED;
		flow_close(e, f, false);
	} else if (t->state == TCP_TIME_WAIT && !t->sock_closed) {
		tcp_rbuf_free(e, t);
		e->ops->close(e->ops_ctx, t->c.sock, false);
		t->c.sock = -1;
		t->sock_closed = 1;
		t->rtx_at = e->now + TCP_TIME_WAIT_US;
		set_open(e, t, false);
	}
}

static void enter_time_wait(struct core_engine *e, struct tcp_conn *t)
{
	t->state = TCP_TIME_WAIT;
	t->ack_now = 1;
	t->rtx_at = 0;
	t->ack_at = 0;
	tcp_check_done(e, t);
}

/* Takes the app's SYN: its ISN and the options we will honour. */
static void syn_options(struct core_engine *e, struct tcp_conn *t,
			const struct wire_packet *pkt)
{
	const struct wire_tcp *th = &pkt->u.tcp;
	uint32_t iph = (uint32_t)tcp_ip_hdr_len(t);
	uint32_t mtu_mss = e->cfg.mtu > iph + WIRE_TCP_HDR_LEN + 64
			       ? e->cfg.mtu - iph - WIRE_TCP_HDR_LEN
			       : 64;
	uint32_t mss = th->opts.mss;

	if (!mss)
		mss =
		    t->c.key.family == 4 ? TCP_DEFAULT_MSS4 : TCP_DEFAULT_MSS6;
	if (mss > mtu_mss)
		mss = mtu_mss;
	if (mss < 64)
		mss = 64; /* a tiny MSS is only a way to make us work hard */
	t->mss = (uint16_t)mss;
	t->rcv_nxt = th->seq + 1;
	t->host_nxt = t->rcv_nxt;
	t->rcv_adv = t->rcv_nxt;
	t->ws_ok = th->opts.has_wscale;
	t->snd_ws = th->opts.has_wscale
			? (th->opts.wscale > 14 ? 14 : th->opts.wscale)
			: 0;
	t->rcv_ws = t->ws_ok ? TCP_RCV_WSCALE : 0;
	t->sack_ok = th->opts.sack_permitted;
	t->ts_ok = th->opts.has_ts;
	t->ts_recent = th->opts.ts_val;
	t->snd_wnd = th->window; /* never scaled in a SYN (RFC 7323 2.2) */
	t->max_wnd_hi = 0;	 /* noted from the ACK that establishes */
}

/* The app's SYN as it was, to quote in an ICMP error. */
static size_t synth_syn(const struct tcp_conn *t, uint8_t *buf, size_t cap)
{
	struct wire_ip_hdr ip;
	struct wire_tcp_hdr h;

	memset(&ip, 0, sizeof(ip));
	ip.family = t->c.key.family;
	ip.proto = WIRE_PROTO_TCP;
	ip.src = t->c.key.src;
	ip.dst = t->c.key.dst;
	memset(&h, 0, sizeof(h));
	h.sport = t->c.key.sport;
	h.dport = t->c.key.dport;
	h.seq = t->rcv_nxt - 1;
	h.flags = WIRE_TCP_SYN;
	h.window = (uint16_t)(t->snd_wnd > 65535 ? 65535 : t->snd_wnd);
	h.opts.mss = t->mss;
	h.opts.has_wscale = t->ws_ok;
	h.opts.wscale = t->snd_ws;
	h.opts.sack_permitted = t->sack_ok;
	h.opts.has_ts = t->ts_ok;
	h.opts.ts_val = t->ts_recent;
	return wire_tcp_build(buf, cap, &ip, &h, 0);
}

static void send_unreachable(struct core_engine *e, struct tcp_conn *t, int err,
			     const struct core_sock_error *se)
{
	uint8_t fam = t->c.key.family;
	uint8_t buf[WIRE_IP6_HDR_LEN + WIRE_TCP_MAX_HDR_LEN];
	uint8_t type, code;

	struct core_sock_error local;

	if (!se) {
		memset(&local, 0, sizeof(local));
		local.err = err;
		se = &local;
	}
	if (core_icmp_for_error(fam, se, &type, &code)) {
		/* what the network said, or the engine's usual mapping */
	} else if (fam == 4) {
		type = WIRE_ICMP4_UNREACH;
		code = err == ENETUNREACH || err == ENETDOWN
			   ? WIRE_ICMP4_UNREACH_NET
		       : err == EACCES || err == EPERM
			   ? WIRE_ICMP4_UNREACH_ADMIN
			   : WIRE_ICMP4_UNREACH_HOST;
	} else {
		type = WIRE_ICMP6_UNREACH;
		code = err == ENETUNREACH || err == ENETDOWN
			   ? WIRE_ICMP6_UNREACH_NOROUTE
		       : err == EACCES || err == EPERM
			   ? WIRE_ICMP6_UNREACH_ADMIN
			   : WIRE_ICMP6_UNREACH_ADDR;
	}
	size_t n = synth_syn(t, buf, sizeof(buf));
	if (n)
		core_send_icmp_error(e, fam, &t->c.key.dst, &t->c.key.src, type,
				     code, 0, buf, n);
}

/* The host connect failed with positive errno err. */
static void connect_failed(struct core_engine *e, struct tcp_conn *t, int err,
			   const struct core_sock_error *se)
{
	union flow *f = tcp_flow(t);
	bool icmp_origin = se && se->origin != CORE_ERR_LOCAL;

	if (err == ECONNREFUSED || err == ECONNRESET) {
		CTR_INC(e, tcp_connect_refused);
		tcp_send_rst(e, t);
	} else if (err == ENETUNREACH || err == EHOSTUNREACH ||
		   err == ENETDOWN || err == EHOSTDOWN || err == EACCES ||
		   err == EPERM || icmp_origin) {
		CTR_INC(e, tcp_connect_unreachable);
		send_unreachable(e, t, err, se);
	} else if (err == ETIMEDOUT) {
		CTR_INC(e, tcp_connect_timeout);
	} else {
		/* Out of sockets or ports (EMFILE, EADDRNOTAVAIL...): refuse
		 * this connection, keep the others. */
		const char *why = core_errno_advice(err);
		CTR_INC(e, flows_refused_socket);
		if (why)
			core_log_refusal(e, CORE_REFUSE_SOCKET, &t->c.key,
					 "%s; %u other flows open", why,
					 core_flow_count(e) - 1);
		else
			core_log_refusal(e, CORE_REFUSE_SOCKET, &t->c.key,
					 "host connect failed (errno %d)", err);
		tcp_send_rst(e, t);
	}
	core_log_flow(e, TP_LOG_DEBUG, &t->c.key, "connect failed: errno %d",
		      err);
	t->state = TCP_CLOSED;
	flow_close(e, f, false);
}

/* The host connect succeeded: answer the app's SYN. */
static void connect_done(struct core_engine *e, struct tcp_conn *t)
{
	/* Still half-open until the app's ACK: a SYN flood from spoofed
	 * sources must not hold more host connections than
	 * max_tcp_half_open, whether they are connecting or waiting in
	 * SYN_RCVD for an ACK that never comes. */
	set_open(e, t, true);
	CTR_INC(e, tcp_conns_created);
	tcp_cc_init(e, t);
	t->state = TCP_SYN_RCVD;
	t->snd_una = t->iss;
	t->snd_nxt = t->iss + 1;
	t->recover = t->iss;
	t->rtx_next = t->rtx_end = t->snd_nxt;
	t->backoff = 0;
	tcp_set_want(e, t, false, false);
	tcp_send_synack(e, t);
	t->rtt_on = 1;
	t->rtt_seq = t->iss;
	t->rtt_start = (uint32_t)e->now;
	t->rtx_at = e->now + tcp_rto_backed_off(t);
}

/* True for a connection whose handshake is not complete: its host connect
 * is pending, or the SYN-ACK waits for the app's ACK. */
bool tcp_is_half_open(const union flow *f)
{
	return f->c.type == FLOW_TCP && f->tcp.cnt_half;
}

void tcp_evict(struct core_engine *e, union flow *f)
{
	tcp_abort(e, tcp_of(f), true);
}

/**
 * tcp_input_new() - a segment from the app for a tuple without a flow
 * @e:		engine
 * @key:	the tuple
 * @pkt:	the checked segment
 */
void tcp_input_new(struct core_engine *e, const struct flow_key *key,
		   const struct wire_packet *pkt)
{
	const struct wire_tcp *th = &pkt->u.tcp;

	if (th->flags & WIRE_TCP_RST)
		return; /* RFC 9293 3.10.7.1: never answer a RST */
	if (!(th->flags & WIRE_TCP_SYN) || th->flags & WIRE_TCP_ACK) {
		tcp_reply_rst(e, pkt);
		return;
	}
	if (e->ctr[TP_CTR_tcp_half_open] >= e->cfg.max_tcp_half_open &&
	    !flow_evict_oldest(e, tcp_is_half_open)) {
		CTR_INC(e, tcp_refused_half_open);
		core_log_hostile(e, "tcp: SYN refused: %u connects pending",
				 e->cfg.max_tcp_half_open);
		tcp_reply_rst(e, pkt);
		return;
	}
	if (e->ctr[TP_CTR_tcp_conns_open] >= e->cfg.max_tcp_established) {
		CTR_INC(e, tcp_refused_established);
		core_log_hostile(e, "tcp: SYN refused: %u connections open",
				 e->cfg.max_tcp_established);
		tcp_reply_rst(e, pkt);
		return;
	}
	union flow *f = flow_alloc(e, FLOW_TCP, key);
	if (!f) {
		tcp_reply_rst(e, pkt);
		return;
	}
	struct tcp_conn *t = tcp_of(f);
	memset((uint8_t *)t + sizeof(t->c), 0, sizeof(*t) - sizeof(t->c));
	t->c.sock = -1;
	t->state = TCP_SYN_PENDING;
	t->c.last_active = e->now;
	syn_options(e, t, pkt);
	t->iss = gen_iss(e, key);
	t->snd_una = t->snd_nxt = t->iss;
	set_half(e, t, true);

	int s = e->ops->tcp_connect(e->ops_ctx, flow_handle(e->flows, f),
				    key->family, &key->dst, key->dport);
	/* Out of fds: a datagram flow gives way to the connection (admit.c). */
	if (s < 0 && admit_make_room(e, -s, f))
		s = e->ops->tcp_connect(e->ops_ctx, flow_handle(e->flows, f),
					key->family, &key->dst, key->dport);
	if (s < 0) {
		connect_failed(e, t, -s, NULL);
		return;
	}
	t->c.sock = s;
	t->want_wr = 1; /* the driver watches the connect's completion */
	t->rtx_at = e->now + TCP_CONNECT_TIMEOUT_US;
	tcp_timer_arm(e, t);
}

/**
 * tcp_challenge_ack() - may a challenge ACK go out now?
 * @e:	engine
 *
 * RFC 5961 7: challenge ACKs (an inexact RST or a SYN in the window, an ACK
 * too old to be acceptable) are limited per engine, as Linux limits them per
 * network namespace: a budget drawn at the start of each second between
 * half and one and a half times TCP_CHALLENGE_ACK_LIMIT. The random budget
 * keeps an off-path attacker from counting the ACKs it provoked to learn
 * whether its guess was in the window (CVE-2016-5696). The draw mixes the
 * driver's random seed with the time, so the core reads no clock and no
 * random device. Tested by test_tcp_rfc5961.c
 * (test_challenge_ack_rate_limited).
 *
 * Return: true if the ACK may be sent (counted in tcp_challenge_acks), false
 * if this second's budget is spent (tcp_challenge_acks_limited).
 */
static bool tcp_challenge_ack(struct core_engine *e)
{
	if (e->now >= e->chal_next) {
		/* splitmix64 finaliser of seed and time */
		uint64_t z = e->cfg.hash_seed + e->now * 0x9e3779b97f4a7c15ull;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		e->chal_next = e->now + 1000000;
		e->chal_left = TCP_CHALLENGE_ACK_LIMIT / 2 +
			       (uint32_t)(z % (TCP_CHALLENGE_ACK_LIMIT + 1));
	}
	if (!e->chal_left) {
		CTR_INC(e, tcp_challenge_acks_limited);
		return false;
	}
	e->chal_left--;
	CTR_INC(e, tcp_challenge_acks);
	return true;
}

/* RFC 9293 3.10.7.4 acceptability test, with a bare FIN at rcv_nxt let in
 * even through a zero window (Linux does the same). */
static bool seq_acceptable(const struct tcp_conn *t, uint32_t seq, uint32_t len,
			   bool bare_fin)
{
	uint32_t wnd = tcp_rcv_space(t);

	if (!t->rcv_zero && SEQ_GT(t->rcv_adv, t->rcv_nxt) &&
	    t->rcv_adv - t->rcv_nxt > wnd)
		wnd = t->rcv_adv - t->rcv_nxt;
	if (bare_fin && seq == t->rcv_nxt)
		return true;
	if (len == 0) {
		if (wnd == 0)
			return seq == t->rcv_nxt;
		/* <= at the right edge, as Linux: an app that filled the
		 * window sends its ACKs with SEQ = RCV.NXT + RCV.WND, and
		 * dropping them would stall the other direction. */
		return SEQ_GEQ(seq, t->rcv_nxt) &&
		       SEQ_LEQ(seq, t->rcv_nxt + wnd);
	}
	if (wnd == 0)
		return false;
	uint32_t last = seq + len - 1;
	return (SEQ_GEQ(seq, t->rcv_nxt) && SEQ_LT(seq, t->rcv_nxt + wnd)) ||
	       (SEQ_GEQ(last, t->rcv_nxt) && SEQ_LT(last, t->rcv_nxt + wnd));
}

static void enter_recovery(struct core_engine *e, struct tcp_conn *t)
{
	CTR_INC(e, tcp_fast_retransmits);
	tcp_cc_on_loss(e, t);
	t->in_recovery = 1;
	t->recover = t->snd_nxt;
	t->rtx_next = t->snd_una;
	t->rtx_end = t->snd_una + tcp_eff_mss(t);
}

/* New data acknowledged: release it from the host socket, measure, grow
 * the window, and follow loss recovery. */
static bool ack_new(struct core_engine *e, struct tcp_conn *t, uint32_t ack)
{
	uint32_t acked = ack - t->snd_una;
	uint32_t data = acked;
	bool fin_acked = t->fin_sent && ack == t->snd_nxt;

	if (fin_acked)
		data--;
	if (data) {
		int r = e->ops->discard(e->ops_ctx, t->c.sock, data);
		if (r < 0) {
			tcp_abort(e, t, true);
			return false;
		}
	}
	tcp_sb_ack(e, t, ack);
	t->snd_una = ack;
	if (t->rtt_on && SEQ_GT(ack, t->rtt_seq)) {
		tcp_rtt_sample(t, (uint32_t)e->now - t->rtt_start);
		t->rtt_on = 0;
	}
	t->backoff = 0;
	t->rtx_at = 0; /* RFC 6298 5.3: restarted by the output if needed */
	if (t->in_recovery) {
		if (SEQ_GEQ(ack, t->recover)) {
			t->in_recovery = 0;
			t->dupacks = 0;
			t->rtx_next = t->rtx_end = t->snd_una;
			tcp_cc_recovery_done(e, t);
		} else if (!t->sb) {
			/* RFC 6582 3.2 step 3: partial ACK, resend the next
			 * segment. */
			t->dupacks = 0;
			t->rtx_next = t->snd_una;
			t->rtx_end = t->snd_una + tcp_eff_mss(t);
		}
	} else {
		t->dupacks = 0;
		tcp_cc_on_ack(e, t, data);
	}
	if (fin_acked) {
		if (t->state == TCP_FIN_WAIT_1)
			t->state = TCP_FIN_WAIT_2;
		else if (t->state == TCP_CLOSING)
			enter_time_wait(e, t);
	}
	return true;
}

/* RFC 9293 3.10.7.4 fifth step. Returns false if the segment is to be
 * dropped (or the connection ended). */
static bool ack_input(struct core_engine *e, struct tcp_conn *t,
		      const struct wire_packet *pkt)
{
	const struct wire_tcp *th = &pkt->u.tcp;
	uint32_t ack = th->ack;
	uint32_t wnd = (uint32_t)th->window << t->snd_ws;
	uint32_t una0 = t->snd_una;
	bool dup = false;

	if (SEQ_GT(ack, t->snd_nxt)) {
		/* Acknowledges something never sent. */
		CTR_INC(e, tcp_bad_segments);
		t->ack_now = 1;
		return false;
	}
	/* RFC 5961 5.2: acceptable only from SND.UNA - MAX.SND.WND on; an
	 * older ACK is a blind injection's guess, answered with a (limited)
	 * challenge ACK and the whole segment discarded. */
	if (SEQ_LT(ack, t->snd_una - tcp_max_snd_wnd(t))) {
		CTR_INC(e, tcp_bad_segments);
		if (tcp_challenge_ack(e))
			t->ack_now = 1;
		return false;
	}
	if (SEQ_GT(ack, t->snd_una)) {
		if (!ack_new(e, t, ack))
			return false;
	} else if (ack == t->snd_una && !pkt->payload_len &&
		   !(th->flags & (WIRE_TCP_SYN | WIRE_TCP_FIN)) &&
		   wnd == t->snd_wnd && t->snd_una != t->snd_nxt) {
		dup = true; /* RFC 5681 2 "duplicate acknowledgment" */
		if (t->dupacks < 255)
			t->dupacks++;
	}
	tcp_sack_update(e, t, &th->opts, una0); /* and RACK-TLP */

	/* Window update (RFC 9293 3.10.7.4): only if SND.UNA =< SEG.ACK (an
	 * old ACK carries an old window, even on a segment with newer data)
	 * and only from newer segments (SND.WL1, SND.WL2). */
	if (SEQ_GEQ(ack, una0) &&
	    (SEQ_LT(t->snd_wl1, th->seq) ||
	     (t->snd_wl1 == th->seq && SEQ_LEQ(t->snd_wl2, ack)))) {
		/* Persist ends; in TIME-WAIT rtx_at is the end of it. */
		if (!t->snd_wnd && wnd && t->snd_una == t->snd_nxt &&
		    t->state != TCP_TIME_WAIT) {
			t->backoff = 0;
			t->rtx_at = 0;
		}
		t->snd_wnd = wnd;
		tcp_note_snd_wnd(t, th->window);
		t->snd_wl1 = th->seq;
		t->snd_wl2 = ack;
	}

	/* Without a scoreboard (no SACK, or no memory for one): NewReno. */
	if (!t->sb && !t->in_recovery && SEQ_LT(t->snd_una, t->snd_nxt) &&
	    SEQ_GEQ(t->snd_una, t->recover) && dup &&
	    t->dupacks >= TCP_DUPTHRESH)
		enter_recovery(e, t);
	return true;
}

/* A segment in a synchronized state (RFC 9293 3.10.7.4). */
static void sync_input(struct core_engine *e, struct tcp_conn *t,
		       const struct wire_packet *pkt)
{
	union flow *f = tcp_flow(t);
	const struct wire_tcp *th = &pkt->u.tcp;
	uint8_t fl = th->flags;
	bool fin = fl & WIRE_TCP_FIN;
	uint32_t len = pkt->payload_len + fin;

	/* RFC 7323 5.3: PAWS. */
	if (t->ts_ok && th->opts.has_ts && !(fl & WIRE_TCP_RST) &&
	    SEQ_LT(th->opts.ts_val, t->ts_recent)) {
		CTR_INC(e, tcp_bad_segments);
		t->ack_now = 1;
		return;
	}
	if (!seq_acceptable(t, th->seq, len, fin && !pkt->payload_len)) {
		CTR_INC(e, tcp_bad_segments);
		if (!(fl & WIRE_TCP_RST))
			t->ack_now = 1;
		return;
	}
	if (fl & WIRE_TCP_RST) {
		/* RFC 5961 3.2: only an exact RST resets. */
		if (th->seq == t->rcv_nxt) {
			CTR_INC(e, tcp_rst_received);
			t->state = TCP_CLOSED;
			flow_close(e, f, true);
		} else if (tcp_challenge_ack(e)) {
			t->ack_now = 1;
		}
		return;
	}
	if (fl & WIRE_TCP_SYN) {
		/* RFC 5961 4.2: challenge ACK */
		if (tcp_challenge_ack(e))
			t->ack_now = 1;
		return;
	}
	if (!(fl & WIRE_TCP_ACK))
		return;
	if (!ack_input(e, t, pkt) || f->c.closing)
		return;

	/* RFC 7323 4.3: remember the TSval to echo. */
	if (t->ts_ok && th->opts.has_ts && SEQ_LEQ(th->seq, t->rcv_nxt) &&
	    SEQ_GEQ(th->opts.ts_val, t->ts_recent))
		t->ts_recent = th->opts.ts_val;

	if (!len)
		return;
	switch (t->state) {
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT_1:
	case TCP_FIN_WAIT_2: {
		bool had_fin = t->app_fin;
		tcp_rcv_segment(e, t, th->seq, pkt->payload, pkt->payload_len,
				fin);
		if (f->c.closing || had_fin || !t->app_fin)
			break;
		if (t->state == TCP_ESTABLISHED)
			t->state = TCP_CLOSE_WAIT;
		else if (t->state == TCP_FIN_WAIT_1)
			t->state = TCP_CLOSING;
		else
			enter_time_wait(e, t);
		break;
	}
	default:
		/* The app already sent FIN: data after it is ignored, a
		 * retransmitted FIN is acknowledged again. */
		t->ack_now = 1;
		break;
	}
}

/* SYN_RCVD: waiting for the ACK of our SYN-ACK. Returns true when the
 * segment established the connection and should be processed further. */
static bool syn_rcvd_input(struct core_engine *e, struct tcp_conn *t,
			   const struct wire_packet *pkt)
{
	union flow *f = tcp_flow(t);
	const struct wire_tcp *th = &pkt->u.tcp;
	uint8_t fl = th->flags;
	bool fin = fl & WIRE_TCP_FIN;

	if (fl & WIRE_TCP_RST) {
		/* RFC 5961 3.2, as in the synchronized states: outside the
		 * window ignored, exact resets, otherwise a challenge. Our
		 * SYN-ACK is the challenge here: it is all we have sent, and
		 * the app's TCP answers it whether or not it saw the first. */
		if (!seq_acceptable(t, th->seq, 0, false)) {
			CTR_INC(e, tcp_bad_segments);
		} else if (th->seq == t->rcv_nxt) {
			CTR_INC(e, tcp_rst_received);
			t->state = TCP_CLOSED;
			flow_close(e, f, true);
		} else if (tcp_challenge_ack(e)) {
			t->rtt_on = 0; /* Karn: the SYN-ACK is sent again */
			tcp_send_synack(e, t);
		}
		return false;
	}
	if (fl & WIRE_TCP_SYN) {
		/* The app did not get our SYN-ACK and sent its SYN again. */
		if (!(fl & WIRE_TCP_ACK) && th->seq == t->rcv_nxt - 1)
			tcp_send_synack(e, t);
		else
			CTR_INC(e, tcp_bad_segments);
		return false;
	}
	if (!(fl & WIRE_TCP_ACK))
		return false;
	/* RFC 9293 3.10.7.4: first check the sequence number. An ACK of our
	 * SYN-ACK outside the window does not complete the handshake (a
	 * blind attacker would only have to guess our ISN); it is answered
	 * and dropped. */
	if (!seq_acceptable(t, th->seq, pkt->payload_len + fin,
			    fin && !pkt->payload_len)) {
		CTR_INC(e, tcp_bad_segments);
		if (tcp_challenge_ack(e)) {
			t->rtt_on = 0; /* Karn */
			tcp_send_synack(e, t);
		}
		return false;
	}
	if (th->ack != t->iss + 1) {
		CTR_INC(e, tcp_bad_segments);
		tcp_reply_rst(e, pkt);
		return false;
	}
	t->state = TCP_ESTABLISHED;
	set_half(e, t, false);
	t->snd_una = th->ack;
	t->snd_wnd = (uint32_t)th->window << t->snd_ws;
	tcp_note_snd_wnd(t, th->window);
	t->snd_wl1 = th->seq;
	t->snd_wl2 = th->ack;
	if (t->rtt_on) {
		tcp_rtt_sample(t, (uint32_t)e->now - t->rtt_start);
		t->rtt_on = 0;
	}
	t->backoff = 0;
	t->rtx_at = 0;
	return true;
}

/**
 * tcp_input() - a segment from the app for its flow
 * @e:		engine
 * @f:		the flow
 * @pkt:	the checked segment
 */
void tcp_input(struct core_engine *e, union flow *f,
	       const struct wire_packet *pkt)
{
	struct tcp_conn *t = tcp_of(f);
	const struct wire_tcp *th = &pkt->u.tcp;

	if (f->c.closing)
		return;
	switch (t->state) {
	case TCP_SYN_PENDING:
		if (th->flags & WIRE_TCP_RST) {
			if (th->seq == t->rcv_nxt) {
				CTR_INC(e, tcp_rst_received);
				t->state = TCP_CLOSED;
				flow_close(e, f, true);
			}
		} else if ((th->flags & (WIRE_TCP_SYN | WIRE_TCP_ACK)) ==
			   WIRE_TCP_SYN) {
			/* A retransmitted SYN is absorbed; one with a new
			 * ISN (the app started over) replaces the old. */
			if (th->seq != t->rcv_nxt - 1)
				syn_options(e, t, pkt);
		} else {
			CTR_INC(e, tcp_bad_segments);
		}
		return;
	case TCP_SYN_RCVD:
		f->c.last_active = e->now;
		if (!syn_rcvd_input(e, t, pkt))
			break;
		sync_input(e, t, pkt);
		break;
	case TCP_TIME_WAIT:
		if ((th->flags & (WIRE_TCP_SYN | WIRE_TCP_ACK |
				  WIRE_TCP_RST)) == WIRE_TCP_SYN &&
		    (SEQ_GT(th->seq, t->rcv_nxt) ||
		     (t->ts_ok && th->opts.has_ts &&
		      SEQ_GT(th->opts.ts_val, t->ts_recent)))) {
			/* A new connection on the same tuple, newer than
			 * this one (RFC 6191): end this one and start the
			 * new one (flow_alloc puts it first in the hash). */
			struct flow_key key = f->c.key;
			t->state = TCP_CLOSED;
			flow_close(e, f, false);
			tcp_input_new(e, &key, pkt);
			return;
		}
		sync_input(e, t, pkt);
		break;
	default:
		f->c.last_active = e->now;
		sync_input(e, t, pkt);
		break;
	}
	if (f->c.closing)
		return;
	tcp_output(e, t);
	tcp_check_done(e, t);
	tcp_timer_arm(e, t);
}

/* An error on the host socket of a synchronized connection. */
static void host_error(struct core_engine *e, struct tcp_conn *t, int err)
{
	core_log_flow(e, TP_LOG_DEBUG, &t->c.key, "host socket error %d", err);
	tcp_abort(e, t, true);
}

/**
 * tcp_sock_event() - the host socket is readable, writable or failed
 * @e:		engine
 * @f:		the flow
 * @events:	CORE_EV_* bits
 */
void tcp_sock_event(struct core_engine *e, union flow *f, uint32_t events)
{
	struct tcp_conn *t = tcp_of(f);
	struct core_sock_error se;

	if (f->c.closing || t->sock_closed)
		return;
	if (t->state == TCP_SYN_PENDING) {
		if (!(events & (CORE_EV_WRITE | CORE_EV_ERROR | CORE_EV_HUP)))
			return;
		memset(&se, 0, sizeof(se));
		int r = e->ops->sock_error(e->ops_ctx, f->c.sock, &se);
		if (r > 0 && se.err)
			connect_failed(e, t, se.err, &se);
		else if (r < 0)
			connect_failed(e, t, -r, NULL);
		else if (events & CORE_EV_WRITE && !(events & CORE_EV_ERROR) &&
			 e->ctr[TP_CTR_tcp_conns_open] >=
			     e->cfg.max_tcp_established) {
			/* Other connects completed first: the limit, checked
			 * at the SYN, is enforced again here so it holds. */
			CTR_INC(e, tcp_refused_established);
			tcp_abort(e, t, true);
		} else if (events & CORE_EV_WRITE && !(events & CORE_EV_ERROR))
			connect_done(e, t);
		else
			connect_failed(e, t, ECONNREFUSED, NULL);
		if (!f->c.closing)
			tcp_timer_arm(e, t);
		return;
	}
	if (events & (CORE_EV_ERROR | CORE_EV_HUP)) {
		memset(&se, 0, sizeof(se));
		int r = e->ops->sock_error(e->ops_ctx, f->c.sock, &se);
		if (r > 0 && se.err) {
			host_error(e, t, se.err);
			return;
		}
		if (r < 0) {
			host_error(e, t, -r);
			return;
		}
	}
	if (events & (CORE_EV_READ | CORE_EV_HUP | CORE_EV_ERROR))
		t->host_dry = 0; /* new host data (or its end) may be there */
	if (t->state == TCP_SYN_RCVD)
		return; /* data waits for the handshake */
	if (events & (CORE_EV_READ | CORE_EV_HUP))
		f->c.last_active = e->now;
	if (events & (CORE_EV_WRITE | CORE_EV_HUP)) {
		tcp_rcv_flush(e, t);
		if (f->c.closing)
			return;
	}
	tcp_output(e, t);
	tcp_check_done(e, t);
	tcp_timer_arm(e, t);
}

/**
 * tcp_tx_resume() - the transmit ring has room again
 * @e:	engine
 * @f:	a flow that stopped on a full ring
 */
void tcp_tx_resume(struct core_engine *e, union flow *f)
{
	struct tcp_conn *t = tcp_of(f);

	if (f->c.closing)
		return;
	if (t->state == TCP_SYN_RCVD) {
		if (t->ack_now) {
			t->ack_now = 0;
			tcp_send_synack(e, t);
		}
		return;
	}
	tcp_output(e, t);
	tcp_check_done(e, t);
	tcp_timer_arm(e, t);
}

/**
 * tcp_release() - the sweep frees the flow
 * @e:	engine
 * @f:	the flow
 */
void tcp_release(struct core_engine *e, union flow *f)
{
	if (e->pend.t == tcp_of(f))
		e->pend.t = NULL;
	struct tcp_conn *t = tcp_of(f);

	tcp_rbuf_free(e, t);
	tcp_sb_free(e, t);
	set_half(e, t, false);
	set_open(e, t, false);
}
