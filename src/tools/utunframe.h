/* SPDX-License-Identifier: MIT */
/* utunframe.h - reads and writes of one packet on a Darwin utun fd, whose
 * packets carry a 4-byte address family (network byte order) first.
 *
 * Used by devtun_darwin.c (the device simulator's utun on macOS); plain
 * POSIX (readv/writev), so it is built everywhere and tested on Linux
 * (tests/unit/test_utunframe.c) on a datagram socketpair.
 */
#ifndef TP_TOOLS_UTUNFRAME_H
#define TP_TOOLS_UTUNFRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One packet into buf without the header: its length, or -1 with errno
 * (a frame with nothing after the header reads as EINTR: read again). */
ssize_t utunframe_read(int fd, uint8_t *buf, size_t cap);

/* Writes p with the family its version nibble names (6: AF_INET6, else
 * AF_INET) in front. Returns the packet bytes written (len), or -1. */
ssize_t utunframe_write(int fd, const uint8_t *p, size_t len);

#endif
