/* SPDX-License-Identifier: MIT */
/* toolos_darwin.c - toolos.h on macOS: fcntl for the flags, SO_NOSIGPIPE
 * for SIGPIPE (Darwin has no SOCK_NONBLOCK, accept4, pipe2 or
 * MSG_NOSIGNAL). */
#include "toolos.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/sysctl.h>
#include <unistd.h>

static int set_flags(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -1;
	return 0;
}

/* Sets the flags and SO_NOSIGPIPE on a new socket; closes it on failure. */
static int finish(int fd)
{
	int one = 1;
	if (fd < 0)
		return -1;
	if (set_flags(fd) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int toolos_socket(int family, int type)
{
	return finish(socket(family, type, 0));
}

int toolos_accept(int lfd, struct sockaddr *sa, socklen_t *len)
{
	return finish(accept(lfd, sa, len));
}

int toolos_pipe(int p[2])
{
	if (pipe(p) < 0)
		return -1;
	if (set_flags(p[0]) < 0 || set_flags(p[1]) < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		p[0] = p[1] = -1;
		errno = e;
		return -1;
	}
	return 0;
}

ssize_t toolos_sendmsg(int fd, const struct msghdr *m)
{
	return sendmsg(fd, m, MSG_DONTWAIT);
}

rlim_t toolos_nofile_max(rlim_t hard)
{
	int max = 0;
	size_t len = sizeof(max);
	rlim_t cap = 10240; /* OPEN_MAX, if the sysctl is not there */
	if (sysctlbyname("kern.maxfilesperproc", &max, &len, NULL, 0) == 0 &&
	    max > 0)
		cap = (rlim_t)max;
	return hard < cap ? hard : cap;
}
