/* SPDX-License-Identifier: MIT */
/* tunconn.h - packet I/O between the OS (or the embedding app) and the
 * engine: read a batch, write a batch, close.
 *
 * Backends:
 *   tunconn_fd.c        a TUN fd: one tunproxy created (tun_linux.c) or one
 *                       handed in (Android VpnService, Darwin utun with its
 *                       4-byte family header);
 *   tunconn_callback.c  the app's packetFlow: packets come in through
 *                       tp_input() from any thread and go out through the
 *                       app's output callback.
 * A batch read returns descriptors that point into the backend's own
 * receive arena; they stay valid until the next read_batch call.
 */
#ifndef TP_IO_TUNCONN_H
#define TP_IO_TUNCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/engine.h"

struct tun_pkt {
	const uint8_t *data;
	size_t len;
	uint32_t flags;	   /* CORE_IN_* for core_input (CORE_IN_CSUM_OK when
			   a virtio-net header vouched for the checksum) */
	uint16_t gso_size; /* a UDP super-packet (USO): its datagrams'
			      size; 0 otherwise */
};

struct tunconn;

struct tunconn_ops {
	/* Up to max packets, or 0 if none is ready, or -errno (-EIO etc.:
	 * the device is gone). Never blocks. */
	int (*read_batch)(struct tunconn *t, struct tun_pkt *pkts, int max);
	/* Writes n packets (their headroom may be used for framing); returns
	 * how many were written or dropped: the driver frees that many. A
	 * negative value is a fatal error. Drops are counted in *dropped. */
	int (*write_batch)(struct tunconn *t, struct core_tx_pkt *pkts, int n,
			   uint64_t *dropped);
	/* The fd the poller watches for readability (-1 if none). */
	int (*fd)(const struct tunconn *t);
	void (*close)(struct tunconn *t);
	/* Optional: the destinations that would reach the backend's own
	 * socket, as a destination policy list ("198.51.100.2/32:8081 ..."),
	 * for the engine to refuse (policy.c); malloc'd, the caller frees
	 * it. NULL: none. */
	char *(*policy_self)(const struct tunconn *t);
	/* Optional: adds the backend's own counters into vals (indexed by
	 * enum tp_counter, n of them). Any thread: relaxed atomic loads. */
	void (*counters)(const struct tunconn *t, uint64_t *vals, size_t n);
};

struct tunconn {
	const struct tunconn_ops *ops;
	/* Set by read_batch when it stopped because nothing more was ready
	 * (not because the batch or its buffer was full): the driver then
	 * waits for the poller instead of asking again, a call that would
	 * only say "nothing" (level-triggered, so nothing is missed). */
	bool drained;
	/* Bumped by read_batch when the peer behind the backend changed (the
	 * UDP dev transport's client was taken over by another sender): the
	 * packets of that batch, and all after, come from the new peer, and
	 * the old peer's flows must end without a word to the new one (the
	 * driver calls core_abort_all before feeding the batch). A backend
	 * with one fixed peer leaves it at 0. */
	uint32_t session;
};

/* For counters(): adds a backend counter (written with relaxed atomics on
 * the loop thread) into vals[i], if vals has that many. */
static inline void tunconn_add_counter(uint64_t *vals, size_t n, size_t i,
				       const uint64_t *c)
{
	if (i < n)
		vals[i] += __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* An fd backend over fd (not closed by close()). mtu sizes the arena.
 * framing is enum tp_framing; with TP_FRAMING_VNET_HDR each packet has a
 * virtio-net header (tun_vnet.h) and runs of TCP segments are written as
 * GSO super-packets. */
struct tunconn *tunconn_fd_create(int fd, uint32_t framing, uint32_t mtu);

/* Asks a TUN fd opened with the virtio-net header for UDP segmentation
 * offload too (TUN_F_USO4/USO6, Linux 6.2; tun_linux.c). True if
 * granted; an older kernel refuses (EINVAL) and keeps the offloads the
 * fd had. Darwin (tun_darwin.c): false. */
bool tun_try_uso(int fd);

/* A callback backend: output gets the outgoing batches; input is queued by
 * tunconn_callback_input() (any thread) up to queue_len packets, and
 * its wake-up fd (os/os.h) is what the driver polls (owned by the
 * backend). */
struct tunconn *tunconn_callback_create(tp_output_fn output, void *ctx,
					uint32_t mtu, uint32_t queue_len);
int tunconn_callback_input(struct tunconn *t, const uint8_t *const *pkts,
			   const size_t *lens, size_t n);

#endif
