/* SPDX-License-Identifier: MIT */
/* test_wire_parse.c - the packet checker (wire_packet_parse) and the TCP
 * option parser, with wire_addr_str and wire_drop_name.
 *
 * Packets are written byte by byte here, with checksums from a bytewise
 * reference sum, so the parser is checked against code that shares nothing
 * with the library's builders or checksum. Every length field is made to
 * lie, every prefix of every valid packet is offered (under ASan a read past
 * the end fails the run), and random mutations check the view's invariants.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire/addr.h"
#include "wire/packet.h"
#include "support/ref_csum.h"

static const uint8_t SRC4[4] = {10, 0, 0, 2};
static const uint8_t DST4[4] = {93, 184, 216, 34};
static const uint8_t SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
				 0,    0,    0,	   0,	 0, 0, 0, 1};
static const uint8_t DST6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0,
				 0,    0,    0,	   0,	 0, 0, 0, 0x53};

/* A Linux-like SYN's options: MSS 1460, SACK-permitted, timestamps,
 * NOP, window scale 7. */
static const uint8_t SYN_OPTS[20] = {2,	   4,	 0x05, 0xb4, 4, 2, 8, 10, 0, 0,
				     0x12, 0x34, 0,    0,    0, 0, 1, 3,  3, 7};

enum {
	PROTO_HOP = 0,
	PROTO_ROUTING = 43,
	PROTO_FRAG = 44,
	PROTO_AH = 51,
	PROTO_DST = 60
};

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* Recomputes the IPv4 header checksum of the header at b. */
static void fix_ip4(uint8_t *b)
{
	size_t ihl = (size_t)(b[0] & 0xf) * 4;
	put16(b + 10, 0);
	put16(b + 10, ~ref_sum(0, b, ihl) & 0xffff);
}

/* Recomputes the transport checksum of l4len bytes at pkt+l4off. */
static void fix_l4(uint8_t *pkt, int family, size_t l4off, size_t l4len,
		   uint8_t proto)
{
	uint8_t *l4 = pkt + l4off;
	size_t at = proto == 17 ? 6 : proto == 6 ? 16 : 2;
	uint32_t s = 0;
	uint8_t ph[40];

	put16(l4 + at, 0);
	if (family == 4 && proto != 1) {
		memcpy(ph, pkt + 12, 8);
		ph[8] = 0;
		ph[9] = proto;
		put16(ph + 10, (unsigned)l4len);
		s = ref_sum(0, ph, 12);
	} else if (family == 6) {
		memcpy(ph, pkt + 8, 32);
		put32(ph + 32, (uint32_t)l4len);
		ph[36] = ph[37] = ph[38] = 0;
		ph[39] = proto;
		s = ref_sum(0, ph, 40);
	}
	unsigned c = ~ref_sum(s, l4, l4len) & 0xffff;
	if (proto == 17 && c == 0)
		c = 0xffff;
	put16(l4 + at, c);
}

/* Writes an IPv4 header with opt_len bytes of NOP options (a multiple of
 * 4) in front of l4_len bytes; returns the header length. */
static size_t ip4(uint8_t *b, size_t opt_len, size_t l4_len, uint8_t proto,
		  unsigned frag)
{
	size_t ihl = 20 + opt_len;
	b[0] = (uint8_t)(0x40 | ihl / 4);
	b[1] = 0x10;
	put16(b + 2, (unsigned)(ihl + l4_len));
	put16(b + 4, 0xbeef);
	put16(b + 6, frag);
	b[8] = 63;
	b[9] = proto;
	memcpy(b + 12, SRC4, 4);
	memcpy(b + 16, DST4, 4);
	memset(b + 20, 1, opt_len);
	fix_ip4(b);
	return ihl;
}

/* Writes an IPv6 header for paylen bytes after it. */
static void ip6(uint8_t *b, size_t paylen, uint8_t nh)
{
	put32(b, 0x6b812345); /* traffic class 0xb8, flow label 12345 */
	put16(b + 4, (unsigned)paylen);
	b[6] = nh;
	b[7] = 61;
	memcpy(b + 8, SRC6, 16);
	memcpy(b + 24, DST6, 16);
}

/* Writes an options-type extension header (Hop-by-Hop, Destination,
 * or a Routing header) of (len8+1)*8 bytes; returns its length. */
static size_t ext(uint8_t *e, uint8_t type, uint8_t nh, uint8_t len8)
{
	size_t n = ((size_t)len8 + 1) * 8;
	memset(e, 0, n);
	e[0] = nh;
	e[1] = len8;
	if (type == PROTO_ROUTING) {
		e[2] = 4; /* segment routing; segments left 0 */
	} else {
		e[2] = 1; /* PadN */
		e[3] = (uint8_t)(n - 4);
	}
	return n;
}

/* Writes an AH header with a 12-byte ICV (24 bytes); returns 24. */
static size_t ah(uint8_t *e, uint8_t nh)
{
	memset(e, 0xa5, 24);
	e[0] = nh;
	e[1] = 24 / 4 - 2;
	e[2] = e[3] = 0;
	return 24;
}

/* Writes the transport header and a patterned payload; returns l4 len. */
static size_t l4(uint8_t *t, uint8_t proto, int family, size_t plen)
{
	size_t hl;

	if (proto == 17) {
		put16(t, 40000);
		put16(t + 2, 53);
		put16(t + 4, (unsigned)(8 + plen));
		put16(t + 6, 0);
		hl = 8;
	} else if (proto == 6) {
		hl = 20 + sizeof(SYN_OPTS);
		put16(t, 40001);
		put16(t + 2, 443);
		put32(t + 4, 0x01020304);
		put32(t + 8, 0xa0b0c0d0);
		t[12] = (uint8_t)(hl / 4 << 4);
		t[13] = 0x12;
		put16(t + 14, 29200);
		put32(t + 16, 0);
		memcpy(t + 20, SYN_OPTS, sizeof(SYN_OPTS));
	} else {
		t[0] = family == 4 ? 8 : 128;
		t[1] = 0;
		put16(t + 2, 0);
		put16(t + 4, 0x4242);
		put16(t + 6, 7);
		hl = 8;
	}
	for (size_t i = 0; i < plen; i++)
		t[hl + i] = (uint8_t)(i * 7 + 3);
	return hl + plen;
}

/* A whole IPv4 packet; returns its length. */
static size_t pkt4(uint8_t *b, uint8_t proto, size_t opt_len, size_t plen)
{
	size_t hl = 20 + opt_len;
	size_t n = l4(b + hl, proto, 4, plen);
	ip4(b, opt_len, n, proto, 0x4000);
	fix_l4(b, 4, hl, n, proto);
	return hl + n;
}

/* A whole IPv6 packet with ext_len bytes of extension headers (already
 * written at b+40 by the caller, the last naming proto) and first_nh in
 * the fixed header; returns its length. */
static size_t pkt6(uint8_t *b, uint8_t proto, size_t ext_len, uint8_t first_nh,
		   size_t plen)
{
	size_t hl = 40 + ext_len;
	size_t n = l4(b + hl, proto, 6, plen);
	ip6(b, ext_len + n, ext_len ? first_nh : proto);
	fix_l4(b, 6, hl, n, proto);
	return hl + n;
}

/* Checks the invariants every WIRE_OK view must hold. */
static void check_view(const uint8_t *buf, size_t len,
		       const struct wire_packet *p)
{
	assert_ptr_equal(p->l3, buf);
	assert_true(p->l3_len <= len);
	assert_true(p->l3_hdr_len <= p->l3_len);
	assert_true(p->family == 4 || p->family == 6);
	assert_ptr_equal(p->l4, buf + p->l3_hdr_len);
	assert_true(p->l4 + p->l4_len <= buf + p->l3_len);
	assert_true(p->payload >= p->l4);
	assert_true(p->payload + p->payload_len <= p->l4 + p->l4_len);
	if (p->is_fragment) {
		assert_true(p->payload_len > 0);
		return;
	}
	if (p->proto == 6) {
		assert_true(p->u.tcp.hdr_len >= 20);
		assert_ptr_equal(p->payload, p->l4 + p->u.tcp.hdr_len);
	}
}

static void test_ip4_udp(void **state)
{
	(void)state;
	uint8_t b[256];
	struct wire_packet p;
	size_t n = pkt4(b, 17, 0, 11);

	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_OK);
	check_view(b, n, &p);
	assert_int_equal(p.family, 4);
	assert_int_equal(p.proto, 17);
	assert_int_equal(p.ttl, 63);
	assert_int_equal(p.tos, 0x10);
	assert_int_equal(p.l3_len, n);
	assert_int_equal(p.l3_hdr_len, 20);
	assert_true(p.dont_fragment);
	assert_false(p.is_fragment);
	assert_memory_equal(wire_addr_v4(&p.src), SRC4, 4);
	assert_memory_equal(wire_addr_v4(&p.dst), DST4, 4);
	assert_true(wire_addr_is_v4mapped(&p.src));
	assert_int_equal(p.sport, 40000);
	assert_int_equal(p.dport, 53);
	assert_int_equal(p.l4_len, 19);
	assert_int_equal(p.payload_len, 11);
	assert_ptr_equal(p.payload, b + 28);

	/* Link padding after the total length is ignored. */
	memset(b + n, 0xee, 10);
	assert_int_equal(wire_packet_parse(b, n + 10, &p), WIRE_OK);
	assert_int_equal(p.l3_len, n);
	assert_int_equal(p.payload_len, 11);
}

static void test_ip4_udp_checksums(void **state)
{
	(void)state;
	uint8_t b[256];
	struct wire_packet p;
	size_t n = pkt4(b, 17, 0, 11);

	/* Zero means "no checksum" over IPv4 (RFC 768). */
	put16(b + 26, 0);
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_OK);
	n = pkt4(b, 17, 0, 11);
	b[n - 1] ^= 0x40;
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_UDP_CSUM);
	n = pkt4(b, 17, 0, 11);
	b[26] ^= 1;
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_UDP_CSUM);
	/* The pseudo-header is covered: a changed address breaks it. */
	n = pkt4(b, 17, 0, 11);
	b[15] ^= 1;
	fix_ip4(b);
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_UDP_CSUM);
}

static void test_ip4_header_checks(void **state)
{
	(void)state;
	uint8_t b[256];
	struct wire_packet p;
	size_t n = pkt4(b, 17, 0, 11);

	assert_int_equal(wire_packet_parse(b, 0, &p), WIRE_DROP_EMPTY);
	assert_int_equal(wire_packet_parse(b, 19, &p), WIRE_DROP_IP4_SHORT);

	b[0] = 0x55;
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_VERSION);
	b[0] = 0x05;
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_VERSION);

	/* IHL below 5, and IHL past the bytes received. */
	for (unsigned ihl = 0; ihl < 5; ihl++) {
		n = pkt4(b, 17, 0, 11);
		b[0] = (uint8_t)(0x40 | ihl);
		assert_int_equal(wire_packet_parse(b, n, &p),
				 WIRE_DROP_IP4_IHL);
	}
	n = pkt4(b, 17, 0, 50);
	b[0] = 0x4f;
	assert_int_equal(wire_packet_parse(b, 40, &p), WIRE_DROP_IP4_IHL);
	/* IHL 15 inside the bytes received but past the total length. */
	put16(b + 2, 40);
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_IP4_TOTLEN);

	/* Total length above the bytes received. */
	n = pkt4(b, 17, 0, 11);
	put16(b + 2, (unsigned)n + 1);
	fix_ip4(b);
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_IP4_TOTLEN);
	put16(b + 2, 0xffff);
	fix_ip4(b);
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_IP4_TOTLEN);

	/* Every total length shorter than the truth: refused somewhere. */
	for (unsigned tot = 0; tot < n; tot++) {
		n = pkt4(b, 17, 0, 11);
		put16(b + 2, tot);
		fix_ip4(b);
		enum wire_drop r = wire_packet_parse(b, n, &p);
		assert_int_not_equal(r, WIRE_OK);
		if (tot < 20)
			assert_int_equal(r, WIRE_DROP_IP4_TOTLEN);
		else if (tot < 28)
			assert_int_equal(r, WIRE_DROP_UDP_SHORT);
		else
			assert_int_equal(r, WIRE_DROP_UDP_LEN);
	}

	/* Header checksum. */
	n = pkt4(b, 17, 0, 11);
	b[8] = 1; /* TTL changed, checksum not */
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_IP4_CSUM);
}

static void test_ip4_options(void **state)
{
	(void)state;
	uint8_t b[256];
	struct wire_packet p;

	for (size_t opt = 4; opt <= 40; opt += 4) {
		size_t n = pkt4(b, 6, opt, 5);
		assert_int_equal(wire_packet_parse(b, n, &p), WIRE_OK);
		check_view(b, n, &p);
		assert_int_equal(p.l3_hdr_len, 20 + opt);
		assert_int_equal(p.proto, 6);
		assert_int_equal(p.payload_len, 5);
		assert_int_equal(p.u.tcp.opts.mss, 1460);
	}
}

static void test_ip4_tcp(void **state)
{
	(void)state;
	uint8_t b[256];
	struct wire_packet p;
	size_t n = pkt4(b, 6, 0, 3);

	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_OK);
	check_view(b, n, &p);
	const struct wire_tcp *t = &p.u.tcp;
	assert_int_equal(p.sport, 40001);
	assert_int_equal(p.dport, 443);
	assert_int_equal(t->seq, 0x01020304);
	assert_int_equal(t->ack, 0xa0b0c0d0);
	assert_int_equal(t->flags, WIRE_TCP_SYN | WIRE_TCP_ACK);
	assert_int_equal(t->window, 29200);
	assert_int_equal(t->hdr_len, 40);
	assert_int_equal(t->opts.mss, 1460);
	assert_true(t->opts.sack_permitted);
	assert_true(t->opts.has_ts);
	assert_int_equal(t->opts.ts_val, 0x1234);
	assert_int_equal(t->opts.ts_ecr, 0);
	assert_true(t->opts.has_wscale);
	assert_int_equal(t->opts.wscale, 7);
	assert_int_equal(t->opts.sack_count, 0);
	assert_int_equal(p.payload_len, 3);
	assert_int_equal(p.payload[0], 3);

	b[n - 1] ^= 0xff;
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_TCP_CSUM);
}

static void test_tcp_lies(void **state)
{
	(void)state;
	uint8_t b[256];
	struct wire_packet p;
	size_t n = pkt4(b, 6, 0, 3);
	size_t l4len = n - 20;

	/* Every data offset: below 5 or past the segment is refused; a
	 * smaller one cannot be told from the truth and parses. */
	for (unsigned doff = 0; doff < 16; doff++) {
		n = pkt4(b, 6, 0, 3);
		b[32] = (uint8_t)(doff << 4);
		fix_l4(b, 4, 20, l4len, 6);
		enum wire_drop r = wire_packet_parse(b, n, &p);
		if (doff < 5 || doff * 4 > l4len) {
			assert_int_equal(r, WIRE_DROP_TCP_DOFF);
		} else if (r == WIRE_OK) {
			check_view(b, n, &p);
			assert_int_equal(p.u.tcp.hdr_len, doff * 4);
		} else {
			/* Cut through an option. */
			assert_int_equal(r, WIRE_DROP_TCP_OPT);
		}
	}

	/* A segment shorter than 20 bytes. */
	n = pkt4(b, 6, 0, 0);
	put16(b + 2, 20 + 19);
	fix_ip4(b);
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_TCP_SHORT);

	/* The MSS option claims 40 bytes. */
	n = pkt4(b, 6, 0, 3);
	b[41] = 40;
	fix_l4(b, 4, 20, l4len, 6);
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_TCP_OPT);
}

static void test_tcp_opts(void **state)
{
	(void)state;
	struct wire_tcp_opts o;

	assert_true(wire_tcp_parse_opts(NULL, 0, &o));
	assert_int_equal(o.mss, 0);
	assert_false(o.has_ts);

	/* EOL ends the list: what follows is not read as options. */
	const uint8_t eol[] = {1, 1, 0, 2, 99, 0, 0};
	assert_true(wire_tcp_parse_opts(eol, sizeof(eol), &o));
	assert_int_equal(o.mss, 0);

	/* Window scale above 14 is capped (RFC 7323 2.3). */
	const uint8_t ws[] = {1, 3, 3, 15};
	assert_true(wire_tcp_parse_opts(ws, sizeof(ws), &o));
	assert_true(o.has_wscale);
	assert_int_equal(o.wscale, 14);
	const uint8_t ws0[] = {3, 3, 0, 0};
	assert_true(wire_tcp_parse_opts(ws0, sizeof(ws0), &o));
	assert_true(o.has_wscale);
	assert_int_equal(o.wscale, 0);

	/* Timestamps and three SACK blocks: a full 40-byte option area. */
	const uint8_t ts_sack[40] = {
	    1, 1,  8,	 10, 0,	   0, 0,    1, 0,    0, 0,    2, 1,    1,
	    5, 26, 0,	 0,  0x10, 0, 0,    0, 0x20, 0, 0,    0, 0x30, 0,
	    0, 0,  0x40, 0,  0,	   0, 0x50, 0, 0,    0, 0x60, 0};
	assert_true(wire_tcp_parse_opts(ts_sack, sizeof(ts_sack), &o));
	assert_true(o.has_ts);
	assert_int_equal(o.ts_val, 1);
	assert_int_equal(o.ts_ecr, 2);
	assert_int_equal(o.sack_count, 3);
	assert_int_equal(o.sack[0].start, 0x1000);
	assert_int_equal(o.sack[0].end, 0x2000);
	assert_int_equal(o.sack[2].start, 0x5000);
	assert_int_equal(o.sack[2].end, 0x6000);

	/* Four SACK blocks, and an unknown option skipped by its length. */
	uint8_t four[40] = {30, 4, 0xff, 0xff, 5, 34};
	for (int k = 0; k < 8; k++)
		put32(four + 6 + 4 * k, (uint32_t)(k + 1) * 100);
	assert_true(wire_tcp_parse_opts(four, sizeof(four), &o));
	assert_int_equal(o.sack_count, 4);
	assert_int_equal(o.sack[3].start, 700);
	assert_int_equal(o.sack[3].end, 800);

	/* Lying lengths. */
	static const struct {
		uint8_t b[12];
		size_t len;
	} bad[] = {
	    {{2}, 1},			      /* kind without length */
	    {{1, 1, 2}, 3},		      /* same after NOPs */
	    {{30, 0}, 2},		      /* length 0 */
	    {{30, 1, 0}, 3},		      /* length 1 */
	    {{30, 5, 0, 0}, 4},		      /* past the end */
	    {{2, 3, 5}, 3},		      /* MSS length 3 */
	    {{2, 5, 5, 0xb4, 0}, 5},	      /* MSS length 5 */
	    {{3, 2}, 2},		      /* wscale length 2 */
	    {{4, 3, 0}, 3},		      /* SACK-permitted length 3 */
	    {{8, 9, 0, 0, 0, 0, 0, 0, 0}, 9}, /* timestamps length 9 */
	    {{5, 2}, 2},		      /* SACK without blocks */
	    {{5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 11}, /* SACK 2+9 */
	    {{2, 4, 5, 0xb4, 2, 4, 5}, 7},	      /* second MSS cut */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(wire_tcp_parse_opts(bad[i].b, bad[i].len, &o));

	/* Every prefix of valid options is either fine or refused, and a
	 * copy on the heap lets ASan catch a read past the end. */
	for (size_t len = 0; len <= sizeof(ts_sack); len++) {
		uint8_t *c = malloc(len ? len : 1);
		memcpy(c, ts_sack, len);
		(void)wire_tcp_parse_opts(c, len, &o);
		assert_true(o.sack_count <= WIRE_TCP_MAX_SACK);
		free(c);
	}
}

static void test_icmp(void **state)
{
	(void)state;
	uint8_t b[256];
	struct wire_packet p;

	size_t n = pkt4(b, 1, 0, 32);
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_OK);
	check_view(b, n, &p);
	assert_int_equal(p.u.icmp.type, 8);
	assert_int_equal(p.u.icmp.code, 0);
	assert_int_equal(p.u.icmp.id, 0x4242);
	assert_int_equal(p.u.icmp.seq, 7);
	assert_int_equal(p.sport, 0x4242);
	assert_int_equal(p.payload_len, 32);
	b[n - 1] ^= 1;
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_ICMP_CSUM);

	n = pkt4(b, 1, 0, 0);
	put16(b + 2, 27);
	fix_ip4(b);
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_ICMP_SHORT);

	/* ICMPv6 covers the pseudo-header: a checksum over the message alone
	 * is wrong. */
	n = pkt6(b, 58, 0, 0, 16);
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_OK);
	check_view(b, n, &p);
	assert_int_equal(p.u.icmp.type, 128);
	assert_int_equal(p.u.icmp.id, 0x4242);
	assert_int_equal(p.u.icmp.seq, 7);
	fix_l4(b, 4, 40, n - 40, 1); /* no pseudo-header */
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_ICMP_CSUM);

	/* A non-echo message: type and code only. */
	n = pkt6(b, 58, 0, 0, 16);
	b[40] = 1;
	b[41] = 4;
	fix_l4(b, 6, 40, n - 40, 58);
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_OK);
	assert_int_equal(p.u.icmp.type, 1);
	assert_int_equal(p.u.icmp.code, 4);
	assert_int_equal(p.u.icmp.id, 0);
}

static void test_protocols(void **state)
{
	(void)state;
	uint8_t b[256];
	struct wire_packet p;

	size_t n = pkt4(b, 17, 0, 8);
	b[9] = 47; /* GRE */
	fix_ip4(b);
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_PROTO);
	b[9] = 58; /* ICMPv6 over IPv4 */
	fix_ip4(b);
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_PROTO);

	n = pkt6(b, 17, 0, 0, 8);
	b[6] = 1; /* ICMPv4 over IPv6 */
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_PROTO);
	b[6] = 59; /* No Next Header */
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_PROTO);
	b[6] = 50; /* ESP */
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_PROTO);
}

static void test_ip6_udp_tcp(void **state)
{
	(void)state;
	uint8_t b[256];
	struct wire_packet p;

	size_t n = pkt6(b, 17, 0, 0, 9);
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_OK);
	check_view(b, n, &p);
	assert_int_equal(p.family, 6);
	assert_int_equal(p.tos, 0xb8);
	assert_int_equal(p.ttl, 61);
	assert_int_equal(p.l3_hdr_len, 40);
	assert_int_equal(p.l3_len, n);
	assert_memory_equal(p.src.b, SRC6, 16);
	assert_memory_equal(p.dst.b, DST6, 16);
	assert_int_equal(p.dport, 53);
	assert_int_equal(p.payload_len, 9);

	/* Zero UDP checksum is refused over IPv6 (RFC 8200 8.1). */
	put16(b + 46, 0);
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_UDP_CSUM);

	n = pkt6(b, 6, 0, 0, 100);
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_OK);
	check_view(b, n, &p);
	assert_int_equal(p.u.tcp.opts.wscale, 7);
	assert_int_equal(p.payload_len, 100);
	b[8] ^= 0x80; /* source address: pseudo-header */
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_TCP_CSUM);

	assert_int_equal(wire_packet_parse(b, 39, &p), WIRE_DROP_IP6_SHORT);
}

static void test_udp_lies(void **state)
{
	(void)state;
	uint8_t b[256];
	struct wire_packet p;
	size_t n;

	/* UDP length above the IP payload, below 8. */
	for (int fam = 4; fam <= 6; fam += 2) {
		size_t hl = fam == 4 ? 20 : 40;
		n = fam == 4 ? pkt4(b, 17, 0, 10) : pkt6(b, 17, 0, 0, 10);
		for (unsigned ulen = 0; ulen < 0x10000; ulen++) {
			put16(b + hl + 4, ulen);
			fix_l4(b, fam, hl, n - hl, 17);
			enum wire_drop r = wire_packet_parse(b, n, &p);
			if (ulen < 8 || ulen > n - hl) {
				assert_int_equal(r, WIRE_DROP_UDP_LEN);
				continue;
			}
			if (ulen == n - hl) {
				assert_int_equal(r, WIRE_OK);
				continue;
			}
			/* Shorter than the IP payload: the rest is not UDP
			 * and the checksum covers ulen bytes only. */
			assert_int_equal(r, WIRE_DROP_UDP_CSUM);
			fix_l4(b, fam, hl, ulen, 17);
			assert_int_equal(wire_packet_parse(b, n, &p), WIRE_OK);
			assert_int_equal(p.payload_len, ulen - 8);
			assert_int_equal(p.l4_len, ulen);
			check_view(b, n, &p);
		}
	}

	/* Shorter than a UDP header. */
	n = pkt4(b, 17, 0, 0);
	put16(b + 2, 27);
	fix_ip4(b);
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_UDP_SHORT);
}

static void test_ip6_payload_length_lies(void **state)
{
	(void)state;
	uint8_t b[256];
	struct wire_packet p;
	size_t n = pkt6(b, 17, 0, 0, 10);

	for (unsigned pl = 0; pl < 0x10000; pl++) {
		put16(b + 4, pl);
		enum wire_drop r = wire_packet_parse(b, n, &p);
		if (pl == n - 40)
			assert_int_equal(r, WIRE_OK);
		else if (pl > n - 40)
			assert_int_equal(r, WIRE_DROP_IP6_PAYLEN);
		else if (pl < 8)
			assert_int_equal(r, WIRE_DROP_UDP_SHORT);
		else
			assert_int_equal(r, WIRE_DROP_UDP_LEN);
	}
}

static void test_ip6_ext_chain(void **state)
{
	(void)state;
	uint8_t b[512];
	struct wire_packet p;

	/* Hop-by-Hop, Destination Options, Routing, AH, then UDP. */
	size_t e = 40;
	e += ext(b + e, PROTO_HOP, PROTO_DST, 1);
	e += ext(b + e, PROTO_DST, PROTO_ROUTING, 0);
	e += ext(b + e, PROTO_ROUTING, PROTO_AH, 2);
	e += ah(b + e, 17);
	size_t n = pkt6(b, 17, e - 40, PROTO_HOP, 5);
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_OK);
	check_view(b, n, &p);
	assert_int_equal(p.l3_hdr_len, 40 + 16 + 8 + 24 + 24);
	assert_int_equal(p.proto, 17);
	assert_int_equal(p.payload_len, 5);

	/* Every prefix is refused (the payload length then lies). */
	for (size_t len = 0; len < n; len++) {
		uint8_t *c = malloc(len ? len : 1);
		memcpy(c, b, len);
		assert_int_not_equal(wire_packet_parse(c, len, &p), WIRE_OK);
		free(c);
	}
	/* Every payload length short of the truth is refused. */
	for (unsigned pl = 0; pl < n - 40; pl++) {
		uint8_t *c = malloc(n);
		memcpy(c, b, n);
		put16(c + 4, pl);
		enum wire_drop r = wire_packet_parse(c, n, &p);
		assert_int_not_equal(r, WIRE_OK);
		if (pl < e - 40)
			assert_int_equal(r, WIRE_DROP_IP6_EXTHDR);
		free(c);
	}
	/* An extension header claiming more than is there. */
	for (unsigned len8 = 10; len8 < 256; len8++) {
		b[41] = (uint8_t)len8;
		assert_int_equal(wire_packet_parse(b, n, &p),
				 WIRE_DROP_IP6_EXTHDR);
	}
	b[41] = 1;
	b[e - 24 + 1] = 200; /* AH length */
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_IP6_EXTHDR);

	/* Hop-by-Hop after another header. */
	e = 40;
	e += ext(b + e, PROTO_DST, PROTO_HOP, 0);
	e += ext(b + e, PROTO_HOP, 17, 0);
	n = pkt6(b, 17, e - 40, PROTO_DST, 5);
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_DROP_IP6_EXTHDR);
}

static void test_ip6_ext_count(void **state)
{
	(void)state;
	uint8_t b[512];
	struct wire_packet p;

	for (int count = 1; count <= 12; count++) {
		size_t e = 40;
		for (int i = 0; i < count; i++)
			e += ext(b + e, PROTO_DST,
				 i + 1 < count ? PROTO_DST : 17, 0);
		size_t n = pkt6(b, 17, e - 40, PROTO_DST, 4);
		enum wire_drop r = wire_packet_parse(b, n, &p);
		if (count <= 8) {
			assert_int_equal(r, WIRE_OK);
			assert_int_equal(p.l3_hdr_len, 40 + 8 * count);
		} else {
			assert_int_equal(r, WIRE_DROP_IP6_EXTHDR);
		}
	}
}

static void test_ip4_fragments(void **state)
{
	(void)state;
	uint8_t b[256];
	struct wire_packet p;

	/* First fragment: MF, offset 0, 16 bytes (UDP header and more). */
	size_t hl = ip4(b, 0, 16, 17, 0x2000);
	memset(b + hl, 0x11, 16);
	assert_int_equal(wire_packet_parse(b, hl + 16, &p), WIRE_OK);
	check_view(b, hl + 16, &p);
	assert_true(p.is_fragment);
	assert_true(p.more_fragments);
	assert_false(p.dont_fragment);
	assert_int_equal(p.frag_offset, 0);
	assert_int_equal(p.frag_id, 0xbeef);
	assert_int_equal(p.proto, 17);
	assert_ptr_equal(p.payload, b + 20);
	assert_int_equal(p.payload_len, 16);
	/* Not transport-parsed: garbage there is fine. */
	assert_int_equal(p.sport, 0);

	/* Last fragment at offset 24 (3 units), odd length. */
	hl = ip4(b, 4, 5, 17, 3);
	assert_int_equal(wire_packet_parse(b, hl + 5, &p), WIRE_OK);
	assert_true(p.is_fragment);
	assert_false(p.more_fragments);
	assert_int_equal(p.frag_offset, 24);
	assert_int_equal(p.l3_hdr_len, 24);
	assert_int_equal(p.payload_len, 5);

	/* More fragments follow but the length is not a multiple of 8. */
	hl = ip4(b, 0, 12, 17, 0x2000 | 1);
	assert_int_equal(wire_packet_parse(b, hl + 12, &p), WIRE_DROP_FRAG_BAD);
	/* Empty fragment. */
	hl = ip4(b, 0, 0, 17, 0x2000 | 1);
	assert_int_equal(wire_packet_parse(b, hl, &p), WIRE_DROP_FRAG_BAD);
	/* Would reassemble past 65535 bytes: 20 + 65512 + 8 = 65540. */
	hl = ip4(b, 0, 8, 17, 8189);
	assert_int_equal(wire_packet_parse(b, hl + 8, &p), WIRE_DROP_FRAG_BAD);
	/* Exactly at the limit: 20 + 65512 + 3 = 65535. */
	hl = ip4(b, 0, 3, 17, 8189);
	assert_int_equal(wire_packet_parse(b, hl + 3, &p), WIRE_OK);
	assert_int_equal(p.frag_offset, 65512);
}

/* Writes an IPv6 Fragment header. */
static size_t frag6(uint8_t *f, uint8_t nh, unsigned off, bool more,
		    uint32_t id)
{
	f[0] = nh;
	f[1] = 0;
	put16(f + 2, off | (more ? 1 : 0));
	put32(f + 4, id);
	return 8;
}

static void test_ip6_fragments(void **state)
{
	(void)state;
	uint8_t b[256];
	struct wire_packet p;

	/* Hop-by-Hop, then the Fragment header of a first fragment. */
	size_t e = 40;
	e += ext(b + e, PROTO_HOP, PROTO_FRAG, 0);
	e += frag6(b + e, 17, 0, true, 0xdeadbeef);
	memset(b + e, 0x22, 16);
	ip6(b, e - 40 + 16, PROTO_HOP);
	size_t n = e + 16;
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_OK);
	check_view(b, n, &p);
	assert_true(p.is_fragment);
	assert_true(p.more_fragments);
	assert_int_equal(p.frag_offset, 0);
	assert_int_equal(p.frag_id, 0xdeadbeef);
	assert_int_equal(p.frag_hdr_off, 48);
	assert_int_equal(p.frag_nh_off, 40);
	assert_int_equal(p.l3_hdr_len, 56);
	assert_int_equal(p.proto, 17);
	assert_ptr_equal(p.payload, b + 56);
	assert_int_equal(p.payload_len, 16);
	for (size_t len = 0; len < n; len++)
		assert_int_not_equal(wire_packet_parse(b, len, &p), WIRE_OK);

	/* A later fragment straight after the fixed header. */
	e = 40 + frag6(b + 40, 17, 1448, false, 7);
	ip6(b, 8 + 3, PROTO_FRAG);
	assert_int_equal(wire_packet_parse(b, e + 3, &p), WIRE_OK);
	assert_int_equal(p.frag_offset, 1448);
	assert_false(p.more_fragments);
	assert_int_equal(p.frag_nh_off, 6);
	assert_int_equal(p.frag_hdr_off, 40);
	assert_int_equal(p.payload_len, 3);

	/* Truncated Fragment header. */
	ip6(b, 7, PROTO_FRAG);
	assert_int_equal(wire_packet_parse(b, 47, &p), WIRE_DROP_IP6_EXTHDR);

	/* M set, length not a multiple of 8; empty; too long. */
	frag6(b + 40, 17, 8, true, 7);
	ip6(b, 8 + 12, PROTO_FRAG);
	assert_int_equal(wire_packet_parse(b, 60, &p), WIRE_DROP_FRAG_BAD);
	ip6(b, 8, PROTO_FRAG);
	assert_int_equal(wire_packet_parse(b, 48, &p), WIRE_DROP_FRAG_BAD);
	frag6(b + 40, 17, 65488, false, 7);
	ip6(b, 8 + 8, PROTO_FRAG);
	assert_int_equal(wire_packet_parse(b, 56, &p), WIRE_DROP_FRAG_BAD);
	ip6(b, 8 + 7, PROTO_FRAG); /* 40 + 65488 + 7 = 65535 */
	assert_int_equal(wire_packet_parse(b, 55, &p), WIRE_OK);

	/* An atomic fragment (offset 0, M clear) is a whole packet. */
	e = 40 + frag6(b + 40, 17, 0, false, 9);
	size_t l = l4(b + e, 17, 6, 6);
	ip6(b, 8 + l, PROTO_FRAG);
	fix_l4(b, 6, e, l, 17);
	assert_int_equal(wire_packet_parse(b, e + l, &p), WIRE_OK);
	assert_false(p.is_fragment);
	assert_int_equal(p.proto, 17);
	assert_int_equal(p.l3_hdr_len, 48);
	assert_int_equal(p.payload_len, 6);
}

/* Offers every prefix of b (copied to the heap so ASan sees the end). */
static void all_prefixes(const uint8_t *b, size_t n)
{
	struct wire_packet p;

	for (size_t len = 0; len <= n + 4; len++) {
		uint8_t *c = malloc(len ? len : 1);
		memcpy(c, b, len < n ? len : n);
		if (len > n)
			memset(c + n, 0, len - n);
		enum wire_drop r = wire_packet_parse(c, len, &p);
		if (len < n) {
			assert_int_not_equal(r, WIRE_OK);
		} else {
			assert_int_equal(r, WIRE_OK);
			assert_int_equal(p.l3_len, n);
			check_view(c, len, &p);
		}
		free(c);
	}
}

static void test_every_prefix(void **state)
{
	(void)state;
	uint8_t b[512];
	static const uint8_t protos4[] = {17, 6, 1};
	static const uint8_t protos6[] = {17, 6, 58};

	for (int i = 0; i < 3; i++) {
		all_prefixes(b, pkt4(b, protos4[i], 0, 13));
		all_prefixes(b, pkt4(b, protos4[i], 8, 0));
		all_prefixes(b, pkt6(b, protos6[i], 0, 0, 13));
		size_t e = 40 + ext(b + 40, PROTO_HOP, protos6[i], 1);
		all_prefixes(b, pkt6(b, protos6[i], e - 40, PROTO_HOP, 3));
	}
}

static uint32_t rng = 99;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void test_random_mutations(void **state)
{
	(void)state;
	uint8_t b[512];
	struct wire_packet p;
	unsigned ok = 0;

	for (int iter = 0; iter < 200000; iter++) {
		size_t n;
		int kind = (int)(rnd() % 7);
		static const uint8_t protos[] = {17, 6, 1};
		uint8_t proto = protos[rnd() % 3];
		int fam = kind < 3 ? 4 : 6;
		if (kind < 3) {
			n = pkt4(b, proto, 4 * (rnd() % 3), rnd() % 40);
		} else {
			if (proto == 1)
				proto = 58;
			size_t e = 40;
			if (kind == 5)
				e += ext(b + e, PROTO_HOP, proto,
					 (uint8_t)(rnd() % 3));
			n = pkt6(b, proto, e - 40, PROTO_HOP, rnd() % 40);
			if (kind == 6) {
				size_t d = 8 * (1 + rnd() % 5);
				frag6(b + 40, proto, 8 * (rnd() % 10),
				      rnd() % 2, rnd());
				ip6(b, 8 + d, PROTO_FRAG);
				n = 48 + d;
			}
		}
		/* Flip a few bytes, mostly in the headers. */
		int flips = 1 + (int)(rnd() % 3);
		for (int f = 0; f < flips; f++) {
			size_t at = rnd() % (rnd() % 2 ? 60 : n);
			if (at < n)
				b[at] = (uint8_t)rnd();
		}
		/* Often repair checksums so the deeper checks run. */
		if (rnd() % 2 && fam == 4 && (b[0] >> 4) == 4 &&
		    (size_t)(b[0] & 0xf) * 4 <= n && (b[0] & 0xf) >= 5)
			fix_ip4(b);
		size_t len = rnd() % 4 ? n : rnd() % (n + 1);
		uint8_t *c = malloc(len ? len : 1);
		memcpy(c, b, len);
		enum wire_drop r = wire_packet_parse(c, len, &p);
		assert_true(r < WIRE_DROP__COUNT);
		if (r == WIRE_OK) {
			check_view(c, len, &p);
			ok++;
		}
		free(c);
	}
	assert_true(ok > 1000);
}

static void test_drop_names(void **state)
{
	(void)state;
	for (int i = 0; i < WIRE_DROP__COUNT; i++) {
		const char *n = wire_drop_name((enum wire_drop)i);
		assert_non_null(n);
		assert_string_not_equal(n, "unknown");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(
			    n, wire_drop_name((enum wire_drop)j));
	}
	assert_string_equal(wire_drop_name(WIRE_DROP__COUNT), "unknown");
	assert_string_equal(wire_drop_name((enum wire_drop) - 1), "unknown");
}

/* Formats the 16 bytes given as 8 groups. */
static const char *str6(char *out, unsigned g0, unsigned g1, unsigned g2,
			unsigned g3, unsigned g4, unsigned g5, unsigned g6,
			unsigned g7)
{
	struct wire_addr a;
	unsigned g[8] = {g0, g1, g2, g3, g4, g5, g6, g7};
	for (int i = 0; i < 8; i++)
		put16(a.b + 2 * i, g[i]);
	return wire_addr_str(6, &a, out);
}

static void test_addr_str(void **state)
{
	(void)state;
	char s[WIRE_ADDR_STRLEN];
	struct wire_addr a;

	wire_addr_from4(&a, SRC4);
	assert_string_equal(wire_addr_str(4, &a, s), "10.0.0.2");
	const uint8_t v4[4] = {255, 0, 100, 9};
	wire_addr_from4(&a, v4);
	assert_string_equal(wire_addr_str(4, &a, s), "255.0.100.9");
	/* RFC 5952 5: v4-mapped in mixed notation. */
	assert_string_equal(wire_addr_str(6, &a, s), "::ffff:255.0.100.9");

	assert_string_equal(str6(s, 0, 0, 0, 0, 0, 0, 0, 0), "::");
	assert_string_equal(str6(s, 0, 0, 0, 0, 0, 0, 0, 1), "::1");
	assert_string_equal(str6(s, 0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
			    "2001:db8::1");
	assert_string_equal(str6(s, 0xfe80, 0, 0, 0, 0, 0, 0, 0), "fe80::");
	/* 4.2.2: a single zero group is not shortened. */
	assert_string_equal(str6(s, 0x2001, 0xdb8, 0, 1, 1, 1, 1, 1),
			    "2001:db8:0:1:1:1:1:1");
	/* 4.2.3: the longest run, the first on a tie. */
	assert_string_equal(str6(s, 0x2001, 0, 0, 1, 0, 0, 0, 1),
			    "2001:0:0:1::1");
	assert_string_equal(str6(s, 0x2001, 0xdb8, 0, 0, 1, 0, 0, 1),
			    "2001:db8::1:0:0:1");
	/* 4.3: lower case, no leading zeros. */
	assert_string_equal(
	    str6(s, 0xABCD, 0x00EF, 1, 0x10, 0x100, 0x1000, 0xffff, 0),
	    "abcd:ef:1:10:100:1000:ffff:0");
	assert_string_equal(str6(s, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
				 0xffff, 0xffff, 0xffff),
			    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_true(strlen(s) < WIRE_ADDR_STRLEN);
	wire_addr_from6(&a, DST6);
	assert_string_equal(wire_addr_str(6, &a, s), "2001:db8:1::53");
	/* The longest possible mixed form fits. */
	memset(a.b, 0, 16);
	a.b[10] = a.b[11] = 0xff;
	memset(a.b + 12, 255, 4);
	assert_string_equal(wire_addr_str(6, &a, s), "::ffff:255.255.255.255");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ip4_udp),
	    cmocka_unit_test(test_ip4_udp_checksums),
	    cmocka_unit_test(test_ip4_header_checks),
	    cmocka_unit_test(test_ip4_options),
	    cmocka_unit_test(test_ip4_tcp),
	    cmocka_unit_test(test_tcp_lies),
	    cmocka_unit_test(test_tcp_opts),
	    cmocka_unit_test(test_icmp),
	    cmocka_unit_test(test_protocols),
	    cmocka_unit_test(test_ip6_udp_tcp),
	    cmocka_unit_test(test_udp_lies),
	    cmocka_unit_test(test_ip6_payload_length_lies),
	    cmocka_unit_test(test_ip6_ext_chain),
	    cmocka_unit_test(test_ip6_ext_count),
	    cmocka_unit_test(test_ip4_fragments),
	    cmocka_unit_test(test_ip6_fragments),
	    cmocka_unit_test(test_every_prefix),
	    cmocka_unit_test(test_random_mutations),
	    cmocka_unit_test(test_drop_names),
	    cmocka_unit_test(test_addr_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
