/* SPDX-License-Identifier: MIT */
/* mirror_hub.h - the tee's subscribers: who gets a copy of every packet.
 *
 * A TCP listening socket; each subscriber that connects gets the mirror
 * stream of mirror.h. Every subscriber has one fixed-size buffer, taken at
 * connect time: a copy that does not fit is dropped and counted (for the
 * subscriber, reported in its next record), so a slow or stopped reader
 * costs the relay nothing but the copy into its buffer. At most
 * max_subscribers at once; more are accepted and closed at once (counted).
 * Subscribers come and go at any time; a closed connection is noticed on
 * the next read or write.
 */
#ifndef TP_TOOLS_MIRROR_HUB_H
#define TP_TOOLS_MIRROR_HUB_H

#include <poll.h>
#include <stdint.h>

#include "tool_util.h"

struct mirror_hub_stats {
	uint64_t subscribers; /* connected now */
	uint64_t accepted;
	uint64_t refused;
	uint64_t disconnects;
	uint64_t copies;  /* records queued to subscribers */
	uint64_t dropped; /* records dropped: buffer full */
};

struct mirror_hub;

/* Listens on addr (TCP). buffer is each subscriber's buffer in bytes
 * (at least one maximal record). Returns NULL with *err = -errno. */
struct mirror_hub *mirror_hub_create(const struct tool_addr *addr,
				     uint32_t max_subscribers, uint32_t buffer,
				     int *err);
void mirror_hub_destroy(struct mirror_hub *h);

/* The bound address (useful when the port was 0). */
void mirror_hub_local(const struct mirror_hub *h, struct tool_addr *out);

/* Fills up to max poll entries (the listener, then each subscriber, with
 * POLLOUT while it has queued data); returns how many. */
int mirror_hub_pollfds(const struct mirror_hub *h, struct pollfd *pfd, int max);

/* Handles the revents of the n entries mirror_hub_pollfds filled. */
void mirror_hub_events(struct mirror_hub *h, const struct pollfd *pfd, int n);

/* Queues a copy of pkt for every subscriber. */
void mirror_hub_publish(struct mirror_hub *h, uint8_t dir, uint64_t ts_ns,
			const uint8_t *pkt, uint32_t len);

/* Sends what the subscribers' sockets take now, without blocking. */
void mirror_hub_flush(struct mirror_hub *h);

const struct mirror_hub_stats *mirror_hub_get_stats(const struct mirror_hub *h);

#endif
