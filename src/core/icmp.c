/* SPDX-License-Identifier: MIT */
/* icmp.c - ICMP and ICMPv6 echo flows.
 *
 * Theory of operation
 * - An echo request from the app creates a flow keyed by (app address,
 *   destination, identifier) and asks the driver for an ICMP echo socket
 *   to the destination: an unprivileged ping socket where the OS allows
 *   one (Linux net.ipv4.ping_group_range, Darwin always), else a raw
 *   socket shared by all flows (the driver demultiplexes replies). Either
 *   way the app sees the destination's real reachability and RTT.
 * - The host stack may choose its own identifier (a ping socket's is its
 *   "port"), so every reply gets the app's identifier back and a fresh
 *   checksum before it goes to the app.
 * - Requests are sent as the app wrote them (type, code, sequence, data);
 *   replies keep their sequence and data.
 * - Errors queued on the socket (host unreachable...) reach the app as the
 *   matching ICMP error quoting its request.
 * - Idle timeout (default 30 s) as for UDP.
 * Not forwarded: other ICMP types from the app (timestamps, router
 * solicitations), which are dropped and counted as unsupported.
 */
#include "core/icmp.h"

#include <errno.h>

#include "core/core.h"
#include "wire/build.h"

#define ICMP_READ_BATCH 32

void icmp_input_new(struct core_engine *e, const struct flow_key *key,
		    const struct wire_packet *pkt)
{
	union flow *f = flow_alloc(e, FLOW_ICMP, key);
	if (!f) {
		core_refuse_packet(e,
				   pkt); /* counted and logged by flow_alloc */
		return;
	}
	uint64_t refused0 = e->mem.refused;
	int sock = e->ops->icmp_open(e->ops_ctx, flow_handle(e->flows, f),
				     key->family, &key->dst);
	/* Out of fds: the least recently active datagram flow gives way, and
	 * we try once more (admit.c). */
	if (sock < 0 && admit_make_room(e, -sock, f))
		sock = e->ops->icmp_open(e->ops_ctx, flow_handle(e->flows, f),
					 key->family, &key->dst);
	if (sock == -ENOMEM && e->mem.refused != refused0) {
		/* The driver's buffer for the flow (the raw socket
		 * fallback's reply stash) did not fit max_memory. */
		CTR_INC(e, flows_refused_memory);
		core_log_refusal(e, CORE_REFUSE_MEMORY, key,
				 "%zu of max_memory's %zu bytes in use by %u "
				 "flows (raise it: --max-memory)",
				 e->mem.used, e->mem.budget,
				 core_flow_count(e) - 1);
		core_refuse_packet(e, pkt);
		flow_close(e, f, false);
		return;
	}
	const char *why = sock < 0 ? core_errno_advice(-sock) : NULL;
	if (why) {
		/* Out of fds or kernel memory: refused like a UDP flow. */
		CTR_INC(e, flows_refused_socket);
		core_log_refusal(e, CORE_REFUSE_SOCKET, key,
				 "%s; %u other flows open", why,
				 core_flow_count(e) - 1);
		core_refuse_packet(e, pkt);
		flow_close(e, f, false);
		return;
	}
	if (sock < 0) {
		/* No ping socket and no raw socket (the driver said why,
		 * once): echo is not available at all. */
		CTR_INC(e, icmp_no_socket);
		flow_close(e, f, false);
		return;
	}
	f->c.sock = sock;
	CTR_INC(e, icmp_flows_open);
	flow_timer_set(e, f, e->now + e->cfg.icmp_timeout_us);
	icmp_input(e, f, pkt);
}

void icmp_input(struct core_engine *e, union flow *f,
		const struct wire_packet *pkt)
{
	f->c.last_active = e->now;
	struct core_iov iov = {(void *)(uintptr_t)pkt->l4, pkt->l4_len};
	long n = e->ops->send(e->ops_ctx, f->c.sock, &iov, 1);
	if (n >= 0) {
		CTR_INC(e, icmp_echo_requests);
		return;
	}
	struct core_sock_error err = {.err = (int)-n};
	core_dgram_report(e, f, &err);
}

static void icmp_read(struct core_engine *e, union flow *f)
{
	const struct flow_key *k = &f->c.key;
	struct wire_ip_hdr ip = {
	    .family = k->family,
	    .proto = k->family == 4 ? WIRE_PROTO_ICMP : WIRE_PROTO_ICMP6,
	    .src = k->dst,
	    .dst = k->src,
	};
	uint8_t reply =
	    k->family == 4 ? WIRE_ICMP4_ECHO_REPLY : WIRE_ICMP6_ECHO_REPLY;
	size_t room = wire_ip_hdr_len(k->family);
	for (int i = 0; i < ICMP_READ_BATCH; i++) {
		if (tx_free(e->tx) == 0) {
			e->ops->want(e->ops_ctx, f->c.sock, false, false);
			core_wait_tx(e, f);
			return;
		}
		uint8_t *pkt;
		long n = core_dgram_recv(e, f->c.sock, room, &pkt);
		if (n == -EAGAIN)
			return;
		if (n < 0) {
			core_dgram_drain_errors(e, f);
			return;
		}
		const uint8_t *msg = pkt + room;
		if (n < WIRE_ICMP_HDR_LEN || msg[0] != reply)
			continue;
		uint16_t seq = (uint16_t)(msg[6] << 8 | msg[7]);
		size_t data_len = (size_t)n - WIRE_ICMP_HDR_LEN;
		size_t len = wire_icmp_echo_build(
		    pkt, room + (size_t)n, &ip, reply, k->sport, seq, data_len);
		if (len == 0)
			continue;
		f->c.last_active = e->now;
		CTR_INC(e, icmp_echo_replies);
		core_dgram_emit(e, pkt, len, k->family);
	}
}

void icmp_sock_event(struct core_engine *e, union flow *f, uint32_t events)
{
	if (events & CORE_EV_ERROR)
		core_dgram_drain_errors(e, f);
	if (events & (CORE_EV_READ | CORE_EV_ERROR))
		icmp_read(e, f);
}

void icmp_timer(struct core_engine *e, union flow *f)
{
	core_dgram_idle_timer(e, f, e->cfg.icmp_timeout_us);
}

void icmp_tx_resume(struct core_engine *e, union flow *f)
{
	e->ops->want(e->ops_ctx, f->c.sock, true, false);
	icmp_read(e, f);
}

void icmp_release(struct core_engine *e, union flow *f)
{
	if (f->c.sock >= 0)
		CTR_DEC(e, icmp_flows_open);
}
