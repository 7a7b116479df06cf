/* SPDX-License-Identifier: MIT */
/* tcprx_backend.h - the two host -> app TCP receive backends behind
 * tcprx.h's dispatcher (tcprx.c). Only tcprx*.c include this.
 */
#ifndef TP_HOST_TCPRX_BACKEND_H
#define TP_HOST_TCPRX_BACKEND_H

#include <stddef.h>

#include "host/driver.h"

/* Per-socket receive path (struct hsock.rx_mode). */
enum tcprx_mode { TCPRX_UNSET = 0, TCPRX_PEEK, TCPRX_COPY };

/* The kernel path (tcprx_peekoff_linux.c; tcprx_peekoff_darwin.c says no).
 *
 * probe: 1 if a TCP socket of this kernel peeks at an offset (a
 * connected loopback pair is asked to peek at 0, at the next offset and
 * at an earlier one, and the bytes are compared), 0 if not, with the
 * reason in why.
 * seek: sets socket s's peek offset; <0 (-errno) when the kernel refuses,
 * which moves the socket to the copy path. The others as in tcprx.h. */
int tcprx_peekoff_probe(char *why, size_t cap);
int tcprx_peekoff_seek(struct hsock *s, size_t offset);
long tcprx_peekoff_peek(struct hsock *s, const struct core_iov *iov,
			int iovcnt);
long tcprx_peekoff_recv(struct hsock *s, const struct core_iov *iov,
			int iovcnt);
int tcprx_peekoff_discard(struct hsock *s, size_t n);
/* Turns peeking at an offset off again (before the copy path reads). */
void tcprx_peekoff_off(struct hsock *s);

/* The userspace path (tcprx_copy.c). */
long tcprx_copy_peek(struct driver *d, int id, size_t offset,
		     const struct core_iov *iov, int iovcnt);
long tcprx_copy_recv(struct driver *d, int id, const struct core_iov *iov,
		     int iovcnt);
int tcprx_copy_discard(struct driver *d, int id, size_t n);
void tcprx_copy_release(struct driver *d, int id);
void tcprx_copy_driver_free(struct driver *d);

#endif
