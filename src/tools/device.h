/* SPDX-License-Identifier: MIT */
/* device.h - the device simulator: a TUN device bridged to the UDP dev
 * transport, exactly as the phone app's packet tunnel would do it.
 *
 *   apps -> TUN -> [device] --UDP, one packet per datagram--> tee or proxy
 *   apps <- TUN <- [device] <--------------------------------
 *
 * Every packet read from the TUN is sent as one datagram to the server
 * (the tee, or the proxy's --listen udp socket); every datagram received
 * from it is written to the TUN. The UDP socket is connected to the
 * server, so nobody else can inject packets. An optional impairment stage
 * per direction stands in for a bad mobile network. Nothing is allocated
 * per packet: one receive arena per side, the impairment slots.
 *
 * Keepalive: the server gives its session to another sender after
 * client_idle_ms (5 s by default) of silence, and then closes this
 * device's flows (docs/devloop.md). When nothing has been sent for
 * keepalive_ms, the device sends an empty datagram, which the proxy and
 * the tee take as a keepalive, so an idle but alive device keeps its
 * session and its connections.
 */
#ifndef TP_TOOLS_DEVICE_H
#define TP_TOOLS_DEVICE_H

#include <stdint.h>
#include <stdio.h>

#include "impair.h"
#include "tool_util.h"

struct device_opts {
	int tun_fd; /* open TUN (IFF_TUN, no packet info) */
	struct tool_addr server;
	struct impair_spec impair_up;	/* TUN -> server */
	struct impair_spec impair_down; /* server -> TUN */
	uint32_t mtu;			/* largest packet impaired */
	uint32_t keepalive_ms; /* empty datagram after this silence; 0: off */
	int ctl_fd;	       /* -1, or an fd whose readability ends a step */
};

/* The default keepalive interval: well under the 5 s the proxy and the tee
 * wait by default, so a datagram or two can be lost without losing the
 * session. */
#define DEVICE_KEEPALIVE_MS 1000

#define DEVICE_COUNTERS(X)                                                     \
	X(up_packets, "packets read from the TUN and sent to the server")      \
	X(up_bytes, "bytes read from the TUN and sent to the server")          \
	X(down_packets, "datagrams from the server written to the TUN")        \
	X(down_bytes, "bytes from the server written to the TUN")              \
	X(down_empty, "empty datagrams from the server (ignored)")             \
	X(send_failed, "datagrams the kernel refused (server down, "           \
		       "buffer full)")                                         \
	X(tun_write_failed, "packets the TUN refused")                         \
	X(keepalives, "empty datagrams sent to keep the session while idle")

struct device_counters {
#define DEVICE_X_FIELD(name, desc) uint64_t name;
	DEVICE_COUNTERS(DEVICE_X_FIELD)
#undef DEVICE_X_FIELD
};

struct device;

/* Connects to the server. Returns 0 or -errno (logged). The TUN fd stays
 * the caller's. */
int device_create(const struct device_opts *o, struct device **out);
void device_destroy(struct device *d);

/* One pass of the loop (see tee_step): 0, 1 when ctl_fd is readable, or
 * -errno when the TUN failed (e.g. the device was deleted). */
int device_step(struct device *d, int timeout_ms);

void device_print_counters(const struct device *d, FILE *f);

#endif
