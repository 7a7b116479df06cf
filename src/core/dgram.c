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
		{ slot + hdr_room, first },
		{ e->scratch + hdr_room + first,
		  CORE_SCRATCH_SIZE - hdr_room - first },
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
