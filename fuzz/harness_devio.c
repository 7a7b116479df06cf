/* SPDX-License-Identifier: MIT */
/* harness_devio.c - the packet sources in front of the engine that are
 * not TUN reads of bare packets: the UDP dev transport
 * (src/io/tunconn_udp.c) and the virtio-net framing of a TUN with
 * offloads (src/io/tunconn_fd.c, src/io/tun_vnet.c). Both run on real
 * sockets (loopback UDP, an AF_UNIX datagram pair standing in for the
 * TUN, which keeps message boundaries the same way), a few syscalls per
 * step.
 *
 * fz_devtransport_run:  [idle] then steps [op] [args...]
 *   idle: the session's idle time, 1 + (idle % 8) * 700 ms on a fake clock.
 *   op & 7: 0-3 a datagram from sender (op >> 3) & 3: [len u16 % 1600]
 *   [bytes] (length 0 is a keepalive); 4 the clock moves [u16] ms; 5 the
 *   clock moves exactly the idle time minus 1 ms plus (op >> 3 & 3) ms;
 *   6 read_batch of up to [u8 % 70] packets; 7 write_batch of [u8 % 8 + 1]
 *   packets.
 *   Checked against a model of the session rule (tunconn_udp.c): each
 *   packet read is the next datagram of the session's owner, bytes intact,
 *   in order; foreign datagrams and keepalives are never passed on; the
 *   counters (dev_foreign_dropped, dev_client_changes) and base.session
 *   (bumped once per takeover) are the model's; a takeover never happens
 *   after a packet of the same batch was accepted (the driver ends the old
 *   flows before feeding the batch); what the engine writes reaches the
 *   owner, whole and in order, and no other sender, and is dropped and
 *   counted when there is no owner.
 *
 * fz_vnet_run:  [config] then steps [op] [args...]
 *   config bits 0-1: the MTU (1500, 9000, 65535, 1280).
 *   op % 4: 0 a frame from the "TUN": [len u16 % 65600] [bytes] (the
 *   first 10 are the virtio-net header); 1 read_batch, each packet into
 *   the engine (with the fake host, tests/unit/support/fake_host.c) with
 *   the flags the header gave, then the engine's transmit ring written
 *   back through the virtio-net writer; 2 a run of TCP segments built from
 *   [count] [payload] [variation] bytes for vnet_gso_run /
 *   vnet_gso_merge; 3 the clock.
 *   Checked: read_batch gives each frame longer than the header as one
 *   packet, the header stripped, bytes intact, CORE_IN_CSUM_OK exactly
 *   when the header says NEEDS_CSUM or DATA_VALID, TSO frames counted
 *   (tun_tso_read); every frame the writer sends has a header, and its
 *   packet parses (a GSO one with the trusting parse, its TCP checksum left
 *   partial); a GSO run merges only segments that follow each other, and
 *   the super-packet carries exactly their payloads, in order, behind the
 *   first one's headers, with the gso_size, hdr_len and csum offsets of
 *   the header right.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/engine.h"
#include "harness.h"
#include "io/tun_vnet.h"
#include "io/tunconn.h"
#include "io/tunconn_udp.h"
#include "support/fake_host.h"
#include "wire/build.h"
#include "wire/bytes.h"
#include "wire/packet.h"

/* --- the UDP dev transport ----------------------------------------------- */

#define DT_SENDERS 4
#define DT_MAXQ	   256
#define DT_MAXLEN  1600
/* The receive buffer may be the kernel's default (212992 bytes, when
 * SO_RCVBUFFORCE is not allowed) and each datagram costs its length plus
 * its sk_buff: the harness reads before the queue could pass 96 KiB, so
 * the kernel never drops a datagram the model counts on. */
#define DT_OVERHEAD  2048
#define DT_QUEUE_MAX (96 * 1024)

struct dt_dgram {
	int from; /* sender index */
	uint16_t len;
	uint8_t seed;
};

struct dt {
	struct tunconn *t;
	uint64_t now, idle_us;
	struct sockaddr_in to;
	/* the model */
	struct dt_dgram q[DT_MAXQ];
	unsigned qn;
	size_t qbytes; /* an estimate of what the queue costs the socket */
	int owner;     /* -1: none */
	uint64_t seen;
	uint64_t foreign, changes;
	uint32_t session;
	uint8_t tx_tag;
};

static int dt_sock[DT_SENDERS] = {-1, -1, -1, -1};

static uint64_t dt_clock(void *ctx)
{
	return ((struct dt *)ctx)->now;
}

static uint8_t dt_byte(uint8_t seed, size_t i)
{
	return (uint8_t)(seed * 31u + i * 7u + (i >> 8));
}

static void dt_sockets(void)
{
	for (int i = 0; i < DT_SENDERS; i++) {
		if (dt_sock[i] >= 0)
			continue;
		dt_sock[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_addr.s_addr =
					    htonl(INADDR_LOOPBACK)};
		FZ_CHECK(
		    dt_sock[i] >= 0 &&
			bind(dt_sock[i], (struct sockaddr *)&a, sizeof(a)) == 0,
		    "sender socket: %s", strerror(errno));
	}
}

/* Empties the senders' queues (what write_batch sent them). */
static void dt_drain(void)
{
	uint8_t b[2048];
	for (int i = 0; i < DT_SENDERS; i++)
		while (recv(dt_sock[i], b, sizeof(b), MSG_DONTWAIT) >= 0)
			;
}

static void dt_read(struct dt *d, int max)
{
	struct tun_pkt pkts[64];
	int n = d->t->ops->read_batch(d->t, pkts, max);
	FZ_CHECK(n >= 0, "read_batch: %d", n);
	/* The model: recvmmsg takes min(queued, max, 64) datagrams. */
	unsigned take = d->qn;
	if (take > (unsigned)max)
		take = (unsigned)max;
	if (take > 64)
		take = 64;
	int k = 0;
	bool accepted = false;
	uint32_t session0 = d->session;
	for (unsigned i = 0; i < take; i++) {
		const struct dt_dgram *g = &d->q[i];
		bool ok;
		if (d->owner < 0) {
			d->owner = g->from;
			d->seen = d->now;
			d->changes++;
			ok = true;
		} else if (g->from == d->owner) {
			d->seen = d->now;
			ok = true;
		} else if (d->now - d->seen < d->idle_us) {
			d->foreign++;
			ok = false;
		} else {
			FZ_CHECK(!accepted,
				 "a takeover after a packet of the same batch");
			d->owner = g->from;
			d->seen = d->now;
			d->changes++;
			d->session++;
			ok = true;
		}
		if (!ok || g->len == 0)
			continue;
		accepted = true;
		FZ_CHECK(k < n, "read_batch gave %d packets, want more", n);
		FZ_CHECK(pkts[k].len == g->len && pkts[k].flags == 0,
			 "packet %d: len %zu, want %u", k, pkts[k].len, g->len);
		for (size_t j = 0; j < g->len; j++)
			FZ_CHECK(pkts[k].data[j] == dt_byte(g->seed, j),
				 "packet %d: byte %zu differs", k, j);
		k++;
	}
	FZ_CHECK(k == n, "read_batch gave %d packets, want %d", n, k);
	for (unsigned i = 0; i < take; i++)
		d->qbytes -= d->q[i].len + DT_OVERHEAD;
	memmove(d->q, d->q + take, (d->qn - take) * sizeof(d->q[0]));
	d->qn -= take;
	FZ_CHECK(d->t->session == d->session, "session %u, want %u (was %u)",
		 d->t->session, d->session, session0);
	uint64_t v[TP_CTR__COUNT] = {0};
	d->t->ops->counters(d->t, v, TP_CTR__COUNT);
	FZ_CHECK(v[TP_CTR_dev_foreign_dropped] == d->foreign &&
		     v[TP_CTR_dev_client_changes] == d->changes,
		 "counters foreign %llu changes %llu, want %llu %llu",
		 (unsigned long long)v[TP_CTR_dev_foreign_dropped],
		 (unsigned long long)v[TP_CTR_dev_client_changes],
		 (unsigned long long)d->foreign,
		 (unsigned long long)d->changes);
}

static void dt_write(struct dt *d, int n)
{
	static uint8_t bufs[8][64];
	struct core_tx_pkt p[8];
	for (int i = 0; i < n; i++) {
		size_t len = 1 + (size_t)(d->tx_tag + i) % 60;
		memset(bufs[i], (uint8_t)(d->tx_tag + i), len);
		p[i] = (struct core_tx_pkt){bufs[i], len, 4};
	}
	uint64_t dropped = 0;
	int w = d->t->ops->write_batch(d->t, p, n, &dropped);
	FZ_CHECK(w == n, "write_batch: %d of %d", w, n);
	if (d->owner < 0)
		FZ_CHECK(dropped == (uint64_t)n, "no client: %llu dropped",
			 (unsigned long long)dropped);
	else
		FZ_CHECK(dropped == 0, "%llu dropped",
			 (unsigned long long)dropped);
	for (int s = 0; s < DT_SENDERS; s++) {
		uint8_t b[128];
		int got = 0;
		ssize_t r;
		while ((r = recv(dt_sock[s], b, sizeof(b), MSG_DONTWAIT)) >=
		       0) {
			FZ_CHECK(s == d->owner,
				 "sender %d is not the owner "
				 "(%d) but got a packet",
				 s, d->owner);
			FZ_CHECK(got < n && (size_t)r == p[got].len &&
				     b[0] == (uint8_t)(d->tx_tag + got),
				 "owner got packet %d wrong", got);
			got++;
		}
		if (s == d->owner)
			FZ_CHECK(got == n, "owner got %d of %d", got, n);
	}
	d->tx_tag = (uint8_t)(d->tx_tag + n);
}

void fz_devtransport_run(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	static struct dt d;
	memset(&d, 0, sizeof(d));
	dt_sockets();
	dt_drain();
	d.owner = -1;
	d.now = 1000000;
	d.idle_us = (1 + (uint64_t)(fz_u8(&in) % 8) * 700) * 1000;
	struct tunconn_udp_opts o = {.listen = "127.0.0.1:0",
				     .client_idle_ms =
					 (uint32_t)(d.idle_us / 1000),
				     .clock_us = dt_clock,
				     .clock_ctx = &d};
	int err;
	d.t = tunconn_udp_create(&o, &err);
	FZ_CHECK(d.t, "tunconn_udp_create: %d", err);
	socklen_t al = sizeof(d.to);
	getsockname(d.t->ops->fd(d.t), (struct sockaddr *)&d.to, &al);

	for (int steps = 0; in.n > 0 && steps < 2000; steps++) {
		uint8_t op = fz_u8(&in);
		switch (op & 7) {
		case 0:
		case 1:
		case 2:
		case 3: {
			/* One read per statement: the order of evaluation
			 * inside an initializer is unspecified. */
			struct dt_dgram g = {.from = (op >> 3) & 3};
			g.len = (uint16_t)(fz_u16(&in) % DT_MAXLEN);
			g.seed = fz_u8(&in);
			int from = g.from;
			while (d.qn > 0 &&
			       (d.qn == DT_MAXQ ||
				d.qbytes + g.len + DT_OVERHEAD > DT_QUEUE_MAX))
				dt_read(&d, 64);
			uint8_t b[DT_MAXLEN];
			for (size_t j = 0; j < g.len; j++)
				b[j] = dt_byte(g.seed, j);
			ssize_t r =
			    sendto(dt_sock[from], b, g.len, 0,
				   (struct sockaddr *)&d.to, sizeof(d.to));
			FZ_CHECK(r == g.len, "sendto: %s", strerror(errno));
			d.q[d.qn++] = g;
			d.qbytes += g.len + DT_OVERHEAD;
			break;
		}
		case 4:
			d.now += (uint64_t)fz_u16(&in) * 1000;
			break;
		case 5:
			d.now +=
			    d.idle_us - 1000 + (uint64_t)((op >> 3) & 3) * 1000;
			break;
		case 6:
			dt_read(&d, 1 + fz_u8(&in) % 70);
			break;
		case 7:
			dt_write(&d, 1 + fz_u8(&in) % 8);
			break;
		}
	}
	while (d.qn > 0)
		dt_read(&d, 64);
	d.t->ops->close(d.t);
}

/* --- virtio-net framing ---------------------------------------------------- */

#define VN_FRAME_MAX (65535 + VNET_HDR_LEN)
/* The pair's send buffer may be the default 2 x 212992 bytes: frames are
 * read before the queue could pass 192 KiB, so a send never blocks. */
#define VN_OVERHEAD  1024
#define VN_QUEUE_MAX (192 * 1024)
#define VN_MAXQ	     64

struct vn_frame {
	uint32_t len;
	uint8_t seed;
	uint8_t got; /* bytes of head[] from the input */
	uint8_t head[80];
};

/* tunconn_fd.c's batch: at most FD_BATCH packets, read back to back into
 * an arena of FD_ARENA_SMALL bytes plus one maximal frame, 64-byte
 * aligned, while a maximal frame still fits. */
#define VN_BATCH      64
#define VN_ARENA_MORE (64 * 2048)

struct vn {
	struct tunconn *t;
	int peer; /* the "kernel" side of the pair */
	struct core_engine *e;
	struct fake_host host;
	struct core_config cfg;
	uint64_t now;
	struct vn_frame q[VN_MAXQ];
	unsigned qn;
	size_t qbytes; /* what the queued frames cost the send buffer */
	uint64_t tso;
	uint8_t *frame; /* VN_FRAME_MAX bytes */
};

static void vn_log(void *ctx, enum tp_log_level level, const char *line)
{
	(void)ctx;
	(void)level;
	(void)line;
}

static uint8_t vn_byte(const struct vn_frame *f, size_t i)
{
	return i < f->got ? f->head[i] : (uint8_t)(f->seed + i * 13u);
}

/* The header and the first bytes come from the input (so the IP header
 * can be anything); the rest is a pattern. */
static void vn_fill(uint8_t *p, struct vn_frame *f, struct fz_in *in)
{
	f->got = (uint8_t)fz_bytes(in, f->head, f->len < 80 ? f->len : 80);
	for (size_t i = 0; i < f->len; i++)
		p[i] = vn_byte(f, i);
}

/* Checks one frame the writer sent: header, then a packet that parses. */
static void vn_check_written(const uint8_t *f, size_t len)
{
	FZ_CHECK(len > VNET_HDR_LEN, "written frame of %zu bytes", len);
	struct vnet_hdr h;
	vnet_hdr_read(f, &h);
	const uint8_t *p = f + VNET_HDR_LEN;
	size_t plen = len - VNET_HDR_LEN;
	struct wire_packet wp;
	if (h.gso_type == VNET_GSO_NONE) {
		FZ_CHECK(h.flags == 0, "plain frame with flags %u", h.flags);
		FZ_CHECK(wire_packet_parse(p, plen, &wp) == WIRE_OK,
			 "written packet does not parse");
		return;
	}
	FZ_CHECK(h.gso_type == VNET_GSO_TCPV4 || h.gso_type == VNET_GSO_TCPV6,
		 "gso_type %u", h.gso_type);
	FZ_CHECK(h.flags == VNET_F_NEEDS_CSUM && h.csum_offset == 16,
		 "GSO flags %u csum_offset %u", h.flags, h.csum_offset);
	FZ_CHECK(wire_packet_parse_csum_ok(p, plen, &wp) == WIRE_OK &&
		     wp.proto == WIRE_PROTO_TCP && !wp.is_fragment,
		 "GSO packet does not parse");
	FZ_CHECK(h.csum_start == wp.l3_hdr_len &&
		     h.hdr_len == (size_t)(wp.l4 - wp.l3) +
				      (size_t)(wp.payload - wp.l4) &&
		     h.gso_size > 0 && wp.payload_len > h.gso_size,
		 "GSO header: start %u hdr_len %u gso_size %u payload %u",
		 h.csum_start, h.hdr_len, h.gso_size, wp.payload_len);
}

/* Writes the engine's ring through the virtio-net writer and checks what
 * comes out on the other side. */
static void vn_flush(struct vn *v)
{
	struct core_tx_pkt pkts[64];
	size_t n;
	int rounds = 0;
	while ((n = core_tx_peek(v->e, pkts, 64)) > 0 && rounds++ < 64) {
		uint64_t dropped = 0;
		int w = v->t->ops->write_batch(v->t, pkts, (int)n, &dropped);
		FZ_CHECK(w == (int)n, "write_batch %d of %zu", w, n);
		core_tx_done(v->e, n);
		ssize_t r;
		while ((r = recv(v->peer, v->frame, VN_FRAME_MAX,
				 MSG_DONTWAIT)) >= 0)
			vn_check_written(v->frame, (size_t)r);
		core_tx_resume(v->e, v->now);
	}
}

static void vn_read(struct vn *v)
{
	struct tun_pkt pkts[64];
	int n = v->t->ops->read_batch(v->t, pkts, 64);
	FZ_CHECK(n >= 0, "read_batch: %d", n);
	/* The model: frames of at most the header are read and skipped;
	 * the others come out in order while the batch and its arena have
	 * room (see VN_BATCH). */
	unsigned used = 0;
	int k = 0;
	size_t off = 0;
	while (used < v->qn && k < VN_BATCH && off <= VN_ARENA_MORE) {
		const struct vn_frame *f = &v->q[used++];
		if (f->len <= VNET_HDR_LEN)
			continue;
		FZ_CHECK(k < n, "read_batch gave %d packets, want more", n);
		FZ_CHECK(pkts[k].len == f->len - VNET_HDR_LEN,
			 "packet %d: len %zu, want %u", k, pkts[k].len,
			 f->len - VNET_HDR_LEN);
		for (size_t j = 0; j < pkts[k].len; j++)
			FZ_CHECK(pkts[k].data[j] ==
				     vn_byte(f, j + VNET_HDR_LEN),
				 "packet %d: byte %zu differs", k, j);
		uint32_t want =
		    vn_byte(f, 0) & (VNET_F_NEEDS_CSUM | VNET_F_DATA_VALID)
			? CORE_IN_CSUM_OK
			: 0;
		FZ_CHECK(pkts[k].flags == want, "packet %d: flags %u, want %u",
			 k, pkts[k].flags, want);
		if ((vn_byte(f, 1) & ~VNET_GSO_ECN) != VNET_GSO_NONE)
			v->tso++;
		k++;
		off += ((size_t)f->len + 63) & ~(size_t)63;
	}
	FZ_CHECK(k == n, "read_batch gave %d packets, want %d", n, k);
	for (unsigned i = 0; i < used; i++)
		v->qbytes -= v->q[i].len + VN_OVERHEAD;
	memmove(v->q, v->q + used, (v->qn - used) * sizeof(v->q[0]));
	v->qn -= used;
	uint64_t c[TP_CTR__COUNT] = {0};
	v->t->ops->counters(v->t, c, TP_CTR__COUNT);
	FZ_CHECK(c[TP_CTR_tun_tso_read] == v->tso,
		 "tun_tso_read %llu, want %llu",
		 (unsigned long long)c[TP_CTR_tun_tso_read],
		 (unsigned long long)v->tso);
	for (int i = 0; i < n; i++) {
		core_input(v->e, pkts[i].data, pkts[i].len, pkts[i].flags,
			   v->now);
		vn_flush(v);
	}
}

/* A run of TCP segments as the engine builds them, with variations, for
 * the GSO run finder and merger. */
static void vn_gso(struct vn *v, struct fz_in *in)
{
	static uint8_t slots[16][VNET_HDR_LEN + 9100];
	struct core_tx_pkt pk[16];
	uint8_t cnt = fz_u8(in), var = fz_u8(in);
	int n = 2 + cnt % 15;
	uint8_t family = cnt & 0x80 ? 6 : 4;
	size_t mss = 1 + fz_u16(in) % 9000;
	uint32_t seq = fz_u32(in);
	struct wire_ip_hdr ip = {
	    .family = family, .proto = WIRE_PROTO_TCP, .ttl = 64};
	uint8_t a4[4] = {203, 0, 113, 10}, b4[4] = {10, 0, 0, 8};
	uint8_t a6[16] = {0x20, 1, 0xd, 0xb8, [15] = 0x10};
	uint8_t b6[16] = {0xfd, 0xaa, [15] = 8};
	if (family == 4) {
		wire_addr_from4(&ip.src, a4);
		wire_addr_from4(&ip.dst, b4);
	} else {
		wire_addr_from6(&ip.src, a6);
		wire_addr_from6(&ip.dst, b6);
	}
	size_t plens[16];
	uint32_t seqs[16];
	for (int i = 0; i < n; i++) {
		struct wire_tcp_hdr h = {.sport = 80,
					 .dport = 40000,
					 .seq = seq,
					 .ack = 1234,
					 .flags = WIRE_TCP_ACK,
					 .window = 500};
		size_t plen = mss;
		uint8_t x = fz_u8(in);
		if ((var & 1) && (x & 7) == 0)
			plen = x % (mss + 1); /* shorter, or empty */
		if ((var & 2) && (x & 0x38) == 0)
			h.flags |= x & 0x40 ? WIRE_TCP_PSH : WIRE_TCP_FIN;
		if ((var & 4) && (x & 0xc0) == 0xc0)
			h.seq += 1; /* a gap */
		if ((var & 8) && x == 0x55)
			h.opts.has_ts = true; /* other header bytes */
		size_t hl = wire_ip_hdr_len(family) + wire_tcp_hdr_len(&h.opts);
		uint8_t *p = slots[i] + VNET_HDR_LEN;
		if (hl + plen > 9100 - 1)
			plen = 9100 - 1 - hl;
		for (size_t j = 0; j < plen; j++)
			p[hl + j] = (uint8_t)(h.seq + j);
		size_t len = wire_tcp_build(p, 9100, &ip, &h, plen);
		FZ_CHECK(len == hl + plen, "wire_tcp_build");
		pk[i] = (struct core_tx_pkt){p, len, family};
		plens[i] = plen;
		seqs[i] = h.seq;
		seq = h.seq + (uint32_t)plen;
	}
	int k = vnet_gso_run(pk, n);
	FZ_CHECK(k >= 1 && k <= n, "vnet_gso_run gave %d of %d", k, n);
	if (k == 1)
		return;
	/* Each merged segment followed the one before it, had the first's
	 * payload size but the last, and only the last may be shorter. */
	size_t total_payload = 0;
	for (int i = 0; i < k; i++) {
		FZ_CHECK(plens[i] > 0 && plens[i] <= plens[0],
			 "segment %d of the run has %zu bytes", i, plens[i]);
		FZ_CHECK(i == 0 ||
			     seqs[i] == (uint32_t)(seqs[i - 1] + plens[i - 1]),
			 "segment %d of %d (run %d) does not follow: seq %u "
			 "len %zu, "
			 "then %u len %zu",
			 i, n, k, seqs[i - 1], plens[i - 1], seqs[i], plens[i]);
		FZ_CHECK(i == k - 1 || plens[i] == plens[0],
			 "a short segment %d inside the run", i);
		total_payload += plens[i];
	}
	/* Keep the payloads to compare after the merge rewrites pk[0]. */
	static uint8_t want[16 * 9100];
	size_t off = 0;
	size_t hl0 = pk[0].len - plens[0];
	for (int i = 0; i < k; i++) {
		memcpy(want + off, pk[i].data + (pk[i].len - plens[i]),
		       plens[i]);
		off += plens[i];
	}
	struct vnet_hdr h;
	size_t hl = vnet_gso_merge(pk, k, &h);
	FZ_CHECK(hl == hl0 && h.hdr_len == hl0 && h.gso_size == plens[0] &&
		     h.csum_start == wire_ip_hdr_len(family),
		 "merge: hl %zu hdr_len %u gso_size %u", hl, h.hdr_len,
		 h.gso_size);
	/* The super-packet as the writer sends it: pk[0] whole, then the
	 * payloads of the others. */
	uint8_t *sp = v->frame;
	memcpy(sp, pk[0].data, pk[0].len);
	size_t sl = pk[0].len;
	for (int i = 1; i < k; i++) {
		memcpy(sp + sl, pk[i].data + hl, pk[i].len - hl);
		sl += pk[i].len - hl;
	}
	FZ_CHECK(sl == hl0 + total_payload && sl <= 65535 + 40,
		 "super-packet of %zu bytes", sl);
	struct wire_packet wp;
	enum wire_drop why = wire_packet_parse_csum_ok(sp, sl, &wp);
	FZ_CHECK(why == WIRE_OK,
		 "super-packet of %d segments (%zu bytes, v%u, gso_size %u) "
		 "does not parse: drop reason %d",
		 k, sl, family, h.gso_size, (int)why);
	FZ_CHECK(wp.payload_len == total_payload &&
		     memcmp(wp.payload, want, total_payload) == 0 &&
		     wp.u.tcp.seq == seqs[0],
		 "super-packet payload or sequence differs");
}

void fz_vnet_run(const uint8_t *data, size_t size)
{
	static const uint32_t mtus[4] = {1500, 9000, 65535, 1280};
	struct fz_in in = {data, size};
	static struct vn v;
	memset(&v, 0, sizeof(v));
	int sp[2];
	FZ_CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp) == 0,
		 "socketpair: %s", strerror(errno));
	int big = 8 << 20;
	setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(sp[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	v.peer = sp[1];
	fcntl(v.peer, F_SETFL, O_NONBLOCK);
	uint8_t c0 = fz_u8(&in);
	uint32_t mtu = mtus[c0 & 3];
	v.t = tunconn_fd_create(sp[0], TP_FRAMING_VNET_HDR, mtu);
	FZ_CHECK(v.t, "tunconn_fd_create");
	v.frame = malloc(VN_FRAME_MAX);
	FZ_CHECK(v.frame, "malloc");

	struct tp_config pub;
	memset(&pub, 0, sizeof(pub)); /* zeros: the defaults */
	pub.mtu = mtu;
	core_config_from_public(&v.cfg, &pub);
	v.cfg.max_flows = 8;
	v.cfg.max_memory = 16u << 20;
	v.cfg.hash_seed = 42;
	v.cfg.log = vn_log;
	v.cfg.tx_headroom = 16;
	fz_host_init(&v.host, NULL);
	v.e = core_create(&v.cfg, &fake_host_ops, &v.host);
	FZ_CHECK(v.e, "core_create");
	v.now = 1000000;

	for (int steps = 0; in.n > 0 && steps < 500; steps++) {
		uint8_t op = fz_u8(&in);
		switch (op % 4) {
		case 0: {
			struct vn_frame f = {.len = fz_u16(&in)};
			f.seed = fz_u8(&in); /* not in the initializer: order */
			if (op & 4)
				f.len += 65536 - 2048; /* a TSO-sized one */
			/* A TUN read is never empty (0 means "gone"). */
			f.len = 1 + f.len % VN_FRAME_MAX;
			while (v.qn > 0 &&
			       (v.qn == VN_MAXQ ||
				v.qbytes + f.len + VN_OVERHEAD > VN_QUEUE_MAX))
				vn_read(&v);
			vn_fill(v.frame, &f, &in);
			ssize_t r = send(v.peer, v.frame, f.len, 0);
			FZ_CHECK(r == (ssize_t)f.len, "send %u: %s", f.len,
				 strerror(errno));
			v.q[v.qn++] = f;
			v.qbytes += f.len + VN_OVERHEAD;
			break;
		}
		case 1:
			vn_read(&v);
			break;
		case 2:
			vn_gso(&v, &in);
			break;
		case 3:
			v.now += (uint64_t)fz_u16(&in) * 1000;
			core_timers(v.e, v.now);
			vn_flush(&v);
			break;
		}
	}
	while (v.qn > 0) {
		unsigned before = v.qn;
		vn_read(&v);
		FZ_CHECK(v.qn < before, "read_batch made no progress");
	}
	core_destroy(v.e);
	fake_host_free(&v.host);
	v.t->ops->close(v.t);
	close(sp[0]);
	close(sp[1]);
	free(v.frame);
}
