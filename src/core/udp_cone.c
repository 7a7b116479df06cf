/* SPDX-License-Identifier: MIT */
/* udp_cone.c - a flow for a datagram that reached a full-cone mapping
 * from a new remote (udp_cone.h). */
#include "core/udp_cone.h"

#include "core/core.h"
#include "core/flow.h"
#include "core/policy.h"
#include "core/udp.h"

uint32_t core_udp_inbound(struct core_engine *e, uint8_t family,
			  const struct wire_addr *app, uint16_t sport,
			  const struct wire_addr *remote, uint16_t rport,
			  uint64_t now_us)
{
	e->now = now_us;
	struct flow_key key = {.src = *app,
			       .dst = *remote,
			       .sport = sport,
			       .dport = rport,
			       .family = family,
			       .proto = WIRE_PROTO_UDP};
	union flow *f = flow_lookup(e->flows, &key);
	if (f && f->c.closing)
		f = NULL;
	if (!f) {
		/* Nothing the app could not reach itself may reach it:
		 * loopback, link-local, the deny list... */
		if (policy_refuses(policy_match(e->rules, e->nrules, &key)))
			return FLOW_NONE;
		f = flow_alloc(e, FLOW_UDP, &key); /* counts a refusal */
		if (!f) {
			flow_sweep(e);
			return FLOW_NONE;
		}
		int sock = udp_dgram.open(e, flow_handle(e->flows, f), &key);
		if (sock < 0) {
			CTR_INC(e, flows_refused_socket);
			flow_close(e, f, false);
			flow_sweep(e);
			return FLOW_NONE;
		}
		dgram_start(e, f, sock);
	}
	uint32_t h = flow_handle(e->flows, f);
	dgram_read(e, f);
	flow_sweep(e);
	return h;
}
