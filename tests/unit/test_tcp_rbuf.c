/* SPDX-License-Identifier: MIT */
/* test_tcp_rbuf.c - app->host data held in userspace: many out-of-order
 * ranges kept at once (a reordering path), the SACK blocks naming the
 * latest ones, and the buffer's memory growing chunk by chunk with what is
 * held (not the whole window at once) and returned when it drains. */
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

#define CHUNK 4096u /* tcp_rbuf.c's TCP_RBUF_CHUNK */

static uint8_t pattern[512 * 1024];

static int setup(void **state)
{
	th_pattern(pattern, sizeof(pattern), 777);
	return 0;
}

/* The app's bytes [off, off + len) as a segment. */
static void app_seg(struct th *t, uint32_t s0, uint32_t off, uint32_t len)
{
	th_send(t, WIRE_TCP_ACK, s0 + off, t->our_isn + 1, pattern + off, len);
}

/* The app's bytes [from, to) in segments of at most 1448. */
static void app_range(struct th *t, uint32_t s0, uint32_t from, uint32_t to)
{
	while (from < to) {
		uint32_t n = to - from < 1448 ? to - from : 1448;
		app_seg(t, s0, from, n);
		from += n;
	}
}

/* 32 out-of-order ranges at once, every other segment missing: all held
 * and SACKed (latest first), none dropped; a 33rd separate range is
 * dropped (and sent again later); filling the holes delivers everything
 * in order and frees the buffer. */
static void test_ooo_many_holes(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	struct wire_tcp_opts o = th_opts_all();
	th_establish(&t, &o);
	size_t base = t.e->mem.used;
	uint32_t s0 = t.app_nxt;
	const uint32_t len = 1000;

	for (uint32_t k = 0; k < 32; k++) {
		app_seg(&t, s0, (2 * k + 1) * len, len);
		assert_int_equal(th_out(&t), 1);
		const struct wire_tcp *a = &t.out[0].p.u.tcp;
		assert_int_equal(a->ack, s0);
		assert_int_equal(a->opts.sack[0].start, s0 + (2 * k + 1) * len);
		/* Then the ones reported just before. */
		if (k >= 2) {
			assert_int_equal(a->opts.sack_count, 3);
			assert_int_equal(a->opts.sack[1].start,
					 s0 + (2 * k - 1) * len);
			assert_int_equal(a->opts.sack[2].start,
					 s0 + (2 * k - 3) * len);
		}
	}
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_ooo_queued), 32);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_ooo_dropped), 0);
	assert_int_equal(tcp_rbuf_held(th_conn(&t)), 32 * len);
	/* One more separate range does not fit; one touching a range does. */
	app_seg(&t, s0, 65 * len, len);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_ooo_dropped), 1);
	app_seg(&t, s0, 64 * len, len);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_ooo_dropped), 1);
	th_out(&t);

	/* The holes fill, lowest first (the last range is 63..65). */
	for (uint32_t k = 0; k < 32; k++) {
		app_seg(&t, s0, 2 * k * len, len);
		th_out(&t);
		assert_int_equal(t.out[t.nout - 1].p.u.tcp.ack,
				 s0 + (k == 31 ? 65 : 2 * k + 2) * len);
	}
	assert_int_equal(th_sock(&t)->tx_len, 65 * len);
	app_seg(&t, s0, 65 * len, len);
	th_out(&t);
	assert_int_equal(th_sock(&t)->tx_len, 66 * len);
	assert_memory_equal(th_sock(&t)->tx, pattern, 66 * len);
	assert_null(th_conn(&t)->rbuf);
	assert_int_equal(t.e->mem.used, base);
	th_fini(&t);
}

/* Memory follows what is held: one out-of-order segment costs a chunk and
 * the header (not the 256 KiB ring); each segment landing in another
 * chunk adds one; when the hole fills and the socket takes it all, every
 * byte comes back. */
static void test_rbuf_grows_in_steps(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	struct wire_tcp_opts o = th_opts_all();
	th_establish(&t, &o);
	size_t base = t.e->mem.used;
	uint32_t s0 = t.app_nxt;

	app_seg(&t, s0, 10000, 1000); /* within one chunk */
	size_t one = t.e->mem.used - base;
	printf("one out-of-order segment: %zu bytes\n", one);
	assert_true(one >= CHUNK && one < CHUNK + 1024);
	for (uint32_t k = 1; k <= 8; k++) {
		app_seg(&t, s0, 10000 + k * 5 * CHUNK, 1000);
		assert_int_equal(t.e->mem.used - base, one + k * CHUNK);
	}
	/* More bytes in chunks already there cost nothing. */
	app_seg(&t, s0, 11000, 1000);
	assert_int_equal(t.e->mem.used - base, one + 8 * CHUNK);
	th_out(&t);

	/* The hole fills: everything reaches the socket, memory returns. */
	app_range(&t, s0, 0, 10000);
	th_out(&t);
	assert_int_equal(th_sock(&t)->tx_len, 12000);
	assert_true(t.e->mem.used - base == 8 * CHUNK + (one - CHUNK));
	for (uint32_t k = 1; k <= 8; k++)
		app_range(&t, s0, k == 1 ? 12000 : 11000 + (k - 1) * 5 * CHUNK,
			  10000 + k * 5 * CHUNK);
	th_out(&t);
	uint32_t end = 10000 + 8 * 5 * CHUNK + 1000;
	assert_int_equal(th_sock(&t)->tx_len, end);
	assert_memory_equal(th_sock(&t)->tx, pattern, end);
	assert_null(th_conn(&t)->rbuf);
	assert_int_equal(t.e->mem.used, base);
	th_fini(&t);
}

/* A slow socket: what it has not taken is held in as many chunks as it
 * needs, and they are returned as it drains, a few at a time. */
static void test_rbuf_slow_socket_steps(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	struct wire_tcp_opts o = th_opts_all();
	th_establish(&t, &o);
	size_t base = t.e->mem.used;
	uint32_t s0 = t.app_nxt;

	fake_host_set_tx_space(&t.host, t.sock, 0);
	for (uint32_t k = 0; k < 20; k++)
		app_seg(&t, s0, k * 1448, 1448);
	th_out(&t);
	uint32_t held = 20 * 1448;
	assert_int_equal(tcp_rbuf_held(th_conn(&t)), held);
	size_t used = t.e->mem.used - base;
	uint32_t chunks = (held + CHUNK - 1) / CHUNK;
	assert_true(used >= chunks * CHUNK && used < chunks * CHUNK + 1024);

	/* The socket takes 3 chunks' worth: 3 are freed. */
	fake_host_set_tx_space(&t.host, t.sock, 3 * CHUNK);
	th_event(&t, CORE_EV_WRITE);
	assert_int_equal(t.e->mem.used - base, used - 3 * CHUNK);
	fake_host_set_tx_space(&t.host, t.sock, SIZE_MAX);
	th_event(&t, CORE_EV_WRITE);
	th_out(&t);
	assert_int_equal(th_sock(&t)->tx_len, held);
	assert_memory_equal(th_sock(&t)->tx, pattern, held);
	assert_int_equal(t.e->mem.used, base);
	th_fini(&t);
}

/* The budget refuses a chunk (the header fits): an out-of-order segment
 * is dropped, and a slow socket's overflow closes the window; both recover
 * when memory is there again. */
static void test_rbuf_chunk_refused(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	struct wire_tcp_opts o = th_opts_all();
	th_establish(&t, &o);
	size_t base = t.e->mem.used;
	uint32_t s0 = t.app_nxt;

	t.e->mem.budget = base + 2048; /* a header, no chunk */
	app_seg(&t, s0, 2000, 1000);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_ooo_dropped), 1);
	assert_int_equal(t.e->mem.used, base);
	th_out(&t);

	fake_host_set_tx_space(&t.host, t.sock, 600);
	app_seg(&t, s0, 0, 1000);
	th_out(&t);
	assert_int_equal(t.out[t.nout - 1].p.u.tcp.ack, s0 + 600);
	assert_int_equal(t.out[t.nout - 1].p.u.tcp.window, 0);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_window_closed_memory), 1);
	assert_int_equal(t.e->mem.used, base);

	t.e->mem.budget = 0;
	fake_host_set_tx_space(&t.host, t.sock, SIZE_MAX);
	th_event(&t, CORE_EV_WRITE);
	th_out(&t);
	assert_true(t.out[t.nout - 1].p.u.tcp.window > 0);
	app_seg(&t, s0, 600, 2400);
	assert_int_equal(th_sock(&t)->tx_len, 3000);
	assert_memory_equal(th_sock(&t)->tx, pattern, 3000);
	th_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ooo_many_holes),
	    cmocka_unit_test(test_rbuf_grows_in_steps),
	    cmocka_unit_test(test_rbuf_slow_socket_steps),
	    cmocka_unit_test(test_rbuf_chunk_refused),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
