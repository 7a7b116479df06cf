/* SPDX-License-Identifier: MIT */
/* udp.c - UDP flows: one connected host socket per app flow.
 *
 * Theory of operation
 * - A datagram from the app for a new 5-tuple creates a flow and asks the
 *   driver for a UDP socket connected to the destination (udp_open). The
 *   connected socket gives us the kernel's filtering of replies for free
 *   and reports ICMP errors (port unreachable...) on it.
 * - App -> host: each datagram is sent as it is (reassembled first when the
 *   app fragmented it). A refused send (the destination said port
 *   unreachable earlier, or no buffer) is counted; refusals with a network
 *   meaning become the ICMP error the app would have seen.
 * - Host -> app: readable events drain the socket in batches straight into
 *   transmit slots (dgram.c); where the driver reads several datagrams per
 *   system call (recv_batch: recvmmsg), one call fills as many slots as
 *   are free. A full ring pauses reading (the kernel socket buffer holds
 *   the rest) until the driver has written packets out.
 * - Errors queued on the socket (IP_RECVERR) come back as the matching
 *   ICMP/ICMPv6 destination unreachable, quoting the app's tuple, so the
 *   app's connected socket sees "connection refused" as on a real network.
 * - Idle timeout: 60 s by default, 30 s for port 53 (DNS flows are one
 *   question and one answer); the timer is re-armed lazily: activity only
 *   updates last_active, and the timer, when it fires, re-arms itself for
 *   the remaining time.
 * - A flow that cannot be had (destination policy, max_flows, the memory
 *   budget, no host socket) is refused with ICMP "administratively
 *   prohibited" (core_refuse_packet), counted and logged.
 * Not handled: UDP-Lite. Multicast and broadcast destinations are refused
 * by the destination policy (policy.c).
 */
#include "core/udp.h"

#include <errno.h>

#include "core/core.h"
#include "wire/build.h"

/* Datagrams read per readable event before yielding to other flows. */
#define UDP_READ_BATCH 64

static uint64_t udp_timeout(const struct core_engine *e, const union flow *f)
{
	return f->c.key.dport == 53 ? e->cfg.udp_dns_timeout_us
				    : e->cfg.udp_timeout_us;
}

void udp_input_new(struct core_engine *e, const struct flow_key *key,
		   const struct wire_packet *pkt)
{
	union flow *f = flow_alloc(e, FLOW_UDP, key);
	if (!f) {
		core_refuse_packet(e,
				   pkt); /* counted and logged by flow_alloc */
		return;
	}
	uint32_t h = flow_handle(e->flows, f);
	int sock =
	    e->ops->udp_open(e->ops_ctx, h, key->family, &key->dst, key->dport);
	/* Out of fds: the least recently active datagram flow gives way, and
	 * we try once more (admit.c). */
	if (sock < 0 && admit_make_room(e, -sock, f))
		sock = e->ops->udp_open(e->ops_ctx, h, key->family, &key->dst,
					key->dport);
	if (sock < 0) {
		/* Out of fds or ports: refuse this flow, keep the others.
		 * The app's socket sees the error at once instead of
		 * waiting for a reply that cannot come. */
		const char *why = core_errno_advice(-sock);
		CTR_INC(e, flows_refused_socket);
		if (why)
			core_log_refusal(e, CORE_REFUSE_SOCKET, key,
					 "%s; %u other flows open", why,
					 core_flow_count(e) - 1);
		else
			core_log_refusal(e, CORE_REFUSE_SOCKET, key,
					 "host socket failed (errno %d)",
					 -sock);
		core_refuse_packet(e, pkt);
		flow_close(e, f, false);
		return;
	}
	f->c.sock = sock;
	CTR_INC(e, udp_flows_open);
	flow_timer_set(e, f, e->now + udp_timeout(e, f));
	udp_input(e, f, pkt);
}

void udp_input(struct core_engine *e, union flow *f,
	       const struct wire_packet *pkt)
{
	f->c.last_active = e->now;
	struct core_iov iov = {(void *)(uintptr_t)pkt->payload,
			       pkt->payload_len};
	long n = e->ops->send(e->ops_ctx, f->c.sock, &iov, 1);
	if (n >= 0) {
		CTR_INC(e, udp_tx_datagrams);
		return;
	}
	CTR_INC(e, udp_send_errors);
	/* A pending socket error (e.g. the port-unreachable from an earlier
	 * datagram) is reported through the error queue as well. */
	struct core_sock_error err = {.err = (int)-n};
	if (e->ops->sock_error(e->ops_ctx, f->c.sock, &err) <= 0)
		err = (struct core_sock_error){.err = (int)-n};
	core_dgram_report(e, f, &err);
}

/* Reads up to max datagrams at once (recv_batch) straight into the next
 * free transmit slots and commits them in order. Returns how many, 0 if
 * the driver wants this socket read with recv(), or -errno. */
static long udp_read_batch(struct core_engine *e, union flow *f,
			   const struct wire_ip_hdr *ip, size_t room,
			   uint32_t max)
{
	const struct flow_key *k = &f->c.key;
	struct core_dgram m[UDP_READ_BATCH];
	if (max > UDP_READ_BATCH)
		max = UDP_READ_BATCH;
	size_t cap = tx_slot_cap(e->tx) - room;
	for (uint32_t j = 0; j < max; j++) {
		m[j].iov.base = tx_slot(e->tx, j) + room;
		m[j].iov.len = cap;
		m[j].len = 0;
	}
	long r = e->ops->recv_batch(e->ops_ctx, f->c.sock, m, (int)max);
	if (r == -EOPNOTSUPP)
		return 0;
	if (r <= 0)
		return r < 0 ? r : -EAGAIN;
	f->c.last_active = e->now;
	for (long j = 0; j < r; j++) {
		/* Slot j is now the first free one: the earlier ones were
		 * committed. */
		uint8_t *pkt = tx_slot(e->tx, 0);
		size_t len = wire_udp_build(pkt, room + m[j].len, ip, k->dport,
					    k->sport, m[j].len);
		if (len == 0)
			return j ? j : -EAGAIN; /* cannot happen: it fit */
		CTR_INC(e, udp_rx_datagrams);
		tx_commit(e->tx, len, k->family);
	}
	return r;
}

static void udp_read(struct core_engine *e, union flow *f)
{
	const struct flow_key *k = &f->c.key;
	struct wire_ip_hdr ip = {
	    .family = k->family,
	    .proto = WIRE_PROTO_UDP,
	    .src = k->dst,
	    .dst = k->src,
	};
	size_t room = wire_ip_hdr_len(k->family) + WIRE_UDP_HDR_LEN;
	for (int i = 0; i < UDP_READ_BATCH;) {
		uint32_t free = tx_free(e->tx);
		if (free == 0) {
			/* Leave the rest in the socket buffer until the
			 * driver has drained the ring. */
			e->ops->want(e->ops_ctx, f->c.sock, false, false);
			core_wait_tx(e, f);
			return;
		}
		if (e->ops->recv_batch && free >= 2) {
			uint32_t want = (uint32_t)(UDP_READ_BATCH - i);
			long r = udp_read_batch(e, f, &ip, room,
						free < want ? free : want);
			if (r == -EAGAIN)
				return;
			if (r < 0) {
				CTR_INC(e, udp_send_errors);
				core_dgram_drain_errors(e, f);
				return;
			}
			if (r > 0) {
				i += (int)r;
				/* Fewer than asked: the socket is empty (the
				 * poller, level-triggered, says when it is
				 * not), no read that would say "nothing". */
				if ((uint32_t)r < (free < want ? free : want))
					return;
				continue;
			}
		}
		uint8_t *pkt;
		long n = core_dgram_recv(e, f->c.sock, room, &pkt);
		if (n == -EAGAIN)
			return;
		if (n < 0) {
			CTR_INC(e, udp_send_errors);
			core_dgram_drain_errors(e, f);
			return;
		}
		i++;
		f->c.last_active = e->now;
		size_t len = wire_udp_build(pkt, room + (size_t)n, &ip,
					    k->dport, k->sport, (size_t)n);
		if (len == 0)
			continue;
		CTR_INC(e, udp_rx_datagrams);
		core_dgram_emit(e, pkt, len, k->family);
		/* A driver that batches reads a new socket one datagram at
		 * a time first (a DNS answer is the only one): the poller,
		 * level-triggered for datagram sockets, says if more wait,
		 * which saves the read that would only say "nothing". */
		if (e->ops->recv_batch && pkt != e->scratch)
			return;
	}
}

void udp_sock_event(struct core_engine *e, union flow *f, uint32_t events)
{
	if (events & CORE_EV_ERROR)
		core_dgram_drain_errors(e, f);
	if (events & (CORE_EV_READ | CORE_EV_ERROR))
		udp_read(e, f);
}

void udp_timer(struct core_engine *e, union flow *f)
{
	core_dgram_idle_timer(e, f, udp_timeout(e, f));
}

void udp_tx_resume(struct core_engine *e, union flow *f)
{
	e->ops->want(e->ops_ctx, f->c.sock, true, false);
	udp_read(e, f);
}

void udp_release(struct core_engine *e, union flow *f)
{
	if (f->c.sock >= 0)
		CTR_DEC(e, udp_flows_open);
}
