/* SPDX-License-Identifier: MIT */
/* devtun.h - the device simulator's TUN, one file per OS (devtun_linux.c,
 * devtun_darwin.c); device.c and device_main.c never #ifdef.
 *
 * Linux: a TUN device (tp_tun_open, tp_tun_configure); a read or write is
 * one bare IP packet. macOS: a utun interface (the kernel control
 * com.apple.net.utun_control), configured with ifconfig and route; each
 * packet on the fd carries utun's 4-byte address family first, which
 * devtun_read strips and devtun_write prepends (utunframe.c, tested on
 * Linux), so the caller sees bare IP packets on both.
 */
#ifndef TP_TOOLS_DEVTUN_H
#define TP_TOOLS_DEVTUN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tunproxy.h"

/* Opens the device: Linux creates or attaches to `want`; macOS takes
 * "utunN" as the unit to create and anything else as "the next free
 * utun". The actual name goes to name. Returns the fd (non-blocking is
 * the caller's business) or a negative TP_E* code. */
int devtun_open(const char *want, char name[16]);

/* Sets the addresses (CIDR), the MTU and brings the device up. 0 or a
 * negative TP_E* code (logged through log). */
int devtun_configure(const char *name, uint32_t mtu, const char *ip4_cidr,
		     const char *ip6_cidr, tp_log_fn log, void *log_ctx);

/* One packet, without framing: like read(2)/write(2) on a Linux TUN
 * (-1 with errno; a frame too short to hold a packet reads as EINTR, so
 * the caller reads again). */
ssize_t devtun_read(int fd, uint8_t *buf, size_t cap);
ssize_t devtun_write(int fd, const uint8_t *p, size_t len);

#endif
