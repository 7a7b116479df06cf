/* SPDX-License-Identifier: MIT */
/* fake_host.c - the fake driver of fake_host.h, for unit tests and fuzz
 * harnesses alike. */
#include "fake_host.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The core broke the host-ops contract: counted, and told to the test.
 * The message is formatted only then, so the fuzz loop pays nothing. */
#define MISUSE(h, ...)                                                         \
	do {                                                                   \
		(h)->misuses++;                                                \
		if ((h)->on_misuse) {                                          \
			char msg_[160];                                        \
			snprintf(msg_, sizeof(msg_), __VA_ARGS__);             \
			(h)->on_misuse((h)->hook_ctx, msg_);                   \
		}                                                              \
	} while (0)

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

int fake_host_id(const struct fake_host *h, const struct fake_sock *s)
{
	return (int)(s - h->socks) + FAKE_SOCK_BASE;
}

struct fake_sock *fake_host_pick(struct fake_host *h, unsigned k, unsigned mask)
{
	unsigned n = 0;
	for (unsigned i = 0; i < FAKE_MAX_SOCKS; i++)
		if (fake_sock_open(&h->socks[i]) &&
		    (mask & 1u << h->socks[i].kind))
			n++;
	if (!n)
		return NULL;
	k %= n;
	for (unsigned i = 0; i < FAKE_MAX_SOCKS; i++)
		if (fake_sock_open(&h->socks[i]) &&
		    (mask & 1u << h->socks[i].kind) && k-- == 0)
			return &h->socks[i];
	return NULL;
}

/* The default: a test that did not hook misuse still stops at the first
 * broken contract, with what broke (abort fails the ctest case). */
static void misuse_abort(void *ctx, const char *what)
{
	(void)ctx;
	fprintf(stderr, "fake host: %s\n", what);
	abort();
}

void fake_host_init(struct fake_host *h)
{
	memset(h, 0, sizeof(*h));
	h->last_sock = -1;
	h->keep_sent = true;
	h->on_misuse = misuse_abort;
}

static void dgram_free_list(struct fake_dgram *d)
{
	while (d) {
		struct fake_dgram *n = d->next;
		free(d);
		d = n;
	}
}

static struct fake_dgram *dgram_new(size_t len)
{
	struct fake_dgram *d = malloc(sizeof(*d) + len);
	d->next = NULL;
	d->len = len;
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

/* Gives back what a socket holds, leaving its slot zeroed. */
static void sock_clear(struct fake_sock *s)
{
	free(s->rx);
	free(s->tx);
	dgram_free_list(s->dq_head);
	dgram_free_list(s->sent_head);
	memset(s, 0, sizeof(*s));
}

void fake_host_free(struct fake_host *h)
{
	for (int i = 0; i < FAKE_MAX_SOCKS; i++)
		sock_clear(&h->socks[i]);
	fake_host_init(h);
}

void fake_host_fail_next_open(struct fake_host *h, int neg_errno)
{
	h->fail_next_open = neg_errno;
}

/* The open socket sock names; a misuse if the core uses one it does not
 * own (never opened, or closed already). */
static struct fake_sock *use(struct fake_host *h, int sock, const char *op)
{
	struct fake_sock *s = sock_of(h, sock);
	if (s && !s->closed)
		return s;
	MISUSE(h, "core called %s on socket %d, which is not open", op, sock);
	return NULL;
}

static struct fake_sock *use_tcp(struct fake_host *h, int sock, const char *op)
{
	struct fake_sock *s = use(h, sock, op);
	if (!s || s->kind == FAKE_TCP)
		return s;
	MISUSE(h, "core called %s on datagram socket %d", op, sock);
	return NULL;
}

/* Reads the first and last byte of every iov buffer (ASan checks them)
 * and returns their total length. */
static size_t iov_touch(struct fake_host *h, const struct core_iov *iov, int n)
{
	size_t t = 0;
	if (n < 0)
		MISUSE(h, "negative iov count %d", n);
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

static int open_sock(struct fake_host *h, uint8_t kind, uint32_t flow,
		     uint8_t family, const struct wire_addr *dst, uint16_t port)
{
	if (family != 4 && family != 6) {
		MISUSE(h, "open with family %u", family);
		return -EAFNOSUPPORT;
	}
	if (h->fail_next_open) {
		int r = h->fail_next_open;
		h->fail_next_open = 0;
		return r;
	}
	/* Round robin from the slot after the last one handed out. */
	for (unsigned k = 0; k < FAKE_MAX_SOCKS; k++) {
		unsigned i = (h->next + k) % FAKE_MAX_SOCKS;
		struct fake_sock *s = &h->socks[i];
		if (s->used && !(h->reuse_closed && s->closed))
			continue;
		sock_clear(s);
		s->used = true;
		s->kind = kind;
		s->flow = flow;
		s->family = family;
		s->dst = *dst;
		s->port = port;
		s->tx_space = SIZE_MAX;
		h->next = i + 1;
		h->open_count++;
		h->last_sock = (int)i + FAKE_SOCK_BASE;
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
	int id = open_sock(h, FAKE_TCP, flow, family, dst, dport);
	struct fake_sock *s = id >= 0 ? sock_of(h, id) : NULL;
	if (s) {
		s->want_wr = true; /* watching the connect */
		if (h->on_tcp_connect)
			h->on_tcp_connect(h->hook_ctx, s);
	}
	return id;
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

static void dgram_keep(struct fake_sock *s, const struct core_iov *iov, int n,
		       size_t total)
{
	struct fake_dgram *d = dgram_new(total);
	size_t off = 0;
	for (int i = 0; i < n; i++) {
		memcpy(d->data + off, iov[i].base, iov[i].len);
		off += iov[i].len;
	}
	dgram_append(&s->sent_head, &s->sent_tail, d);
}

static long f_send(void *ctx, int sock, const struct core_iov *iov, int n)
{
	struct fake_host *h = ctx;
	struct fake_sock *s = use(h, sock, "send");
	if (!s)
		return -EBADF;
	size_t total = iov_touch(h, iov, n);
	s->send_calls++;
	if (s->send_err)
		return s->send_err;
	if (s->kind != FAKE_TCP) {
		if (h->keep_sent)
			dgram_keep(s, iov, n, total);
		s->sent_count++;
		return (long)total; /* one datagram, sent */
	}
	if (s->shut_wr) {
		MISUSE(h, "core sent %zu bytes on socket %d after shutdown_wr",
		       total, sock);
		return -EPIPE;
	}
	size_t take = total < s->tx_space ? total : s->tx_space;
	if (take == 0)
		return total ? -EAGAIN : 0;
	if (h->keep_sent)
		grow(&s->tx, &s->tx_cap, s->tx_len + take);
	size_t left = take;
	for (int i = 0; i < n && left; i++) {
		size_t l = iov[i].len < left ? iov[i].len : left;
		if (h->on_tcp_send && l)
			h->on_tcp_send(h->hook_ctx, s, iov[i].base, l);
		if (h->keep_sent)
			memcpy(s->tx + s->tx_len, iov[i].base, l);
		s->tx_len += l;
		left -= l;
	}
	if (s->tx_space != SIZE_MAX)
		s->tx_space -= take;
	return (long)take;
}

/* Copies up to len bytes of src into iov; returns the count. */
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

/* Copies up to len bytes of the receive stream, from offset off of what
 * is unconsumed, into iov; returns the count. */
static size_t rx_copy(const struct fake_sock *s, size_t off,
		      const struct core_iov *iov, int n, size_t len)
{
	if (s->rx)
		return scatter(iov, n, s->rx + off, len);
	size_t done = 0;
	for (int i = 0; i < n && done < len; i++) {
		uint8_t *b = iov[i].base;
		size_t l = iov[i].len < len - done ? iov[i].len : len - done;
		for (size_t j = 0; j < l; j++)
			b[j] = fake_host_stream_byte(
			    (uint32_t)(s->rx_discarded + off + done + j));
		done += l;
	}
	return done;
}

static void rx_consume(struct fake_sock *s, size_t n)
{
	if (s->rx)
		memmove(s->rx, s->rx + n, s->rx_len - n);
	s->rx_len -= n;
	s->rx_discarded += n;
}

static long f_recv(void *ctx, int sock, const struct core_iov *iov, int n,
		   size_t *full_len)
{
	struct fake_host *h = ctx;
	struct fake_sock *s = use(h, sock, "recv");
	if (!s)
		return -EBADF;
	size_t cap = iov_touch(h, iov, n);
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
	size_t got = rx_copy(s, 0, iov, n, s->rx_len < cap ? s->rx_len : cap);
	rx_consume(s, got);
	if (full_len)
		*full_len = got;
	return (long)got;
}

static long f_peek(void *ctx, int sock, size_t offset,
		   const struct core_iov *iov, int n)
{
	struct fake_host *h = ctx;
	struct fake_sock *s = use_tcp(h, sock, "peek");
	if (!s)
		return -EBADF;
	size_t cap = iov_touch(h, iov, n);
	s->peek_calls++;
	if (s->rx_err)
		return s->rx_err;
	if (offset >= s->rx_len)
		return s->rx_eof ? 0 : -EAGAIN;
	size_t avail = s->rx_len - offset;
	return (long)rx_copy(s, offset, iov, n, avail < cap ? avail : cap);
}

static int f_discard(void *ctx, int sock, size_t n)
{
	struct fake_host *h = ctx;
	struct fake_sock *s = use_tcp(h, sock, "discard");
	if (!s)
		return -EBADF;
	s->discard_calls++;
	if (n > s->rx_len) {
		MISUSE(h, "core discarded %zu bytes on socket %d holding %zu",
		       n, sock, s->rx_len);
		return -EINVAL;
	}
	rx_consume(s, n);
	return 0;
}

static int f_shutdown_wr(void *ctx, int sock)
{
	struct fake_host *h = ctx;
	struct fake_sock *s = use_tcp(h, sock, "shutdown_wr");
	if (!s)
		return -EBADF;
	h->shutdowns++;
	s->shut_wr = true;
	return 0;
}

static int f_sock_error(void *ctx, int sock, struct core_sock_error *out)
{
	struct fake_host *h = ctx;
	struct fake_sock *s = use(h, sock, "sock_error");
	if (!s)
		return -EBADF;
	if (!s->err_n)
		return 0;
	*out = s->err[0];
	memmove(s->err, s->err + 1, --s->err_n * sizeof(s->err[0]));
	return 1;
}

static void f_want(void *ctx, int sock, bool readable, bool writable)
{
	struct fake_host *h = ctx;
	struct fake_sock *s = use(h, sock, "want");
	if (!s)
		return;
	s->want_calls++;
	s->want_rd = readable;
	s->want_wr = writable;
}

static void f_close(void *ctx, int sock, bool reset)
{
	struct fake_host *h = ctx;
	struct fake_sock *s = use(h, sock, "close");
	if (!s)
		return;
	h->closes++;
	h->open_count--;
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
	if (!data && !s->rx) {
		s->rx_len += len; /* virtual: nothing to store */
		return;
	}
	/* Bytes in memory from here on: the virtual ones still unread, if
	 * any, are written out first. */
	size_t old = s->rx_len;
	bool was_virtual = !s->rx;
	grow(&s->rx, &s->rx_cap, old + len);
	for (size_t i = 0; was_virtual && i < old; i++)
		s->rx[i] =
		    fake_host_stream_byte((uint32_t)(s->rx_discarded + i));
	if (data)
		memcpy(s->rx + old, data, len);
	else
		for (size_t i = 0; i < len; i++)
			s->rx[old + i] = fake_host_stream_byte(
			    (uint32_t)(s->rx_discarded + old + i));
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

/* Queues d to be received, unless max_dgrams are waiting. */
static bool dgram_queue(struct fake_host *h, int sock, struct fake_dgram *d)
{
	struct fake_sock *s = sock_of(h, sock);
	unsigned n = 0;
	for (const struct fake_dgram *q = s ? s->dq_head : NULL; q; q = q->next)
		n++;
	if (!s || (h->max_dgrams && n >= h->max_dgrams)) {
		free(d);
		return false;
	}
	dgram_append(&s->dq_head, &s->dq_tail, d);
	return true;
}

bool fake_host_dgram_push(struct fake_host *h, int sock, const void *data,
			  size_t len)
{
	struct fake_dgram *d = dgram_new(len);
	memcpy(d->data, data, len);
	return dgram_queue(h, sock, d);
}

bool fake_host_dgram_push_made(struct fake_host *h, int sock, uint16_t len,
			       uint8_t seed, uint8_t type)
{
	struct fake_sock *s = sock_of(h, sock);
	struct fake_dgram *d = dgram_new(len);
	for (size_t k = 0; k < len; k++)
		d->data[k] = (uint8_t)(seed + k * 31);
	/* Then bytes the core must not trust. */
	if (s && s->kind == FAKE_ICMP && len >= 1)
		d->data[0] = type;
	if (s && s->kind == FAKE_ICMP && len >= 2)
		d->data[1] = 0;
	return dgram_queue(h, sock, d);
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

void fake_host_push_error(struct fake_host *h, int sock,
			  const struct core_sock_error *err)
{
	struct fake_sock *s = sock_of(h, sock);
	if (s && s->err_n < FAKE_MAX_ERRS)
		s->err[s->err_n++] = *err;
}

void fake_host_set_error(struct fake_host *h, int sock,
			 const struct core_sock_error *err)
{
	struct fake_sock *s = sock_of(h, sock);
	if (!s)
		return;
	s->err_n = 0;
	fake_host_push_error(h, sock, err);
}

void fake_host_set_errno(struct fake_host *h, int sock, int err)
{
	struct core_sock_error e;
	memset(&e, 0, sizeof(e));
	e.err = err;
	e.origin = CORE_ERR_LOCAL;
	fake_host_set_error(h, sock, &e);
}
