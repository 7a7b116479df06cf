/* SPDX-License-Identifier: MIT */
/* emit.c - the core's packet emission service: packets to the app go into
 * the TX ring (tx.h), fragmented to the MTU where needed (RFC 791 2.3,
 * RFC 8200 4.5); ICMP/ICMPv6 errors about the app's packets; the answer to
 * a packet whose flow is refused (RST or "administratively prohibited",
 * rate-limited); and the queue of flows waiting for ring space
 * (core_wait_tx; engine.c's core_tx_resume drains it).
 *
 * Split out of engine.c (issue 14): the protocol modules emit through
 * here, not through the dispatcher.
 */
#include <stdbool.h>
#include <string.h>

#include "core/core.h"
#include "core/engine.h"
#include "core/policy.h"
#include "core/tcp.h"
#include "wire/build.h"
#include "wire/hdr.h"

static int emit_one(void *ctx, const uint8_t *pkt, size_t len)
{
	struct core_engine *e = ctx;
	if (tx_free(e->tx) == 0 || len > tx_slot_cap(e->tx)) {
		CTR_INC(e, tx_dropped);
		return -1;
	}
	memcpy(tx_slot(e->tx, 0), pkt, len);
	tx_commit(e->tx, len, wire_ip_version(pkt) == 6 ? 6 : 4);
	return 0;
}

static int emit_fragment(void *ctx, const uint8_t *pkt, size_t len)
{
	struct core_engine *e = ctx;
	if (emit_one(ctx, pkt, len) < 0)
		return -1;
	CTR_INC(e, frag_sent);
	return 0;
}

int core_emit_packet(struct core_engine *e, uint8_t family, const uint8_t *pkt,
		     size_t len)
{
	if (len <= e->cfg.mtu)
		return emit_one(e, pkt, len);
	int n = wire_ip_fragment(pkt, len, e->cfg.mtu, ++e->frag_id,
				 emit_fragment, e);
	return n < 0 ? -1 : 0;
}

void core_send_icmp_error(struct core_engine *e, uint8_t family,
			  const struct wire_addr *from,
			  const struct wire_addr *to, uint8_t type,
			  uint8_t code, uint32_t mtu, const uint8_t *orig,
			  size_t orig_len)
{
	if (tx_free(e->tx) == 0) {
		CTR_INC(e, tx_dropped);
		return;
	}
	struct wire_ip_hdr ip = {
	    .family = family,
	    .proto = family == 4 ? WIRE_PROTO_ICMP : WIRE_PROTO_ICMP6,
	    .src = *from,
	    .dst = *to,
	};
	size_t n = wire_icmp_error_build(tx_slot(e->tx, 0), tx_slot_cap(e->tx),
					 &ip, type, code, mtu, orig, orig_len);
	if (n == 0) {
		CTR_INC(e, tx_dropped);
		return;
	}
	tx_commit(e->tx, n, family);
	CTR_INC(e, icmp_errors_sent);
}

/* Takes a token for one refusal ICMP error; false when there is none. */
static bool refuse_icmp_token(struct core_engine *e)
{
	uint64_t dt = e->now - e->refuse_icmp_at;
	if (dt >= (uint64_t)REFUSE_ICMP_BURST * REFUSE_ICMP_US_PER) {
		e->refuse_icmp_tokens = REFUSE_ICMP_BURST;
		e->refuse_icmp_at = e->now;
	} else if (dt >= REFUSE_ICMP_US_PER) {
		uint32_t add = (uint32_t)(dt / REFUSE_ICMP_US_PER);
		e->refuse_icmp_tokens += add;
		if (e->refuse_icmp_tokens > REFUSE_ICMP_BURST)
			e->refuse_icmp_tokens = REFUSE_ICMP_BURST;
		e->refuse_icmp_at += (uint64_t)add * REFUSE_ICMP_US_PER;
	}
	if (!e->refuse_icmp_tokens) {
		CTR_INC(e, icmp_errors_limited);
		return false;
	}
	e->refuse_icmp_tokens--;
	return true;
}

void core_refuse_packet(struct core_engine *e, const struct wire_packet *p)
{
	/* RFC 1122 3.2.2, RFC 4443 2.4(e): no error about a datagram to a
	 * group or from an address that names no single host; RFC 9293
	 * 3.10.7.1 has nothing to say to them either. */
	if (policy_addr_no_reply(p->family, &p->dst) ||
	    policy_addr_no_reply(p->family, &p->src))
		return;
	if (p->proto == WIRE_PROTO_TCP) {
		tcp_reply_rst(e, p);
		return;
	}
	if (!refuse_icmp_token(e))
		return;
	core_send_icmp_error(e, p->family, &p->dst, &p->src,
			     p->family == 4 ? WIRE_ICMP4_UNREACH
					    : WIRE_ICMP6_UNREACH,
			     p->family == 4 ? WIRE_ICMP4_UNREACH_ADMIN
					    : WIRE_ICMP6_UNREACH_ADMIN,
			     0, p->l3, p->l3_len);
}

void core_wait_tx(struct core_engine *e, union flow *f)
{
	if (f->c.in_pending)
		return;
	f->c.in_pending = 1;
	f->c.pending_next = 0;
	uint32_t link = flow_index(e->flows, f) + 1;
	if (e->pending_tail)
		flow_at(e->flows, e->pending_tail - 1)->c.pending_next = link;
	else
		e->pending_head = link;
	e->pending_tail = link;
}
