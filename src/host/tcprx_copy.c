/* SPDX-License-Identifier: MIT */
/* tcprx_copy.c - host -> app TCP data kept in userspace until the app
 * acknowledges it (see tcprx.h). Darwin always takes this path; Linux
 * takes it where the kernel cannot peek TCP data at an offset, or with
 * tcp_rx copy (the e2e tests' *.copy variants run it in CI).
 *
 * Theory of operation
 *
 * The core names the bytes it wants by their offset past the oldest
 * unacknowledged byte, and every byte it has sent must be there again for
 * a retransmission until discard(). Each connection with data in flight
 * has a ring holding exactly the stream from that oldest byte on: peek()
 * reads from the socket into the ring's free space as far as the request
 * needs, then copies out from the ring; discard() advances the ring's
 * head. Bytes leave the kernel only into the ring, so the ring plus the
 * socket always hold the stream from offset 0; the ring can be dropped
 * whenever it is empty, and a connection can gain a ring at any time.
 *
 * Sharing the budget (an iOS extension dies at a few tens of MB, and
 * max_memory is the promise that keeps it alive): rings are charged to the
 * engine's budget, which keeps a quarter for flows (rings never make the
 * engine refuse new flows by themselves). What is left, the ring pool, is
 * shared: a connection's fair share is the pool divided by the connections
 * moving data (holding a ring, waiting for one, or peeked in this or the
 * last RX_EPOCH_MS), and its ring is
 * sized to the largest power of two within the share, between RX_RING_MIN
 * and RX_RING_MAX. A ring starts at its share (at most RX_RING_START),
 * grows (doubling) when it is full and its share allows, and shrinks to
 * its share when another connection waits for a ring (or the share fell
 * below half its size) and its bytes fit the smaller one. Each
 * connection's flight is its ring's size, so the throughput of N
 * connections degrades smoothly as the budget tightens instead of some
 * getting RX_RING_MAX and others nothing. An idle connection holds no ring
 * (given up as soon as it is empty); the engine keeps the last one given
 * up as a spare for the next (still charged; dropped as soon as a
 * connection has to go without, or when a socket closes and no ring is in
 * use).
 *
 * Without a ring (the pool cannot give even RX_RING_MIN), a connection is
 * served straight from its socket: MSG_PEEK from the head into one shared
 * scratch area of RX_SCRATCH bytes, copying out what lies at the offset;
 * discard() reads and drops. Its flight is RX_SCRATCH bytes, and it gets a
 * ring again as soon as one fits.
 *
 * Wake-ups: the core stops asking when peek() says -EAGAIN and waits for
 * a readable event (edge-triggered). A ring read to EAGAIN guarantees one:
 * the socket was drained, so new data or the host's FIN makes an edge.
 * Two -EAGAIN answers have no edge coming, and the next discard() that
 * makes room queues a deferred readable event instead (rx_full):
 *   - the ring (or the scratch flight) is full: the data is already in
 *     the socket;
 *   - without a ring, nothing lies at the offset yet: MSG_PEEK does not
 *     drain the socket, so the host's FIN (or data) may already sit
 *     behind the bytes in flight, its edge long gone. (Before this, a
 *     FIN that arrived behind data in flight was never seen, and the
 *     download stalled at its end: test_tcp_rx_budget.sh,
 *     test_tcprx.c.)
 *
 * End of stream and errors: a read returning 0 (FIN) or an error is
 * remembered in the ring and reported once the bytes before it are out,
 * as the kernel would.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "core/mem.h"
#include "host/tcprx_backend.h"
#include "os/os_clock.h"

#define RX_RING_MAX (256u * 1024u)
#define RX_RING_MIN (8u * 1024u)
/* A new ring starts at most this large and doubles when it fills while
 * its share allows: connections that arrive together then share the pool
 * from the start instead of the first comers taking it all. */
#define RX_RING_START (32u * 1024u)
#define RX_EPOCH_MS   250u
#define RX_SCRATCH    (16u * 1024u)

struct tcprx_ring {
	uint32_t head, len, cap;
	uint8_t eof;  /* the host's FIN was read after the ring's bytes */
	uint8_t full; /* a peek found the ring full: wake on room */
	int err;      /* errno of a failed read, after the ring's bytes */
	uint8_t buf[];
};

/* Driver-wide state: the scratch area (allocated on first use) and the
 * rings' census, which the fair share is computed from. */
struct tcprx_copy_state {
	uint8_t *scratch;
	/* The last ring freed, kept (and still charged) for the next one: a
	 * download's ring empties whenever the app has caught up, and freeing
	 * and making it again (from 32 KiB up) would cost page faults and
	 * copies each time. At most one per engine; given up under pressure. */
	struct tcprx_ring *spare;
	uint32_t nrings;
	uint32_t nringless; /* connections with data but no ring */
	/* Connections that moved data in this epoch (RX_EPOCH_MS) and the
	 * last: downloads peek in bursts clocked by the app's ACKs, so those
	 * holding a ring at one instant undercount the ones sharing. */
	uint32_t epoch, active_now, active_last;
	size_t ring_bytes; /* charged to the budget for rings */
};

static struct tcprx_copy_state *state(struct driver *d)
{
	if (!d->tcprx)
		d->tcprx = calloc(1, sizeof(struct tcprx_copy_state));
	return d->tcprx;
}

static size_t ring_size(uint32_t cap)
{
	return sizeof(struct tcprx_ring) + cap;
}

/* The ring size a connection should have now: its share of the pool with
 * `extra` more rings than today, rounded down to a power of two and kept
 * within RX_RING_MIN..RX_RING_MAX. */
static uint32_t fair_cap(struct driver *d, struct tcprx_copy_state *st,
			 uint32_t extra)
{
	const struct core_mem *m = core_budget(d->core);
	if (m->budget == 0)
		return RX_RING_MAX;
	size_t others = m->used - st->ring_bytes;
	size_t keep = m->budget / 4 + others;
	size_t pool = m->budget > keep ? m->budget - keep : 0;
	uint32_t n = st->nrings + st->nringless;
	if (n < st->active_now)
		n = st->active_now;
	if (n < st->active_last)
		n = st->active_last;
	n += extra;
	size_t share = pool / (n ? n : 1);
	uint32_t cap = RX_RING_MAX;
	while (cap > RX_RING_MIN && ring_size(cap) > share)
		cap /= 2;
	return cap;
}

/* How far ring r may be filled now: its size, or its share when another
 * connection waits for a ring (it then drains to the share and shrinks on
 * a discard, making room). */
static uint32_t ring_limit(struct driver *d, struct tcprx_copy_state *st,
			   const struct tcprx_ring *r)
{
	if (!st->nringless)
		return r->cap;
	uint32_t share = fair_cap(d, st, 0);
	return share < r->cap ? share : r->cap;
}

/* Charges n bytes of ring memory, keeping the flows' quarter free. */
static bool charge(struct driver *d, struct tcprx_copy_state *st, size_t n)
{
	struct core_mem *m = core_budget(d->core);
	if (!core_mem_can(m, n + m->budget / 4) || core_mem_charge(m, n) < 0)
		return false;
	st->ring_bytes += n;
	__atomic_store_n(&d->tcprx_stats.ring_bytes, st->ring_bytes,
			 __ATOMIC_RELAXED);
	return true;
}

static void uncharge(struct driver *d, struct tcprx_copy_state *st, size_t n)
{
	core_mem_uncharge(core_budget(d->core), n);
	st->ring_bytes -= n;
	__atomic_store_n(&d->tcprx_stats.ring_bytes, st->ring_bytes,
			 __ATOMIC_RELAXED);
}

static void count(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

/* A new empty ring at the connection's fair share (smaller if only that
 * fits), or NULL: then the connection goes without (counted). */
static struct tcprx_ring *ring_get(struct driver *d,
				   struct tcprx_copy_state *st)
{
	uint32_t start = fair_cap(d, st, 1);
	struct tcprx_ring *r = st->spare;
	if (r) {
		st->spare = NULL;
		if (r->cap <= start) {
			uint32_t cap = r->cap;
			memset(r, 0, sizeof(*r));
			r->cap = cap;
			st->nrings++;
			return r;
		}
		uncharge(d, st, ring_size(r->cap)); /* over the share now */
		free(r);
	}
	if (start > RX_RING_START)
		start = RX_RING_START;
	for (uint32_t cap = start; cap >= RX_RING_MIN; cap /= 2) {
		if (!charge(d, st, ring_size(cap)))
			continue;
		r = malloc(ring_size(cap));
		if (!r) {
			uncharge(d, st, ring_size(cap));
			break;
		}
		memset(r, 0, sizeof(*r));
		r->cap = cap;
		st->nrings++;
		return r;
	}
	return NULL;
}

/* Gives the spare ring back to the budget (someone needs the room). */
static void drop_spare(struct driver *d, struct tcprx_copy_state *st)
{
	if (!st->spare)
		return;
	uncharge(d, st, ring_size(st->spare->cap));
	free(st->spare);
	st->spare = NULL;
}

/* A connection with data starts or ends a stint without a ring. */
static void set_ringless(struct driver *d, struct tcprx_copy_state *st,
			 struct hsock *s, bool on)
{
	if (s->ringless == on)
		return;
	s->ringless = on;
	if (on) {
		drop_spare(d, st);
		st->nringless++;
		count(&d->tcprx_stats.ringless);
		count(&d->tcprx_stats.rings_refused);
	} else {
		st->nringless--;
	}
}

static void ring_put(struct driver *d, struct hsock *s)
{
	struct tcprx_copy_state *st = d->tcprx;
	if (!s->rx)
		return;
	st->nrings--;
	if (!st->spare && !st->nringless) {
		st->spare = s->rx;
	} else {
		uncharge(d, st, ring_size(s->rx->cap));
		free(s->rx);
	}
	s->rx = NULL;
}

/* Copies n bytes out of ring r from offset off into dst (linear). */
static void ring_read(const struct tcprx_ring *r, uint32_t off, uint8_t *dst,
		      size_t n)
{
	uint32_t p = (r->head + off) % r->cap;
	size_t first = r->cap - p < n ? r->cap - p : n;
	memcpy(dst, r->buf + p, first);
	memcpy(dst + first, r->buf, n - first);
}

/* Moves the ring's bytes into a new one of cap bytes (>= its length).
 * Returns false, leaving r as it was, if the budget or malloc says no. */
static bool ring_resize(struct driver *d, struct hsock *s, uint32_t cap)
{
	struct tcprx_copy_state *st = d->tcprx;
	struct tcprx_ring *r = s->rx;
	bool grow = cap > r->cap;
	/* Growing charges the difference first; shrinking frees it after. */
	if (grow && !charge(d, st, cap - r->cap)) {
		count(&d->tcprx_stats.rings_refused);
		return false;
	}
	struct tcprx_ring *n = malloc(ring_size(cap));
	if (!n) {
		if (grow)
			uncharge(d, st, cap - r->cap);
		return false;
	}
	*n = *r;
	ring_read(r, 0, n->buf, r->len);
	n->head = 0;
	n->cap = cap;
	if (!grow)
		uncharge(d, st, r->cap - cap);
	free(r);
	s->rx = n;
	return true;
}

/* Reads from the socket into the ring until it holds `need` bytes, the
 * socket is empty (EAGAIN), or the ring is full. */
static void ring_fill(struct hsock *s, struct tcprx_ring *r, size_t need)
{
	while (r->len < need && r->len < r->cap && !r->eof && !r->err) {
		uint32_t tail = (r->head + r->len) % r->cap;
		uint32_t room = r->cap - r->len;
		uint32_t first = r->cap - tail < room ? r->cap - tail : room;
		struct iovec v[2] = {{r->buf + tail, first},
				     {r->buf, room - first}};
		struct msghdr mh = {.msg_iov = v,
				    .msg_iovlen = room > first ? 2 : 1};
		ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
		if (n > 0)
			r->len += (uint32_t)n;
		else if (n == 0)
			r->eof = 1;
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		else if (errno != EINTR)
			r->err = errno;
	}
}

/* Copies up to the iovecs' room of the len bytes at src + pos (a ring of
 * cap bytes when cap is not 0, else linear). */
static size_t copy_out(const struct core_iov *iov, int iovcnt,
		       const uint8_t *src, uint32_t cap, uint32_t pos,
		       size_t len)
{
	size_t done = 0;
	for (int i = 0; i < iovcnt && done < len; i++) {
		size_t want = iov[i].len < len - done ? iov[i].len : len - done;
		uint8_t *dst = iov[i].base;
		size_t got = 0;
		while (got < want) {
			uint32_t p = (uint32_t)(pos + done + got);
			size_t c = want - got;
			if (cap) {
				p %= cap;
				if (c > cap - p)
					c = cap - p;
			}
			memcpy(dst + got, src + p, c);
			got += c;
		}
		done += want;
	}
	return done;
}

static size_t iov_len(const struct core_iov *iov, int iovcnt)
{
	size_t n = 0;
	for (int i = 0; i < iovcnt; i++)
		n += iov[i].len;
	return n;
}

/* Without a ring: MSG_PEEK from the socket's head into scratch. Every
 * -EAGAIN asks for a wake-up on the next discard (see the top). */
static long peek_scratch(struct driver *d, struct tcprx_copy_state *st,
			 struct hsock *s, size_t off,
			 const struct core_iov *iov, int iovcnt)
{
	if (!st->scratch)
		st->scratch = malloc(RX_SCRATCH);
	if (!st->scratch)
		return -EAGAIN;
	if (off >= RX_SCRATCH) {
		s->rx_full = 1;
		return -EAGAIN;
	}
	size_t need = off + iov_len(iov, iovcnt);
	if (need > RX_SCRATCH)
		need = RX_SCRATCH;
	ssize_t n = recv(s->fd, st->scratch, need, MSG_DONTWAIT | MSG_PEEK);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	if ((size_t)n <= off) {
		/* Bytes in flight fill what the socket has; a FIN may wait
		 * behind them with no edge to come. */
		s->rx_full = 1;
		return -EAGAIN;
	}
	return (long)copy_out(iov, iovcnt, st->scratch, 0, (uint32_t)off,
			      (size_t)n - off);
}

/* Counts socket s as active in the current epoch. */
static void note_active(struct tcprx_copy_state *st, struct hsock *s)
{
	uint32_t e = (uint32_t)(os_clock_us() / 1000u / RX_EPOCH_MS);
	if (e != st->epoch) {
		st->active_last = e == st->epoch + 1 ? st->active_now : 0;
		st->active_now = 0;
		st->epoch = e;
	}
	if (s->rx_epoch != (uint16_t)(e + 1)) { /* + 1: 0 is "never" */
		s->rx_epoch = (uint16_t)(e + 1);
		st->active_now++;
	}
}

long tcprx_copy_peek(struct driver *d, int id, size_t offset,
		     const struct core_iov *iov, int iovcnt)
{
	struct hsock *s = &d->socks[id];
	struct tcprx_copy_state *st = state(d);
	if (!st)
		return -EAGAIN;
	note_active(st, s);
	struct tcprx_ring *r = s->rx;
	if (!r) {
		r = ring_get(d, st);
		if (!r) {
			long n = peek_scratch(d, st, s, offset, iov, iovcnt);
			/* An idle connection (nothing in flight, nothing
			 * waiting) does not count against the others' share. */
			set_ringless(d, st, s, !(offset == 0 && n == -EAGAIN));
			return n;
		}
		set_ringless(d, st, s, false);
		s->rx = r;
	}
	size_t need = offset + iov_len(iov, iovcnt);
	uint32_t lim = ring_limit(d, st, r);
	ring_fill(s, r, need < lim ? need : lim);
	if (r->len < need && r->len == r->cap && lim == r->cap && !r->eof &&
	    !r->err) {
		/* Full: grow if this connection's share allows. */
		uint32_t cap = fair_cap(d, st, 0);
		if (cap > r->cap && ring_resize(d, s, r->cap * 2)) {
			r = s->rx;
			lim = r->cap;
			ring_fill(s, r, need);
		}
	}
	if (r->len > offset)
		return (long)copy_out(iov, iovcnt, r->buf, r->cap,
				      r->head + (uint32_t)offset,
				      r->len - offset);
	if (r->err)
		return -r->err;
	if (r->eof)
		return 0;
	if (r->len >= lim)
		r->full = 1;
	if (r->len == 0)
		ring_put(d, s); /* nothing to hold: an idle socket has none */
	return -EAGAIN;
}

long tcprx_copy_recv(struct driver *d, int id, const struct core_iov *iov,
		     int iovcnt)
{
	struct hsock *s = &d->socks[id];
	struct tcprx_ring *r = s->rx;
	if (r && r->len) {
		size_t n =
		    copy_out(iov, iovcnt, r->buf, r->cap, r->head, r->len);
		tcprx_copy_discard(d, id, n);
		return (long)n;
	}
	if (r && r->err)
		return -r->err;
	if (r && r->eof)
		return 0;
	struct msghdr mh = {.msg_iov = (struct iovec *)(uintptr_t)iov,
			    .msg_iovlen = iovcnt};
	ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
	return n < 0 ? -errno : n;
}

int tcprx_copy_discard(struct driver *d, int id, size_t n)
{
	struct hsock *s = &d->socks[id];
	struct tcprx_copy_state *st = d->tcprx;
	struct tcprx_ring *r = s->rx;
	if (n && s->rx_full) {
		s->rx_full = 0;
		driver_defer_event(d, id);
	}
	if (r) {
		size_t k = n < r->len ? n : r->len;
		r->head = (uint32_t)((r->head + k) % r->cap);
		r->len -= (uint32_t)k;
		n -= k;
		if (r->full && k) {
			r->full = 0;
			driver_defer_event(d, id);
		}
		if (r->len == 0 && !r->eof && !r->err) {
			ring_put(d, s);
		} else if (k) {
			/* Give back what is over this connection's share
			 * once its bytes fit the smaller ring: at once when
			 * a connection waits for a ring, else only when the
			 * share fell below half (no resizing back and forth
			 * as connections come and go). */
			uint32_t cap = fair_cap(d, st, 0);
			bool waiting = st->nringless > 0;
			if ((cap < r->cap / 2 || (waiting && cap < r->cap)) &&
			    r->len <= cap)
				ring_resize(d, s, cap);
		}
	}
	/* Bytes peeked without a ring (or by the kernel path before this
	 * socket moved to a ring) are still in the socket. */
	if (n > 0 && st && !st->scratch)
		st->scratch = malloc(RX_SCRATCH);
	while (n > 0) {
		uint8_t *sc = st ? st->scratch : NULL;
		if (!sc)
			return -ENOMEM;
		size_t c = n < RX_SCRATCH ? n : RX_SCRATCH;
		ssize_t got = recv(s->fd, sc, c, MSG_DONTWAIT);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			break;
		n -= (size_t)got;
	}
	return 0;
}

void tcprx_copy_release(struct driver *d, int id)
{
	struct hsock *s = &d->socks[id];
	ring_put(d, s);
	if (d->tcprx) {
		set_ringless(d, d->tcprx, s, false);
		/* With no connection holding a ring the spare waits for
		 * nobody: an engine whose connections all closed is back to
		 * its idle memory. */
		if (!((struct tcprx_copy_state *)d->tcprx)->nrings)
			drop_spare(d, d->tcprx);
	}
	s->rx_full = 0;
}

void tcprx_copy_driver_free(struct driver *d)
{
	struct tcprx_copy_state *st = d->tcprx;
	if (st) {
		/* The engine (and its budget) is gone already. */
		free(st->spare);
		free(st->scratch);
	}
	free(st);
	d->tcprx = NULL;
}
