/* SPDX-License-Identifier: MIT */
/* capture_filter.c - the capture's packet filter (see capture_filter.h).
 *
 * IPv6 extension headers are walked (hop-by-hop, routing, destination
 * options, fragment) to find the transport protocol; ports are read only
 * from a first fragment, where the transport header is.
 */
#include "capture_filter.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "tool_util.h"

struct ip_info {
	int family;
	const uint8_t *src, *dst;
	uint8_t proto;
	bool has_ports;
	uint16_t sport, dport;
};

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

static void read_ports(struct ip_info *ip, const uint8_t *l4, size_t len)
{
	if ((ip->proto == 6 || ip->proto == 17) && len >= 4) {
		ip->has_ports = true;
		ip->sport = (uint16_t)(l4[0] << 8 | l4[1]);
		ip->dport = (uint16_t)(l4[2] << 8 | l4[3]);
	}
}

static bool parse_ip4(const uint8_t *p, size_t len, struct ip_info *ip)
{
	if (len < 20)
		return false;
	size_t ihl = (size_t)(p[0] & 15) * 4;
	if (ihl < 20 || ihl > len)
		return false;
	ip->family = 4;
	ip->proto = p[9];
	ip->src = p + 12;
	ip->dst = p + 16;
	uint16_t frag_off = (uint16_t)((p[6] & 0x1f) << 8 | p[7]);
	if (frag_off == 0)
		read_ports(ip, p + ihl, len - ihl);
	return true;
}

static bool parse_ip6(const uint8_t *p, size_t len, struct ip_info *ip)
{
	if (len < 40)
		return false;
	ip->family = 6;
	ip->src = p + 8;
	ip->dst = p + 24;
	uint8_t nh = p[6];
	size_t off = 40;
	bool first_fragment = true;
	for (int hops = 0; hops < 8; hops++) {
		if (nh == 0 || nh == 43 || nh == 60) {
			if (off + 8 > len)
				return false;
			nh = p[off];
			off += ((size_t)p[off + 1] + 1) * 8;
		} else if (nh == 44) {
			if (off + 8 > len)
				return false;
			first_fragment =
			    ((p[off + 2] << 8 | p[off + 3]) & 0xfff8) == 0;
			nh = p[off];
			off += 8;
		} else {
			break;
		}
	}
	if (off > len)
		return false;
	ip->proto = nh;
	if (first_fragment)
		read_ports(ip, p + off, len - off);
	return true;
}

bool capture_filter_match(const struct capture_filter *f, const uint8_t *pkt,
			  size_t len)
{
	if (f->proto == CAPTURE_ANY && f->port < 0 && !f->host_family)
		return true;
	struct ip_info ip = {0};
	bool ok = len > 0 && ((pkt[0] >> 4) == 4   ? parse_ip4(pkt, len, &ip)
			      : (pkt[0] >> 4) == 6 ? parse_ip6(pkt, len, &ip)
						   : false);
	if (!ok)
		return false;
	switch (f->proto) {
	case CAPTURE_TCP:
		if (ip.proto != 6)
			return false;
		break;
	case CAPTURE_UDP:
		if (ip.proto != 17)
			return false;
		break;
	case CAPTURE_ICMP:
		if (ip.proto != 1 && ip.proto != 58)
			return false;
		break;
	case CAPTURE_ANY:
		break;
	}
	if (f->port >= 0 &&
	    (!ip.has_ports || (ip.sport != f->port && ip.dport != f->port)))
		return false;
	if (f->host_family) {
		size_t alen = f->host_family == 4 ? 4 : 16;
		if (ip.family != f->host_family ||
		    (memcmp(ip.src, f->host, alen) != 0 &&
		     memcmp(ip.dst, f->host, alen) != 0))
			return false;
	}
	return true;
}
