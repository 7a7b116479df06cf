/* SPDX-License-Identifier: MIT */
/* test_udpio.c - batched datagram I/O (src/io/udpio.h), both per-OS files
 * on Linux: udpio_linux.c (recvmmsg/sendmmsg) and udpio_darwin.c
 * (recvmsg/sendmsg loops, which are plain POSIX and run here too; the test
 * links it with its functions renamed *_darwin, see tests/CMakeLists.txt).
 * Every case runs against both and must give the same results:
 *   - receive: nothing waiting is 0; a batch returns the datagrams in
 *     order with their bytes, lengths and sender; a short batch limit
 *     leaves the rest for the next call; an empty datagram has length 0;
 *   - send: a batch arrives in order; a datagram the kernel refuses (too
 *     big) is dropped and counted while the rest go on;
 *   - errors: a pending ICMP error (port unreachable on a connected
 *     socket) reads as 0, not as the end; a send to that port counts the
 *     refused datagram; a fd that is not a socket is fatal (-ENOTSOCK);
 *   - udpio_socket: non-blocking and close-on-exec, buffers raised.
 * Readiness is waited for with poll, never a sleep. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/udpio.h"

int udpio_recv_darwin(int fd, struct udpio_in *m, int n);
int udpio_send_darwin(int fd, const struct udpio_out *m, int n,
		      uint64_t *failed);
int udpio_socket_darwin(int family);

struct impl {
	const char *name;
	int (*recv)(int fd, struct udpio_in *m, int n);
	int (*send)(int fd, const struct udpio_out *m, int n, uint64_t *failed);
	int (*socket)(int family);
};

static const struct impl impls[] = {
    {"linux", udpio_recv, udpio_send, udpio_socket},
    {"darwin", udpio_recv_darwin, udpio_send_darwin, udpio_socket_darwin},
};

/* A bound loopback socket of the implementation and a peer connected
 * to it (and it to the peer). */
struct pair {
	int a, b;
};

static uint16_t port_of(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	return ntohs(sa.sin_port);
}

static void bind_lo(int fd)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

static void connect_lo(int fd, uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

static struct pair make_pair(const struct impl *im)
{
	struct pair p;
	p.a = im->socket(AF_INET);
	assert_true(p.a >= 0);
	bind_lo(p.a);
	p.b = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(p.b >= 0);
	bind_lo(p.b);
	connect_lo(p.b, port_of(p.a));
	connect_lo(p.a, port_of(p.b));
	return p;
}

static void wait_readable(int fd)
{
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	assert_int_equal(poll(&pf, 1, 2000), 1);
}

static uint8_t bufs[UDPIO_BATCH][2048];

static void prepare(struct udpio_in *in, int n)
{
	for (int i = 0; i < n; i++) {
		memset(&in[i], 0, sizeof(in[i]));
		in[i].buf = bufs[i];
		in[i].cap = sizeof(bufs[i]);
	}
}

/* Sends n datagrams from the plain peer: datagram i is i+1 bytes of i. */
static void peer_send(int fd, int n)
{
	uint8_t d[128];
	for (int i = 0; i < n; i++) {
		memset(d, i, sizeof(d));
		assert_int_equal(send(fd, d, (size_t)i + 1, 0), i + 1);
	}
}

static void check_got(const struct udpio_in *in, int first, int n,
		      uint16_t from_port)
{
	for (int i = 0; i < n; i++) {
		int id = first + i;
		assert_int_equal(in[i].len, (size_t)id + 1);
		for (int j = 0; j <= id; j++)
			assert_int_equal(in[i].buf[j], (uint8_t)id);
		const struct sockaddr_in *f =
		    (const struct sockaddr_in *)&in[i].from;
		assert_int_equal(f->sin_family, AF_INET);
		assert_int_equal(ntohs(f->sin_port), from_port);
		assert_int_equal(in[i].from_len, sizeof(struct sockaddr_in));
	}
}

static void recv_batches(const struct impl *im)
{
	struct pair p = make_pair(im);
	struct udpio_in in[UDPIO_BATCH];
	prepare(in, UDPIO_BATCH);
	assert_int_equal(im->recv(p.a, in, UDPIO_BATCH), 0);

	peer_send(p.b, 10);
	wait_readable(p.a);
	assert_int_equal(im->recv(p.a, in, 4), 4);
	check_got(in, 0, 4, port_of(p.b));
	prepare(in, UDPIO_BATCH);
	assert_int_equal(im->recv(p.a, in, UDPIO_BATCH), 6);
	check_got(in, 4, 6, port_of(p.b));
	assert_int_equal(im->recv(p.a, in, UDPIO_BATCH), 0);

	/* An empty datagram is one datagram of length 0. */
	assert_int_equal(send(p.b, "", 0, 0), 0);
	wait_readable(p.a);
	assert_int_equal(im->recv(p.a, in, UDPIO_BATCH), 1);
	assert_int_equal(in[0].len, 0);
	close(p.a);
	close(p.b);
}

static void send_batch(const struct impl *im)
{
	struct pair p = make_pair(im);
	static uint8_t big[70000]; /* above the UDP maximum: EMSGSIZE */
	uint8_t d[5][16];
	struct udpio_out out[6];
	int k = 0;
	for (int i = 0; i < 5; i++) {
		memset(d[i], 0xa0 + i, sizeof(d[i]));
		out[k++] = (struct udpio_out){d[i], (size_t)i + 1, NULL, 0};
		if (i == 2)
			out[k++] =
			    (struct udpio_out){big, sizeof(big), NULL, 0};
	}
	uint64_t failed = 0;
	assert_int_equal(im->send(p.a, out, 6, &failed), 5);
	assert_int_equal(failed, 1);
	for (int i = 0; i < 5; i++) {
		uint8_t r[32];
		wait_readable(p.b);
		assert_int_equal(recv(p.b, r, sizeof(r), MSG_DONTWAIT), i + 1);
		assert_int_equal(r[0], 0xa0 + i);
	}

	/* With an explicit destination, from an unconnected socket to an
	 * unconnected one (a connected socket filters other senders). */
	int u = im->socket(AF_INET);
	assert_true(u >= 0);
	int v = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(v >= 0);
	bind_lo(v);
	struct sockaddr_storage to;
	socklen_t tl = sizeof(to);
	assert_int_equal(getsockname(v, (struct sockaddr *)&to, &tl), 0);
	out[0] = (struct udpio_out){d[4], 7, &to, tl};
	assert_int_equal(im->send(u, out, 1, &failed), 1);
	assert_int_equal(failed, 1);
	wait_readable(v);
	uint8_t r[32];
	assert_int_equal(recv(v, r, sizeof(r), MSG_DONTWAIT), 7);
	close(u);
	close(v);
	close(p.a);
	close(p.b);
}

static void icmp_errors(const struct impl *im)
{
	struct pair p = make_pair(im);
	/* The peer goes away: its port is unreachable now. */
	close(p.b);
	uint8_t d[8] = {0};
	struct udpio_out out[3] = {
	    {d, 8, NULL, 0}, {d, 8, NULL, 0}, {d, 8, NULL, 0}};
	uint64_t failed = 0;
	int sent = im->send(p.a, out, 1, &failed);
	assert_int_equal(sent, 1);
	/* The ICMP port unreachable arrives as a pending error: poll says
	 * readable (POLLERR), receive reports 0 and consumes it. */
	struct pollfd pf = {.fd = p.a, .events = POLLIN};
	assert_int_equal(poll(&pf, 1, 2000), 1);
	struct udpio_in in[4];
	prepare(in, 4);
	assert_int_equal(im->recv(p.a, in, 4), 0);
	assert_int_equal(im->recv(p.a, in, 4), 0);
	/* Sending again: the first send raises a new error, the batch goes
	 * on; every refused datagram is counted, none is fatal. */
	sent = im->send(p.a, out, 3, &failed);
	assert_true(sent >= 0);
	assert_int_equal((uint64_t)sent + failed, 3);
	close(p.a);
}

static void not_a_socket(const struct impl *im)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	struct udpio_in in[2];
	prepare(in, 2);
	assert_int_equal(im->recv(fds[0], in, 2), -ENOTSOCK);
	uint8_t d[4] = {0};
	struct udpio_out out[1] = {{d, 4, NULL, 0}};
	uint64_t failed = 0;
	assert_int_equal(im->send(fds[1], out, 1, &failed), -ENOTSOCK);
	close(fds[0]);
	close(fds[1]);
}

static void socket_flags(const struct impl *im)
{
	int fd = im->socket(AF_INET6);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	int sz = 0;
	socklen_t len = sizeof(sz);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, &len), 0);
	/* Raised above Linux's default (212992, reported doubled). */
	assert_true(sz > 212992 * 2 || sz >= 65536 * 2);
	close(fd);
}

#define BOTH(fn)                                                               \
	static void fn##_linux(void **s)                                       \
	{                                                                      \
		(void)s;                                                       \
		fn(&impls[0]);                                                 \
	}                                                                      \
	static void fn##_darwin(void **s)                                      \
	{                                                                      \
		(void)s;                                                       \
		fn(&impls[1]);                                                 \
	}

BOTH(recv_batches)
BOTH(send_batch)
BOTH(icmp_errors)
BOTH(not_a_socket)
BOTH(socket_flags)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(recv_batches_linux),
	    cmocka_unit_test(recv_batches_darwin),
	    cmocka_unit_test(send_batch_linux),
	    cmocka_unit_test(send_batch_darwin),
	    cmocka_unit_test(icmp_errors_linux),
	    cmocka_unit_test(icmp_errors_darwin),
	    cmocka_unit_test(not_a_socket_linux),
	    cmocka_unit_test(not_a_socket_darwin),
	    cmocka_unit_test(socket_flags_linux),
	    cmocka_unit_test(socket_flags_darwin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
