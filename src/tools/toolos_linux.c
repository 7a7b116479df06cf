/* toolos_linux.c - toolos.h on Linux: the flags in the calls themselves. */
#define _GNU_SOURCE /* accept4, pipe2 */
#include "toolos.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
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

int toolos_sigwait(const sigset_t *set, int timeout_ms)
{
	struct timespec ts = {timeout_ms / 1000,
			      (long)(timeout_ms % 1000) * 1000000L};
	siginfo_t si;
	int sig = sigtimedwait(set, &si, &ts);
	return sig > 0 ? sig : 0;
}

rlim_t toolos_nofile_max(rlim_t hard)
{
	return hard;
}
