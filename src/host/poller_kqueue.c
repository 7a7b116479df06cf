/* SPDX-License-Identifier: MIT */
/* poller_kqueue.c - the poller on BSD/Darwin kqueue (see poller.h).
 *
 * kqueue keeps one filter per (fd, direction): POLLER_IN is EVFILT_READ,
 * POLLER_OUT is EVFILT_WRITE, each added or deleted on its own, and
 * POLLER_EDGE is EV_CLEAR (report a change once, like EPOLLET). The tag
 * rides in udata, which is pointer-sized: tunproxy's Apple targets are all
 * 64-bit (arm64, x86_64). kevent() reports each filter separately, so the
 * two events of one fd that arrive side by side are merged into one.
 *
 * Mapping of flags: EV_EOF on the read filter (the peer shut down its
 * side) is reported as readable, as epoll does: the next read returns 0.
 * EV_EOF on the write filter (nothing can be sent any more) is POLLER_HUP;
 * a socket error (fflags set with EV_EOF) or EV_ERROR is POLLER_ERR, and
 * the driver then asks for the error with SO_ERROR.
 *
 * The kqueue fd itself is readable while events are pending, so an outer
 * run loop (a DispatchSource, CFFileDescriptor) can watch poller_fd().
 *
 * Written for Apple platforms and only syntax-checked on Linux (see
 * docs/embedding.md, "What is verified where").
 */
#include "host/poller.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/event.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#define KQ_BATCH 256

struct poller {
	int kq;
};

struct poller *poller_create(void)
{
	struct poller *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->kq = kqueue();
	if (p->kq < 0) {
		int err = errno;
		free(p);
		errno = err;
		return NULL;
	}
	return p;
}

void poller_destroy(struct poller *p)
{
	if (!p)
		return;
	close(p->kq);
	free(p);
}

/* Adds or deletes both filters of fd as events asks. With add set a
 * missing filter is not deleted (nothing to delete on a new fd). EV_RECEIPT
 * makes kevent report each change's outcome instead of stopping at the
 * first error; ENOENT (deleting a filter that was never added) is fine. */
static int apply(struct poller *p, int fd, uint64_t tag, uint32_t events,
		 bool add)
{
	struct kevent ch[2], res[2];
	int n = 0;
	unsigned short clear = events & POLLER_EDGE ? EV_CLEAR : 0;
	void *udata = (void *)(uintptr_t)tag;
	static const short filters[2] = {EVFILT_READ, EVFILT_WRITE};
	static const uint32_t bits[2] = {POLLER_IN, POLLER_OUT};
	for (int i = 0; i < 2; i++) {
		if (events & bits[i])
			EV_SET(&ch[n++], fd, filters[i],
			       EV_ADD | EV_ENABLE | EV_RECEIPT | clear, 0, 0,
			       udata);
		else if (!add)
			EV_SET(&ch[n++], fd, filters[i], EV_DELETE | EV_RECEIPT,
			       0, 0, udata);
	}
	if (n == 0)
		return 0;
	int r = kevent(p->kq, ch, n, res, n, NULL);
	if (r < 0)
		return -errno;
	for (int i = 0; i < r; i++) {
		if (!(res[i].flags & EV_ERROR) || res[i].data == 0)
			continue;
		uint32_t bit =
		    res[i].filter == EVFILT_READ ? POLLER_IN : POLLER_OUT;
		if (res[i].data == ENOENT && !(events & bit))
			continue;
		return -(int)res[i].data;
	}
	return 0;
}

int poller_add(struct poller *p, int fd, uint64_t tag, uint32_t events)
{
	return apply(p, fd, tag, events, true);
}

int poller_mod(struct poller *p, int fd, uint64_t tag, uint32_t events)
{
	return apply(p, fd, tag, events, false);
}

void poller_del(struct poller *p, int fd)
{
	(void)apply(p, fd, 0, 0, false);
}

static uint32_t to_poller(const struct kevent *k)
{
	if (k->flags & EV_ERROR)
		return POLLER_ERR;
	uint32_t ev = 0;
	if (k->filter == EVFILT_READ)
		ev |= POLLER_IN;
	else if (k->filter == EVFILT_WRITE)
		ev |= k->flags & EV_EOF ? POLLER_HUP : POLLER_OUT;
	if ((k->flags & EV_EOF) && k->fflags != 0)
		ev |= POLLER_ERR;
	return ev;
}

int poller_wait(struct poller *p, struct poller_event *out, int max,
		int timeout_ms)
{
	struct kevent ev[KQ_BATCH];
	struct timespec ts, *tsp = NULL;
	if (max > KQ_BATCH)
		max = KQ_BATCH;
	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		tsp = &ts;
	}
	int n = kevent(p->kq, NULL, 0, ev, max, tsp);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	int m = 0;
	for (int i = 0; i < n; i++) {
		uint64_t tag = (uint64_t)(uintptr_t)ev[i].udata;
		uint32_t e = to_poller(&ev[i]);
		if (m > 0 && out[m - 1].tag == tag) {
			out[m - 1].events |= e;
			continue;
		}
		out[m].tag = tag;
		out[m].events = e;
		m++;
	}
	return m;
}

int poller_fd(const struct poller *p)
{
	return p->kq;
}
