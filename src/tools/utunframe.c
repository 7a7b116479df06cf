/* SPDX-License-Identifier: MIT */
/* utunframe.c - utun's 4-byte family framing (utunframe.h). */
#include "utunframe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "wire/hdr.h"

ssize_t utunframe_read(int fd, uint8_t *buf, size_t cap)
{
	uint32_t family;
	struct iovec iov[2] = {{&family, 4}, {buf, cap}};
	ssize_t r = readv(fd, iov, 2);
	if (r < 0)
		return r;
	if (r <= 4) {
		errno = EINTR; /* nothing but a header: read the next */
		return -1;
	}
	return r - 4;
}

ssize_t utunframe_write(int fd, const uint8_t *p, size_t len)
{
	if (len == 0)
		return 0;
	uint32_t family = htonl(wire_ip_version(p) == 6 ? AF_INET6 : AF_INET);
	struct iovec iov[2] = {{&family, 4}, {(void *)(uintptr_t)p, len}};
	ssize_t r = writev(fd, iov, 2);
	if (r < 0)
		return r;
	return r < 4 ? 0 : r - 4;
}
