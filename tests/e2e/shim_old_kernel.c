/* SPDX-License-Identifier: MIT */
/* shim_old_kernel.c - an LD_PRELOAD library that makes this kernel refuse
 * what older kernels refuse, so the end-to-end tests run tunproxy's
 * fallbacks on the CI kernel (tests/CMakeLists.txt registers the
 * *.nopeek, *.latepeek and *.nooffload variants; docs/architecture.md's
 * kernel-feature table names them).
 *
 * TP_SHIM_PEEK_OFF (environment): SO_PEEK_OFF on stream sockets, which
 * Linux gained in 6.9:
 *   refuse  (default) every call fails with EOPNOTSUPP, as on Debian 12's
 *           6.1, Ubuntu 22.04/24.04 GA kernels, Android GKI up to 6.6.
 *   late    offset 0 on a fresh socket and every call on a loopback
 *           socket (the probe) succeed; any other offset fails: a socket
 *           that started on the kernel path is refused at its first
 *           retransmission, mid-stream.
 *   allow   the kernel's own answer.
 * TP_SHIM_TUN_OFFLOAD=refuse: ioctl(TUNSETOFFLOAD) fails with EINVAL, as
 * on a kernel (or a TUN driver in a sandbox) without the offloads.
 * Every refusal is counted in the file named by TP_SHIM_COUNT (if set), one
 * byte per refusal, so a test can prove the shim was in the path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SO_PEEK_OFF
#define SO_PEEK_OFF 42
#endif

static int is_stream(int fd)
{
	int type = 0;
	socklen_t len = sizeof(type);
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
	       type == SOCK_STREAM;
}

static int is_loopback_peer(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
		return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
	}
	return 0;
}

static void count_refusal(void)
{
	const char *path = getenv("TP_SHIM_COUNT");
	if (!path)
		return;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, "x", 1) < 0) {
			/* nothing to do: the count is best effort */
		}
		close(fd);
	}
}

static int refuse(int fd, const void *val, socklen_t len)
{
	const char *mode = getenv("TP_SHIM_PEEK_OFF");
	if (!is_stream(fd) || (mode && strcmp(mode, "allow") == 0))
		return 0;
	if (mode && strcmp(mode, "late") == 0) {
		int off = len >= sizeof(int) ? *(const int *)val : 0;
		return off != 0 && !is_loopback_peer(fd);
	}
	return 1;
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	if (level == SOL_SOCKET && name == SO_PEEK_OFF &&
	    refuse(fd, val, len)) {
		count_refusal();
		errno = EOPNOTSUPP;
		return -1;
	}
	return (int)syscall(SYS_setsockopt, fd, level, name, val, len);
}

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	const char *mode = getenv("TP_SHIM_TUN_OFFLOAD");
	if (req == TUNSETOFFLOAD && mode && strcmp(mode, "refuse") == 0) {
		count_refusal();
		errno = EINVAL;
		return -1;
	}
	return (int)syscall(SYS_ioctl, fd, req, arg);
}
