/* SPDX-License-Identifier: MIT */
/* tcp_harness.c - see tcp_harness.h. */
#include "support/tcp_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "core/flow.h"

/* The core broke the host-ops contract (a call on a closed socket...):
 * the test fails there, with what the fake host saw. */
static void th_misuse(void *ctx, const char *what)
{
	(void)ctx;
	fail_msg("fake host: %s", what);
}

void th_init(struct th *t, uint8_t family, th_cfg_fn tweak)
{
	memset(t, 0, sizeof(*t));
	fake_host_init(&t->host);
	t->host.on_misuse = th_misuse;
	struct tp_config pub;
	tp_config_init(&pub);
	core_config_from_public(&t->cfg, &pub);
	t->cfg.hash_seed = 42;
	t->cfg.tx_slots = 512;
	if (tweak)
		tweak(&t->cfg);
	t->e = core_create(&t->cfg, &fake_host_ops, &t->host);
	assert_non_null(t->e);
	t->now = 1000000000ull; /* 1000 s: any non-zero start */
	t->family = family;
	if (family == 4) {
		uint8_t a[4] = {10, 0, 0, 8}, d[4] = {198, 51, 100, 1};
		wire_addr_from4(&t->app, a);
		wire_addr_from4(&t->dst, d);
	} else {
		uint8_t a[16] = {0xfd, 0xaa, 0, 0, 0, 0, 0, 0,
				 0,    0,    0, 0, 0, 0, 0, 8};
		uint8_t d[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
				 0,    0,    0,	   0,	 0, 0, 0, 1};
		wire_addr_from6(&t->app, a);
		wire_addr_from6(&t->dst, d);
	}
	t->sport = 40000;
	t->dport = 80;
	t->app_isn = 0xfffff000u; /* wraps soon: exercises modular compares */
	t->app_nxt = t->app_isn;
	t->app_ts = 5000;
	t->app_win = 65535;
	t->sock = -1;
}

void th_fini(struct th *t)
{
	core_destroy(t->e);
	fake_host_free(&t->host);
}

void th_send_full(struct th *t, uint8_t flags, uint32_t seq, uint32_t ack,
		  uint16_t win, const struct wire_tcp_opts *opts,
		  const void *payload, size_t len)
{
	uint8_t buf[4096];
	struct wire_ip_hdr ip;
	struct wire_tcp_hdr h;

	memset(&ip, 0, sizeof(ip));
	ip.family = t->family;
	ip.proto = WIRE_PROTO_TCP;
	ip.src = t->app;
	ip.dst = t->dst;
	memset(&h, 0, sizeof(h));
	h.sport = t->sport;
	h.dport = t->dport;
	h.seq = seq;
	h.ack = ack;
	h.flags = flags;
	h.window = win;
	if (opts)
		h.opts = *opts;
	if (!(flags & WIRE_TCP_SYN) && t->syn_opts.has_ts && !opts) {
		h.opts.has_ts = true;
		h.opts.ts_val = t->app_ts;
		h.opts.ts_ecr = t->peer_ts;
	}
	size_t off = wire_ip_hdr_len(t->family) + wire_tcp_hdr_len(&h.opts);
	assert_true(off + len <= sizeof(buf));
	if (len)
		memcpy(buf + off, payload, len);
	size_t n = wire_tcp_build(buf, sizeof(buf), &ip, &h, len);
	assert_true(n > 0);
	if (!t->more && !t->nbatch) {
		core_input(t->e, buf, n, 0, t->now);
		return;
	}
	/* A packet of a batch lives until the batch ends. */
	assert_true(t->nbatch < TH_BATCH && n <= sizeof(t->batch[0]));
	uint8_t *kept = t->batch[t->nbatch++];
	memcpy(kept, buf, n);
	bool more = t->more;
	core_input(t->e, kept, n, more ? CORE_IN_MORE : 0, t->now);
	if (!more) {
		memset(t->batch, 0xEE, sizeof(t->batch)); /* stale data shows */
		t->nbatch = 0;
	}
}

void th_send_more(struct th *t, bool more, uint8_t flags, uint32_t seq,
		  uint32_t ack, const void *payload, size_t len)
{
	t->more = more;
	th_send_full(t, flags, seq, ack, t->app_win, NULL, payload, len);
	t->more = false;
}

void th_send(struct th *t, uint8_t flags, uint32_t seq, uint32_t ack,
	     const void *payload, size_t len)
{
	th_send_full(t, flags, seq, ack, t->app_win, NULL, payload, len);
}

void th_send_sack(struct th *t, uint32_t ack, int nblocks,
		  const uint32_t *blocks)
{
	struct wire_tcp_opts o;
	memset(&o, 0, sizeof(o));
	if (t->syn_opts.has_ts) {
		o.has_ts = true;
		o.ts_val = t->app_ts;
		o.ts_ecr = t->peer_ts;
	}
	o.sack_count = (uint8_t)nblocks;
	for (int i = 0; i < nblocks; i++) {
		o.sack[i].start = blocks[2 * i];
		o.sack[i].end = blocks[2 * i + 1];
	}
	th_send_full(t, WIRE_TCP_ACK, t->app_nxt, ack, t->app_win, &o, NULL, 0);
}

int th_out(struct th *t)
{
	struct core_tx_pkt pk[64];
	t->nout = 0;
	for (;;) {
		size_t n = core_tx_peek(t->e, pk, 64);
		if (!n)
			break;
		for (size_t i = 0; i < n; i++) {
			assert_true(t->nout < TH_MAX_OUT);
			struct th_pkt *o = &t->out[t->nout++];
			assert_true(pk[i].len <= sizeof(o->buf));
			memcpy(o->buf, pk[i].data, pk[i].len);
			o->len = pk[i].len;
			assert_int_equal(
			    wire_packet_parse(o->buf, o->len, &o->p), WIRE_OK);
			if (o->p.proto == WIRE_PROTO_TCP &&
			    o->p.u.tcp.opts.has_ts)
				t->peer_ts = o->p.u.tcp.opts.ts_val;
		}
		core_tx_done(t->e, n);
		core_tx_resume(t->e, t->now);
	}
	return t->nout;
}

void th_advance(struct th *t, uint64_t us)
{
	t->now += us;
	core_timers(t->e, t->now);
}

uint64_t th_run_next_timer(struct th *t)
{
	uint64_t d = core_next_deadline(t->e);
	assert_true(d != UINT64_MAX);
	uint64_t moved = d > t->now ? d - t->now : 0;
	if (d > t->now)
		t->now = d;
	core_timers(t->e, t->now);
	return moved;
}

void th_event(struct th *t, uint32_t events)
{
	struct fake_sock *s = fake_host_sock(&t->host, t->sock);
	assert_non_null(s);
	core_sock_event(t->e, s->flow, events, t->now);
}

struct wire_tcp_opts th_opts_all(void)
{
	struct wire_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.mss = 1460;
	o.has_wscale = true;
	o.wscale = 7;
	o.sack_permitted = true;
	o.has_ts = true;
	o.ts_val = 5000;
	return o;
}

void th_syn(struct th *t, const struct wire_tcp_opts *opts)
{
	struct wire_tcp_opts o;
	memset(&o, 0, sizeof(o));
	if (opts)
		o = *opts;
	if (o.has_ts)
		o.ts_val = t->app_ts;
	t->syn_opts = o;
	th_send_full(t, WIRE_TCP_SYN, t->app_isn, 0, 65535, &o, NULL, 0);
	t->app_nxt = t->app_isn + 1;
	t->sock = t->host.last_sock;
}

const struct th_pkt *th_connect_ok(struct th *t)
{
	th_event(t, CORE_EV_WRITE);
	assert_int_equal(th_out(t), 1);
	const struct th_pkt *p = &t->out[0];
	assert_int_equal(p->p.u.tcp.flags, WIRE_TCP_SYN | WIRE_TCP_ACK);
	assert_int_equal(p->p.u.tcp.ack, t->app_isn + 1);
	t->our_isn = p->p.u.tcp.seq;
	return p;
}

void th_establish(struct th *t, const struct wire_tcp_opts *opts)
{
	th_syn(t, opts);
	assert_int_equal(th_out(t), 0);
	th_connect_ok(t);
	th_send(t, WIRE_TCP_ACK, t->app_nxt, t->our_isn + 1, NULL, 0);
}

uint32_t th_win(const struct th *t, const struct wire_packet *p, uint8_t shift)
{
	(void)t;
	return (uint32_t)p->u.tcp.window << shift;
}

uint64_t th_ctr(const struct th *t, enum tp_counter c)
{
	return core_counters(t->e)[c];
}

struct fake_sock *th_sock(struct th *t)
{
	return fake_host_sock(&t->host, t->sock);
}

struct tcp_conn *th_conn(struct th *t)
{
	union flow *f = flow_from_handle(t->e->flows, th_sock(t)->flow);
	return f ? &f->tcp : NULL;
}

void th_pattern(uint8_t *buf, size_t n, uint32_t seed)
{
	uint32_t x = seed;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
}
