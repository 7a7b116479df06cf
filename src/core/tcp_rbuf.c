/* SPDX-License-Identifier: MIT */
/* tcp_rbuf.c - app->host data: straight to the socket, held only if it must.
 *
 * Theory of operation
 *
 * An in-order segment from the app is written to the host socket at once
 * (ops->send) and acknowledged. Bytes are held in userspace only in two
 * cases, both in one per-connection buffer (struct tcp_rbuf) that exists
 * only while it holds something and is charged to the memory budget:
 *   - overflow: the socket took less than the segment (its send buffer is
 *     full): the rest is kept, acknowledged, and written when the socket
 *     reports it is writable again;
 *   - out of order: a segment beyond a hole (RFC 9293 3.10.7.4 allows
 *     queueing in-window segments); it is SACKed (RFC 2018) and delivered
 *     when the hole fills.
 * The buffer is a ring of TCP_RBUF_SIZE bytes indexed by sequence number
 * (byte s lives at s mod size), so overlapping and duplicate segments just
 * rewrite the same bytes; up to TCP_OOO_RANGES ranges say what is there
 * beyond rcv_nxt (a segment that would make one more is dropped, counted
 * in tcp_ooo_dropped, and the app sends it again). Pending in-order bytes
 * are [host_nxt, rcv_nxt).
 *
 * Memory grows with what is held, not with the window: the ring is made of
 * TCP_RBUF_CHUNK-byte chunks allocated (from the budget) when a byte is
 * first written into them and freed as soon as no byte held lives there
 * (after each write to the socket); the header (ranges, chunk pointers) is
 * under 1 KiB. One out-of-order segment costs the header and one or two
 * chunks; a slow host socket fills the ring up to TCP_RBUF_SIZE.
 *
 * Flow control: the right edge of the window we advertise follows
 * host_nxt + TCP_RCV_WND, which never moves left (RFC 9293 3.8.6.2.2), and
 * stays within host_nxt + TCP_RBUF_SIZE even when window scaling rounds it
 * up, so every byte the app may send fits in the ring: a slow host socket
 * shrinks the window instead of growing memory. If the budget refuses a
 * chunk (or the header), only what the socket took and what could be
 * stored is acknowledged and a zero window is advertised (rcv_zero) until
 * the socket is writable; an out-of-order segment is then dropped
 * (tcp_ooo_dropped) and the app retransmits it.
 *
 * SACK blocks (RFC 2018 4): the first names the range that got the latest
 * segment, the next ones the ranges reported most recently before it, then
 * the lowest ones.
 *
 * The app's FIN is passed on as shutdown(SHUT_WR) once every byte before
 * it is in the socket.
 *
 * Runs (CORE_IN_MORE): without TUN offloads the app's bulk data arrives
 * one MSS per packet, and a send and an ACK per segment cost more than the
 * stack itself. When the driver says more packets of its batch follow, an
 * in-order data segment (nothing held, no FIN) is not written at once: it
 * starts a run in e->pend, the connection's next segments of the batch
 * extend it, and the run is written with one send of up to TCP_PEND_IOV
 * iovecs (pointing into the driver's packets) and acknowledged once - a
 * stretch ACK covering the batch - when anything else arrives, when a
 * packet without CORE_IN_MORE ends the batch, or before any other event.
 * Nothing is acknowledged before the socket took it, so the rules above
 * hold for the run as for one segment (tests: test_tcp_data.c, runs).
 */
#include <errno.h>
#include <string.h>

#include "core/tcp_int.h"

#define TCP_OOO_RANGES 32
#define TCP_RBUF_CHUNK 4096u
#define RBUF_NCHUNK    (TCP_RBUF_SIZE / TCP_RBUF_CHUNK)
#define RBUF_MASK      (TCP_RBUF_SIZE - 1)
#define RBUF_RECENT    3 /* ranges remembered for SACK (RFC 2018 4) */
#define RBUF_IOV       16

struct tcp_rbuf {
	uint8_t nr;	 /* out-of-order ranges */
	uint8_t nrecent; /* valid entries of recent[] */
	uint8_t fin;	 /* an out-of-order FIN at fin_seq */
	uint32_t fin_seq;
	uint32_t recent[RBUF_RECENT]; /* a byte of each range that got a
					 segment lately, latest first */
	struct {
		uint32_t s, e;
	} r[TCP_OOO_RANGES];	     /* sorted, disjoint, above rcv_nxt */
	uint8_t *chunk[RBUF_NCHUNK]; /* the ring; NULL: nothing there */
};

/* One past the app's last data byte received in order. */
static uint32_t data_end(const struct tcp_conn *t)
{
	return t->rcv_nxt - t->app_fin;
}

static struct tcp_rbuf *rbuf_get(struct core_engine *e, struct tcp_conn *t)
{
	if (!t->rbuf)
		t->rbuf = core_mem_alloc(&e->mem, sizeof(*t->rbuf));
	return t->rbuf;
}

void tcp_rbuf_free(struct core_engine *e, struct tcp_conn *t)
{
	struct tcp_rbuf *b = t->rbuf;

	if (!b)
		return;
	for (unsigned c = 0; c < RBUF_NCHUNK; c++)
		core_mem_free(&e->mem, b->chunk[c], TCP_RBUF_CHUNK);
	core_mem_free(&e->mem, b, sizeof(*b));
	t->rbuf = NULL;
}

/* Makes sure the chunks under [seq, seq + len) exist. Returns how many
 * bytes from seq on have a chunk (less than len: the budget refused). */
static uint32_t rbuf_reserve(struct core_engine *e, struct tcp_rbuf *b,
			     uint32_t seq, uint32_t len)
{
	uint32_t done = 0;

	while (done < len) {
		uint32_t off = (seq + done) & RBUF_MASK;
		unsigned c = off / TCP_RBUF_CHUNK;
		if (!b->chunk[c]) {
			b->chunk[c] = core_mem_alloc(&e->mem, TCP_RBUF_CHUNK);
			if (!b->chunk[c])
				return done;
		}
		done += TCP_RBUF_CHUNK - off % TCP_RBUF_CHUNK;
	}
	return len;
}

/* Copies len bytes for [seq, seq + len) into the ring (chunks reserved). */
static void rbuf_put(struct tcp_rbuf *b, uint32_t seq, const uint8_t *p,
		     uint32_t len)
{
	while (len) {
		uint32_t off = seq & RBUF_MASK;
		uint32_t in = off % TCP_RBUF_CHUNK;
		uint32_t n = TCP_RBUF_CHUNK - in;
		if (n > len)
			n = len;
		memcpy(b->chunk[off / TCP_RBUF_CHUNK] + in, p, n);
		seq += n;
		p += n;
		len -= n;
	}
}

/* Reserves and copies as much of [seq, seq + len) as the budget allows;
 * returns the bytes stored from seq on. */
static uint32_t rbuf_store(struct core_engine *e, struct tcp_rbuf *b,
			   uint32_t seq, const uint8_t *p, uint32_t len)
{
	uint32_t n = rbuf_reserve(e, b, seq, len);

	rbuf_put(b, seq, p, n);
	return n;
}

/* Whether [a, z) holds a byte kept: pending or out of order. */
static bool held(const struct tcp_conn *t, const struct tcp_rbuf *b, uint32_t a,
		 uint32_t z)
{
	if (SEQ_LT(a, data_end(t)) && SEQ_LT(t->host_nxt, z))
		return true;
	for (int i = 0; i < b->nr; i++)
		if (SEQ_LT(a, b->r[i].e) && SEQ_LT(b->r[i].s, z))
			return true;
	return false;
}

/* Whether chunk c holds a byte kept. All of them lie in the window
 * [host_nxt, host_nxt + TCP_RBUF_SIZE); the chunk under host_nxt covers
 * both its start and its end. */
static bool chunk_held(const struct tcp_conn *t, const struct tcp_rbuf *b,
		       unsigned c)
{
	uint32_t h = t->host_nxt;
	uint32_t off = (c * TCP_RBUF_CHUNK - h) & RBUF_MASK;
	uint32_t s = h + off;

	if (off + TCP_RBUF_CHUNK <= TCP_RBUF_SIZE)
		return held(t, b, s, s + TCP_RBUF_CHUNK);
	return held(t, b, s, h + TCP_RBUF_SIZE) ||
	       held(t, b, h, s + TCP_RBUF_CHUNK - TCP_RBUF_SIZE);
}

/* Frees the chunks under [seq, seq + len) that hold nothing any more. */
static void rbuf_trim(struct core_engine *e, struct tcp_conn *t, uint32_t seq,
		      uint32_t len)
{
	struct tcp_rbuf *b = t->rbuf;

	if (!b || !len)
		return;
	if (len > TCP_RBUF_SIZE)
		len = TCP_RBUF_SIZE;
	unsigned first = (seq & RBUF_MASK) / TCP_RBUF_CHUNK;
	unsigned last = ((seq + len - 1) & RBUF_MASK) / TCP_RBUF_CHUNK;
	for (unsigned c = first;; c = (c + 1) % RBUF_NCHUNK) {
		if (b->chunk[c] && !chunk_held(t, b, c)) {
			core_mem_free(&e->mem, b->chunk[c], TCP_RBUF_CHUNK);
			b->chunk[c] = NULL;
		}
		if (c == last)
			break;
	}
}

/* Frees the buffer when nothing is held any more (idle connections hold no
 * memory). */
static void rbuf_maybe_free(struct core_engine *e, struct tcp_conn *t)
{
	struct tcp_rbuf *b = t->rbuf;

	if (b && !b->nr && !b->fin && t->host_nxt == data_end(t))
		tcp_rbuf_free(e, t);
}

/* Bytes held in userspace (pending in-order plus out-of-order). */
uint32_t tcp_rbuf_held(const struct tcp_conn *t)
{
	if (!t->rbuf)
		return 0;
	uint32_t n = data_end(t) - t->host_nxt;
	for (int i = 0; i < t->rbuf->nr; i++)
		n += t->rbuf->r[i].e - t->rbuf->r[i].s;
	return n;
}

bool tcp_rbuf_has_ooo(const struct tcp_conn *t)
{
	return t->rbuf && t->rbuf->nr;
}

/* The range holding sequence s, or -1. */
static int range_of(const struct tcp_rbuf *b, uint32_t s)
{
	for (int i = 0; i < b->nr; i++)
		if (SEQ_LEQ(b->r[i].s, s) && SEQ_LT(s, b->r[i].e))
			return i;
	return -1;
}

/**
 * tcp_rbuf_sack() - SACK blocks for an ACK to the app (RFC 2018 4)
 * @t:		connection
 * @o:		options being built; sack[] and sack_count are filled
 * @max:	room for blocks (3 with timestamps, 4 without)
 *
 * The block holding the latest segment comes first, then those reported
 * most recently, then the lowest others.
 * Return: number of blocks.
 */
int tcp_rbuf_sack(const struct tcp_conn *t, struct wire_tcp_opts *o, int max)
{
	const struct tcp_rbuf *b = t->rbuf;
	int idx[WIRE_TCP_MAX_SACK];
	int n = 0;

	if (!b || !b->nr || !t->sack_ok)
		return 0;
	if (max > WIRE_TCP_MAX_SACK)
		max = WIRE_TCP_MAX_SACK;
	for (int k = 0; k < b->nrecent + b->nr && n < max; k++) {
		int i =
		    k < b->nrecent ? range_of(b, b->recent[k]) : k - b->nrecent;
		bool dup = i < 0;
		for (int j = 0; j < n && !dup; j++)
			dup = idx[j] == i;
		if (dup)
			continue;
		idx[n] = i;
		o->sack[n].start = b->r[i].s;
		o->sack[n++].end = b->r[i].e;
	}
	o->sack_count = (uint8_t)n;
	return n;
}

/* Whether [s, e) can be recorded: it touches a range, or one is free. */
static bool ooo_fits(const struct tcp_rbuf *b, uint32_t s, uint32_t e)
{
	if (b->nr < TCP_OOO_RANGES)
		return true;
	for (int i = 0; i < b->nr; i++)
		if (SEQ_LEQ(b->r[i].s, e) && SEQ_LEQ(s, b->r[i].e))
			return true;
	return false;
}

/* Records [s, e) as held out of order (ooo_fits() said it can). */
static void ooo_insert(struct tcp_rbuf *b, uint32_t s, uint32_t e)
{
	int i = 0, j;

	while (i < b->nr && SEQ_LT(b->r[i].e, s))
		i++;
	/* Ranges i..j-1 overlap or touch [s, e). */
	j = i;
	while (j < b->nr && SEQ_LEQ(b->r[j].s, e))
		j++;
	if (j == i) {
		memmove(&b->r[i + 1], &b->r[i],
			(size_t)(b->nr - i) * sizeof(b->r[0]));
		b->r[i].s = s;
		b->r[i].e = e;
		b->nr++;
	} else {
		if (SEQ_LT(b->r[i].s, s))
			s = b->r[i].s;
		if (SEQ_GT(b->r[j - 1].e, e))
			e = b->r[j - 1].e;
		b->r[i].s = s;
		b->r[i].e = e;
		memmove(&b->r[i + 1], &b->r[j],
			(size_t)(b->nr - j) * sizeof(b->r[0]));
		b->nr = (uint8_t)(b->nr - (j - i - 1));
	}
}

/* The latest segment went to the range holding s: first in recent[]. */
static void ooo_recent(struct tcp_rbuf *b, uint32_t s)
{
	int n = b->nrecent < RBUF_RECENT ? b->nrecent + 1 : RBUF_RECENT;

	memmove(&b->recent[1], &b->recent[0],
		(size_t)(n - 1) * sizeof(b->recent[0]));
	b->recent[0] = s;
	b->nrecent = (uint8_t)n;
}

static void ooo_queue(struct core_engine *e, struct tcp_conn *t, uint32_t seq,
		      const uint8_t *data, uint32_t len, bool fin)
{
	struct tcp_rbuf *b = rbuf_get(e, t);

	t->ack_now = 1; /* RFC 5681 4.2: ACK out-of-order data at once */
	if (!b) {
		CTR_INC(e, tcp_ooo_dropped);
		return;
	}
	if (len) {
		if (!ooo_fits(b, seq, seq + len) ||
		    rbuf_reserve(e, b, seq, len) < len) {
			CTR_INC(e, tcp_ooo_dropped);
			rbuf_trim(e, t, seq, len);
			rbuf_maybe_free(e, t);
			return;
		}
		ooo_insert(b, seq, seq + len);
		ooo_recent(b, seq);
		rbuf_put(b, seq, data, len);
		CTR_INC(e, tcp_ooo_queued);
	}
	if (fin) {
		b->fin = 1;
		b->fin_seq = seq + len;
	}
}

/**
 * tcp_rcv_flush() - write held in-order bytes to the host socket
 * @e:	engine
 * @t:	connection
 *
 * Also frees the chunks written out, passes the app's FIN on once
 * everything before it is written, lifts a zero window, and asks for an
 * ACK when the window opened noticeably.
 */
void tcp_rcv_flush(struct core_engine *e, struct tcp_conn *t)
{
	uint32_t end = data_end(t);
	uint32_t from = t->host_nxt;
	struct tcp_rbuf *b = t->rbuf;

	while (b && t->host_nxt != end) {
		struct core_iov iov[RBUF_IOV];
		uint32_t s = t->host_nxt;
		int cnt = 0;

		while (cnt < RBUF_IOV && s != end) {
			uint32_t off = s & RBUF_MASK;
			uint32_t in = off % TCP_RBUF_CHUNK;
			uint32_t n = TCP_RBUF_CHUNK - in;
			if (n > end - s)
				n = end - s;
			iov[cnt].base = b->chunk[off / TCP_RBUF_CHUNK] + in;
			iov[cnt++].len = n;
			s += n;
		}
		long r = e->ops->send(e->ops_ctx, t->c.sock, iov, cnt);
		if (r == -EAGAIN || r == 0)
			break;
		if (r < 0) {
			tcp_abort(e, t, true);
			return;
		}
		t->host_nxt += (uint32_t)r;
	}
	rbuf_trim(e, t, from, t->host_nxt - from);

	if (t->host_nxt != end) {
		tcp_set_want(e, t, t->want_rd, true);
		return;
	}
	if (t->rcv_zero) {
		t->rcv_zero = 0;
		t->ack_now = 1; /* window update */
	}
	if (t->want_wr)
		tcp_set_want(e, t, t->want_rd, false);
	rbuf_maybe_free(e, t);
	/* RFC 9293 3.8.6.2.2: tell the app when the window opens by a
	 * segment or more and what it last saw was small. */
	uint32_t right = t->host_nxt + TCP_RCV_WND;
	if (SEQ_LT(t->rcv_adv, right) &&
	    t->rcv_adv - t->rcv_nxt < TCP_RBUF_SIZE / 2 &&
	    right - t->rcv_adv >= 2u * t->mss)
		t->ack_now = 1;
	if (t->app_fin && !t->shut_done) {
		t->shut_done = 1;
		e->ops->shutdown_wr(e->ops_ctx, t->c.sock);
		tcp_check_done(e, t);
	}
}

/* No memory for what the socket did not take: acknowledge only what was
 * kept, close the window until the socket drains. */
static void window_closed(struct core_engine *e, struct tcp_conn *t)
{
	if (!t->rcv_zero) {
		CTR_INC(e, tcp_window_closed_memory);
		core_log_refusal(e, CORE_REFUSE_WINDOW, &t->c.key,
				 "%zu of max_memory's %zu "
				 "bytes in use: receive "
				 "window closed until the "
				 "host socket drains "
				 "(raise it: --max-memory)",
				 e->mem.used, e->mem.budget);
	}
	t->rcv_zero = 1;
	t->ack_now = 1;
}

/* In-order bytes at seq == rcv_nxt (cnt iovecs, len bytes in all): written
 * to the host socket (send; false: bytes already wait for it and these
 * queue behind), and what the socket did not take is held and acknowledged
 * all the same. For one segment and for a run (tcp_pend_flush) alike.
 * Returns 1 if every byte was taken or held, 0 if the budget refused some
 * (the window is closed), -1 if the connection was aborted. */
static int take_in_order(struct core_engine *e, struct tcp_conn *t,
			 uint32_t seq, const struct core_iov *iov, uint32_t cnt,
			 uint32_t len, bool send)
{
	uint32_t took = 0;
	if (send) {
		long r = e->ops->send(e->ops_ctx, t->c.sock, iov, (int)cnt);
		if (r < 0 && r != -EAGAIN) {
			tcp_abort(e, t, true);
			return -1;
		}
		took = r > 0 ? (uint32_t)r : 0;
		t->host_nxt += took;
	}
	t->rcv_nxt = seq + took;
	if (took == len)
		return 1;
	struct tcp_rbuf *b = rbuf_get(e, t);
	uint32_t skip = took;
	for (uint32_t i = 0; b && i < cnt; i++) {
		uint32_t l = (uint32_t)iov[i].len;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		const uint8_t *d = (const uint8_t *)iov[i].base + skip;
		uint32_t want = l - skip;
		skip = 0;
		uint32_t got = rbuf_store(e, b, t->rcv_nxt, d, want);
		t->rcv_nxt += got;
		if (got < want)
			break;
	}
	bool kept = t->rcv_nxt == seq + len;
	if (!kept) {
		window_closed(e, t);
		rbuf_maybe_free(e, t);
	}
	tcp_set_want(e, t, t->want_rd, true);
	return kept;
}

/**
 * tcp_rcv_segment() - take the data and FIN of an acceptable segment
 * @e:		engine
 * @t:		connection in a state that receives data
 * @seq:	the segment's first sequence number (after any SYN)
 * @data:	its payload
 * @len:	payload bytes
 * @fin:	the segment carries FIN (at seq + len)
 *
 * Writes in-order bytes to the host socket, holds what it cannot take or
 * what is out of order, and sets up the ACK. If the FIN became in order,
 * sets app_fin and advances rcv_nxt past it; the caller changes state.
 */
void tcp_rcv_segment(struct core_engine *e, struct tcp_conn *t, uint32_t seq,
		     const uint8_t *data, uint32_t len, bool fin)
{
	uint32_t fin_seq = seq + len;
	uint32_t limit = t->host_nxt + TCP_RBUF_SIZE;
	bool hole_filled = false;

	if (t->app_fin)
		return;
	if (e->pend.t == t) {
		/* tcp_pend_extends() let this segment through: extend. */
		struct tcp_pend *p = &e->pend;
		p->iov[p->cnt].base = (void *)(uintptr_t)data;
		p->iov[p->cnt++].len = len;
		p->len += len;
		return;
	}
	/* Left edge: drop what we already have (RFC 9293 3.10.7.4). */
	if (SEQ_LT(seq, t->rcv_nxt)) {
		uint32_t d = t->rcv_nxt - seq;
		if (d > len)
			d = len;
		data += d;
		len -= d;
		seq += d;
	}
	/* Right edge: what does not fit in the ring (beyond the window). */
	if (len && SEQ_GT(seq + len, limit)) {
		len = SEQ_GT(limit, seq) ? limit - seq : 0;
		fin = false;
	}
	if (SEQ_GT(seq, t->rcv_nxt)) {
		ooo_queue(e, t, seq, data, len, fin);
		return;
	}
	if (len && e->in_more && !fin && !t->rbuf && !e->pend.t) {
		/* The first segment of a run: wait for the rest. */
		struct tcp_pend *p = &e->pend;
		p->t = t;
		p->seq = seq;
		p->len = len;
		p->cnt = 1;
		p->iov[0].base = (void *)(uintptr_t)data;
		p->iov[0].len = len;
		return;
	}
	if (len) {
		/* Bytes already wait for the socket: these queue behind. */
		bool send = !t->rbuf || t->host_nxt == data_end(t);
		struct core_iov iov = {(void *)(uintptr_t)data, len};
		int k = take_in_order(e, t, seq, &iov, 1, len, send);
		if (k < 0)
			return;
		if (!k)
			fin = false;
	}
	/* Deliver what the hole was hiding. */
	struct tcp_rbuf *b = t->rbuf;
	while (b && b->nr && SEQ_LEQ(b->r[0].s, t->rcv_nxt)) {
		if (SEQ_GT(b->r[0].e, t->rcv_nxt))
			t->rcv_nxt = b->r[0].e;
		memmove(&b->r[0], &b->r[1],
			(size_t)(b->nr - 1) * sizeof(b->r[0]));
		b->nr--;
		hole_filled = true;
	}
	if (b && !b->nr)
		b->nrecent = 0;
	if (b && b->fin && b->fin_seq == t->rcv_nxt) {
		fin = true;
		fin_seq = t->rcv_nxt;
	}
	if (fin && fin_seq == t->rcv_nxt) {
		t->app_fin = 1;
		t->rcv_nxt++;
		if (b)
			b->fin = 0;
		t->ack_now = 1;
	}
	if (hole_filled)
		t->ack_now = 1; /* RFC 5681 4.2: at once when a hole fills */
	else if (len && !t->ack_now)
		tcp_delack(e, t);
	if (t->rbuf || t->app_fin)
		tcp_rcv_flush(e, t);
}

/**
 * tcp_pend_extends() - may this segment extend the pending run?
 * @e:		engine
 * @f:		the segment's flow
 * @pkt:	the checked segment
 *
 * Only a plain in-order data segment of the same connection (ACK, maybe
 * PSH; no SYN, FIN, RST or URG) that starts where the run ends and fits
 * the window's ring; anything else ends the run first. (The batch's last
 * packet may extend it too: core_input() ends the run right after.)
 */
bool tcp_pend_extends(const struct core_engine *e, union flow *f,
		      const struct wire_packet *pkt)
{
	const struct tcp_pend *p = &e->pend;
	const struct wire_tcp *th = &pkt->u.tcp;
	if (f->c.type != FLOW_TCP || p->t != tcp_of(f))
		return false;
	const struct tcp_conn *t = p->t;
	return (th->flags & ~WIRE_TCP_PSH) == WIRE_TCP_ACK &&
	       pkt->payload_len > 0 && p->cnt < TCP_PEND_IOV &&
	       th->seq == p->seq + p->len &&
	       SEQ_LEQ(th->seq + pkt->payload_len, t->host_nxt + TCP_RBUF_SIZE);
}

/**
 * tcp_pend_flush() - write the pending run and acknowledge it
 * @e:	engine
 *
 * As tcp_rcv_segment() does for one segment: one send, what the socket
 * did not take is held (or the window closes), one ACK decision for the
 * whole run; then the connection sends what it may.
 */
void tcp_pend_flush(struct core_engine *e)
{
	struct tcp_pend *p = &e->pend;
	struct tcp_conn *t = p->t;
	if (!t)
		return;
	p->t = NULL;
	union flow *f = tcp_flow(t);
	if (f->c.closing || t->app_fin)
		return; /* reset or aborted meanwhile: the data goes with it */
	if (take_in_order(e, t, p->seq, p->iov, p->cnt, p->len, true) < 0)
		return;
	/* One ACK for the run (a stretch ACK, as GRO makes a receiver send):
	 * counted as the segments it covers, so two or more ACK at once. */
	if (!t->ack_now) {
		t->segs_unacked += p->cnt - 1;
		tcp_delack(e, t);
	}
	tcp_output(e, t);
	tcp_check_done(e, t);
	tcp_timer_arm(e, t);
}
