/* SPDX-License-Identifier: MIT */
/* icmp.c - ICMP and ICMPv6 echo flows.
 *
 * Theory of operation: an echo flow is a datagram flow (dgram.c, which
 * creates it, sends, reads, reports socket errors and expires it); what
 * is ICMP's own is here:
 * - a flow is keyed by (app address, destination, identifier), and its
 *   host socket is an ICMP echo socket to the destination: an
 *   unprivileged ping socket where the OS allows one (Linux
 *   net.ipv4.ping_group_range, Darwin always), else a raw socket shared
 *   by all flows (the driver demultiplexes replies into a stash per flow,
 *   charged to max_memory). Either way the app sees the destination's
 *   real reachability and RTT. With neither, echo is unavailable: requests
 *   are dropped and counted (icmp_no_socket).
 * - Requests are sent as the app wrote them (type, code, identifier,
 *   sequence, data): the socket takes the whole ICMP message.
 * - The host stack may choose its own identifier (a ping socket's is its
 *   "port"), so every reply gets the app's identifier back and a fresh
 *   checksum before it goes to the app; it keeps its sequence and data.
 *   Anything but an echo reply read from the socket is dropped.
 * - Idle timeout: 30 s by default.
 * Not forwarded: other ICMP types from the app (timestamps, router
 * solicitations), which are dropped and counted as unsupported (engine.c).
 */
#include "core/icmp.h"

#include "core/core.h"
#include "wire/build.h"
#include "wire/hdr.h"

static int icmp_open(struct core_engine *e, uint32_t handle,
		     const struct flow_key *k)
{
	return e->ops->icmp_open(e->ops_ctx, handle, k->family, &k->dst);
}

static uint8_t echo_reply(uint8_t family)
{
	return family == 4 ? WIRE_ICMP4_ECHO_REPLY : WIRE_ICMP6_ECHO_REPLY;
}

/* The n bytes at pkt + room are the ICMP message the socket returned. */
static size_t icmp_build(const struct flow_key *k, const struct wire_ip_hdr *ip,
			 uint8_t *pkt, size_t room, size_t n)
{
	const uint8_t *msg = pkt + room;
	uint8_t reply = echo_reply(k->family);
	if (n < WIRE_ICMP_HDR_LEN || wire_icmp_type(msg) != reply)
		return 0;
	return wire_icmp_echo_build(pkt, room + n, ip, reply, k->sport,
				    wire_icmp_echo_seq(msg),
				    n - WIRE_ICMP_HDR_LEN);
}

/* The echo request's header with the app's identifier. */
static void icmp_quote(const struct flow_key *k, uint8_t *hdr)
{
	wire_icmp_type_set(hdr, k->family == 4 ? WIRE_ICMP4_ECHO_REQUEST
					       : WIRE_ICMP6_ECHO_REQUEST);
	wire_icmp_echo_id_set(hdr, k->sport);
}

static uint64_t icmp_timeout(const struct core_engine *e,
			     const struct flow_key *k)
{
	(void)k;
	return e->cfg.icmp_timeout_us;
}

const struct dgram_proto icmp_dgram = {
    .open = icmp_open,
    .build = icmp_build,
    .quote = icmp_quote,
    .timeout = icmp_timeout,
    .l4_hdr = 0, /* a ping socket takes and returns whole messages */
    .read_batch = 32,
    .ctr_open = TP_CTR_icmp_flows_open,
    .ctr_tx = TP_CTR_icmp_echo_requests,
    .ctr_rx = TP_CTR_icmp_echo_replies,
    .ctr_errors = TP_CTR__COUNT, /* not counted */
    .ctr_unavailable = TP_CTR_icmp_no_socket,
};
