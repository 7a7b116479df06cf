/* SPDX-License-Identifier: MIT */
/* dgram.c - datagram flows (UDP and ICMP echo): one host socket each.
 *
 * Theory of operation (what differs per protocol is in udp.c and icmp.c,
 * a struct dgram_proto each; see dgram.h)
 * - A datagram from the app for a new tuple creates a flow and asks the
 *   driver for its host socket (dgram_proto.open): a UDP socket connected
 *   to the destination, or an ICMP echo socket. A connected socket gives
 *   us the kernel's filtering of replies for free and reports ICMP errors
 *   (port unreachable...) on it.
 * - A flow that cannot be had (destination policy, max_flows, the memory
 *   budget, no host socket) is refused with ICMP "administratively
 *   prohibited" (core_refuse_packet), counted and logged. Out of fds, the
 *   least recently active datagram flow gives way and the socket is
 *   asked for once more (admit.c). An echo request for which the driver
 *   has no ping and no raw socket is dropped and counted (icmp_no_socket):
 *   the driver said why, once.
 * - App -> host: each datagram is sent as it is (reassembled first when
 *   the app fragmented it), without the header bytes the host socket
 *   writes itself. A refused send is counted; refusals with a network
 *   meaning become the ICMP error the app would have seen.
 * - Host -> app: readable events drain the socket in batches, straight
 *   into the payload area of transmit slots; the protocol then writes the
 *   headers in front (a UDP header, or the echo reply with the app's
 *   identifier back). Where the driver reads several datagrams per system
 *   call (recv_batch: recvmmsg, UDP only), one call fills as many slots as
 *   are free. A full ring pauses reading (the kernel socket buffer holds
 *   the rest) until the driver has written packets out (tx_resume).
 * - A reply larger than a slot (the app's MTU) is not truncated: the
 *   second buffer of the read is the engine's scratch area, laid out so
 *   the datagram lands contiguous there; the packet is then assembled in
 *   scratch and sent as IP fragments (RFC 791; for IPv6 we are the
 *   packet's source as far as the app can tell, so the Fragment header of
 *   RFC 8200 4.5 is ours to add).
 * - Errors queued on the socket (IP_RECVERR) come back as the matching
 *   ICMP/ICMPv6 destination unreachable quoting the app's datagram, so
 *   the app's connected socket sees "connection refused" as on a real
 *   network.
 * - Idle timeout per protocol (dgram_proto.timeout); the timer is re-armed
 *   lazily: activity only updates last_active, and the timer, when it
 *   fires, re-arms itself for the remaining time.
 */
#include "core/dgram.h"

#include <errno.h>

#include "core/core.h"
#include "core/icmp.h"
#include "core/udp.h"
#include "wire/build.h"

static const struct dgram_proto *proto_of(unsigned flow_type)
{
	return flow_type == FLOW_UDP ? &udp_dgram : &icmp_dgram;
}

/* Counts in counter c, unless the protocol counts none there. */
static void count(struct core_engine *e, enum tp_counter c)
{
	if (c < TP_CTR__COUNT)
		CTR_ADD_AT(e, c, 1);
}

/* --- socket errors as ICMP errors to the app --- */

/* Tells the app that its datagram on f could not be delivered, with the
 * ICMP error a real network would send for err, quoting the IP header and
 * the first 8 bytes of what the app sent (RFC 792, RFC 4443 3.1), made
 * up from the flow's tuple. Nothing if err has no network meaning. */
static void report(struct core_engine *e, const union flow *f,
		   const struct core_sock_error *err)
{
	uint8_t type, code;
	const struct flow_key *k = &f->c.key;
	if (!core_icmp_for_error(k->family, err, &type, &code))
		return;
	struct wire_ip_hdr ip = {
	    .family = k->family,
	    .proto = k->proto,
	    .src = k->src,
	    .dst = k->dst,
	};
	uint8_t quote[WIRE_IP6_HDR_LEN + DGRAM_QUOTE_L4] = {0};
	size_t h = wire_ip_write(quote, sizeof(quote), &ip, DGRAM_QUOTE_L4);
	if (h == 0)
		return;
	proto_of(f->c.type)->quote(k, quote + h);
	core_send_icmp_error(e, k->family, &k->dst, &k->src, type, code, 0,
			     quote, h + DGRAM_QUOTE_L4);
}

/* Reports the errors queued on f's host socket (a bounded number). */
static void drain_errors(struct core_engine *e, union flow *f)
{
	struct core_sock_error err;
	for (int i = 0; i < 8; i++) {
		if (e->ops->sock_error(e->ops_ctx, f->c.sock, &err) <= 0)
			return;
		report(e, f, &err);
	}
}

/* --- app -> host --- */

static void dgram_input(struct core_engine *e, union flow *f,
			const struct wire_packet *pkt)
{
	const struct dgram_proto *p = proto_of(f->c.type);
	f->c.last_active = e->now;
	/* The checked view holds at least the transport header. */
	struct core_iov iov = {(void *)(uintptr_t)(pkt->l4 + p->l4_hdr),
			       (size_t)pkt->l4_len - p->l4_hdr};
	long n = e->ops->send(e->ops_ctx, f->c.sock, &iov, 1);
	if (n >= 0) {
		count(e, p->ctr_tx);
		return;
	}
	count(e, p->ctr_errors);
	struct core_sock_error err = {.err = (int)-n};
	/* A pending socket error (e.g. the port unreachable an earlier
	 * datagram got) is reported through the error queue as well. */
	if ((p->flags & DGRAM_SEND_ERRQUEUE) &&
	    e->ops->sock_error(e->ops_ctx, f->c.sock, &err) <= 0)
		err = (struct core_sock_error){.err = (int)-n};
	report(e, f, &err);
}

/* --- a new flow and its host socket --- */

void dgram_start(struct core_engine *e, union flow *f, int sock)
{
	const struct dgram_proto *p = proto_of(f->c.type);
	f->c.sock = sock;
	count(e, p->ctr_open);
	flow_timer_set(e, f, e->now + p->timeout(e, &f->c.key));
}

/* The new flow f got no host socket (err: a positive errno; refused0:
 * the budget's refusals before the open): refused, counted and logged,
 * or dropped where the protocol is unavailable. */
static void open_failed(struct core_engine *e, const struct dgram_proto *p,
			union flow *f, int err, uint64_t refused0,
			const struct wire_packet *pkt)
{
	const struct flow_key *k = &f->c.key;
	const char *why = core_errno_advice(err);
	if (err == ENOMEM && e->mem.refused != refused0) {
		/* The driver's buffer for the flow (the raw ICMP socket's
		 * reply stash) did not fit max_memory. */
		CTR_INC(e, flows_refused_memory);
		core_log_refusal(e, CORE_REFUSE_MEMORY, k,
				 "%zu of max_memory's %zu bytes in use by %u "
				 "flows (raise it: --max-memory)",
				 e->mem.used, e->mem.budget,
				 core_flow_count(e) - 1);
	} else if (why) {
		/* Out of fds, ports or kernel memory: refuse this flow, keep
		 * the others. The app's socket sees the error at once
		 * instead of waiting for a reply that cannot come. */
		CTR_INC(e, flows_refused_socket);
		core_log_refusal(e, CORE_REFUSE_SOCKET, k,
				 "%s; %u other flows open", why,
				 core_flow_count(e) - 1);
	} else if (p->ctr_unavailable < TP_CTR__COUNT) {
		/* The protocol is unavailable (echo: no ping and no raw
		 * socket; the driver said why, once): dropped, unanswered. */
		count(e, p->ctr_unavailable);
		flow_close(e, f, false);
		return;
	} else {
		CTR_INC(e, flows_refused_socket);
		core_log_refusal(e, CORE_REFUSE_SOCKET, k,
				 "host socket failed (errno %d)", err);
	}
	core_refuse_packet(e, pkt);
	flow_close(e, f, false);
}

static void dgram_input_new(struct core_engine *e, const struct flow_key *key,
			    const struct wire_packet *pkt)
{
	enum flow_type type =
	    key->proto == WIRE_PROTO_UDP ? FLOW_UDP : FLOW_ICMP;
	const struct dgram_proto *p = proto_of(type);
	union flow *f = flow_alloc(e, type, key);
	if (!f) {
		/* Counted and logged by flow_alloc. */
		core_refuse_packet(e, pkt);
		return;
	}
	uint32_t h = flow_handle(e->flows, f);
	uint64_t refused0 = e->mem.refused;
	int sock = p->open(e, h, key);
	/* Out of fds: the least recently active datagram flow gives way, and
	 * we try once more (admit.c). */
	if (sock < 0 && admit_make_room(e, -sock, f))
		sock = p->open(e, h, key);
	if (sock < 0) {
		open_failed(e, p, f, -sock, refused0, pkt);
		return;
	}
	dgram_start(e, f, sock);
	dgram_input(e, f, pkt);
}

/* --- host -> app --- */

/* The reply being read on a flow: its IP header and where its payload
 * goes in a slot. */
struct reply {
	const struct dgram_proto *p;
	const struct flow_key *k;
	struct wire_ip_hdr ip;
	size_t room; /* IP header + dgram_proto.l4_hdr */
};

/* Receives one datagram from f's socket with its payload placed r->room
 * bytes into the first free tx slot, or, when it is larger than a slot
 * holds, into e->scratch at the same offset (never truncated). *pkt is
 * where the packet starts (slot or scratch). Returns the payload length
 * or -errno (-EAGAIN: nothing to read). Needs tx_free(e->tx) > 0. */
static long recv_one(struct core_engine *e, union flow *f,
		     const struct reply *r, uint8_t **pkt)
{
	uint8_t *slot = tx_slot(e->tx, 0);
	size_t first = tx_slot_cap(e->tx) - r->room;
	struct core_iov iov[2] = {
	    {slot + r->room, first},
	    {e->scratch + r->room + first, CORE_SCRATCH_SIZE - r->room - first},
	};
	size_t full = 0;
	long n = e->ops->recv(e->ops_ctx, f->c.sock, iov, 2, &full);
	if (n < 0)
		return n;
	if ((size_t)n <= first) {
		*pkt = slot;
		return n;
	}
	memcpy(e->scratch + r->room, slot + r->room, first);
	*pkt = e->scratch;
	return n;
}

/* Queues the packet of len bytes that recv_one placed at pkt: committed
 * in place, or fragmented from the scratch buffer. */
static void emit(struct core_engine *e, uint8_t *pkt, size_t len,
		 uint8_t family)
{
	if (pkt != e->scratch) {
		tx_commit(e->tx, len, family);
		return;
	}
	if (core_emit_packet(e, family, pkt, len) < 0)
		core_log_hostile(e, "reply of %zu bytes dropped: tx ring full",
				 len);
}

/* Reads up to max datagrams at once (recv_batch) straight into the next
 * free transmit slots and commits them in order. Returns how many, 0 if
 * the driver wants this socket read with recv(), or -errno. */
static long read_batch(struct core_engine *e, union flow *f,
		       const struct reply *r, uint32_t max)
{
	struct core_dgram m[DGRAM_READ_MAX];
	if (max > DGRAM_READ_MAX)
		max = DGRAM_READ_MAX;
	size_t cap = tx_slot_cap(e->tx) - r->room;
	for (uint32_t j = 0; j < max; j++) {
		m[j].iov.base = tx_slot(e->tx, j) + r->room;
		m[j].iov.len = cap;
		m[j].len = 0;
	}
	long got = e->ops->recv_batch(e->ops_ctx, f->c.sock, m, (int)max);
	if (got == -EOPNOTSUPP)
		return 0;
	if (got <= 0)
		return got < 0 ? got : -EAGAIN;
	f->c.last_active = e->now;
	for (long j = 0; j < got; j++) {
		/* Slot j is now the first free one: the earlier ones were
		 * committed. A batch read is for protocols whose build takes
		 * every datagram (UDP), so none leaves a gap. */
		uint8_t *pkt = tx_slot(e->tx, 0);
		size_t len = r->p->build(r->k, &r->ip, pkt, r->room, m[j].len);
		if (len == 0)
			return j ? j : -EAGAIN; /* cannot happen: it fit */
		count(e, r->p->ctr_rx);
		tx_commit(e->tx, len, r->k->family);
	}
	return got;
}

/* A read failed with an error other than "nothing waits": the socket's
 * error queue says what happened. */
static void read_failed(struct core_engine *e, union flow *f,
			const struct dgram_proto *p)
{
	count(e, p->ctr_errors);
	drain_errors(e, f);
}

void dgram_read(struct core_engine *e, union flow *f)
{
	const struct flow_key *k = &f->c.key;
	struct reply r = {
	    .p = proto_of(f->c.type),
	    .k = k,
	    .ip = {.family = k->family,
		   .proto = k->proto,
		   .src = k->dst,
		   .dst = k->src},
	};
	r.room = wire_ip_hdr_len(k->family) + r.p->l4_hdr;
	bool batched = (r.p->flags & DGRAM_RECV_BATCH) && e->ops->recv_batch;
	for (uint32_t i = 0; i < r.p->read_batch;) {
		uint32_t free = tx_free(e->tx);
		if (free == 0) {
			/* Leave the rest in the socket buffer until the
			 * driver has drained the ring. */
			e->ops->want(e->ops_ctx, f->c.sock, false, false);
			core_wait_tx(e, f);
			return;
		}
		if (batched && free >= 2) {
			uint32_t want = r.p->read_batch - i;
			if (want > free)
				want = free;
			long got = read_batch(e, f, &r, want);
			if (got == -EAGAIN)
				return;
			if (got < 0) {
				read_failed(e, f, r.p);
				return;
			}
			if (got > 0) {
				i += (uint32_t)got;
				/* Fewer than asked: the socket is empty (the
				 * poller, level-triggered, says when it is
				 * not), no read that would say "nothing". */
				if ((uint32_t)got < want)
					return;
				continue;
			}
		}
		uint8_t *pkt;
		long n = recv_one(e, f, &r, &pkt);
		if (n == -EAGAIN)
			return;
		if (n < 0) {
			read_failed(e, f, r.p);
			return;
		}
		i++;
		size_t len = r.p->build(k, &r.ip, pkt, r.room, (size_t)n);
		if (len == 0)
			continue;
		f->c.last_active = e->now;
		count(e, r.p->ctr_rx);
		emit(e, pkt, len, k->family);
		/* A driver that batches reads a new socket one datagram at
		 * a time first (a DNS answer is the only one): the poller,
		 * level-triggered for datagram sockets, says if more wait,
		 * which saves the read that would only say "nothing". */
		if (batched && pkt != e->scratch)
			return;
	}
}

/* --- events, timer, end --- */

static void dgram_sock_event(struct core_engine *e, union flow *f,
			     uint32_t events)
{
	if (events & CORE_EV_ERROR)
		drain_errors(e, f);
	if (events & (CORE_EV_READ | CORE_EV_ERROR))
		dgram_read(e, f);
}

static void dgram_tx_resume(struct core_engine *e, union flow *f)
{
	e->ops->want(e->ops_ctx, f->c.sock, true, false);
	dgram_read(e, f);
}

/* Closes f (flows_expired) if it has been idle for its timeout, else
 * re-arms the timer for the rest. */
static void dgram_timer(struct core_engine *e, union flow *f)
{
	uint64_t end =
	    f->c.last_active + proto_of(f->c.type)->timeout(e, &f->c.key);
	if (e->now < end) {
		flow_timer_set(e, f, end);
		return;
	}
	CTR_INC(e, flows_expired);
	flow_close(e, f, false);
}

static void dgram_release(struct core_engine *e, union flow *f)
{
	if (f->c.sock >= 0)
		CTR_ADD_AT(e, proto_of(f->c.type)->ctr_open, (uint64_t)-1);
}

/* Datagram flows are simply forgotten under pressure (evict NULL): the
 * app's next datagram makes a new one. */
const struct flow_ops dgram_flow_ops = {
    .input_new = dgram_input_new,
    .input = dgram_input,
    .sock_event = dgram_sock_event,
    .timer = dgram_timer,
    .tx_resume = dgram_tx_resume,
    .release = dgram_release,
};

/* The ICMP/ICMPv6 error for a host socket error (core.h; TCP uses it for
 * its connects too). */
bool core_icmp_for_error(uint8_t family, const struct core_sock_error *err,
			 uint8_t *type, uint8_t *code)
{
	if (err->origin == CORE_ERR_ICMP4 && family == 4) {
		if (err->type != WIRE_ICMP4_UNREACH ||
		    err->code == WIRE_ICMP4_UNREACH_NEEDFRAG)
			return false;
		*type = err->type;
		*code = err->code;
		return true;
	}
	if (err->origin == CORE_ERR_ICMP6 && family == 6) {
		if (err->type != WIRE_ICMP6_UNREACH)
			return false;
		*type = err->type;
		*code = err->code;
		return true;
	}
	*type = family == 4 ? WIRE_ICMP4_UNREACH : WIRE_ICMP6_UNREACH;
	switch (err->err) {
	case ECONNREFUSED:
		*code = family == 4 ? WIRE_ICMP4_UNREACH_PORT
				    : WIRE_ICMP6_UNREACH_PORT;
		return true;
	case EHOSTUNREACH:
		*code = family == 4 ? WIRE_ICMP4_UNREACH_HOST
				    : WIRE_ICMP6_UNREACH_ADDR;
		return true;
	case ENETUNREACH:
		*code = family == 4 ? WIRE_ICMP4_UNREACH_NET
				    : WIRE_ICMP6_UNREACH_NOROUTE;
		return true;
	case EACCES:
	case EPERM:
		*code = family == 4 ? WIRE_ICMP4_UNREACH_ADMIN
				    : WIRE_ICMP6_UNREACH_ADMIN;
		return true;
	}
	return false;
}
