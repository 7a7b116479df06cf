/* SPDX-License-Identifier: MIT */
/* udp_cone.h - datagrams that arrive on a full-cone UDP mapping
 * (tp_config.udp_nat = TP_UDP_NAT_FULL_CONE, src/host/udp_cone.c).
 *
 * With endpoint-independent filtering (RFC 4787 5) a remote the app never
 * wrote to may send to the app's mapping. The core's flows are per
 * 5-tuple, so such a datagram needs a flow (app address and port, remote
 * address and port) before it can be delivered "from that remote": the
 * driver calls core_udp_inbound, which finds or creates it (the remote
 * judged by the destination policy as if the app had written to it) and
 * reads the datagram through the flow's host socket as usual.
 */
#ifndef TP_CORE_UDP_CONE_H
#define TP_CORE_UDP_CONE_H

#include <stdint.h>

#include "wire/addr.h"

struct core_engine;

/* A datagram from remote:rport waits for app:sport (family 4 or 6). The
 * flow's host socket is opened with ops->udp_open, as for an app's first
 * datagram, and read at once. Returns the flow's handle, or FLOW_NONE if
 * the remote is refused by the policy or no flow could be had (the
 * datagram stays unread: the driver drops and counts it). */
uint32_t core_udp_inbound(struct core_engine *e, uint8_t family,
			  const struct wire_addr *app, uint16_t sport,
			  const struct wire_addr *remote, uint16_t rport,
			  uint64_t now_us);

#endif
