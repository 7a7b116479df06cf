/* SPDX-License-Identifier: MIT */
/* harness_router.c - the stateful fuzz harness: the whole sans-I/O engine
 * driven by a program decoded from the fuzz input.
 *
 * The harness plays both neighbours of the engine: the app (packets into
 * core_input) and the driver (host sockets through the fake host of
 * tests/unit/support/fake_host.c, socket events, the clock, draining the
 * transmit ring).
 * Packets are mostly built from templates for 16 tuples (4 address/port
 * pairs, v4 and v6, each with 4 source ports) so flows get created and
 * walked through their states; the app side of each tuple remembers its
 * next sequence number and what it learnt from the engine's segments
 * (ISN, sequence sent, timestamp), so ACKs, SACK blocks and in-order data
 * are usually right and the fuzzer only has to choose how to bend them.
 * Raw and mutated packets cover the rest.
 *
 * Input: [4 config bytes] then steps [op] [args...] until the input ends;
 * see rt_config() and rt_step() for the bytes each reads (missing bytes
 * read as zero).
 *
 * Checked after every step (fz_fail on a break):
 *   - every packet the engine emits parses (WIRE_OK) and fits the MTU;
 *   - TCP payload to the app is byte for byte the host's stream, and bytes
 *     written to a host socket are byte for byte the app's stream (both
 *     are patterns of the sequence number, see fake_host.h), unless the
 *     app sent other bytes on that tuple (raw or mutated packets);
 *   - the memory charged never passes max_memory; the flow count never
 *     passes max_flows and every flow lies in the table; the gauges (flows_open, *_flows_open,
 *     tcp_conns_open, tcp_half_open) stay consistent with the table;
 *   - every open host socket belongs to a live flow that names it, and the
 *     core never touches a socket it closed (the fake host's misuse
 *     checks);
 *   - after core_timers(now), no deadline is left at or before now.
 * At the end, depending on the config: all timers run until every flow has
 * expired, or every flow is closed as core_destroy does; then the gauges
 * are zero, no socket is open and the memory charged is back to what
 * core_create left. After core_destroy no socket may be open; LSan checks
 * the rest.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/flow.h"
#include "core/names.h"
#include "harness.h"
#include "support/fake_host.h"
#include "wire/build.h"
#include "wire/packet.h"

#define RT_TUPLES	16
#define RT_MAX_STEPS	3000
#define RT_PKT_CAP	(65536 + 256)
#define RT_SEQ_GT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)

/* The byte the app sends at TCP sequence number s (any connection, any
 * tuple): another pattern than the host's stream, so bytes crossing over
 * to the wrong side show. */
static inline uint8_t fz_pat_app(uint32_t s)
{
	return fake_host_stream_byte(s ^ 0x5a5a5a5au);
}

struct rt_tuple {
	uint8_t family;
	struct wire_addr app, dst;
	uint16_t sport, dport;
	uint32_t app_nxt; /* next sequence the app sends in order */
	uint32_t app_ts;
	bool syn_known; /* syn_seq: the sequence of the app's last SYN */
	uint32_t syn_seq;
	bool srv_known; /* a SYN-ACK was seen: srv_* are valid */
	uint32_t srv_isn, srv_nxt, srv_ts;
	bool tainted; /* the app sent bytes off the pattern here */
};

/* What the harness knows of a TCP host socket, by slot (id -
 * FAKE_SOCK_BASE): set when it opens (rt_on_connect). */
struct rt_sock {
	int tuple; /* the tuple index, -1: unknown */
	/* The app sequence number of the first byte sent to the socket (from
	 * the app's SYN), so bytes sent there can be checked. */
	bool tx_base_known, tx_unchecked;
	uint32_t tx_base;
};

struct rt {
	struct core_engine *e;
	struct core_config cfg;
	struct fake_host host;
	struct rt_sock rs[FAKE_MAX_SOCKS];
	uint64_t now;
	bool auto_drain;
	uint8_t finish_mode;
	size_t budget_extra;
	size_t base_mem;
	struct rt_tuple tu[RT_TUPLES];
	uint8_t *pkt; /* RT_PKT_CAP bytes to build packets in */
	struct fz_in in;
};

static void rt_log(void *ctx, enum tp_log_level level, const char *line)
{
	(void)ctx;
	(void)level;
	(void)line;
}

static void rt_tuples(struct rt *r)
{
	static const uint8_t app6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0,
					 0,    0, 0, 0, 0, 0, 0, 2};
	for (int i = 0; i < RT_TUPLES; i++) {
		struct rt_tuple *t = &r->tu[i];
		int b = i & 3, v = i >> 2;
		uint8_t d6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
				  0,	0,    0,    0,	  0, 0, 0, 1};
		memset(t, 0, sizeof(*t));
		if (b < 2) {
			uint8_t a[4] = {10, 0, 0, (uint8_t)(2 + b)};
			uint8_t d[4] = {198, 51, 100, (uint8_t)(1 + 6 * b)};
			t->family = 4;
			wire_addr_from4(&t->app, a);
			wire_addr_from4(&t->dst, d);
		} else {
			d6[15] = (uint8_t)(b == 2 ? 1 : 0x35);
			t->family = 6;
			wire_addr_from6(&t->app, app6);
			wire_addr_from6(&t->dst, d6);
		}
		t->dport = (b & 1) ? 53 : (b == 0 ? 80 : 443);
		t->sport = (uint16_t)((b & 1 ? 50000 : 40000) + v);
		/* Near the wrap, so modular compares are exercised. */
		t->app_nxt = 0xfffff000u + (uint32_t)i * 0x1000u;
		t->app_ts = 100;
	}
}

/* --- the fake host, set up for fuzzing --- */

static void fz_host_misuse(void *ctx, const char *what)
{
	(void)ctx;
	fz_fail("%s", what);
}

void fz_host_init(struct fake_host *h, void *hook_ctx)
{
	fake_host_init(h);
	/* A closed id comes back only after the other free ones, so a call
	 * on a closed socket is caught, not taken for another flow's. */
	h->reuse_closed = true;
	/* Nothing kept: a run sends up to gigabytes, millions of times;
	 * rt_on_send checks the TCP bytes as they pass instead. */
	h->keep_sent = false;
	/* A socket buffer of a few datagrams: what the core reads per event
	 * stays bounded, and so does what a run holds. */
	h->max_dgrams = 8;
	h->on_misuse = fz_host_misuse;
	h->hook_ctx = hook_ctx;
}

/* --- the driver's side: draining, learning, checking --- */

static struct rt_tuple *rt_tuple_of_reply(struct rt *r,
					  const struct wire_packet *p)
{
	for (int i = 0; i < RT_TUPLES; i++) {
		struct rt_tuple *t = &r->tu[i];
		if (t->family == p->family && t->sport == p->dport &&
		    t->dport == p->sport && wire_addr_eq(&t->app, &p->dst) &&
		    wire_addr_eq(&t->dst, &p->src))
			return t;
	}
	return NULL;
}

/* The open TCP socket of the live flow on tuple t, or NULL. */
static struct fake_sock *rt_sock_of_tuple(struct rt *r,
					  const struct rt_tuple *t)
{
	for (unsigned i = 0; i < FAKE_MAX_SOCKS; i++) {
		struct fake_sock *s = &r->host.socks[i];
		if (!fake_sock_open(s) || s->kind != FAKE_TCP)
			continue;
		union flow *f = flow_from_handle(r->e->flows, s->flow);
		if (!f)
			continue;
		const struct flow_key *k = &f->c.key;
		if (k->family == t->family && k->sport == t->sport &&
		    k->dport == t->dport && wire_addr_eq(&k->src, &t->app) &&
		    wire_addr_eq(&k->dst, &t->dst))
			return s;
	}
	return NULL;
}

/* What the app learns from a TCP segment the engine sent it. */
static void rt_learn(struct rt *r, const struct wire_packet *p)
{
	struct rt_tuple *t = rt_tuple_of_reply(r, p);
	if (!t || p->proto != WIRE_PROTO_TCP)
		return;
	const struct wire_tcp *th = &p->u.tcp;
	if (th->opts.has_ts)
		t->srv_ts = th->opts.ts_val;
	if ((th->flags & (WIRE_TCP_SYN | WIRE_TCP_ACK)) ==
	    (WIRE_TCP_SYN | WIRE_TCP_ACK)) {
		t->srv_known = true;
		t->srv_isn = th->seq;
		t->srv_nxt = th->seq + 1;
		return;
	}
	if (!t->srv_known || (th->flags & (WIRE_TCP_SYN | WIRE_TCP_RST)))
		return;
	/* Host data: byte k of the host's stream has sequence isn + 1 + k. */
	uint32_t k0 = th->seq - t->srv_isn - 1;
	for (uint32_t i = 0; i < p->payload_len; i++)
		FZ_CHECK(p->payload[i] == fake_host_stream_byte(k0 + i),
			 "segment to the app carries a wrong byte at stream "
			 "offset %u (seq %u)",
			 k0 + i, th->seq + i);
	uint32_t end =
	    th->seq + p->payload_len + ((th->flags & WIRE_TCP_FIN) ? 1u : 0u);
	if (RT_SEQ_GT(end, t->srv_nxt))
		t->srv_nxt = end;
}

/* The tuple a flow handle's key names, or NULL. */
static struct rt_tuple *rt_tuple_of_flow(struct rt *r, uint32_t handle)
{
	union flow *f = flow_from_handle(r->e->flows, handle);
	if (!f)
		return NULL;
	const struct flow_key *k = &f->c.key;
	for (int i = 0; i < RT_TUPLES; i++) {
		struct rt_tuple *t = &r->tu[i];
		if (k->family == t->family && k->sport == t->sport &&
		    k->dport == t->dport && wire_addr_eq(&k->src, &t->app) &&
		    wire_addr_eq(&k->dst, &t->dst))
			return t;
	}
	return NULL;
}

static struct rt_sock *rt_sock(struct rt *r, const struct fake_sock *s)
{
	return &r->rs[s - r->host.socks];
}

/* The on_tcp_connect hook: a connect starts while the engine handles the
 * app's SYN, whose sequence number + 1 is the first byte of the stream. */
static void rt_on_connect(void *ctx, struct fake_sock *s)
{
	struct rt *r = ctx;
	struct rt_sock *x = rt_sock(r, s);
	struct rt_tuple *t = rt_tuple_of_flow(r, s->flow);
	*x = (struct rt_sock){.tuple = -1};
	if (!t || !t->syn_known)
		return;
	x->tuple = (int)(t - r->tu);
	x->tx_base = t->syn_seq + 1;
	x->tx_base_known = true;
}

/* The app sends a SYN with sequence seq on t: an engine still connecting
 * may start over with that ISN, so its stream can no longer be checked. */
static void rt_note_syn(struct rt *r, struct rt_tuple *t, uint32_t seq)
{
	struct fake_sock *s = rt_sock_of_tuple(r, t);
	struct rt_sock *x = s ? rt_sock(r, s) : NULL;
	if (x && (!x->tx_base_known || x->tx_base != seq + 1))
		x->tx_unchecked = true;
	t->syn_known = true;
	t->syn_seq = seq;
}

/* The on_tcp_send hook: bytes written to a host socket are the app's. */
static void rt_on_send(void *ctx, struct fake_sock *s, const uint8_t *p,
		       size_t n)
{
	struct rt *r = ctx;
	struct rt_sock *x = rt_sock(r, s);
	if (!x->tx_base_known) {
		x->tx_unchecked = true;
		return;
	}
	if (x->tx_unchecked || x->tuple < 0 || r->tu[x->tuple].tainted)
		return;
	/* tx_len does not count these bytes yet. */
	uint32_t seq = x->tx_base + (uint32_t)s->tx_len;
	for (size_t i = 0; i < n; i++)
		FZ_CHECK(p[i] == fz_pat_app(seq + (uint32_t)i),
			 "host socket %d got a wrong byte at app seq %u",
			 fake_host_id(&r->host, s), seq + (uint32_t)i);
}

/* Takes up to max packets out of the ring, checking and learning from
 * each, then lets waiting flows continue. */
static void rt_drain(struct rt *r, size_t max)
{
	struct core_tx_pkt pk[32];
	size_t done = 0;
	while (done < max) {
		size_t want = max - done < 32 ? max - done : 32;
		size_t n = core_tx_peek(r->e, pk, want);
		if (!n)
			break;
		for (size_t i = 0; i < n; i++) {
			struct wire_packet p;
			enum wire_drop why =
			    wire_packet_parse(pk[i].data, pk[i].len, &p);
			FZ_CHECK(why == WIRE_OK,
				 "the engine emitted a packet that does not "
				 "parse: %s (%zu bytes)",
				 wire_drop_name(why), pk[i].len);
			FZ_CHECK(pk[i].len <= r->cfg.mtu,
				 "emitted %zu bytes, MTU %u", pk[i].len,
				 r->cfg.mtu);
			FZ_CHECK(pk[i].family == p.family,
				 "ring says family %u for a v%u packet",
				 pk[i].family, p.family);
			if (!p.is_fragment)
				rt_learn(r, &p);
		}
		core_tx_done(r->e, n);
		done += n;
	}
	core_tx_resume(r->e, r->now);
}

static uint64_t ctr(const struct rt *r, enum tp_counter c)
{
	return core_counters(r->e)[c];
}

static void rt_check_slot(struct core_engine *e, union flow *f)
{
	uint32_t idx = flow_index(e->flows, f);
	FZ_CHECK(idx < e->cfg.max_flows, "flow in slot %u of a %u-slot table",
		 idx, e->cfg.max_flows);
}

/* The invariants that hold between any two entry points. */
static void rt_check(struct rt *r)
{
	struct core_engine *e = r->e;
	uint32_t flows = core_flow_count(e);

	FZ_CHECK(flows <= r->cfg.max_flows, "%u flows, max_flows %u", flows,
		 r->cfg.max_flows);
	FZ_CHECK(ctr(r, TP_CTR_flows_open) == flows,
		 "flows_open %llu, table %u",
		 (unsigned long long)ctr(r, TP_CTR_flows_open), flows);
	FZ_CHECK(e->mem.used <= r->cfg.max_memory &&
		     e->mem.peak <= r->cfg.max_memory,
		 "memory %zu (peak %zu) past the budget %llu", e->mem.used,
		 e->mem.peak, (unsigned long long)r->cfg.max_memory);
	FZ_CHECK(e->mem.used >= r->base_mem, "memory %zu below the base %zu",
		 e->mem.used, r->base_mem);
	uint64_t udp = ctr(r, TP_CTR_udp_flows_open),
		 icmp = ctr(r, TP_CTR_icmp_flows_open),
		 est = ctr(r, TP_CTR_tcp_conns_open),
		 half = ctr(r, TP_CTR_tcp_half_open);
	/* A connection in SYN_RCVD is both open (its host connect is done)
	 * and half-open (the app has not ACKed): the TCP gauges overlap. */
	FZ_CHECK(udp <= flows && icmp <= flows && est <= flows &&
		     half <= flows && udp + icmp + est <= flows &&
		     udp + icmp + half <= flows,
		 "gauges udp %lld icmp %lld tcp %lld half-open %lld for %u "
		 "flows",
		 (long long)udp, (long long)icmp, (long long)est,
		 (long long)half, flows);
	FZ_CHECK(half <= r->cfg.max_tcp_half_open,
		 "%llu connects pending, limit %u", (unsigned long long)half,
		 r->cfg.max_tcp_half_open);
	flow_for_each(e->flows, rt_check_slot, e);
	FZ_CHECK(r->host.open_count <= flows, "%u sockets open for %u flows",
		 r->host.open_count, flows);
	for (unsigned i = 0; i < FAKE_MAX_SOCKS; i++) {
		struct fake_sock *s = &r->host.socks[i];
		if (!fake_sock_open(s))
			continue;
		union flow *f = flow_from_handle(e->flows, s->flow);
		int id = fake_host_id(&r->host, s);
		FZ_CHECK(f && f->c.sock == id,
			 "socket %d is open but its flow is gone or has "
			 "another socket",
			 id);
		static const uint8_t type_of[] = {[FAKE_TCP] = FLOW_TCP,
						  [FAKE_UDP] = FLOW_UDP,
						  [FAKE_ICMP] = FLOW_ICMP};
		FZ_CHECK(f->c.type == type_of[s->kind],
			 "socket %d of kind %u serves a flow of type %u", id,
			 s->kind, f->c.type);
	}
}

/* A driver step is over: drain the ring as the real driver does (unless
 * the input turned that off), then check. */
static void rt_end_step(struct rt *r)
{
	if (r->auto_drain)
		rt_drain(r, SIZE_MAX);
	rt_check(r);
}

static void rt_timers(struct rt *r)
{
	core_timers(r->e, r->now);
	uint64_t d = core_next_deadline(r->e);
	FZ_CHECK(d > r->now, "deadline %llu left at or before now %llu",
		 (unsigned long long)d, (unsigned long long)r->now);
}

/* --- the app's side: packets --- */

static void rt_ip(const struct rt_tuple *t, uint8_t proto,
		  struct wire_ip_hdr *ip)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = t->family;
	ip->proto = proto;
	ip->src = t->app;
	ip->dst = t->dst;
}

/* A TCP segment from tuple t carrying len bytes of the app's pattern. */
static size_t rt_build_tcp(struct rt *r, const struct rt_tuple *t,
			   uint8_t flags, uint32_t seq, uint32_t ack,
			   uint16_t win, const struct wire_tcp_opts *o,
			   size_t len)
{
	struct wire_ip_hdr ip;
	struct wire_tcp_hdr h;
	rt_ip(t, WIRE_PROTO_TCP, &ip);
	memset(&h, 0, sizeof(h));
	h.sport = t->sport;
	h.dport = t->dport;
	h.seq = seq;
	h.ack = ack;
	h.flags = flags;
	h.window = win;
	if (o)
		h.opts = *o;
	size_t off = wire_ip_hdr_len(t->family) + wire_tcp_hdr_len(&h.opts);
	if (off + len > RT_PKT_CAP)
		return 0;
	uint32_t first = seq + ((flags & WIRE_TCP_SYN) ? 1u : 0u);
	for (size_t i = 0; i < len; i++)
		r->pkt[off + i] = fz_pat_app(first + (uint32_t)i);
	return wire_tcp_build(r->pkt, RT_PKT_CAP, &ip, &h, len);
}

static size_t rt_build_udp(struct rt *r, const struct rt_tuple *t,
			   uint16_t dport, size_t len, uint8_t seed)
{
	struct wire_ip_hdr ip;
	rt_ip(t, WIRE_PROTO_UDP, &ip);
	size_t off = wire_ip_hdr_len(t->family) + WIRE_UDP_HDR_LEN;
	if (off + len > RT_PKT_CAP)
		return 0;
	for (size_t i = 0; i < len; i++)
		r->pkt[off + i] = (uint8_t)(seed + i);
	return wire_udp_build(r->pkt, RT_PKT_CAP, &ip, t->sport, dport, len);
}

static size_t rt_build_icmp(struct rt *r, const struct rt_tuple *t,
			    uint8_t type, uint16_t id, uint16_t seq, size_t len)
{
	struct wire_ip_hdr ip;
	rt_ip(t, t->family == 4 ? WIRE_PROTO_ICMP : WIRE_PROTO_ICMP6, &ip);
	size_t off = wire_ip_hdr_len(t->family) + WIRE_ICMP_HDR_LEN;
	if (off + len > RT_PKT_CAP)
		return 0;
	for (size_t i = 0; i < len; i++)
		r->pkt[off + i] = (uint8_t)(i * 3);
	return wire_icmp_echo_build(r->pkt, RT_PKT_CAP, &ip, type, id, seq,
				    len);
}

/* A packet not built from the pattern: if it carries TCP bytes for one of
 * the tuples (or may, once reassembled), their streams are unchecked. */
static void rt_taint(struct rt *r, const uint8_t *pkt, size_t len)
{
	struct wire_packet p;
	if (wire_packet_parse(pkt, len, &p) != WIRE_OK)
		return;
	if (p.is_fragment) {
		for (int i = 0; i < RT_TUPLES; i++)
			r->tu[i].tainted = true;
		return;
	}
	if (p.proto != WIRE_PROTO_TCP)
		return;
	for (int i = 0; i < RT_TUPLES; i++) {
		struct rt_tuple *t = &r->tu[i];
		if (t->family != p.family || t->sport != p.sport ||
		    t->dport != p.dport || !wire_addr_eq(&t->app, &p.src) ||
		    !wire_addr_eq(&t->dst, &p.dst))
			continue;
		if (p.payload_len)
			t->tainted = true;
		if (p.u.tcp.flags & WIRE_TCP_SYN)
			rt_note_syn(r, t, p.u.tcp.seq);
	}
}

static void rt_input(struct rt *r, const uint8_t *pkt, size_t len)
{
	core_input(r->e, pkt, len, 0, r->now);
	rt_end_step(r);
}

/* The TCP options of a segment: [bits] then the values the bits ask for.
 * bit 0 MSS, 1 window scale, 2 SACK-permitted, 3 timestamps, 4-5 SACK
 * blocks (0-3) relative to ack. */
static void rt_tcp_opts(struct rt *r, struct rt_tuple *t, uint32_t ack,
			struct wire_tcp_opts *o)
{
	struct fz_in *in = &r->in;
	uint8_t bits = fz_u8(in);
	memset(o, 0, sizeof(*o));
	if (bits & 1)
		o->mss = fz_u16(in);
	if (bits & 2) {
		o->has_wscale = true;
		o->wscale = fz_u8(in) & 15;
	}
	o->sack_permitted = bits & 4;
	if (bits & 8) {
		o->has_ts = true;
		o->ts_val = t->app_ts++;
		o->ts_ecr = t->srv_ts;
	}
	o->sack_count = (uint8_t)(bits >> 4 & 3);
	for (unsigned k = 0; k < o->sack_count; k++) {
		uint32_t s = ack + (fz_u16(in) & 0x3fff) * 8u;
		o->sack[k].start = s;
		o->sack[k].end = s + 1 + (fz_u16(in) & 0x3fff);
	}
}

/* op: a TCP segment from the app.
 * [tuple] [flags sel] [modes] (delta u16 if a mode needs it) [options]
 * [length] */
static void op_tcp(struct rt *r)
{
	static const uint8_t flag_tab[12] = {
	    WIRE_TCP_SYN,
	    WIRE_TCP_SYN,
	    WIRE_TCP_ACK,
	    WIRE_TCP_ACK | WIRE_TCP_PSH,
	    WIRE_TCP_ACK | WIRE_TCP_FIN,
	    WIRE_TCP_ACK | WIRE_TCP_FIN | WIRE_TCP_PSH,
	    WIRE_TCP_RST,
	    WIRE_TCP_RST | WIRE_TCP_ACK,
	    WIRE_TCP_SYN | WIRE_TCP_ACK,
	    WIRE_TCP_ACK,
	    0, /* from the input */
	    WIRE_TCP_ACK | WIRE_TCP_PSH,
	};
	struct fz_in *in = &r->in;
	struct rt_tuple *t = &r->tu[fz_u8(in) % RT_TUPLES];
	uint8_t fsel = fz_u8(in) % 12;
	uint8_t flags = fsel == 10 ? fz_u8(in) : flag_tab[fsel];
	uint8_t modes = fz_u8(in);
	uint32_t seq = t->app_nxt, ack = t->srv_nxt;
	uint16_t win = 65535;

	switch (modes & 3) {
	case 1:
		seq -= fz_u16(in);
		break;
	case 2:
		seq += fz_u16(in);
		break;
	case 3:
		seq = fz_u32(in);
		break;
	}
	switch (modes >> 2 & 3) {
	case 1:
		ack -= fz_u16(in);
		break;
	case 2:
		ack += fz_u16(in);
		break;
	case 3:
		ack = fz_u32(in);
		break;
	}
	switch (modes >> 4 & 3) {
	case 1:
		win = 0;
		break;
	case 2:
		win = fz_u16(in);
		break;
	case 3:
		win = fz_u8(in);
		break;
	}
	if (!(flags & WIRE_TCP_ACK) && (modes >> 2 & 3) == 0)
		ack = 0;
	struct wire_tcp_opts o;
	rt_tcp_opts(r, t, ack, &o);
	size_t len = (size_t)fz_u8(in) * ((modes & 64) ? 64 : 4);
	if (fsel == 2 || fsel == 4 || fsel == 6 || fsel == 7 || fsel == 8)
		len = 0; /* control segments stay bare */
	size_t n = rt_build_tcp(r, t, flags, seq, ack, win, &o, len);
	if (!n)
		return;
	uint32_t end = seq + (uint32_t)len +
		       ((flags & WIRE_TCP_SYN) ? 1u : 0u) +
		       ((flags & WIRE_TCP_FIN) ? 1u : 0u);
	if ((modes & 3) == 0 || (flags & WIRE_TCP_SYN) ||
	    RT_SEQ_GT(end, t->app_nxt))
		t->app_nxt = end;
	if (modes & 128)
		t->app_ts += 1000;
	if (flags & WIRE_TCP_SYN)
		rt_note_syn(r, t, seq);
	rt_input(r, r->pkt, n);
}

/* op: a UDP datagram. [tuple] [flags] [length u16] */
static void op_udp(struct rt *r)
{
	struct fz_in *in = &r->in;
	struct rt_tuple *t = &r->tu[fz_u8(in) % RT_TUPLES];
	uint8_t fl = fz_u8(in);
	size_t len = fz_u16(in);
	if (!(fl & 1))
		len %= 1500;
	uint16_t dport = (fl & 2) ? 53 : t->dport;
	size_t n = rt_build_udp(r, t, dport, len, fl);
	if (n)
		rt_input(r, r->pkt, n);
}

/* op: an ICMP message, mostly an echo request. [tuple] [type sel] [id sel]
 * [seq u16] [length] */
static void op_icmp(struct rt *r)
{
	struct fz_in *in = &r->in;
	struct rt_tuple *t = &r->tu[fz_u8(in) % RT_TUPLES];
	uint8_t tsel = fz_u8(in);
	uint8_t type =
	    t->family == 4 ? WIRE_ICMP4_ECHO_REQUEST : WIRE_ICMP6_ECHO_REQUEST;
	if (tsel & 1)
		type = fz_u8(in);
	uint16_t id = (tsel & 2) ? fz_u16(in) : t->sport;
	uint16_t seq = fz_u16(in);
	size_t len = (size_t)fz_u8(in) * 8;
	size_t n = rt_build_icmp(r, t, type, id, seq, len);
	if (n)
		rt_input(r, r->pkt, n);
}

struct rt_frags {
	unsigned n;
	size_t len[48];
	uint8_t *pkt[48];
};

static int rt_frag_collect(void *ctx, const uint8_t *frag, size_t len)
{
	struct rt_frags *f = ctx;
	if (f->n == 48)
		return -1;
	f->pkt[f->n] = malloc(len);
	memcpy(f->pkt[f->n], frag, len);
	f->len[f->n++] = len;
	return 0;
}

/* op: a packet the app fragmented. [kind/tuple] [length u16] [mtu sel]
 * [id u16] [order] [index] */
static void op_frag(struct rt *r)
{
	struct fz_in *in = &r->in;
	uint8_t k = fz_u8(in);
	struct rt_tuple *t = &r->tu[k % RT_TUPLES];
	size_t len = fz_u16(in) % 9000;
	size_t mtu = t->family == 4 ? 68 + (size_t)fz_u8(in) * 8
				    : 1280 + (size_t)fz_u8(in) * 8;
	uint16_t id = fz_u16(in);
	uint8_t order = fz_u8(in);
	uint8_t idx = fz_u8(in);
	size_t n;

	switch (k >> 4 & 3) {
	case 0:
	case 1:
		n = rt_build_udp(r, t, t->dport, len, k);
		break;
	case 2:
		n = rt_build_icmp(r, t,
				  t->family == 4 ? WIRE_ICMP4_ECHO_REQUEST
						 : WIRE_ICMP6_ECHO_REQUEST,
				  t->sport, id, len);
		break;
	default: {
		struct wire_tcp_opts o;
		memset(&o, 0, sizeof(o));
		n = rt_build_tcp(r, t, WIRE_TCP_ACK | WIRE_TCP_PSH, t->app_nxt,
				 t->srv_nxt, 65535, &o, len);
		if (n && (order & 3) != 2)
			t->app_nxt += (uint32_t)len;
		break;
	}
	}
	if (!n)
		return;
	struct rt_frags f = {0};
	if (wire_ip_fragment(r->pkt, n, mtu, id, rt_frag_collect, &f) > 0) {
		for (unsigned j = 0; j < f.n; j++) {
			unsigned i = (order & 4) ? f.n - 1 - j : j;
			bool skip = (order & 3) == 2 && i == idx % f.n;
			bool twice = (order & 3) == 3 && i == idx % f.n;
			if (!skip)
				rt_input(r, f.pkt[i], f.len[i]);
			if (twice)
				rt_input(r, f.pkt[i], f.len[i]);
		}
	}
	for (unsigned j = 0; j < f.n; j++)
		free(f.pkt[j]);
}

/* op: raw bytes as a packet. [flags] [length u16] [bytes...]; flags bit 0:
 * fix the checksums, bit 1: say the OS vouched for them. */
static void op_raw(struct rt *r)
{
	struct fz_in *in = &r->in;
	uint8_t fl = fz_u8(in);
	size_t want = fz_u16(in) % 2048;
	uint8_t *buf = malloc(want ? want : 1);
	size_t len = fz_bytes(in, buf, want);
	if (fl & 1)
		fz_fix_checksums(buf, len);
	rt_taint(r, buf, len);
	/* As from a TUN with checksum offload: no checksum in the way. */
	core_input(r->e, buf, len, fl & 2 ? CORE_IN_CSUM_OK : 0, r->now);
	free(buf);
	rt_end_step(r);
}

/* op: a template packet with bytes changed. [template] [count]
 * then count times [offset u16] [xor], then [fix checksums] */
static void op_mutate(struct rt *r)
{
	struct fz_in *in = &r->in;
	uint8_t k = fz_u8(in);
	struct rt_tuple *t = &r->tu[k % RT_TUPLES];
	size_t n;

	switch (k >> 4 & 3) {
	case 0: {
		struct wire_tcp_opts o;
		rt_tcp_opts(r, t, t->srv_nxt, &o);
		n = rt_build_tcp(r, t, fz_u8(in), t->app_nxt, t->srv_nxt, 65535,
				 &o, fz_u8(in));
		break;
	}
	case 1:
		n = rt_build_udp(r, t, t->dport, fz_u8(in), k);
		break;
	case 2:
		n = rt_build_icmp(r, t,
				  t->family == 4 ? WIRE_ICMP4_ECHO_REQUEST
						 : WIRE_ICMP6_ECHO_REQUEST,
				  t->sport, 1, fz_u8(in));
		break;
	default: {
		struct wire_tcp_opts o;
		memset(&o, 0, sizeof(o));
		n = rt_build_tcp(r, t, WIRE_TCP_SYN, t->app_nxt, 0, 65535, &o,
				 0);
		break;
	}
	}
	if (!n)
		return;
	unsigned count = 1 + fz_u8(in) % 4;
	for (unsigned i = 0; i < count; i++) {
		size_t off = fz_u16(in) % n;
		r->pkt[off] ^= fz_u8(in);
	}
	if (fz_u8(in) & 1)
		fz_fix_checksums(r->pkt, n);
	rt_taint(r, r->pkt, n);
	rt_input(r, r->pkt, n);
}

/* --- the driver's side: host sockets --- */

static void rt_event(struct rt *r, struct fake_sock *s, uint32_t events)
{
	core_sock_event(r->e, s->flow, events, r->now);
	rt_end_step(r);
}

/* op: host data on a TCP socket. [sock] [length u16] [events] */
static void op_host_data(struct rt *r)
{
	struct fz_in *in = &r->in;
	struct fake_sock *s =
	    fake_host_pick(&r->host, fz_u8(in), 1u << FAKE_TCP);
	uint16_t len = fz_u16(in);
	uint8_t ev = fz_u8(in);
	if (!s)
		return;
	if (!s->rx_eof) /* virtual bytes: the stream pattern */
		fake_host_rx_push(&r->host, fake_host_id(&r->host, s), NULL,
				  len);
	rt_event(r, s, CORE_EV_READ | (ev & 1 ? CORE_EV_WRITE : 0));
}

/* op: the host closed its side. [sock] [events] */
static void op_host_eof(struct rt *r)
{
	struct fz_in *in = &r->in;
	struct fake_sock *s =
	    fake_host_pick(&r->host, fz_u8(in), 1u << FAKE_TCP);
	uint8_t ev = fz_u8(in);
	if (!s)
		return;
	s->rx_eof = true;
	rt_event(r, s, CORE_EV_READ | (ev & 1 ? CORE_EV_HUP : 0));
}

/* op: an error on a socket. [sock] [errno sel] [origin] [type] [code]
 * [info u16] [events] */
static void op_host_error(struct rt *r)
{
	static const int errs[12] = {ECONNREFUSED, ECONNRESET, EHOSTUNREACH,
				     ENETUNREACH,  ETIMEDOUT,  EACCES,
				     EPERM,	   EMSGSIZE,   EPIPE,
				     ENOBUFS,	   EHOSTDOWN,  ENETDOWN};
	struct fz_in *in = &r->in;
	struct fake_sock *s = fake_host_pick(&r->host, fz_u8(in), ~0u);
	struct core_sock_error err;
	memset(&err, 0, sizeof(err));
	uint8_t sel = fz_u8(in);
	err.err = sel >= 240 ? 0 : errs[sel % 12];
	err.origin = fz_u8(in) % 3;
	err.type = fz_u8(in);
	err.code = fz_u8(in);
	err.info = fz_u16(in);
	uint8_t ev = fz_u8(in);
	if (!s)
		return;
	if (s->family == 4)
		wire_addr_from4(&err.offender,
				(const uint8_t[4]){192, 0, 2, 1});
	else
		err.offender = s->dst;
	fake_host_push_error(&r->host, fake_host_id(&r->host, s), &err);
	rt_event(r, s,
		 CORE_EV_ERROR | (ev & 1 ? CORE_EV_HUP : 0) |
		     (ev & 2 ? CORE_EV_READ : 0));
}

/* op: the connect of a TCP socket completed (writable). [sock] */
static void op_connected(struct rt *r)
{
	struct fake_sock *s =
	    fake_host_pick(&r->host, fz_u8(&r->in), 1u << FAKE_TCP);
	if (s)
		rt_event(r, s, CORE_EV_WRITE);
}

/* op: a datagram on a UDP or ICMP socket. [sock] [length u16] [flags]
 * [count] */
static void op_host_dgram(struct rt *r)
{
	struct fz_in *in = &r->in;
	struct fake_sock *s = fake_host_pick(&r->host, fz_u8(in),
					     1u << FAKE_UDP | 1u << FAKE_ICMP);
	uint16_t len = fz_u16(in);
	uint8_t fl = fz_u8(in);
	unsigned count = 1 + fz_u8(in) % 4;
	if (!s)
		return;
	if (!(fl & 1))
		len %= 2000;
	else if (len > 65507)
		len = 65507;
	uint8_t type =
	    s->family == 4 ? WIRE_ICMP4_ECHO_REPLY : WIRE_ICMP6_ECHO_REPLY;
	if (fl & 2)
		type = fl;
	for (unsigned i = 0; i < count; i++)
		fake_host_dgram_push_made(&r->host, fake_host_id(&r->host, s),
					  len, (uint8_t)(fl + i), type);
	rt_event(r, s, CORE_EV_READ);
}

/* op: the host socket's send buffer changed. [sock] [mode] [space u16] */
static void op_tx_space(struct rt *r)
{
	struct fz_in *in = &r->in;
	struct fake_sock *s = fake_host_pick(&r->host, fz_u8(in), ~0u);
	uint8_t mode = fz_u8(in);
	uint16_t space = fz_u16(in);
	if (!s)
		return;
	static const int send_errs[4] = {0, -EPIPE, -ECONNRESET, -ENOBUFS};
	switch (mode & 3) {
	case 0:
		s->tx_space = 0;
		break;
	case 1:
		s->tx_space = space;
		break;
	case 2:
		s->tx_space = SIZE_MAX;
		break;
	default:
		s->send_err = send_errs[mode >> 2 & 3];
		break;
	}
	rt_event(r, s, CORE_EV_WRITE);
}

/* op: reads on a socket start failing (or stop). [sock] [sel] */
static void op_rx_error(struct rt *r)
{
	static const int errs[4] = {0, -ECONNRESET, -EIO, -ETIMEDOUT};
	struct fz_in *in = &r->in;
	struct fake_sock *s = fake_host_pick(&r->host, fz_u8(in), ~0u);
	uint8_t sel = fz_u8(in);
	if (!s)
		return;
	s->rx_err = errs[sel & 3];
	rt_event(r, s, CORE_EV_READ);
}

/* op: any events, on a socket's flow or on a made-up (stale) handle.
 * [sock] [events] (handle u32 when events bit 7 is set) */
static void op_events(struct rt *r)
{
	struct fz_in *in = &r->in;
	struct fake_sock *s = fake_host_pick(&r->host, fz_u8(in), ~0u);
	uint8_t ev = fz_u8(in);
	uint32_t handle = s ? s->flow : 0;
	if (ev & 128)
		handle = fz_u32(in);
	core_sock_event(r->e, handle, ev & 15, r->now);
	rt_end_step(r);
}

/* op: time passes. [mode] [amount] */
static void op_clock(struct rt *r)
{
	struct fz_in *in = &r->in;
	uint8_t mode = fz_u8(in);
	uint64_t d;
	switch (mode & 3) {
	case 0:
		r->now += (uint64_t)fz_u8(in) * 1000;
		break;
	case 1:
		r->now += (uint64_t)fz_u16(in) * 1000;
		break;
	case 2:
		d = core_next_deadline(r->e);
		if (d != UINT64_MAX && d > r->now)
			r->now = d;
		break;
	default:
		r->now += (uint64_t)fz_u8(in) * 1000000;
		break;
	}
	rt_timers(r);
	rt_end_step(r);
}

/* op: the driver writes some packets to the TUN. [count] (0: all) */
static void op_drain(struct rt *r)
{
	uint8_t n = fz_u8(&r->in);
	rt_drain(r, n ? n : SIZE_MAX);
	rt_check(r);
}

/* op: the next socket open fails. [errno sel] */
static void op_fail_open(struct rt *r)
{
	static const int errs[4] = {-EMFILE, -EACCES, -ENETUNREACH,
				    -EADDRNOTAVAIL};
	r->host.fail_next_open = errs[fz_u8(&r->in) & 3];
}

/* op: the TUN stops taking packets (or takes them again). */
static void op_toggle_drain(struct rt *r)
{
	r->auto_drain = !r->auto_drain;
}

static void rt_step(struct rt *r)
{
	uint8_t op = fz_u8(&r->in);
	switch (op % 24) {
	case 0:
	case 1:
	case 2:
	case 3:
	case 4:
		op_tcp(r);
		break;
	case 5:
	case 6:
		op_udp(r);
		break;
	case 7:
		op_icmp(r);
		break;
	case 8:
		op_frag(r);
		break;
	case 9:
		op_raw(r);
		break;
	case 10:
		op_mutate(r);
		break;
	case 11:
		op_host_data(r);
		break;
	case 12:
		op_host_eof(r);
		break;
	case 13:
		op_host_error(r);
		break;
	case 14:
		op_connected(r);
		break;
	case 15:
		op_host_dgram(r);
		break;
	case 16:
		op_tx_space(r);
		break;
	case 17:
		op_rx_error(r);
		break;
	case 18:
		op_events(r);
		break;
	case 19:
	case 20:
		op_clock(r);
		break;
	case 21:
		op_drain(r);
		break;
	case 22:
		op_fail_open(r);
		break;
	default:
		op_toggle_drain(r);
		break;
	}
}

/* --- setup and the end --- */

/* Memory the budget leaves above what core_create takes (0: 32 MiB in
 * all), so refusals and closed windows happen after a few flows. */
static const size_t rt_budget_extra[4] = {0, 8u << 10, 48u << 10, 300u << 10};

/* Destination policies (policy.c): none, a denied host, an allow list that
 * leaves out some tuples, denied ports of both families. */
static const char *const rt_policy[4][2] = {
    {NULL, NULL},
    {NULL, "198.51.100.7"},
    {"198.51.100.0/24:80, [2001:db8::/32]:443", NULL},
    {NULL, "[2001:db8::35]:53, 198.51.100.1:80-80"},
};

/* [mtu, budget, drain, finish] [max_flows, reasm bytes] [tx slots]
 * [half-open, established limits, policy] */
static void rt_config(struct rt *r)
{
	static const uint32_t mtus[4] = {1500, 1280, 4096, 9000};
	static const uint32_t reasm[4] = {4096, 16384, 65536, 262144};
	struct fz_in *in = &r->in;
	uint8_t b0 = fz_u8(in), b1 = fz_u8(in), b2 = fz_u8(in), b3 = fz_u8(in);
	struct core_config *c = &r->cfg;

	memset(c, 0, sizeof(*c));
	c->mtu = mtus[b0 & 3];
	c->max_memory = 32u << 20;
	r->budget_extra = rt_budget_extra[b0 >> 2 & 3];
	r->auto_drain = !(b0 & 16);
	r->finish_mode = (uint8_t)((b0 >> 5) % 3);
	c->max_flows = 1 + b1 % 12;
	c->reasm_max_bytes = reasm[b1 >> 4 & 3];
	c->tx_slots = 2 + b2 % 40;
	c->tx_headroom = 16;
	c->max_tcp_half_open = 1 + b3 % 4;
	c->max_tcp_established = 1 + (b3 >> 2) % 8;
	c->policy_allow = rt_policy[b3 >> 5 & 3][0];
	c->policy_deny = rt_policy[b3 >> 5 & 3][1];
	c->udp_timeout_us = 5000000;
	c->udp_dns_timeout_us = 3000000;
	c->icmp_timeout_us = 4000000;
	c->tcp_idle_timeout_us = 20000000;
	c->reasm_timeout_us = 2000000;
	c->hash_seed = 42;
	c->log = rt_log;
	c->log_level = TP_LOG_TRACE;
}

static void rt_close_flow(struct core_engine *e, union flow *f)
{
	flow_close(e, f, false);
}

/* Everything is closed: no flow, no socket, no charge but the base. */
static void rt_check_empty(struct rt *r, const char *how)
{
	FZ_CHECK(core_flow_count(r->e) == 0, "%s: %u flows left", how,
		 core_flow_count(r->e));
	static const enum tp_counter gauges[5] = {
	    TP_CTR_flows_open, TP_CTR_udp_flows_open, TP_CTR_icmp_flows_open,
	    TP_CTR_tcp_conns_open, TP_CTR_tcp_half_open};
	static const char *const names[5] = {"flows_open", "udp_flows_open",
					     "icmp_flows_open",
					     "tcp_conns_open", "tcp_half_open"};
	for (int i = 0; i < 5; i++)
		FZ_CHECK(ctr(r, gauges[i]) == 0, "%s: gauge %s is %lld", how,
			 names[i], (long long)ctr(r, gauges[i]));
	FZ_CHECK(r->host.open_count == 0, "%s: %u sockets open", how,
		 r->host.open_count);
	/* The reassembler lends its last datagram until its next call. */
	reasm_expire(r->e->reasm, UINT64_MAX);
	names_expire(r->e, UINT64_MAX); /* the DNS names cache, likewise */
	FZ_CHECK(r->e->mem.used == r->base_mem,
		 "%s: %zu bytes charged, %zu after core_create", how,
		 r->e->mem.used, r->base_mem);
}

static void rt_finish(struct rt *r)
{
	rt_drain(r, SIZE_MAX);
	rt_check(r);
	if (r->finish_mode == 0) {
		/* Nothing more happens: every flow must time out. */
		for (int i = 0; i < 100000; i++) {
			uint64_t d = core_next_deadline(r->e);
			if (d == UINT64_MAX)
				break;
			if (d > r->now)
				r->now = d;
			rt_timers(r);
			rt_drain(r, SIZE_MAX);
			rt_check(r);
		}
		rt_check_empty(r, "after every timer");
	} else if (r->finish_mode == 1) {
		/* What core_destroy does first, to look at the budget. */
		flow_for_each(r->e->flows, rt_close_flow, r->e);
		flow_sweep(r->e);
		rt_check_empty(r, "after closing every flow");
	}
	core_destroy(r->e);
	r->e = NULL;
	FZ_CHECK(r->host.open_count == 0, "%u sockets open after core_destroy",
		 r->host.open_count);
}

void fz_router_run(const uint8_t *data, size_t size)
{
	struct rt *r = calloc(1, sizeof(*r));
	r->in = (struct fz_in){data, size};
	rt_config(r);
	fz_host_init(&r->host, r);
	r->host.on_tcp_send = rt_on_send;
	r->host.on_tcp_connect = rt_on_connect;
	rt_tuples(r);
	/* Just below 2^32 us: 32-bit clocks (RTT, TSval) wrap during runs. */
	r->now = (1ull << 32) - 3000000;
	r->e = core_create(&r->cfg, &fake_host_ops, &r->host);
	if (r->e) {
		r->pkt = malloc(RT_PKT_CAP);
		r->base_mem = r->e->mem.used;
		if (r->budget_extra) {
			/* As if max_memory had been set this low. */
			size_t b = r->base_mem + r->budget_extra;
			r->e->mem.budget = b;
			r->e->cfg.max_memory = r->cfg.max_memory = b;
		}
		for (int step = 0; r->in.n && step < RT_MAX_STEPS; step++)
			rt_step(r);
		rt_finish(r);
		free(r->pkt);
	}
	fake_host_free(&r->host);
	free(r);
}
