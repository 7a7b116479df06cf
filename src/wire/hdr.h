/* SPDX-License-Identifier: MIT */
/* hdr.h - named fields of the IPv4, IPv6, TCP, UDP and ICMP headers.
 *
 * Every header field that code outside wire/ reads or writes in packet
 * bytes goes through one of these, so each offset is written down once,
 * here, next to the RFC that defines it. They check nothing: the caller
 * must already know the header is there in full, because
 *   - wire_packet_parse() or wire_packet_peek() checked it (the usual
 *     case; their views give most fields without these), or
 *   - the engine built the packet itself (wire/build.h) and the caller
 *     checked its length against the fixed header size named here, or
 *   - the caller checked the length itself (a raw socket's datagram).
 * Each accessor says how many bytes it needs at its pointer. Values are
 * host order; pointers returned point into the caller's buffer.
 */
#ifndef TP_WIRE_HDR_H
#define TP_WIRE_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire/bytes.h"

/* Checksum fields: where the transport checksums sit in their headers
 * (a virtio-net header names them, tun_vnet.c). */
enum {
	WIRE_IP4_CSUM_OFF = 10,
	WIRE_TCP_CSUM_OFF = 16,
	WIRE_UDP_CSUM_OFF = 6,
	WIRE_ICMP_CSUM_OFF = 2
};

/* IPv4 flags and fragment offset (RFC 791 3.1), as one 16-bit field. */
enum {
	WIRE_IP4_DF = 0x4000,
	WIRE_IP4_MF = 0x2000,
	WIRE_IP4_FRAG_MASK = 0x1fff /* offset, in 8-byte units */
};

/* The IP version: the high nibble of the first byte (1 byte). */
static inline unsigned wire_ip_version(const uint8_t *l3)
{
	return l3[0] >> 4;
}

/* IPv4 (RFC 791 3.1): l3 holds at least WIRE_IP4_HDR_LEN (20) bytes. */

/* The header length in bytes (IHL * 4); may be below 20 if it lies. */
static inline size_t wire_ip4_hdr_len(const uint8_t *l3)
{
	return (size_t)(l3[0] & 0xf) * 4;
}

static inline uint16_t wire_ip4_total_len(const uint8_t *l3)
{
	return wire_get16(l3 + 2);
}

static inline void wire_ip4_set_total_len(uint8_t *l3, uint16_t v)
{
	wire_put16(l3 + 2, v);
}

static inline uint16_t wire_ip4_id(const uint8_t *l3)
{
	return wire_get16(l3 + 4);
}

static inline void wire_ip4_set_id(uint8_t *l3, uint16_t v)
{
	wire_put16(l3 + 4, v);
}

/* Flags and fragment offset together (WIRE_IP4_DF, _MF, _FRAG_MASK). */
static inline uint16_t wire_ip4_frag_field(const uint8_t *l3)
{
	return wire_get16(l3 + 6);
}

static inline void wire_ip4_set_frag_field(uint8_t *l3, uint16_t v)
{
	wire_put16(l3 + 6, v);
}

/* The fragment offset in bytes. */
static inline size_t wire_ip4_frag_offset(const uint8_t *l3)
{
	return (size_t)(wire_ip4_frag_field(l3) & WIRE_IP4_FRAG_MASK) * 8;
}

/* True for any fragment: more follow, or it is not the first. */
static inline bool wire_ip4_is_fragment(const uint8_t *l3)
{
	return wire_ip4_frag_field(l3) & (WIRE_IP4_MF | WIRE_IP4_FRAG_MASK);
}

static inline uint8_t wire_ip4_ttl(const uint8_t *l3)
{
	return l3[8];
}

static inline uint8_t wire_ip4_proto(const uint8_t *l3)
{
	return l3[9];
}

/* The source and destination addresses (4 bytes each). */
static inline const uint8_t *wire_ip4_src(const uint8_t *l3)
{
	return l3 + 12;
}

static inline const uint8_t *wire_ip4_dst(const uint8_t *l3)
{
	return l3 + 16;
}

/* Recomputes the header checksum over wire_ip4_hdr_len(l3) bytes, which
 * must be there (RFC 791 3.1, RFC 1071). */
void wire_ip4_fill_csum(uint8_t *l3);

/* IPv6 (RFC 8200 3): l3 holds at least WIRE_IP6_HDR_LEN (40) bytes. */

static inline uint16_t wire_ip6_payload_len(const uint8_t *l3)
{
	return wire_get16(l3 + 4);
}

static inline void wire_ip6_set_payload_len(uint8_t *l3, uint16_t v)
{
	wire_put16(l3 + 4, v);
}

/* The Next Header of the fixed header: the first extension header or
 * the transport protocol. */
static inline uint8_t wire_ip6_next_header(const uint8_t *l3)
{
	return l3[6];
}

static inline void wire_ip6_set_next_header(uint8_t *l3, uint8_t nh)
{
	l3[6] = nh;
}

static inline uint8_t wire_ip6_hop_limit(const uint8_t *l3)
{
	return l3[7];
}

/* The source and destination addresses (16 bytes each). */
static inline const uint8_t *wire_ip6_src(const uint8_t *l3)
{
	return l3 + 8;
}

static inline const uint8_t *wire_ip6_dst(const uint8_t *l3)
{
	return l3 + 24;
}

/* The IPv6 Fragment header (RFC 8200 4.5): fh holds its 8 bytes. */

static inline uint8_t wire_ip6_frag_next_header(const uint8_t *fh)
{
	return fh[0];
}

/* The fragment offset in bytes. */
static inline size_t wire_ip6_frag_offset(const uint8_t *fh)
{
	return wire_get16(fh + 2) & 0xfff8;
}

/* The M flag: more fragments follow. */
static inline bool wire_ip6_frag_more(const uint8_t *fh)
{
	return wire_get16(fh + 2) & 1;
}

static inline uint32_t wire_ip6_frag_id(const uint8_t *fh)
{
	return wire_get32(fh + 4);
}

/* The addresses of either family's fixed header (wire_ip_version(l3)
 * says which, and so their length: 4 or 16 bytes). */
static inline const uint8_t *wire_ip_src(const uint8_t *l3)
{
	return wire_ip_version(l3) == 4 ? wire_ip4_src(l3) : wire_ip6_src(l3);
}

static inline const uint8_t *wire_ip_dst(const uint8_t *l3)
{
	return wire_ip_version(l3) == 4 ? wire_ip4_dst(l3) : wire_ip6_dst(l3);
}

/* The pseudo-header sum (wire_csum_pseudo) for l4_len bytes of protocol
 * proto behind the fixed IPv4 or IPv6 header at l3. */
uint32_t wire_ip_pseudo_sum(const uint8_t *l3, uint8_t proto, uint32_t l4_len);

/* TCP and UDP share their first 4 bytes: the ports (RFC 768, RFC 9293
 * 3.1). l4 holds at least 4 bytes. */

static inline uint16_t wire_l4_sport(const uint8_t *l4)
{
	return wire_get16(l4);
}

static inline uint16_t wire_l4_dport(const uint8_t *l4)
{
	return wire_get16(l4 + 2);
}

static inline void wire_l4_set_ports(uint8_t *l4, uint16_t sport,
				     uint16_t dport)
{
	wire_put16(l4, sport);
	wire_put16(l4 + 2, dport);
}

/* TCP (RFC 9293 3.1): t holds at least WIRE_TCP_HDR_LEN (20) bytes. */

static inline uint32_t wire_tcp_seq(const uint8_t *t)
{
	return wire_get32(t + 4);
}

/* The header length in bytes (Data Offset * 4); may lie. */
static inline size_t wire_tcp_data_off(const uint8_t *t)
{
	return (size_t)(t[12] >> 4) * 4;
}

/* The flags byte (WIRE_TCP_FIN ... WIRE_TCP_CWR of packet.h). */
static inline uint8_t wire_tcp_flags(const uint8_t *t)
{
	return t[13];
}

static inline void wire_tcp_set_flags(uint8_t *t, uint8_t flags)
{
	t[13] = flags;
}

/* UDP (RFC 768): u holds at least WIRE_UDP_HDR_LEN (8) bytes. */

static inline uint16_t wire_udp_len(const uint8_t *u)
{
	return wire_get16(u + 4);
}

static inline void wire_udp_set_len(uint8_t *u, uint16_t v)
{
	wire_put16(u + 4, v);
}

/* ICMP and ICMPv6 (RFC 792, RFC 4443 2.1): m holds at least
 * WIRE_ICMP_HDR_LEN (8) bytes; identifier and sequence number are those
 * of echo messages (RFC 792 "Echo", RFC 4443 4.1). */

static inline uint8_t wire_icmp_type(const uint8_t *m)
{
	return m[0];
}

static inline void wire_icmp_set_type(uint8_t *m, uint8_t type)
{
	m[0] = type;
}

static inline uint16_t wire_icmp_echo_id(const uint8_t *m)
{
	return wire_get16(m + 4);
}

static inline void wire_icmp_set_echo_id(uint8_t *m, uint16_t id)
{
	wire_put16(m + 4, id);
}

static inline uint16_t wire_icmp_echo_seq(const uint8_t *m)
{
	return wire_get16(m + 6);
}

/* Recomputes the ICMPv4 checksum over the len bytes of message at m
 * (RFC 792: no pseudo-header; ICMPv6 has one and needs the addresses). */
void wire_icmp4_fill_csum(uint8_t *m, size_t len);

/* Stores a folded checksum (network order, from wire_csum_fold) in the
 * field at off of the header at h (one of the WIRE_*_CSUM_OFF). */
static inline void wire_set_csum(uint8_t *h, size_t off, uint16_t csum)
{
	memcpy(h + off, &csum, 2);
}

/* Headers of two packets of one flow that differ only where every packet
 * of the flow may differ (lengths, IPv4 identification, checksums, TCP
 * sequence number and flags): what segmentation offload copies from the
 * first packet to every piece it cuts. */

/* True if the fixed IPv4 or IPv6 headers at a and b (same version, no
 * IPv4 options) agree but for the lengths, the IPv4 identification and
 * the header checksum. */
bool wire_ip_hdr_alike(const uint8_t *a, const uint8_t *b);

/* True if the TCP headers at a and b, hl bytes each (options included;
 * false if hl is below WIRE_TCP_HDR_LEN), agree but for the sequence number, the flags and the checksum. */
bool wire_tcp_hdr_alike(const uint8_t *a, const uint8_t *b, size_t hl);

#endif
