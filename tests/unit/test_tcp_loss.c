/* SPDX-License-Identifier: MIT */
/* test_tcp_loss.c - reliability toward the app: RTO with backoff, giving
 * up, fast retransmit on duplicate ACKs (NewReno), SACK-based recovery of
 * one and several holes, and retransmission of a lost FIN. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/flow.h"
#include "core/tcp_int.h"
#include "support/tcp_harness.h"

static uint8_t pattern[65536];

static int setup(void **state)
{
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + i / 251);
	return 0;
}

/* Checks that p carries the host bytes at its sequence number. */
static void check_payload(const struct th *t, const struct wire_packet *p)
{
	uint32_t off = p->u.tcp.seq - (t->our_isn + 1);
	assert_memory_equal(p->payload, pattern + off, p->payload_len);
}

/* Without SACK there is no loss probe: the RTO alone, as RFC 6298 says.
 * (With SACK a probe comes first: test_tlp_*.) */
static void test_rto_backoff(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	struct wire_tcp_opts o = th_opts_all();
	o.sack_permitted = false;
	th_establish(&t, &o);
	fake_host_rx_push(&t.host, t.sock, pattern, 1000);
	th_event(&t, CORE_EV_READ);
	assert_int_equal(th_out(&t), 1);

	/* The handshake measured a tiny RTT: the RTO is the 200 ms floor,
	 * then doubles with each expiry (RFC 6298 5.5). */
	uint64_t expect = 200000;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(th_run_next_timer(&t), expect);
		assert_int_equal(th_out(&t), 1);
		const struct wire_packet *p = &t.out[0].p;
		assert_int_equal(p->u.tcp.seq, t.our_isn + 1);
		assert_int_equal(p->payload_len, 1000);
		check_payload(&t, p);
		expect *= 2;
	}
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_rto_expired), 4);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_retransmits), 4);
	assert_int_equal(th_conn(&t)->cwnd, tcp_eff_mss(th_conn(&t)));

	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 1001, NULL, 0);
	assert_int_equal(th_out(&t), 0);
	assert_int_equal(th_conn(&t)->rtx_at, 0);
	assert_int_equal(th_conn(&t)->backoff, 0);
	th_advance(&t, 10000000);
	assert_int_equal(th_out(&t), 0);
	th_fini(&t);
}

/* An app that never answers is reset after the retries. */
static void test_rto_give_up(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	fake_host_rx_push(&t.host, t.sock, pattern, 100);
	th_event(&t, CORE_EV_READ);
	th_out(&t);
	for (int i = 0; i < TCP_RTO_RETRIES; i++) {
		th_run_next_timer(&t);
		assert_int_equal(th_out(&t), 1);
		assert_int_equal(t.out[0].p.payload_len, 100);
	}
	th_run_next_timer(&t);
	assert_int_equal(th_out(&t), 1);
	assert_true(t.out[0].p.u.tcp.flags & WIRE_TCP_RST);
	assert_int_equal(core_flow_count(t.e), 0);
	assert_true(th_sock(&t)->closed && th_sock(&t)->reset);
	th_fini(&t);
}

/* Sends n full segments of host data; returns the segment size. */
static uint32_t send_segments(struct th *t, int n)
{
	uint32_t mss = t->syn_opts.has_ts ? 1448 : 1460;
	fake_host_rx_push(&t->host, t->sock, pattern, (size_t)n * mss);
	th_event(t, CORE_EV_READ);
	assert_int_equal(th_out(t), n);
	return mss;
}

/* No SACK: three duplicate ACKs retransmit the missing segment; a partial
 * ACK retransmits the next one (RFC 6582). */
static void test_fast_retransmit_newreno(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	struct wire_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.mss = 1460;
	th_establish(&t, &o);
	uint32_t mss = send_segments(&t, 10);
	uint32_t base = t.our_isn + 1;

	/* Segments 2 and 4 were lost (0-based 1 and 3). */
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, base + mss, NULL, 0);
	assert_int_equal(th_out(&t), 0);
	for (int i = 0; i < 2; i++) {
		th_send(&t, WIRE_TCP_ACK, t.app_nxt, base + mss, NULL, 0);
		assert_int_equal(th_out(&t), 0);
	}
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, base + mss, NULL, 0);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.seq, base + mss);
	assert_int_equal(t.out[0].p.payload_len, mss);
	check_payload(&t, &t.out[0].p);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_fast_retransmits), 1);
	assert_true(th_conn(&t)->in_recovery);

	/* Partial ACK up to the second hole: it is resent at once. */
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, base + 3 * mss, NULL, 0);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.seq, base + 3 * mss);
	check_payload(&t, &t.out[0].p);
	/* Everything acknowledged: recovery ends, cwnd = ssthresh. */
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, base + 10 * mss, NULL, 0);
	assert_false(th_conn(&t)->in_recovery);
	assert_int_equal(th_conn(&t)->cwnd, th_conn(&t)->ssthresh);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_rto_expired), 0);
	assert_int_equal(th_sock(&t)->rx_len, 0);
	th_fini(&t);
}

/* SACK: one ACK that SACKs enough data starts recovery, and exactly the
 * holes are retransmitted. */
static void test_sack_holes(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	struct wire_tcp_opts o = th_opts_all();
	th_establish(&t, &o);
	uint32_t mss = send_segments(&t, 10);
	uint32_t base = t.our_isn + 1;
	th_advance(&t, 1000); /* the app's ACKs take a round trip */

	/* Lost: segments 1 and 4 (0-based). */
	uint32_t blocks[4] = {base + 2 * mss, base + 4 * mss, base + 5 * mss,
			      base + 10 * mss};
	th_send_sack(&t, base + mss, 2, blocks);
	th_out(&t);
	assert_int_equal(t.nout, 2);
	assert_int_equal(t.out[0].p.u.tcp.seq, base + mss);
	assert_int_equal(t.out[1].p.u.tcp.seq, base + 4 * mss);
	check_payload(&t, &t.out[0].p);
	check_payload(&t, &t.out[1].p);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_fast_retransmits), 1);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_retransmits), 2);

	/* The same SACK again retransmits nothing more. */
	th_send_sack(&t, base + mss, 2, blocks);
	assert_int_equal(th_out(&t), 0);
	/* The first hole filled: ACK moves, still one hole SACKed above. */
	uint32_t b2[2] = {base + 5 * mss, base + 10 * mss};
	th_send_sack(&t, base + 4 * mss, 1, b2);
	assert_int_equal(th_out(&t), 0);
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, base + 10 * mss, NULL, 0);
	assert_false(th_conn(&t)->in_recovery);
	assert_null(th_conn(&t)->sb); /* freed with the flight */
	assert_int_equal(th_sock(&t)->rx_len, 0);
	th_fini(&t);
}

/* A lost SACK hole retransmission: the loss probe (fast recovery, no ACK
 * for 2 SRTT) sends it again; if that is lost too, the RTO does. */
static void test_sack_then_rto(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	struct wire_tcp_opts o = th_opts_all();
	th_establish(&t, &o);
	uint32_t mss = send_segments(&t, 6);
	uint32_t base = t.our_isn + 1;
	uint32_t blocks[2] = {base + mss, base + 6 * mss};
	th_send_sack(&t, base, 1, blocks);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.seq, base);
	/* (A deadline moved later may wake the flow early: harmless.) */
	for (int i = 0; i < 4 && !th_ctr(&t, TP_CTR_tcp_loss_probes); i++)
		th_run_next_timer(&t);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.seq, base);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_rto_expired), 0);
	for (int i = 0; i < 4 && !th_ctr(&t, TP_CTR_tcp_rto_expired); i++)
		th_run_next_timer(&t);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.seq, base);
	check_payload(&t, &t.out[0].p);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_rto_expired), 1);
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, base + 6 * mss, NULL, 0);
	assert_int_equal(th_sock(&t)->rx_len, 0);
	th_fini(&t);
}

/* A lost FIN is retransmitted by the RTO. */
static void test_fin_retransmit(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	fake_host_rx_push(&t.host, t.sock, "bye", 3);
	fake_host_rx_eof(&t.host, t.sock);
	th_event(&t, CORE_EV_READ);
	assert_int_equal(th_out(&t), 2);
	assert_int_equal(t.out[1].p.u.tcp.flags, WIRE_TCP_FIN | WIRE_TCP_ACK);
	uint32_t fin_seq = t.out[1].p.u.tcp.seq;
	/* The data arrives, the FIN does not. */
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, fin_seq, NULL, 0);
	th_run_next_timer(&t);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.flags & WIRE_TCP_FIN, WIRE_TCP_FIN);
	assert_int_equal(t.out[0].p.u.tcp.seq, fin_seq);
	assert_int_equal(t.out[0].p.payload_len, 0);
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, fin_seq + 1, NULL, 0);
	assert_int_equal(th_conn(&t)->state, TCP_FIN_WAIT_2);
	th_fini(&t);
}

/* Data and FIN both lost: the RTO resends the data with the FIN. */
static void test_data_and_fin_retransmit(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	fake_host_rx_push(&t.host, t.sock, "bye", 3);
	fake_host_rx_eof(&t.host, t.sock);
	th_event(&t, CORE_EV_READ);
	assert_int_equal(th_out(&t), 2);
	th_run_next_timer(&t);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.payload_len, 3);
	assert_int_equal(t.out[0].p.u.tcp.flags & WIRE_TCP_FIN, WIRE_TCP_FIN);
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 5, NULL, 0);
	assert_int_equal(th_conn(&t)->state, TCP_FIN_WAIT_2);
	assert_int_equal(th_sock(&t)->rx_len, 0);
	th_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rto_backoff),
	    cmocka_unit_test(test_rto_give_up),
	    cmocka_unit_test(test_fast_retransmit_newreno),
	    cmocka_unit_test(test_sack_holes),
	    cmocka_unit_test(test_sack_then_rto),
	    cmocka_unit_test(test_fin_retransmit),
	    cmocka_unit_test(test_data_and_fin_retransmit),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
