/* SPDX-License-Identifier: MIT */
/* harness_host.c - the fuzz target's fake driver (see harness_host.h). */
#include "harness_host.h"

#include <errno.h>
#include <string.h>

#include "harness.h"

void fz_host_init(struct fz_host *h)
{
	memset(h, 0, sizeof(*h));
}

static struct fz_sock *slot_of(struct fz_host *h, int id)
{
	int i = id - FZ_SOCK_BASE;
	if (i < 0 || i >= FZ_MAX_SOCKS)
		return NULL;
	return &h->socks[i];
}

struct fz_sock *fz_host_sock(struct fz_host *h, int id)
{
	struct fz_sock *s = slot_of(h, id);
	return s && s->kind != FZ_FREE ? s : NULL;
}

int fz_host_id(const struct fz_host *h, const struct fz_sock *s)
{
	return (int)(s - h->socks) + FZ_SOCK_BASE;
}

struct fz_sock *fz_host_pick(struct fz_host *h, unsigned k, unsigned mask)
{
	unsigned n = 0;
	for (unsigned i = 0; i < FZ_MAX_SOCKS; i++)
		if (h->socks[i].kind != FZ_FREE &&
		    (mask & 1u << h->socks[i].kind))
			n++;
	if (!n)
		return NULL;
	k %= n;
	for (unsigned i = 0; i < FZ_MAX_SOCKS; i++)
		if (h->socks[i].kind != FZ_FREE &&
		    (mask & 1u << h->socks[i].kind) && k-- == 0)
			return &h->socks[i];
	return NULL;
}

/* The open socket id names; fails the run if the core uses one it does
 * not own (never opened, or closed already). */
static struct fz_sock *use(struct fz_host *h, int id, const char *op)
{
	struct fz_sock *s = slot_of(h, id);
	FZ_CHECK(s && s->kind != FZ_FREE,
		 "core called %s on socket %d, which is not open", op, id);
	h->calls++;
	return s;
}

static struct fz_sock *use_tcp(struct fz_host *h, int id, const char *op)
{
	struct fz_sock *s = use(h, id, op);
	FZ_CHECK(s->kind == FZ_TCP, "core called %s on datagram socket %d", op,
		 id);
	return s;
}

/* Reads the first and last byte of every iov buffer (ASan checks them)
 * and returns their total length. */
static size_t iov_touch(const struct core_iov *iov, int n)
{
	size_t t = 0;
	FZ_CHECK(n >= 0, "negative iov count %d", n);
	for (int i = 0; i < n; i++) {
		if (!iov[i].len)
			continue;
		const volatile uint8_t *b = iov[i].base;
		(void)b[0];
		(void)b[iov[i].len - 1];
		t += iov[i].len;
	}
	return t;
}

static int open_sock(struct fz_host *h, uint8_t kind, uint32_t flow,
		     uint8_t family, const struct wire_addr *dst, uint16_t port)
{
	h->calls++;
	FZ_CHECK(family == 4 || family == 6, "open with family %u", family);
	if (h->fail_next_open) {
		int r = h->fail_next_open;
		h->fail_next_open = 0;
		return r;
	}
	for (unsigned k = 0; k < FZ_MAX_SOCKS; k++) {
		unsigned i = (h->next + k) % FZ_MAX_SOCKS;
		struct fz_sock *s = &h->socks[i];
		if (s->kind != FZ_FREE)
			continue;
		memset(s, 0, sizeof(*s));
		s->kind = kind;
		s->flow = flow;
		s->family = family;
		s->dst = *dst;
		s->port = port;
		s->tx_space = UINT64_MAX;
		s->tuple = -1;
		h->next = i + 1;
		h->open_count++;
		return (int)i + FZ_SOCK_BASE;
	}
	return -EMFILE;
}

static int f_udp_open(void *ctx, uint32_t flow, uint8_t family,
		      const struct wire_addr *dst, uint16_t dport)
{
	return open_sock(ctx, FZ_UDP, flow, family, dst, dport);
}

static int f_icmp_open(void *ctx, uint32_t flow, uint8_t family,
		       const struct wire_addr *dst)
{
	return open_sock(ctx, FZ_ICMP, flow, family, dst, 0);
}

static int f_tcp_connect(void *ctx, uint32_t flow, uint8_t family,
			 const struct wire_addr *dst, uint16_t dport)
{
	int id = open_sock(ctx, FZ_TCP, flow, family, dst, dport);
	struct fz_sock *s = id >= 0 ? fz_host_sock(ctx, id) : NULL;
	struct fz_host *h = ctx;
	if (s)
		s->want_wr = true; /* watching the connect */
	if (s && h->on_tcp_connect)
		h->on_tcp_connect(h->hook_ctx, s);
	return id;
}

static long f_send(void *ctx, int id, const struct core_iov *iov, int n)
{
	struct fz_host *h = ctx;
	struct fz_sock *s = use(h, id, "send");
	size_t total = iov_touch(iov, n);

	if (s->send_err)
		return s->send_err;
	if (s->kind != FZ_TCP)
		return (long)total; /* one datagram, sent */
	FZ_CHECK(!s->shut_wr,
		 "core sent %zu bytes on socket %d after "
		 "shutdown_wr",
		 total, id);
	uint64_t take = total < s->tx_space ? total : s->tx_space;
	if (take == 0)
		return total ? -EAGAIN : 0;
	uint64_t left = take;
	for (int i = 0; i < n && left; i++) {
		size_t l = iov[i].len < left ? iov[i].len : (size_t)left;
		if (h->on_tcp_send && l)
			h->on_tcp_send(h->hook_ctx, s, iov[i].base, l);
		s->tx_total += l;
		left -= l;
	}
	if (s->tx_space != UINT64_MAX)
		s->tx_space -= take;
	return (long)take;
}

/* Writes stream bytes [from, from + len) of s into iov; returns the count. */
static size_t fill_stream(const struct core_iov *iov, int n, uint64_t from,
			  uint64_t len)
{
	size_t done = 0;
	for (int i = 0; i < n && done < len; i++) {
		uint8_t *b = iov[i].base;
		size_t l = iov[i].len;
		if (l > len - done)
			l = (size_t)(len - done);
		for (size_t j = 0; j < l; j++)
			b[j] = fz_pat_host((uint32_t)(from + done + j));
		done += l;
	}
	return done;
}

/* Writes the content of datagram d into iov; returns the bytes stored. */
static size_t fill_dgram(const struct fz_sock *s, const struct fz_dgram *d,
			 const struct core_iov *iov, int n)
{
	size_t done = 0;
	for (int i = 0; i < n && done < d->len; i++) {
		uint8_t *b = iov[i].base;
		size_t l = iov[i].len;
		if (l > d->len - done)
			l = d->len - done;
		for (size_t j = 0; j < l; j++) {
			size_t k = done + j;
			uint8_t v = (uint8_t)(d->seed + k * 31);
			/* An ICMP echo reply as a ping socket returns it:
			 * type, code 0, then bytes the core must not trust. */
			if (s->kind == FZ_ICMP && k == 0)
				v = d->type;
			else if (s->kind == FZ_ICMP && k == 1)
				v = 0;
			b[j] = v;
		}
		done += l;
	}
	return done;
}

static long f_recv(void *ctx, int id, const struct core_iov *iov, int n,
		   size_t *full_len)
{
	struct fz_host *h = ctx;
	struct fz_sock *s = use(h, id, "recv");
	size_t cap = iov_touch(iov, n);

	if (s->rx_err)
		return s->rx_err;
	if (s->kind != FZ_TCP) {
		if (!s->dq_n)
			return -EAGAIN;
		struct fz_dgram d = s->dq[0];
		memmove(s->dq, s->dq + 1, --s->dq_n * sizeof(s->dq[0]));
		size_t got = fill_dgram(s, &d, iov, n);
		if (full_len)
			*full_len = d.len;
		return (long)got;
	}
	uint64_t avail = s->rx_end - s->rx_base;
	if (!avail)
		return s->rx_eof ? 0 : -EAGAIN;
	size_t got = fill_stream(iov, n, s->rx_base, avail < cap ? avail : cap);
	s->rx_base += got;
	if (full_len)
		*full_len = got;
	return (long)got;
}

static long f_peek(void *ctx, int id, size_t offset, const struct core_iov *iov,
		   int n)
{
	struct fz_host *h = ctx;
	struct fz_sock *s = use_tcp(h, id, "peek");
	size_t cap = iov_touch(iov, n);

	if (s->rx_err)
		return s->rx_err;
	uint64_t avail = s->rx_end - s->rx_base;
	if (offset >= avail)
		return s->rx_eof ? 0 : -EAGAIN;
	avail -= offset;
	return (long)fill_stream(iov, n, s->rx_base + offset,
				 avail < cap ? avail : cap);
}

static int f_discard(void *ctx, int id, size_t n)
{
	struct fz_host *h = ctx;
	struct fz_sock *s = use_tcp(h, id, "discard");

	FZ_CHECK(n <= s->rx_end - s->rx_base,
		 "core discarded %zu bytes on socket %d holding %llu", n, id,
		 (unsigned long long)(s->rx_end - s->rx_base));
	s->rx_base += n;
	return 0;
}

static int f_shutdown_wr(void *ctx, int id)
{
	struct fz_sock *s = use_tcp(ctx, id, "shutdown_wr");
	s->shut_wr = true;
	return 0;
}

static int f_sock_error(void *ctx, int id, struct core_sock_error *out)
{
	struct fz_sock *s = use(ctx, id, "sock_error");
	if (!s->err_n)
		return 0;
	*out = s->err[0];
	memmove(s->err, s->err + 1, --s->err_n * sizeof(s->err[0]));
	return 1;
}

static void f_want(void *ctx, int id, bool readable, bool writable)
{
	struct fz_sock *s = use(ctx, id, "want");
	s->want_rd = readable;
	s->want_wr = writable;
}

static void f_close(void *ctx, int id, bool reset)
{
	struct fz_host *h = ctx;
	struct fz_sock *s = use(h, id, "close");
	(void)reset;
	s->kind = FZ_FREE;
	h->open_count--;
}

const struct core_host_ops fz_host_ops = {
    .udp_open = f_udp_open,
    .icmp_open = f_icmp_open,
    .tcp_connect = f_tcp_connect,
    .send = f_send,
    .recv = f_recv,
    .peek = f_peek,
    .discard = f_discard,
    .shutdown_wr = f_shutdown_wr,
    .sock_error = f_sock_error,
    .want = f_want,
    .close = f_close,
};

void fz_host_push_dgram(struct fz_sock *s, uint16_t len, uint8_t seed,
			uint8_t type)
{
	if (s->dq_n == FZ_MAX_DGRAMS)
		return;
	s->dq[s->dq_n++] = (struct fz_dgram){len, seed, type};
}

void fz_host_push_error(struct fz_sock *s, const struct core_sock_error *e)
{
	if (s->err_n == FZ_MAX_ERRS)
		return;
	s->err[s->err_n++] = *e;
}
