/* SPDX-License-Identifier: MIT */
/* test_tcp_rfc5961.c - what a blind attacker on the app's side may try
 * (RFC 5961) and arithmetic an untrusted MSS may push too far:
 *   - SYN_RCVD: an inexact RST in the window is challenged, not obeyed
 *     (3.2); an ACK with a sequence number outside the window does not
 *     complete the handshake (RFC 9293 3.10.7.4);
 *   - an ACK older than SND.UNA - MAX.SND.WND is discarded with its data
 *     and challenged (5.2); an old ACK does not move the send window;
 *   - challenge ACKs are limited to about 1000 a second, randomised (7);
 *   - CUBIC's target at MSS 65,468 over 120 s (UBSan aborted here).
 * Each test failed on 089a068. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"
#include "core/flow.h"
#include "core/tcp_int.h"
#include "support/tcp_harness.h"

/* SYN and connect: the SYN-ACK is out, the app's ACK not yet in. */
static void to_syn_rcvd(struct th *t)
{
	struct wire_tcp_opts o = th_opts_all();
	th_syn(t, &o);
	assert_int_equal(th_out(t), 0);
	th_connect_ok(t);
	assert_int_equal(th_conn(t)->state, TCP_SYN_RCVD);
}

static void expect_synack(struct th *t)
{
	assert_int_equal(th_out(t), 1);
	assert_int_equal(t->out[0].p.u.tcp.flags, WIRE_TCP_SYN | WIRE_TCP_ACK);
	assert_int_equal(t->out[0].p.u.tcp.seq, t->our_isn);
	assert_int_equal(t->out[0].p.u.tcp.ack, t->app_nxt);
}

/* RFC 5961 3.2 in SYN_RCVD: only RCV.NXT exactly resets; elsewhere in the
 * window the SYN-ACK goes again as the challenge; outside, nothing. */
static void test_synrcvd_rst_inexact(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	to_syn_rcvd(&t);

	th_send(&t, WIRE_TCP_RST, t.app_nxt + 100, 0, NULL, 0);
	assert_int_equal(core_flow_count(t.e), 1);
	assert_non_null(th_conn(&t));
	assert_int_equal(th_conn(&t)->state, TCP_SYN_RCVD);
	assert_false(th_sock(&t)->closed);
	expect_synack(&t);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_challenge_acks), 1);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_rst_received), 0);

	th_send(&t, WIRE_TCP_RST, t.app_nxt - 100000, 0, NULL, 0);
	assert_int_equal(core_flow_count(t.e), 1);
	assert_int_equal(th_out(&t), 0); /* outside the window: ignored */

	/* The challenged app answers with the exact sequence number. */
	th_send(&t, WIRE_TCP_RST, t.app_nxt, 0, NULL, 0);
	assert_int_equal(core_flow_count(t.e), 0);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_rst_received), 1);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_half_open), 0);
	assert_true(th_sock(&t)->reset);
	th_fini(&t);
}

/* RFC 9293 3.10.7.4: the ACK of our SYN-ACK is checked for its sequence
 * number first. Out of the window (ahead or behind) it is answered with
 * the SYN-ACK and dropped, data and all, and the handshake stays open. */
static void test_synrcvd_ack_out_of_window(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	to_syn_rcvd(&t);

	uint32_t bad[] = {t.app_nxt + 10000000u, t.app_nxt - 1000u};
	for (int i = 0; i < 2; i++) {
		th_send(&t, WIRE_TCP_ACK, bad[i], t.our_isn + 1, "evil", 4);
		assert_int_equal(th_conn(&t)->state, TCP_SYN_RCVD);
		assert_int_equal(th_ctr(&t, TP_CTR_tcp_half_open), 1);
		assert_int_equal(th_sock(&t)->tx_len, 0);
		expect_synack(&t);
	}
	/* A bare ACK out of the window either. */
	th_send(&t, WIRE_TCP_ACK, t.app_nxt + 10000000u, t.our_isn + 1, NULL,
		0);
	assert_int_equal(th_conn(&t)->state, TCP_SYN_RCVD);
	expect_synack(&t);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_bad_segments), 3);

	/* The right one completes it. */
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 1, "ok", 2);
	assert_int_equal(th_conn(&t)->state, TCP_ESTABLISHED);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_half_open), 0);
	assert_int_equal(th_sock(&t)->tx_len, 2);
	assert_memory_equal(th_sock(&t)->tx, "ok", 2);
	th_fini(&t);
}

/* Established, 1000 bytes from the host sent and acknowledged: SND.UNA is
 * our ISN + 1001. Returns it. */
static uint32_t established_after_data(struct th *t)
{
	uint8_t data[1000];
	struct wire_tcp_opts o = th_opts_all();
	th_establish(t, &o);
	th_pattern(data, sizeof(data), 1);
	fake_host_rx_push(&t->host, t->sock, data, sizeof(data));
	th_event(t, CORE_EV_READ);
	assert_int_equal(th_out(t), 1);
	assert_int_equal(t->out[0].p.payload_len, 1000);
	uint32_t una = t->our_isn + 1001;
	th_send(t, WIRE_TCP_ACK, t->app_nxt, una, NULL, 0);
	th_out(t);
	assert_int_equal(th_conn(t)->snd_una, una);
	return una;
}

/* RFC 5961 5.2: SEG.ACK below SND.UNA - MAX.SND.WND is a blind guess: the
 * segment is dropped (its data never reaches the host) and challenged. An
 * old ACK inside MAX.SND.WND is acceptable, its data taken. */
static void test_ack_too_old(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	uint32_t una = established_after_data(&t);
	/* The app advertised 65535 << 7 bytes: MAX.SND.WND. */
	uint32_t maxwnd = 65535u << 7;

	th_send(&t, WIRE_TCP_ACK, t.app_nxt, una - maxwnd - 1000, "evil", 4);
	assert_int_equal(th_sock(&t)->tx_len, 0);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.flags, WIRE_TCP_ACK);
	assert_int_equal(t.out[0].p.u.tcp.ack, t.app_nxt);
	assert_int_equal(t.out[0].p.u.tcp.seq, una);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_challenge_acks), 1);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_bad_segments), 1);
	assert_int_equal(th_conn(&t)->snd_una, una);

	/* Just inside the bound: an old duplicate, data accepted. */
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, una - 1000, "fine", 4);
	t.app_nxt += 4;
	assert_int_equal(th_sock(&t)->tx_len, 4);
	assert_memory_equal(th_sock(&t)->tx, "fine", 4);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_challenge_acks), 1);
	th_fini(&t);
}

/* RFC 9293 3.10.7.4: the window is updated only if SND.UNA =< SEG.ACK. A
 * segment with new data but an old ACK and a zero window (a delayed copy,
 * or an attacker's) must not close the window. */
static void test_old_ack_keeps_window(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	uint32_t una = established_after_data(&t);
	uint32_t wnd = th_conn(&t)->snd_wnd;
	assert_int_equal(wnd, 65535u << 7);

	/* SND.WL1 is the sequence number of the app's last ACK; its next
	 * data segment is newer (SEG.SEQ > SND.WL1), only the ACK is old. */
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, una, "xy", 2);
	t.app_nxt += 2;
	th_out(&t);
	th_send_full(&t, WIRE_TCP_ACK, t.app_nxt, una - 500, 0, NULL, "abcd",
		     4);
	t.app_nxt += 4;
	assert_int_equal(th_sock(&t)->tx_len, 6); /* data is fine */
	assert_int_equal(th_conn(&t)->snd_wnd, wnd);
	th_out(&t);

	/* So more host data goes out at once, no persist probing. */
	uint8_t more[500];
	th_pattern(more, sizeof(more), 2);
	fake_host_rx_push(&t.host, t.sock, more, sizeof(more));
	th_event(&t, CORE_EV_READ);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.payload_len, 500);
	assert_int_equal(t.out[0].p.u.tcp.seq, una);
	th_fini(&t);
}

/* RFC 5961 7: a flood of inexact RSTs gets between 500 and 1500 challenge
 * ACKs a second (Linux's 1000, randomised), the rest counted; the next
 * second has a new budget, and the budgets differ. */
static void test_challenge_ack_rate_limited(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	struct wire_tcp_opts o = th_opts_all();
	th_establish(&t, &o);

	uint32_t budgets[4];
	uint64_t sent0 = 0, limited0 = 0;
	for (int sec = 0; sec < 4; sec++) {
		uint32_t acks = 0;
		for (int i = 0; i < 2000; i++) {
			/* alternate RSTs and SYNs: one budget for both */
			if (i & 1)
				th_send(&t, WIRE_TCP_SYN, t.app_nxt + 7, 0,
					NULL, 0);
			else
				th_send(&t, WIRE_TCP_RST, t.app_nxt + 7, 0,
					NULL, 0);
			acks += (uint32_t)th_out(&t);
			t.now += 100; /* 2000 in 0.2 s */
		}
		uint64_t sent = th_ctr(&t, TP_CTR_tcp_challenge_acks);
		uint64_t lim = th_ctr(&t, TP_CTR_tcp_challenge_acks_limited);
		printf("second %d: %u challenge ACKs of 2000\n", sec, acks);
		assert_int_equal(sent - sent0, acks);
		assert_int_equal(sent - sent0 + lim - limited0, 2000);
		assert_in_range(acks, 500, 1500);
		budgets[sec] = acks;
		sent0 = sent;
		limited0 = lim;
		assert_int_equal(core_flow_count(t.e), 1);
		t.now += 1000000; /* the next second */
	}
	assert_false(budgets[0] == budgets[1] && budgets[1] == budgets[2] &&
		     budgets[2] == budgets[3]);
	/* The connection is fine: the exact RST still resets it. */
	th_send(&t, WIRE_TCP_RST, t.app_nxt, 0, NULL, 0);
	assert_int_equal(core_flow_count(t.e), 0);
	th_fini(&t);
}

static void jumbo_mtu(struct core_config *cfg)
{
	cfg->mtu = 65520;
	cfg->tx_slots = 16; /* 64 KiB slots: keep the ring in the budget */
}

/* CUBIC's W(t) (RFC 9438 eq. 1) computed exactly, in 128 bits, with the
 * same clamp of |t - K| to 60 s as tcp_cc.c, then the step tcp_cc_on_ack
 * takes with acked = cwnd: the target capped at 1.5 cwnd, the
 * Reno-friendly estimate as a floor, 64 MiB at most. */
static uint32_t cubic_expect(uint32_t mss, uint32_t wmax, int64_t d,
			     uint32_t cwnd, uint32_t west)
{
	const __int128 cap = 64 << 20;
	if (d > 60000)
		d = 60000;
	if (d < -60000)
		d = -60000;
	__int128 w = (__int128)wmax +
		     (__int128)mss * 4 * d * d * d / (__int128)10000000000LL;
	if (w < mss)
		w = mss;
	if (w > cap)
		w = cap;
	if (w > cwnd + cwnd / 2)
		w = cwnd + cwnd / 2;
	__int128 n = cwnd;
	if (w > n)
		n = w;
	uint32_t inc = (uint32_t)((uint64_t)529 * mss / 1000);
	if (west + inc > n)
		n = west + inc;
	return (uint32_t)(n < cap ? n : cap);
}

/* MTU 65520 and the app's MSS 65480 with timestamps: 65,468 bytes a
 * segment. Congestion avoidance after a loss at a 60 MiB window, sampled
 * every 50 ms for 120 s from the epoch (K = 60 s, so t - K runs from -60 s
 * to +60 s): each step matches the exact formula. 089a068 computed
 * mss*4*d^3 in int64, which overflows past |d| = 32.8 s at this MSS:
 * UBSan aborted, a release build got targets of the wrong sign. */
static void test_cubic_jumbo_mss(void **state)
{
	struct th t;
	th_init(&t, 4, jumbo_mtu);
	struct wire_tcp_opts o = th_opts_all();
	o.mss = 65480;
	th_establish(&t, &o);
	struct tcp_conn *c = th_conn(&t);
	assert_int_equal(tcp_eff_mss(c), 65468);

	const uint32_t mss = 65468, wmax = 60u << 20, w0 = 20u << 20;
	const uint32_t epoch = (uint32_t)(t.now / 1000);
	int mismatches = 0;
	for (uint32_t ms = 0; ms <= 120000; ms += 50) {
		c->in_recovery = 0;
		c->cwnd = w0;
		c->ssthresh = w0;
		c->cc_wmax = wmax;
		c->cc_k = 60000;
		c->cc_epoch = epoch;
		c->cc_west = w0;
		c->srtt = 0;
		t.e->now = t.now + (uint64_t)ms * 1000;
		tcp_cc_on_ack(t.e, c, w0);
		uint32_t want =
		    cubic_expect(mss, wmax, (int64_t)ms - 60000, w0, w0);
		if (c->cwnd != want && mismatches++ < 5)
			printf("t=%u ms: cwnd %u, want %u\n", ms, c->cwnd,
			       want);
	}
	assert_int_equal(mismatches, 0);
	th_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_synrcvd_rst_inexact),
	    cmocka_unit_test(test_synrcvd_ack_out_of_window),
	    cmocka_unit_test(test_ack_too_old),
	    cmocka_unit_test(test_old_ack_keeps_window),
	    cmocka_unit_test(test_challenge_ack_rate_limited),
	    cmocka_unit_test(test_cubic_jumbo_mss),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
