/* SPDX-License-Identifier: MIT */
/* test_reasm.c - fragment reassembly: round trips through the fragmenter in
 * every order, duplicates, overlaps (RFC 5722), conflicting ends, the
 * 65535-byte limit, the timeout (with a fake clock), and both bounds.
 * Every datagram that comes out must be byte-for-byte the one that went in,
 * and every byte charged to the memory budget must come back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/mem.h"
#include "core/reasm.h"
#include "wire/build.h"
#include "wire/csum.h"
#include "wire/packet.h"

#define TIMEOUT 1000000u /* 1 s */

struct frags {
	int count;
	size_t len[64];
	uint8_t pkt[64][2048];
};

static int collect(void *ctx, const uint8_t *frag, size_t len)
{
	struct frags *f = ctx;
	assert_true(f->count < 64 && len <= 2048);
	memcpy(f->pkt[f->count], frag, len);
	f->len[f->count++] = len;
	return 0;
}

static uint32_t rng = 7;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

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

static void fix_ip4(uint8_t *b)
{
	size_t ihl = (size_t)(b[0] & 0xf) * 4;
	put16(b + 10, 0);
	uint16_t c = wire_csum_fold(wire_csum_add(0, b, ihl));
	memcpy(b + 10, &c, 2);
}

/* Builds a UDP packet of total length n for a family; for IPv4 the id is
 * set to id16 and DF cleared, as a fragmentable datagram would carry. */
static size_t mk_udp(uint8_t *b, size_t cap, uint8_t family, size_t n,
		     uint16_t id16, unsigned seed)
{
	static const uint8_t s4[4] = {10, 0, 0, 2}, d4[4] = {8, 8, 4, 4};
	struct wire_ip_hdr ip;
	memset(&ip, 0, sizeof(ip));
	ip.family = family;
	if (family == 4) {
		wire_addr_from4(&ip.src, s4);
		wire_addr_from4(&ip.dst, d4);
	} else {
		ip.src.b[0] = 0xfd;
		ip.src.b[15] = 2;
		ip.dst.b[0] = 0x20;
		ip.dst.b[1] = 0x01;
		ip.dst.b[15] = 0x53;
	}
	size_t at = wire_ip_hdr_len(family) + 8;
	for (size_t i = at; i < n; i++)
		b[i] = (uint8_t)(i * 13 + seed);
	size_t len = wire_udp_build(b, cap, &ip, 5000, 53, n - at);
	assert_int_equal(len, n);
	if (family == 4) {
		put16(b + 4, id16);
		put16(b + 6, 0);
		fix_ip4(b);
	}
	return len;
}

/* Parses a fragment and hands it to the reassembler. */
static enum reasm_result feed(struct reasm *r, const uint8_t *frag, size_t len,
			      uint64_t now, const uint8_t **out,
			      size_t *out_len)
{
	struct wire_packet p;
	assert_int_equal(wire_packet_parse(frag, len, &p), WIRE_OK);
	assert_true(p.is_fragment);
	return reasm_add(r, &p, now, out, out_len);
}

/* Feeds fragments in the order given; checks only the last completes and
 * that the result is (want, want_len) and parses. */
static void feed_all(struct reasm *r, const struct frags *f, const int *order,
		     const uint8_t *want, size_t want_len)
{
	const uint8_t *out = NULL;
	size_t out_len = 0;

	for (int i = 0; i < f->count; i++) {
		int k = order[i];
		enum reasm_result res =
		    feed(r, f->pkt[k], f->len[k], 10, &out, &out_len);
		assert_int_equal(res,
				 i + 1 < f->count ? REASM_HELD : REASM_DONE);
	}
	assert_int_equal(out_len, want_len);
	assert_memory_equal(out, want, want_len);
	struct wire_packet p;
	assert_int_equal(wire_packet_parse(out, out_len, &p), WIRE_OK);
	assert_false(p.is_fragment);
	assert_int_equal(p.proto, WIRE_PROTO_UDP);
}

static struct core_mem mem;

static int setup(void **state)
{
	(void)state;
	memset(&mem, 0, sizeof(mem));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	/* Everything charged came back. */
	assert_int_equal(mem.used, 0);
	return 0;
}

static void test_round_trip_4000_mtu_1500(void **state)
{
	(void)state;
	static uint8_t pkt[4000];
	static struct frags f;
	static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
					{1, 2, 0}, {2, 0, 1}, {2, 1, 0}};

	for (int fam = 4; fam <= 6; fam += 2) {
		struct reasm *r = reasm_create(&mem, 256 * 1024, 8, TIMEOUT);
		assert_non_null(r);
		size_t n =
		    mk_udp(pkt, sizeof(pkt), (uint8_t)fam, 4000, 0x1234, 1);
		memset(&f, 0, sizeof(f));
		assert_int_equal(
		    wire_ip_fragment(pkt, n, 1500, 0x1234, collect, &f), 3);
		for (int i = 0; i < 6; i++)
			feed_all(r, &f, perms[i], pkt, n);
		assert_int_equal(reasm_stats(r)->completed, 6);
		assert_int_equal(reasm_next_deadline(r), UINT64_MAX);
		reasm_destroy(r);
	}
}

static void test_round_trip_random(void **state)
{
	(void)state;
	static uint8_t pkt[65535];
	static struct frags f;
	int order[64];

	struct reasm *r = reasm_create(&mem, 256 * 1024, 4, TIMEOUT);
	for (int iter = 0; iter < 300; iter++) {
		uint8_t fam = rnd() % 2 ? 4 : 6;
		size_t mtu = fam == 4 ? 576 + rnd() % 1000 : 1280 + rnd() % 700;
		size_t n = mtu + 1 + rnd() % 20000;
		if (n > 64 * (mtu - 48))
			n = 60 * (mtu - 48);
		mk_udp(pkt, sizeof(pkt), fam, n, (uint16_t)iter, iter);
		memset(&f, 0, sizeof(f));
		assert_true(wire_ip_fragment(pkt, n, mtu, (uint32_t)iter,
					     collect, &f) >= 2);
		for (int i = 0; i < f.count; i++)
			order[i] = i;
		for (int i = f.count - 1; i > 0; i--) {
			int j = (int)(rnd() % (unsigned)(i + 1));
			int t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		feed_all(r, &f, order, pkt, n);
	}
	reasm_destroy(r);
}

static void test_max_size_datagram(void **state)
{
	(void)state;
	static uint8_t pkt[65535];
	static struct frags f;
	int order[64];

	/* The largest datagrams either family can reassemble. */
	for (int fam = 4; fam <= 6; fam += 2) {
		struct reasm *r = reasm_create(&mem, 256 * 1024, 4, TIMEOUT);
		size_t n = mk_udp(pkt, sizeof(pkt), (uint8_t)fam, 65535, 77, 3);
		memset(&f, 0, sizeof(f));
		assert_true(wire_ip_fragment(pkt, n, 1500, 77, collect, &f) >
			    40);
		for (int i = 0; i < f.count; i++)
			order[i] = f.count - 1 - i;
		feed_all(r, &f, order, pkt, n);
		reasm_destroy(r);
	}
}

static void test_refragmented(void **state)
{
	(void)state;
	static uint8_t pkt[4000];
	static struct frags f, g, all;
	int order[64];

	/* Fragments of fragments (a smaller MTU further on) still join. */
	struct reasm *r = reasm_create(&mem, 256 * 1024, 4, TIMEOUT);
	size_t n = mk_udp(pkt, sizeof(pkt), 4, 4000, 0x4444, 5);
	memset(&f, 0, sizeof(f));
	memset(&all, 0, sizeof(all));
	wire_ip_fragment(pkt, n, 1500, 0x4444, collect, &f);
	for (int i = 0; i < f.count; i++) {
		memset(&g, 0, sizeof(g));
		assert_true(wire_ip_fragment(f.pkt[i], f.len[i], 576, 1,
					     collect, &g) >= 1);
		for (int k = 0; k < g.count; k++)
			collect(&all, g.pkt[k], g.len[k]);
	}
	assert_true(all.count > 3);
	for (int i = 0; i < all.count; i++)
		order[i] = (i * 5) % all.count;
	/* 5 and the count must be coprime for that to be a permutation. */
	if (all.count % 5 == 0)
		for (int i = 0; i < all.count; i++)
			order[i] = i;
	feed_all(r, &all, order, pkt, n);
	reasm_destroy(r);
}

/* Builds an IPv6 UDP packet with a Hop-by-Hop header (n bytes in all) and
 * splits it by hand, the Hop-by-Hop header repeated in each fragment. */
static void test_ip6_unfragmentable_part(void **state)
{
	(void)state;
	static uint8_t pkt[3100], frag[3][1600];
	size_t flen[3];

	struct reasm *r = reasm_create(&mem, 256 * 1024, 4, TIMEOUT);
	/* UDP packet, then a Hop-by-Hop (PadN) header slid in. */
	size_t n = mk_udp(pkt + 8, sizeof(pkt) - 8, 6, 3000, 0, 11);
	memmove(pkt, pkt + 8, 40);
	pkt[40] = WIRE_PROTO_UDP;
	pkt[41] = 0;
	pkt[42] = 1;
	pkt[43] = 4;
	memset(pkt + 44, 0, 4);
	pkt[6] = 0;
	n += 8;
	put16(pkt + 4, (unsigned)(n - 40));
	struct wire_packet p;
	assert_int_equal(wire_packet_parse(pkt, n, &p), WIRE_OK);
	assert_int_equal(p.l3_hdr_len, 48);

	size_t data = n - 48, off = 0;
	for (int i = 0; i < 3; i++) {
		size_t len = i < 2 ? 1200 : data - 2400;
		memcpy(frag[i], pkt, 48);
		frag[i][40] = 44; /* HbH now names the Fragment header */
		frag[i][48] = WIRE_PROTO_UDP;
		frag[i][49] = 0;
		put16(frag[i] + 50, (unsigned)(off | (i < 2)));
		put32(frag[i] + 52, 0xcafe);
		memcpy(frag[i] + 56, pkt + 48 + off, len);
		put16(frag[i] + 4, (unsigned)(16 + len));
		flen[i] = 56 + len;
		off += len;
	}
	const uint8_t *out;
	size_t out_len;
	assert_int_equal(feed(r, frag[2], flen[2], 1, &out, &out_len),
			 REASM_HELD);
	assert_int_equal(feed(r, frag[0], flen[0], 1, &out, &out_len),
			 REASM_HELD);
	assert_int_equal(feed(r, frag[1], flen[1], 1, &out, &out_len),
			 REASM_DONE);
	assert_int_equal(out_len, n);
	assert_memory_equal(out, pkt, n);

	/* RFC 8200 4.5: only the first fragment's Next Header counts, and
	 * later ones with another value still belong to the datagram. */
	frag[1][48] = 6;
	frag[2][48] = 58;
	assert_int_equal(feed(r, frag[1], flen[1], 2, &out, &out_len),
			 REASM_HELD);
	assert_int_equal(feed(r, frag[2], flen[2], 2, &out, &out_len),
			 REASM_HELD);
	assert_int_equal(feed(r, frag[0], flen[0], 2, &out, &out_len),
			 REASM_DONE);
	assert_memory_equal(out, pkt, n);
	reasm_destroy(r);
}

/* Writes an IPv4 fragment (header ihl bytes, Router Alert options) with
 * len data bytes of value fillv at byte offset off; returns its length. */
static size_t mk4(uint8_t *b, size_t ihl, uint16_t id, uint8_t proto,
		  size_t off, bool mf, size_t len, uint8_t fillv)
{
	memset(b, 0, ihl);
	b[0] = (uint8_t)(0x40 | ihl / 4);
	put16(b + 2, (unsigned)(ihl + len));
	put16(b + 4, id);
	put16(b + 6, (unsigned)((mf ? 0x2000 : 0) | off / 8));
	b[8] = 64;
	b[9] = proto;
	b[12] = 10;
	b[15] = 2;
	b[16] = 8;
	b[19] = 8;
	for (size_t i = 20; i + 4 <= ihl; i += 4)
		put32(b + i, 0x94040000);
	memset(b + ihl, fillv, len);
	fix_ip4(b);
	return ihl + len;
}

/* The same for IPv6 with a bare Fragment header. */
static size_t mk6(uint8_t *b, uint32_t id, size_t off, bool mf, size_t len,
		  uint8_t fillv)
{
	memset(b, 0, 48);
	b[0] = 0x60;
	put16(b + 4, (unsigned)(8 + len));
	b[6] = 44;
	b[7] = 64;
	b[8] = 0xfd;
	b[23] = 2;
	b[24] = 0xfd;
	b[39] = 3;
	b[40] = WIRE_PROTO_UDP;
	put16(b + 42, (unsigned)(off | (mf ? 1 : 0)));
	put32(b + 44, id);
	memset(b + 48, fillv, len);
	return 48 + len;
}

static void test_duplicates(void **state)
{
	(void)state;
	static uint8_t pkt[4000];
	static struct frags f;
	const uint8_t *out;
	size_t out_len;

	for (int fam = 4; fam <= 6; fam += 2) {
		struct reasm *r = reasm_create(&mem, 256 * 1024, 4, TIMEOUT);
		size_t n = mk_udp(pkt, sizeof(pkt), (uint8_t)fam, 4000, 9, 2);
		memset(&f, 0, sizeof(f));
		wire_ip_fragment(pkt, n, 1500, 9, collect, &f);
		/* Each fragment twice, the last one three times, before the
		 * datagram completes. */
		static const int seq[] = {2, 0, 2, 0, 2};
		for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
			assert_int_equal(feed(r, f.pkt[seq[i]], f.len[seq[i]],
					      5, &out, &out_len),
					 REASM_HELD);
		assert_int_equal(reasm_stats(r)->duplicates, 3);
		assert_int_equal(feed(r, f.pkt[1], f.len[1], 5, &out, &out_len),
				 REASM_DONE);
		assert_int_equal(out_len, n);
		assert_memory_equal(out, pkt, n);
		assert_int_equal(reasm_stats(r)->dropped_bad, 0);
		reasm_destroy(r);
	}
}

static void test_overlaps_dropped(void **state)
{
	(void)state;
	uint8_t b[4][256];
	size_t l[4];
	const uint8_t *out;
	size_t out_len;
	struct reasm *r = reasm_create(&mem, 256 * 1024, 4, TIMEOUT);

	/* [0,16) then [8,24): partial overlap, same bytes even. */
	l[0] = mk4(b[0], 20, 1, 17, 0, true, 16, 0xaa);
	l[1] = mk4(b[1], 20, 1, 17, 8, true, 16, 0xaa);
	l[2] = mk4(b[2], 20, 1, 17, 24, false, 5, 0xaa);
	assert_int_equal(feed(r, b[0], l[0], 1, &out, &out_len), REASM_HELD);
	assert_int_equal(feed(r, b[1], l[1], 1, &out, &out_len), REASM_DROPPED);
	assert_int_equal(reasm_stats(r)->dropped_bad, 1);
	/* The datagram is gone: what follows starts a new one. */
	assert_int_equal(feed(r, b[2], l[2], 1, &out, &out_len), REASM_HELD);
	assert_int_equal(feed(r, b[0], l[0], 1, &out, &out_len), REASM_HELD);
	/* The missing [16,24) arrives with different bytes over [8,16). */
	l[3] = mk4(b[3], 20, 1, 17, 8, true, 16, 0xbb);
	assert_int_equal(feed(r, b[3], l[3], 1, &out, &out_len), REASM_DROPPED);
	assert_int_equal(reasm_stats(r)->dropped_bad, 2);

	/* Same range, different bytes: not a duplicate (RFC 5722). */
	l[0] = mk4(b[0], 20, 2, 17, 0, true, 16, 0x01);
	l[1] = mk4(b[1], 20, 2, 17, 0, true, 16, 0x02);
	assert_int_equal(feed(r, b[0], l[0], 1, &out, &out_len), REASM_HELD);
	assert_int_equal(feed(r, b[1], l[1], 1, &out, &out_len), REASM_DROPPED);
	assert_int_equal(reasm_stats(r)->dropped_bad, 3);

	/* IPv6: a fragment inside another, bytes identical: still an
	 * overlap, only exact duplicates are forgiven. */
	l[0] = mk6(b[0], 3, 0, true, 64, 0x10);
	l[1] = mk6(b[1], 3, 16, true, 16, 0x10);
	assert_int_equal(feed(r, b[0], l[0], 1, &out, &out_len), REASM_HELD);
	assert_int_equal(feed(r, b[1], l[1], 1, &out, &out_len), REASM_DROPPED);
	assert_int_equal(reasm_stats(r)->dropped_bad, 4);

	/* Two fragments, then one spanning both: not an exact duplicate. */
	l[0] = mk6(b[0], 4, 0, true, 16, 0x10);
	l[1] = mk6(b[1], 4, 16, true, 16, 0x10);
	l[2] = mk6(b[2], 4, 0, true, 32, 0x10);
	assert_int_equal(feed(r, b[0], l[0], 1, &out, &out_len), REASM_HELD);
	assert_int_equal(feed(r, b[1], l[1], 1, &out, &out_len), REASM_HELD);
	assert_int_equal(feed(r, b[1], l[1], 1, &out, &out_len), REASM_HELD);
	assert_int_equal(reasm_stats(r)->duplicates, 1);
	assert_int_equal(feed(r, b[2], l[2], 1, &out, &out_len), REASM_DROPPED);
	assert_int_equal(reasm_stats(r)->dropped_bad, 5);
	/* A prefix of a fragment held. */
	l[0] = mk6(b[0], 5, 0, true, 32, 0x10);
	l[1] = mk6(b[1], 5, 0, true, 16, 0x10);
	assert_int_equal(feed(r, b[0], l[0], 1, &out, &out_len), REASM_HELD);
	assert_int_equal(feed(r, b[1], l[1], 1, &out, &out_len), REASM_DROPPED);
	assert_int_equal(reasm_stats(r)->dropped_bad, 6);
	assert_int_equal(reasm_stats(r)->completed, 0);
	reasm_destroy(r);
}

static void test_conflicting_ends(void **state)
{
	(void)state;
	uint8_t b[3][256];
	size_t l[3];
	const uint8_t *out;
	size_t out_len;
	struct reasm *r = reasm_create(&mem, 256 * 1024, 4, TIMEOUT);

	/* Two different last fragments. */
	l[0] = mk4(b[0], 20, 1, 17, 16, false, 4, 1);
	l[1] = mk4(b[1], 20, 1, 17, 16, false, 8, 1);
	assert_int_equal(feed(r, b[0], l[0], 1, &out, &out_len), REASM_HELD);
	assert_int_equal(feed(r, b[1], l[1], 1, &out, &out_len), REASM_DROPPED);

	/* Data beyond the end already known. */
	l[0] = mk4(b[0], 20, 2, 17, 16, false, 4, 1);
	l[1] = mk4(b[1], 20, 2, 17, 24, true, 8, 1);
	assert_int_equal(feed(r, b[0], l[0], 1, &out, &out_len), REASM_HELD);
	assert_int_equal(feed(r, b[1], l[1], 1, &out, &out_len), REASM_DROPPED);

	/* An end before data already held. */
	l[0] = mk4(b[0], 20, 3, 17, 32, true, 8, 1);
	l[1] = mk4(b[1], 20, 3, 17, 8, false, 8, 1);
	assert_int_equal(feed(r, b[0], l[0], 1, &out, &out_len), REASM_HELD);
	assert_int_equal(feed(r, b[1], l[1], 1, &out, &out_len), REASM_DROPPED);
	assert_int_equal(reasm_stats(r)->dropped_bad, 3);
	reasm_destroy(r);
}

static void test_too_long(void **state)
{
	(void)state;
	static uint8_t b[2][200];
	size_t l[2];
	const uint8_t *out;
	size_t out_len;
	struct reasm *r = reasm_create(&mem, 256 * 1024, 4, TIMEOUT);

	/* Each fragment is fine alone (the last: 20 + 65472 + 40 = 65532),
	 * but the first one's 60-byte header makes 65572 in all. */
	l[0] = mk4(b[0], 60, 1, 17, 0, true, 16, 1);
	l[1] = mk4(b[1], 20, 1, 17, 65472, false, 40, 1);
	assert_int_equal(feed(r, b[1], l[1], 1, &out, &out_len), REASM_HELD);
	assert_int_equal(feed(r, b[0], l[0], 1, &out, &out_len), REASM_DROPPED);
	assert_int_equal(feed(r, b[0], l[0], 1, &out, &out_len), REASM_HELD);
	assert_int_equal(feed(r, b[1], l[1], 1, &out, &out_len), REASM_DROPPED);
	assert_int_equal(reasm_stats(r)->dropped_bad, 2);

	/* A view the parser would refuse is refused here too. */
	struct wire_packet p;
	assert_int_equal(wire_packet_parse(b[1], l[1], &p), WIRE_OK);
	p.frag_offset = 65528;
	assert_int_equal(reasm_add(r, &p, 1, &out, &out_len), REASM_DROPPED);
	/* So is a packet that is no fragment, and a misaligned one. */
	assert_int_equal(wire_packet_parse(b[1], l[1], &p), WIRE_OK);
	p.is_fragment = false;
	assert_int_equal(reasm_add(r, &p, 1, &out, &out_len), REASM_DROPPED);
	assert_int_equal(wire_packet_parse(b[0], l[0], &p), WIRE_OK);
	p.frag_offset = 4;
	assert_int_equal(reasm_add(r, &p, 1, &out, &out_len), REASM_DROPPED);
	assert_int_equal(reasm_stats(r)->dropped_bad, 5);
	reasm_destroy(r);
}

static void test_timeout(void **state)
{
	(void)state;
	static uint8_t pkt[4000];
	static struct frags f;
	const uint8_t *out;
	size_t out_len;
	struct reasm *r = reasm_create(&mem, 256 * 1024, 4, 1000);

	size_t n = mk_udp(pkt, sizeof(pkt), 4, 4000, 5, 5);
	memset(&f, 0, sizeof(f));
	wire_ip_fragment(pkt, n, 1500, 5, collect, &f);

	assert_int_equal(reasm_next_deadline(r), UINT64_MAX);
	assert_int_equal(feed(r, f.pkt[0], f.len[0], 100, &out, &out_len),
			 REASM_HELD);
	assert_int_equal(reasm_next_deadline(r), 1100);
	/* Later fragments do not push the deadline. */
	assert_int_equal(feed(r, f.pkt[1], f.len[1], 600, &out, &out_len),
			 REASM_HELD);
	assert_int_equal(reasm_next_deadline(r), 1100);
	reasm_expire(r, 1099);
	assert_int_equal(reasm_stats(r)->timed_out, 0);
	reasm_expire(r, 1100);
	assert_int_equal(reasm_stats(r)->timed_out, 1);
	assert_int_equal(reasm_next_deadline(r), UINT64_MAX);
	/* The last fragment alone now starts over. */
	assert_int_equal(feed(r, f.pkt[2], f.len[2], 1200, &out, &out_len),
			 REASM_HELD);

	/* reasm_add expires by itself too. */
	assert_int_equal(feed(r, f.pkt[0], f.len[0], 2199, &out, &out_len),
			 REASM_HELD);
	assert_int_equal(feed(r, f.pkt[1], f.len[1], 2200, &out, &out_len),
			 REASM_HELD);
	assert_int_equal(reasm_stats(r)->timed_out, 2);
	assert_int_equal(reasm_next_deadline(r), 3200);

	/* A timeout near the end of time saturates. */
	reasm_destroy(r);
	r = reasm_create(&mem, 256 * 1024, 4, UINT64_MAX - 5);
	assert_int_equal(feed(r, f.pkt[0], f.len[0], 100, &out, &out_len),
			 REASM_HELD);
	assert_int_equal(reasm_next_deadline(r), UINT64_MAX);
	reasm_destroy(r);
}

static void test_max_datagrams(void **state)
{
	(void)state;
	uint8_t b[4][256];
	size_t l[4];
	const uint8_t *out;
	size_t out_len;
	struct reasm *r = reasm_create(&mem, 256 * 1024, 2, TIMEOUT);

	for (int i = 0; i < 3; i++)
		l[i] = mk4(b[i], 20, (uint16_t)(100 + i), 17, 0, true, 8, 1);
	assert_int_equal(feed(r, b[0], l[0], 1, &out, &out_len), REASM_HELD);
	assert_int_equal(feed(r, b[1], l[1], 2, &out, &out_len), REASM_HELD);
	/* Table full: the oldest (id 100) gives way, so junk or lost
	 * fragments cannot lock out new datagrams until they time out. */
	assert_int_equal(feed(r, b[2], l[2], 3, &out, &out_len), REASM_HELD);
	assert_int_equal(reasm_stats(r)->evicted, 1);
	/* id 101 survived and completes. */
	l[3] = mk4(b[3], 20, 101, 17, 8, false, 3, 1);
	assert_int_equal(feed(r, b[3], l[3], 4, &out, &out_len), REASM_DONE);
	assert_int_equal(out_len, 20 + 11);
	/* id 100's tail now starts a datagram of its own again. */
	l[3] = mk4(b[3], 20, 100, 17, 8, false, 3, 1);
	assert_int_equal(feed(r, b[3], l[3], 5, &out, &out_len), REASM_HELD);
	assert_int_equal(reasm_stats(r)->dropped_full, 0);
	reasm_destroy(r);

	/* No slots at all: everything is refused, nothing crashes. */
	r = reasm_create(&mem, 256 * 1024, 0, TIMEOUT);
	assert_non_null(r);
	assert_int_equal(feed(r, b[0], l[0], 1, &out, &out_len), REASM_DROPPED);
	assert_int_equal(reasm_next_deadline(r), UINT64_MAX);
	reasm_destroy(r);
}

static void test_keys(void **state)
{
	(void)state;
	uint8_t b[4][256];
	size_t l[4];
	const uint8_t *out;
	size_t out_len;
	struct reasm *r = reasm_create(&mem, 256 * 1024, 4, TIMEOUT);

	/* Same id, different protocol (IPv4 keys on it) and source. */
	l[0] = mk4(b[0], 20, 7, 17, 0, true, 8, 1);
	l[1] = mk4(b[1], 20, 7, 6, 8, false, 8, 2);
	l[2] = mk4(b[2], 20, 7, 17, 8, false, 8, 3);
	l[3] = mk4(b[3], 20, 7, 17, 0, true, 8, 4);
	b[3][15] = 9; /* other source */
	fix_ip4(b[3]);
	assert_int_equal(feed(r, b[0], l[0], 1, &out, &out_len), REASM_HELD);
	assert_int_equal(feed(r, b[1], l[1], 1, &out, &out_len), REASM_HELD);
	assert_int_equal(feed(r, b[3], l[3], 1, &out, &out_len), REASM_HELD);
	assert_int_equal(feed(r, b[2], l[2], 1, &out, &out_len), REASM_DONE);
	assert_int_equal(out_len, 36);
	assert_int_equal(out[20], 1);
	assert_int_equal(out[28], 3);
	/* The id field is kept; offset and flags are cleared. */
	assert_int_equal(out[4] << 8 | out[5], 7);
	assert_int_equal(out[6] | out[7], 0);
	reasm_destroy(r);
}

static void test_bounds_max_bytes(void **state)
{
	(void)state;
	static uint8_t pkt[4000];
	static struct frags f;
	uint8_t b[256];
	const uint8_t *out;
	size_t out_len;

	size_t n = mk_udp(pkt, sizeof(pkt), 4, 4000, 3, 3);
	memset(&f, 0, sizeof(f));
	wire_ip_fragment(pkt, n, 1500, 3, collect, &f);

	/* 3000 bytes cannot hold this 4000-byte datagram. */
	struct reasm *r = reasm_create(&mem, 3000, 4, TIMEOUT);
	size_t base = mem.used;
	assert_int_equal(feed(r, f.pkt[0], f.len[0], 1, &out, &out_len),
			 REASM_HELD);
	assert_true(mem.used > base && mem.used - base <= 3000);
	assert_int_equal(feed(r, f.pkt[1], f.len[1], 1, &out, &out_len),
			 REASM_DROPPED);
	assert_int_equal(reasm_stats(r)->dropped_full, 1);
	/* The partial datagram was freed with it. */
	assert_int_equal(mem.used, base);
	assert_int_equal(reasm_next_deadline(r), UINT64_MAX);
	/* Knowing the end does not help: 3980 bytes do not fit either. */
	assert_int_equal(feed(r, f.pkt[2], f.len[2], 1, &out, &out_len),
			 REASM_DROPPED);
	assert_int_equal(mem.used, base);
	reasm_destroy(r);

	/* A fragment far out is charged for the room it needs. */
	r = reasm_create(&mem, 10000, 4, TIMEOUT);
	size_t l = mk4(b, 20, 1, 17, 60000, false, 8, 1);
	assert_int_equal(feed(r, b, l, 1, &out, &out_len), REASM_DROPPED);
	assert_int_equal(reasm_stats(r)->dropped_full, 1);
	reasm_destroy(r);

	/* Enough for one datagram in progress, not two: the newer one
	 * evicts the older, which is counted. */
	r = reasm_create(&mem, 4100, 4, TIMEOUT);
	static uint8_t pkt2[4000];
	static struct frags g;
	mk_udp(pkt2, sizeof(pkt2), 4, 4000, 4, 4);
	memset(&g, 0, sizeof(g));
	wire_ip_fragment(pkt2, n, 1500, 4, collect, &g);
	assert_int_equal(feed(r, f.pkt[2], f.len[2], 1, &out, &out_len),
			 REASM_HELD);
	assert_int_equal(feed(r, g.pkt[2], g.len[2], 2, &out, &out_len),
			 REASM_HELD);
	assert_int_equal(reasm_stats(r)->evicted, 1);
	assert_int_equal(feed(r, g.pkt[0], g.len[0], 2, &out, &out_len),
			 REASM_HELD);
	assert_int_equal(feed(r, g.pkt[1], g.len[1], 2, &out, &out_len),
			 REASM_DONE);
	assert_memory_equal(out, pkt2, n);
	/* Done: its room is free for the next. */
	int order[3] = {0, 1, 2};
	feed_all(r, &f, order, pkt, n);
	assert_true(mem.used <= base + 4100);
	reasm_destroy(r);
}

static void test_memory_budget(void **state)
{
	(void)state;
	static uint8_t pkt[4000];
	static struct frags f;
	const uint8_t *out;
	size_t out_len;

	/* The budget refuses the table: no reassembler. */
	mem.budget = 100;
	assert_null(reasm_create(&mem, 256 * 1024, 16, TIMEOUT));
	assert_true(mem.refused >= 1);
	assert_int_equal(mem.used, 0);

	/* The budget refuses a datagram buffer: the fragment is dropped. */
	mem.budget = 0;
	struct reasm *r = reasm_create(&mem, 256 * 1024, 2, TIMEOUT);
	mem.budget = mem.used + 1000;
	size_t n = mk_udp(pkt, sizeof(pkt), 6, 4000, 0, 8);
	memset(&f, 0, sizeof(f));
	wire_ip_fragment(pkt, n, 1500, 8, collect, &f);
	assert_int_equal(feed(r, f.pkt[0], f.len[0], 1, &out, &out_len),
			 REASM_DROPPED);
	assert_int_equal(reasm_stats(r)->dropped_full, 1);
	mem.budget = 0;
	reasm_destroy(r);
	reasm_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip_4000_mtu_1500,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_round_trip_random, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_max_size_datagram, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_refragmented, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ip6_unfragmentable_part, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_overlaps_dropped, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_conflicting_ends, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_too_long, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_max_datagrams, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bounds_max_bytes, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_memory_budget, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
