/* SPDX-License-Identifier: MIT */
/* os_darwin.c - OS primitives on macOS and iOS (see os.h).
 *
 * Darwin has no eventfd: the wake-up is a non-blocking pipe (kqueue could
 * use EVFILT_USER, but the callback backend's wake-up must be an fd the
 * poller watches like any other, and a pipe keeps one poller interface).
 * A signal writes one byte; a full pipe already means "signalled". The
 * random seed comes from arc4random_buf, which never fails.
 *
 * Written for Apple platforms and only syntax-checked on Linux (see
 * docs/embedding.md, "What is verified where").
 */
#include "os/os.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static int set_flags(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

int os_wake_open(struct os_wake *w)
{
	int p[2];
	w->rfd = w->wfd = -1;
	if (pipe(p) < 0)
		return -errno;
	int rc = set_flags(p[0]);
	if (rc == 0)
		rc = set_flags(p[1]);
	if (rc < 0) {
		close(p[0]);
		close(p[1]);
		return rc;
	}
	w->rfd = p[0];
	w->wfd = p[1];
	return 0;
}

void os_wake_signal(const struct os_wake *w)
{
	uint8_t b = 1;
	(void)!write(w->wfd, &b, 1);
}

int os_wake_drain(const struct os_wake *w)
{
	uint8_t buf[64];
	for (;;) {
		ssize_t r = read(w->rfd, buf, sizeof(buf));
		if (r > 0)
			continue;
		if (r == 0 || errno == EAGAIN)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

void os_wake_close(struct os_wake *w)
{
	if (w->rfd >= 0)
		close(w->rfd);
	if (w->wfd >= 0 && w->wfd != w->rfd)
		close(w->wfd);
	w->rfd = w->wfd = -1;
}

uint64_t os_random64(void)
{
	uint64_t v;
	arc4random_buf(&v, sizeof(v));
	return v;
}
