/* SPDX-License-Identifier: MIT */
/* fake_host.c - the scripted host ops of fake_host.h. */
#include "fake_host.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct fake_sock *sock_of(struct fake_host *h, int sock)
{
	int i = sock - FAKE_SOCK_BASE;
	if (i < 0 || i >= FAKE_MAX_SOCKS || !h->socks[i].used)
		return NULL;
	return &h->socks[i];
}

struct fake_sock *fake_host_sock(struct fake_host *h, int sock)
{
	return sock_of(h, sock);
}

void fake_host_init(struct fake_host *h)
{
	memset(h, 0, sizeof(*h));
	h->last_sock = -1;
}

static void free_list(struct fake_dgram *d)
{
	while (d) {
		struct fake_dgram *n = d->next;
		free(d);
		d = n;
	}
}

void fake_host_free(struct fake_host *h)
{
	for (int i = 0; i < FAKE_MAX_SOCKS; i++) {
		struct fake_sock *s = &h->socks[i];
		free(s->rx);
		free(s->tx);
		free_list(s->dq_head);
		free_list(s->sent_head);
	}
	memset(h, 0, sizeof(*h));
	h->last_sock = -1;
}

void fake_host_fail_next_open(struct fake_host *h, int neg_errno)
{
	h->fail_next_open = neg_errno;
}

static int open_sock(struct fake_host *h, uint8_t kind, uint32_t flow,
		     uint8_t family, const struct wire_addr *dst, uint16_t port)
{
	if (h->fail_next_open) {
		int r = h->fail_next_open;
		h->fail_next_open = 0;
		return r;
	}
	for (int i = 0; i < FAKE_MAX_SOCKS; i++) {
		struct fake_sock *s = &h->socks[i];
		if (s->used && !(h->reuse_closed && s->closed))
			continue;
		free(s->rx);
		free(s->tx);
		free_list(s->dq_head);
		free_list(s->sent_head);
		memset(s, 0, sizeof(*s));
		s->used = true;
		s->kind = kind;
		s->flow = flow;
		s->family = family;
		s->dst = *dst;
		s->port = port;
		s->tx_space = SIZE_MAX;
		h->last_sock = i + FAKE_SOCK_BASE;
		return h->last_sock;
	}
	return -EMFILE;
}

static int f_udp_open(void *ctx, uint32_t flow, uint8_t family,
		      const struct wire_addr *dst, uint16_t dport)
{
	struct fake_host *h = ctx;
	h->udp_opens++;
	return open_sock(h, FAKE_UDP, flow, family, dst, dport);
}

static int f_icmp_open(void *ctx, uint32_t flow, uint8_t family,
		       const struct wire_addr *dst)
{
	struct fake_host *h = ctx;
	h->icmp_opens++;
	return open_sock(h, FAKE_ICMP, flow, family, dst, 0);
}

static int f_tcp_connect(void *ctx, uint32_t flow, uint8_t family,
			 const struct wire_addr *dst, uint16_t dport)
{
	struct fake_host *h = ctx;
	h->connects++;
	int s = open_sock(h, FAKE_TCP, flow, family, dst, dport);
	struct fake_sock *fs = s >= 0 ? sock_of(h, s) : NULL;
	if (fs)
		fs->want_wr = true; /* watching the connect */
	return s;
}

static size_t iov_total(const struct core_iov *iov, int n)
{
	size_t t = 0;
	for (int i = 0; i < n; i++)
		t += iov[i].len;
	return t;
}

static void grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	size_t c = *cap ? *cap : 4096;
	while (c < need)
		c *= 2;
	*buf = realloc(*buf, c);
	*cap = c;
}

static struct fake_dgram *dgram_new(const void *data, size_t len)
{
	struct fake_dgram *d = malloc(sizeof(*d) + len);
	d->next = NULL;
	d->len = len;
	memcpy(d->data, data, len);
	return d;
}

static void dgram_append(struct fake_dgram **head, struct fake_dgram **tail,
			 struct fake_dgram *d)
{
	if (*tail)
		(*tail)->next = d;
	else
		*head = d;
	*tail = d;
}

static long f_send(void *ctx, int sock, const struct core_iov *iov, int n)
{
	struct fake_host *h = ctx;
	struct fake_sock *s = sock_of(h, sock);
	if (!s || s->closed)
		return -EBADF;
	s->send_calls++;
	if (s->send_err)
		return s->send_err;
	size_t total = iov_total(iov, n);
	if (s->kind != FAKE_TCP) {
		struct fake_dgram *d = malloc(sizeof(*d) + total);
		d->next = NULL;
		d->len = total;
		size_t off = 0;
		for (int i = 0; i < n; i++) {
			memcpy(d->data + off, iov[i].base, iov[i].len);
			off += iov[i].len;
		}
		dgram_append(&s->sent_head, &s->sent_tail, d);
		s->sent_count++;
		return (long)total;
	}
	if (s->shut_wr)
		return -EPIPE;
	size_t take = total < s->tx_space ? total : s->tx_space;
	if (take == 0)
		return total ? -EAGAIN : 0;
	grow(&s->tx, &s->tx_cap, s->tx_len + take);
	size_t left = take;
	for (int i = 0; i < n && left; i++) {
		size_t l = iov[i].len < left ? iov[i].len : left;
		memcpy(s->tx + s->tx_len, iov[i].base, l);
		s->tx_len += l;
		left -= l;
	}
	if (s->tx_space != SIZE_MAX)
		s->tx_space -= take;
	return (long)take;
}

/* Copies up to the iov's size from src into iov. */
static size_t scatter(const struct core_iov *iov, int n, const uint8_t *src,
		      size_t len)
{
	size_t done = 0;
	for (int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].len < len - done ? iov[i].len : len - done;
		memcpy(iov[i].base, src + done, l);
		done += l;
	}
	return done;
}

static long f_recv(void *ctx, int sock, const struct core_iov *iov, int n,
		   size_t *full_len)
{
	struct fake_host *h = ctx;
	struct fake_sock *s = sock_of(h, sock);
	if (!s || s->closed)
		return -EBADF;
	if (s->rx_err)
		return s->rx_err;
	if (s->kind != FAKE_TCP) {
		struct fake_dgram *d = s->dq_head;
		if (!d)
			return -EAGAIN;
		s->dq_head = d->next;
		if (!s->dq_head)
			s->dq_tail = NULL;
		size_t got = scatter(iov, n, d->data, d->len);
		if (full_len)
			*full_len = d->len;
		free(d);
		return (long)got;
	}
	if (!s->rx_len)
		return s->rx_eof ? 0 : -EAGAIN;
	size_t got = scatter(iov, n, s->rx, s->rx_len);
	memmove(s->rx, s->rx + got, s->rx_len - got);
	s->rx_len -= got;
	s->rx_discarded += got;
	if (full_len)
		*full_len = got;
	return (long)got;
}

static long f_peek(void *ctx, int sock, size_t offset,
		   const struct core_iov *iov, int n)
{
	struct fake_host *h = ctx;
	struct fake_sock *s = sock_of(h, sock);
	if (!s || s->closed)
		return -EBADF;
	s->peek_calls++;
	if (s->rx_err)
		return s->rx_err;
	if (offset >= s->rx_len)
		return s->rx_eof ? 0 : -EAGAIN;
	return (long)scatter(iov, n, s->rx + offset, s->rx_len - offset);
}

static int f_discard(void *ctx, int sock, size_t n)
{
	struct fake_host *h = ctx;
	struct fake_sock *s = sock_of(h, sock);
	if (!s || s->closed)
		return -EBADF;
	s->discard_calls++;
	if (n > s->rx_len)
		return -EINVAL;
	memmove(s->rx, s->rx + n, s->rx_len - n);
	s->rx_len -= n;
	s->rx_discarded += n;
	return 0;
}

static int f_shutdown_wr(void *ctx, int sock)
{
	struct fake_host *h = ctx;
	struct fake_sock *s = sock_of(h, sock);
	if (!s || s->closed)
		return -EBADF;
	h->shutdowns++;
	s->shut_wr = true;
	return 0;
}

static int f_sock_error(void *ctx, int sock, struct core_sock_error *out)
{
	struct fake_host *h = ctx;
	struct fake_sock *s = sock_of(h, sock);
	if (!s || s->closed)
		return -EBADF;
	if (!s->has_err)
		return 0;
	*out = s->err;
	s->has_err = false;
	return 1;
}

static void f_want(void *ctx, int sock, bool readable, bool writable)
{
	struct fake_host *h = ctx;
	struct fake_sock *s = sock_of(h, sock);
	if (!s)
		return;
	s->want_calls++;
	s->want_rd = readable;
	s->want_wr = writable;
}

static void f_close(void *ctx, int sock, bool reset)
{
	struct fake_host *h = ctx;
	struct fake_sock *s = sock_of(h, sock);
	if (!s)
		return;
	h->closes++;
	s->closed = true;
	s->reset = reset;
}

const struct core_host_ops fake_host_ops = {
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

void fake_host_rx_push(struct fake_host *h, int sock, const void *data,
		       size_t len)
{
	struct fake_sock *s = sock_of(h, sock);
	if (!s)
		return;
	grow(&s->rx, &s->rx_cap, s->rx_len + len);
	memcpy(s->rx + s->rx_len, data, len);
	s->rx_len += len;
}

void fake_host_rx_eof(struct fake_host *h, int sock)
{
	struct fake_sock *s = sock_of(h, sock);
	if (s)
		s->rx_eof = true;
}

void fake_host_set_rx_error(struct fake_host *h, int sock, int neg_errno)
{
	struct fake_sock *s = sock_of(h, sock);
	if (s)
		s->rx_err = neg_errno;
}

void fake_host_set_tx_space(struct fake_host *h, int sock, size_t space)
{
	struct fake_sock *s = sock_of(h, sock);
	if (s)
		s->tx_space = space;
}

void fake_host_set_send_error(struct fake_host *h, int sock, int neg_errno)
{
	struct fake_sock *s = sock_of(h, sock);
	if (s)
		s->send_err = neg_errno;
}

void fake_host_dgram_push(struct fake_host *h, int sock, const void *data,
			  size_t len)
{
	struct fake_sock *s = sock_of(h, sock);
	if (s)
		dgram_append(&s->dq_head, &s->dq_tail, dgram_new(data, len));
}

const struct fake_dgram *fake_host_dgram_sent(struct fake_host *h, int sock,
					      int n)
{
	struct fake_sock *s = sock_of(h, sock);
	if (!s)
		return NULL;
	const struct fake_dgram *d = s->sent_head;
	while (d && n-- > 0)
		d = d->next;
	return d;
}

void fake_host_set_error(struct fake_host *h, int sock,
			 const struct core_sock_error *err)
{
	struct fake_sock *s = sock_of(h, sock);
	if (!s)
		return;
	s->err = *err;
	s->has_err = true;
}

void fake_host_set_errno(struct fake_host *h, int sock, int err)
{
	struct core_sock_error e;
	memset(&e, 0, sizeof(e));
	e.err = err;
	e.origin = CORE_ERR_LOCAL;
	fake_host_set_error(h, sock, &e);
}
