/* SPDX-License-Identifier: MIT */
/* shim_no_rcvbufforce.c - an LD_PRELOAD library that refuses
 * SO_RCVBUFFORCE with EPERM, as the kernel does for a process without
 * CAP_NET_ADMIN (a proxy handed its TUN fd, an Android app), so
 * e2e.test_tcp_rcvbuf_capped runs the fallback of
 * src/host/hostsock_rcvbuf_linux.c as root: plain SO_RCVBUF, capped at
 * net.core.rmem_max, and the warning that names the setting to raise.
 * Every refusal writes one byte to the file named by TP_SHIM_COUNT (if
 * set), so the test can prove the shim was in the path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

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

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	if (level == SOL_SOCKET && name == SO_RCVBUFFORCE) {
		count_refusal();
		errno = EPERM;
		return -1;
	}
	return (int)syscall(SYS_setsockopt, fd, level, name, val, len);
}
