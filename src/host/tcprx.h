/* tcprx.h - the host -> app side of a TCP host socket: the bytes the host
 * sent, kept until the app has acknowledged them.
 *
 * The core asks for them through the peek/discard host ops: peek() copies
 * bytes at any offset past the oldest unacknowledged one (new data, and
 * retransmissions), discard() drops the oldest once the app ACKed them.
 * Two implementations, one chosen by the build (CMakeLists.txt):
 *
 *   tcprx_peekoff_linux.c  Linux: the bytes stay in the kernel socket;
 *                          SO_PEEK_OFF peeks at an offset, MSG_TRUNC
 *                          discards without a copy. No userspace buffer.
 *   tcprx_copy.c           Darwin (no SO_PEEK_OFF), and Linux with
 *                          -DTP_TCPRX_COPY=ON so CI runs this path too:
 *                          bytes are read into a bounded per-connection
 *                          ring charged to the engine's memory budget and
 *                          served from there; when the budget refuses a
 *                          ring, MSG_PEEK from the socket's head into one
 *                          shared scratch area (a smaller window, never a
 *                          stall).
 * The core is the same for both: it cannot tell them apart.
 */
#ifndef TP_HOST_TCPRX_H
#define TP_HOST_TCPRX_H

#include <stddef.h>

#include "host/driver.h"

/* Prepares a new TCP socket fd (before connect). */
void tcprx_setup(struct driver *d, int fd);

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

#endif
