/* tcprx_copy.c - host -> app TCP data kept in userspace until the app
 * acknowledges it (see tcprx.h). Darwin has no SO_PEEK_OFF; Linux builds
 * this file instead of tcprx_peekoff_linux.c with -DTP_TCPRX_COPY=ON, so
 * the path Apple platforms use is exercised end to end on Linux in CI.
 *
 * Theory of operation
 *
 * The core names the bytes it wants by their offset past the oldest
 * unacknowledged byte, and every byte it has sent must be there again for
 * a retransmission until discard(). Each connection with data in flight
 * has a ring of RX_RING bytes holding exactly the stream from that oldest
 * byte on: peek() reads from the socket into the ring's free space as far
 * as the request needs, then copies out from the ring; discard() advances
 * the ring's head. Bytes leave the kernel only into the ring, so the ring
 * plus the socket always hold the stream from offset 0, and the ring can
 * be dropped and re-made whenever it is empty.
 *
 * Bounds and memory: a ring is allocated on the first peek that finds
 * data and freed as soon as it is empty again (an idle connection holds
 * none), and is charged to the engine's budget (max_memory), leaving a
 * quarter of the budget to flows: rings never make the engine refuse new
 * flows by themselves. When the budget refuses a ring, the connection is
 * served straight from the socket: MSG_PEEK from its head into one shared
 * scratch area of RX_SCRATCH bytes, copying out what lies at the offset,
 * and discard() reads and drops. That costs a copy per peek of everything
 * before the offset, but it needs no memory and never stalls: it only
 * limits the connection's flight to RX_SCRATCH bytes.
 *
 * Wake-ups: the core stops asking when peek() says -EAGAIN and waits for
 * the socket to become readable (edge-triggered). When the answer was
 * -EAGAIN only because the ring (or scratch) was full, the data is
 * already in the socket and no new edge would come: the next discard()
 * that makes room queues a deferred readable event instead.
 *
 * End of stream and errors: a read returning 0 (FIN) or an error is
 * remembered in the ring and reported once the bytes before it are out,
 * as the kernel would. Without a ring, a FIN behind data not yet
 * acknowledged is seen on the first peek after that data is acknowledged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "core/mem.h"
#include "host/tcprx_backend.h"

#define RX_RING	   (256u * 1024u)
#define RX_SCRATCH (64u * 1024u)

struct tcprx_ring {
	uint32_t head, len;
	uint8_t eof;  /* the host's FIN was read after the ring's bytes */
	uint8_t full; /* a peek found the ring full: wake on room */
	int err;      /* errno of a failed read, after the ring's bytes */
	uint8_t buf[RX_RING];
};

/* The scratch area, allocated on first use and kept until the driver
 * goes: one per driver, never per connection. */
static uint8_t *scratch(struct driver *d)
{
	if (!d->tcprx)
		d->tcprx = malloc(RX_SCRATCH);
	return d->tcprx;
}

static struct tcprx_ring *ring_get(struct driver *d)
{
	struct core_mem *m = core_budget(d->core);
	size_t reserve = m->budget / 4;
	if (!core_mem_can(m, sizeof(struct tcprx_ring) + reserve) ||
	    core_mem_charge(m, sizeof(struct tcprx_ring)) < 0)
		return NULL;
	struct tcprx_ring *r = malloc(sizeof(*r));
	if (!r) {
		core_mem_uncharge(m, sizeof(struct tcprx_ring));
		return NULL;
	}
	r->head = r->len = 0;
	r->eof = r->full = 0;
	r->err = 0;
	return r;
}

static void ring_put(struct driver *d, struct hsock *s)
{
	if (!s->rx)
		return;
	free(s->rx);
	s->rx = NULL;
	core_mem_uncharge(core_budget(d->core), sizeof(struct tcprx_ring));
}

/* Reads from the socket into the ring until it holds `need` bytes, the
 * socket is empty, or the ring is full. */
static void ring_fill(struct hsock *s, struct tcprx_ring *r, size_t need)
{
	while (r->len < need && r->len < RX_RING && !r->eof && !r->err) {
		uint32_t tail = (r->head + r->len) % RX_RING;
		uint32_t room = RX_RING - r->len;
		uint32_t first = RX_RING - tail < room ? RX_RING - tail : room;
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

/* Copies up to the iovecs' room from src (len bytes, wrapping at RX_RING
 * from pos when wrap is set). */
static size_t copy_out(const struct core_iov *iov, int iovcnt,
		       const uint8_t *src, uint32_t pos, size_t len, bool wrap)
{
	size_t done = 0;
	for (int i = 0; i < iovcnt && done < len; i++) {
		size_t want = iov[i].len < len - done ? iov[i].len : len - done;
		uint8_t *dst = iov[i].base;
		size_t got = 0;
		while (got < want) {
			uint32_t p =
			    wrap ? (uint32_t)((pos + done + got) % RX_RING)
				 : (uint32_t)(pos + done + got);
			size_t c = want - got;
			if (wrap && c > RX_RING - p)
				c = RX_RING - p;
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

/* Without a ring: MSG_PEEK from the socket's head into scratch. */
static long peek_scratch(struct driver *d, struct hsock *s, size_t off,
			 const struct core_iov *iov, int iovcnt)
{
	uint8_t *sc = scratch(d);
	if (!sc)
		return -EAGAIN;
	if (off >= RX_SCRATCH) {
		s->rx_full = 1;
		return -EAGAIN;
	}
	size_t need = off + iov_len(iov, iovcnt);
	if (need > RX_SCRATCH)
		need = RX_SCRATCH;
	ssize_t n = recv(s->fd, sc, need, MSG_DONTWAIT | MSG_PEEK);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	if ((size_t)n <= off)
		return -EAGAIN; /* nothing at off yet; a new edge will come */
	return (long)copy_out(iov, iovcnt, sc, (uint32_t)off, (size_t)n - off,
			      false);
}

long tcprx_copy_peek(struct driver *d, int id, size_t offset,
		const struct core_iov *iov, int iovcnt)
{
	struct hsock *s = &d->socks[id];
	struct tcprx_ring *r = s->rx;
	if (!r) {
		r = ring_get(d);
		if (!r)
			return peek_scratch(d, s, offset, iov, iovcnt);
		s->rx = r;
	}
	ring_fill(s, r, offset + iov_len(iov, iovcnt));
	if (r->len > offset)
		return (long)copy_out(iov, iovcnt, r->buf,
				      (uint32_t)((r->head + offset) % RX_RING),
				      r->len - offset, true);
	if (r->err)
		return -r->err;
	if (r->eof)
		return 0;
	if (r->len == RX_RING)
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
		size_t n = copy_out(iov, iovcnt, r->buf, r->head, r->len, true);
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
	struct tcprx_ring *r = s->rx;
	if (n && s->rx_full) {
		s->rx_full = 0;
		driver_defer_event(d, id);
	}
	if (r) {
		size_t k = n < r->len ? n : r->len;
		r->head = (uint32_t)((r->head + k) % RX_RING);
		r->len -= (uint32_t)k;
		n -= k;
		if (r->full && k) {
			r->full = 0;
			driver_defer_event(d, id);
		}
		if (r->len == 0 && !r->eof && !r->err)
			ring_put(d, s);
	}
	/* Bytes peeked without a ring are still in the socket. */
	while (n > 0) {
		uint8_t *sc = scratch(d);
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
	s->rx_full = 0;
}

void tcprx_copy_driver_free(struct driver *d)
{
	free(d->tcprx);
	d->tcprx = NULL;
}
