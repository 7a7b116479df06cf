/* SPDX-License-Identifier: MIT */
/* test_tcp_runs.c - app -> host data read in batches (CORE_IN_MORE): the
 * in-order segments of one connection that arrive back to back are
 * written with one send and acknowledged once, when the batch ends or
 * anything else arrives (src/core/tcp_rbuf.c, "Runs"). Nothing may be
 * acknowledged before the socket (or the held buffer) took it, and order,
 * FIN, holes and resets keep their meaning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/tcp_int.h"
#include "support/tcp_harness.h"

static uint8_t pattern[64 * 1448];

static int group_setup(void **state)
{
	th_pattern(pattern, sizeof(pattern), 7);
	return 0;
}

/* n segments of seg bytes from the app, the last one ending the batch
 * when last_ends is set. */
static void send_run(struct th *t, int n, size_t seg, size_t *off,
		     bool last_ends)
{
	for (int i = 0; i < n; i++) {
		bool more = i + 1 < n || !last_ends;
		th_send_more(t, more, WIRE_TCP_ACK, t->app_nxt, t->our_isn + 1,
			     pattern + *off, seg);
		t->app_nxt += (uint32_t)seg;
		*off += seg;
	}
}

static int pure_acks(struct th *t, int n)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		k += t->out[i].p.payload_len == 0;
	return k;
}

static void test_run_one_send_one_ack(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	struct wire_tcp_opts o = th_opts_all();
	th_establish(&t, &o);
	size_t off = 0;
	int calls0 = th_sock(&t)->send_calls;

	/* Nine segments with more to come: nothing written, nothing ACKed
	 * yet. */
	send_run(&t, 9, 1448, &off, false);
	assert_int_equal(th_sock(&t)->send_calls, calls0);
	assert_int_equal(th_out(&t), 0);
	/* The tenth ends the batch: one send, one ACK for all ten. */
	send_run(&t, 1, 1448, &off, true);
	assert_int_equal(th_sock(&t)->send_calls, calls0 + 1);
	assert_int_equal(th_sock(&t)->tx_len, off);
	assert_memory_equal(th_sock(&t)->tx, pattern, off);
	int n = th_out(&t);
	assert_int_equal(n, 1);
	assert_int_equal(pure_acks(&t, n), 1);
	assert_int_equal(t.out[0].p.u.tcp.ack, t.app_nxt);
	th_fini(&t);
}

/* A full socket takes part of the run: the rest is held and ACKed, and
 * written when the socket is writable; every byte once, in order. */
static void test_run_partial_send(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	size_t off = 0;
	th_sock(&t)->tx_space = 2500;
	send_run(&t, 8, 1000, &off, true);
	assert_int_equal(th_sock(&t)->tx_len, 2500);
	int n = th_out(&t);
	assert_true(n >= 1);
	assert_int_equal(t.out[n - 1].p.u.tcp.ack, t.app_nxt);
	assert_non_null(th_conn(&t)->rbuf);
	th_sock(&t)->tx_space = 1 << 20;
	th_event(&t, CORE_EV_WRITE);
	assert_int_equal(th_sock(&t)->tx_len, off);
	assert_memory_equal(th_sock(&t)->tx, pattern, off);
	th_fini(&t);
}

/* A hole ends the run: what came before is written, the segment after the
 * hole is held and SACKed, and the retransmission fills it. */
static void test_run_ends_at_hole(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	struct wire_tcp_opts o = th_opts_all();
	th_establish(&t, &o);
	size_t off = 0;
	send_run(&t, 3, 1000, &off, false);
	/* Segment 4 is lost; segment 5 arrives, more behind it. */
	uint32_t hole = t.app_nxt;
	th_send_more(&t, true, WIRE_TCP_ACK, hole + 1000, t.our_isn + 1,
		     pattern + off + 1000, 1000);
	assert_int_equal(th_sock(&t)->tx_len, 3000);
	th_send_more(&t, false, WIRE_TCP_ACK, hole + 2000, t.our_isn + 1,
		     pattern + off + 2000, 1000);
	assert_int_equal(th_sock(&t)->tx_len, 3000);
	int n = th_out(&t);
	assert_true(n >= 1);
	assert_int_equal(t.out[n - 1].p.u.tcp.ack, hole);
	assert_true(t.out[n - 1].p.u.tcp.opts.sack_count >= 1);
	/* The retransmission of segment 4 fills the hole. */
	th_send(&t, WIRE_TCP_ACK, hole, t.our_isn + 1, pattern + off, 1000);
	assert_int_equal(th_sock(&t)->tx_len, off + 3000);
	assert_memory_equal(th_sock(&t)->tx, pattern, off + 3000);
	th_fini(&t);
}

/* A FIN ends the run: data first, then the shutdown; both ACKed. */
static void test_run_then_fin(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	size_t off = 0;
	send_run(&t, 4, 1448, &off, false);
	th_send_more(&t, false, WIRE_TCP_ACK | WIRE_TCP_FIN, t.app_nxt,
		     t.our_isn + 1, pattern + off, 100);
	off += 100;
	t.app_nxt += 101;
	assert_int_equal(th_sock(&t)->tx_len, off);
	assert_memory_equal(th_sock(&t)->tx, pattern, off);
	assert_true(th_sock(&t)->shut_wr);
	int n = th_out(&t);
	assert_true(n >= 1);
	assert_int_equal(t.out[n - 1].p.u.tcp.ack, t.app_nxt);
	th_fini(&t);
}

/* A RST in the same batch: the run before it was written (it came
 * first), then the connection is reset; no ACK of the run goes out after
 * the reset. */
static void test_run_then_rst(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	size_t off = 0;
	send_run(&t, 3, 1000, &off, false);
	th_send_more(&t, false, WIRE_TCP_RST, t.app_nxt, 0, NULL, 0);
	assert_int_equal(th_sock(&t)->tx_len, off);
	assert_true(th_sock(&t)->closed);
	assert_true(th_sock(&t)->reset);
	th_fini(&t);
}

/* Without CORE_IN_MORE nothing waits: each segment is written at once
 * (what unit tests and callers without batches see). */
static void test_no_more_no_run(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	int calls0 = th_sock(&t)->send_calls;
	for (int i = 0; i < 3; i++) {
		th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 1,
			pattern + i * 1000, 1000);
		t.app_nxt += 1000;
		assert_int_equal(th_sock(&t)->send_calls, calls0 + i + 1);
	}
	th_fini(&t);
}

/* The flow's figures (tp_flows, the connection log) charge a run's
 * stretch ACK and bytes to the flow, though the run is written after the
 * packet that ended it was handled. */
static void test_run_counted_in_flow(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	struct tp_flow_info fi;
	assert_int_equal(core_flows(t.e, t.now, &fi, 1, sizeof(fi)), 1);
	uint64_t pkts0 = fi.packets_to_app, up0 = fi.bytes_from_app;
	size_t off = 0;
	send_run(&t, 5, 1000, &off, true);
	assert_int_equal(th_out(&t), 1); /* the run's one ACK */
	assert_int_equal(core_flows(t.e, t.now, &fi, 1, sizeof(fi)), 1);
	assert_int_equal(fi.packets_to_app, pkts0 + 1);
	assert_int_equal(fi.bytes_from_app, up0 + off);
	th_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_run_one_send_one_ack),
	    cmocka_unit_test(test_run_partial_send),
	    cmocka_unit_test(test_run_ends_at_hole),
	    cmocka_unit_test(test_run_then_fin),
	    cmocka_unit_test(test_run_then_rst),
	    cmocka_unit_test(test_no_more_no_run),
	    cmocka_unit_test(test_run_counted_in_flow),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
