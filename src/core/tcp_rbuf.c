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
 * rewrite the same bytes, and a list of out-of-order ranges says what is
 * there beyond rcv_nxt. Pending in-order bytes are [host_nxt, rcv_nxt).
 *
 * Flow control: the right edge of the window we advertise follows
 * host_nxt + TCP_RCV_WND, which never moves left (RFC 9293 3.8.6.2.2), and
 * stays within host_nxt + TCP_RBUF_SIZE even when window scaling rounds it
 * up, so every byte the app may send fits in the ring: a slow host socket
 * shrinks the window instead of growing memory. If the budget refuses the
 * buffer, only what the socket took is acknowledged and a zero window is
 * advertised (rcv_zero) until the socket is writable; an out-of-order
 * segment is then dropped (tcp_ooo_dropped) and the app retransmits it.
 *
 * The app's FIN is passed on as shutdown(SHUT_WR) once every byte before
 * it is in the socket.
 */
#include <errno.h>
#include <string.h>

#include "core/tcp_int.h"

#define TCP_OOO_RANGES 8
#define RBUF_MASK      (TCP_RBUF_SIZE - 1)

struct tcp_rbuf {
	uint8_t nr;   /* out-of-order ranges */
	uint8_t last; /* the range the latest segment went to */
	uint8_t fin;  /* an out-of-order FIN at fin_seq */
	uint32_t fin_seq;
	struct {
		uint32_t s, e;
	} r[TCP_OOO_RANGES]; /* sorted, disjoint, above rcv_nxt */
	uint8_t data[TCP_RBUF_SIZE];
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
	core_mem_free(&e->mem, t->rbuf, sizeof(*t->rbuf));
	t->rbuf = NULL;
}

static void rbuf_put(struct tcp_rbuf *b, uint32_t seq, const uint8_t *p,
		     uint32_t len)
{
	uint32_t off = seq & RBUF_MASK;
	uint32_t first = TCP_RBUF_SIZE - off;

	if (first > len)
		first = len;
	memcpy(b->data + off, p, first);
	memcpy(b->data, p + first, len - first);
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

/**
 * tcp_rbuf_sack() - SACK blocks for an ACK to the app (RFC 2018 4)
 * @t:		connection
 * @o:		options being built; sack[] and sack_count are filled
 * @max:	room for blocks (3 with timestamps, 4 without)
 *
 * The block holding the latest segment comes first, the others follow.
 * Return: number of blocks.
 */
int tcp_rbuf_sack(const struct tcp_conn *t, struct wire_tcp_opts *o, int max)
{
	const struct tcp_rbuf *b = t->rbuf;
	int n = 0;

	if (!b || !b->nr || !t->sack_ok)
		return 0;
	if (max > WIRE_TCP_MAX_SACK)
		max = WIRE_TCP_MAX_SACK;
	int first = b->last < b->nr ? b->last : 0;
	o->sack[n].start = b->r[first].s;
	o->sack[n++].end = b->r[first].e;
	for (int i = 0; i < b->nr && n < max; i++) {
		if (i == first)
			continue;
		o->sack[n].start = b->r[i].s;
		o->sack[n++].end = b->r[i].e;
	}
	o->sack_count = (uint8_t)n;
	return n;
}

/* Records [s, e) as held out of order. Returns false when it would need
 * more ranges than the list has. */
static bool ooo_insert(struct tcp_rbuf *b, uint32_t s, uint32_t e)
{
	int i = 0, j;

	while (i < b->nr && SEQ_LT(b->r[i].e, s))
		i++;
	/* Ranges i..j-1 overlap or touch [s, e). */
	j = i;
	while (j < b->nr && SEQ_LEQ(b->r[j].s, e))
		j++;
	if (j == i) {
		if (b->nr == TCP_OOO_RANGES)
			return false;
		memmove(&b->r[i + 1], &b->r[i],
			(size_t)(b->nr - i) * sizeof(b->r[0]));
		b->r[i].s = s;
		b->r[i].e = e;
		b->nr++;
		b->last = (uint8_t)i;
		return true;
	}
	if (SEQ_LT(b->r[i].s, s))
		s = b->r[i].s;
	if (SEQ_GT(b->r[j - 1].e, e))
		e = b->r[j - 1].e;
	b->r[i].s = s;
	b->r[i].e = e;
	memmove(&b->r[i + 1], &b->r[j], (size_t)(b->nr - j) * sizeof(b->r[0]));
	b->nr = (uint8_t)(b->nr - (j - i - 1));
	b->last = (uint8_t)i;
	return true;
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
		if (!ooo_insert(b, seq, seq + len)) {
			CTR_INC(e, tcp_ooo_dropped);
			rbuf_maybe_free(e, t);
			return;
		}
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
 * Also passes the app's FIN on once everything before it is written, lifts
 * a zero window, and asks for an ACK when the window opened noticeably.
 */
void tcp_rcv_flush(struct core_engine *e, struct tcp_conn *t)
{
	uint32_t end = data_end(t);
	struct tcp_rbuf *b = t->rbuf;

	while (b && t->host_nxt != end) {
		uint32_t n = end - t->host_nxt;
		uint32_t off = t->host_nxt & RBUF_MASK;
		uint32_t first = TCP_RBUF_SIZE - off;
		struct core_iov iov[2];
		int cnt = 1;

		if (first > n)
			first = n;
		iov[0].base = b->data + off;
		iov[0].len = first;
		if (n > first) {
			iov[1].base = b->data;
			iov[1].len = n - first;
			cnt = 2;
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
	if (len) {
		struct tcp_rbuf *b = t->rbuf;
		if (b && t->host_nxt != data_end(t)) {
			/* Bytes are waiting for the socket: queue behind. */
			rbuf_put(b, seq, data, len);
			t->rcv_nxt = seq + len;
		} else {
			struct core_iov iov = {(void *)(uintptr_t)data, len};
			long r = e->ops->send(e->ops_ctx, t->c.sock, &iov, 1);
			if (r < 0 && r != -EAGAIN) {
				tcp_abort(e, t, true);
				return;
			}
			uint32_t took = r > 0 ? (uint32_t)r : 0;
			t->host_nxt += took;
			t->rcv_nxt = seq + took;
			if (took < len) {
				b = rbuf_get(e, t);
				if (b) {
					rbuf_put(b, seq + took, data + took,
						 len - took);
					t->rcv_nxt = seq + len;
				} else {
					/* No memory: acknowledge only what
					 * the socket took, close the window. */
					t->rcv_zero = 1;
					fin = false;
					t->ack_now = 1;
				}
				tcp_set_want(e, t, t->want_rd, true);
			}
		}
	}
	/* Deliver what the hole was hiding. */
	struct tcp_rbuf *b = t->rbuf;
	while (b && b->nr && SEQ_LEQ(b->r[0].s, t->rcv_nxt)) {
		if (SEQ_GT(b->r[0].e, t->rcv_nxt))
			t->rcv_nxt = b->r[0].e;
		memmove(&b->r[0], &b->r[1],
			(size_t)(b->nr - 1) * sizeof(b->r[0]));
		b->nr--;
		b->last = 0;
		hole_filled = true;
	}
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
