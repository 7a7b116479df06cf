/* SPDX-License-Identifier: MIT */
/* toolos_linux.c - toolos.h on Linux: the flags in the calls themselves. */
#define _GNU_SOURCE /* accept4, pipe2 */
#include "toolos.h"

#include <fcntl.h>
#include <unistd.h>

int toolos_socket(int family, int type)
{
	return socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

int toolos_accept(int lfd, struct sockaddr *sa, socklen_t *len)
{
	return accept4(lfd, sa, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int toolos_pipe(int p[2])
{
	return pipe2(p, O_NONBLOCK | O_CLOEXEC);
}

ssize_t toolos_sendmsg(int fd, const struct msghdr *m)
{
	return sendmsg(fd, m, MSG_DONTWAIT | MSG_NOSIGNAL);
}

rlim_t toolos_nofile_max(rlim_t hard)
{
	return hard;
}
