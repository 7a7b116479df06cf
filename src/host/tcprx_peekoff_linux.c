/* tcprx_peekoff_linux.c - host -> app TCP data left in the kernel socket
 * (Linux; see tcprx.h).
 *
 * SO_PEEK_OFF makes MSG_PEEK read from an offset the kernel keeps and
 * advances: data received from the host stays in the socket until the app
 * has acknowledged it, peek() reads it at any offset for (re)transmission
 * and discard() drops acknowledged bytes with MSG_TRUNC, which frees them
 * without a copy. We track the kernel's peek offset so a setsockopt is
 * needed only when the core asks for an offset other than the next one (a
 * retransmission). No userspace buffer at all.
 */
#include <errno.h>
#include <sys/socket.h>

#include "host/tcprx.h"

#ifndef SO_PEEK_OFF
#define SO_PEEK_OFF 42
#endif

void tcprx_setup(struct driver *d, int fd)
{
	int zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero));
}

long tcprx_peek(struct driver *d, int id, size_t offset,
		const struct core_iov *iov, int iovcnt)
{
	struct hsock *s = &d->socks[id];
	if (offset != s->peek_off) {
		int off = (int)offset;
		if (setsockopt(s->fd, SOL_SOCKET, SO_PEEK_OFF, &off,
			       sizeof(off)) < 0)
			return -errno;
		s->peek_off = (uint32_t)offset;
	}
	struct msghdr mh = {.msg_iov = (struct iovec *)(uintptr_t)iov,
			    .msg_iovlen = (size_t)iovcnt};
	ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT | MSG_PEEK);
	if (n < 0)
		return -errno;
	s->peek_off += (uint32_t)n;
	return n;
}

long tcprx_recv(struct driver *d, int id, const struct core_iov *iov,
		int iovcnt)
{
	struct hsock *s = &d->socks[id];
	struct msghdr mh = {.msg_iov = (struct iovec *)(uintptr_t)iov,
			    .msg_iovlen = (size_t)iovcnt};
	ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	/* The kernel moves the peek offset back by what it consumed. */
	s->peek_off = s->peek_off > (uint32_t)n ? s->peek_off - (uint32_t)n : 0;
	return n;
}

int tcprx_discard(struct driver *d, int id, size_t n)
{
	struct hsock *s = &d->socks[id];
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

void tcprx_release(struct driver *d, int id)
{
}

void tcprx_driver_free(struct driver *d)
{
}
