/* SPDX-License-Identifier: MIT */
/* test_tun_vnet.c - GSO super-packets from runs of TCP segments
 * (io/tun_vnet.c) and the parser's trust in offloaded checksums.
 *
 * The super-packet is checked the way the kernel uses it: its TCP
 * checksum, left partial, is completed over the whole packet as a NIC
 * (or skb_checksum_help) would, and the result must then pass the
 * ordinary parser, carry every payload byte in order, and have the
 * lengths, flags and header the segments had.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "io/tun_vnet.h"
#include "wire/build.h"
#include "wire/bytes.h"
#include "wire/csum.h"
#include "wire/packet.h"

#define HEADROOM 16
#define MSS	 1000
#define MAXSEG	 80

struct segs {
	uint8_t buf[MAXSEG][HEADROOM + 1600];
	struct core_tx_pkt pkt[MAXSEG];
	int n;
	uint8_t family;
};

static uint8_t payload_byte(uint32_t seq)
{
	return (uint8_t)(seq * 7u + 3u);
}

static struct wire_tcp_opts ts_opts(uint32_t tsval)
{
	struct wire_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.has_ts = true;
	o.ts_val = tsval;
	o.ts_ecr = 42;
	return o;
}

/* The IP header of a packet from the host (203.0.113.10 or
 * 2001:db8::10) to the app (10.0.0.2 or 2001:db8::2). */
static void host_to_app_ip(struct wire_ip_hdr *ip, uint8_t family,
			   uint8_t proto)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = family;
	ip->proto = proto;
	if (family == 4) {
		wire_addr_from4(&ip->src, (const uint8_t[]){203, 0, 113, 10});
		wire_addr_from4(&ip->dst, (const uint8_t[]){10, 0, 0, 2});
	} else {
		uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10};
		uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x02};
		wire_addr_from6(&ip->src, a);
		wire_addr_from6(&ip->dst, b);
	}
}

/* Appends a segment of len payload bytes at seq (payload bytes are a
 * function of their sequence number). */
static void add_seg(struct segs *s, uint32_t seq, size_t len, uint8_t flags,
		    uint16_t sport, const struct wire_tcp_opts *o)
{
	assert_true(s->n < MAXSEG);
	struct wire_ip_hdr ip;
	host_to_app_ip(&ip, s->family, WIRE_PROTO_TCP);
	struct wire_tcp_hdr h;
	memset(&h, 0, sizeof(h));
	h.sport = sport;
	h.dport = 40000;
	h.seq = seq;
	h.ack = 777;
	h.flags = flags;
	h.window = 512;
	h.opts = *o;
	uint8_t *p = s->buf[s->n] + HEADROOM;
	size_t hl = wire_ip_hdr_len(s->family) + wire_tcp_hdr_len(o);
	for (size_t i = 0; i < len; i++)
		p[hl + i] = payload_byte(seq + (uint32_t)i);
	size_t n =
	    wire_tcp_build(p, sizeof(s->buf[0]) - HEADROOM, &ip, &h, len);
	assert_int_equal(n, hl + len);
	s->pkt[s->n] =
	    (struct core_tx_pkt){.data = p, .len = n, .family = s->family};
	s->n++;
}

/* n full segments from seq 1000, all with flags ACK. */
static void full_run(struct segs *s, uint8_t family, int n)
{
	struct wire_tcp_opts o = ts_opts(5);
	memset(s, 0, sizeof(*s));
	s->family = family;
	for (int i = 0; i < n; i++)
		add_seg(s, 1000 + (uint32_t)i * MSS, MSS, WIRE_TCP_ACK, 80, &o);
}

/* Gathers the run as writev() would, completes the partial checksum the
 * way the kernel does, parses the result and checks every byte. */
static void check_super(struct segs *s, int k, uint8_t last_flags)
{
	struct vnet_hdr h;
	size_t hl = vnet_gso_merge(s->pkt, k, &h);
	static uint8_t out[70000];
	size_t len = s->pkt[0].len;
	memcpy(out, s->pkt[0].data, len);
	size_t payload = len - hl;
	for (int i = 1; i < k; i++) {
		memcpy(out + len, s->pkt[i].data + hl, s->pkt[i].len - hl);
		len += s->pkt[i].len - hl;
		payload += s->pkt[i].len - hl;
	}
	size_t iphl = s->family == 4 ? 20 : 40;
	assert_int_equal(h.flags, VNET_F_NEEDS_CSUM);
	assert_int_equal(h.gso_type,
			 s->family == 4 ? VNET_GSO_TCPV4 : VNET_GSO_TCPV6);
	assert_int_equal(h.gso_size, MSS);
	assert_int_equal(h.hdr_len, hl);
	assert_int_equal(h.csum_start, iphl);
	assert_int_equal(h.csum_offset, 16);

	/* A partial checksum is rejected as it stands... */
	struct wire_packet p;
	assert_int_equal(wire_packet_parse(out, len, &p), WIRE_DROP_TCP_CSUM);
	/* ...accepted when the kernel vouches for it... */
	assert_int_equal(wire_packet_parse_csum_ok(out, len, &p), WIRE_OK);
	/* ...and right once completed: sum from csum_start, field included. */
	uint16_t c = wire_csum_fold(
	    wire_csum_add(0, out + h.csum_start, len - h.csum_start));
	memcpy(out + h.csum_start + h.csum_offset, &c, 2);
	assert_int_equal(wire_packet_parse(out, len, &p), WIRE_OK);
	assert_int_equal(p.l3_len, len);
	assert_int_equal(p.payload_len, payload);
	assert_int_equal(p.u.tcp.seq, 1000);
	assert_int_equal(p.u.tcp.ack, 777);
	assert_int_equal(p.u.tcp.flags, last_flags);
	assert_true(p.u.tcp.opts.has_ts);
	for (size_t i = 0; i < payload; i++)
		assert_int_equal(p.payload[i],
				 payload_byte(1000 + (uint32_t)i));
}

static void test_full_runs_merge(void **state)
{
	(void)state;
	static struct segs s;
	for (uint8_t fam = 4; fam <= 6; fam += 2) {
		full_run(&s, fam, 10);
		assert_int_equal(vnet_gso_run(s.pkt, s.n), 10);
		check_super(&s, 10, WIRE_TCP_ACK);
	}
}

/* A short last segment with PSH, or a FIN, ends the run and gives the
 * super-packet its flags (GSO hands them to the last piece only). */
static void test_short_or_flagged_last_ends_run(void **state)
{
	(void)state;
	static struct segs s;
	struct wire_tcp_opts o = ts_opts(5);
	const uint8_t lasts[] = {WIRE_TCP_ACK | WIRE_TCP_PSH,
				 WIRE_TCP_ACK | WIRE_TCP_FIN,
				 WIRE_TCP_ACK | WIRE_TCP_PSH | WIRE_TCP_FIN};
	for (uint8_t fam = 4; fam <= 6; fam += 2) {
		for (size_t i = 0; i < sizeof(lasts); i++) {
			full_run(&s, fam, 4);
			add_seg(&s, 1000 + 4 * MSS, 300, lasts[i], 80, &o);
			add_seg(&s, 1000 + 4 * MSS + 300, MSS, WIRE_TCP_ACK, 80,
				&o);
			assert_int_equal(vnet_gso_run(s.pkt, s.n), 5);
			check_super(&s, 5, lasts[i]);
		}
		/* A short segment without flags ends it too. */
		full_run(&s, fam, 3);
		add_seg(&s, 1000 + 3 * MSS, 10, WIRE_TCP_ACK, 80, &o);
		add_seg(&s, 1000 + 3 * MSS + 10, 10, WIRE_TCP_ACK, 80, &o);
		assert_int_equal(vnet_gso_run(s.pkt, s.n), 4);
		check_super(&s, 4, WIRE_TCP_ACK);
	}
}

/* Whatever differs beyond seq, flags and lengths stops the run before it. */
static void test_run_breaks(void **state)
{
	(void)state;
	static struct segs s;
	struct wire_tcp_opts o = ts_opts(5), later = ts_opts(6);

	full_run(&s, 4, 2);
	add_seg(&s, 1000 + 2 * MSS + 1, MSS, WIRE_TCP_ACK, 80, &o); /* gap */
	assert_int_equal(vnet_gso_run(s.pkt, s.n), 2);

	full_run(&s, 4, 2);
	add_seg(&s, 1000 + 2 * MSS, MSS, WIRE_TCP_ACK, 81, &o); /* port */
	assert_int_equal(vnet_gso_run(s.pkt, s.n), 2);

	full_run(&s, 6, 2);
	add_seg(&s, 1000 + 2 * MSS, MSS, WIRE_TCP_ACK, 80, &later); /* TS */
	assert_int_equal(vnet_gso_run(s.pkt, s.n), 2);

	full_run(&s, 4, 2);
	add_seg(&s, 1000 + 2 * MSS, MSS + 1, WIRE_TCP_ACK, 80, &o); /* big */
	assert_int_equal(vnet_gso_run(s.pkt, s.n), 2);

	full_run(&s, 4, 2);
	add_seg(&s, 1000 + 2 * MSS, 0, WIRE_TCP_ACK, 80, &o); /* pure ACK */
	assert_int_equal(vnet_gso_run(s.pkt, s.n), 2);

	full_run(&s, 4, 2);
	add_seg(&s, 1000 + 2 * MSS, MSS, WIRE_TCP_ACK | WIRE_TCP_RST, 80, &o);
	assert_int_equal(vnet_gso_run(s.pkt, s.n), 2);

	full_run(&s, 4, 3);
	s.pkt[2].family = 6; /* another family's packet */
	assert_int_equal(vnet_gso_run(s.pkt, s.n), 2);

	/* The first segment must be plain data: PSH, FIN or a lone
	 * packet go alone. */
	memset(&s, 0, sizeof(s));
	s.family = 4;
	add_seg(&s, 1000, MSS, WIRE_TCP_ACK | WIRE_TCP_PSH, 80, &o);
	add_seg(&s, 1000 + MSS, MSS, WIRE_TCP_ACK, 80, &o);
	assert_int_equal(vnet_gso_run(s.pkt, s.n), 1);
	assert_int_equal(vnet_gso_run(s.pkt + 1, 1), 1);

	/* A UDP datagram is never part of a run. */
	uint8_t udp[HEADROOM + 100];
	struct wire_ip_hdr ip = {.family = 4, .proto = WIRE_PROTO_UDP};
	size_t n = wire_udp_build(udp + HEADROOM, 100, &ip, 1, 2, 10);
	struct core_tx_pkt u[2] = {
	    {.data = udp + HEADROOM, .len = n, .family = 4},
	    {.data = udp + HEADROOM, .len = n, .family = 4}};
	assert_int_equal(vnet_gso_run(u, 2), 1);
}

/* A run never makes an IP packet over 65535 bytes, the IPv6 header
 * included (the engine's parser refuses longer ones). */
static void test_run_fits_64k(void **state)
{
	(void)state;
	static struct segs s;
	for (uint8_t fam = 4; fam <= 6; fam += 2) {
		full_run(&s, fam, 70);
		int k = vnet_gso_run(s.pkt, s.n);
		size_t hl = s.pkt[0].len - MSS;
		size_t ip_len = hl + (size_t)k * MSS;
		assert_true(ip_len <= 65535);
		assert_true(ip_len + MSS > 65535);
		check_super(&s, k, WIRE_TCP_ACK);
	}
}

static void test_hdr_round_trip(void **state)
{
	(void)state;
	struct vnet_hdr a = {.flags = VNET_F_NEEDS_CSUM,
			     .gso_type = VNET_GSO_TCPV6,
			     .hdr_len = 72,
			     .gso_size = 1428,
			     .csum_start = 40,
			     .csum_offset = 16},
			b;
	uint8_t raw[VNET_HDR_LEN];
	vnet_hdr_write(raw, &a);
	vnet_hdr_read(raw, &b);
	assert_memory_equal(&a, &b, sizeof(a));
}

/* Trust covers TCP and UDP only: an ICMP checksum is still checked. */
static void test_csum_ok_only_tcp_udp(void **state)
{
	(void)state;
	uint8_t buf[200];
	struct wire_ip_hdr ip = {.family = 4, .proto = WIRE_PROTO_ICMP};
	size_t n = wire_icmp_echo_build(buf, sizeof(buf), &ip, 8, 1, 1, 0);
	buf[n - 1] ^= 0xff;
	struct wire_packet p;
	assert_int_equal(wire_packet_parse_csum_ok(buf, n, &p),
			 WIRE_DROP_ICMP_CSUM);
	ip.proto = WIRE_PROTO_UDP;
	n = wire_udp_build(buf, sizeof(buf), &ip, 1, 2, 0);
	buf[n - 1] ^= 0xff; /* the checksum's low byte */
	assert_int_equal(wire_packet_parse(buf, n, &p), WIRE_DROP_UDP_CSUM);
	assert_int_equal(wire_packet_parse_csum_ok(buf, n, &p), WIRE_OK);
	/* Lengths are still checked. */
	wire_put16(buf + 24, 200);
	assert_int_equal(wire_packet_parse_csum_ok(buf, n, &p),
			 WIRE_DROP_UDP_LEN);
}

/* ---- UDP runs (USO) ---------------------------------------------------- */

/* Appends a UDP datagram of len payload bytes whose bytes continue the
 * stream at off, from sport, with IPv4 fragment field frag. */
static void add_dgram(struct segs *s, uint32_t off, size_t len, uint16_t sport,
		      uint16_t frag)
{
	assert_true(s->n < MAXSEG);
	struct wire_ip_hdr ip;
	host_to_app_ip(&ip, s->family, WIRE_PROTO_UDP);
	uint8_t *p = s->buf[s->n] + HEADROOM;
	size_t hl = wire_ip_hdr_len(s->family) + 8;
	for (size_t i = 0; i < len; i++)
		p[hl + i] = payload_byte(off + (uint32_t)i);
	size_t n = wire_udp_build(p, sizeof(s->buf[0]) - HEADROOM, &ip, sport,
				  40000, len);
	assert_int_equal(n, hl + len);
	if (frag) {
		wire_put16(p + 6, frag); /* checksum no longer matters */
	}
	s->pkt[s->n] =
	    (struct core_tx_pkt){.data = p, .len = n, .family = s->family};
	s->n++;
}

/* Full runs merge; the kernel's completion of the partial checksum gives
 * a datagram the parser accepts, with every byte in order. */
static void test_uso_run_merges(void **state)
{
	(void)state;
	static struct segs s;
	for (uint8_t fam = 4; fam <= 6; fam += 2) {
		memset(&s, 0, sizeof(s));
		s.family = fam;
		for (int i = 0; i < 10; i++)
			add_dgram(&s, (uint32_t)i * MSS, MSS, 443, 0);
		add_dgram(&s, 10 * MSS, 300, 443, 0); /* short: ends it */
		add_dgram(&s, 10 * MSS + 300, MSS, 443, 0);
		assert_int_equal(vnet_uso_run(s.pkt, s.n), 11);
		assert_int_equal(vnet_gso_run(s.pkt, s.n), 1); /* not TCP */
		struct vnet_hdr h;
		size_t hl = vnet_uso_merge(s.pkt, 11, &h);
		size_t iphl = fam == 4 ? 20 : 40;
		assert_int_equal(hl, iphl + 8);
		assert_int_equal(h.gso_type, VNET_GSO_UDP_L4);
		assert_int_equal(h.gso_size, MSS);
		assert_int_equal(h.flags, VNET_F_NEEDS_CSUM);
		assert_int_equal(h.csum_start, iphl);
		assert_int_equal(h.csum_offset, 6);
		static uint8_t out[70000];
		size_t len = s.pkt[0].len;
		memcpy(out, s.pkt[0].data, len);
		for (int i = 1; i < 11; i++) {
			memcpy(out + len, s.pkt[i].data + hl,
			       s.pkt[i].len - hl);
			len += s.pkt[i].len - hl;
		}
		uint16_t c = wire_csum_fold(
		    wire_csum_add(0, out + h.csum_start, len - h.csum_start));
		memcpy(out + h.csum_start + h.csum_offset, &c, 2);
		struct wire_packet p;
		assert_int_equal(wire_packet_parse(out, len, &p), WIRE_OK);
		assert_int_equal(p.payload_len, 10 * MSS + 300);
		for (size_t i = 0; i < p.payload_len; i++)
			assert_int_equal(p.payload[i],
					 payload_byte((uint32_t)i));
	}
}

/* What ends a UDP run: another flow, a fragment, a longer datagram, the
 * segment limit. */
static void test_uso_run_breaks(void **state)
{
	(void)state;
	static struct segs s;
	memset(&s, 0, sizeof(s));
	s.family = 4;
	add_dgram(&s, 0, MSS, 443, 0);
	add_dgram(&s, MSS, MSS, 443, 0);
	add_dgram(&s, 2 * MSS, MSS, 444, 0); /* another flow */
	assert_int_equal(vnet_uso_run(s.pkt, s.n), 2);

	memset(&s, 0, sizeof(s));
	s.family = 4;
	add_dgram(&s, 0, MSS, 443, 0);
	add_dgram(&s, MSS, MSS, 443, 0x2000); /* more fragments */
	assert_int_equal(vnet_uso_run(s.pkt, s.n), 1);
	assert_int_equal(vnet_uso_run(s.pkt + 1, 1), 1);

	memset(&s, 0, sizeof(s));
	s.family = 6;
	add_dgram(&s, 0, 500, 443, 0);
	add_dgram(&s, 500, 600, 443, 0); /* longer than the first */
	assert_int_equal(vnet_uso_run(s.pkt, s.n), 1);

	memset(&s, 0, sizeof(s));
	s.family = 4;
	for (int i = 0; i < MAXSEG; i++)
		add_dgram(&s, (uint32_t)i * 100, 100, 443, 0);
	assert_int_equal(vnet_uso_run(s.pkt, s.n), VNET_USO_SEGS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_runs_merge),
	    cmocka_unit_test(test_short_or_flagged_last_ends_run),
	    cmocka_unit_test(test_run_breaks),
	    cmocka_unit_test(test_run_fits_64k),
	    cmocka_unit_test(test_hdr_round_trip),
	    cmocka_unit_test(test_csum_ok_only_tcp_udp),
	    cmocka_unit_test(test_uso_run_merges),
	    cmocka_unit_test(test_uso_run_breaks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
