/* SPDX-License-Identifier: MIT */
/* sys/event.h - a minimal stand-in for the BSD/Darwin kqueue header, only
 * so that src/host/poller_kqueue.c can be syntax-checked on Linux
 * (tests/apple/check_sources.sh). It declares just what that file uses,
 * with the documented BSD names and values; it is never linked or run.
 * The real header comes with the Apple SDK.
 */
#ifndef TP_SHIM_SYS_EVENT_H
#define TP_SHIM_SYS_EVENT_H

#include <stdint.h>
#include <time.h>

struct kevent {
	uintptr_t ident;
	int16_t filter;
	uint16_t flags;
	uint32_t fflags;
	intptr_t data;
	void *udata;
};

#define EVFILT_READ  (-1)
#define EVFILT_WRITE (-2)

#define EV_ADD	   0x0001
#define EV_DELETE  0x0002
#define EV_ENABLE  0x0004
#define EV_CLEAR   0x0020
#define EV_RECEIPT 0x0040
#define EV_ERROR   0x4000
#define EV_EOF	   0x8000

#define EV_SET(kevp, a, b, c, d, e, f)                                         \
	do {                                                                   \
		struct kevent *kev_ = (kevp);                                  \
		kev_->ident = (a);                                             \
		kev_->filter = (b);                                            \
		kev_->flags = (c);                                             \
		kev_->fflags = (d);                                            \
		kev_->data = (e);                                              \
		kev_->udata = (f);                                             \
	} while (0)

int kqueue(void);
int kevent(int kq, const struct kevent *changelist, int nchanges,
	   struct kevent *eventlist, int nevents,
	   const struct timespec *timeout);

#endif
