/* SPDX-License-Identifier: MIT */
/* dgram.c - datagrams from host sockets into packets for the app.
 *
 * UDP and ICMP replies are read straight into the payload area of a
 * transmit slot, so the common case costs no copy: the headers are then
 * written in front of the payload. A reply larger than a slot (the app's
 * MTU) must not be truncated: the second buffer of the read is the
 * engine's scratch area, laid out so the datagram lands contiguous there;
 * the packet is then assembled in scratch and sent as IP fragments
 * (RFC 791; for IPv6 we are the packet's source as far as the app can
 * tell, so the Fragment header of RFC 8200 4.5 is ours to add).
 */
#include "core/core.h"
#include "wire/build.h"

long core_dgram_recv(struct core_engine *e, int sock, size_t hdr_room,
		     uint8_t **pkt)
{
	uint8_t *slot = tx_slot(e->tx, 0);
	size_t first = tx_slot_cap(e->tx) - hdr_room;
	struct core_iov iov[2] = {
	    {slot + hdr_room, first},
	    {e->scratch + hdr_room + first,
	     CORE_SCRATCH_SIZE - hdr_room - first},
	};
	size_t full = 0;
	long n = e->ops->recv(e->ops_ctx, sock, iov, 2, &full);
	if (n < 0)
		return n;
	if ((size_t)n <= first) {
		*pkt = slot;
		return n;
	}
	memcpy(e->scratch + hdr_room, slot + hdr_room, first);
	*pkt = e->scratch;
	return n;
}

void core_dgram_emit(struct core_engine *e, uint8_t *pkt, size_t len,
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

void core_dgram_report(struct core_engine *e, union flow *f,
		       const struct core_sock_error *err)
{
	uint8_t type, code;
	const struct flow_key *k = &f->c.key;
	if (!core_icmp_for_error(k->family, err, &type, &code))
		return;
	/* The first 8 bytes of what the app sent: the UDP header, or the
	 * echo request's header with the app's identifier. */
	uint8_t hdr[8] = {0};
	if (k->proto == WIRE_PROTO_UDP) {
		hdr[0] = (uint8_t)(k->sport >> 8);
		hdr[1] = (uint8_t)k->sport;
		hdr[2] = (uint8_t)(k->dport >> 8);
		hdr[3] = (uint8_t)k->dport;
		hdr[5] = WIRE_UDP_HDR_LEN;
	} else {
		hdr[0] = k->family == 4 ? WIRE_ICMP4_ECHO_REQUEST
					: WIRE_ICMP6_ECHO_REQUEST;
		hdr[4] = (uint8_t)(k->sport >> 8);
		hdr[5] = (uint8_t)k->sport;
	}
	uint8_t quote[WIRE_IP6_HDR_LEN + sizeof(hdr)];
	size_t qlen =
	    core_synth_quote(k, hdr, sizeof(hdr), quote, sizeof(quote));
	if (qlen)
		core_send_icmp_error(e, k->family, &k->dst, &k->src, type, code,
				     0, quote, qlen);
}

void core_dgram_idle_timer(struct core_engine *e, union flow *f,
			   uint64_t timeout_us)
{
	uint64_t end = f->c.last_active + timeout_us;
	if (e->now < end) {
		flow_timer_set(e, f, end);
		return;
	}
	CTR_INC(e, flows_expired);
	flow_close(e, f, false);
}

void core_dgram_drain_errors(struct core_engine *e, union flow *f)
{
	struct core_sock_error err;
	for (int i = 0; i < 8; i++) {
		if (e->ops->sock_error(e->ops_ctx, f->c.sock, &err) <= 0)
			return;
		core_dgram_report(e, f, &err);
	}
}

size_t core_synth_quote(const struct flow_key *k, const uint8_t *l4,
			size_t l4_len, uint8_t *buf, size_t cap)
{
	struct wire_ip_hdr ip = {
	    .family = k->family,
	    .proto = k->proto,
	    .src = k->src,
	    .dst = k->dst,
	};
	size_t h = wire_ip_write(buf, cap, &ip, l4_len);
	if (h == 0 || h + l4_len > cap)
		return 0;
	memcpy(buf + h, l4, l4_len);
	return h + l4_len;
}

#include <errno.h>

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
