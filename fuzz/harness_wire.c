/* SPDX-License-Identifier: MIT */
/* harness_wire.c - fuzz harnesses for the stateless wire layer and the
 * reassembler, and the helpers every harness shares.
 *
 * Input formats (fuzz/make_seeds.py writes seeds in them):
 *
 * fz_packet_parse_run:  [flags] [packet bytes...]
 *   flags bit 0: fix the checksums first (fz_fix_checksums), so mutations
 *   get past the checksum tests; bits 1-3: the MTU for the fragmentation
 *   round trip (see frag_mtu()).
 *   Checks for every packet that parses: every pointer and length of the
 *   view inside the buffer and consistent with the headers; a second parse
 *   gives the same view; a UDP, TCP or ICMP echo packet without IP options
 *   or extension headers rebuilt with the builders parses back to the same
 *   fields; wire_ip_fragment() splits it into fragments that each parse,
 *   fit the MTU and reassemble to the original bytes. The trusting parse
 *   (wire_packet_parse_csum_ok) must give the same verdict and view, but
 *   for accepting what failed only a TCP or UDP checksum. The capture's
 *   lenient view (wire_packet_peek) runs on every input and on the
 *   prefixes of every accepted packet, and must agree with the view of the
 *   trusting parse on family, addresses, protocol, fragment and ports.
 *
 * fz_tcp_opts_run:  [mode] [bytes...]
 *   mode bit 0 clear: the bytes are TCP options: wire_tcp_parse_opts() must
 *   agree with wire_packet_parse() on a segment carrying them, and what it
 *   returns must survive a build/parse round trip. Set: the bytes fill a
 *   struct wire_tcp_opts for the builder, whose output must parse back.
 *
 * fz_reasm_run:  [config] then steps of [op] [args...]
 *   config: max_bytes (bits 0-1), max_datagrams 1-4 (bits 2-3), timeout
 *   (bits 4-5). op bits 0-1: 0 or 1 a fragment, 2 a clock step, 3 an
 *   expiry; a fragment is [key/flags][offset u16][length u16][seed]: four
 *   datagram keys (IPv4, IPv4 with options, IPv6, IPv6 with a Destination
 *   Options header), MF from the op byte, content a pattern of the seed.
 *   Fragments are built as real packets and only those wire_packet_parse
 *   accepts are added, as in the engine. Checks: a completed datagram is
 *   exactly the bytes last sent at each offset with the first fragment's
 *   headers patched; the memory charged never passes max_bytes; expiry
 *   and destroy give every byte back.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/reasm.h"
#include "harness.h"
#include "wire/build.h"
#include "wire/bytes.h"
#include "wire/csum.h"
#include "wire/packet.h"
#include "wire/peek.h"

void fz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("fuzz invariant broken: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

size_t fz_bytes(struct fz_in *in, uint8_t *out, size_t n)
{
	if (n > in->n)
		n = in->n;
	memcpy(out, in->p, n);
	in->p += n;
	in->n -= n;
	return n;
}

/* Stores the transport checksum for the view p (parsed up to its failed
 * checksum test) into pkt. */
static void fix_l4_csum(uint8_t *pkt, size_t len, const struct wire_packet *p)
{
	size_t off = (size_t)(p->l4 - pkt);
	size_t at;
	bool pseudo = true;

	if (off > len || p->l4_len > len - off)
		return;
	switch (p->proto) {
	case WIRE_PROTO_UDP:
		at = 6;
		break;
	case WIRE_PROTO_TCP:
		at = 16;
		break;
	case WIRE_PROTO_ICMP:
		at = 2;
		pseudo = false;
		break;
	case WIRE_PROTO_ICMP6:
		at = 2;
		break;
	default:
		return;
	}
	if (p->l4_len < at + 2)
		return;
	uint8_t *l4 = pkt + off;
	wire_put16(l4 + at, 0);
	uint32_t sum = pseudo ? wire_csum_pseudo(p->family, &p->src, &p->dst,
						 p->proto, p->l4_len)
			      : 0;
	uint16_t c = wire_csum_fold(wire_csum_add(sum, l4, p->l4_len));
	if (c == 0 && p->proto == WIRE_PROTO_UDP)
		c = 0xffff;
	memcpy(l4 + at, &c, 2);
}

void fz_fix_checksums(uint8_t *pkt, size_t len)
{
	if (len >= WIRE_IP4_HDR_LEN && pkt[0] >> 4 == 4) {
		size_t ihl = (size_t)(pkt[0] & 0xf) * 4;
		if (ihl >= WIRE_IP4_HDR_LEN && ihl <= len) {
			wire_put16(pkt + 10, 0);
			uint16_t c = wire_csum_fold(wire_csum_add(0, pkt, ihl));
			memcpy(pkt + 10, &c, 2);
		}
	}
	struct wire_packet p;
	enum wire_drop r = wire_packet_parse(pkt, len, &p);
	if (r == WIRE_DROP_UDP_CSUM || r == WIRE_DROP_TCP_CSUM ||
	    r == WIRE_DROP_ICMP_CSUM)
		fix_l4_csum(pkt, len, &p);
}

/* --- fz_packet_parse_run --- */

static bool in_buf(const uint8_t *buf, size_t len, const uint8_t *p, size_t n)
{
	return p >= buf && (size_t)(p - buf) <= len &&
	       n <= len - (size_t)(p - buf);
}

static void check_opts(const struct wire_tcp_opts *o)
{
	FZ_CHECK(o->sack_count <= WIRE_TCP_MAX_SACK, "sack_count %u",
		 o->sack_count);
	FZ_CHECK(o->has_wscale ? o->wscale <= 14 : o->wscale == 0,
		 "wscale %u (has %d)", o->wscale, o->has_wscale);
	FZ_CHECK(o->has_ts || (o->ts_val == 0 && o->ts_ecr == 0),
		 "timestamps without the option");
}

/* Every field of a view that parsed must describe bytes of buf. */
static void check_view(const uint8_t *buf, size_t len,
		       const struct wire_packet *p)
{
	FZ_CHECK(p->l3 == buf, "l3 moved");
	FZ_CHECK(p->family == (buf[0] >> 4), "family %u for version %u",
		 p->family, buf[0] >> 4);
	FZ_CHECK(p->l3_len <= len, "l3_len %u > %zu", p->l3_len, len);
	FZ_CHECK(p->l3_hdr_len <= p->l3_len, "l3_hdr_len %u > l3_len %u",
		 p->l3_hdr_len, p->l3_len);
	FZ_CHECK(p->l3_hdr_len >= (p->family == 4 ? 20 : 40), "l3_hdr_len %u",
		 p->l3_hdr_len);
	FZ_CHECK(p->l4 == buf + p->l3_hdr_len, "l4 not after the IP headers");
	FZ_CHECK(in_buf(buf, p->l3_len, p->l4, p->l4_len),
		 "l4_len %u past the packet", p->l4_len);
	FZ_CHECK(in_buf(p->l4, p->l4_len, p->payload, p->payload_len),
		 "payload outside l4");
	FZ_CHECK(p->payload + p->payload_len == p->l4 + p->l4_len,
		 "payload does not end with l4");

	if (p->is_fragment) {
		FZ_CHECK(p->more_fragments || p->frag_offset,
			 "a fragment at offset 0 without MF");
		FZ_CHECK(p->l4_len == p->l3_len - p->l3_hdr_len &&
			     p->payload == p->l4 && p->payload_len == p->l4_len,
			 "fragment data view");
		FZ_CHECK(p->payload_len > 0, "empty fragment");
		FZ_CHECK(!p->more_fragments || p->payload_len % 8 == 0,
			 "non-last fragment of %u bytes", p->payload_len);
		size_t unfrag =
		    p->family == 4 ? p->l3_hdr_len : p->frag_hdr_off;
		FZ_CHECK(unfrag + p->frag_offset + p->payload_len <= 65535,
			 "fragment ends past 65535");
		if (p->family == 6)
			FZ_CHECK(p->frag_hdr_off + 8 == p->l3_hdr_len &&
				     p->frag_nh_off < p->frag_hdr_off,
				 "IPv6 fragment header offsets %u/%u/%u",
				 p->frag_nh_off, p->frag_hdr_off,
				 p->l3_hdr_len);
		return;
	}
	FZ_CHECK(p->l4_len == p->l3_len - p->l3_hdr_len ||
		     p->proto == WIRE_PROTO_UDP,
		 "l4_len %u != IP payload %u", p->l4_len,
		 p->l3_len - p->l3_hdr_len);
	switch (p->proto) {
	case WIRE_PROTO_UDP:
		FZ_CHECK(p->l4_len >= 8 &&
			     p->l4_len <= p->l3_len - p->l3_hdr_len,
			 "UDP length %u", p->l4_len);
		FZ_CHECK(p->payload == p->l4 + 8 &&
			     p->payload_len == p->l4_len - 8,
			 "UDP payload view");
		break;
	case WIRE_PROTO_TCP:
		FZ_CHECK(p->u.tcp.hdr_len >= 20 && p->u.tcp.hdr_len <= 60 &&
			     p->u.tcp.hdr_len % 4 == 0 &&
			     p->u.tcp.hdr_len <= p->l4_len,
			 "TCP header length %u", p->u.tcp.hdr_len);
		FZ_CHECK(p->payload == p->l4 + p->u.tcp.hdr_len &&
			     p->payload_len == p->l4_len - p->u.tcp.hdr_len,
			 "TCP payload view");
		check_opts(&p->u.tcp.opts);
		break;
	case WIRE_PROTO_ICMP:
	case WIRE_PROTO_ICMP6:
		FZ_CHECK(p->l4_len >= 8 && p->payload == p->l4 + 8,
			 "ICMP view");
		FZ_CHECK((p->proto == WIRE_PROTO_ICMP) == (p->family == 4),
			 "ICMP of the wrong family");
		break;
	default:
		fz_fail("proto %u parsed as OK", p->proto);
	}
}

/* Compares what the builder can express of two option sets. */
static void check_opts_rebuilt(const struct wire_tcp_opts *in,
			       const struct wire_tcp_opts *out)
{
	FZ_CHECK(out->mss == in->mss, "MSS %u rebuilt as %u", in->mss,
		 out->mss);
	FZ_CHECK(out->has_wscale == in->has_wscale &&
		     out->wscale == (in->wscale > 14 ? 14 : in->wscale),
		 "window scale rebuilt differently");
	FZ_CHECK(out->sack_permitted == in->sack_permitted,
		 "SACK-permitted rebuilt differently");
	FZ_CHECK(out->has_ts == in->has_ts && out->ts_val == in->ts_val &&
		     out->ts_ecr == in->ts_ecr,
		 "timestamps rebuilt differently");
	/* The builder keeps the SACK blocks that fit after the rest. */
	size_t fixed = (in->mss ? 4 : 0) + (in->sack_permitted ? 4 : 0) +
		       (in->has_ts ? 12 : 0) + (in->has_wscale ? 4 : 0);
	unsigned fit = (unsigned)((40 - fixed - 4) / 8);
	unsigned want = in->sack_count < WIRE_TCP_MAX_SACK ? in->sack_count
							   : WIRE_TCP_MAX_SACK;
	if (want > fit)
		want = fit;
	FZ_CHECK(out->sack_count == want, "%u SACK blocks rebuilt as %u", want,
		 out->sack_count);
	for (unsigned k = 0; k < want; k++)
		FZ_CHECK(out->sack[k].start == in->sack[k].start &&
			     out->sack[k].end == in->sack[k].end,
			 "SACK block %u rebuilt differently", k);
}

/* Rebuilds p with the builders and checks the result parses to the same
 * fields. Only packets the builders can express: no IPv4 options, no
 * IPv6 extension headers, UDP, TCP or ICMP echo. */
static void check_rebuild(const struct wire_packet *p)
{
	if (p->is_fragment || p->l3_hdr_len != wire_ip_hdr_len(p->family))
		return;
	struct wire_ip_hdr ip = {
	    .family = p->family,
	    .proto = p->proto,
	    .ttl = p->ttl,
	    .src = p->src,
	    .dst = p->dst,
	};
	size_t hl = wire_ip_hdr_len(p->family), n = 0, plen = p->payload_len;
	uint8_t *buf = malloc(hl + 60 + plen);
	size_t cap = hl + 60 + plen;
	bool echo = false;

	switch (p->proto) {
	case WIRE_PROTO_UDP:
		memcpy(buf + hl + 8, p->payload, plen);
		n = wire_udp_build(buf, cap, &ip, p->sport, p->dport, plen);
		break;
	case WIRE_PROTO_TCP: {
		struct wire_tcp_hdr h = {
		    .sport = p->sport,
		    .dport = p->dport,
		    .seq = p->u.tcp.seq,
		    .ack = p->u.tcp.ack,
		    .flags = p->u.tcp.flags,
		    .window = p->u.tcp.window,
		    .opts = p->u.tcp.opts,
		};
		memcpy(buf + hl + wire_tcp_hdr_len(&h.opts), p->payload, plen);
		n = wire_tcp_build(buf, cap, &ip, &h, plen);
		break;
	}
	default:
		echo = p->family == 4
			   ? (p->u.icmp.type == WIRE_ICMP4_ECHO_REQUEST ||
			      p->u.icmp.type == WIRE_ICMP4_ECHO_REPLY)
			   : (p->u.icmp.type == WIRE_ICMP6_ECHO_REQUEST ||
			      p->u.icmp.type == WIRE_ICMP6_ECHO_REPLY);
		echo = echo && p->u.icmp.code == 0; /* the builder writes 0 */
		if (!echo)
			break;
		memcpy(buf + hl + 8, p->payload, plen);
		n = wire_icmp_echo_build(buf, cap, &ip, p->u.icmp.type,
					 p->u.icmp.id, p->u.icmp.seq, plen);
		break;
	}
	if (p->proto == WIRE_PROTO_UDP || p->proto == WIRE_PROTO_TCP || echo) {
		FZ_CHECK(n > 0, "builder refused a packet that parsed");
		struct wire_packet q;
		enum wire_drop r = wire_packet_parse(buf, n, &q);
		FZ_CHECK(r == WIRE_OK, "rebuilt packet refused: %s",
			 wire_drop_name(r));
		FZ_CHECK(q.family == p->family && q.proto == p->proto &&
			     wire_addr_eq(&q.src, &p->src) &&
			     wire_addr_eq(&q.dst, &p->dst) &&
			     q.ttl == (p->ttl ? p->ttl : 64) &&
			     q.sport == p->sport && q.dport == p->dport &&
			     q.payload_len == p->payload_len &&
			     !memcmp(q.payload, p->payload, plen),
			 "rebuilt packet differs");
		if (p->proto == WIRE_PROTO_TCP) {
			FZ_CHECK(q.u.tcp.seq == p->u.tcp.seq &&
				     q.u.tcp.ack == p->u.tcp.ack &&
				     q.u.tcp.flags == p->u.tcp.flags &&
				     q.u.tcp.window == p->u.tcp.window,
				 "rebuilt TCP header differs");
			check_opts_rebuilt(&p->u.tcp.opts, &q.u.tcp.opts);
		} else if (echo) {
			FZ_CHECK(q.u.icmp.type == p->u.icmp.type &&
				     q.u.icmp.id == p->u.icmp.id &&
				     q.u.icmp.seq == p->u.icmp.seq,
				 "rebuilt echo differs");
		}
	}
	free(buf);
}

struct frag_list {
	size_t n;
	uint8_t **pkt;
	size_t *len;
};

static int frag_collect(void *ctx, const uint8_t *frag, size_t len)
{
	struct frag_list *l = ctx;
	if (l->n % 64 == 0) {
		l->pkt = realloc(l->pkt, (l->n + 64) * sizeof(*l->pkt));
		l->len = realloc(l->len, (l->n + 64) * sizeof(*l->len));
	}
	l->pkt[l->n] = malloc(len);
	memcpy(l->pkt[l->n], frag, len);
	l->len[l->n++] = len;
	return 0;
}

static size_t frag_mtu(uint8_t family, unsigned sel)
{
	static const size_t mtu4[8] = {68, 76, 128, 296, 576, 1280, 1500, 9000};
	static const size_t mtu6[8] = {1280, 1281, 1288, 1400,
				       1500, 4000, 9000, 16384};
	return family == 4 ? mtu4[sel & 7] : mtu6[sel & 7];
}

/* Fragments p at an MTU and puts the pieces back together with the
 * reassembler: the result must be the packet that went in. */
static void check_fragment(const struct wire_packet *p, unsigned mtu_sel)
{
	if (p->is_fragment)
		return;
	size_t mtu = frag_mtu(p->family, mtu_sel);
	struct frag_list l = {0, NULL, NULL};
	int n = wire_ip_fragment(p->l3, p->l3_len, mtu, 0x1234567u,
				 frag_collect, &l);
	uint8_t nh = p->l3[6];
	if (p->family == 4 || p->l3_len <= mtu ||
	    (nh != 0 && nh != 43 && nh != 44))
		FZ_CHECK(n >= 1,
			 "wire_ip_fragment refused a packet that parsed "
			 "(mtu %zu)",
			 mtu);
	if (n == 1) {
		FZ_CHECK(l.len[0] == p->l3_len &&
			     !memcmp(l.pkt[0], p->l3, p->l3_len),
			 "a packet that fits was changed by wire_ip_fragment");
	} else if (n > 1) {
		struct core_mem mem = {0};
		struct reasm *r = reasm_create(&mem, 1u << 20, 2, 1000000);
		const uint8_t *out = NULL;
		size_t out_len = 0;
		for (size_t i = 0; i < l.n; i++) {
			struct wire_packet f;
			enum wire_drop d =
			    wire_packet_parse(l.pkt[i], l.len[i], &f);
			FZ_CHECK(d == WIRE_OK && f.is_fragment,
				 "fragment %zu of %d refused: %s", i, n,
				 wire_drop_name(d));
			FZ_CHECK(l.len[i] <= mtu, "fragment of %zu > mtu %zu",
				 l.len[i], mtu);
			enum reasm_result rr =
			    reasm_add(r, &f, 1, &out, &out_len);
			FZ_CHECK(rr == (i + 1 == l.n ? REASM_DONE : REASM_HELD),
				 "fragment %zu of %d: reasm said %d", i, n, rr);
		}
		FZ_CHECK(out_len == p->l3_len, "reassembled %zu bytes of %u",
			 out_len, p->l3_len);
		for (size_t i = 0; i < out_len; i++) {
			/* IPv4 id, flags/offset and checksum may differ. */
			if (p->family == 4 &&
			    ((i >= 4 && i < 8) || i == 10 || i == 11))
				continue;
			FZ_CHECK(out[i] == p->l3[i],
				 "reassembled byte %zu differs", i);
		}
		struct wire_packet q;
		FZ_CHECK(wire_packet_parse(out, out_len, &q) == WIRE_OK,
			 "reassembled packet refused");
		reasm_destroy(r);
		FZ_CHECK(mem.used == 0, "reasm leaked %zu bytes of budget",
			 mem.used);
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.pkt[i]);
	free(l.pkt);
	free(l.len);
}

/* wire_packet_peek() of a packet wire_packet_parse*() accepted as p: the
 * same headers, and on every prefix (a snapshot cut short) the same
 * family and addresses, with the ports once their 4 bytes are in. */
static void check_peek(const uint8_t *buf, const struct wire_packet *p)
{
	/* A later fragment names its protocol; a first one (IPv6: walked
	 * past its Fragment header) the transport's, which the parse did
	 * not look for. */
	bool later = p->is_fragment && p->frag_offset;
	/* An IPv6 first fragment: peek walks on into the fragment's data,
	 * which the parse never read, and may find a bad chain there. */
	bool v6_first = p->family == 6 && p->is_fragment && !later;
	bool ports = !p->is_fragment &&
		     (p->proto == WIRE_PROTO_TCP || p->proto == WIRE_PROTO_UDP);
	size_t hdr = p->l3_hdr_len;

	for (size_t n = 1; n <= p->l3_len; n++) {
		/* Every prefix up to the ports, then only the whole. */
		if (n > hdr + 4 && n < p->l3_len)
			n = p->l3_len;
		uint8_t *cut = malloc(n);
		memcpy(cut, buf, n);
		struct wire_peek pk;
		enum wire_drop r = wire_packet_peek(cut, n, &pk);
		free(cut);
		/* Before hdr bytes the fixed header and the chain may not
		 * be there yet: a refusal is allowed, a wrong view not. */
		if (r != WIRE_OK && (n < hdr || v6_first))
			continue;
		FZ_CHECK(r == WIRE_OK, "peek of %zu of %u bytes: %s", n,
			 p->l3_len, wire_drop_name(r));
		FZ_CHECK(pk.family == p->family &&
			     wire_addr_eq(&pk.src, &p->src) &&
			     wire_addr_eq(&pk.dst, &p->dst),
			 "peek of %zu bytes: other family or addresses", n);
		if (n < hdr)
			continue;
		FZ_CHECK(pk.is_fragment == p->is_fragment,
			 "peek: fragment %d, parse %d", pk.is_fragment,
			 p->is_fragment);
		if (!p->is_fragment || later)
			FZ_CHECK(pk.proto == p->proto,
				 "peek: proto %u, parse %u", pk.proto,
				 p->proto);
		if (later || (!p->is_fragment && !ports))
			FZ_CHECK(!pk.has_ports, "peek: ports of proto %u",
				 pk.proto);
		if (ports)
			FZ_CHECK(pk.has_ports == (n >= hdr + 4) &&
				     (!pk.has_ports || (pk.sport == p->sport &&
							pk.dport == p->dport)),
				 "peek of %zu bytes: ports %d %u>%u, parse "
				 "%u>%u",
				 n, pk.has_ports, pk.sport, pk.dport, p->sport,
				 p->dport);
	}
}

void fz_packet_parse_run(const uint8_t *data, size_t size)
{
	if (size < 1)
		return;
	uint8_t flags = data[0];
	size_t len = size - 1;
	/* A copy of exactly len bytes: ASan sees any read past it. */
	uint8_t *buf = malloc(len ? len : 1);
	memcpy(buf, data + 1, len);
	if (flags & 1)
		fz_fix_checksums(buf, len);

	struct wire_packet p, again;
	enum wire_drop r = wire_packet_parse(buf, len, &p);
	FZ_CHECK((unsigned)r < WIRE_DROP__COUNT, "reason %d", r);
	FZ_CHECK(strcmp(wire_drop_name(r), "unknown") != 0,
		 "reason %d has no name", r);
	if (r == WIRE_OK) {
		check_view(buf, len, &p);
		FZ_CHECK(wire_packet_parse(buf, len, &again) == WIRE_OK &&
			     !memcmp(&p, &again, sizeof(p)),
			 "a second parse differs");
		check_rebuild(&p);
		check_fragment(&p, flags >> 1);
	}

	struct wire_packet t;
	enum wire_drop rt = wire_packet_parse_csum_ok(buf, len, &t);
	bool l4_csum = r == WIRE_DROP_TCP_CSUM || r == WIRE_DROP_UDP_CSUM;
	FZ_CHECK(rt == (l4_csum ? WIRE_OK : r),
		 "trusting parse says %d, plain parse %d", rt, r);
	struct wire_peek pk;
	enum wire_drop rp = wire_packet_peek(buf, len, &pk);
	FZ_CHECK((unsigned)rp < WIRE_DROP__COUNT, "peek reason %d", rp);
	if (rt == WIRE_OK) {
		check_view(buf, len, &t);
		check_peek(buf, &t);
		t.l4_csum_ok = false;
		FZ_CHECK(l4_csum || !memcmp(&p, &t, sizeof(p)),
			 "the trusting parse gives another view");
	}
	free(buf);
}

/* --- fz_tcp_opts_run --- */

/* Builds a v4 segment with options o and returns its parsed options. */
static void opts_round_trip(const struct wire_tcp_opts *o)
{
	uint8_t buf[20 + 60];
	const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
	struct wire_ip_hdr ip = {.family = 4, .proto = WIRE_PROTO_TCP};
	wire_addr_from4(&ip.src, a);
	wire_addr_from4(&ip.dst, b);
	struct wire_tcp_hdr h = {
	    .sport = 1, .dport = 2, .flags = WIRE_TCP_ACK, .opts = *o};
	size_t hl = wire_tcp_hdr_len(o);
	FZ_CHECK(hl >= 20 && hl <= 60 && hl % 4 == 0, "header length %zu", hl);
	size_t n = wire_tcp_build(buf, sizeof(buf), &ip, &h, 0);
	FZ_CHECK(n == 20 + hl, "built %zu bytes for a %zu-byte header", n, hl);
	struct wire_packet p;
	enum wire_drop r = wire_packet_parse(buf, n, &p);
	FZ_CHECK(r == WIRE_OK, "built options refused: %s", wire_drop_name(r));
	check_opts_rebuilt(o, &p.u.tcp.opts);
}

void fz_tcp_opts_run(const uint8_t *data, size_t size)
{
	if (size < 1)
		return;
	uint8_t mode = data[0];
	const uint8_t *opt = data + 1;
	size_t len = size - 1;
	struct wire_tcp_opts o, o2;

	if (mode & 1) {
		/* Fields for the builder, any values. */
		struct fz_in in = {opt, len};
		memset(&o, 0, sizeof(o));
		uint8_t f = fz_u8(&in);
		o.mss = fz_u16(&in);
		o.has_wscale = f & 1;
		o.wscale = o.has_wscale ? fz_u8(&in) : 0;
		o.sack_permitted = f & 2;
		o.has_ts = f & 4;
		if (o.has_ts) {
			o.ts_val = fz_u32(&in);
			o.ts_ecr = fz_u32(&in);
		}
		o.sack_count = (uint8_t)(f >> 3);
		for (unsigned k = 0; k < WIRE_TCP_MAX_SACK; k++) {
			o.sack[k].start = fz_u32(&in);
			o.sack[k].end = fz_u32(&in);
		}
		opts_round_trip(&o);
		return;
	}

	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, opt, len);
	bool ok = wire_tcp_parse_opts(copy, len, &o);
	FZ_CHECK(wire_tcp_parse_opts(copy, len, &o2) == ok &&
		     !memcmp(&o, &o2, sizeof(o)),
		 "a second parse differs");
	free(copy);
	if (ok) {
		check_opts(&o);
		if (o.has_wscale && o.wscale > 14)
			fz_fail("wscale %u", o.wscale);
		/* Normalise what the builder cannot express, then round
		 * trip: sack_count fields must be carried exactly. */
		opts_round_trip(&o);
	}

	/* The same bytes inside a whole segment (when they fit) must give
	 * the same verdict and the same options. */
	if (len > 40)
		return;
	size_t olen = (len + 3) & ~(size_t)3;
	uint8_t seg[20 + 40 + 20];
	memset(seg, 0, sizeof(seg));
	memcpy(seg + 40, opt, len); /* padded with EOL (0) */
	const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
	seg[0] = 0x45;
	wire_put16(seg + 2, (uint16_t)(40 + olen));
	seg[8] = 64;
	seg[9] = WIRE_PROTO_TCP;
	memcpy(seg + 12, a, 4);
	memcpy(seg + 16, b, 4);
	seg[32] = (uint8_t)((20 + olen) / 4 << 4);
	seg[33] = WIRE_TCP_ACK;
	fz_fix_checksums(seg, 40 + olen);
	struct wire_packet p;
	enum wire_drop r = wire_packet_parse(seg, 40 + olen, &p);
	/* Padding can only end the list early, so it may turn a lying
	 * length into EOL; it never makes good options bad. */
	bool ok_pad = wire_tcp_parse_opts(seg + 40, olen, &o2);
	FZ_CHECK(ok_pad == (r == WIRE_OK),
		 "parse_opts says %d, packet parse says %s", ok_pad,
		 wire_drop_name(r));
	if (ok)
		FZ_CHECK(ok_pad && !memcmp(&o, &p.u.tcp.opts, sizeof(o)),
			 "options differ inside a segment");
}

/* --- fz_reasm_run --- */

#define REASM_KEYS 4

struct rz_key {
	uint8_t family;
	uint8_t hdr[64]; /* headers before the fragment data */
	size_t hlen;	 /* bytes of hdr (IPv6: incl. the Fragment header) */
	size_t unfrag;	 /* headers the reassembled packet keeps */
	size_t nh_off;	 /* IPv6: Next Header byte naming the Fragment hdr */
	uint8_t proto;	 /* the transport protocol */
	uint8_t *shadow; /* the bytes last sent at each data offset */
};

static void rz_keys(struct rz_key *k)
{
	static const uint8_t a6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0,
				       0,    0, 0, 0, 0, 0, 0, 2};
	static const uint8_t b6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
				       0,    0,	   0,	 0,    0, 0, 0, 1};
	memset(k, 0, sizeof(*k) * REASM_KEYS);
	for (int i = 0; i < 2; i++) {
		/* IPv4, the second with 4 bytes of options (NOP NOP NOP EOL). */
		uint8_t *h = k[i].hdr;
		size_t ihl = i ? 24 : 20;
		h[0] = (uint8_t)(0x40 | ihl / 4);
		wire_put16(h + 4, (uint16_t)(0x1000 + i));
		h[8] = 64;
		h[9] = WIRE_PROTO_UDP;
		h[12] = 10, h[15] = 2;
		h[16] = 198, h[17] = 51, h[18] = 100, h[19] = 1;
		if (i)
			h[20] = h[21] = h[22] = 1;
		k[i].family = 4;
		k[i].hlen = k[i].unfrag = ihl;
		k[i].proto = WIRE_PROTO_UDP;
	}
	for (int i = 2; i < 4; i++) {
		/* IPv6, the second with an 8-byte Destination Options header
		 * before the Fragment header. */
		uint8_t *h = k[i].hdr;
		h[0] = 0x60;
		h[7] = 64;
		memcpy(h + 8, a6, 16);
		memcpy(h + 24, b6, 16);
		size_t off = 40;
		if (i == 3) {
			h[6] = 60;
			h[40] = 44;	      /* Next Header: Fragment */
			h[41] = 0;	      /* 8 bytes */
			h[42] = 1, h[43] = 4; /* PadN */
			k[i].nh_off = 40;
			off = 48;
		} else {
			h[6] = 44;
			k[i].nh_off = 6;
		}
		h[off] = WIRE_PROTO_UDP;
		wire_put32(h + off + 4, 0xabc00 + (uint32_t)i);
		k[i].family = 6;
		k[i].unfrag = off;
		k[i].hlen = off + 8;
		k[i].proto = WIRE_PROTO_UDP;
	}
}

static uint8_t rz_byte(uint8_t seed, size_t off)
{
	return (uint8_t)(seed * 7 + off * 13 + (off >> 8));
}

/* Builds a fragment of key k into buf; returns its length. */
static size_t rz_build(const struct rz_key *k, uint8_t *buf, size_t off,
		       size_t len, bool more, uint8_t seed)
{
	memcpy(buf, k->hdr, k->hlen);
	for (size_t i = 0; i < len; i++)
		buf[k->hlen + i] = rz_byte(seed, off + i);
	size_t total = k->hlen + len;
	if (k->family == 4) {
		wire_put16(buf + 2, (uint16_t)total);
		wire_put16(buf + 6, (uint16_t)((more ? 0x2000 : 0) | off / 8));
		fz_fix_checksums(buf, total);
	} else {
		wire_put16(buf + 4, (uint16_t)(total - 40));
		wire_put16(buf + k->unfrag + 2,
			   (uint16_t)((off & 0xfff8) | (more ? 1 : 0)));
	}
	return total;
}

static void rz_check_done(const struct rz_key *k, const uint8_t *out,
			  size_t out_len)
{
	FZ_CHECK(out_len >= k->unfrag, "reassembled %zu bytes", out_len);
	size_t total = out_len - k->unfrag;
	for (size_t i = 0; i < total; i++)
		FZ_CHECK(out[k->unfrag + i] == k->shadow[i],
			 "reassembled data byte %zu differs", i);
	if (k->family == 4) {
		FZ_CHECK(wire_get16(out + 2) == out_len &&
			     wire_get16(out + 6) == 0 &&
			     !memcmp(out + 12, k->hdr + 12, 8) &&
			     !memcmp(out + 20, k->hdr + 20, k->unfrag - 20),
			 "reassembled IPv4 header wrong");
	} else {
		FZ_CHECK(wire_get16(out + 4) == out_len - 40 &&
			     out[k->nh_off] == k->proto &&
			     !memcmp(out + 8, k->hdr + 8, 32),
			 "reassembled IPv6 header wrong");
	}
	struct wire_packet p;
	enum wire_drop r = wire_packet_parse(out, out_len, &p);
	FZ_CHECK(r == WIRE_OK || r == WIRE_DROP_UDP_LEN ||
		     r == WIRE_DROP_UDP_CSUM || r == WIRE_DROP_UDP_SHORT,
		 "reassembled packet refused at the IP layer: %s",
		 wire_drop_name(r));
	FZ_CHECK(r != WIRE_OK || !p.is_fragment, "reassembled a fragment");
}

void fz_reasm_run(const uint8_t *data, size_t size)
{
	static const size_t max_bytes[4] = {0, 4096, 24000, 300000};
	static const uint64_t timeouts[4] = {1000, 1000000, 60000000,
					     UINT64_MAX / 2};
	struct fz_in in = {data, size};
	uint8_t cfg = fz_u8(&in);
	size_t maxb = max_bytes[cfg & 3];
	unsigned maxd = 1 + (cfg >> 2 & 3);
	uint64_t timeout = timeouts[cfg >> 4 & 3];
	struct core_mem mem = {0};
	struct rz_key keys[REASM_KEYS];
	uint64_t now = 1000000;

	struct reasm *r = reasm_create(&mem, maxb, maxd, timeout);
	FZ_CHECK(r != NULL, "reasm_create failed");
	size_t base = mem.used;
	rz_keys(keys);
	for (int i = 0; i < REASM_KEYS; i++)
		keys[i].shadow = calloc(1, 65536);
	uint8_t *buf = malloc(65536 + 64);

	for (int step = 0; in.n && step < 4096; step++) {
		uint8_t op = fz_u8(&in);
		if ((op & 3) == 2) {
			now += (uint64_t)fz_u16(&in) * 100;
			continue;
		}
		if ((op & 3) == 3) {
			reasm_expire(r, now);
			FZ_CHECK(reasm_next_deadline(r) > now,
				 "a deadline passed survived expiry");
			continue;
		}
		struct rz_key *k = &keys[op >> 2 & 3];
		bool more = op & 16;
		size_t off = (size_t)(fz_u16(&in) & 0x1fff) * 8;
		size_t len = fz_u16(&in) % 4096;
		uint8_t seed = fz_u8(&in);
		if (k->hlen + off + len > 65535)
			continue;
		size_t n = rz_build(k, buf, off, len, more, seed);
		struct wire_packet p;
		if (wire_packet_parse(buf, n, &p) != WIRE_OK || !p.is_fragment)
			continue;
		const uint8_t *out = NULL;
		size_t out_len = 0;
		enum reasm_result res = reasm_add(r, &p, now, &out, &out_len);
		if (res != REASM_DROPPED)
			for (size_t i = 0; i < len; i++)
				k->shadow[off + i] = rz_byte(seed, off + i);
		if (res == REASM_DONE)
			rz_check_done(k, out, out_len);
		FZ_CHECK(mem.used >= base && mem.used - base <= maxb,
			 "reassembly holds %zu bytes, bound %zu",
			 mem.used - base, maxb);
	}
	reasm_expire(r,
		     now + timeout + 1 < now ? UINT64_MAX : now + timeout + 1);
	FZ_CHECK(reasm_next_deadline(r) == UINT64_MAX,
		 "datagrams left after expiry");
	FZ_CHECK(mem.used == base, "%zu bytes still charged after expiry",
		 mem.used - base);
	reasm_destroy(r);
	FZ_CHECK(mem.used == 0, "%zu bytes still charged after destroy",
		 mem.used);
	for (int i = 0; i < REASM_KEYS; i++)
		free(keys[i].shadow);
	free(buf);
}
