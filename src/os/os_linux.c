/* SPDX-License-Identifier: MIT */
/* os_linux.c - OS primitives on Linux and Android (see os.h).
 *
 * The wake-up is an eventfd: one fd, a counter, no buffer to fill. The
 * random seed comes from the getrandom system call, invoked through
 * syscall(2) because Android's libc declares getrandom() only from API
 * level 28 on, while the system call exists on every kernel Android and
 * tunproxy support (3.17+).
 */
#include "os/os.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int os_wake_open(struct os_wake *w)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->rfd = w->wfd = fd;
	return fd < 0 ? -errno : 0;
}

void os_wake_signal(const struct os_wake *w)
{
	uint64_t v = 1;
	(void)!write(w->wfd, &v, sizeof(v));
}

int os_wake_drain(const struct os_wake *w)
{
	uint64_t v;
	if (read(w->rfd, &v, sizeof(v)) < 0 && errno != EAGAIN &&
	    errno != EINTR)
		return -errno;
	return 0;
}

void os_wake_close(struct os_wake *w)
{
	if (w->rfd >= 0)
		close(w->rfd);
	w->rfd = w->wfd = -1;
}

uint64_t os_random64(void)
{
	uint64_t v = 0;
	/* GRND_NONBLOCK (1): never wait for the entropy pool at boot. */
	if (syscall(SYS_getrandom, &v, sizeof(v), 1) == (long)sizeof(v))
		return v;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^
	       (uint64_t)(uintptr_t)&v ^ (uint64_t)ts.tv_sec;
}
