/* SPDX-License-Identifier: MIT */
/* test_tcprx.c - the host -> app TCP receive paths (src/host/tcprx*.c) on
 * real loopback sockets, driven directly the way the core drives them:
 * peek at offsets, discard what the app acknowledged.
 *
 * The kernel's refusal of SO_PEEK_OFF on TCP (Linux before 6.9) is
 * simulated on any kernel by this file's own setsockopt(), which the
 * library's calls reach because an executable's definition comes first.
 * Checked: AUTO picks the ring when the kernel refuses and PEEK then fails
 * to start; a socket refused mid-stream moves to the ring without a byte
 * lost or repeated; without a ring (budget exhausted) a FIN behind data
 * in flight wakes the core once that data is acknowledged (it did not:
 * downloads hung at their end); rings share the budget (sized from the
 * pool, grown, shrunk, all returned).
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/mem.h"
#include "host/driver.h"
#include "host/tcprx.h"
#include "io/tunconn.h"

#ifndef SO_PEEK_OFF
#define SO_PEEK_OFF 42
#endif

static int refuse_peek_off; /* nonzero: SO_PEEK_OFF fails like Linux 6.1 */

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	if (refuse_peek_off && level == SOL_SOCKET && name == SO_PEEK_OFF) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return (int)syscall(SYS_setsockopt, fd, level, name, val, len);
}

static void no_output(void *ctx, const uint8_t *const *pkts, const size_t *lens,
		      const uint8_t *families, size_t n)
{
}

static struct driver *make_driver(uint32_t tcp_rx, uint64_t budget, int *err)
{
	struct tp_config c;
	tp_config_init(&c);
	c.output = no_output;
	c.max_flows = 64;
	c.max_memory = budget;
	c.tcp_rx = tcp_rx;
	struct tunconn *t = tunconn_callback_create(no_output, NULL, 1500, 64);
	assert_non_null(t);
	return driver_create(&c, t, err);
}

/* A connected loopback pair: [0] is the host socket the driver reads,
 * [1] the "host" that writes. */
static void tcp_pair(int p[2])
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 4), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &al), 0);
	p[0] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(p[0] >= 0);
	int rc = connect(p[0], (struct sockaddr *)&a, sizeof(a));
	assert_true(rc == 0 || errno == EINPROGRESS);
	p[1] = accept(l, NULL, NULL);
	assert_true(p[1] >= 0);
	close(l);
	int big = 4 << 20;
	syscall(SYS_setsockopt, p[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 131u + (i >> 9));
}

static void send_pattern(int fd, size_t from, size_t n)
{
	uint8_t buf[4096];
	while (n) {
		size_t c = n < sizeof(buf) ? n : sizeof(buf);
		for (size_t k = 0; k < c; k++)
			buf[k] = pattern(from + k);
		ssize_t w = send(fd, buf, c, 0);
		assert_true(w > 0);
		from += (size_t)w;
		n -= (size_t)w;
	}
}

/* Peeks len bytes at offset off of the stream whose oldest unacknowledged
 * byte is stream offset base, and checks them against the pattern.
 * Returns the count (or the negative error). Retries briefly: loopback
 * data may still be on its way. */
static long peek_check(struct driver *d, int id, size_t base, size_t off,
		       size_t len)
{
	static uint8_t buf[1 << 18];
	assert_true(len <= sizeof(buf));
	struct core_iov iov = {buf, len};
	long n = -EAGAIN;
	for (int tries = 0; tries < 200 && n == -EAGAIN; tries++) {
		n = tcprx_peek(d, id, off, &iov, 1);
		if (n == -EAGAIN)
			usleep(1000);
	}
	for (long k = 0; k < n; k++)
		if (buf[k] != pattern(base + off + (size_t)k))
			fail_msg("byte %zu of the stream differs",
				 base + off + (size_t)k);
	return n;
}

static int adopt(struct driver *d, int fd)
{
	int id = driver_sock_alloc(d, fd, 0, HS_TCP, 4);
	assert_true(id >= 0);
	return id;
}

static void drop(struct driver *d, int id)
{
	int fd = d->socks[id].fd;
	tcprx_release(d, id);
	driver_sock_free(d, id);
	close(fd);
}

static void test_auto_picks_ring_when_refused(void **state)
{
	int err;
	refuse_peek_off = 1;
	struct driver *d = make_driver(TP_TCP_RX_AUTO, 0, &err);
	assert_non_null(d);
	assert_int_equal(d->tcprx_stats.userspace, 1);
	driver_destroy(d);

	/* Forced onto a kernel that cannot: refused at start, not later. */
	d = make_driver(TP_TCP_RX_PEEK, 0, &err);
	assert_null(d);
	assert_int_equal(err, -TP_ESYS);

	d = make_driver(TP_TCP_RX_COPY, 0, &err);
	assert_non_null(d);
	assert_int_equal(d->tcprx_stats.userspace, 1);
	driver_destroy(d);
	refuse_peek_off = 0;
}

/* The kernel path, refused at a retransmission: the socket continues on
 * a ring from exactly the oldest unacknowledged byte. */
static void test_refused_mid_stream_moves_to_ring(void **state)
{
	int err;
	struct driver *d = make_driver(TP_TCP_RX_PEEK, 0, &err);
	if (!d)
		skip(); /* this kernel has no TCP SO_PEEK_OFF: covered above */
	int p[2];
	tcp_pair(p);
	int id = adopt(d, p[0]);
	const size_t total = 300000;
	send_pattern(p[1], 0, total);

	assert_int_equal(peek_check(d, id, 0, 0, 30000), 30000);
	assert_int_equal(peek_check(d, id, 0, 30000, 30000), 30000);
	assert_int_equal(d->tcprx_stats.fallbacks, 0);
	/* A retransmission from offset 10000: the kernel now refuses. */
	refuse_peek_off = 1;
	assert_int_equal(peek_check(d, id, 0, 10000, 20000), 20000);
	assert_int_equal(d->tcprx_stats.fallbacks, 1);
	/* The app acknowledges 40000; everything after comes in order. */
	assert_int_equal(tcprx_discard(d, id, 40000), 0);
	size_t base = 40000, sent = 20000; /* 40000..60000 were sent */
	while (base < total) {
		size_t want = total - base - sent;
		if (want > 50000)
			want = 50000;
		if (want) {
			long n = peek_check(d, id, base, sent, want);
			assert_true(n > 0);
			sent += (size_t)n;
		}
		size_t ack = sent < 30000 ? sent : 30000;
		assert_int_equal(tcprx_discard(d, id, ack), 0);
		base += ack;
		sent -= ack;
	}
	refuse_peek_off = 0;
	drop(d, id);
	close(p[1]);
	driver_destroy(d);
}

/* Fills the budget so no ring fits. */
static void exhaust_budget(struct driver *d)
{
	struct core_mem *m = core_budget(d->core);
	assert_int_equal(core_mem_charge(m, m->budget - m->used), 0);
}

static void test_ringless_fin_behind_data_wakes(void **state)
{
	int err;
	struct driver *d = make_driver(TP_TCP_RX_COPY, 1 << 20, &err);
	assert_non_null(d);
	exhaust_budget(d);
	int p[2];
	tcp_pair(p);
	int id = adopt(d, p[0]);
	send_pattern(p[1], 0, 3000);
	shutdown(p[1], SHUT_WR); /* the host's FIN, right behind the data */
	usleep(20000);

	assert_int_equal(peek_check(d, id, 0, 0, 3000), 3000);
	assert_int_equal(d->tcprx_stats.ringless, 1);
	assert_int_equal(d->tcprx_stats.ring_bytes, 0);
	/* Nothing more at 3000 that a peek can see: the core waits for an
	 * event, and none will come from the socket (its edge is gone). */
	uint8_t b[100];
	struct core_iov iov = {b, sizeof(b)};
	assert_int_equal(tcprx_peek(d, id, 3000, &iov, 1), -EAGAIN);
	assert_false(d->socks[id].deferred);
	/* The app acknowledges the data: the core must be woken... */
	assert_int_equal(tcprx_discard(d, id, 3000), 0);
	assert_true(d->socks[id].deferred);
	/* ...and then sees the end of the stream. */
	assert_int_equal(tcprx_peek(d, id, 0, &iov, 1), 0);
	drop(d, id);
	close(p[1]);
	driver_destroy(d);
}

/* A ringless connection's flight is bounded too, and room wakes it. */
static void test_ringless_full_flight_wakes(void **state)
{
	int err;
	struct driver *d = make_driver(TP_TCP_RX_COPY, 1 << 20, &err);
	assert_non_null(d);
	exhaust_budget(d);
	int p[2];
	tcp_pair(p);
	int id = adopt(d, p[0]);
	send_pattern(p[1], 0, 100000);
	size_t sent = 0;
	long n;
	while ((n = peek_check(d, id, 0, sent, 4096)) > 0)
		sent += (size_t)n;
	assert_int_equal(n, -EAGAIN);
	assert_true(sent >= 8192 && sent < 100000);
	assert_int_equal(tcprx_discard(d, id, 4096), 0);
	assert_true(d->socks[id].deferred);
	assert_int_equal(peek_check(d, id, 4096, sent - 4096, 4096), 4096);
	drop(d, id);
	close(p[1]);
	driver_destroy(d);
}

/* N connections with data and a budget that cannot give each the
 * largest ring: rings are equal, within the budget, and all come back. */
static void test_rings_share_the_budget(void **state)
{
	enum { N = 8 };
	int err;
	struct driver *d = make_driver(TP_TCP_RX_COPY, 2 << 20, &err);
	assert_non_null(d);
	struct core_mem *m = core_budget(d->core);
	int p[N][2], id[N];
	for (int i = 0; i < N; i++) {
		tcp_pair(p[i]);
		id[i] = adopt(d, p[i][0]);
		send_pattern(p[i][1], 0, 600000);
	}
	usleep(20000);
	/* Each connection takes as much as it may, the app acknowledges
	 * everything, again: the first comers' larger rings come back to
	 * the pool and every connection ends with the same share. */
	size_t sent[N] = {0}, base[N] = {0};
	for (int round = 0; round < 4; round++)
		for (int i = 0; i < N; i++) {
			assert_int_equal(tcprx_discard(d, id[i], sent[i]), 0);
			base[i] += sent[i];
			sent[i] = 0;
			long n;
			while ((n = peek_check(d, id[i], base[i], sent[i],
					       65536)) > 0)
				sent[i] += (size_t)n;
		}
	assert_true(m->peak <= m->budget);
	for (int i = 1; i < N; i++)
		assert_int_equal(sent[i], sent[0]);
	assert_true(sent[0] >= 8192);
	assert_true(sent[0] < 256 * 1024); /* not all could have the max */
	uint64_t all = d->tcprx_stats.ring_bytes;
	assert_true(all >= N * sent[0]);

	/* Seven finish: the last one's ring grows into the room. */
	for (int i = 1; i < N; i++)
		drop(d, id[i]);
	size_t before = sent[0], base0 = base[0];
	send_pattern(p[0][1], 600000, 1400000);
	for (int round = 0; round < 6; round++) {
		assert_int_equal(tcprx_discard(d, id[0], sent[0]), 0);
		base0 += sent[0];
		sent[0] = 0;
		long n;
		while ((n = peek_check(d, id[0], base0, sent[0], 65536)) > 0)
			sent[0] += (size_t)n;
	}
	assert_true(sent[0] > before);
	assert_true(m->peak <= m->budget);
	drop(d, id[0]);
	/* What is left is the one spare ring an engine keeps. */
	assert_true(d->tcprx_stats.ring_bytes <= 256 * 1024 + 64);
	for (int i = 0; i < N; i++)
		close(p[i][1]);
	driver_destroy(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_auto_picks_ring_when_refused),
	    cmocka_unit_test(test_refused_mid_stream_moves_to_ring),
	    cmocka_unit_test(test_ringless_fin_behind_data_wakes),
	    cmocka_unit_test(test_ringless_full_flight_wakes),
	    cmocka_unit_test(test_rings_share_the_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
