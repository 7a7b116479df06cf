/* SPDX-License-Identifier: MIT */
/* packet.h - the checked view of one IP packet.
 *
 * wire_packet_parse() validates every length field of the IP header (IPv4
 * with options skipped, or IPv6 with its extension-header chain walked),
 * then of the transport header (UDP, TCP with options, ICMP/ICMPv6), and
 * verifies the transport checksum. Only after it returns WIRE_OK may any
 * field be read, and then only through struct wire_packet: nothing reads
 * header bytes that the checker has not seen. The view points into the
 * caller's buffer; it owns nothing and is valid while that buffer is.
 *
 * Fragments are recognised but their transport header is not parsed (it
 * may not be there): the caller hands them to the reassembler, then parses
 * the reassembled datagram again with wire_packet_parse().
 */
#ifndef TP_WIRE_PACKET_H
#define TP_WIRE_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/addr.h"

enum {
	WIRE_PROTO_ICMP = 1,
	WIRE_PROTO_TCP = 6,
	WIRE_PROTO_UDP = 17,
	WIRE_PROTO_ICMP6 = 58
};

enum {
	WIRE_IP4_HDR_LEN = 20,
	WIRE_IP6_HDR_LEN = 40,
	WIRE_IP6_FRAG_HDR_LEN = 8,
	WIRE_UDP_HDR_LEN = 8,
	WIRE_TCP_HDR_LEN = 20,
	WIRE_TCP_MAX_HDR_LEN = 60,
	WIRE_ICMP_HDR_LEN = 8
};

/* Why a packet was refused. One counter per reason is kept by the caller;
 * wire_drop_name() gives the counter's name. */
enum wire_drop {
	WIRE_OK = 0,
	WIRE_DROP_EMPTY,      /* zero-length packet */
	WIRE_DROP_VERSION,    /* IP version neither 4 nor 6 */
	WIRE_DROP_IP4_SHORT,  /* shorter than the fixed IPv4 header */
	WIRE_DROP_IP4_IHL,    /* IHL < 5 or header longer than the packet */
	WIRE_DROP_IP4_TOTLEN, /* total length < IHL or > bytes received */
	WIRE_DROP_IP4_CSUM,   /* IPv4 header checksum wrong */
	WIRE_DROP_IP6_SHORT,  /* shorter than the fixed IPv6 header */
	WIRE_DROP_IP6_PAYLEN, /* payload length > bytes received */
	WIRE_DROP_IP6_EXTHDR, /* extension header truncated or too many */
	WIRE_DROP_FRAG_BAD,   /* fragment offset/length inconsistent */
	WIRE_DROP_UDP_SHORT,  /* shorter than a UDP header */
	WIRE_DROP_UDP_LEN,    /* UDP length field lies */
	WIRE_DROP_UDP_CSUM,   /* UDP checksum wrong (or zero over IPv6) */
	WIRE_DROP_TCP_SHORT,  /* shorter than a TCP header */
	WIRE_DROP_TCP_DOFF,   /* data offset < 5 or past the segment */
	WIRE_DROP_TCP_OPT,    /* an option's length field lies */
	WIRE_DROP_TCP_CSUM,   /* TCP checksum wrong */
	WIRE_DROP_ICMP_SHORT, /* shorter than an ICMP header */
	WIRE_DROP_ICMP_CSUM,  /* ICMP/ICMPv6 checksum wrong */
	WIRE_DROP_PROTO,      /* transport protocol not handled */
	WIRE_DROP__COUNT
};

const char *wire_drop_name(enum wire_drop reason);

/* TCP flags as in the header's 13th byte. */
enum {
	WIRE_TCP_FIN = 0x01,
	WIRE_TCP_SYN = 0x02,
	WIRE_TCP_RST = 0x04,
	WIRE_TCP_PSH = 0x08,
	WIRE_TCP_ACK = 0x10,
	WIRE_TCP_URG = 0x20,
	WIRE_TCP_ECE = 0x40,
	WIRE_TCP_CWR = 0x80
};

#define WIRE_TCP_MAX_SACK 4

/* The TCP options tunproxy understands (RFC 9293 3.2, RFC 7323, RFC 2018).
 * Unknown options are skipped; a lying length makes the segment invalid. */
struct wire_tcp_opts {
	uint16_t mss;	/* 0: option absent */
	uint8_t wscale; /* valid only if has_wscale; capped at 14 */
	bool has_wscale;
	bool sack_permitted;
	bool has_ts;
	uint32_t ts_val;
	uint32_t ts_ecr;
	uint8_t sack_count; /* number of valid blocks below */
	struct {
		uint32_t start, end;
	} sack[WIRE_TCP_MAX_SACK];
};

struct wire_tcp {
	uint32_t seq, ack;
	uint16_t window; /* unscaled, host order */
	uint8_t flags;
	uint8_t hdr_len; /* header length in bytes including options */
	struct wire_tcp_opts opts;
};

struct wire_icmp {
	uint8_t type, code;
	uint16_t id, seq; /* echo only, host order */
};

/* One checked packet. Ports are host order; addresses as in addr.h. */
struct wire_packet {
	const uint8_t *l3;   /* first byte of the IP header */
	uint16_t l3_len;     /* IP total length (trailing bytes ignored) */
	uint16_t l3_hdr_len; /* IP header incl. IPv6 extension headers */
	uint8_t family;	     /* 4 or 6 */
	uint8_t proto;	     /* transport protocol (after IPv6 ext hdrs) */
	uint8_t ttl;	     /* TTL or hop limit */
	uint8_t tos;	     /* IPv4 TOS / IPv6 traffic class */
	struct wire_addr src, dst;

	/* Fragments (either family). When is_fragment is set only the fields
	 * above, these, and l4/l4_len/payload/payload_len (all pointing at the
	 * fragment's data, after l3_hdr_len bytes of headers) are valid; proto
	 * is the Fragment header's Next Header for IPv6. frag_offset is in
	 * bytes. */
	bool l4_csum_ok; /* set by wire_packet_parse_csum_ok */
	bool is_fragment;
	bool more_fragments;
	bool dont_fragment; /* IPv4 DF bit */
	uint16_t frag_offset;
	uint32_t frag_id;
	uint16_t frag_hdr_off; /* IPv6: offset of the Fragment header */
	uint16_t frag_nh_off;  /* IPv6: offset of the Next Header byte that
				   names the Fragment header (6 if none
				   precedes it) */

	const uint8_t *l4;     /* first byte of the transport header */
	uint16_t l4_len;       /* transport header + payload */
	uint16_t sport, dport; /* UDP/TCP; for ICMP echo: id and 0 */
	const uint8_t *payload;
	uint16_t payload_len;
	union {
		struct wire_tcp tcp;
		struct wire_icmp icmp;
	} u;
};

/* Checks len bytes at buf and fills *pkt. Returns WIRE_OK or the reason the
 * packet must be dropped; never reads outside [buf, buf+len). */
enum wire_drop wire_packet_parse(const uint8_t *buf, size_t len,
				 struct wire_packet *pkt);

/* The same for a packet whose TCP/UDP checksum the OS has vouched for
 * (TUN checksum offload): that field is not checked, as it may hold only
 * the pseudo-header sum. Every length is checked as above; ICMP
 * checksums still are. */
enum wire_drop wire_packet_parse_csum_ok(const uint8_t *buf, size_t len,
					 struct wire_packet *pkt);

/* Parses TCP options from len bytes at opt into *out (zeroed first).
 * Returns false if an option's length is malformed. */
bool wire_tcp_parse_opts(const uint8_t *opt, size_t len,
			 struct wire_tcp_opts *out);

#endif
