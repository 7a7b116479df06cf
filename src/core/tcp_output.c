/* SPDX-License-Identifier: MIT */
/* tcp_output.c - segments to the app, built in place in the transmit ring.
 *
 * Theory of operation
 *
 * Host data is never copied into a userspace stream buffer. To send, the
 * output path reserves free slots of the engine's transmit ring, points one
 * iovec at the payload area of each (past the IP and TCP headers it will
 * write), and asks the driver to peek() the host socket at the offset of
 * the first unsent byte (snd_nxt - snd_una) straight into them. Then it
 * writes the headers in front of each payload and commits the slots in
 * order. Bytes stay in the host socket until the app acknowledges them
 * (tcp.c calls discard()); a retransmission peeks again at the lost offset.
 * A single userspace copy remains: kernel to ring slot.
 *
 * What may be sent (RFC 5681, RFC 6675, RFC 8985):
 *   1. retransmissions, while the pipe is below cwnd: with SACK, the
 *      scoreboard's records taken as lost (by RACK or the RTO, tcp_rack.c),
 *      lowest first, each as one segment as it was first sent (dropping
 *      some of our own SACK blocks if that is what makes it fit); without,
 *      [rtx_next, rtx_end) - the next segment after three duplicate ACKs or
 *      a partial ACK (RFC 6582), everything after an RTO;
 *   2. new data, within min(app window, cwnd) minus the pipe, each segment
 *      recorded in the scoreboard (no room there: wait for ACKs);
 *   3. our FIN once the host reached end of stream and all data is out;
 *   4. a pure ACK if one is due and nothing above carried it.
 * A tail loss probe (tcp_send_probe, fired from tcp_rack.c) is one more
 * segment outside cwnd: new data if there is some, else the last segment.
 * Sender-side silly window avoidance (RFC 9293 3.8.6.2.1): when the usable
 * window is smaller than a segment, nothing new is sent until the ACK of
 * what is in flight; a short segment otherwise goes out at once when it is
 * all the host socket has (no Nagle delay: the app's latency is the host's).
 *
 * Stops: a full transmit ring (core_wait_tx(); tcp_tx_resume() calls back),
 * an empty host socket (want readable; CORE_EV_READ calls back), a closed
 * window (want nothing; the ACK that opens it calls back; the persist timer
 * probes). The driver must report readability edge-triggered: peeked bytes
 * stay in the socket, so a level-triggered socket would stay readable.
 *
 * Every segment carries the options negotiated: timestamps (RFC 7323) and,
 * while data from the app is held out of order, SACK blocks (RFC 2018).
 */
#include <errno.h>
#include <string.h>

#include "core/tcp_int.h"

#define TCP_BURST 64 /* slots filled by one peek */

size_t tcp_ip_hdr_len(const struct tcp_conn *t)
{
	return wire_ip_hdr_len(t->c.key.family);
}

static void ip_hdr(const struct tcp_conn *t, struct wire_ip_hdr *ip)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = t->c.key.family;
	ip->proto = WIRE_PROTO_TCP;
	ip->src = t->c.key.dst;
	ip->dst = t->c.key.src;
}

/**
 * tcp_rcv_space() - bytes of app data we can accept now
 * @t:	connection
 *
 * The right edge is host_nxt + TCP_RCV_WND (see tcp_rbuf.c), or the left
 * one while no buffer could be had (rcv_zero).
 */
uint32_t tcp_rcv_space(const struct tcp_conn *t)
{
	if (t->rcv_zero)
		return 0;
	uint32_t end = t->rcv_nxt - t->app_fin;
	uint32_t right = t->host_nxt + TCP_RCV_WND;
	return SEQ_GT(right, end) ? right - end : 0;
}

/* Payload bytes per full segment with timestamps but no SACK blocks. */
uint32_t tcp_eff_mss(const struct tcp_conn *t)
{
	return t->mss - (t->ts_ok ? 12u : 0u);
}

/* The window field for a segment, and the new right edge remembered. */
static uint16_t wnd_field(struct tcp_conn *t, bool syn)
{
	uint32_t space = tcp_rcv_space(t);

	if (syn)
		return space > 65535 ? 65535 : (uint16_t)space;
	/* Receiver SWS avoidance (RFC 9293 3.8.6.2.2): keep the old edge
	 * unless the window grows by a segment or half the buffer. */
	if (!t->rcv_zero && SEQ_GEQ(t->rcv_adv, t->rcv_nxt)) {
		uint32_t old = t->rcv_adv - t->rcv_nxt;
		if (space > old && space - old < t->mss &&
		    space - old < TCP_RBUF_SIZE / 2)
			space = old;
	}
	uint8_t sh = t->ws_ok ? t->rcv_ws : 0;
	uint32_t w = space >> sh;
	if (w > 65535)
		w = 65535;
	uint32_t edge = t->rcv_nxt + (w << sh);
	if (!t->rcv_zero && SEQ_LT(edge, t->rcv_adv)) {
		/* Scaling rounds down; that must not move the edge left
		 * (RFC 9293 3.8.6.2.2), so round up, as far as the buffer
		 * really goes (see TCP_RCV_WND). */
		uint32_t up = (t->rcv_adv - t->rcv_nxt + (1u << sh) - 1) >> sh;
		uint32_t up_edge = t->rcv_nxt + (up << sh);
		if (up <= 65535 &&
		    SEQ_LEQ(up_edge, t->host_nxt + TCP_RBUF_SIZE)) {
			w = up;
			edge = up_edge;
		}
	}
	if (t->rcv_zero || SEQ_GT(edge, t->rcv_adv))
		t->rcv_adv = edge;
	return (uint16_t)w;
}

static void fill_opts(const struct core_engine *e, const struct tcp_conn *t,
		      struct wire_tcp_opts *o, bool syn)
{
	memset(o, 0, sizeof(*o));
	if (t->ts_ok) {
		o->has_ts = true;
		o->ts_val = tcp_ts_now(e, t);
		o->ts_ecr = t->ts_recent;
	}
	if (syn) {
		uint32_t mss = e->cfg.mtu - tcp_ip_hdr_len(t) - 20;
		o->mss = (uint16_t)(mss > 65535 ? 65535 : mss);
		if (t->ws_ok) {
			o->has_wscale = true;
			o->wscale = t->rcv_ws;
		}
		o->sack_permitted = t->sack_ok;
	} else {
		tcp_rbuf_sack(t, o, t->ts_ok ? 3 : 4);
	}
}

/* Writes the headers in front of the len payload bytes already in buf and
 * commits the first free slot (which must be buf). */
static void emit(struct core_engine *e, struct tcp_conn *t, uint8_t *buf,
		 const struct wire_tcp_opts *o, uint32_t seq, uint8_t flags,
		 size_t len)
{
	struct wire_ip_hdr ip;
	struct wire_tcp_hdr h;

	ip_hdr(t, &ip);
	memset(&h, 0, sizeof(h));
	h.sport = t->c.key.dport;
	h.dport = t->c.key.sport;
	h.seq = seq;
	h.flags = flags;
	if (flags & WIRE_TCP_ACK)
		h.ack = t->rcv_nxt;
	h.window =
	    (flags & WIRE_TCP_RST) ? 0 : wnd_field(t, flags & WIRE_TCP_SYN);
	h.opts = *o;
	size_t n = wire_tcp_build(buf, tx_slot_cap(e->tx), &ip, &h, len);
	if (!n)
		return; /* cannot happen with sizes from tx_slot_cap */
	tx_commit(e->tx, n, t->c.key.family);
	if (flags & WIRE_TCP_ACK) {
		t->ack_now = 0;
		t->ack_at = 0;
		t->segs_unacked = 0;
	}
}

/**
 * tcp_send_ctl() - send a segment without payload
 * @e:		engine
 * @t:		connection
 * @seq:	its sequence number
 * @flags:	WIRE_TCP_* flags
 *
 * Return: false if the ring was full (an ACK is then retried on resume).
 */
bool tcp_send_ctl(struct core_engine *e, struct tcp_conn *t, uint32_t seq,
		  uint8_t flags)
{
	struct wire_tcp_opts o;

	if (!tx_free(e->tx)) {
		if (flags & WIRE_TCP_ACK && !(flags & WIRE_TCP_RST)) {
			t->ack_now = 1;
			core_wait_tx(e, tcp_flow(t));
		}
		return false;
	}
	fill_opts(e, t, &o, flags & WIRE_TCP_SYN);
	if (flags & WIRE_TCP_RST)
		memset(&o, 0, sizeof(o));
	emit(e, t, tx_slot(e->tx, 0), &o, seq, flags, 0);
	return true;
}

void tcp_send_ack(struct core_engine *e, struct tcp_conn *t)
{
	tcp_send_ctl(e, t, t->snd_nxt, WIRE_TCP_ACK);
}

/* Our SYN-ACK with the options the app offered (RFC 9293 3.5, RFC 7323,
 * RFC 2018). */
bool tcp_send_synack(struct core_engine *e, struct tcp_conn *t)
{
	return tcp_send_ctl(e, t, t->iss, WIRE_TCP_SYN | WIRE_TCP_ACK);
}

/* RST to the app for this connection (host reset, give-up, abort). */
void tcp_send_rst(struct core_engine *e, struct tcp_conn *t)
{
	uint32_t seq = t->state == TCP_SYN_PENDING ? 0 : t->snd_nxt;

	if (tcp_send_ctl(e, t, seq, WIRE_TCP_RST | WIRE_TCP_ACK))
		CTR_INC(e, tcp_rst_sent);
}

/**
 * tcp_reply_rst() - answer a segment that has no connection
 * @e:		engine
 * @pkt:	the segment (not itself a RST)
 *
 * RFC 9293 3.10.7.1: with ACK set, <SEQ=SEG.ACK><CTL=RST>; without,
 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
 */
void tcp_reply_rst(struct core_engine *e, const struct wire_packet *pkt)
{
	const struct wire_tcp *th = &pkt->u.tcp;
	struct wire_ip_hdr ip;
	struct wire_tcp_hdr h;

	if (th->flags & WIRE_TCP_RST || !tx_free(e->tx))
		return;
	memset(&ip, 0, sizeof(ip));
	ip.family = pkt->family;
	ip.proto = WIRE_PROTO_TCP;
	ip.src = pkt->dst;
	ip.dst = pkt->src;
	memset(&h, 0, sizeof(h));
	h.sport = pkt->dport;
	h.dport = pkt->sport;
	if (th->flags & WIRE_TCP_ACK) {
		h.seq = th->ack;
		h.flags = WIRE_TCP_RST;
	} else {
		h.ack = th->seq + pkt->payload_len +
			!!(th->flags & WIRE_TCP_SYN) +
			!!(th->flags & WIRE_TCP_FIN);
		h.flags = WIRE_TCP_RST | WIRE_TCP_ACK;
	}
	uint8_t *buf = tx_slot(e->tx, 0);
	size_t n = wire_tcp_build(buf, tx_slot_cap(e->tx), &ip, &h, 0);
	if (!n)
		return;
	tx_commit(e->tx, n, pkt->family);
	CTR_INC(e, tcp_rst_sent);
	/* Counted apart: the app's duplicate ACK of a FIN we resent may
	 * arrive after the flow ended; that RST aborts nothing. */
	CTR_INC(e, tcp_rst_stray);
}

/* Sequence number one past the last data byte (before our FIN). */
static uint32_t data_end(const struct tcp_conn *t)
{
	return t->fin_sent ? t->snd_nxt - 1 : t->snd_nxt;
}

static bool can_send_data(const struct tcp_conn *t)
{
	return t->state == TCP_ESTABLISHED || t->state == TCP_CLOSE_WAIT;
}

/* A peek() error other than "nothing yet" ends the connection. */
static bool peek_failed(struct core_engine *e, struct tcp_conn *t, long r)
{
	if (r >= 0 || r == -EAGAIN)
		return false;
	core_log_flow(e, TP_LOG_DEBUG, &t->c.key,
		      "host socket read failed: %ld", r);
	tcp_abort(e, t, true);
	return true;
}

struct out_ctx {
	struct wire_tcp_opts o;
	size_t hoff;	 /* payload offset in a slot: IP + TCP headers */
	uint32_t maxseg; /* payload bytes per segment */
	bool blocked;	 /* the ring is full */
	bool need_rd;	 /* the host socket ran dry */
};

/* Payload bytes of a segment carrying options o. */
static uint32_t payload_cap(const struct core_engine *e,
			    const struct tcp_conn *t,
			    const struct wire_tcp_opts *o)
{
	uint32_t cap = tx_slot_cap(e->tx) - (uint32_t)tcp_ip_hdr_len(t);
	uint32_t seg = (uint32_t)t->mss + WIRE_TCP_HDR_LEN;

	if (seg > cap)
		seg = cap;
	return seg - (uint32_t)wire_tcp_hdr_len(o);
}

/**
 * tcp_max_payload() - the most payload a data segment to the app carries
 * @e:	engine
 * @t:	connection
 *
 * With no SACK blocks in it; blocks (while app data is held out of order)
 * make segments shorter.
 */
uint32_t tcp_max_payload(const struct core_engine *e, const struct tcp_conn *t)
{
	struct wire_tcp_opts o;

	memset(&o, 0, sizeof(o));
	o.has_ts = t->ts_ok;
	return payload_cap(e, t, &o);
}

static void out_init(struct core_engine *e, const struct tcp_conn *t,
		     struct out_ctx *c)
{
	memset(c, 0, sizeof(*c));
	fill_opts(e, t, &c->o, false);
	c->hoff = tcp_ip_hdr_len(t) + wire_tcp_hdr_len(&c->o);
	c->maxseg = payload_cap(e, t, &c->o);
}

/* Karn: a segment sent twice cannot be timed. */
static void karn(struct tcp_conn *t, uint32_t seq, uint32_t end)
{
	if (t->rtt_on && SEQ_LEQ(seq, t->rtt_seq) && SEQ_LT(t->rtt_seq, end))
		t->rtt_on = 0;
}

/* Step 1 without a scoreboard: retransmit [rtx_next, rtx_end) (NewReno's
 * next segment, everything after an RTO). Returns false if the connection
 * was aborted. */
static bool out_retransmit(struct core_engine *e, struct tcp_conn *t,
			   struct out_ctx *c)
{
	for (;;) {
		if (SEQ_LT(t->rtx_next, t->snd_una))
			t->rtx_next = t->snd_una;
		uint32_t hs = t->rtx_next;
		uint32_t he =
		    SEQ_LT(t->rtx_end, t->snd_nxt) ? t->rtx_end : t->snd_nxt;
		if (!SEQ_LT(hs, he))
			return true;
		if (tcp_pipe(t) >= t->cwnd)
			return true;
		if (!tx_free(e->tx)) {
			c->blocked = true;
			return true;
		}
		uint32_t dend = data_end(t);
		uint32_t len = he - hs;
		bool fin = false;
		if (len > c->maxseg)
			len = c->maxseg;
		if (t->fin_sent && SEQ_GEQ(hs + len, dend)) {
			len = SEQ_GT(dend, hs) ? dend - hs : 0;
			fin = SEQ_GT(he, dend) || hs == dend;
		}
		uint8_t *buf = tx_slot(e->tx, 0);
		if (len) {
			struct core_iov iov = {buf + c->hoff, len};
			long r = e->ops->peek(e->ops_ctx, t->c.sock,
					      hs - t->snd_una, &iov, 1);
			if (peek_failed(e, t, r))
				return false;
			if (r <= 0)
				return true; /* the bytes must be there */
			if ((uint32_t)r < len)
				fin = false;
			len = (uint32_t)r;
		}
		uint8_t fl = WIRE_TCP_ACK | (fin ? WIRE_TCP_FIN : 0);
		if (len)
			fl |= WIRE_TCP_PSH;
		emit(e, t, buf, &c->o, hs, fl, len);
		CTR_INC(e, tcp_retransmits);
		if (t->undo_on && t->undo_rtx < UINT16_MAX)
			t->undo_rtx++;
		karn(t, hs, hs + len + fin);
		t->rtx_next = hs + len + fin;
		if (!t->rtx_at)
			t->rtx_at = e->now + tcp_rto_backed_off(t);
	}
}

/* Sends scoreboard record i again as one segment, with fewer of our SACK
 * blocks if that is what makes it fit (a record is at most
 * tcp_max_payload()). Returns 1 if sent, 0 if not (no ring slot; the
 * bytes missing), -1 if the connection was aborted. */
static int resend_record(struct core_engine *e, struct tcp_conn *t,
			 struct out_ctx *c, uint32_t i)
{
	uint32_t start = tcp_sb_start(t, i);
	uint32_t end = tcp_sb_at(t->sb, i)->end;
	uint32_t dend = data_end(t);
	bool fin = t->fin_sent && SEQ_GT(end, dend);
	uint32_t len = (fin ? dend : end) - start;
	struct wire_tcp_opts o = c->o;

	if (!tx_free(e->tx)) {
		c->blocked = true;
		return 0;
	}
	while (o.sack_count && len > payload_cap(e, t, &o))
		o.sack_count--;
	if (len > payload_cap(e, t, &o)) {
		len = payload_cap(e, t, &o); /* cannot happen, see above */
		fin = false;
	}
	uint8_t *buf = tx_slot(e->tx, 0);
	if (len) {
		size_t hoff = tcp_ip_hdr_len(t) + wire_tcp_hdr_len(&o);
		struct core_iov iov = {buf + hoff, len};
		long r = e->ops->peek(e->ops_ctx, t->c.sock, start - t->snd_una,
				      &iov, 1);
		if (peek_failed(e, t, r))
			return -1;
		if (r <= 0)
			return 0; /* the bytes must be there */
		if ((uint32_t)r < len)
			fin = false;
		len = (uint32_t)r;
	}
	uint8_t fl = WIRE_TCP_ACK | (fin ? WIRE_TCP_FIN : 0);
	if (len)
		fl |= WIRE_TCP_PSH;
	emit(e, t, buf, &o, start, fl, len);
	CTR_INC(e, tcp_retransmits);
	karn(t, start, end);
	tcp_sb_resent(e, t, i);
	if (!t->rtx_at)
		t->rtx_at = e->now + tcp_rto_backed_off(t);
	return 1;
}

/* Step 1 with a scoreboard: the records taken as lost (RACK, RTO), lowest
 * first, as the pipe allows (RFC 6675 5, RFC 8985 9.2). Returns false if
 * the connection was aborted. */
static bool out_retransmit_sb(struct core_engine *e, struct tcp_conn *t,
			      struct out_ctx *c)
{
	uint32_t i;

	while (t->sb && tcp_sb_next_lost(t, &i)) {
		if (tcp_pipe(t) >= t->cwnd)
			return true;
		int r = resend_record(e, t, c, i);
		if (r < 0)
			return false;
		if (!r)
			return true;
		if (t->undo_on && t->undo_rtx < UINT16_MAX)
			t->undo_rtx++;
	}
	return true;
}

/* Step 2: new data from the host socket. A loss probe (probe) sends one
 * segment whatever cwnd says (RFC 8985 7.3). */
static bool out_new_data(struct core_engine *e, struct tcp_conn *t,
			 struct out_ctx *c, bool probe)
{
	for (;;) {
		uint32_t wnd_end = t->snd_una + t->snd_wnd;
		uint32_t room =
		    SEQ_GT(wnd_end, t->snd_nxt) ? wnd_end - t->snd_nxt : 0;
		uint32_t pipe = tcp_pipe(t);
		uint32_t cw = t->cwnd > pipe ? t->cwnd - pipe : 0;
		if (probe)
			cw = c->maxseg;
		if (cw < room)
			room = cw;
		if (!room)
			return true;
		if (room < c->maxseg && t->snd_nxt != t->snd_una && !probe)
			return true; /* SWS: wait for the ACK */
		uint32_t free = tx_free(e->tx);
		if (!free) {
			c->blocked = true;
			return true;
		}
		uint32_t nseg = (room + c->maxseg - 1) / c->maxseg;
		if (nseg > free)
			nseg = free;
		if (nseg > TCP_BURST)
			nseg = TCP_BURST;
		if (t->host_dry) {
			/* Peeked dry already and no readable event since:
			 * another peek would only cost a system call (the
			 * upload direction calls tcp_output per segment). */
			c->need_rd = true;
			return true;
		}
		struct core_iov iov[TCP_BURST];
		size_t want = 0;
		for (uint32_t k = 0; k < nseg; k++) {
			uint32_t l = room - (uint32_t)want;
			if (l > c->maxseg)
				l = c->maxseg;
			iov[k].base = tx_slot(e->tx, k) + c->hoff;
			iov[k].len = l;
			want += l;
		}
		long r = e->ops->peek(e->ops_ctx, t->c.sock,
				      t->snd_nxt - t->snd_una, iov, (int)nseg);
		if (peek_failed(e, t, r))
			return false;
		if (r == -EAGAIN) {
			t->host_dry = 1;
			c->need_rd = true;
			return true;
		}
		if (r == 0) {
			t->host_eof = 1;
			return true;
		}
		/* A scoreboard record for each segment, or wait for ACKs to
		 * free some (the bytes stay in the socket). */
		uint32_t filled = 0;
		for (size_t got = 0; filled < nseg && got < (size_t)r;)
			got += iov[filled++].len;
		uint32_t can = tcp_sb_room(e, t, filled, tcp_max_payload(e, t));
		if (!can)
			return true;
		uint32_t left = (uint32_t)r;
		if (can < filled) {
			left = 0;
			for (uint32_t k = 0; k < can; k++)
				left += (uint32_t)iov[k].len;
			nseg = can;
		}
		if (!t->rtt_on) {
			t->rtt_on = 1;
			t->rtt_seq = t->snd_nxt;
			t->rtt_start = (uint32_t)e->now;
		}
		for (uint32_t k = 0; k < nseg && left; k++) {
			uint32_t l =
			    left < iov[k].len ? left : (uint32_t)iov[k].len;
			uint8_t *buf = (uint8_t *)iov[k].base - c->hoff;
			uint8_t fl = WIRE_TCP_ACK;
			if (l == left)
				fl |= WIRE_TCP_PSH;
			emit(e, t, buf, &c->o, t->snd_nxt, fl, l);
			t->snd_nxt += l;
			left -= l;
			tcp_sb_sent(e, t);
		}
		if (!t->rtx_at)
			t->rtx_at = e->now + tcp_rto_backed_off(t);
		if (probe)
			return true;
		/* A short read drained the socket: the next peek answers
		 * -EAGAIN (watch for more) or 0 (the host's FIN came with
		 * the data, and no other event would tell us). */
	}
}

/* The app's window is zero and nothing is in flight: is there host data
 * to probe for? One byte peeked answers (and finds end of stream). */
static void check_zero_window(struct core_engine *e, struct tcp_conn *t,
			      struct out_ctx *c)
{
	uint8_t byte;
	struct core_iov iov = {&byte, 1};
	long r = e->ops->peek(e->ops_ctx, t->c.sock, 0, &iov, 1);

	if (peek_failed(e, t, r))
		return;
	if (r == 0) {
		t->host_eof = 1;
	} else if (r > 0) {
		if (!t->rtx_at)
			t->rtx_at = e->now + tcp_rto_backed_off(t);
	} else {
		c->need_rd = true;
	}
}

/**
 * tcp_output() - send whatever the connection may send now
 * @e:	engine
 * @t:	connection
 *
 * See the comment at the top of this file. Arms the retransmission or
 * persist deadline (rtx_at) and the loss probe (lr_at, tcp_rack.c), and
 * updates what the host socket is watched for; the caller re-arms the flow
 * timer.
 */
void tcp_output(struct core_engine *e, struct tcp_conn *t)
{
	union flow *f = tcp_flow(t);
	struct out_ctx c;

	if (f->c.closing || t->state < TCP_ESTABLISHED)
		return;
	if (t->state == TCP_TIME_WAIT) {
		if (t->ack_now)
			tcp_send_ack(e, t);
		return;
	}

	out_init(e, t, &c);
	if (!(t->sb ? out_retransmit_sb(e, t, &c) : out_retransmit(e, t, &c)))
		return;
	if (!c.blocked && can_send_data(t) && !t->host_eof && !t->fin_sent) {
		if (!out_new_data(e, t, &c, false))
			return;
		if (!t->snd_wnd && t->snd_una == t->snd_nxt && !c.blocked &&
		    !t->host_eof) {
			check_zero_window(e, t, &c);
			if (f->c.closing)
				return;
		}
	}
	if (!c.blocked && can_send_data(t) && t->host_eof && !t->fin_sent) {
		if (!tx_free(e->tx)) {
			c.blocked = true;
		} else if (tcp_sb_room(e, t, 1, tcp_max_payload(e, t))) {
			emit(e, t, tx_slot(e->tx, 0), &c.o, t->snd_nxt,
			     WIRE_TCP_FIN | WIRE_TCP_ACK, 0);
			t->snd_nxt++;
			t->fin_sent = 1;
			tcp_sb_sent(e, t);
			t->state = t->state == TCP_ESTABLISHED ? TCP_FIN_WAIT_1
							       : TCP_LAST_ACK;
			if (!t->rtx_at)
				t->rtx_at = e->now + tcp_rto_backed_off(t);
		}
	}
	if (t->ack_now && !c.blocked)
		tcp_send_ack(e, t);
	if (c.blocked || t->ack_now)
		core_wait_tx(e, f);

	if (t->snd_una != t->snd_nxt) {
		if (!t->rtx_at) /* RFC 6298 5.1 / 5.3 */
			t->rtx_at = e->now + tcp_rto_backed_off(t);
	} else if (t->snd_wnd || t->host_eof) {
		t->rtx_at = 0; /* nothing to retransmit or probe */
	}
	tcp_rack_arm(e, t);
	bool rd = c.need_rd && !t->host_eof;
	if (rd != t->want_rd)
		tcp_set_want(e, t, rd, t->want_wr);
}

/**
 * tcp_send_probe() - the tail loss probe (RFC 8985 7.3)
 * @e:	engine
 * @t:	connection with data in flight and a scoreboard
 *
 * One new segment if the app's window and the host socket allow, else (and
 * always in fast recovery) the highest segment not SACKed again. Sets
 * tlp_retrans to say which.
 * Return: true if a probe went out.
 */
bool tcp_send_probe(struct core_engine *e, struct tcp_conn *t)
{
	union flow *f = tcp_flow(t);
	struct out_ctx c;
	uint32_t nxt = t->snd_nxt;

	out_init(e, t, &c);
	/* In recovery the last segment not SACKed, which the app answers
	 * at once (it is out of order or a duplicate); else new data. */
	if (!t->in_recovery && can_send_data(t) && !t->host_eof &&
	    !t->fin_sent) {
		if (!out_new_data(e, t, &c, true))
			return false;
		if (c.need_rd && !t->want_rd)
			tcp_set_want(e, t, true, t->want_wr);
		if (t->snd_nxt != nxt) {
			t->tlp_retrans = 0;
			return true;
		}
	}
	if (f->c.closing || !t->sb)
		return false;
	for (uint32_t i = t->sb->n; i-- > 0;) {
		if (tcp_sb_at(t->sb, i)->fl & TCP_SEG_SACKED)
			continue;
		if (resend_record(e, t, &c, i) <= 0)
			return false;
		t->tlp_retrans = 1;
		return true;
	}
	return false;
}
