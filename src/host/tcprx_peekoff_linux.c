/* SPDX-License-Identifier: MIT */
/* tcprx_peekoff_linux.c - host -> app TCP data left in the kernel socket
 * (see tcprx.h).
 *
 * SO_PEEK_OFF makes MSG_PEEK read from an offset the kernel keeps and
 * advances: data received from the host stays in the socket until the app
 * has acknowledged it, peek() reads it at any offset for (re)transmission
 * and discard() drops acknowledged bytes with MSG_TRUNC, which frees them
 * without a copy. We track the kernel's peek offset so a setsockopt is
 * needed only when the core asks for an offset other than the next one (a
 * retransmission). No userspace buffer at all.
 *
 * Linux gained SO_PEEK_OFF for TCP in 6.9; older kernels refuse the
 * setsockopt with EOPNOTSUPP and a MSG_PEEK then always reads from the
 * head of the queue, so the same bytes would go out again under new
 * sequence numbers. tcprx_peekoff_probe() asks a loopback pair before the
 * engine trusts the option, and every seek's result is checked (tcprx.c
 * moves a refused socket to the userspace ring).
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "host/tcprx_backend.h"

#ifndef SO_PEEK_OFF
#define SO_PEEK_OFF 42
#endif

static int set_peek_off(int fd, int off)
{
	return setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)) < 0
		   ? -errno
		   : 0;
}

/* Peeks len bytes from fd and compares them with want. */
static int peek_is(int fd, const char *want, size_t len)
{
	char buf[16];
	ssize_t n = recv(fd, buf, len, MSG_PEEK | MSG_DONTWAIT);
	return n == (ssize_t)len && memcmp(buf, want, len) == 0;
}

/* A connected loopback TCP pair in fds; 0 or -errno. The listener is
 * closed before returning. */
static int loopback_pair(int fds[2])
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int err = 0;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	fds[0] = fds[1] = -1;
	if (l < 0)
		return -errno;
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &al) < 0)
		goto fail;
	fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fds[0] < 0)
		goto fail;
	/* Loopback connects complete at once; the timeout only guards a
	 * namespace whose lo is down against a hang. */
	struct timeval tv = {.tv_sec = 1};
	setsockopt(fds[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fds[0], (struct sockaddr *)&a, sizeof(a)) < 0)
		goto fail;
	fds[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (fds[1] < 0)
		goto fail;
	close(l);
	return 0;
fail:
	err = -errno;
	close(l);
	if (fds[0] >= 0)
		close(fds[0]);
	fds[0] = -1;
	return err;
}

int tcprx_peekoff_probe(char *why, size_t cap)
{
	/* First the cheap question: does a TCP socket take the option? */
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, cap, "no TCP socket: %s", strerror(errno));
		return 0;
	}
	int rc = set_peek_off(fd, 0);
	close(fd);
	if (rc < 0) {
		snprintf(why, cap,
			 "SO_PEEK_OFF on TCP refused (%s; Linux before 6.9)",
			 strerror(-rc));
		return 0;
	}
	/* Then what the data path relies on: peeks advance the offset and
	 * a seek back rereads. Without a loopback (lo down in a fresh
	 * namespace) the accepted option is trusted. */
	int p[2];
	if (loopback_pair(p) < 0) {
		snprintf(why, cap, "option accepted; no loopback to verify");
		return 1;
	}
	int ok = 0;
	struct timeval tv = {.tv_sec = 1};
	setsockopt(p[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char c;
	if (send(p[0], "abcdefgh", 8, MSG_NOSIGNAL) == 8 &&
	    recv(p[1], &c, 1, MSG_PEEK | MSG_WAITALL) == 1 &&
	    set_peek_off(p[1], 0) == 0 && peek_is(p[1], "abc", 3) &&
	    peek_is(p[1], "def", 3) && set_peek_off(p[1], 1) == 0 &&
	    peek_is(p[1], "bc", 2))
		ok = 1;
	else
		snprintf(why, cap, "SO_PEEK_OFF accepted but peeks ignore it");
	close(p[0]);
	close(p[1]);
	if (ok)
		snprintf(why, cap, "SO_PEEK_OFF on TCP works");
	return ok;
}

int tcprx_peekoff_seek(struct hsock *s, size_t offset)
{
	if (s->peek_set && offset == s->peek_off)
		return 0;
	if (offset > 0x7fffffff)
		return -EINVAL;
	int rc = set_peek_off(s->fd, (int)offset);
	if (rc < 0)
		return rc;
	s->peek_set = 1;
	s->peek_off = (uint32_t)offset;
	return 0;
}

void tcprx_peekoff_off(struct hsock *s)
{
	if (s->peek_set)
		set_peek_off(s->fd, -1);
	s->peek_set = 0;
}

long tcprx_peekoff_peek(struct hsock *s, const struct core_iov *iov, int iovcnt)
{
	struct msghdr mh = {.msg_iov = (struct iovec *)(uintptr_t)iov,
			    .msg_iovlen = (size_t)iovcnt};
	ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT | MSG_PEEK);
	if (n < 0)
		return -errno;
	s->peek_off += (uint32_t)n;
	return n;
}

long tcprx_peekoff_recv(struct hsock *s, const struct core_iov *iov, int iovcnt)
{
	struct msghdr mh = {.msg_iov = (struct iovec *)(uintptr_t)iov,
			    .msg_iovlen = (size_t)iovcnt};
	ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	/* The kernel moves the peek offset back by what it consumed. */
	s->peek_off = s->peek_off > (uint32_t)n ? s->peek_off - (uint32_t)n : 0;
	return n;
}

int tcprx_peekoff_discard(struct hsock *s, size_t n)
{
	while (n > 0) {
		ssize_t r = recv(s->fd, NULL, n, MSG_DONTWAIT | MSG_TRUNC);
		if (r < 0)
			return errno == EINTR ? 0 : -errno;
		if (r == 0)
			break;
		n -= (size_t)r;
		s->peek_off =
		    s->peek_off > (uint32_t)r ? s->peek_off - (uint32_t)r : 0;
	}
	return 0;
}
