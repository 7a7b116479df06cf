/* SPDX-License-Identifier: MIT */
/* shim_udp_nobatch.c - an LD_PRELOAD library that makes this kernel look
 * like one without UDP batching: setsockopt(UDP_SEGMENT) and UDP_GRO fail
 * with ENOPROTOOPT (Linux before 4.18 / 5.0), sendmmsg() and recvmmsg()
 * with ENOSYS (a seccomp filter or an old libc/kernel), and TUNSETOFFLOAD
 * with TUN_F_USO4/USO6 with EINVAL (Linux before 6.2). tunproxy must then
 * send and read one datagram per system call with the same result
 * (tests/CMakeLists.txt: e2e.test_udp_burst.nobatch).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_tun.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#define UDP_SEGMENT_OPT 103
#define UDP_GRO_OPT	104

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	if (level == SOL_UDP &&
	    (name == UDP_SEGMENT_OPT || name == UDP_GRO_OPT)) {
		errno = ENOPROTOOPT;
		return -1;
	}
	return (int)syscall(SYS_setsockopt, fd, level, name, val, len);
}

int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
	(void)fd;
	(void)v;
	(void)n;
	(void)flags;
	errno = ENOSYS;
	return -1;
}

int recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags,
	     struct timespec *timeout)
{
	(void)fd;
	(void)v;
	(void)n;
	(void)flags;
	(void)timeout;
	errno = ENOSYS;
	return -1;
}

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	unsigned long arg = va_arg(ap, unsigned long);
	va_end(ap);
	if (req == TUNSETOFFLOAD && (arg & (0x20 | 0x40))) {
		errno = EINVAL;
		return -1;
	}
	return (int)syscall(SYS_ioctl, fd, req, arg);
}
