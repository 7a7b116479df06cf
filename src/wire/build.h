/* SPDX-License-Identifier: MIT */
/* build.h - writing IP packets in place.
 *
 * Builders write headers into a buffer the caller owns and return the
 * number of bytes written, or 0 when cap is too small (nothing useful is
 * written then). The usual pattern is: the caller reserves a buffer, puts
 * the payload at wire_l4_offset()+transport header length (often by reading
 * a socket straight into it), then calls a builder which writes the IP and
 * transport headers in front of it and fills every checksum.
 */
#ifndef TP_WIRE_BUILD_H
#define TP_WIRE_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "wire/addr.h"
#include "wire/packet.h"

/* The addresses and protocol of a packet to build. */
struct wire_ip_hdr {
	uint8_t family; /* 4 or 6 */
	uint8_t proto;
	uint8_t ttl; /* 0 means the default of 64 */
	struct wire_addr src, dst;
};

/* Length of the IP header the builders write for a family (20 or 40). */
static inline size_t wire_ip_hdr_len(uint8_t family)
{
	return family == 4 ? WIRE_IP4_HDR_LEN : WIRE_IP6_HDR_LEN;
}

/* Writes the IPv4 or IPv6 header for a transport payload of l4_len bytes
 * (IPv4: DF set, id 0, header checksum filled). Returns the header length. */
size_t wire_ip_write(uint8_t *buf, size_t cap, const struct wire_ip_hdr *ip,
		     size_t l4_len);

/* Builds a whole UDP packet: the payload of payload_len bytes must already be
 * at buf + wire_ip_hdr_len(family) + 8. Returns the packet length. */
size_t wire_udp_build(uint8_t *buf, size_t cap, const struct wire_ip_hdr *ip,
		      uint16_t sport, uint16_t dport, size_t payload_len);

/* A TCP segment to build. Options are written in the order MSS, SACK-permitted,
 * timestamps, window scale, SACK blocks, each padded to 32 bits. */
struct wire_tcp_hdr {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;	   /* already scaled down, host order */
	struct wire_tcp_opts opts; /* has_* fields select what is written */
};

/* The TCP header length the given options need (20..60). */
size_t wire_tcp_hdr_len(const struct wire_tcp_opts *opts);

/* Builds a whole TCP segment; payload_len bytes of payload must already be at
 * buf + wire_ip_hdr_len(family) + wire_tcp_hdr_len(&tcp->opts). */
size_t wire_tcp_build(uint8_t *buf, size_t cap, const struct wire_ip_hdr *ip,
		      const struct wire_tcp_hdr *tcp, size_t payload_len);

/* Builds an ICMP (family 4) or ICMPv6 (family 6) echo request or reply: type
 * is the ICMP type for the family; data_len bytes of echo data must already
 * be at buf + wire_ip_hdr_len(family) + 8. */
size_t wire_icmp_echo_build(uint8_t *buf, size_t cap,
			    const struct wire_ip_hdr *ip, uint8_t type,
			    uint16_t id, uint16_t seq, size_t data_len);

/* Builds an ICMP/ICMPv6 error (destination unreachable, packet too big...)
 * from ip->src to ip->dst that quotes as much of the offending packet
 * (orig, orig_len) as fits in the minimum MTU of the family (576 / 1280),
 * as RFC 1812 4.3.2.3 and RFC 4443 2.4(c) say. mtu_or_zero is the next-hop
 * MTU of "fragmentation needed" / "packet too big", otherwise 0. */
size_t wire_icmp_error_build(uint8_t *buf, size_t cap,
			     const struct wire_ip_hdr *ip, uint8_t type,
			     uint8_t code, uint32_t mtu_or_zero,
			     const uint8_t *orig, size_t orig_len);

/* ICMP types and codes tunproxy sends or maps. */
enum {
	WIRE_ICMP4_ECHO_REPLY = 0,
	WIRE_ICMP4_UNREACH = 3,
	WIRE_ICMP4_ECHO_REQUEST = 8,
	WIRE_ICMP4_TIME_EXCEEDED = 11,
	WIRE_ICMP4_UNREACH_NET = 0,
	WIRE_ICMP4_UNREACH_HOST = 1,
	WIRE_ICMP4_UNREACH_PROTO = 2,
	WIRE_ICMP4_UNREACH_PORT = 3,
	WIRE_ICMP4_UNREACH_NEEDFRAG = 4,
	WIRE_ICMP4_UNREACH_ADMIN = 13
};

enum {
	WIRE_ICMP6_UNREACH = 1,
	WIRE_ICMP6_PACKET_TOO_BIG = 2,
	WIRE_ICMP6_TIME_EXCEEDED = 3,
	WIRE_ICMP6_ECHO_REQUEST = 128,
	WIRE_ICMP6_ECHO_REPLY = 129,
	WIRE_ICMP6_UNREACH_NOROUTE = 0,
	WIRE_ICMP6_UNREACH_ADMIN = 1,
	WIRE_ICMP6_UNREACH_ADDR = 3,
	WIRE_ICMP6_UNREACH_PORT = 4
};

/* Splits an IP packet that is larger than mtu into fragments (RFC 791 for
 * IPv4, clearing DF and setting the IPv4 id to the low 16 bits of id unless
 * the packet is already a fragment; RFC 8200 4.5 for IPv6, inserting a
 * Fragment header with the given id). A packet that fits is emitted once,
 * unchanged. pkt/pkt_len is a complete packet as built above (IPv6: no
 * extension headers). Calls emit(ctx, frag, frag_len) for each fragment,
 * building each in a scratch buffer of its own the callback may copy; stops
 * and returns -1 if emit returns non-zero, otherwise returns the number of
 * fragments. mtu must be at least 68 (IPv4) / 1280 (IPv6); a smaller mtu
 * or a malformed packet gives -1 too. */
typedef int (*wire_frag_emit_fn)(void *ctx, const uint8_t *frag,
				 size_t frag_len);
int wire_ip_fragment(const uint8_t *pkt, size_t pkt_len, size_t mtu,
		     uint32_t id, wire_frag_emit_fn emit, void *ctx);

#endif
