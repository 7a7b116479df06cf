/* SPDX-License-Identifier: MIT */
/* poller.h - readiness notification, one backend file per OS.
 *
 * The driver registers fds with a 64-bit tag and asks for readable and/or
 * writable events; poller_wait fills an array of (tag, events). Level-
 * triggered by default: an fd stays reported while it is ready, so a
 * handler may stop early (e.g. a full transmit ring) without losing the
 * wake-up. POLLER_EDGE asks for edge-triggered reports instead. Backends:
 * poller_epoll.c (Linux); poller_kqueue.c (Darwin) follows the same API.
 */
#ifndef TP_HOST_POLLER_H
#define TP_HOST_POLLER_H

#include <stdbool.h>
#include <stdint.h>

enum {
	POLLER_IN = 1u,
	POLLER_OUT = 2u,
	POLLER_ERR = 4u,
	POLLER_HUP = 8u,
	/* Report a readiness change once (edge-triggered): for TCP sockets
	* whose peeked, unacknowledged data keeps them readable. Re-asking
	* with poller_mod re-checks the current state. */
	POLLER_EDGE = 16u
};

struct poller_event {
	uint64_t tag;
	uint32_t events;
};

struct poller;

/* Returns NULL and sets errno on failure. */
struct poller *poller_create(void);
void poller_destroy(struct poller *p);

/* Returns 0 or -errno. */
int poller_add(struct poller *p, int fd, uint64_t tag, uint32_t events);
int poller_mod(struct poller *p, int fd, uint64_t tag, uint32_t events);
void poller_del(struct poller *p, int fd);

/* Waits up to timeout_ms (-1: forever) and returns the number of events
 * stored (0 on timeout or EINTR) or -errno. */
int poller_wait(struct poller *p, struct poller_event *out, int max,
		int timeout_ms);

/* The fd an outer run loop can watch for this poller's readiness. */
int poller_fd(const struct poller *p);

#endif
