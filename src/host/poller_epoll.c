/* SPDX-License-Identifier: MIT */
/* poller_epoll.c - the poller on Linux epoll (level-triggered). */
#include "host/poller.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

struct poller {
	int epfd;
};

struct poller *poller_create(void)
{
	struct poller *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd < 0) {
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
	close(p->epfd);
	free(p);
}

static uint32_t to_epoll(uint32_t ev)
{
	return (ev & POLLER_IN ? EPOLLIN : 0u) |
	       (ev & POLLER_OUT ? EPOLLOUT : 0u) |
	       (ev & POLLER_EDGE ? (uint32_t)EPOLLET : 0u);
}

static int ctl(struct poller *p, int op, int fd, uint64_t tag, uint32_t ev)
{
	struct epoll_event e = {.events = to_epoll(ev), .data.u64 = tag};
	return epoll_ctl(p->epfd, op, fd, &e) < 0 ? -errno : 0;
}

int poller_add(struct poller *p, int fd, uint64_t tag, uint32_t events)
{
	return ctl(p, EPOLL_CTL_ADD, fd, tag, events);
}

int poller_mod(struct poller *p, int fd, uint64_t tag, uint32_t events)
{
	return ctl(p, EPOLL_CTL_MOD, fd, tag, events);
}

void poller_del(struct poller *p, int fd)
{
	epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL);
}

int poller_wait(struct poller *p, struct poller_event *out, int max,
		int timeout_ms)
{
	struct epoll_event ev[256];
	if (max > 256)
		max = 256;
	int n = epoll_wait(p->epfd, ev, max, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		uint32_t e = ev[i].events;
		out[i].tag = ev[i].data.u64;
		out[i].events = (e & EPOLLIN ? POLLER_IN : 0u) |
				(e & EPOLLOUT ? POLLER_OUT : 0u) |
				(e & EPOLLERR ? POLLER_ERR : 0u) |
				(e & (EPOLLHUP | EPOLLRDHUP) ? POLLER_HUP : 0u);
	}
	return n;
}

int poller_fd(const struct poller *p)
{
	return p->epfd;
}
