/* SPDX-License-Identifier: MIT */
/* test_capture_filter.c - the capture's --proto/--port/--host filter on
 * hand-made IPv4 and IPv6 packets: protocol, ports (not from a non-first
 * fragment), IPv6 extension headers walked, addresses both ways, and
 * malformed packets matching only the empty filter.
 *
 * The filter reads headers through wire_packet_peek(), which must keep
 * what the capture needs and the engine's checker refuses: packets with
 * bad checksums or lying lengths, and snapshots cut short. Packets here
 * put decoy values next to every field (IPv4 options and IPv6 extension
 * headers that hold a port number, a source different from the
 * destination, a fragment offset in the byte beside it), so reading any
 * field at a wrong offset makes a case fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tools/capture_filter.h"

/* IPv4 10.0.0.8 -> 203.0.113.10, proto, ports 40000 -> dport. */
static size_t v4(uint8_t *p, uint8_t proto, uint16_t dport, uint16_t frag)
{
	memset(p, 0, 40);
	p[0] = 0x45;
	p[3] = 40;
	p[6] = (uint8_t)(frag >> 8);
	p[7] = (uint8_t)frag;
	p[9] = proto;
	memcpy(p + 12, (uint8_t[]){10, 0, 0, 8, 203, 0, 113, 10}, 8);
	p[20] = 0x9c, p[21] = 0x40;
	p[22] = (uint8_t)(dport >> 8), p[23] = (uint8_t)dport;
	return 40;
}

/* IPv6 fdaa::8 -> 2001:db8:1::10 with a hop-by-hop header first. */
static size_t v6(uint8_t *p, uint8_t proto, uint16_t dport)
{
	memset(p, 0, 64);
	p[0] = 0x60;
	p[5] = 24;
	p[6] = 0; /* hop-by-hop */
	p[7] = 64;
	p[8] = 0xfd, p[9] = 0xaa, p[23] = 8;
	p[24] = 0x20, p[25] = 0x01, p[26] = 0x0d, p[27] = 0xb8, p[29] = 1;
	p[39] = 0x10;
	p[40] = proto; /* next header after hop-by-hop, length 0 (8 bytes) */
	p[48] = 0x9c, p[49] = 0x40;
	p[50] = (uint8_t)(dport >> 8), p[51] = (uint8_t)dport;
	return 64;
}

static void test_filters(void **state)
{
	(void)state;
	struct capture_filter f;
	uint8_t p[64];
	size_t n;

	capture_filter_init(&f);
	assert_true(capture_filter_match(&f, (const uint8_t *)"x", 1));

	assert_int_equal(capture_filter_set_proto(&f, "tcp"), 0);
	n = v4(p, 6, 80, 0);
	assert_true(capture_filter_match(&f, p, n));
	n = v4(p, 17, 53, 0);
	assert_false(capture_filter_match(&f, p, n));
	assert_false(capture_filter_match(&f, p, 10)); /* truncated */

	assert_int_equal(capture_filter_set_proto(&f, "udp"), 0);
	assert_int_equal(capture_filter_set_port(&f, "53"), 0);
	assert_true(capture_filter_match(&f, p, n));
	n = v6(p, 17, 53);
	assert_true(capture_filter_match(&f, p, n)); /* past hop-by-hop */
	n = v6(p, 17, 54);
	assert_false(capture_filter_match(&f, p, n));
	assert_int_equal(capture_filter_set_port(&f, "40000"), 0);
	assert_true(capture_filter_match(&f, p, n)); /* source port */
	n = v4(p, 17, 40000, 0x0010); /* a later fragment: no ports */
	assert_false(capture_filter_match(&f, p, n));

	capture_filter_init(&f);
	assert_int_equal(capture_filter_set_proto(&f, "icmp"), 0);
	n = v4(p, 1, 0, 0);
	assert_true(capture_filter_match(&f, p, n));
	n = v6(p, 58, 0);
	assert_true(capture_filter_match(&f, p, n));

	capture_filter_init(&f);
	assert_int_equal(capture_filter_set_host(&f, "203.0.113.10"), 0);
	n = v4(p, 6, 80, 0);
	assert_true(capture_filter_match(&f, p, n));
	assert_int_equal(capture_filter_set_host(&f, "10.0.0.8"), 0);
	assert_true(capture_filter_match(&f, p, n));
	assert_int_equal(capture_filter_set_host(&f, "10.0.0.9"), 0);
	assert_false(capture_filter_match(&f, p, n));
	assert_int_equal(capture_filter_set_host(&f, "2001:db8:1::10"), 0);
	assert_false(capture_filter_match(&f, p, n));
	n = v6(p, 6, 443);
	assert_true(capture_filter_match(&f, p, n));

	assert_int_equal(capture_filter_set_proto(&f, "sctp"), -1);
	assert_int_equal(capture_filter_set_port(&f, "70000"), -1);
	assert_int_equal(capture_filter_set_host(&f, "not-an-ip"), -1);
}

/* --- packets with decoys next to every field --- */

/* Addresses chosen so that no 4-byte window of one header reads as
 * another address: a wrong address offset finds nothing. */
#define A4_SRC "192.0.2.1"
#define A4_DST "198.51.100.7"
#define A6_SRC "2001:db8::a"
#define A6_DST "2001:db8:1::b"
static const uint8_t SRC4[4] = {192, 0, 2, 1};
static const uint8_t DST4[4] = {198, 51, 100, 7};
static const uint8_t SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
				 0,    0,    0,	   0,	 0, 0, 0, 0x0a};
static const uint8_t DST6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0,
				 0,    0,    0,	   0,	 0, 0, 0, 0x0b};

/* The ports every packet carries, and the decoy placed where a parser
 * that skipped too little would look for them. */
#define SPORT 1111
#define DPORT 2222
#define DECOY 3333

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Writes the transport bytes at l (8 of them: ports, then a decoy where
 * the UDP length would be, which a parser must not read as a port). */
static void l4(uint8_t *l)
{
	put16(l, SPORT);
	put16(l + 2, DPORT);
	put16(l + 4, DECOY);
	put16(l + 6, DECOY);
}

/* IPv4 with 4 bytes of options holding DECOY twice (so an IHL ignored
 * reads DECOY as both ports), a wrong header checksum, a total length of
 * 1500 (the engine would refuse both), and 8 transport bytes. */
static size_t v4opt(uint8_t *p, uint8_t proto, uint16_t frag)
{
	memset(p, 0, 32);
	p[0] = 0x46;
	put16(p + 2, 1500);
	put16(p + 4, 0x1234);
	put16(p + 6, frag);
	p[8] = 64;
	p[9] = proto;
	put16(p + 10, 0xdead);
	memcpy(p + 12, SRC4, 4);
	memcpy(p + 16, DST4, 4);
	put16(p + 20, DECOY);
	put16(p + 22, DECOY);
	l4(p + 24);
	return 32;
}

/* An IPv6 header (payload length 2000: a lie) followed by the extension
 * headers in chain (each 8 bytes, AH 12, holding DECOY where ports would
 * be), then proto and 8 transport bytes. frag_field is the offset/M word
 * of any Fragment header. Returns the length. */
static size_t v6chain(uint8_t *p, const uint8_t *chain, size_t nchain,
		      uint8_t proto, uint16_t frag_field)
{
	memset(p, 0, 128);
	p[0] = 0x60;
	put16(p + 4, 2000);
	p[6] = nchain ? chain[0] : proto;
	p[7] = 64;
	memcpy(p + 8, SRC6, 16);
	memcpy(p + 24, DST6, 16);
	size_t off = 40;
	for (size_t i = 0; i < nchain; i++) {
		uint8_t *h = p + off;
		h[0] = i + 1 < nchain ? chain[i + 1] : proto;
		size_t len = 8;
		if (chain[i] == 51) {
			h[1] = 1; /* AH: (1 + 2) * 4 = 12 bytes */
			len = 12;
		} else if (chain[i] == 44) {
			put16(h + 2, frag_field);
			put16(h + 4, 0x0bad); /* identification: no port */
			put16(h + 6, 0x0bad);
		} else {
			h[1] = 0;
			put16(h + 2, DECOY);
			put16(h + 4, DECOY);
		}
		off += len;
	}
	l4(p + off);
	return off + 8;
}

/* Whether a filter of proto (NULL: any), port (-1: any) and host (NULL:
 * any) keeps the len bytes at p, given as an exact-size copy (so that
 * under ASan a read past them fails the run). */
static bool keeps(const uint8_t *p, size_t len, const char *proto, int port,
		  const char *host)
{
	struct capture_filter f;
	char s[16];
	capture_filter_init(&f);
	if (proto)
		assert_int_equal(capture_filter_set_proto(&f, proto), 0);
	if (port >= 0) {
		snprintf(s, sizeof(s), "%d", port);
		assert_int_equal(capture_filter_set_port(&f, s), 0);
	}
	if (host)
		assert_int_equal(capture_filter_set_host(&f, host), 0);
	uint8_t *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, p, len);
	bool m = capture_filter_match(&f, copy, len);
	free(copy);
	return m;
}

/* IPv4 with options: ports after the IHL, addresses at their offsets,
 * protocol from its byte, all despite a bad checksum and a total length
 * past the bytes there (a snapshot, or a packet the engine refused). */
static void test_ip4_offsets(void **state)
{
	(void)state;
	uint8_t p[64];
	size_t n = v4opt(p, 6, 0);

	assert_true(keeps(p, n, "tcp", -1, NULL));
	assert_false(keeps(p, n, "udp", -1, NULL));
	assert_false(keeps(p, n, "icmp", -1, NULL));
	assert_true(keeps(p, n, NULL, SPORT, NULL));
	assert_true(keeps(p, n, NULL, DPORT, NULL));
	assert_false(keeps(p, n, NULL, DECOY, NULL));
	assert_true(keeps(p, n, "tcp", DPORT, A4_SRC));
	assert_true(keeps(p, n, NULL, -1, A4_DST));
	assert_false(keeps(p, n, NULL, -1, "192.0.2.2"));
	assert_false(keeps(p, n, NULL, -1, "::ffff:192.0.2.1"));

	n = v4opt(p, 17, 0);
	assert_true(keeps(p, n, "udp", DPORT, NULL));
	assert_false(keeps(p, n, "tcp", -1, NULL));
	n = v4opt(p, 1, 0); /* ICMP: no ports even if bytes are there */
	assert_true(keeps(p, n, "icmp", -1, A4_SRC));
	assert_false(keeps(p, n, NULL, SPORT, NULL));
	n = v4opt(p, 58, 0); /* "icmp" means either number */
	assert_true(keeps(p, n, "icmp", -1, NULL));
}

/* IPv4 fragments: the first (MF, offset 0) has the ports, a later one
 * none; DF alone (0x4000) is no fragment; the offset's high bits (in the
 * byte beside the flags) count. */
static void test_ip4_fragments(void **state)
{
	(void)state;
	uint8_t p[64];
	size_t n;

	n = v4opt(p, 6, 0x2000); /* MF, offset 0 */
	assert_true(keeps(p, n, "tcp", DPORT, NULL));
	n = v4opt(p, 6, 0x4000); /* DF */
	assert_true(keeps(p, n, "tcp", DPORT, NULL));
	n = v4opt(p, 6, 0x0001); /* offset 8 */
	assert_true(keeps(p, n, "tcp", -1, A4_DST));
	assert_false(keeps(p, n, NULL, DPORT, NULL));
	assert_false(keeps(p, n, NULL, SPORT, NULL));
	n = v4opt(p, 6, 0x0100); /* offset 2048: only the high byte set */
	assert_false(keeps(p, n, NULL, DPORT, NULL));
	n = v4opt(p, 17, 0x3fff); /* MF and the largest offset */
	assert_true(keeps(p, n, "udp", -1, NULL));
	assert_false(keeps(p, n, NULL, DPORT, NULL));
}

/* IPv6: every extension header the engine walks, AH with its own length
 * unit, ports past each; the protocol is the last Next Header. */
static void test_ip6_ext_headers(void **state)
{
	(void)state;
	uint8_t p[128];
	size_t n;

	n = v6chain(p, NULL, 0, 17, 0);
	assert_true(keeps(p, n, "udp", DPORT, A6_SRC));
	assert_true(keeps(p, n, NULL, SPORT, A6_DST));
	assert_false(keeps(p, n, NULL, DECOY, NULL));
	assert_false(keeps(p, n, NULL, -1, "2001:db8::b"));
	assert_false(keeps(p, n, NULL, -1, A4_SRC));

	n = v6chain(p, (const uint8_t[]){0, 43, 60}, 3, 6, 0);
	assert_true(keeps(p, n, "tcp", DPORT, A6_SRC));
	assert_false(keeps(p, n, NULL, DECOY, NULL));
	assert_false(keeps(p, n, "udp", -1, NULL));

	/* AH (RFC 4302 2.2): its length counts 32-bit words minus 2; a
	 * walk in 8-byte units would land 4 bytes off, on DECOY. */
	n = v6chain(p, (const uint8_t[]){51}, 1, 6, 0);
	assert_true(keeps(p, n, "tcp", DPORT, NULL));
	assert_true(keeps(p, n, NULL, SPORT, NULL));
	n = v6chain(p, (const uint8_t[]){0, 51, 60}, 3, 17, 0);
	assert_true(keeps(p, n, "udp", DPORT, NULL));

	n = v6chain(p, (const uint8_t[]){60}, 1, 58, 0);
	assert_true(keeps(p, n, "icmp", -1, A6_DST));
	assert_false(keeps(p, n, NULL, SPORT, NULL));

	/* No Next Header (59): a protocol of its own, no ports. */
	n = v6chain(p, (const uint8_t[]){60}, 1, 59, 0);
	assert_true(keeps(p, n, NULL, -1, A6_SRC));
	assert_false(keeps(p, n, "tcp", -1, NULL));
	assert_false(keeps(p, n, NULL, SPORT, NULL));
}

/* IPv6 fragments: a first fragment (offset 0, M set) is walked past its
 * Fragment header to the transport; a later one names the protocol in
 * its Fragment header and has no ports; an atomic one (RFC 6946) is a
 * whole packet. */
static void test_ip6_fragments(void **state)
{
	(void)state;
	uint8_t p[128];
	size_t n;

	n = v6chain(p, (const uint8_t[]){44}, 1, 6, 0x0001); /* first */
	assert_true(keeps(p, n, "tcp", DPORT, A6_SRC));
	n = v6chain(p, (const uint8_t[]){0, 44, 60}, 3, 17, 0x0001);
	assert_true(keeps(p, n, "udp", SPORT, NULL));
	n = v6chain(p, (const uint8_t[]){44}, 1, 6, 0x0000); /* atomic */
	assert_true(keeps(p, n, "tcp", DPORT, NULL));

	n = v6chain(p, (const uint8_t[]){44}, 1, 6, 0x0009); /* 8, M */
	assert_true(keeps(p, n, "tcp", -1, A6_DST));
	assert_false(keeps(p, n, NULL, DPORT, NULL));
	assert_false(keeps(p, n, NULL, SPORT, NULL));
	n = v6chain(p, (const uint8_t[]){44}, 1, 17, 0xfff8); /* last */
	assert_true(keeps(p, n, "udp", -1, NULL));
	assert_false(keeps(p, n, NULL, DPORT, NULL));
	/* A later fragment's data is not walked: a "Routing header" there
	 * is data, and the protocol is 43 as the Fragment header says. */
	n = v6chain(p, (const uint8_t[]){44, 43}, 2, 6, 0x0010);
	assert_true(keeps(p, n, NULL, -1, A6_SRC));
	assert_false(keeps(p, n, "tcp", -1, NULL));
}

/* Snapshots cut short: what was captured is read, nothing past it (ASan
 * would see it: keeps() hands over exact-size copies); a header cut short
 * matches only the empty filter. */
static void test_truncated(void **state)
{
	(void)state;
	uint8_t p[128], cut[128];
	size_t n = v4opt(p, 6, 0);

	for (size_t k = 0; k <= n; k++) {
		memcpy(cut, p, k);
		bool hdr = k >= 24;	  /* IHL 6: 24 bytes of header */
		bool ports = k >= 24 + 4; /* both ports captured */
		assert_true(keeps(cut, k, NULL, -1, NULL));
		assert_int_equal(keeps(cut, k, "tcp", -1, NULL), hdr);
		assert_int_equal(keeps(cut, k, NULL, -1, A4_SRC), hdr);
		assert_int_equal(keeps(cut, k, NULL, DPORT, NULL), ports);
		assert_int_equal(keeps(cut, k, NULL, SPORT, NULL), ports);
	}

	size_t chain_end = 40 + 8 + 12 + 8; /* hop-by-hop, AH, dst options */
	n = v6chain(p, (const uint8_t[]){0, 51, 60}, 3, 17, 0);
	for (size_t k = 0; k <= n; k++) {
		memcpy(cut, p, k);
		bool hdr = k >= chain_end;
		bool ports = k >= chain_end + 4;
		assert_true(keeps(cut, k, NULL, -1, NULL));
		assert_int_equal(keeps(cut, k, "udp", -1, NULL), hdr);
		assert_int_equal(keeps(cut, k, NULL, -1, A6_DST), hdr);
		assert_int_equal(keeps(cut, k, NULL, DPORT, NULL), ports);
	}
}

/* Malformed headers match only the empty filter: a version neither 4
 * nor 6, an IHL below 5 or past the bytes, an IPv6 chain with Hop-by-Hop
 * not first (RFC 8200 4.3) or longer than the engine walks. */
static void test_malformed(void **state)
{
	(void)state;
	uint8_t p[256];
	size_t n = v4opt(p, 6, 0);

	p[0] = 0x56;
	assert_false(keeps(p, n, NULL, -1, A4_SRC));
	assert_true(keeps(p, n, NULL, -1, NULL));
	p[0] = 0x44; /* IHL 4 */
	assert_false(keeps(p, n, "tcp", -1, NULL));
	p[0] = 0x4f; /* IHL 15: 60 bytes, only 32 there */
	assert_false(keeps(p, n, "tcp", -1, NULL));
	p[0] = 0x48; /* IHL 8: the ports would be at 32, not captured */
	assert_true(keeps(p, n, "tcp", -1, A4_SRC));
	assert_false(keeps(p, n, NULL, DPORT, NULL));

	n = v6chain(p, (const uint8_t[]){60, 0}, 2, 6, 0);
	assert_false(keeps(p, n, "tcp", -1, NULL));
	assert_false(keeps(p, n, NULL, -1, A6_SRC));
	assert_true(keeps(p, n, NULL, -1, NULL));

	uint8_t nine[9] = {60, 60, 60, 60, 60, 60, 60, 60, 60};
	n = v6chain(p, nine, 8, 6, 0);
	assert_true(keeps(p, n, "tcp", DPORT, NULL)); /* 8: walked */
	n = v6chain(p, nine, 9, 6, 0);
	assert_false(keeps(p, n, "tcp", -1, NULL)); /* 9: too long */

	/* An extension header whose length runs past the bytes. */
	n = v6chain(p, (const uint8_t[]){60}, 1, 6, 0);
	p[41] = 4; /* 40 bytes */
	assert_false(keeps(p, n, "tcp", -1, NULL));
	p[41] = 0;
	assert_true(keeps(p, n, "tcp", -1, A6_SRC));
	assert_false(keeps(p, 44, NULL, -1, A6_SRC)); /* cut in the header */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_filters),
	    cmocka_unit_test(test_ip4_offsets),
	    cmocka_unit_test(test_ip4_fragments),
	    cmocka_unit_test(test_ip6_ext_headers),
	    cmocka_unit_test(test_ip6_fragments),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
