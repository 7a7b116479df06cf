/* SPDX-License-Identifier: MIT */
/* test_wire_csum.c - the Internet checksum (RFC 1071), its incremental
 * update (RFC 1624) and the pseudo-headers (RFC 768, RFC 8200 8.1).
 *
 * Expected values come from outside the code under test: published
 * examples (RFC 1071 1.4; the classic IPv4 header whose checksum is b861),
 * vectors computed separately with a short Python script, and a bytewise
 * reference sum written here in the most obvious way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire/csum.h"

/* Decodes hex (spaces allowed) into out; returns the byte count. */
static size_t hex(const char *s, uint8_t *out)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}

/* The obvious checksum: big-endian words, 64-bit sum, fold, complement.
 * Returned as a number (host order). */
static uint16_t ref_csum(const uint8_t *p, size_t len)
{
	uint64_t s = 0;

	for (size_t i = 0; i < len; i += 2)
		s += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* A folded checksum as the number its two wire bytes spell. */
static uint16_t as_num(uint16_t folded)
{
	uint8_t b[2];
	memcpy(b, &folded, 2);
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint16_t csum_of(const void *p, size_t len)
{
	return as_num(wire_csum_fold(wire_csum_add(0, p, len)));
}

static uint32_t rng_state = 12345;

static uint32_t rnd(void)
{
	/* xorshift32: deterministic, so failures reproduce. */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void test_rfc1071_example(void **state)
{
	(void)state;
	/* RFC 1071 1.4: the words 0001 f203 f4f5 f6f7 sum to ddf2. */
	const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	assert_int_equal(csum_of(d, sizeof(d)), (uint16_t)~0xddf2);
	assert_int_equal(ref_csum(d, sizeof(d)), (uint16_t)~0xddf2);
}

static void test_ip4_header_b861(void **state)
{
	(void)state;
	uint8_t h[20];
	assert_int_equal(
	    hex("4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7", h), 20);
	assert_int_equal(csum_of(h, 20), 0xb861);

	/* Stored with memcpy, the folded value spells b8 61 on the wire. */
	uint16_t c = wire_csum_fold(wire_csum_add(0, h, 20));
	memcpy(h + 10, &c, 2);
	assert_int_equal(h[10], 0xb8);
	assert_int_equal(h[11], 0x61);
	/* A correct header sums to all ones: the check value is zero. */
	assert_int_equal(wire_csum_fold(wire_csum_add(0, h, 20)), 0);
	h[15] ^= 1;
	assert_int_not_equal(wire_csum_fold(wire_csum_add(0, h, 20)), 0);
}

static void test_odd_length_pads_zero(void **state)
{
	(void)state;
	const uint8_t a[] = {0x12, 0x34, 0x56};
	const uint8_t b[] = {0x12, 0x34, 0x56, 0x00};
	assert_int_equal(csum_of(a, 3), csum_of(b, 4));
	assert_int_equal(csum_of(a, 3), ref_csum(a, 3));
	assert_int_equal(csum_of(a, 1), (uint16_t)~0x1200);
	assert_int_equal(csum_of(a, 0), 0xffff);
}

static void test_random_vs_reference(void **state)
{
	(void)state;
	static uint8_t buf[70000];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rnd();
	for (int iter = 0; iter < 2000; iter++) {
		size_t off = rnd() % 8; /* unaligned starts */
		size_t len = rnd() % 3000;
		if (iter % 100 == 0)
			len = 65535;
		assert_int_equal(csum_of(buf + off, len),
				 ref_csum(buf + off, len));
	}
	/* All-ones data is the worst case for carries. */
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(csum_of(buf, 65535), ref_csum(buf, 65535));
}

static void test_chaining(void **state)
{
	(void)state;
	static uint8_t buf[4096];

	for (int iter = 0; iter < 500; iter++) {
		size_t len = rnd() % sizeof(buf);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rnd();
		/* Split at even offsets: every part but the last is even. */
		size_t a = (rnd() % (len + 1)) & ~(size_t)1;
		size_t b = a + ((rnd() % (len - a + 1)) & ~(size_t)1);
		uint32_t s = wire_csum_add(0, buf, a);
		s = wire_csum_add(s, buf + a, b - a);
		s = wire_csum_add(s, buf + b, len - b);
		assert_int_equal(as_num(wire_csum_fold(s)), ref_csum(buf, len));
	}

	/* A long chain of all-ones blocks must not overflow the sum. */
	static uint8_t ones[65536];
	memset(ones, 0xff, sizeof(ones));
	uint32_t s = 0;
	for (int i = 0; i < 2000; i++)
		s = wire_csum_add(s, ones, sizeof(ones));
	assert_int_equal(as_num(wire_csum_fold(s)), 0);
	s = wire_csum_add(s, "\x00\x01", 2);
	assert_int_equal(as_num(wire_csum_fold(s)), 0xfffe);

	/* A running sum at its maximum plus words whose carry, folded once,
	 * carries again (on a little-endian host 01 00 00 00 loads as 1). */
	const uint8_t edge[12] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				  0xff, 0xff, 0x01, 0x00, 0x00, 0x00};
	s = wire_csum_add(0, edge, 4);
	s = wire_csum_add(s, edge + 4, 8);
	assert_int_equal(as_num(wire_csum_fold(s)), ref_csum(edge, 12));
	const uint8_t edge_be[12] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				     0xff, 0xff, 0x00, 0x00, 0x00, 0x01};
	s = wire_csum_add(0, edge_be, 4);
	s = wire_csum_add(s, edge_be + 4, 8);
	assert_int_equal(as_num(wire_csum_fold(s)), ref_csum(edge_be, 12));
}

static void set_v4(struct wire_addr *a, const char *h)
{
	uint8_t b[4];
	hex(h, b);
	wire_addr_from4(a, b);
}

static void set_v6(struct wire_addr *a, const char *h)
{
	uint8_t b[16];
	hex(h, b);
	wire_addr_from6(a, b);
}

static void test_pseudo_udp4(void **state)
{
	(void)state;
	/* 192.0.2.1:12345 -> 198.51.100.7:53 "tunproxy!" (Python: f452). */
	struct wire_addr s, d;
	uint8_t udp[32];
	size_t n = hex("3039 0035 0011 0000 74756e70726f787921", udp);
	set_v4(&s, "c0000201");
	set_v4(&d, "c6336407");

	uint32_t sum = wire_csum_pseudo(4, &s, &d, 17, (uint32_t)n);
	uint16_t c = wire_csum_fold(wire_csum_add(sum, udp, n));
	assert_int_equal(as_num(c), 0xf452);
	memcpy(udp + 6, &c, 2);
	sum = wire_csum_pseudo(4, &s, &d, 17, (uint32_t)n);
	assert_int_equal(wire_csum_fold(wire_csum_add(sum, udp, n)), 0);
}

static void test_pseudo_icmp6_tcp6(void **state)
{
	(void)state;
	/* 2001:db8::1 -> 2001:db8::2; Python gave 8075 and 98e4. */
	struct wire_addr s, d;
	uint8_t m[64];
	set_v6(&s, "20010db8000000000000000000000001");
	set_v6(&d, "20010db8000000000000000000000002");

	size_t n = hex("80000000123400016162636465666768", m);
	uint32_t sum = wire_csum_pseudo(6, &s, &d, 58, (uint32_t)n);
	assert_int_equal(as_num(wire_csum_fold(wire_csum_add(sum, m, n))),
			 0x8075);

	n = hex("01bbc3500000000100000002501803e80000000078797a", m);
	sum = wire_csum_pseudo(6, &s, &d, 6, (uint32_t)n);
	assert_int_equal(as_num(wire_csum_fold(wire_csum_add(sum, m, n))),
			 0x98e4);
}

/* Puts the checksum of the 20-byte header h, computed in full, in h. */
static uint16_t full_hdr_csum(uint8_t *h)
{
	h[10] = h[11] = 0;
	uint16_t c = wire_csum_fold(wire_csum_add(0, h, 20));
	memcpy(h + 10, &c, 2);
	return c;
}

static void test_update16_matches_recompute(void **state)
{
	(void)state;
	uint8_t h[20];

	for (int iter = 0; iter < 20000; iter++) {
		for (int i = 0; i < 20; i++)
			h[i] = (uint8_t)rnd();
		h[0] = 0x45;
		uint16_t c = full_hdr_csum(h);
		/* Change every kind of word, including to and from 0 and
		 * ffff, which is where eqn. 2 of RFC 1624 went wrong. */
		for (int k = 0; k < 8; k++) {
			unsigned w = rnd() % 10;
			if (w == 5)
				continue; /* the checksum itself */
			uint16_t old_v, new_v;
			memcpy(&old_v, h + 2 * w, 2);
			switch (rnd() % 4) {
			case 0:
				new_v = 0;
				break;
			case 1:
				new_v = 0xffff;
				break;
			default:
				new_v = (uint16_t)rnd();
			}
			if (w == 0)
				new_v = old_v; /* keep the version nonzero */
			memcpy(h + 2 * w, &new_v, 2);
			c = wire_csum_update16(c, old_v, new_v);
			uint8_t copy[20];
			memcpy(copy, h, 20);
			assert_int_equal(c, full_hdr_csum(copy));
			assert_int_equal(
			    wire_csum_fold(wire_csum_add(0, copy, 20)), 0);
		}
	}
}

static void test_update_multi_byte(void **state)
{
	(void)state;
	/* NAT-style rewrite of an IPv6 source address in a UDP packet: the
	 * UDP checksum covers it through the pseudo-header. */
	struct wire_addr s, d, s2;
	uint8_t udp[64];

	for (int iter = 0; iter < 2000; iter++) {
		for (int i = 0; i < 16; i++) {
			s.b[i] = (uint8_t)rnd();
			d.b[i] = (uint8_t)rnd();
			s2.b[i] = (uint8_t)rnd();
		}
		size_t n = 8 + rnd() % 50;
		for (size_t i = 0; i < n; i++)
			udp[i] = (uint8_t)rnd();
		udp[6] = udp[7] = 0;
		uint16_t c = wire_csum_fold(wire_csum_add(
		    wire_csum_pseudo(6, &s, &d, 17, (uint32_t)n), udp, n));
		uint16_t upd = wire_csum_update(c, s.b, s2.b, 16);
		uint16_t full = wire_csum_fold(wire_csum_add(
		    wire_csum_pseudo(6, &s2, &d, 17, (uint32_t)n), udp, n));
		assert_int_equal(upd, full);
		/* The 4-byte IPv4 form. */
		c = wire_csum_fold(wire_csum_add(
		    wire_csum_pseudo(4, &s, &d, 17, (uint32_t)n), udp, n));
		upd =
		    wire_csum_update(c, wire_addr_v4(&s), wire_addr_v4(&s2), 4);
		full = wire_csum_fold(wire_csum_add(
		    wire_csum_pseudo(4, &s2, &d, 17, (uint32_t)n), udp, n));
		assert_int_equal(upd, full);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc1071_example),
	    cmocka_unit_test(test_ip4_header_b861),
	    cmocka_unit_test(test_odd_length_pads_zero),
	    cmocka_unit_test(test_random_vs_reference),
	    cmocka_unit_test(test_chaining),
	    cmocka_unit_test(test_pseudo_udp4),
	    cmocka_unit_test(test_pseudo_icmp6_tcp6),
	    cmocka_unit_test(test_update16_matches_recompute),
	    cmocka_unit_test(test_update_multi_byte),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
