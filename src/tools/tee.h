/* SPDX-License-Identifier: MIT */
/* tee.h - the traffic tee between a device and the proxy.
 *
 *   device --UDP--> [listen]  tee  [upstream socket] --UDP--> proxy
 *                              |
 *                           [mirror] --TCP--> subscribers (capture)
 *
 * The tee relays datagrams both ways unchanged (one datagram = one IP
 * packet, as the dev transport wants) and copies each relayed packet,
 * with its direction and the time, to every mirror subscriber. The proxy
 * sees one client, the tee's upstream socket. Like the proxy, the tee
 * gives the device side to one sender at a time: the first, until it has
 * been silent for client_idle_ms; others are dropped and counted.
 *
 * When another device takes over, the old one's traffic must not reach
 * it: the tee drops the packets its impairment stages still hold and
 * reopens its upstream socket from a new port, so the proxy's replies for
 * the old device's flows land on a closed socket, and the proxy sees a new
 * client and closes those flows. (The proxy lets the new port in at once
 * when its --client-idle is no longer than the tee's: the old port has
 * been silent that long.)
 *
 * An optional impairment stage per direction sits between receiving and
 * relaying; the mirror shows what was relayed (after impairment: a lost
 * packet is not in the capture, a duplicated one is there twice).
 *
 * The tee is a library object so tests can drive it: tee_step() does one
 * pass of its poll loop. No malloc per packet: one receive arena, the
 * impairment slots and each subscriber's buffer are allocated up front.
 */
#ifndef TP_TOOLS_TEE_H
#define TP_TOOLS_TEE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "impair.h"
#include "tool_util.h"

struct tee_opts {
	struct tool_addr listen;  /* where the device sends */
	struct tool_addr forward; /* the proxy */
	struct tool_addr mirror;  /* TCP, for subscribers */
	bool mirror_on;
	uint32_t client_idle_ms;
	uint32_t max_subscribers;	/* at most TEE_MAX_SUBSCRIBERS */
	uint32_t subscriber_buffer;	/* bytes per subscriber */
	struct impair_spec impair_up;	/* device -> proxy */
	struct impair_spec impair_down; /* proxy -> device */
	uint32_t impair_slot;		/* largest packet impaired (MTU) */
	int ctl_fd; /* -1, or an fd whose readability ends tee_step */
	/* The clock of the session rule, in microseconds; NULL: the
	 * monotonic clock. Tests pass a fake one. */
	uint64_t (*clock_us)(void *ctx);
	void *clock_ctx;
};

#define TEE_MAX_SUBSCRIBERS 32

/* Defaults: loopback 8080 -> 8081, mirror 8082, idle 5 s, 8 subscribers
 * of 4 MiB, no impairment, slots of 1500 bytes. */
void tee_opts_init(struct tee_opts *o);

#define TEE_COUNTERS(X)                                                        \
	X(up_packets, "datagrams relayed device -> proxy")                     \
	X(up_bytes, "bytes relayed device -> proxy")                           \
	X(down_packets, "datagrams relayed proxy -> device")                   \
	X(down_bytes, "bytes relayed proxy -> device")                         \
	X(foreign_dropped, "datagrams dropped: sender does not own the "       \
			   "device session")                                   \
	X(client_changes, "times a device took the session")                   \
	X(device_replaced, "times a new device replaced one (upstream socket " \
			   "reopened)")                                        \
	X(replaced_dropped, "held packets of a replaced device dropped")       \
	X(down_no_device, "datagrams from the proxy dropped: no device")       \
	X(send_failed, "datagrams the kernel refused or had no room for")      \
	X(mirror_subscribers, "subscribers connected now")                     \
	X(mirror_accepted, "subscribers accepted")                             \
	X(mirror_refused, "subscribers refused: limit reached")                \
	X(mirror_disconnects, "subscribers gone")                              \
	X(mirror_copies, "copies queued to subscribers")                       \
	X(mirror_dropped, "copies dropped: a subscriber was too slow")

struct tee_counters {
#define TEE_X_FIELD(name, desc) uint64_t name;
	TEE_COUNTERS(TEE_X_FIELD)
#undef TEE_X_FIELD
};

struct tee;

/* Binds the sockets. Returns 0 or -errno (the reason is logged). */
int tee_create(const struct tee_opts *o, struct tee **out);
void tee_destroy(struct tee *t);

/* One pass: waits at most timeout_ms (-1: no limit) for traffic, less
 * when an impaired packet falls due, then relays everything ready.
 * Returns 0, 1 when ctl_fd is readable, or -errno on a fatal error. */
int tee_step(struct tee *t, int timeout_ms);

/* The addresses actually bound (ports chosen by the OS for port 0). */
void tee_local(const struct tee *t, struct tool_addr *listen,
	       struct tool_addr *mirror);

void tee_get_counters(const struct tee *t, struct tee_counters *out);

/* Everything as "counter NAME VALUE" lines, impairment included
 * (impair_up_*, impair_down_*), then "counters end". */
void tee_print_counters(const struct tee *t, FILE *f);

#endif
