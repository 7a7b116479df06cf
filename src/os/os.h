/* SPDX-License-Identifier: MIT */
/* os.h - the few OS primitives the driver and the callback backend need
 * beyond POSIX, one file per OS chosen by the build: os_linux.c (Linux and
 * Android: eventfd, getrandom) and os_darwin.c (macOS and iOS: a pipe,
 * arc4random). Callers never #ifdef.
 *
 * Its own layer (src/os/), below the driver (src/host/), the tunconn
 * backends (src/io/) and the tools, which may all include it (issue 14;
 * unit.layers checks the includes). The plain POSIX helpers they share sit
 * beside it: os_addr.h (HOST:PORT, sockaddrs), os_clock.h, os_log.h.
 */
#ifndef TP_OS_OS_H
#define TP_OS_OS_H

#include <stdint.h>

/* A wake-up a poller can watch: readable after os_wake_signal() until
 * os_wake_drain(). rfd is polled; wfd is written (the same fd for an
 * eventfd). */
struct os_wake {
	int rfd, wfd;
};

/* Opens w (non-blocking, close-on-exec). Returns 0 or -errno; on failure
 * both fds are -1. */
int os_wake_open(struct os_wake *w);

/* Makes rfd readable. Async-signal-safe and safe from any thread: one
 * write(2), whose failure (already signalled, full) is harmless. */
void os_wake_signal(const struct os_wake *w);

/* Consumes every pending signal. Returns 0 or -errno (not -EAGAIN). */
int os_wake_drain(const struct os_wake *w);

/* Closes the fds (no-op for fds of -1) and sets them to -1. */
void os_wake_close(struct os_wake *w);

/* 64 unpredictable bits (the flow table's hash seed). Never fails: falls
 * back to the clock and an address if the OS source does. */
uint64_t os_random64(void);

#endif
