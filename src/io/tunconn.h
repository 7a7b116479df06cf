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

#include <stddef.h>
#include <stdint.h>

#include "core/engine.h"

struct tun_pkt {
	const uint8_t *data;
	size_t len;
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
};

struct tunconn {
	const struct tunconn_ops *ops;
};

/* An fd backend over fd (not closed by close()). mtu sizes the arena. */
struct tunconn *tunconn_fd_create(int fd, uint32_t framing, uint32_t mtu);

/* A callback backend: output gets the outgoing batches; input is queued by
 * tunconn_callback_input() (any thread) up to queue_len packets, and
 * its wake-up fd (host/os.h) is what the driver polls (owned by the
 * backend). */
struct tunconn *tunconn_callback_create(tp_output_fn output, void *ctx,
					uint32_t mtu, uint32_t queue_len);
int tunconn_callback_input(struct tunconn *t, const uint8_t *const *pkts,
			   const size_t *lens, size_t n);

#endif
