/* SPDX-License-Identifier: MIT */
/* test_tcp_lossy.c - a whole connection over a bad path, both directions at
 * once: a small simulated app stack (cumulative ACKs, SACK blocks, go-back
 * retransmission) talks to the engine through a path that drops and
 * reorders segments each way with a seeded generator. Both streams must
 * arrive byte-exact, both FINs must get through, and the flow must be
 * gone at the end with no memory held. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/flow.h"
#include "core/tcp_int.h"
#include "support/tcp_harness.h"

#define HOST_BYTES (400u * 1024u)
#define APP_BYTES  (300u * 1024u)
#define APP_MSS	   1448u

struct sim {
	struct th t;
	uint32_t rng;
	unsigned loss_pct, reorder_pct;
	uint8_t *host_stream, *app_stream;
	/* App receiving the host's stream. */
	uint8_t *got;	  /* per byte: received */
	uint8_t *rbuf;	  /* bytes received */
	uint32_t rcv_nxt; /* offset of the first missing byte */
	bool fin_seen;	  /* our FIN arrived in order */
	uint32_t fin_off; /* its offset, if seen at all */
	bool fin_known;
	/* App sending its stream. */
	uint32_t snd_una, snd_nxt; /* offsets */
	uint32_t peer_wnd;
	bool fin_sent, fin_acked;
	uint64_t last_progress;
	uint32_t dup_bytes; /* host bytes the app got more than once */
	/* One segment held back for reordering, each way. */
	struct th_pkt held_out;
	bool have_held_out;
};

static uint32_t rnd(struct sim *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 17;
	s->rng ^= s->rng << 5;
	return s->rng;
}

static bool chance(struct sim *s, unsigned pct)
{
	return rnd(s) % 100 < pct;
}

static uint32_t our_base(const struct sim *s)
{
	return s->t.our_isn + 1;
}

static uint32_t app_base(const struct sim *s)
{
	return s->t.app_isn + 1;
}

/* The app's ACK for what it holds, with up to 3 SACK blocks. */
static void app_ack(struct sim *s)
{
	struct wire_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.has_ts = true;
	o.ts_val = s->t.app_ts;
	o.ts_ecr = s->t.peer_ts;
	uint32_t i = s->rcv_nxt;
	while (i < HOST_BYTES && o.sack_count < 3) {
		while (i < HOST_BYTES && !s->got[i])
			i++;
		if (i >= HOST_BYTES)
			break;
		uint32_t st = i;
		while (i < HOST_BYTES && s->got[i])
			i++;
		o.sack[o.sack_count].start = our_base(s) + st;
		o.sack[o.sack_count].end = our_base(s) + i;
		o.sack_count++;
	}
	uint32_t ack = our_base(s) + s->rcv_nxt + (s->fin_seen ? 1 : 0);
	uint32_t seq = app_base(s) + s->snd_nxt + (s->fin_sent ? 1 : 0);
	if (s->fin_sent && s->snd_nxt < APP_BYTES)
		seq = app_base(s) + s->snd_nxt;
	th_send_full(&s->t, WIRE_TCP_ACK, seq, ack, 512, &o, NULL, 0);
}

/* One segment from the engine reaches the app. */
static void app_receive(struct sim *s, const struct th_pkt *p)
{
	const struct wire_tcp *th = &p->p.u.tcp;
	assert_false(th->flags & WIRE_TCP_RST);
	/* Its ACK drives the app's sending side. */
	uint32_t acked = th->ack - app_base(s);
	if (s->fin_sent && acked == APP_BYTES + 1) {
		s->fin_acked = true;
		acked = APP_BYTES;
	}
	if (acked <= APP_BYTES && acked > s->snd_una) {
		s->snd_una = acked;
		s->last_progress = s->t.now;
		if (s->snd_nxt < s->snd_una)
			s->snd_nxt = s->snd_una;
	}
	s->peer_wnd = (uint32_t)th->window << 7;

	uint32_t off = th->seq - our_base(s);
	if (p->p.payload_len) {
		assert_true(off + p->p.payload_len <= HOST_BYTES);
		assert_memory_equal(p->p.payload, s->host_stream + off,
				    p->p.payload_len);
		for (uint32_t k = 0; k < p->p.payload_len; k++) {
			s->dup_bytes += s->got[off + k];
			s->got[off + k] = 1;
			s->rbuf[off + k] = p->p.payload[k];
		}
	}
	if (th->flags & WIRE_TCP_FIN) {
		s->fin_known = true;
		s->fin_off = off + p->p.payload_len;
	}
	while (s->rcv_nxt < HOST_BYTES && s->got[s->rcv_nxt])
		s->rcv_nxt++;
	if (s->fin_known && s->rcv_nxt == s->fin_off)
		s->fin_seen = true;
}

/* The app sends what its view of our window allows, maybe its FIN. */
static void app_send(struct sim *s)
{
	int n = 0;
	while (s->snd_nxt < APP_BYTES && n < 16 &&
	       s->snd_nxt - s->snd_una < s->peer_wnd) {
		uint32_t len = APP_BYTES - s->snd_nxt;
		if (len > APP_MSS)
			len = APP_MSS;
		if (len > s->peer_wnd - (s->snd_nxt - s->snd_una))
			len = s->peer_wnd - (s->snd_nxt - s->snd_una);
		if (!chance(s, s->loss_pct))
			th_send(&s->t, WIRE_TCP_ACK, app_base(s) + s->snd_nxt,
				our_base(s) + s->rcv_nxt + s->fin_seen,
				s->app_stream + s->snd_nxt, len);
		s->snd_nxt += len;
		n++;
	}
	if (s->snd_nxt == APP_BYTES && !s->fin_sent) {
		s->fin_sent = true;
		if (!chance(s, s->loss_pct))
			th_send(&s->t, WIRE_TCP_FIN | WIRE_TCP_ACK,
				app_base(s) + APP_BYTES,
				our_base(s) + s->rcv_nxt + s->fin_seen, NULL,
				0);
	}
}

/* Go-back retransmission after the app's own timeout. */
static void app_timeout(struct sim *s)
{
	if (s->t.now - s->last_progress < 300000)
		return;
	s->last_progress = s->t.now;
	if (s->snd_una < s->snd_nxt) {
		s->snd_nxt = s->snd_una;
		if (s->fin_sent && !s->fin_acked && s->snd_una < APP_BYTES)
			s->fin_sent = false;
	}
	if (s->fin_sent && !s->fin_acked)
		th_send(&s->t, WIRE_TCP_FIN | WIRE_TCP_ACK,
			app_base(s) + APP_BYTES,
			our_base(s) + s->rcv_nxt + s->fin_seen, NULL, 0);
	if (s->peer_wnd == 0)
		s->peer_wnd = APP_MSS; /* probe */
}

static void run_lossy(unsigned loss, unsigned reorder, uint32_t seed)
{
	struct sim *s = calloc(1, sizeof(*s));
	s->rng = seed;
	s->loss_pct = loss;
	s->reorder_pct = reorder;
	s->host_stream = malloc(HOST_BYTES);
	s->app_stream = malloc(APP_BYTES);
	s->got = calloc(1, HOST_BYTES);
	s->rbuf = calloc(1, HOST_BYTES);
	for (uint32_t i = 0; i < HOST_BYTES; i++)
		s->host_stream[i] = (uint8_t)rnd(s);
	for (uint32_t i = 0; i < APP_BYTES; i++)
		s->app_stream[i] = (uint8_t)rnd(s);

	struct th *t = &s->t;
	th_init(t, 4, NULL);
	size_t mem_base = t->e->mem.used;
	struct wire_tcp_opts o = th_opts_all();
	th_establish(t, &o);
	s->peer_wnd = 65535u << 7;
	s->last_progress = t->now;
	fake_host_rx_push(&t->host, t->sock, s->host_stream, HOST_BYTES);
	fake_host_rx_eof(&t->host, t->sock);
	struct fake_sock *hsock = fake_host_sock(&t->host, t->sock);
	th_event(t, CORE_EV_READ);

	int rounds;
	for (rounds = 0; rounds < 200000; rounds++) {
		if (core_flow_count(t->e) == 0)
			break;
		th_out(t);
		bool any = t->nout > 0;
		for (int i = 0; i < t->nout; i++) {
			if (chance(s, s->loss_pct))
				continue;
			if (!s->have_held_out && chance(s, s->reorder_pct)) {
				s->held_out = t->out[i];
				s->held_out.p.l3 = NULL;
				s->have_held_out = true;
				continue;
			}
			app_receive(s, &t->out[i]);
			if (s->have_held_out) {
				struct th_pkt *h = &s->held_out;
				assert_int_equal(
				    wire_packet_parse(h->buf, h->len, &h->p),
				    WIRE_OK);
				app_receive(s, h);
				s->have_held_out = false;
			}
		}
		if (any && !chance(s, s->loss_pct))
			app_ack(s);
		app_send(s);
		if (!any) {
			uint64_t d = core_next_deadline(t->e);
			uint64_t step = 10000;
			if (d != UINT64_MAX && d > t->now && d - t->now < step)
				step = d - t->now;
			t->now += step ? step : 1;
			t->app_ts++;
			core_timers(t->e, t->now);
			app_timeout(s);
		}
	}
	printf("loss %u%% reorder %u%%: %d rounds, %.1f s simulated, "
	       "%llu retransmits (%llu fast, %llu RTO, %llu TLP; %u bytes "
	       "twice), %llu ooo queued, peak mem %zu\n",
	       loss, reorder, rounds, (double)(t->now - 1000000000ull) / 1e6,
	       (unsigned long long)th_ctr(t, TP_CTR_tcp_retransmits),
	       (unsigned long long)th_ctr(t, TP_CTR_tcp_fast_retransmits),
	       (unsigned long long)th_ctr(t, TP_CTR_tcp_rto_expired),
	       (unsigned long long)th_ctr(t, TP_CTR_tcp_loss_probes),
	       s->dup_bytes,
	       (unsigned long long)th_ctr(t, TP_CTR_tcp_ooo_queued),
	       t->e->mem.peak);
	assert_int_equal(core_flow_count(t->e), 0);
	assert_int_equal(s->rcv_nxt, HOST_BYTES);
	assert_memory_equal(s->rbuf, s->host_stream, HOST_BYTES);
	assert_true(s->fin_seen);
	assert_int_equal(hsock->tx_len, APP_BYTES);
	assert_memory_equal(hsock->tx, s->app_stream, APP_BYTES);
	assert_true(hsock->shut_wr);
	assert_false(hsock->reset);
	assert_int_equal(hsock->rx_len, 0);
	assert_int_equal(t->e->mem.used, mem_base);
	if (loss)
		assert_true(th_ctr(t, TP_CTR_tcp_retransmits) > 0);
	th_fini(t);
	free(s->host_stream);
	free(s->app_stream);
	free(s->got);
	free(s->rbuf);
	free(s);
}

static void test_clean_path(void **state)
{
	run_lossy(0, 0, 1);
}

static void test_loss_2(void **state)
{
	run_lossy(2, 10, 7);
}

static void test_loss_5_reorder(void **state)
{
	run_lossy(5, 20, 12345);
}

static void test_loss_seeds(void **state)
{
	for (uint32_t seed = 100; seed < 108; seed++)
		run_lossy(3, 10, seed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clean_path),
	    cmocka_unit_test(test_loss_2),
	    cmocka_unit_test(test_loss_5_reorder),
	    cmocka_unit_test(test_loss_seeds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
