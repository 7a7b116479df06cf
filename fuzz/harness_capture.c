/* SPDX-License-Identifier: MIT */
/* harness_capture.c - the tee's mirror stream as `tunproxy capture` reads
 * it (src/tools/capture_stream.c), and the capture filter
 * (src/tools/capture_filter.c) on every packet in it.
 *
 * Input: [filter] [port u16] [host: 4 or 16 bytes] [max] [mode] then the
 * stream.
 *   filter bits 0-1: protocol (any, tcp, udp, icmp); bit 2: a port; bit 3:
 *   a host; bit 4: the host is IPv6; bit 5: the port is given as a string
 *   instead ([len] [bytes], for capture_filter_set_port).
 *   max: stop after this many packets (0: no limit).
 *   mode bit 0 clear: the stream is raw chunks [len u8][bytes] (len 0 reads
 *   as 256), greeting included, so any framing reaches the reader. Set:
 *   the harness writes the greeting and builds records from [kind] [dir]
 *   [dropped u8] [len u16] [orig_len delta u8] [packet bytes], so the
 *   fuzzer spends its time on packets and filters; bit 1 then cuts the
 *   stream into 7-byte chunks instead of one per record.
 *
 * Checked:
 *   - the pcapng file the reader writes (to a memfd) is well-formed block by
 *     block, and its Enhanced Packet Blocks are exactly the records an
 *     independent decoder of the same bytes expects: every packet record
 *     the filter keeps, in order, bytes, direction, orig_len (at least
 *     the captured length) and the drops reported before it, up to max;
 *   - the reader's verdict: CAP_FAIL exactly when the bytes are not a
 *     mirror stream (bad greeting, or a record length out of bounds),
 *     CAP_STOP exactly when max packets were written;
 *   - the filter, run on an exact-size copy of each packet (so ASan sees
 *     any read past it): a filter of several conditions keeps a packet
 *     exactly when each condition alone does; a packet the engine's own
 *     parser accepts (wire_packet_parse_csum_ok, not a fragment) is kept
 *     by a filter of its own protocol, port and addresses;
 *   - capture_filter_set_port accepts exactly the decimal numbers 0-65535.
 */
#define _GNU_SOURCE /* memfd_create */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "tools/capture_filter.h"
#include "tools/capture_stream.h"
#include "tools/mirror.h"
#include "tools/pcapng.h"
#include "tools/tool_util.h"
#include "wire/packet.h"

#define CF_STREAM_MAX (1 << 20)
#define CF_MAX_RECS   4096

struct cf_rec {
	size_t off; /* of the packet in the stream */
	uint32_t len, orig_len;
	uint8_t dir;
	uint64_t drops;
};

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Whether f keeps pkt, checked on an exact-size copy. */
static bool cf_match(const struct capture_filter *f, const uint8_t *pkt,
		     size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	memcpy(copy, pkt, len);
	bool m = capture_filter_match(f, copy, len);
	free(copy);
	return m;
}

/* The filter's conditions one by one, and against the engine's parser. */
static void cf_check_filter(const struct capture_filter *f, const uint8_t *pkt,
			    size_t len)
{
	struct capture_filter one;
	bool all = cf_match(f, pkt, len), each = true;
	capture_filter_init(&one);
	FZ_CHECK(cf_match(&one, pkt, len), "the empty filter refused a packet");
	one.proto = f->proto;
	each = each && cf_match(&one, pkt, len);
	capture_filter_init(&one);
	one.port = f->port;
	each = each && cf_match(&one, pkt, len);
	capture_filter_init(&one);
	one.host_family = f->host_family;
	memcpy(one.host, f->host, sizeof(one.host));
	each = each && cf_match(&one, pkt, len);
	FZ_CHECK(all == each, "filter %d/%d/%d: all %d, each alone %d",
		 f->proto, f->port, f->host_family, all, each);

	struct wire_packet p;
	if (wire_packet_parse_csum_ok(pkt, len, &p) != WIRE_OK || p.is_fragment)
		return;
	capture_filter_init(&one);
	one.proto = p.proto == 6    ? CAPTURE_TCP
		    : p.proto == 17 ? CAPTURE_UDP
		    : (p.proto == 1 && p.family == 4) ||
			    (p.proto == 58 && p.family == 6)
			? CAPTURE_ICMP
			: CAPTURE_ANY;
	if (p.proto == 6 || p.proto == 17)
		one.port = p.dport;
	one.host_family = p.family;
	if (p.family == 4)
		memcpy(one.host, p.src.b + 12, 4);
	else
		memcpy(one.host, p.src.b, 16);
	FZ_CHECK(cf_match(&one, pkt, len),
		 "a packet the parser accepts (proto %u, port %u, v%u) is "
		 "refused by a filter of its own fields",
		 p.proto, p.dport, p.family);
}

/* capture_filter_set_port on a string from the input. */
static void cf_check_port_string(struct fz_in *in, struct capture_filter *f)
{
	char s[16];
	size_t n = fz_u8(in) % sizeof(s);
	n = fz_bytes(in, (uint8_t *)s, n);
	s[n] = 0;
	n = strlen(s);
	bool digits = n > 0;
	unsigned long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			digits = false;
		else if (v <= 65535)
			v = v * 10 + (unsigned long)(s[i] - '0');
	}
	int old = f->port;
	int rc = capture_filter_set_port(f, s);
	bool want = digits && v <= 65535;
	FZ_CHECK((rc == 0) == want, "set_port(\"%s\") = %d", s, rc);
	FZ_CHECK(rc == 0 ? f->port == (int)v : f->port == old,
		 "set_port(\"%s\") left port %d", s, f->port);
}

static void cf_setup_filter(struct fz_in *in, struct capture_filter *f)
{
	static const char *const protos[] = {NULL, "tcp", "udp", "icmp"};
	uint8_t sel = fz_u8(in);
	capture_filter_init(f);
	if (protos[sel & 3])
		FZ_CHECK(capture_filter_set_proto(f, protos[sel & 3]) == 0,
			 "set_proto(%s)", protos[sel & 3]);
	if (sel & 0x20) {
		cf_check_port_string(in, f);
	} else {
		uint16_t port = fz_u16(in);
		char s[8];
		snprintf(s, sizeof(s), "%u", port);
		if (sel & 4)
			FZ_CHECK(capture_filter_set_port(f, s) == 0,
				 "set_port(%s)", s);
	}
	if (sel & 8) {
		uint8_t a[16] = {0};
		char s[INET6_ADDRSTRLEN];
		bool v6 = sel & 0x10;
		fz_bytes(in, a, v6 ? 16 : 4);
		inet_ntop(v6 ? AF_INET6 : AF_INET, a, s, sizeof(s));
		FZ_CHECK(capture_filter_set_host(f, s) == 0, "set_host(%s)", s);
	}
}

/* Builds the stream from record descriptions (mode bit 0). */
static size_t cf_build(struct fz_in *in, uint8_t *out, size_t cap)
{
	size_t n = 0;
	mirror_greeting(out);
	n = MIRROR_GREETING_SIZE;
	while (in->n > 0 && n + MIRROR_HDR_SIZE + 4096 <= cap) {
		struct mirror_rec r = {0};
		r.kind = fz_u8(in) & 1 ? MIRROR_KIND_PACKET : fz_u8(in);
		r.dir = fz_u8(in) & 3;
		r.dropped = fz_u8(in) & 3 ? 0 : fz_u8(in);
		r.len = fz_u16(in) % 4096;
		r.orig_len = r.len + (fz_u8(in) & 3 ? 0 : fz_u8(in));
		if (fz_u8(in) & 1)
			r.orig_len = fz_u32(in); /* anything, even < len */
		r.ts_ns = 1800000000000000000ull + n;
		r.len =
		    (uint32_t)fz_bytes(in, out + n + MIRROR_HDR_SIZE, r.len);
		mirror_put_header(out + n, &r);
		n += MIRROR_HDR_SIZE + r.len;
	}
	return n;
}

/* What the reader should have done with stream[0..n): the independent
 * decoder. Returns the expected verdict. */
static enum cap_status cf_model(const uint8_t *s, size_t n,
				const struct capture_filter *f, uint64_t max,
				struct cf_rec *recs, size_t *nrecs)
{
	*nrecs = 0;
	if (n < MIRROR_GREETING_SIZE)
		return CAP_GO_ON;
	if (memcmp(s, "TPMIRROR", 8) != 0 || s[8] != 0 || s[9] != 1 ||
	    s[10] != 0 || s[11] != 24)
		return CAP_FAIL;
	size_t off = MIRROR_GREETING_SIZE;
	uint64_t drops = 0;
	while (n - off >= 4) {
		uint32_t total = rd32(s + off);
		if (total < 24 || total > 24 + 65535)
			return CAP_FAIL;
		if (n - off < total)
			break;
		drops += rd32(s + off + 8);
		if (s[off + 4] == MIRROR_KIND_PACKET)
			cf_check_filter(f, s + off + 24, total - 24);
		if (s[off + 4] == MIRROR_KIND_PACKET &&
		    cf_match(f, s + off + 24, total - 24)) {
			FZ_CHECK(*nrecs < CF_MAX_RECS, "too many records");
			struct cf_rec *r = &recs[(*nrecs)++];
			r->off = off + 24;
			r->len = total - 24;
			r->orig_len = rd32(s + off + 12);
			if (r->orig_len < r->len)
				r->orig_len = r->len;
			r->dir =
			    s[off + 5] == 1 || s[off + 5] == 2 ? s[off + 5] : 0;
			r->drops = drops;
			drops = 0;
			if (max && *nrecs >= max)
				return CAP_STOP;
		}
		off += total;
	}
	return CAP_GO_ON;
}

static uint32_t h32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* Walks the pcapng file and checks its packets against the model. */
static void cf_check_file(const uint8_t *f, size_t n, const uint8_t *stream,
			  const struct cf_rec *recs, size_t nrecs)
{
	size_t off = 0, blocks = 0, epbs = 0;
	while (off < n) {
		FZ_CHECK(n - off >= 12, "pcapng: a partial block at %zu", off);
		uint32_t type = h32(f + off), total = h32(f + off + 4);
		FZ_CHECK(total >= 12 && total % 4 == 0 && total <= n - off &&
			     h32(f + off + total - 4) == total,
			 "pcapng: block %zu (type %#x) has length %u", blocks,
			 type, total);
		if (blocks == 0)
			FZ_CHECK(type == 0x0A0D0D0A, "pcapng: no SHB first");
		if (type == 6) {
			FZ_CHECK(epbs < nrecs, "pcapng: %zu packets, want %zu",
				 epbs + 1, nrecs);
			const struct cf_rec *r = &recs[epbs++];
			const uint8_t *b = f + off + 8;
			uint32_t cap = h32(b + 12), orig = h32(b + 16);
			FZ_CHECK(cap == r->len && orig == r->orig_len,
				 "pcapng packet %zu: len %u/%u, want %u/%u",
				 epbs, cap, orig, r->len, r->orig_len);
			FZ_CHECK(28 + ((cap + 3) & ~3u) + 12 <= total,
				 "pcapng packet %zu: block too short", epbs);
			FZ_CHECK(memcmp(b + 20, stream + r->off, cap) == 0,
				 "pcapng packet %zu: bytes differ", epbs);
			const uint8_t *o = b + 20 + ((cap + 3) & ~3u);
			/* epb_flags first, then epb_dropcount if any */
			FZ_CHECK(h32(o) == (4u << 16 | 2u) ||
				     h32(o) == 0x00020004u,
				 "pcapng packet %zu: no epb_flags", epbs);
			FZ_CHECK((h32(o + 4) & 3) == r->dir,
				 "pcapng packet %zu: direction %u, want %u",
				 epbs, h32(o + 4) & 3, r->dir);
			uint64_t drops = 0;
			if ((h32(o + 8) & 0xffff) == 4)
				memcpy(&drops, o + 12, 8);
			FZ_CHECK(drops == r->drops,
				 "pcapng packet %zu: dropcount %llu, want %llu",
				 epbs, (unsigned long long)drops,
				 (unsigned long long)r->drops);
		}
		off += total;
		blocks++;
	}
	FZ_CHECK(epbs == nrecs, "pcapng: %zu packets, want %zu", epbs, nrecs);
}

void fz_capture_run(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	static struct capture_stream st;
	static uint8_t stream[CF_STREAM_MAX];
	static struct cf_rec recs[CF_MAX_RECS];
	struct capture_filter f;

	tool_log_level = -1; /* the reader's complaints are expected */
	cf_setup_filter(&in, &f);
	uint64_t max = fz_u8(&in);
	uint8_t mode = fz_u8(&in);

	int fd = memfd_create("fz_capture", MFD_CLOEXEC);
	FZ_CHECK(fd >= 0, "memfd_create");
	memset(&st, 0, offsetof(struct capture_stream, buf));
	st.filter = &f;
	st.max_packets = max;
	st.w = pcapng_open(fd, "fz", "fz", "fz");
	FZ_CHECK(st.w != NULL, "pcapng_open");
	capture_stream_restart(&st);

	/* The stream, and where it is cut into reads. */
	size_t n = 0;
	size_t cuts[1024], ncuts = 0;
	if (mode & 1) {
		n = cf_build(&in, stream, sizeof(stream));
		size_t step = mode & 2 ? 7 : 0;
		for (size_t o = step; step && o < n && ncuts < 1024; o += step)
			cuts[ncuts++] = o;
	} else {
		while (in.n > 0 && ncuts < 1024) {
			size_t len = fz_u8(&in);
			len = fz_bytes(&in, stream + n, len ? len : 256);
			n += len;
			cuts[ncuts++] = n;
		}
	}

	/* Feed it as reads of those sizes (a read never exceeds the room). */
	enum cap_status got = CAP_GO_ON;
	size_t fed = 0, c = 0;
	while (got == CAP_GO_ON && fed < n) {
		size_t end = c < ncuts ? cuts[c++] : n;
		while (got == CAP_GO_ON && fed < end) {
			size_t room;
			uint8_t *p = capture_stream_space(&st, &room);
			FZ_CHECK(room > 0, "the reader has no room (%zu held)",
				 st.have);
			size_t k = end - fed < room ? end - fed : room;
			memcpy(p, stream + fed, k);
			fed += k;
			got = capture_stream_got(&st, k);
		}
	}

	size_t nrecs;
	enum cap_status want = cf_model(stream, fed, &f, max, recs, &nrecs);
	FZ_CHECK(got == want, "reader said %d, want %d (after %zu of %zu)", got,
		 want, fed, n);
	FZ_CHECK(st.written == nrecs, "reader wrote %llu packets, want %zu",
		 (unsigned long long)st.written, nrecs);

	FZ_CHECK(pcapng_flush(st.w) == 0, "pcapng flush");
	off_t flen = lseek(fd, 0, SEEK_END);
	uint8_t *file = malloc((size_t)flen + 1);
	FZ_CHECK(file && pread(fd, file, (size_t)flen, 0) == flen,
		 "reading back the pcapng file");
	cf_check_file(file, (size_t)flen, stream, recs, nrecs);
	free(file);
	pcapng_close(st.w, 0, 0, 0);
	close(fd);
}
