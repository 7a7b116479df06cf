/* SPDX-License-Identifier: MIT */
/* test_wire_hdr.c - the named header fields (wire/hdr.h), the IPv6
 * extension walk (wire/ip6ext.h) and the capture's view (wire/peek.h).
 *
 * Every field is read from a header whose bytes all differ, so an accessor
 * at a wrong offset or with a wrong mask reads another value; every setter
 * is checked to change its own bytes and no other. Checksums are checked
 * against a bytewise reference sum that shares no code with the library.
 * wire_packet_peek() must agree with wire_packet_parse() on packets the
 * builders make, whole and fragmented.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire/build.h"
#include "wire/csum.h"
#include "wire/hdr.h"
#include "wire/ip6ext.h"
#include "wire/packet.h"
#include "wire/peek.h"
#include "support/ref_csum.h"

/* A buffer whose byte i is i * 7 + 1 (no two of the first 36 alike). */
static void ramp(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + 1);
}

/* Checks that a and b differ exactly in bytes [from, to). */
static void only_changed(const uint8_t *a, const uint8_t *b, size_t n,
			 size_t from, size_t to)
{
	for (size_t i = 0; i < n; i++) {
		if (i >= from && i < to)
			continue;
		if (a[i] != b[i])
			fail_msg("byte %zu changed", i);
	}
}

static void test_ip_fields(void **state)
{
	(void)state;
	uint8_t h[64], c[64];

	ramp(h, sizeof(h));
	h[0] = 0x46; /* IPv4, IHL 6 */
	assert_int_equal(wire_ip_version(h), 4);
	assert_int_equal(wire_ip4_hdr_len(h), 24);
	assert_int_equal(wire_ip4_total_len(h), 15 << 8 | 22);
	assert_int_equal(wire_ip4_id(h), 29 << 8 | 36);
	h[6] = 0xb4; /* DF clear, MF set, offset 0x14 << 8 | byte 7 */
	assert_int_equal(wire_ip4_frag_field(h), 0xb4 << 8 | 50);
	assert_int_equal(wire_ip4_frag_offset(h), (0x14 << 8 | 50) * 8);
	assert_true(wire_ip4_is_fragment(h));
	assert_int_equal(wire_ip4_ttl(h), 57);
	assert_int_equal(wire_ip4_proto(h), 64);
	assert_ptr_equal(wire_ip4_src(h), h + 12);
	assert_ptr_equal(wire_ip4_dst(h), h + 16);

	/* Fragment or not: MF alone, an offset alone (its high bits are in
	 * the flags byte), neither with DF set. */
	h[6] = 0x20, h[7] = 0;
	assert_true(wire_ip4_is_fragment(h));
	assert_int_equal(wire_ip4_frag_offset(h), 0);
	h[6] = 0x01;
	assert_true(wire_ip4_is_fragment(h));
	assert_int_equal(wire_ip4_frag_offset(h), 256 * 8);
	h[6] = 0x00, h[7] = 1;
	assert_true(wire_ip4_is_fragment(h));
	h[6] = 0x40, h[7] = 0;
	assert_false(wire_ip4_is_fragment(h));
	h[6] = 0xc0; /* the reserved bit is no fragment either */
	assert_false(wire_ip4_is_fragment(h));

	memcpy(c, h, sizeof(h));
	wire_ip4_total_len_set(c, 0x1234);
	assert_int_equal(wire_ip4_total_len(c), 0x1234);
	only_changed(h, c, sizeof(h), 2, 4);
	memcpy(c, h, sizeof(h));
	wire_ip4_id_set(c, 0xabcd);
	assert_int_equal(wire_ip4_id(c), 0xabcd);
	only_changed(h, c, sizeof(h), 4, 6);
	memcpy(c, h, sizeof(h));
	wire_ip4_frag_field_set(c, WIRE_IP4_MF | 3);
	assert_int_equal(wire_ip4_frag_offset(c), 24);
	only_changed(h, c, sizeof(h), 6, 8);

	ramp(h, sizeof(h));
	h[0] = 0x6a;
	assert_int_equal(wire_ip_version(h), 6);
	assert_int_equal(wire_ip6_payload_len(h), 29 << 8 | 36);
	assert_int_equal(wire_ip6_next_header(h), 43);
	assert_int_equal(wire_ip6_hop_limit(h), 50);
	assert_ptr_equal(wire_ip6_src(h), h + 8);
	assert_ptr_equal(wire_ip6_dst(h), h + 24);
	memcpy(c, h, sizeof(h));
	wire_ip6_payload_len_set(c, 0x0102);
	assert_int_equal(wire_ip6_payload_len(c), 0x0102);
	only_changed(h, c, sizeof(h), 4, 6);
	memcpy(c, h, sizeof(h));
	wire_ip6_next_header_set(c, 44);
	assert_int_equal(wire_ip6_next_header(c), 44);
	only_changed(h, c, sizeof(h), 6, 7);

	/* The Fragment header: offset in its top 13 bits, M the lowest. */
	uint8_t fh[8] = {17, 0, 0x12, 0x39, 0xde, 0xad, 0xbe, 0xef};
	assert_int_equal(wire_ip6_frag_next_header(fh), 17);
	assert_int_equal(wire_ip6_frag_offset(fh), 0x1238);
	assert_true(wire_ip6_frag_more(fh));
	fh[3] = 0x38;
	assert_false(wire_ip6_frag_more(fh));
	fh[3] = 0x06; /* reserved bits: neither offset nor M */
	assert_int_equal(wire_ip6_frag_offset(fh), 0x1200);
	assert_false(wire_ip6_frag_more(fh));
	assert_int_equal(wire_ip6_frag_id(fh), 0xdeadbeef);
}

static void test_l4_fields(void **state)
{
	(void)state;
	uint8_t t[24], c[24];

	ramp(t, sizeof(t));
	assert_int_equal(wire_l4_sport(t), 1 << 8 | 8);
	assert_int_equal(wire_l4_dport(t), 15 << 8 | 22);
	assert_int_equal(wire_tcp_seq(t), 0x1d242b32u);
	t[12] = 0x60;
	assert_int_equal(wire_tcp_data_off(t), 24);
	assert_int_equal(wire_tcp_flags(t), 92);
	assert_int_equal(wire_udp_len(t), 29 << 8 | 36);
	assert_int_equal(wire_icmp_type(t), 1);
	assert_int_equal(wire_icmp_echo_id(t), 29 << 8 | 36);
	assert_int_equal(wire_icmp_echo_seq(t), 43 << 8 | 50);

	memcpy(c, t, sizeof(t));
	wire_l4_sport_set(c, 80);
	wire_l4_dport_set(c, 443);
	assert_int_equal(wire_l4_sport(c), 80);
	assert_int_equal(wire_l4_dport(c), 443);
	only_changed(t, c, sizeof(t), 0, 4);
	memcpy(c, t, sizeof(t));
	wire_tcp_flags_set(c, WIRE_TCP_FIN | WIRE_TCP_ACK);
	assert_int_equal(wire_tcp_flags(c), 0x11);
	only_changed(t, c, sizeof(t), 13, 14);
	memcpy(c, t, sizeof(t));
	wire_udp_len_set(c, 9);
	assert_int_equal(wire_udp_len(c), 9);
	only_changed(t, c, sizeof(t), 4, 6);
	memcpy(c, t, sizeof(t));
	wire_icmp_type_set(c, 8);
	wire_icmp_echo_id_set(c, 0x4242);
	assert_int_equal(wire_icmp_type(c), 8);
	assert_int_equal(wire_icmp_echo_id(c), 0x4242);
	assert_int_equal(wire_icmp_echo_seq(c), 43 << 8 | 50);
	only_changed(t, c, sizeof(t), 0, 6);
	assert_int_equal(c[1], t[1]);
	memcpy(c, t, sizeof(t));
	wire_set_csum(c, WIRE_TCP_CSUM_OFF, 0x3412);
	assert_int_equal(memcmp(c + 16, &(uint16_t){0x3412}, 2), 0);
	only_changed(t, c, sizeof(t), 16, 18);

	/* The checksum offsets are those of the RFCs. */
	assert_int_equal(WIRE_IP4_CSUM_OFF, 10);
	assert_int_equal(WIRE_TCP_CSUM_OFF, 16);
	assert_int_equal(WIRE_UDP_CSUM_OFF, 6);
	assert_int_equal(WIRE_ICMP_CSUM_OFF, 2);
}

static void test_fill_csum(void **state)
{
	(void)state;
	uint8_t h[64], c[64];

	/* IPv4 with options: the checksum covers all IHL * 4 bytes. */
	ramp(h, sizeof(h));
	h[0] = 0x47;
	memcpy(c, h, sizeof(h));
	wire_ip4_fill_csum(c);
	assert_int_equal(ref_sum(0, c, 28), 0xffff);
	only_changed(h, c, sizeof(h), 10, 12);
	c[27] ^= 1; /* a byte inside IHL counts */
	assert_int_not_equal(ref_sum(0, c, 28), 0xffff);
	memcpy(c, h, sizeof(h));
	c[0] = 0x45;
	wire_ip4_fill_csum(c);
	assert_int_equal(ref_sum(0, c, 20), 0xffff);
	c[27] ^= 1; /* one past IHL does not */
	assert_int_equal(ref_sum(0, c, 20), 0xffff);

	/* ICMPv4 over an odd length, whatever the field held before. */
	ramp(h, sizeof(h));
	memcpy(c, h, sizeof(h));
	wire_icmp4_fill_csum(c, 13);
	assert_int_equal(ref_sum(0, c, 13), 0xffff);
	only_changed(h, c, sizeof(h), 2, 4);
}

static void test_pseudo(void **state)
{
	(void)state;
	uint8_t h[64];

	/* IPv4: addresses at 12 and 16, zero, protocol, length. */
	ramp(h, sizeof(h));
	h[0] = 0x45;
	uint8_t ph4[12];
	memcpy(ph4, h + 12, 8);
	ph4[8] = 0, ph4[9] = 6, ph4[10] = 0x05, ph4[11] = 0xdc;
	uint16_t want = (uint16_t)~ref_sum(0, ph4, 12);
	uint16_t got = wire_csum_fold(wire_ip_pseudo_sum(h, 6, 1500));
	/* wire_csum_fold returns network order: compare byte by byte. */
	uint8_t gb[2];
	memcpy(gb, &got, 2);
	assert_int_equal(gb[0] << 8 | gb[1], want);

	/* IPv6: addresses at 8 and 24, 32-bit length, zeros, next header. */
	ramp(h, sizeof(h));
	h[0] = 0x60;
	uint8_t ph6[40] = {0};
	memcpy(ph6, h + 8, 32);
	ph6[34] = 0x01, ph6[35] = 0x02, ph6[39] = 17;
	got = wire_csum_fold(wire_ip_pseudo_sum(h, 17, 0x0102));
	want = (uint16_t)~ref_sum(0, ph6, 40);
	memcpy(gb, &got, 2);
	assert_int_equal(gb[0] << 8 | gb[1], want);
}

static void test_alike(void **state)
{
	(void)state;
	uint8_t a[64], b[64];

	/* IPv4: only total length, id and checksum may differ. */
	ramp(a, sizeof(a));
	a[0] = 0x45;
	for (size_t i = 0; i < 20; i++) {
		memcpy(b, a, sizeof(a));
		b[i] ^= 0x80;
		bool may = (i >= 2 && i < 6) || i == 10 || i == 11;
		if (wire_ip_hdr_alike(a, b) != may)
			fail_msg("IPv4 byte %zu: alike %d", i, !may);
	}
	/* IPv6: only the payload length. */
	a[0] = 0x60;
	for (size_t i = 1; i < 40; i++) {
		memcpy(b, a, sizeof(a));
		b[i] ^= 0x80;
		bool may = i == 4 || i == 5;
		if (wire_ip_hdr_alike(a, b) != may)
			fail_msg("IPv6 byte %zu: alike %d", i, !may);
	}
	/* TCP with 8 option bytes: sequence number, flags, checksum. */
	ramp(a, sizeof(a));
	for (size_t i = 0; i < 28; i++) {
		memcpy(b, a, sizeof(a));
		b[i] ^= 0x80;
		bool may = (i >= 4 && i < 8) || i == 13 || i == 16 || i == 17;
		if (wire_tcp_hdr_alike(a, b, 28) != may)
			fail_msg("TCP byte %zu: alike %d", i, !may);
	}
	memcpy(b, a, sizeof(a));
	b[28] ^= 0x80; /* past hl: not compared */
	assert_true(wire_tcp_hdr_alike(a, b, 28));
	assert_false(wire_tcp_hdr_alike(a, a, 19));
}

/* IPv6 header + chain at p: nh values, each header 8 bytes (AH: 12),
 * ending in last. Returns the offset of the header after the chain. */
static size_t chain6(uint8_t *p, const uint8_t *nh, size_t n, uint8_t last)
{
	memset(p, 0, 200);
	p[0] = 0x60;
	p[6] = n ? nh[0] : last;
	size_t off = 40;
	for (size_t i = 0; i < n; i++) {
		p[off] = i + 1 < n ? nh[i + 1] : last;
		p[off + 1] = nh[i] == WIRE_IP6_NH_AH ? 1 : 0;
		off += nh[i] == WIRE_IP6_NH_AH ? 12 : 8;
	}
	return off;
}

static void test_ip6_walk(void **state)
{
	(void)state;
	uint8_t p[200];
	struct wire_ip6_walk w;
	size_t end;

	end = chain6(p, (const uint8_t[]){0, 43, 51, 60}, 4, 6);
	wire_ip6_walk_start(&w, p);
	assert_int_equal(wire_ip6_walk(p, end, &w), WIRE_OK);
	assert_int_equal(w.nh, 6);
	assert_int_equal(w.off, 40 + 8 + 8 + 12 + 8);
	assert_int_equal(w.nh_off, 40 + 8 + 8 + 12);
	assert_int_equal(w.count, 4);
	/* Each header must be there in full: one byte less fails. */
	wire_ip6_walk_start(&w, p);
	assert_int_equal(wire_ip6_walk(p, end - 1, &w), WIRE_DROP_IP6_EXTHDR);

	/* Nothing to walk: the fixed header names the transport. */
	end = chain6(p, NULL, 0, 17);
	wire_ip6_walk_start(&w, p);
	assert_int_equal(wire_ip6_walk(p, end, &w), WIRE_OK);
	assert_int_equal(w.nh, 17);
	assert_int_equal(w.off, 40);
	assert_int_equal(w.nh_off, 6);

	/* A real Fragment header stops the walk; skipping it goes on. */
	end = chain6(p, (const uint8_t[]){44, 60}, 2, 17);
	p[40 + 3] = 1; /* M */
	wire_ip6_walk_start(&w, p);
	assert_int_equal(wire_ip6_walk(p, end, &w), WIRE_OK);
	assert_int_equal(w.nh, WIRE_IP6_NH_FRAGMENT);
	assert_int_equal(w.off, 40);
	wire_ip6_walk_skip_frag(p, &w);
	assert_int_equal(wire_ip6_walk(p, end, &w), WIRE_OK);
	assert_int_equal(w.nh, 17);
	assert_int_equal(w.off, 56);
	/* An atomic one (RFC 6946) is walked over. */
	p[40 + 3] = 0;
	wire_ip6_walk_start(&w, p);
	assert_int_equal(wire_ip6_walk(p, end, &w), WIRE_OK);
	assert_int_equal(w.nh, 17);

	/* Hop-by-Hop only first; at most WIRE_IP6_MAX_EXT headers. */
	end = chain6(p, (const uint8_t[]){60, 0}, 2, 6);
	wire_ip6_walk_start(&w, p);
	assert_int_equal(wire_ip6_walk(p, end, &w), WIRE_DROP_IP6_EXTHDR);
	uint8_t many[WIRE_IP6_MAX_EXT + 1];
	memset(many, 60, sizeof(many));
	end = chain6(p, many, WIRE_IP6_MAX_EXT, 6);
	wire_ip6_walk_start(&w, p);
	assert_int_equal(wire_ip6_walk(p, end, &w), WIRE_OK);
	end = chain6(p, many, WIRE_IP6_MAX_EXT + 1, 6);
	wire_ip6_walk_start(&w, p);
	assert_int_equal(wire_ip6_walk(p, end, &w), WIRE_DROP_IP6_EXTHDR);

	/* A header's length byte must be there before it is read. */
	chain6(p, (const uint8_t[]){60}, 1, 6);
	wire_ip6_walk_start(&w, p);
	assert_int_equal(wire_ip6_walk(p, 41, &w), WIRE_DROP_IP6_EXTHDR);
}

/* Peeks at an exact-size copy (ASan sees any read past it). */
static enum wire_drop peek(const uint8_t *p, size_t len, struct wire_peek *pk)
{
	uint8_t *c = malloc(len ? len : 1);
	assert_non_null(c);
	memcpy(c, p, len);
	enum wire_drop r = wire_packet_peek(c, len, pk);
	free(c);
	return r;
}

/* Peek and parse agree on a packet the parser accepts. A later fragment
 * has no ports; a first one has (its transport header is there), but the
 * parse does not read them, so they are not compared here. */
static void agree(const uint8_t *p, size_t len)
{
	struct wire_packet w;
	struct wire_peek pk;
	assert_int_equal(wire_packet_parse(p, len, &w), WIRE_OK);
	assert_int_equal(peek(p, len, &pk), WIRE_OK);
	assert_int_equal(pk.family, w.family);
	assert_int_equal(pk.proto, w.proto);
	assert_true(wire_addr_eq(&pk.src, &w.src));
	assert_true(wire_addr_eq(&pk.dst, &w.dst));
	assert_int_equal(pk.is_fragment, w.is_fragment);
	bool ports = (w.proto == WIRE_PROTO_TCP || w.proto == WIRE_PROTO_UDP) &&
		     !(w.is_fragment && w.frag_offset);
	assert_int_equal(pk.has_ports, ports);
	if (ports && !w.is_fragment) {
		assert_int_equal(pk.sport, w.sport);
		assert_int_equal(pk.dport, w.dport);
	}
}

struct frags {
	uint8_t buf[8][1600];
	size_t len[8];
	int n;
};

static int collect(void *ctx, const uint8_t *frag, size_t len)
{
	struct frags *f = ctx;
	if (f->n >= 8 || len > sizeof(f->buf[0]))
		return -1;
	memcpy(f->buf[f->n], frag, len);
	f->len[f->n++] = len;
	return 0;
}

static void test_peek_agrees(void **state)
{
	(void)state;
	static uint8_t buf[4096];
	struct wire_ip_hdr ip4 = {.family = 4, .ttl = 9};
	struct wire_ip_hdr ip6 = {.family = 6, .ttl = 9};
	uint8_t s4[4] = {192, 0, 2, 1}, d4[4] = {198, 51, 100, 7};
	wire_addr_from4(&ip4.src, s4);
	wire_addr_from4(&ip4.dst, d4);
	for (int i = 0; i < 16; i++) {
		ip6.src.b[i] = (uint8_t)(0x20 + i);
		ip6.dst.b[i] = (uint8_t)(0x80 + i);
	}
	const struct wire_ip_hdr *ips[2] = {&ip4, &ip6};
	struct wire_tcp_hdr th = {.sport = 40000,
				  .dport = 443,
				  .seq = 1,
				  .flags = WIRE_TCP_SYN,
				  .opts = {.mss = 1460, .has_ts = true}};

	for (int k = 0; k < 2; k++) {
		size_t n =
		    wire_udp_build(buf, sizeof(buf), ips[k], 5353, 53, 3000);
		assert_true(n > 0);
		agree(buf, n);

		/* Fragments: the first holds the ports, the others none. */
		struct frags f = {.n = 0};
		assert_int_equal(
		    wire_ip_fragment(buf, n, 1280, 77, collect, &f), 3);
		for (int i = 0; i < f.n; i++) {
			struct wire_peek pk;
			agree(f.buf[i], f.len[i]);
			assert_int_equal(peek(f.buf[i], f.len[i], &pk),
					 WIRE_OK);
			assert_true(pk.is_fragment);
			assert_int_equal(pk.proto, WIRE_PROTO_UDP);
		}

		n = wire_tcp_build(buf, sizeof(buf), ips[k], &th, 10);
		agree(buf, n);
		n = wire_icmp_echo_build(buf, sizeof(buf), ips[k],
					 k ? WIRE_ICMP6_ECHO_REQUEST
					   : WIRE_ICMP4_ECHO_REQUEST,
					 7, 1, 16);
		agree(buf, n);
	}
}

/* The first fragment's ports, which agree() cannot compare, and what the
 * parse refuses but peek reads. */
static void test_peek_first_fragment(void **state)
{
	(void)state;
	static uint8_t buf[4096];
	struct wire_ip_hdr ip = {.family = 6};
	ip.src.b[0] = 0xfd, ip.dst.b[0] = 0x20;
	size_t n = wire_udp_build(buf, sizeof(buf), &ip, 1234, 4321, 2000);
	struct frags f = {.n = 0};
	assert_int_equal(wire_ip_fragment(buf, n, 1280, 5, collect, &f), 2);
	struct wire_peek pk;
	assert_int_equal(peek(f.buf[0], f.len[0], &pk), WIRE_OK);
	assert_true(pk.is_fragment);
	assert_true(pk.has_ports);
	assert_int_equal(pk.sport, 1234);
	assert_int_equal(pk.dport, 4321);
	assert_int_equal(peek(f.buf[1], f.len[1], &pk), WIRE_OK);
	assert_false(pk.has_ports);

	/* What the parse refuses, peek reads: a bad checksum, a cut. */
	n = wire_udp_build(buf, sizeof(buf), &ip, 1234, 4321, 100);
	buf[n - 1] ^= 0xff;
	struct wire_packet w;
	assert_int_not_equal(wire_packet_parse(buf, n, &w), WIRE_OK);
	assert_int_equal(peek(buf, n, &pk), WIRE_OK);
	assert_int_equal(pk.dport, 4321);
	assert_int_equal(peek(buf, 44, &pk), WIRE_OK);
	assert_true(pk.has_ports);
	assert_int_equal(peek(buf, 43, &pk), WIRE_OK);
	assert_false(pk.has_ports);
	assert_int_equal(pk.proto, WIRE_PROTO_UDP);
	assert_int_equal(peek(buf, 39, &pk), WIRE_DROP_IP6_SHORT);
	assert_int_equal(peek(buf, 0, &pk), WIRE_DROP_EMPTY);
	buf[0] = 0x50;
	assert_int_equal(peek(buf, n, &pk), WIRE_DROP_VERSION);
	buf[0] = 0x43;
	assert_int_equal(peek(buf, n, &pk), WIRE_DROP_IP4_IHL);
	assert_int_equal(peek(buf, 19, &pk), WIRE_DROP_IP4_SHORT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ip_fields),
	    cmocka_unit_test(test_l4_fields),
	    cmocka_unit_test(test_fill_csum),
	    cmocka_unit_test(test_pseudo),
	    cmocka_unit_test(test_alike),
	    cmocka_unit_test(test_ip6_walk),
	    cmocka_unit_test(test_peek_agrees),
	    cmocka_unit_test(test_peek_first_fragment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
