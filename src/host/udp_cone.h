/* SPDX-License-Identifier: MIT */
/* udp_cone.h - full-cone UDP (tp_config.udp_nat = TP_UDP_NAT_FULL_CONE):
 * RFC 4787 endpoint-independent mapping (4.1) and filtering (5).
 *
 * One unconnected host socket (the mapping) per app source address and
 * port, shared by all of that app socket's flows, so every destination
 * sees the same public address and port. Each flow gets a socket id of
 * its own with no fd (a "virtual" id): sends on it go out of the mapping
 * with sendto() to the flow's destination. A datagram read from the
 * mapping, from whatever remote, is handed to the core with
 * core_udp_inbound (src/core/udp_cone.h), which finds or creates the flow
 * for that remote and reads it through the flow's id: the app receives
 * it from the remote that sent it. Each flow keeps its own idle timeout;
 * the mapping lives while any of its flows does (RFC 4787 4.3: refreshed
 * by traffic either way, because inbound datagrams keep their flows
 * alive).
 * Not carried: ICMP errors (an unconnected socket does not report them
 * per destination); flows routed through an upstream stay per 5-tuple.
 */
#ifndef TP_HOST_UDP_CONE_H
#define TP_HOST_UDP_CONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/host_ops.h"

struct driver;

/* Allocates the tables (d->nsocks ids). Returns 0 or -TP_ENOMEM. */
int cone_init(struct driver *d);
void cone_free(struct driver *d);

/* udp_open for a direct flow: its virtual id on the mapping of the
 * flow's app address and port (created if needed). -errno on failure. */
int cone_open(struct driver *d, uint32_t flow, uint8_t family,
	      const struct wire_addr *dst, uint16_t dport);

/* True while a datagram read from a mapping is being delivered: a flow
 * opened now is for its sender and belongs on that mapping, whatever the
 * routes say. */
bool cone_delivering(struct driver *d);

/* True if sock is a flow's virtual id (then the calls below apply). */
bool cone_owns(struct driver *d, int sock);
long cone_send(struct driver *d, int sock, const struct core_iov *iov,
	       int iovcnt);
long cone_recv(struct driver *d, int sock, const struct core_iov *iov,
	       int iovcnt, size_t *full_len);
void cone_close(struct driver *d, int sock);

/* Poller events on socket id: true if it is a mapping (consumed). */
bool cone_event(struct driver *d, uint32_t id, uint32_t events, uint64_t now);

/* Datagrams from remotes dropped (policy, no flow, ring full). */
uint64_t cone_dropped(struct driver *d);

#endif
