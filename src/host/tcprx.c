/* SPDX-License-Identifier: MIT */
/* tcprx.c - picks the host -> app TCP receive backend, per engine and per
 * socket (see tcprx.h for the two backends and why there are two).
 *
 * The engine's choice is made once at start: AUTO probes the kernel and
 * takes the kernel socket where peeking at an offset works, the ring
 * elsewhere. Each socket makes its own choice at its first use, from the
 * engine's: a peek socket whose seek is refused moves to the ring (and
 * never back). That is safe at any moment because the peek path never
 * reads unacknowledged bytes out of the socket: the ring starts empty and
 * fills from the socket's head, which is exactly the oldest byte the app
 * has not acknowledged.
 */
#include <errno.h>

#include "host/tcprx.h"
#include "host/tcprx_backend.h"

/* Builds with -DTP_TCPRX_COPY=ON resolve AUTO to the ring, so the path
 * Darwin uses runs in CI without a config change (scripts/test.sh). */
#ifndef TP_TCPRX_AUTO_COPY
#define TP_TCPRX_AUTO_COPY 0
#endif

int tcprx_driver_init(struct driver *d, uint32_t tcp_rx)
{
	char why[120] = "";
	if (tcp_rx == TP_TCP_RX_COPY ||
	    (tcp_rx == TP_TCP_RX_AUTO && TP_TCPRX_AUTO_COPY)) {
		d->tcprx_mode = TCPRX_COPY;
		driver_log(d, TP_LOG_INFO,
			   "TCP receive path: userspace rings (tcp_rx copy)");
	} else if (tcprx_peekoff_probe(why, sizeof(why))) {
		d->tcprx_mode = TCPRX_PEEK;
		driver_log(d, TP_LOG_INFO,
			   "TCP receive path: kernel socket (%s)", why);
	} else if (tcp_rx == TP_TCP_RX_PEEK) {
		driver_log(d, TP_LOG_ERROR, "tcp_rx peek: %s; use auto or copy",
			   why);
		return -TP_ESYS;
	} else {
		d->tcprx_mode = TCPRX_COPY;
		driver_log(d, TP_LOG_INFO,
			   "TCP receive path: userspace rings (%s)", why);
	}
	d->tcprx_stats.userspace = d->tcprx_mode == TCPRX_COPY;
	return 0;
}

/* Moves socket s to the ring after the kernel refused its peek offset. */
static void fall_back(struct driver *d, struct hsock *s, int err)
{
	tcprx_peekoff_off(s);
	s->rx_mode = TCPRX_COPY;
	__atomic_fetch_add(&d->tcprx_stats.fallbacks, 1, __ATOMIC_RELAXED);
	if (!d->tcprx_warned) {
		d->tcprx_warned = true;
		driver_log(d, TP_LOG_WARN,
			   "the kernel refused a TCP peek offset (errno %d): "
			   "it continues on a userspace ring",
			   -err);
	}
}

static bool use_peek(struct driver *d, struct hsock *s)
{
	if (s->rx_mode == TCPRX_UNSET)
		s->rx_mode = d->tcprx_mode;
	return s->rx_mode == TCPRX_PEEK;
}

long tcprx_peek(struct driver *d, int id, size_t offset,
		const struct core_iov *iov, int iovcnt)
{
	struct hsock *s = &d->socks[id];
	if (use_peek(d, s)) {
		int rc = tcprx_peekoff_seek(s, offset);
		if (rc == 0)
			return tcprx_peekoff_peek(s, iov, iovcnt);
		fall_back(d, s, rc);
	}
	return tcprx_copy_peek(d, id, offset, iov, iovcnt);
}

long tcprx_recv(struct driver *d, int id, const struct core_iov *iov,
		int iovcnt)
{
	struct hsock *s = &d->socks[id];
	if (use_peek(d, s))
		return tcprx_peekoff_recv(s, iov, iovcnt);
	return tcprx_copy_recv(d, id, iov, iovcnt);
}

int tcprx_discard(struct driver *d, int id, size_t n)
{
	struct hsock *s = &d->socks[id];
	if (use_peek(d, s))
		return tcprx_peekoff_discard(s, n);
	return tcprx_copy_discard(d, id, n);
}

void tcprx_release(struct driver *d, int id)
{
	tcprx_copy_release(d, id);
}

void tcprx_driver_free(struct driver *d)
{
	tcprx_copy_driver_free(d);
}

void tcprx_counters(struct driver *d, uint64_t *vals, size_t n)
{
	const struct tcprx_stats *st = &d->tcprx_stats;
	const struct {
		size_t i;
		const uint64_t *v;
	} map[] = {
	    {TP_CTR_tcp_rx_userspace, &st->userspace},
	    {TP_CTR_tcp_rx_fallbacks, &st->fallbacks},
	    {TP_CTR_tcp_rx_rings_refused, &st->rings_refused},
	    {TP_CTR_tcp_rx_ringless, &st->ringless},
	    {TP_CTR_tcp_rx_ring_bytes, &st->ring_bytes},
	};
	for (size_t k = 0; k < sizeof(map) / sizeof(map[0]); k++)
		if (map[k].i < n)
			vals[map[k].i] +=
			    __atomic_load_n(map[k].v, __ATOMIC_RELAXED);
}
