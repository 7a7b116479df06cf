/* SPDX-License-Identifier: MIT */
/* capture_filter.h - which packets `tunproxy capture` keeps.
 *
 * A filter is up to three conditions, all of which must hold: the
 * transport protocol (tcp, udp, icmp: ICMP or ICMPv6), a port (source or
 * destination, TCP or UDP), an address (source or destination). The
 * headers are read by wire_packet_peek() (src/wire/peek.h) from the bytes
 * captured, which may be cut short; a packet too short or malformed to
 * decide on matches only an empty filter.
 */
#ifndef TP_TOOLS_CAPTURE_FILTER_H
#define TP_TOOLS_CAPTURE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum capture_proto {
	CAPTURE_ANY = 0,
	CAPTURE_TCP,
	CAPTURE_UDP,
	CAPTURE_ICMP,
};

struct capture_filter {
	enum capture_proto proto;
	int port;	 /* -1: any */
	int host_family; /* 0: any, 4 or 6 */
	uint8_t host[16];
};

void capture_filter_init(struct capture_filter *f);

/* Each returns 0, or -1 if the value is not understood. */
int capture_filter_set_proto(struct capture_filter *f, const char *s);
int capture_filter_set_port(struct capture_filter *f, const char *s);
int capture_filter_set_host(struct capture_filter *f, const char *s);

bool capture_filter_match(const struct capture_filter *f, const uint8_t *pkt,
			  size_t len);

#endif
