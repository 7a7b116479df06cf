/* SPDX-License-Identifier: MIT */
/* test_tcp_data.c - data both ways: in order, out of order, duplicates and
 * overlaps, delayed ACKs, the app's window and zero-window probes, and a
 * slow host socket that must shrink the window rather than grow memory. */
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

static uint8_t pattern[1 << 20];

static int setup(void **state)
{
	th_pattern(pattern, sizeof(pattern), 12345);
	return 0;
}

/* App -> host in order, across the sequence wrap: byte-exact, ACKed
 * every second segment or after the delayed-ACK timer. */
static void test_app_to_host_in_order(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	struct wire_tcp_opts o = th_opts_all();
	th_establish(&t, &o);
	size_t off = 0;

	/* One segment: no ACK at once, one after 40 ms. */
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 1, pattern, 1000);
	t.app_nxt += 1000;
	off += 1000;
	assert_int_equal(th_out(&t), 0);
	th_advance(&t, 39000);
	assert_int_equal(th_out(&t), 0);
	th_advance(&t, 1000);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.ack, t.app_nxt);

	/* Two segments: the second is ACKed at once. */
	for (int i = 0; i < 10; i++) {
		th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 1,
			pattern + off, 1448);
		t.app_nxt += 1448;
		off += 1448;
		int n = th_out(&t);
		assert_int_equal(n, i % 2 ? 1 : 0);
		if (n)
			assert_int_equal(t.out[0].p.u.tcp.ack, t.app_nxt);
	}
	assert_int_equal(th_sock(&t)->tx_len, off);
	assert_memory_equal(th_sock(&t)->tx, pattern, off);
	/* The window offered is the whole buffer: nothing is held. */
	assert_null(th_conn(&t)->rbuf);
	th_fini(&t);
}

/* Host -> app: peeked into segments, sent within the window, discarded
 * only when ACKed. */
static void test_host_to_app(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	struct wire_tcp_opts o = th_opts_all();
	th_establish(&t, &o);

	fake_host_rx_push(&t.host, t.sock, pattern, 10000);
	th_event(&t, CORE_EV_READ);
	int n = th_out(&t);
	assert_int_equal(n, 7); /* 1448 bytes each with timestamps */
	uint32_t seq = t.our_isn + 1;
	size_t got = 0;
	for (int i = 0; i < n; i++) {
		const struct wire_packet *p = &t.out[i].p;
		assert_int_equal(p->u.tcp.seq, seq);
		assert_true(p->payload_len <= 1448);
		assert_memory_equal(p->payload, pattern + got, p->payload_len);
		seq += p->payload_len;
		got += p->payload_len;
	}
	assert_int_equal(got, 10000);
	/* Still in the host socket until acknowledged. */
	assert_int_equal(th_sock(&t)->rx_len, 10000);
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 1 + 4000, NULL, 0);
	assert_int_equal(th_sock(&t)->rx_len, 6000);
	assert_int_equal(th_sock(&t)->rx_discarded, 4000);
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 1 + 10000, NULL, 0);
	assert_int_equal(th_sock(&t)->rx_len, 0);
	assert_int_equal(th_out(&t), 0);
	/* Nothing in flight: no timer but the idle one. */
	assert_int_equal(th_conn(&t)->rtx_at, 0);
	th_fini(&t);
}

/* The app's window limits what is sent; its ACK opening the window lets
 * more go. Window scaling is applied to the app's window. */
static void test_app_window(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	struct wire_tcp_opts o = th_opts_all();
	o.wscale = 2;
	th_establish(&t, &o);
	/* A window of 1000 << 2 = 4000 bytes. */
	t.app_win = 1000;
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 1, NULL, 0);
	fake_host_rx_push(&t.host, t.sock, pattern, 20000);
	th_event(&t, CORE_EV_READ);
	th_out(&t);
	uint32_t sent = 0;
	for (int i = 0; i < t.nout; i++)
		sent += t.out[i].p.payload_len;
	assert_int_equal(sent, 4000);
	t.app_win = 2000;
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 1 + 4000, NULL, 0);
	th_out(&t);
	sent = 0;
	for (int i = 0; i < t.nout; i++) {
		assert_memory_equal(t.out[i].p.payload,
				    pattern + t.out[i].p.u.tcp.seq -
					(t.our_isn + 1),
				    t.out[i].p.payload_len);
		sent += t.out[i].p.payload_len;
	}
	assert_int_equal(sent, 8000);
	th_fini(&t);
}

/* Out of order from the app: held, SACKed, delivered when the hole fills;
 * the buffer is released afterwards. */
static void test_out_of_order(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	struct wire_tcp_opts o = th_opts_all();
	th_establish(&t, &o);
	size_t base = t.e->mem.used;
	uint32_t s0 = t.app_nxt;

	/* Segments 2 and 4 arrive before 1 and 3. */
	th_send(&t, WIRE_TCP_ACK, s0 + 1000, t.our_isn + 1, pattern + 1000,
		1000);
	assert_int_equal(th_out(&t), 1);
	const struct wire_tcp *a = &t.out[0].p.u.tcp;
	assert_int_equal(a->ack, s0);
	assert_int_equal(a->opts.sack_count, 1);
	assert_int_equal(a->opts.sack[0].start, s0 + 1000);
	assert_int_equal(a->opts.sack[0].end, s0 + 2000);
	th_send(&t, WIRE_TCP_ACK, s0 + 3000, t.our_isn + 1, pattern + 3000,
		1000);
	assert_int_equal(th_out(&t), 1);
	a = &t.out[0].p.u.tcp;
	assert_int_equal(a->opts.sack_count, 2);
	assert_int_equal(a->opts.sack[0].start, s0 + 3000); /* latest first */
	assert_int_equal(a->opts.sack[1].start, s0 + 1000);
	assert_int_equal(th_sock(&t)->tx_len, 0);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_ooo_queued), 2);
	assert_true(t.e->mem.used > base);

	/* The first hole fills: 0..2000 go out, ACK at once. */
	th_send(&t, WIRE_TCP_ACK, s0, t.our_isn + 1, pattern, 1000);
	assert_int_equal(th_out(&t), 1);
	a = &t.out[0].p.u.tcp;
	assert_int_equal(a->ack, s0 + 2000);
	assert_int_equal(a->opts.sack_count, 1);
	assert_int_equal(th_sock(&t)->tx_len, 2000);
	th_send(&t, WIRE_TCP_ACK, s0 + 2000, t.our_isn + 1, pattern + 2000,
		1000);
	assert_int_equal(th_out(&t), 1);
	a = &t.out[0].p.u.tcp;
	assert_int_equal(a->ack, s0 + 4000);
	assert_int_equal(a->opts.sack_count, 0);
	assert_int_equal(th_sock(&t)->tx_len, 4000);
	assert_memory_equal(th_sock(&t)->tx, pattern, 4000);
	assert_int_equal(t.e->mem.used, base);
	th_fini(&t);
}

/* Duplicates and partial overlaps deliver each byte exactly once. */
static void test_overlaps(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	uint32_t s0 = t.app_nxt;

	th_send(&t, WIRE_TCP_ACK, s0, t.our_isn + 1, pattern, 100);
	th_send(&t, WIRE_TCP_ACK, s0 + 50, t.our_isn + 1, pattern + 50, 100);
	th_send(&t, WIRE_TCP_ACK, s0, t.our_isn + 1, pattern, 100);
	th_out(&t);
	/* The pure duplicate is answered at once (not acceptable). */
	assert_true(t.nout >= 1);
	assert_int_equal(t.out[t.nout - 1].p.u.tcp.ack, s0 + 150);
	/* Out of order overlapping pieces, then the hole. */
	th_send(&t, WIRE_TCP_ACK, s0 + 300, t.our_isn + 1, pattern + 300, 200);
	th_send(&t, WIRE_TCP_ACK, s0 + 250, t.our_isn + 1, pattern + 250, 100);
	th_send(&t, WIRE_TCP_ACK, s0 + 450, t.our_isn + 1, pattern + 450, 100);
	th_send(&t, WIRE_TCP_ACK, s0 + 100, t.our_isn + 1, pattern + 100, 200);
	th_out(&t);
	assert_int_equal(t.out[t.nout - 1].p.u.tcp.ack, s0 + 550);
	assert_int_equal(th_sock(&t)->tx_len, 550);
	assert_memory_equal(th_sock(&t)->tx, pattern, 550);
	assert_null(th_conn(&t)->rbuf);
	th_fini(&t);
}

/* A slow host socket: it takes less than offered; the rest is held and
 * acknowledged, the window shrinks by what is held, memory never passes
 * the buffer, and when the socket drains the window opens again. */
static void test_slow_host(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	struct wire_tcp_opts o = th_opts_all();
	th_establish(&t, &o);
	size_t base = t.e->mem.used;
	fake_host_set_tx_space(&t.host, t.sock, 3000);

	uint32_t s0 = t.app_nxt;
	size_t off = 0;
	uint32_t last_right = 0;
	size_t peak = 0;
	/* The app keeps sending full segments while we let it. */
	for (int i = 0; i < 400; i++) {
		th_send(&t, WIRE_TCP_ACK, s0 + (uint32_t)off, t.our_isn + 1,
			pattern + off, 1448);
		th_out(&t);
		if (t.nout) {
			const struct wire_tcp *a = &t.out[t.nout - 1].p.u.tcp;
			uint32_t right = a->ack + ((uint32_t)a->window << 7);
			/* RFC 9293 3.8.6.2.2: the edge never moves left. */
			if (last_right && (int32_t)(right - last_right) < 0)
				printf("i=%d ack=%u win=%u right=%u last=%u\n",
				       i, a->ack - s0, a->window, right - s0,
				       last_right - s0);
			if (last_right)
				assert_true((int32_t)(right - last_right) >= 0);
			last_right = right;
			if ((uint32_t)(a->ack - s0) < off + 1448)
				break; /* a byte was refused: window full */
		}
		off += 1448;
		if (t.e->mem.used - base > peak)
			peak = t.e->mem.used - base;
	}
	struct tcp_conn *c = th_conn(&t);
	printf("held %u bytes, peak memory %zu\n", tcp_rbuf_held(c), peak);
	assert_true(peak <= 256u * 1024u + 1024u);
	assert_true(th_sock(&t)->want_wr);
	/* The window is (nearly) closed: 3000 bytes taken, the rest held. */
	th_send(&t, WIRE_TCP_ACK, s0 + (uint32_t)off, t.our_isn + 1,
		pattern + off, 1448);
	th_out(&t);
	assert_true(t.nout >= 1);
	uint32_t acked = t.out[t.nout - 1].p.u.tcp.ack - s0;
	assert_true(t.out[t.nout - 1].p.u.tcp.window << 7 < 2 * 1448);

	/* The socket drains: everything acknowledged reaches it in order,
	 * a window update goes out, and the buffer is released. */
	fake_host_set_tx_space(&t.host, t.sock, SIZE_MAX);
	th_event(&t, CORE_EV_WRITE);
	th_out(&t);
	assert_int_equal(t.nout, 1);
	assert_true((uint32_t)t.out[0].p.u.tcp.window << 7 >= 128u * 1024u);
	assert_int_equal(th_sock(&t)->tx_len, acked);
	assert_memory_equal(th_sock(&t)->tx, pattern, acked);
	assert_false(th_sock(&t)->want_wr);
	assert_int_equal(t.e->mem.used, base);
	th_fini(&t);
}

static void tiny_budget(struct core_config *c)
{
	(void)c;
}

/* No memory for a buffer: only what the socket took is acknowledged and
 * the window closes until the socket is writable. */
static void test_slow_host_no_memory(void **state)
{
	struct th t;
	th_init(&t, 4, tiny_budget);
	th_establish(&t, NULL);
	t.e->mem.budget = t.e->mem.used + 1000; /* nothing more fits */
	fake_host_set_tx_space(&t.host, t.sock, 600);
	uint32_t s0 = t.app_nxt;
	th_send(&t, WIRE_TCP_ACK, s0, t.our_isn + 1, pattern, 1000);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.ack, s0 + 600);
	assert_int_equal(t.out[0].p.u.tcp.window, 0);
	assert_int_equal(th_sock(&t)->tx_len, 600);
	/* The app retransmits into the closed window: refused, ACKed. */
	th_send(&t, WIRE_TCP_ACK, s0 + 600, t.our_isn + 1, pattern + 600, 400);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.ack, s0 + 600);
	assert_int_equal(th_sock(&t)->tx_len, 600);
	fake_host_set_tx_space(&t.host, t.sock, SIZE_MAX);
	th_event(&t, CORE_EV_WRITE);
	assert_int_equal(th_out(&t), 1);
	assert_true(t.out[0].p.u.tcp.window > 0);
	th_send(&t, WIRE_TCP_ACK, s0 + 600, t.our_isn + 1, pattern + 600, 400);
	assert_int_equal(th_sock(&t)->tx_len, 1000);
	assert_memory_equal(th_sock(&t)->tx, pattern, 1000);
	th_fini(&t);
}

/* Zero window from the app: reading stops, the persist timer probes with
 * backoff, and data flows again when the window opens. */
static void test_zero_window(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	t.app_win = 0;
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 1, NULL, 0);
	fake_host_rx_push(&t.host, t.sock, pattern, 5000);
	th_event(&t, CORE_EV_READ);
	assert_int_equal(th_out(&t), 0);
	assert_false(th_sock(&t)->want_rd);

	uint64_t prev = 0;
	for (int i = 0; i < 4; i++) {
		uint64_t d = th_run_next_timer(&t);
		assert_int_equal(th_out(&t), 1);
		const struct wire_packet *p = &t.out[0].p;
		assert_int_equal(p->payload_len, 0);
		assert_int_equal(p->u.tcp.seq, t.our_isn); /* snd_una - 1 */
		if (prev)
			assert_int_equal(d, 2 * prev);
		prev = d;
		/* The app answers with its still-zero window. */
		th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 1, NULL, 0);
		assert_int_equal(th_out(&t), 0);
	}
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_zero_window_probes), 4);

	t.app_win = 65535;
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 1, NULL, 0);
	th_out(&t);
	uint32_t sent = 0;
	for (int i = 0; i < t.nout; i++)
		sent += t.out[i].p.payload_len;
	assert_int_equal(sent, 5000);
	assert_memory_equal(t.out[0].p.payload, pattern, 536);
	th_fini(&t);
}

/* A large transfer host -> app with the app acking as it goes: exact. */
static void test_bulk_host_to_app(void **state)
{
	struct th t;
	th_init(&t, 6, NULL);
	struct wire_tcp_opts o = th_opts_all();
	th_establish(&t, &o);
	const size_t total = 600000;
	uint8_t *recv = calloc(1, total);
	fake_host_rx_push(&t.host, t.sock, pattern, total);
	th_event(&t, CORE_EV_READ);
	uint32_t rcv = t.our_isn + 1;
	for (int round = 0; round < 1000 && rcv - (t.our_isn + 1) < total;
	     round++) {
		th_out(&t);
		for (int i = 0; i < t.nout; i++) {
			const struct wire_packet *p = &t.out[i].p;
			if (p->u.tcp.seq == rcv && p->payload_len) {
				memcpy(recv + (rcv - (t.our_isn + 1)),
				       p->payload, p->payload_len);
				rcv += p->payload_len;
			}
		}
		th_send(&t, WIRE_TCP_ACK, t.app_nxt, rcv, NULL, 0);
	}
	assert_int_equal(rcv - (t.our_isn + 1), total);
	assert_memory_equal(recv, pattern, total);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_retransmits), 0);
	free(recv);
	th_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_app_to_host_in_order),
	    cmocka_unit_test(test_host_to_app),
	    cmocka_unit_test(test_app_window),
	    cmocka_unit_test(test_out_of_order),
	    cmocka_unit_test(test_overlaps),
	    cmocka_unit_test(test_slow_host),
	    cmocka_unit_test(test_slow_host_no_memory),
	    cmocka_unit_test(test_zero_window),
	    cmocka_unit_test(test_bulk_host_to_app),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
