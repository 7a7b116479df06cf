/* SPDX-License-Identifier: MIT */
/* capture_filter.c - the capture's packet filter (see capture_filter.h).
 *
 * The headers are read by wire_packet_peek() (src/wire/peek.h), the same
 * IPv4 accessors and IPv6 extension-chain walk the engine's checker uses,
 * and not by wire_packet_parse(): the capture shows what crossed the TUN,
 * including the packets the engine refuses (a wrong checksum, a length
 * that lies) and snapshots cut short, and a filter must still match them
 * by their headers. What that changes against the filter's own parser of
 * before (kept here so a difference is a decision, not an accident):
 *   - IPv6 AH (RFC 4302) is walked like the other extension headers, so
 *     "tcp" matches TCP under AH (it used to see protocol 51);
 *   - an IPv6 chain the engine refuses as malformed (Hop-by-Hop not first,
 *     RFC 8200 4.3; more than 8 headers) matches only the empty filter, as
 *     a cut-short chain always did;
 *   - a later IPv6 fragment's data is no longer walked as if it held more
 *     extension headers: its protocol is its Fragment header's Next Header,
 *     as the engine's reassembler sees it.
 * Ports are read from a first fragment too (offset 0), where the transport
 * header is; a later fragment has none.
 */
#include "capture_filter.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "tool_util.h"
#include "wire/packet.h"
#include "wire/peek.h"

void capture_filter_init(struct capture_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->port = -1;
}

int capture_filter_set_proto(struct capture_filter *f, const char *s)
{
	if (strcmp(s, "tcp") == 0)
		f->proto = CAPTURE_TCP;
	else if (strcmp(s, "udp") == 0)
		f->proto = CAPTURE_UDP;
	else if (strcmp(s, "icmp") == 0 || strcmp(s, "icmp6") == 0)
		f->proto = CAPTURE_ICMP;
	else
		return -1;
	return 0;
}

int capture_filter_set_port(struct capture_filter *f, const char *s)
{
	uint64_t p;
	if (!tool_parse_uint(s, 65535, &p))
		return -1;
	f->port = (int)p;
	return 0;
}

int capture_filter_set_host(struct capture_filter *f, const char *s)
{
	if (inet_pton(AF_INET, s, f->host) == 1)
		f->host_family = 4;
	else if (inet_pton(AF_INET6, s, f->host) == 1)
		f->host_family = 6;
	else
		return -1;
	return 0;
}

bool capture_filter_match(const struct capture_filter *f, const uint8_t *pkt,
			  size_t len)
{
	if (f->proto == CAPTURE_ANY && f->port < 0 && !f->host_family)
		return true;
	struct wire_peek ip;
	if (wire_packet_peek(pkt, len, &ip) != WIRE_OK)
		return false;
	switch (f->proto) {
	case CAPTURE_TCP:
		if (ip.proto != WIRE_PROTO_TCP)
			return false;
		break;
	case CAPTURE_UDP:
		if (ip.proto != WIRE_PROTO_UDP)
			return false;
		break;
	case CAPTURE_ICMP:
		/* "icmp" and "icmp6" both name ICMP of either family. */
		if (ip.proto != WIRE_PROTO_ICMP && ip.proto != WIRE_PROTO_ICMP6)
			return false;
		break;
	case CAPTURE_ANY:
		break;
	}
	if (f->port >= 0 &&
	    (!ip.has_ports || (ip.sport != f->port && ip.dport != f->port)))
		return false;
	if (f->host_family) {
		bool v4 = f->host_family == 4;
		size_t alen = v4 ? 4 : 16;
		const uint8_t *src = v4 ? wire_addr_v4(&ip.src) : ip.src.b;
		const uint8_t *dst = v4 ? wire_addr_v4(&ip.dst) : ip.dst.b;
		if (ip.family != f->host_family ||
		    (memcmp(src, f->host, alen) != 0 &&
		     memcmp(dst, f->host, alen) != 0))
			return false;
	}
	return true;
}
