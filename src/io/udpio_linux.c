/* SPDX-License-Identifier: MIT */
/* udpio_linux.c - udpio.h with recvmmsg/sendmmsg (Linux). */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#include "udpio.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

int udpio_recv(int fd, struct udpio_in *m, int n)
{
	struct mmsghdr h[UDPIO_BATCH];
	struct iovec iov[UDPIO_BATCH];
	if (n > UDPIO_BATCH)
		n = UDPIO_BATCH;
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = m[i].buf;
		iov[i].iov_len = m[i].cap;
		memset(&h[i], 0, sizeof(h[i]));
		h[i].msg_hdr.msg_name = &m[i].from;
		h[i].msg_hdr.msg_namelen = sizeof(m[i].from);
		h[i].msg_hdr.msg_iov = &iov[i];
		h[i].msg_hdr.msg_iovlen = 1;
	}
	int r;
	do {
		r = recvmmsg(fd, h, (unsigned)n, MSG_DONTWAIT, NULL);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == ECONNREFUSED || errno == EHOSTUNREACH ||
		    errno == ENETUNREACH || errno == ENOMEM || errno == ENOBUFS)
			return 0;
		return -errno;
	}
	for (int i = 0; i < r; i++) {
		m[i].len = h[i].msg_len;
		m[i].from_len = h[i].msg_hdr.msg_namelen;
	}
	return r;
}

int udpio_send(int fd, const struct udpio_out *m, int n, uint64_t *failed)
{
	struct mmsghdr h[UDPIO_BATCH];
	struct iovec iov[UDPIO_BATCH];
	if (n > UDPIO_BATCH)
		n = UDPIO_BATCH;
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = (void *)(uintptr_t)m[i].data;
		iov[i].iov_len = m[i].len;
		memset(&h[i], 0, sizeof(h[i]));
		h[i].msg_hdr.msg_name = (void *)(uintptr_t)m[i].to;
		h[i].msg_hdr.msg_namelen = m[i].to ? m[i].to_len : 0;
		h[i].msg_hdr.msg_iov = &iov[i];
		h[i].msg_hdr.msg_iovlen = 1;
	}
	int i = 0, sent = 0;
	while (i < n) {
		int r = sendmmsg(fd, h + i, (unsigned)(n - i), MSG_DONTWAIT);
		if (r > 0) {
			i += r;
			sent += r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EBADF || errno == ENOTSOCK))
			return -errno;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			*failed += (uint64_t)(n - i);
			break;
		}
		/* This datagram was refused (too big, peer unreachable, a
		 * pending ICMP error): drop it and go on with the rest. */
		(*failed)++;
		i++;
	}
	return sent;
}

int udpio_socket(int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int sz = UDPIO_SOCK_BUF;
	/* FORCE needs CAP_NET_ADMIN; without it the kernel caps the plain
	 * option at net.core.[rw]mem_max, which is fine. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	return fd;
}
