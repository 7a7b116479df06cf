/* SPDX-License-Identifier: MIT */
/* test_tcp_rack.c - loss detection toward the app with RACK-TLP (RFC 8985)
 * and the scoreboard behind it: a tail loss probe before the RTO, a lost
 * retransmission found by RACK without an RTO, RACK's reordering timer,
 * the reordering window widening after a spurious retransmission (and the
 * D-SACK undoing its window reduction), a probe when the ACKs stop in fast
 * recovery, a spurious RTO undone, and the scoreboard's memory (only while
 * data is in flight, from the budget). The app's ACKs come one RTT (10 ms) after what
 * they acknowledge. */
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

#define RTT 10000u
#define MSS 1448u /* with timestamps */

static uint8_t pattern[256 * 1024];

static int setup(void **state)
{
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 13 + i / 509);
	return 0;
}

/* An established connection with SACK and timestamps whose handshake took
 * one RTT: srtt = RTT, RTO at its 200 ms floor, PTO 2 RTT + 2 ms. */
static void establish(struct th *t)
{
	struct wire_tcp_opts o = th_opts_all();

	th_init(t, 4, NULL);
	th_syn(t, &o);
	assert_int_equal(th_out(t), 0);
	th_connect_ok(t);
	th_advance(t, RTT);
	th_send(t, WIRE_TCP_ACK, t->app_nxt, t->our_isn + 1, NULL, 0);
	assert_int_equal(th_conn(t)->srtt, RTT);
}

static uint32_t seg(const struct th *t, uint32_t i)
{
	return t->our_isn + 1 + i * MSS;
}

/* The host has n more segments of data; returns how many went out. */
static int host_data(struct th *t, uint32_t from, uint32_t n)
{
	fake_host_rx_push(&t->host, t->sock, pattern + from * MSS,
			  (size_t)n * MSS);
	th_event(t, CORE_EV_READ);
	return th_out(t);
}

static void check_payload(const struct th *t, const struct wire_packet *p)
{
	uint32_t off = p->u.tcp.seq - (t->our_isn + 1);
	assert_memory_equal(p->payload, pattern + off, p->payload_len);
}

/* Runs timers until the engine sends something; returns the time that
 * took. (A deadline moved later leaves an early wake-up in the heap.) */
static uint64_t wait_for_output(struct th *t)
{
	uint64_t waited = 0;

	for (int i = 0; i < 20; i++) {
		waited += th_run_next_timer(t);
		if (th_out(t))
			return waited;
	}
	fail_msg("nothing was sent");
	return 0;
}

/* An ACK up to segment `ack` SACKing segments [s, e) (none if s == e). */
static void sack(struct th *t, uint32_t ack, uint32_t s, uint32_t e)
{
	uint32_t b[2] = {seg(t, s), seg(t, e)};

	th_send_sack(t, seg(t, ack), s == e ? 0 : 1, b);
}

/* The last segments of a flight are lost and nothing follows them: the
 * probe (2 SRTT + 2 ms after the last ACK, well before the 200 ms RTO)
 * resends the last one, its SACK shows RACK the others are lost, and fast
 * recovery repairs them. No RTO. */
static void test_tlp_tail(void **state)
{
	struct th t;
	establish(&t);
	assert_int_equal(host_data(&t, 0, 10), 10);

	/* Segments 6..9 are lost: the ACK covers 0..5 only. */
	th_advance(&t, RTT);
	sack(&t, 6, 0, 0);
	assert_int_equal(th_out(&t), 0);

	uint64_t waited = wait_for_output(&t);
	assert_int_equal(waited, 2 * RTT + TCP_TLP_MIN_US);
	assert_int_equal(t.nout, 1);
	assert_int_equal(t.out[0].p.u.tcp.seq, seg(&t, 9));
	check_payload(&t, &t.out[0].p);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_loss_probes), 1);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_rto_expired), 0);

	/* The probe arrives: its SACK makes RACK mark 6..8 lost. */
	th_advance(&t, RTT);
	sack(&t, 6, 9, 10);
	th_out(&t);
	assert_int_equal(t.nout, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(t.out[i].p.u.tcp.seq,
				 seg(&t, 6 + (uint32_t)i));
		check_payload(&t, &t.out[i].p);
	}
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_fast_retransmits), 1);
	th_advance(&t, RTT);
	sack(&t, 10, 0, 0);
	assert_false(th_conn(&t)->in_recovery);
	assert_int_equal(th_sock(&t)->rx_len, 0);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_retransmits), 4);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_rto_expired), 0);
	th_fini(&t);
}

/* With more data waiting (held back by cwnd) the probe is new data, sent
 * outside cwnd (RFC 8985 7.3). */
static void test_tlp_new_data(void **state)
{
	struct th t;
	establish(&t);
	assert_int_equal(host_data(&t, 0, 10), 10);
	assert_int_equal(host_data(&t, 10, 1), 0); /* cwnd is full */

	/* No ACK comes back at all. */
	uint64_t waited = wait_for_output(&t);
	assert_int_equal(waited, 2 * RTT + TCP_TLP_MIN_US);
	assert_int_equal(t.nout, 1);
	assert_int_equal(t.out[0].p.u.tcp.seq, seg(&t, 10));
	check_payload(&t, &t.out[0].p);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_loss_probes), 1);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_retransmits), 0);
	assert_false(th_conn(&t)->tlp_retrans);
	/* Only the RTO is armed now (one probe per episode). */
	assert_int_equal(th_conn(&t)->lr_at, 0);
	assert_true(th_conn(&t)->rtx_at >= t.now + TCP_RTO_MIN_US);

	th_advance(&t, RTT);
	sack(&t, 11, 0, 0);
	assert_false(th_conn(&t)->tlp_on);
	assert_int_equal(th_sock(&t)->rx_len, 0);
	th_fini(&t);
}

/* A retransmission is lost too: RACK sees it as soon as a segment sent
 * after it is SACKed, and sends it once more; no RTO. */
static void test_rack_lost_retransmission(void **state)
{
	struct th t;
	establish(&t);
	assert_int_equal(host_data(&t, 0, 20), 10);

	/* Segment 0 is lost: 1..9 SACKed, three or more, so at once. */
	th_advance(&t, RTT);
	sack(&t, 0, 1, 10);
	th_out(&t);
	assert_true(t.nout >= 2);
	assert_int_equal(t.out[0].p.u.tcp.seq, seg(&t, 0));
	uint32_t sent = (uint32_t)t.nout - 1; /* new: 10 .. 10 + sent */
	assert_int_equal(t.out[1].p.u.tcp.seq, seg(&t, 10));
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_retransmits), 1);

	/* The resent 0 is lost again; the new segments arrive. */
	th_advance(&t, RTT);
	sack(&t, 0, 1, 10 + sent);
	th_out(&t);
	assert_true(t.nout >= 1);
	assert_int_equal(t.out[0].p.u.tcp.seq, seg(&t, 0));
	check_payload(&t, &t.out[0].p);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_retransmits), 2);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_rto_expired), 0);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_fast_retransmits), 1);
	th_fini(&t);
}

/* One segment SACKed above a hole, fewer than DupThresh: RACK waits a
 * quarter of the minimum RTT (its reordering timer), then takes the hole
 * as lost, long before the RTO. */
static void test_rack_reorder_timer(void **state)
{
	struct th t;
	establish(&t);
	assert_int_equal(host_data(&t, 0, 3), 3);

	th_advance(&t, RTT);
	sack(&t, 0, 2, 3); /* 0 and 1 missing */
	assert_int_equal(th_out(&t), 0);
	uint64_t waited = wait_for_output(&t);
	assert_int_equal(waited, RTT / 4);
	assert_int_equal(t.nout, 2);
	assert_int_equal(t.out[0].p.u.tcp.seq, seg(&t, 0));
	assert_int_equal(t.out[1].p.u.tcp.seq, seg(&t, 1));
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_rto_expired), 0);
	th_fini(&t);
}

/* Reordering: a segment held back by the path makes the first recovery
 * spurious (RFC 8985: no reordering seen yet, so no window). The app
 * D-SACKs the needless copy: the window reduction is undone and RACK's
 * reordering window opens. The same reordering again is then waited out:
 * no retransmission, no RTO. */
static void test_rack_reordering_adapts(void **state)
{
	struct th t;
	establish(&t);
	assert_int_equal(host_data(&t, 0, 10), 10);
	uint32_t cwnd0 = th_conn(&t)->cwnd;

	/* Segment 0 is late: 1..3 SACKed, reordering not known yet. */
	th_advance(&t, RTT);
	sack(&t, 0, 1, 4);
	th_out(&t);
	assert_int_equal(t.nout, 1);
	assert_int_equal(t.out[0].p.u.tcp.seq, seg(&t, 0));
	assert_true(th_conn(&t)->cwnd < cwnd0);
	assert_false(th_conn(&t)->reord_seen);

	/* The late original arrives, then the copy: a D-SACK. */
	th_advance(&t, RTT / 10);
	sack(&t, 10, 0, 0);
	uint32_t d[2] = {seg(&t, 0), seg(&t, 1)};
	th_send_sack(&t, seg(&t, 10), 1, d);
	assert_true(th_conn(&t)->reord_seen);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_recoveries_undone), 1);
	assert_true(th_conn(&t)->cwnd >= cwnd0);
	assert_false(th_conn(&t)->in_recovery);
	th_out(&t);

	/* Ten more; segment 10 is late the same way. */
	th_advance(&t, RTT);
	assert_true(host_data(&t, 10, 10) >= 10);
	th_advance(&t, RTT);
	sack(&t, 10, 11, 14);
	assert_int_equal(th_out(&t), 0); /* waits: reo_wnd */
	assert_true(th_conn(&t)->lr_at > t.now);
	th_advance(&t, RTT / 10);
	sack(&t, 20, 0, 0);
	assert_int_equal(th_out(&t), 0);
	th_advance(&t, 1000000);
	th_out(&t);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_retransmits), 1);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_fast_retransmits), 1);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_rto_expired), 0);
	assert_int_equal(th_sock(&t)->rx_len, 0);
	th_fini(&t);
}

/* Fast recovery, and then the app's ACKs stop (a Linux app compresses
 * SACKs after three duplicate ACKs; the one it sends is lost): the pipe
 * says the window is full, RACK hears nothing. The probe (allowed in fast
 * recovery here, unlike RFC 8985) resends the last segment; the app's
 * answer SACKs everything and the recovery ends without an RTO. */
static void test_tlp_in_recovery(void **state)
{
	struct th t;
	establish(&t);
	assert_int_equal(host_data(&t, 0, 10), 10);

	th_advance(&t, RTT);
	sack(&t, 0, 1, 4);
	th_out(&t);
	assert_int_equal(t.nout, 1); /* segment 0 again; then cwnd is full */
	assert_int_equal(t.out[0].p.u.tcp.seq, seg(&t, 0));
	assert_true(th_conn(&t)->in_recovery);

	/* Nothing more from the app. */
	uint64_t waited = wait_for_output(&t);
	assert_int_equal(waited, 2 * RTT + TCP_TLP_MIN_US);
	assert_int_equal(t.nout, 1);
	assert_int_equal(t.out[0].p.u.tcp.seq, seg(&t, 9));
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_loss_probes), 1);

	/* Its answer: 1..9 all there; the resent 0 was lost too. */
	th_advance(&t, RTT);
	sack(&t, 0, 1, 10);
	th_out(&t);
	assert_int_equal(t.nout, 1);
	assert_int_equal(t.out[0].p.u.tcp.seq, seg(&t, 0));
	th_advance(&t, RTT);
	sack(&t, 10, 0, 0);
	assert_false(th_conn(&t)->in_recovery);
	assert_int_equal(th_sock(&t)->rx_len, 0);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_rto_expired), 0);
	th_fini(&t);
}

/* A spurious RTO: the app got everything but its ACKs were lost, and so
 * was the probe. The RTO's resend comes back D-SACKed with an ACK of all:
 * the window reduction is undone. */
static void test_spurious_rto_undone(void **state)
{
	struct th t;
	establish(&t);
	assert_int_equal(host_data(&t, 0, 10), 10);
	uint32_t cwnd0 = th_conn(&t)->cwnd;

	wait_for_output(&t); /* the probe: segment 9 again */
	assert_int_equal(t.out[0].p.u.tcp.seq, seg(&t, 9));
	wait_for_output(&t); /* the RTO: segment 0 again */
	assert_int_equal(t.out[0].p.u.tcp.seq, seg(&t, 0));
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_rto_expired), 1);
	assert_int_equal(th_conn(&t)->cwnd, MSS);

	uint32_t d[2] = {seg(&t, 0), seg(&t, 1)};
	th_send_sack(&t, seg(&t, 10), 1, d);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_recoveries_undone), 1);
	assert_true(th_conn(&t)->cwnd >= cwnd0);
	assert_int_equal(th_out(&t), 0);
	assert_int_equal(th_sock(&t)->rx_len, 0);
	th_fini(&t);
}

/* The scoreboard exists only while data is in flight, and only with
 * SACK; it grows with the flight. */
static void test_scoreboard_memory(void **state)
{
	struct th t;
	establish(&t);
	size_t base = t.e->mem.used;
	assert_null(th_conn(&t)->sb);
	assert_int_equal(host_data(&t, 0, 5), 5);
	assert_non_null(th_conn(&t)->sb);
	assert_int_equal(th_conn(&t)->sb->n, 5);
	size_t small = t.e->mem.used - base;
	assert_true(small > 0 && small < 1024);
	th_advance(&t, RTT);
	sack(&t, 5, 0, 0);
	assert_null(th_conn(&t)->sb);
	assert_int_equal(t.e->mem.used, base);

	/* A large flight: more records, still bounded, freed at the end. */
	t.app_win = 65535;
	th_conn(&t)->cwnd = 100 * MSS;
	assert_int_equal(host_data(&t, 5, 100), 100);
	assert_int_equal(th_conn(&t)->sb->n, 100);
	assert_true(th_conn(&t)->sb->cap >= 100);
	assert_true(t.e->mem.used - base <=
		    sizeof(struct tcp_sb) + 128 * sizeof(struct tcp_seg));
	th_advance(&t, RTT);
	sack(&t, 105, 0, 0);
	assert_null(th_conn(&t)->sb);
	assert_int_equal(t.e->mem.used, base);
	th_fini(&t);

	/* Without SACK: none. */
	struct wire_tcp_opts o = th_opts_all();
	o.sack_permitted = false;
	th_init(&t, 4, NULL);
	th_establish(&t, &o);
	base = t.e->mem.used;
	fake_host_rx_push(&t.host, t.sock, pattern, 5 * MSS);
	th_event(&t, CORE_EV_READ);
	assert_int_equal(th_out(&t), 5);
	assert_null(th_conn(&t)->sb);
	assert_int_equal(t.e->mem.used, base);
	th_fini(&t);
}

/* No memory for a scoreboard: the data still goes, and a loss is still
 * repaired (three duplicate ACKs, NewReno). */
static void test_scoreboard_no_memory(void **state)
{
	struct th t;
	establish(&t);
	t.e->mem.budget = t.e->mem.used + 64;
	assert_int_equal(host_data(&t, 0, 6), 6);
	assert_null(th_conn(&t)->sb);
	th_advance(&t, RTT);
	for (uint32_t i = 2; i <= 4; i++)
		sack(&t, 0, 1, i);
	th_out(&t);
	assert_int_equal(t.nout, 1);
	assert_int_equal(t.out[0].p.u.tcp.seq, seg(&t, 0));
	th_advance(&t, RTT);
	sack(&t, 6, 0, 0);
	assert_int_equal(th_sock(&t)->rx_len, 0);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_rto_expired), 0);
	th_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tlp_tail),
	    cmocka_unit_test(test_tlp_new_data),
	    cmocka_unit_test(test_rack_lost_retransmission),
	    cmocka_unit_test(test_rack_reorder_timer),
	    cmocka_unit_test(test_rack_reordering_adapts),
	    cmocka_unit_test(test_tlp_in_recovery),
	    cmocka_unit_test(test_spurious_rto_undone),
	    cmocka_unit_test(test_scoreboard_memory),
	    cmocka_unit_test(test_scoreboard_no_memory),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
