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
 * Each group says how many bytes it needs at its pointer. Values are host
 * order; pointers returned point into the caller's buffer.
 */
#ifndef TP_WIRE_HDR_H
#define TP_WIRE_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire/bytes.h"

/* The fixed-size fields, one line each: WIRE_FIELD(n, name, off) defines
 *   uintN_t wire_<name>(const uint8_t *h)        the n-bit field at off
 *   void    wire_<name>_set(uint8_t *h, uintN_t) stores it
 * and WIRE_BYTES(name, off) a pointer to the bytes at off (addresses).
 * h is the start of the header the field belongs to. */
#define WIRE_FIELD(bits, name, off)                                            \
	static inline uint##bits##_t wire_##name(const uint8_t *h)             \
	{                                                                      \
		return wire_get##bits(h + (off));                              \
	}                                                                      \
	static inline void wire_##name##_set(uint8_t *h, uint##bits##_t v)     \
	{                                                                      \
		wire_put##bits(h + (off), v);                                  \
	}
#define WIRE_BYTES(name, off)                                                  \
	static inline const uint8_t *wire_##name(const uint8_t *h)             \
	{                                                                      \
		return h + (off);                                              \
	}

/* IPv4 (RFC 791 3.1): h holds at least WIRE_IP4_HDR_LEN (20) bytes. */
WIRE_FIELD(16, ip4_total_len, 2)
WIRE_FIELD(16, ip4_id, 4)
WIRE_FIELD(16, ip4_frag_field, 6) /* flags and offset: WIRE_IP4_DF... */
WIRE_FIELD(8, ip4_ttl, 8)
WIRE_FIELD(8, ip4_proto, 9)
WIRE_BYTES(ip4_src, 12) /* 4 bytes */
WIRE_BYTES(ip4_dst, 16)

/* IPv6 (RFC 8200 3): h holds at least WIRE_IP6_HDR_LEN (40) bytes. */
WIRE_FIELD(16, ip6_payload_len, 4)
WIRE_FIELD(8, ip6_next_header, 6) /* first extension header or transport */
WIRE_FIELD(8, ip6_hop_limit, 7)
WIRE_BYTES(ip6_src, 8) /* 16 bytes */
WIRE_BYTES(ip6_dst, 24)

/* The IPv6 Fragment header (RFC 8200 4.5): h holds its 8 bytes. */
WIRE_FIELD(8, ip6_frag_next_header, 0)
WIRE_FIELD(32, ip6_frag_id, 4)

/* TCP and UDP share their first 4 bytes, the ports (RFC 768, RFC 9293
 * 3.1): h holds at least 4 bytes. */
WIRE_FIELD(16, l4_sport, 0)
WIRE_FIELD(16, l4_dport, 2)

/* TCP (RFC 9293 3.1): h holds at least WIRE_TCP_HDR_LEN (20) bytes. */
WIRE_FIELD(32, tcp_seq, 4)
WIRE_FIELD(8, tcp_flags, 13) /* WIRE_TCP_FIN ... WIRE_TCP_CWR (packet.h) */

/* UDP (RFC 768): h holds at least WIRE_UDP_HDR_LEN (8) bytes. */
WIRE_FIELD(16, udp_len, 4)

/* ICMP and ICMPv6 (RFC 792, RFC 4443 2.1): h holds at least
 * WIRE_ICMP_HDR_LEN (8) bytes; identifier and sequence number are those
 * of echo messages (RFC 792 "Echo", RFC 4443 4.1). */
WIRE_FIELD(8, icmp_type, 0)
WIRE_FIELD(16, icmp_echo_id, 4)
WIRE_FIELD(16, icmp_echo_seq, 6)

/* Checksum fields: where the checksums sit in their headers (for
 * wire_set_csum, and a virtio-net header names them, tun_vnet.c). */
enum {
	WIRE_IP4_CSUM_OFF = 10,
	WIRE_TCP_CSUM_OFF = 16,
	WIRE_UDP_CSUM_OFF = 6,
	WIRE_ICMP_CSUM_OFF = 2
};

/* Stores a folded checksum (network order, from wire_csum_fold) in the
 * field at off of the header at h (one of the WIRE_*_CSUM_OFF). */
static inline void wire_set_csum(uint8_t *h, size_t off, uint16_t csum)
{
	memcpy(h + off, &csum, 2);
}

/* Fields that are not whole bytes, or that are counted in units. */

/* IPv4 flags and fragment offset (RFC 791 3.1) in wire_ip4_frag_field. */
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

/* The IPv4 header length in bytes (IHL * 4); may be below 20 if it
 * lies. */
static inline size_t wire_ip4_hdr_len(const uint8_t *l3)
{
	return (size_t)(l3[0] & 0xf) * 4;
}

/* The IPv4 fragment offset in bytes. */
static inline size_t wire_ip4_frag_offset(const uint8_t *l3)
{
	return (size_t)(wire_ip4_frag_field(l3) & WIRE_IP4_FRAG_MASK) * 8;
}

/* True for any IPv4 fragment: more follow, or it is not the first. */
static inline bool wire_ip4_is_fragment(const uint8_t *l3)
{
	return wire_ip4_frag_field(l3) & (WIRE_IP4_MF | WIRE_IP4_FRAG_MASK);
}

/* The IPv6 fragment offset in bytes (fh: the Fragment header). */
static inline size_t wire_ip6_frag_offset(const uint8_t *fh)
{
	return wire_get16(fh + 2) & 0xfff8;
}

/* The IPv6 Fragment header's M flag: more fragments follow. */
static inline bool wire_ip6_frag_more(const uint8_t *fh)
{
	return wire_get16(fh + 2) & 1;
}

/* The TCP header length in bytes (Data Offset * 4); may lie. */
static inline size_t wire_tcp_data_off(const uint8_t *t)
{
	return (size_t)(t[12] >> 4) * 4;
}

/* Recomputes the IPv4 header checksum over wire_ip4_hdr_len(l3) bytes,
 * which must be there (RFC 791 3.1, RFC 1071). */
void wire_ip4_fill_csum(uint8_t *l3);

/* Recomputes the ICMPv4 checksum over the len bytes of message at m
 * (RFC 792: no pseudo-header; ICMPv6 has one and needs the addresses). */
void wire_icmp4_fill_csum(uint8_t *m, size_t len);

/* The pseudo-header sum (wire_csum_pseudo) for l4_len bytes of protocol
 * proto behind the fixed IPv4 or IPv6 header at l3. */
uint32_t wire_ip_pseudo_sum(const uint8_t *l3, uint8_t proto, uint32_t l4_len);

/* Headers of two packets of one flow that differ only where every packet
 * of the flow may differ (lengths, IPv4 identification, checksums, TCP
 * sequence number and flags): what segmentation offload copies from the
 * first packet to every piece it cuts. */

/* True if the fixed IPv4 or IPv6 headers at a and b (same version, no
 * IPv4 options) agree but for the lengths, the IPv4 identification and
 * the header checksum. */
bool wire_ip_hdr_alike(const uint8_t *a, const uint8_t *b);

/* True if the TCP headers at a and b, hl bytes each (options included;
 * false if hl is below WIRE_TCP_HDR_LEN), agree but for the sequence
 * number, the flags and the checksum. */
bool wire_tcp_hdr_alike(const uint8_t *a, const uint8_t *b, size_t hl);

#endif
