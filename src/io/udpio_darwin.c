/* SPDX-License-Identifier: MIT */
/* udpio_darwin.c - udpio.h on macOS and iOS: recvmsg/sendmsg loops.
 *
 * Darwin has no recvmmsg/sendmmsg (its sendmsg_x/recvmsg_x are private
 * API), so a batch is a loop of single calls with exactly the results of
 * udpio_linux.c: receive until the socket is empty or the batch full;
 * send until the socket buffer is full (the rest dropped and counted) and
 * skip a datagram the kernel refuses.
 */
#include "io/udpio.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* The errors a UDP socket reports for an earlier datagram (a pending ICMP
 * error) or a transient shortage: not the end of the socket. */
static int transient(int e)
{
	return e == EAGAIN || e == EWOULDBLOCK || e == ECONNREFUSED ||
	       e == EHOSTUNREACH || e == ENETUNREACH || e == ENOMEM ||
	       e == ENOBUFS;
}

int udpio_recv(int fd, struct udpio_in *m, int n)
{
	if (n > UDPIO_BATCH)
		n = UDPIO_BATCH;
	int k = 0;
	while (k < n) {
		struct iovec iov = {m[k].buf, m[k].cap};
		struct msghdr h;
		memset(&h, 0, sizeof(h));
		h.msg_name = &m[k].from;
		h.msg_namelen = sizeof(m[k].from);
		h.msg_iov = &iov;
		h.msg_iovlen = 1;
		ssize_t r = recvmsg(fd, &h, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* What was received so far is the batch; an error
			 * after it shows again on the next call. */
			if (k > 0 || transient(errno))
				return k;
			return -errno;
		}
		m[k].len = (size_t)r;
		m[k].from_len = h.msg_namelen;
		k++;
	}
	return k;
}

int udpio_send(int fd, const struct udpio_out *m, int n, uint64_t *failed)
{
	if (n > UDPIO_BATCH)
		n = UDPIO_BATCH;
	int sent = 0;
	for (int i = 0; i < n; i++) {
		struct iovec iov = {(void *)(uintptr_t)m[i].data, m[i].len};
		struct msghdr h;
		memset(&h, 0, sizeof(h));
		h.msg_name = (void *)(uintptr_t)m[i].to;
		h.msg_namelen = m[i].to ? m[i].to_len : 0;
		h.msg_iov = &iov;
		h.msg_iovlen = 1;
		ssize_t r;
		do {
			r = sendmsg(fd, &h, MSG_DONTWAIT);
		} while (r < 0 && errno == EINTR);
		if (r >= 0) {
			sent++;
			continue;
		}
		if (errno == EBADF || errno == ENOTSOCK)
			return -errno;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			/* Socket buffer full: what did not fit is lost. */
			*failed += (uint64_t)(n - i);
			break;
		}
		/* This datagram was refused (too big, peer unreachable, a
		 * pending ICMP error): drop it and go on with the rest. */
		(*failed)++;
	}
	return sent;
}

int udpio_socket(int family)
{
	int fd = socket(family, SOCK_DGRAM, 0);
	if (fd < 0)
		return -errno;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	/* Darwin refuses a size above kern.ipc.maxsockbuf instead of capping
	 * it: halve until it is taken (the default 8 MiB takes 4 MiB). */
	for (int sz = UDPIO_SOCK_BUF; sz >= 65536; sz /= 2)
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) == 0)
			break;
	for (int sz = UDPIO_SOCK_BUF; sz >= 65536; sz /= 2)
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) == 0)
			break;
	return fd;
}
