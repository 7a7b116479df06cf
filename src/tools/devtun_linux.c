/* SPDX-License-Identifier: MIT */
/* devtun_linux.c - devtun.h on Linux: the library's TUN helpers; packets
 * on the fd are bare IP packets (IFF_TUN | IFF_NO_PI). */
#include "devtun.h"

#include <unistd.h>

int devtun_open(const char *want, char name[16])
{
	return tp_tun_open(want, name);
}

int devtun_configure(const char *name, uint32_t mtu, const char *ip4_cidr,
		     const char *ip6_cidr, tp_log_fn log, void *log_ctx)
{
	return tp_tun_configure(name, mtu, ip4_cidr, ip6_cidr, log, log_ctx);
}

ssize_t devtun_read(int fd, uint8_t *buf, size_t cap)
{
	return read(fd, buf, cap);
}

ssize_t devtun_write(int fd, const uint8_t *p, size_t len)
{
	return write(fd, p, len);
}
