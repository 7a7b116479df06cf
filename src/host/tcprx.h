/* SPDX-License-Identifier: MIT */
/* tcprx.h - the host -> app side of a TCP host socket: the bytes the host
 * sent, kept until the app has acknowledged them.
 *
 * The core asks for them through the peek/discard host ops: peek() copies
 * bytes at any offset past the oldest unacknowledged one (new data, and
 * retransmissions), discard() drops the oldest once the app ACKed them.
 * Two backends, both built into every Linux binary; tcprx.c picks one at
 * run time (tp_config.tcp_rx, `--tcp-rx`):
 *
 *   tcprx_peekoff_linux.c  the bytes stay in the kernel socket;
 *                          SO_PEEK_OFF peeks at an offset, MSG_TRUNC
 *                          discards without a copy. No userspace buffer.
 *                          Needs SO_PEEK_OFF on TCP (Linux 6.9+), which
 *                          tcprx_peekoff_probe() checks once per engine.
 *                          (tcprx_peekoff_darwin.c: never available.)
 *   tcprx_copy.c           bytes are read into a per-connection ring
 *                          charged to the engine's memory budget and
 *                          served from there. Darwin always, Linux when
 *                          the probe fails or tcp_rx is COPY.
 * A socket whose SO_PEEK_OFF is refused later (its first use, or any
 * retransmission) moves to the ring for the rest of its life: the peek
 * path never consumes unacknowledged bytes, so the socket still holds the
 * stream from the oldest one and nothing is sent twice or lost
 * (tests/unit/test_tcprx.c, e2e test_tcp_rx_fallback.sh).
 * The core is the same for both: it cannot tell them apart.
 */
#ifndef TP_HOST_TCPRX_H
#define TP_HOST_TCPRX_H

#include <stddef.h>

#include "host/driver.h"

/* Resolves the engine's receive path from tp_config.tcp_rx (probing the
 * kernel for AUTO and PEEK) and logs the choice. Returns 0, or -TP_ESYS
 * when PEEK was asked for and the kernel cannot (logged). */
int tcprx_driver_init(struct driver *d, uint32_t tcp_rx);

/* The host ops peek, recv and discard for TCP socket id (see
 * core/host_ops.h for the contract). */
long tcprx_peek(struct driver *d, int id, size_t offset,
		const struct core_iov *iov, int iovcnt);
long tcprx_recv(struct driver *d, int id, const struct core_iov *iov,
		int iovcnt);
int tcprx_discard(struct driver *d, int id, size_t n);

/* Frees what socket id holds (before its fd is closed). */
void tcprx_release(struct driver *d, int id);

/* Frees the driver-wide state (at driver_destroy). */
void tcprx_driver_free(struct driver *d);

/* Adds the receive path's counters (tcp_rx_*) to vals (n entries,
 * indexed by enum tp_counter). Any thread. */
void tcprx_counters(struct driver *d, uint64_t *vals, size_t n);

#endif
