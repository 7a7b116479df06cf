/* SPDX-License-Identifier: MIT */
/* test_wire_build.c - the packet builders and the fragmenter.
 *
 * Round trips: what a builder writes must parse back to the same fields
 * with every checksum verified, both by the library's checker and by a
 * bytewise reference sum written here. Layouts that other stacks expect
 * (TCP option order, ICMP error quoting) are checked byte by byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire/build.h"
#include "wire/packet.h"
#include "support/ref_csum.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* True if the packet's IPv4 header and transport checksums verify by the
 * reference sum (the sum over a correct message is ffff). */
static bool ref_verify(const uint8_t *b)
{
	int fam = b[0] >> 4;
	size_t hl, l4len;
	uint8_t proto, ph[40];
	uint32_t s = 0;

	if (fam == 4) {
		hl = (size_t)(b[0] & 0xf) * 4;
		if (ref_sum(0, b, hl) != 0xffff)
			return false;
		l4len = get16(b + 2) - hl;
		proto = b[9];
		memcpy(ph, b + 12, 8);
		ph[8] = 0;
		ph[9] = proto;
		ph[10] = (uint8_t)(l4len >> 8);
		ph[11] = (uint8_t)l4len;
		if (proto != 1)
			s = ref_sum(0, ph, 12);
	} else {
		hl = 40;
		l4len = get16(b + 4);
		proto = b[6];
		memcpy(ph, b + 8, 32);
		memset(ph + 32, 0, 8);
		ph[34] = (uint8_t)(l4len >> 8);
		ph[35] = (uint8_t)l4len;
		ph[39] = proto;
		s = ref_sum(0, ph, 40);
	}
	return ref_sum(s, b + hl, l4len) == 0xffff;
}

static void ip_hdr(struct wire_ip_hdr *ip, uint8_t family)
{
	static const uint8_t s4[4] = {10, 0, 0, 2}, d4[4] = {1, 1, 1, 1};
	static const uint8_t s6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0,
				       0,    0, 0, 0, 0, 0, 0, 2};
	static const uint8_t d6[16] = {
	    0x26, 0x06, 0x47, 0, 0x47, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11, 0x11};
	memset(ip, 0, sizeof(*ip));
	ip->family = family;
	if (family == 4) {
		wire_addr_from4(&ip->src, s4);
		wire_addr_from4(&ip->dst, d4);
	} else {
		wire_addr_from6(&ip->src, s6);
		wire_addr_from6(&ip->dst, d6);
	}
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed);
}

static void test_ip_write(void **state)
{
	(void)state;
	uint8_t b[128];
	struct wire_ip_hdr ip;

	ip_hdr(&ip, 4);
	ip.proto = 17;
	assert_int_equal(wire_ip_write(b, sizeof(b), &ip, 8), 20);
	assert_int_equal(b[0], 0x45);
	assert_int_equal(get16(b + 2), 28);
	assert_int_equal(get16(b + 4), 0);	/* id */
	assert_int_equal(get16(b + 6), 0x4000); /* DF */
	assert_int_equal(b[8], 64);		/* default TTL */
	assert_int_equal(b[9], 17);
	assert_int_equal(ref_sum(0, b, 20), 0xffff);
	ip.ttl = 1;
	wire_ip_write(b, sizeof(b), &ip, 8);
	assert_int_equal(b[8], 1);
	assert_int_equal(ref_sum(0, b, 20), 0xffff);

	ip_hdr(&ip, 6);
	ip.proto = 6;
	assert_int_equal(wire_ip_write(b, sizeof(b), &ip, 20), 40);
	assert_int_equal(get32(b), 0x60000000);
	assert_int_equal(get16(b + 4), 20);
	assert_int_equal(b[6], 6);
	assert_int_equal(b[7], 64);
	assert_memory_equal(b + 8, ip.src.b, 16);
	assert_memory_equal(b + 24, ip.dst.b, 16);

	/* Too small for header plus transport; bad family; too long. */
	assert_int_equal(wire_ip_write(b, 59, &ip, 20), 0);
	assert_int_equal(wire_ip_write(b, 60, &ip, 20), 40);
	ip.family = 5;
	assert_int_equal(wire_ip_write(b, sizeof(b), &ip, 8), 0);
	static uint8_t big[70000];
	ip_hdr(&ip, 4);
	assert_int_equal(wire_ip_write(big, sizeof(big), &ip, 65516), 0);
	assert_int_equal(wire_ip_write(big, sizeof(big), &ip, 65515), 20);
}

static void test_udp_round_trip(void **state)
{
	(void)state;
	static uint8_t b[70000];
	struct wire_ip_hdr ip;
	struct wire_packet p;
	static const size_t lens[] = {0, 1, 2, 7, 100, 1472, 65507};

	for (int fam = 4; fam <= 6; fam += 2) {
		ip_hdr(&ip, (uint8_t)fam);
		size_t at = wire_ip_hdr_len((uint8_t)fam) + 8;
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			size_t len =
			    lens[i] - (fam == 6 && lens[i] > 60000 ? 20 : 0);
			fill(b + at, len, (unsigned)i);
			size_t n =
			    wire_udp_build(b, sizeof(b), &ip, 5353, 53, len);
			assert_int_equal(n, at + len);
			assert_true(ref_verify(b));
			assert_int_equal(wire_packet_parse(b, n, &p), WIRE_OK);
			assert_int_equal(p.family, fam);
			assert_int_equal(p.proto, WIRE_PROTO_UDP);
			assert_true(wire_addr_eq(&p.src, &ip.src));
			assert_true(wire_addr_eq(&p.dst, &ip.dst));
			assert_int_equal(p.sport, 5353);
			assert_int_equal(p.dport, 53);
			assert_int_equal(p.payload_len, len);
			assert_ptr_equal(p.payload, b + at);
			assert_int_equal(p.ttl, 64);
			/* cap one short */
			assert_int_equal(
			    wire_udp_build(b, n - 1, &ip, 1, 2, len), 0);
		}
	}
	/* The proto field of ip is ignored: a UDP builder builds UDP. */
	ip_hdr(&ip, 4);
	ip.proto = 6;
	size_t n = wire_udp_build(b, sizeof(b), &ip, 1, 2, 0);
	assert_int_equal(b[9], 17);
	assert_int_equal(wire_packet_parse(b, n, &p), WIRE_OK);
	/* Too long for 65535 in all. */
	assert_int_equal(wire_udp_build(b, sizeof(b), &ip, 1, 2, 65508), 0);
}

static void test_udp_zero_checksum_sent_as_ffff(void **state)
{
	(void)state;
	uint8_t b[64];
	struct wire_ip_hdr ip;
	struct wire_packet p;

	for (int fam = 4; fam <= 6; fam += 2) {
		ip_hdr(&ip, (uint8_t)fam);
		size_t at = wire_ip_hdr_len((uint8_t)fam) + 8;
		/* Choose the 2-byte payload that makes the computed sum
		 * ffff, i.e. the checksum zero. */
		b[at] = b[at + 1] = 0;
		size_t n = wire_udp_build(b, sizeof(b), &ip, 7, 9, 2);
		unsigned c = get16(b + at - 2); /* checksum of payload 0 */
		b[at] = (uint8_t)(c >> 8);
		b[at + 1] = (uint8_t)c;
		n = wire_udp_build(b, sizeof(b), &ip, 7, 9, 2);
		assert_int_equal(get16(b + at - 2), 0xffff);
		assert_true(ref_verify(b));
		assert_int_equal(wire_packet_parse(b, n, &p), WIRE_OK);
	}
}

static void test_tcp_syn_layout(void **state)
{
	(void)state;
	uint8_t b[128];
	struct wire_ip_hdr ip;
	struct wire_tcp_hdr t;

	ip_hdr(&ip, 4);
	memset(&t, 0, sizeof(t));
	t.sport = 443;
	t.dport = 40000;
	t.seq = 0x11223344;
	t.ack = 0x55667788;
	t.flags = WIRE_TCP_SYN | WIRE_TCP_ACK;
	t.window = 65535;
	t.opts.mss = 1460;
	t.opts.sack_permitted = true;
	t.opts.has_ts = true;
	t.opts.ts_val = 0xaabbccdd;
	t.opts.ts_ecr = 0x01020304;
	t.opts.has_wscale = true;
	t.opts.wscale = 7;
	assert_int_equal(wire_tcp_hdr_len(&t.opts), 44);
	size_t n = wire_tcp_build(b, sizeof(b), &ip, &t, 0);
	assert_int_equal(n, 64);
	static const uint8_t want[24] = {
	    2,	  4,	0x05, 0xb4, 1, 1, 4, 2, 1, 1, 8, 10,
	    0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3, 4, 1, 3, 3, 7};
	assert_memory_equal(b + 40, want, 24);
	assert_int_equal(b[32], 11 << 4);
	assert_int_equal(b[33], 0x12);
	assert_int_equal(get16(b + 34), 65535);
	assert_int_equal(get16(b + 38), 0);
	assert_true(ref_verify(b));
	/* RFC 7323 2.3: never send a shift above 14. */
	t.opts.wscale = 20;
	wire_tcp_build(b, sizeof(b), &ip, &t, 0);
	assert_int_equal(b[63], 14);
}

static void test_tcp_round_trip(void **state)
{
	(void)state;
	static uint8_t b[70000];
	struct wire_ip_hdr ip;
	struct wire_tcp_hdr t;
	struct wire_packet p;

	for (int fam = 4; fam <= 6; fam += 2) {
		ip_hdr(&ip, (uint8_t)fam);
		ip.ttl = 200;
		/* Every combination of options and SACK block counts. */
		for (unsigned mask = 0; mask < 16; mask++) {
			for (unsigned sacks = 0; sacks <= 5; sacks++) {
				memset(&t, 0, sizeof(t));
				t.sport = 1000;
				t.dport = 2000;
				t.seq = 0xfffffff0u + mask;
				t.ack = sacks * 1000;
				t.flags = WIRE_TCP_ACK | WIRE_TCP_PSH;
				t.window = (uint16_t)(mask * 999);
				t.opts.mss = mask & 1 ? 1220 : 0;
				t.opts.sack_permitted = mask & 2;
				t.opts.has_ts = mask & 4;
				t.opts.ts_val = 77;
				t.opts.ts_ecr = 88;
				t.opts.has_wscale = mask & 8;
				t.opts.wscale = 20; /* capped to 14 */
				t.opts.sack_count = (uint8_t)sacks;
				for (unsigned k = 0; k < WIRE_TCP_MAX_SACK;
				     k++) {
					t.opts.sack[k].start = k * 100 + 1;
					t.opts.sack[k].end = k * 100 + 50;
				}
				size_t thl = wire_tcp_hdr_len(&t.opts);
				assert_true(thl >= 20 && thl <= 60);
				assert_int_equal(thl % 4, 0);
				size_t at = wire_ip_hdr_len((uint8_t)fam) + thl;
				size_t len = mask * 37 + sacks;
				fill(b + at, len, mask);
				size_t n =
				    wire_tcp_build(b, sizeof(b), &ip, &t, len);
				assert_int_equal(n, at + len);
				assert_true(ref_verify(b));
				assert_int_equal(wire_packet_parse(b, n, &p),
						 WIRE_OK);
				const struct wire_tcp *pt = &p.u.tcp;
				assert_int_equal(p.ttl, 200);
				assert_int_equal(p.sport, 1000);
				assert_int_equal(p.dport, 2000);
				assert_int_equal(pt->seq, t.seq);
				assert_int_equal(pt->ack, t.ack);
				assert_int_equal(pt->flags, t.flags);
				assert_int_equal(pt->window, t.window);
				assert_int_equal(pt->hdr_len, thl);
				assert_int_equal(pt->opts.mss, t.opts.mss);
				assert_int_equal(pt->opts.sack_permitted,
						 t.opts.sack_permitted);
				assert_int_equal(pt->opts.has_ts,
						 t.opts.has_ts);
				if (t.opts.has_ts) {
					assert_int_equal(pt->opts.ts_val, 77);
					assert_int_equal(pt->opts.ts_ecr, 88);
				}
				assert_int_equal(pt->opts.has_wscale,
						 t.opts.has_wscale);
				if (t.opts.has_wscale)
					assert_int_equal(pt->opts.wscale, 14);
				/* SACK blocks fill what the others leave. */
				unsigned fit = sacks > 4 ? 4 : sacks;
				size_t other =
				    (mask & 1 ? 4 : 0) + (mask & 2 ? 4 : 0) +
				    (mask & 4 ? 12 : 0) + (mask & 8 ? 4 : 0);
				while (fit && other + 4 + 8 * fit > 40)
					fit--;
				assert_int_equal(pt->opts.sack_count, fit);
				for (unsigned k = 0; k < fit; k++) {
					assert_int_equal(pt->opts.sack[k].start,
							 k * 100 + 1);
					assert_int_equal(pt->opts.sack[k].end,
							 k * 100 + 50);
				}
				assert_int_equal(p.payload_len, len);
				assert_ptr_equal(p.payload, b + at);
			}
		}
	}
	/* Timestamps leave room for 3 blocks, none other for 4. */
	memset(&t, 0, sizeof(t));
	t.opts.sack_count = 4;
	assert_int_equal(wire_tcp_hdr_len(&t.opts), 20 + 36);
	t.opts.has_ts = true;
	assert_int_equal(wire_tcp_hdr_len(&t.opts), 60);
	t.opts.mss = 1;
	t.opts.sack_permitted = true;
	t.opts.has_wscale = true;
	assert_int_equal(wire_tcp_hdr_len(&t.opts), 20 + 24 + 12);
}

static void test_icmp_echo(void **state)
{
	(void)state;
	uint8_t b[256];
	struct wire_ip_hdr ip;
	struct wire_packet p;

	for (int fam = 4; fam <= 6; fam += 2) {
		ip_hdr(&ip, (uint8_t)fam);
		uint8_t type =
		    fam == 4 ? WIRE_ICMP4_ECHO_REPLY : WIRE_ICMP6_ECHO_REPLY;
		size_t at = wire_ip_hdr_len((uint8_t)fam) + 8;
		fill(b + at, 56, 5);
		size_t n = wire_icmp_echo_build(b, sizeof(b), &ip, type, 0xabcd,
						0x0102, 56);
		assert_int_equal(n, at + 56);
		assert_true(ref_verify(b));
		assert_int_equal(wire_packet_parse(b, n, &p), WIRE_OK);
		assert_int_equal(p.proto, fam == 4 ? 1 : 58);
		assert_int_equal(p.u.icmp.type, type);
		assert_int_equal(p.u.icmp.code, 0);
		assert_int_equal(p.u.icmp.id, 0xabcd);
		assert_int_equal(p.u.icmp.seq, 0x0102);
		assert_int_equal(p.payload_len, 56);
		/* Odd data length. */
		n = wire_icmp_echo_build(b, sizeof(b), &ip, type, 1, 2, 3);
		assert_true(ref_verify(b));
		assert_int_equal(wire_packet_parse(b, n, &p), WIRE_OK);
		assert_int_equal(
		    wire_icmp_echo_build(b, at + 2, &ip, type, 1, 2, 3), 0);
	}
}

static void test_icmp_error_quoting(void **state)
{
	(void)state;
	static uint8_t orig[3000], b[4000];
	struct wire_ip_hdr ip, oip;
	struct wire_packet p;

	for (int fam = 4; fam <= 6; fam += 2) {
		size_t limit = fam == 4 ? 576 : 1280;
		size_t hl = wire_ip_hdr_len((uint8_t)fam);
		/* The offending packet: UDP from the app. */
		ip_hdr(&oip, (uint8_t)fam);
		ip_hdr(&ip, (uint8_t)fam);
		ip.src = oip.dst;
		ip.dst = oip.src;
		static const size_t lens[] = {0, 100, 500, 1200, 2000};
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			fill(orig + hl + 8, lens[i], (unsigned)i);
			size_t on = wire_udp_build(orig, sizeof(orig), &oip,
						   4000, 53, lens[i]);
			uint8_t type = fam == 4 ? WIRE_ICMP4_UNREACH
						: WIRE_ICMP6_PACKET_TOO_BIG;
			uint8_t code =
			    fam == 4 ? WIRE_ICMP4_UNREACH_NEEDFRAG : 0;
			size_t n = wire_icmp_error_build(
			    b, sizeof(b), &ip, type, code, 1400, orig, on);
			size_t quote =
			    on < limit - hl - 8 ? on : limit - hl - 8;
			assert_int_equal(n, hl + 8 + quote);
			assert_true(n <= limit);
			if (on + hl + 8 >= limit)
				assert_int_equal(n, limit);
			assert_memory_equal(b + hl + 8, orig, quote);
			assert_true(ref_verify(b));
			assert_int_equal(wire_packet_parse(b, n, &p), WIRE_OK);
			assert_int_equal(p.u.icmp.type, type);
			assert_int_equal(p.u.icmp.code, code);
			assert_true(wire_addr_eq(&p.dst, &oip.src));
			if (fam == 4) {
				/* RFC 1191: unused 16 bits, next-hop MTU. */
				assert_int_equal(get16(b + hl + 4), 0);
				assert_int_equal(get16(b + hl + 6), 1400);
			} else {
				assert_int_equal(get32(b + hl + 4), 1400);
			}
			/* Capacity for the header and quote, no less. */
			assert_int_equal(wire_icmp_error_build(b, n - 1, &ip,
							       type, code, 0,
							       orig, on),
					 0);
		}
		/* Port unreachable has the field zero. */
		size_t on = wire_udp_build(orig, sizeof(orig), &oip, 1, 2, 0);
		size_t n = wire_icmp_error_build(
		    b, sizeof(b), &ip,
		    fam == 4 ? WIRE_ICMP4_UNREACH : WIRE_ICMP6_UNREACH,
		    fam == 4 ? WIRE_ICMP4_UNREACH_PORT
			     : WIRE_ICMP6_UNREACH_PORT,
		    0, orig, on);
		assert_int_equal(n, hl + 8 + on);
		assert_int_equal(get32(b + hl + 4), 0);
		assert_int_equal(wire_packet_parse(b, n, &p), WIRE_OK);

		/* Quoting a packet that sits in the output buffer itself. */
		fill(b + hl + 8, 1500, 9);
		on = wire_udp_build(b, sizeof(b), &oip, 4000, 53, 1500);
		memcpy(orig, b, on);
		n = wire_icmp_error_build(b, sizeof(b), &ip, 3, 3, 0, b, on);
		assert_int_equal(n, limit);
		assert_memory_equal(b + hl + 8, orig, limit - hl - 8);
		assert_int_equal(wire_packet_parse(b, n, &p), WIRE_OK);
	}
}

struct frags {
	int count;
	size_t len[64];
	uint8_t pkt[64][2048];
	int stop_after; /* emit fails on this call; 0: never */
};

static int collect(void *ctx, const uint8_t *frag, size_t len)
{
	struct frags *f = ctx;
	if (f->stop_after && f->count + 1 == f->stop_after)
		return -1;
	assert_true(f->count < 64 && len <= 2048);
	memcpy(f->pkt[f->count], frag, len);
	f->len[f->count++] = len;
	return 0;
}

/* Checks fragments f of the packet (orig, n) for a 1500 MTU and glues
 * their data back together into out; returns the data length. */
static size_t check_frags(const struct frags *f, const uint8_t *orig,
			  size_t mtu, uint8_t *out)
{
	struct wire_packet p;
	size_t next = 0;

	for (int i = 0; i < f->count; i++) {
		assert_true(f->len[i] <= mtu);
		assert_int_equal(wire_packet_parse(f->pkt[i], f->len[i], &p),
				 WIRE_OK);
		assert_true(p.is_fragment);
		assert_false(p.dont_fragment);
		assert_int_equal(p.frag_offset, next);
		assert_int_equal(p.more_fragments, i + 1 < f->count);
		assert_int_equal(p.frag_id,
				 0x12345678u &
				     (orig[0] >> 4 == 4 ? 0xffff : 0xffffffff));
		assert_int_equal(p.proto, WIRE_PROTO_UDP);
		if (i + 1 < f->count)
			assert_int_equal(p.payload_len % 8, 0);
		memcpy(out + next, p.payload, p.payload_len);
		next += p.payload_len;
	}
	return next;
}

static void test_fragment_4000_udp(void **state)
{
	(void)state;
	static uint8_t pkt[4000], data[8000];
	static struct frags f;
	struct wire_ip_hdr ip;

	for (int fam = 4; fam <= 6; fam += 2) {
		ip_hdr(&ip, (uint8_t)fam);
		size_t hl = wire_ip_hdr_len((uint8_t)fam);
		fill(pkt + hl + 8, 4000 - hl - 8, 3);
		size_t n =
		    wire_udp_build(pkt, sizeof(pkt), &ip, 1, 2, 4000 - hl - 8);
		assert_int_equal(n, 4000);

		memset(&f, 0, sizeof(f));
		assert_int_equal(
		    wire_ip_fragment(pkt, n, 1500, 0x12345678, collect, &f), 3);
		size_t per = fam == 4 ? 1480 : 1448;
		assert_int_equal(f.len[0], hl + (fam == 6 ? 8 : 0) + per);
		assert_int_equal(f.len[1], f.len[0]);
		size_t got = check_frags(&f, pkt, 1500, data);
		assert_int_equal(got, n - hl);
		assert_memory_equal(data, pkt + hl, got);
		for (int i = 0; i < 3; i++) {
			/* Headers other than lengths/flags are the original's. */
			if (fam == 4) {
				assert_memory_equal(f.pkt[i] + 8, pkt + 8, 2);
				assert_memory_equal(f.pkt[i] + 12, pkt + 12, 8);
				assert_int_equal(ref_sum(0, f.pkt[i], 20),
						 0xffff);
			} else {
				assert_memory_equal(f.pkt[i] + 7, pkt + 7, 33);
				assert_int_equal(f.pkt[i][6], 44);
			}
		}
	}
}

/* Reassembles in order whatever fragments come, of any size. */
static struct {
	size_t mtu, next;
	int count;
	uint8_t data[70000];
} glue;

static int collect_glue(void *ctx, const uint8_t *frag, size_t len)
{
	struct wire_packet p;

	(void)ctx;
	assert_true(len <= glue.mtu);
	assert_int_equal(wire_packet_parse(frag, len, &p), WIRE_OK);
	assert_true(p.is_fragment);
	assert_int_equal(p.frag_offset, glue.next);
	memcpy(glue.data + glue.next, p.payload, p.payload_len);
	glue.next += p.payload_len;
	glue.count++;
	return 0;
}

static void test_fragment_edges(void **state)
{
	(void)state;
	static uint8_t pkt[70000], data[70000];
	static struct frags f;
	struct wire_ip_hdr ip;

	ip_hdr(&ip, 4);
	size_t n = wire_udp_build(pkt, sizeof(pkt), &ip, 1, 2, 1000);
	/* Fits: emitted once, unchanged (DF kept). */
	memset(&f, 0, sizeof(f));
	assert_int_equal(wire_ip_fragment(pkt, n, 1500, 1, collect, &f), 1);
	assert_int_equal(f.len[0], n);
	assert_memory_equal(f.pkt[0], pkt, n);
	/* MTU too small; garbage; emit failure. */
	assert_int_equal(wire_ip_fragment(pkt, n, 67, 1, collect, &f), -1);
	assert_int_equal(wire_ip_fragment(pkt, 10, 576, 1, collect, &f), -1);
	assert_int_equal(wire_ip_fragment(pkt, n - 1, 576, 1, collect, &f), -1);
	memset(&f, 0, sizeof(f));
	f.stop_after = 2;
	assert_int_equal(wire_ip_fragment(pkt, n, 576, 1, collect, &f), -1);
	assert_int_equal(f.count, 1);

	/* The smallest MTU: 8 bytes of data per fragment. */
	memset(&f, 0, sizeof(f));
	n = wire_udp_build(pkt, sizeof(pkt), &ip, 1, 2, 100);
	assert_int_equal(wire_ip_fragment(pkt, n, 68, 0x12345678, collect, &f),
			 3);
	assert_int_equal(check_frags(&f, pkt, 68, data), n - 20);
	assert_memory_equal(data, pkt + 20, n - 20);

	/* MTU not a multiple of 8 past the header: offsets stay aligned. */
	for (size_t mtu = 576; mtu < 600; mtu++) {
		memset(&f, 0, sizeof(f));
		n = wire_udp_build(pkt, sizeof(pkt), &ip, 1, 2, 1500);
		assert_true(
		    wire_ip_fragment(pkt, n, mtu, 0x12345678, collect, &f) > 0);
		assert_int_equal(check_frags(&f, pkt, mtu, data), n - 20);
		assert_memory_equal(data, pkt + 20, n - 20);
	}

	/* IPv6: minimum MTU and refusals. */
	ip_hdr(&ip, 6);
	n = wire_udp_build(pkt, sizeof(pkt), &ip, 1, 2, 3000);
	assert_int_equal(wire_ip_fragment(pkt, n, 1279, 1, collect, &f), -1);
	memset(&f, 0, sizeof(f));
	assert_int_equal(
	    wire_ip_fragment(pkt, n, 1280, 0x12345678, collect, &f), 3);
	assert_int_equal(check_frags(&f, pkt, 1280, data), n - 40);
	assert_memory_equal(data, pkt + 40, n - 40);
	pkt[6] = 0; /* Hop-by-Hop first: would need the chain walked */
	assert_int_equal(wire_ip_fragment(pkt, n, 1280, 1, collect, &f), -1);
	pkt[6] = 44; /* already a fragment */
	assert_int_equal(wire_ip_fragment(pkt, n, 1280, 1, collect, &f), -1);

	/* A huge MTU still yields fragments no larger than it. */
	ip_hdr(&ip, 4);
	n = wire_udp_build(pkt, sizeof(pkt), &ip, 1, 2, 65000);
	memset(&glue, 0, sizeof(glue));
	glue.mtu = 60000;
	int count = wire_ip_fragment(pkt, n, 60000, 1, collect_glue, &glue);
	assert_true(count >= 2);
	assert_int_equal(count, glue.count);
	assert_int_equal(glue.next, n - 20);
	assert_memory_equal(glue.data, pkt + 20, n - 20);
}

static void test_fragment_ip4_options(void **state)
{
	(void)state;
	static uint8_t pkt[2000], data[2000];
	static struct frags f;
	struct wire_packet p;

	/* 28-byte header: Router Alert (copied) and Record Route (not). */
	static const uint8_t opts[8] = {0x94, 4, 0, 0, 7, 3, 4, 0};
	struct wire_ip_hdr ip;
	ip_hdr(&ip, 4);
	size_t n = wire_udp_build(pkt + 8, sizeof(pkt) - 8, &ip, 1, 2, 1200);
	memmove(pkt, pkt + 8, 20);
	memcpy(pkt + 20, opts, 8);
	pkt[0] = 0x47;
	n += 8;
	pkt[2] = (uint8_t)(n >> 8);
	pkt[3] = (uint8_t)n;
	pkt[10] = pkt[11] = 0;
	unsigned c = ~ref_sum(0, pkt, 28) & 0xffff;
	pkt[10] = (uint8_t)(c >> 8);
	pkt[11] = (uint8_t)c;
	assert_int_equal(wire_packet_parse(pkt, n, &p), WIRE_OK);

	memset(&f, 0, sizeof(f));
	assert_int_equal(wire_ip_fragment(pkt, n, 576, 0x12345678, collect, &f),
			 3);
	size_t next = 0;
	for (int i = 0; i < f.count; i++) {
		assert_int_equal(wire_packet_parse(f.pkt[i], f.len[i], &p),
				 WIRE_OK);
		assert_int_equal(p.l3_hdr_len, i == 0 ? 28 : 24);
		/* Later fragments keep Router Alert only. */
		assert_memory_equal(f.pkt[i] + 20, opts, 4);
		assert_int_equal(p.frag_offset, next);
		memcpy(data + next, p.payload, p.payload_len);
		next += p.payload_len;
	}
	assert_int_equal(next, n - 28);
	assert_memory_equal(data, pkt + 28, next);

	/* Splitting a fragment again keeps its id, offset and MF. */
	static struct frags g;
	memset(&g, 0, sizeof(g));
	assert_int_equal(
	    wire_ip_fragment(f.pkt[1], f.len[1], 100, 999, collect, &g),
	    (int)((f.len[1] - 24 + 71) / 72));
	next = 544;
	for (int i = 0; i < g.count; i++) {
		assert_int_equal(wire_packet_parse(g.pkt[i], g.len[i], &p),
				 WIRE_OK);
		assert_int_equal(p.frag_id, 0x5678);
		assert_int_equal(p.frag_offset, next);
		assert_true(p.more_fragments);
		next += p.payload_len;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ip_write),
	    cmocka_unit_test(test_udp_round_trip),
	    cmocka_unit_test(test_udp_zero_checksum_sent_as_ffff),
	    cmocka_unit_test(test_tcp_syn_layout),
	    cmocka_unit_test(test_tcp_round_trip),
	    cmocka_unit_test(test_icmp_echo),
	    cmocka_unit_test(test_icmp_error_quoting),
	    cmocka_unit_test(test_fragment_4000_udp),
	    cmocka_unit_test(test_fragment_edges),
	    cmocka_unit_test(test_fragment_ip4_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
