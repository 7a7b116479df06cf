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
	int ctl_fd; /* -1, or an fd whose readability ends a step */
};

#define DEVICE_COUNTERS(X)                                                     \
	X(up_packets, "packets read from the TUN and sent to the server")      \
	X(up_bytes, "bytes read from the TUN and sent to the server")          \
	X(down_packets, "datagrams from the server written to the TUN")        \
	X(down_bytes, "bytes from the server written to the TUN")              \
	X(down_empty, "empty datagrams from the server (ignored)")             \
	X(send_failed, "datagrams the kernel refused (server down, "           \
		       "buffer full)")                                         \
	X(tun_write_failed, "packets the TUN refused")

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
