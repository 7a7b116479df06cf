/* SPDX-License-Identifier: MIT */
/* udp.c - UDP flows: one connected host socket per app flow.
 *
 * Theory of operation: a UDP flow is a datagram flow (dgram.c, which
 * creates it, sends, reads, reports socket errors and expires it); what
 * is UDP's own is here:
 * - the host socket is a UDP socket connected to the app's destination
 *   (the driver's udp_open: a plain socket, the DNS redirect's upstream,
 *   a full-cone mapping or an upstream proxy's relay); the kernel writes
 *   and strips the UDP header, and reads may be batched (recvmmsg);
 * - a reply gets a UDP header from the destination's port to the app's;
 * - a refused send or read is counted in udp_send_errors, and a refused
 *   send first asks the error queue (IP_RECVERR) for the error an
 *   earlier datagram left there (port unreachable...);
 * - idle timeout: 60 s by default, 30 s for port 53 (DNS flows are one
 *   question and one answer).
 * Datagrams from remotes the app never wrote to (full-cone NAT) reach the
 * app through udp_cone.c. Not handled: UDP-Lite. Multicast and broadcast
 * destinations are refused by the destination policy (policy.c).
 */
#include "core/udp.h"

#include "core/core.h"
#include "wire/build.h"
#include "wire/hdr.h"

static int udp_open(struct core_engine *e, uint32_t handle,
		    const struct flow_key *k)
{
	return e->ops->udp_open(e->ops_ctx, handle, k->family, &k->dst,
				k->dport);
}

static size_t udp_build(const struct flow_key *k, const struct wire_ip_hdr *ip,
			uint8_t *pkt, size_t room, size_t n)
{
	return wire_udp_build(pkt, room + n, ip, k->dport, k->sport, n);
}

static void udp_quote(const struct flow_key *k, uint8_t *hdr)
{
	wire_l4_sport_set(hdr, k->sport);
	wire_l4_dport_set(hdr, k->dport);
	wire_udp_len_set(hdr, WIRE_UDP_HDR_LEN);
}

static uint64_t udp_timeout(const struct core_engine *e,
			    const struct flow_key *k)
{
	return k->dport == 53 ? e->cfg.udp_dns_timeout_us
			      : e->cfg.udp_timeout_us;
}

const struct dgram_proto udp_dgram = {
    .open = udp_open,
    .build = udp_build,
    .quote = udp_quote,
    .timeout = udp_timeout,
    .read_batch = 64,
    .l4_hdr = WIRE_UDP_HDR_LEN,
    .flags = DGRAM_RECV_BATCH | DGRAM_SEND_ERRQUEUE,
    .ctr_open = TP_CTR_udp_flows_open,
    .ctr_tx = TP_CTR_udp_tx_datagrams,
    .ctr_rx = TP_CTR_udp_rx_datagrams,
    .ctr_errors = TP_CTR_udp_send_errors,
    .ctr_unavailable = TP_CTR__COUNT,
};
