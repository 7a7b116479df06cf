/* SPDX-License-Identifier: MIT */
/* test_api_input.c - tp_input's contract: backpressure instead of
 * unbounded buffering (engine not started, engine slowed down by a slow
 * output callback), TP_ESTATE once stopped or outside callback mode, and
 * malformed batches refused whole with TP_EINVAL (nothing of the batch is
 * taken: the engine, started afterwards, has seen no packet).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/api_util.h"
#include "tunproxy.h"

#define QUEUE 256 /* the callback-mode input queue (tp.c) */

static void batch_of(uint8_t bufs[][64], const uint8_t **pkts, size_t *lens,
		     size_t n, uint16_t dport)
{
	for (size_t i = 0; i < n; i++) {
		lens[i] =
		    udp4_seq_packet(bufs[i], 40000, dport, 0, (uint32_t)i);
		pkts[i] = bufs[i];
	}
}

struct rx_wait {
	struct tp *tp;
	uint64_t n;
};

static bool rx_reached(void *arg)
{
	struct rx_wait *w = arg;
	return counter(w->tp, TP_CTR_rx_packets) >= w->n;
}

static void test_backpressure_not_started(void **state)
{
	struct sink s;
	sink_init(&s);
	struct tp *tp = api_engine(&s);
	static uint8_t bufs[64][64];
	const uint8_t *pkts[64];
	size_t lens[64];
	batch_of(bufs, pkts, lens, 64, 9);
	/* The queue takes QUEUE packets, then says 0, call after call. */
	int total = 0;
	for (int i = 0; i < 10; i++) {
		int k = tp_input(tp, pkts, lens, 64);
		assert_true(k >= 0 && k <= 64);
		total += k;
	}
	assert_int_equal(total, QUEUE);
	assert_int_equal(tp_input(tp, pkts, lens, 64), 0);
	/* Once the engine runs it drains the queue and takes more. */
	assert_int_equal(tp_start(tp), 0);
	struct rx_wait w = {tp, QUEUE};
	assert_true(wait_for(rx_reached, &w, 5000));
	assert_int_equal(input_all(tp, pkts, lens, 64), 64);
	w.n = QUEUE + 64;
	assert_true(wait_for(rx_reached, &w, 5000));
	tp_destroy(tp);
}

static void test_backpressure_slow_app(void **state)
{
	struct sink s;
	sink_init(&s);
	s.delay_us = 20000; /* each output batch takes the app 20 ms */
	struct echo e;
	echo_start(&e);
	struct tp *tp = api_engine(&s);
	assert_int_equal(tp_start(tp), 0);
	static uint8_t bufs[64][64];
	const uint8_t *pkts[64];
	size_t lens[64];
	batch_of(bufs, pkts, lens, 64, e.port);
	/* Every datagram is echoed, so the engine spends its time in the
	 * slow callback and the input queue fills: tp_input takes fewer
	 * than offered instead of buffering more. */
	uint64_t offered = 0, taken = 0;
	bool short_count = false;
	for (int i = 0; i < 400 && !short_count; i++) {
		int k = tp_input(tp, pkts, lens, 64);
		assert_true(k >= 0 && k <= 64);
		offered += 64;
		taken += (uint64_t)k;
		short_count = k < 64;
		usleep(1000);
	}
	assert_true(short_count);
	assert_true(taken < offered);
	/* What the engine holds is bounded: it has read no more than was
	 * taken, and its memory stays at its idle level plus flows. */
	assert_true(counter(tp, TP_CTR_rx_packets) <= taken);
	assert_true(counter(tp, TP_CTR_mem_used) < (4u << 20));
	pthread_mutex_lock(&s.lock);
	s.delay_us = 0;
	pthread_mutex_unlock(&s.lock);
	tp_destroy(tp);
	echo_stop(&e);
}

static void test_stopped_engine_refuses_input(void **state)
{
	struct sink s;
	sink_init(&s);
	uint8_t pkt[64];
	size_t len = udp4_packet(pkt, 40000, 9, "x", 1);
	const uint8_t *pp = pkt;

	struct tp *tp = api_engine(&s);
	assert_int_equal(tp_start(tp), 0);
	assert_int_equal(tp_input(tp, &pp, &len, 1), 1);
	assert_int_equal(tp_stop(tp), 0);
	assert_int_equal(tp_input(tp, &pp, &len, 1), -TP_ESTATE);
	tp_destroy(tp);

	/* Stopped before it ever ran: the same. */
	tp = api_engine(&s);
	assert_int_equal(tp_stop(tp), 0);
	assert_int_equal(tp_input(tp, &pp, &len, 1), -TP_ESTATE);
	assert_int_equal(tp_start(tp), 0); /* returns at once */
	tp_destroy(tp);
}

static void test_input_needs_callback_mode(void **state)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	struct tp_config cfg;
	tp_config_init(&cfg);
	cfg.tun_fd = sv[0];
	struct tp *tp = NULL;
	assert_int_equal(tp_create(&cfg, &tp), 0);
	uint8_t pkt[64];
	size_t len = udp4_packet(pkt, 40000, 9, "x", 1);
	const uint8_t *pp = pkt;
	assert_int_equal(tp_input(tp, &pp, &len, 1), -TP_ESTATE);
	tp_destroy(tp);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(tp_input(NULL, &pp, &len, 1), -TP_EINVAL);
}

static void test_malformed_batches_refused(void **state)
{
	struct sink s;
	sink_init(&s);
	struct tp *tp = api_engine(&s);
	static uint8_t bufs[3][64];
	const uint8_t *pkts[3];
	size_t lens[3];
	batch_of(bufs, pkts, lens, 3, 9);
	static uint8_t big[1501];
	memcpy(big, bufs[0], lens[0]);
	uint8_t utun[68] = {0, 0, 0, 2}; /* AF_INET header left on */
	memcpy(utun + 4, bufs[1], lens[1]);

	assert_int_equal(tp_input(tp, NULL, lens, 3), -TP_EINVAL);
	assert_int_equal(tp_input(tp, pkts, NULL, 3), -TP_EINVAL);
	assert_int_equal(tp_input(tp, NULL, NULL, 0), 0); /* empty batch */
	const uint8_t *with_null[3] = {pkts[0], NULL, pkts[2]};
	assert_int_equal(tp_input(tp, with_null, lens, 3), -TP_EINVAL);
	size_t zero[3] = {lens[0], 0, lens[2]};
	assert_int_equal(tp_input(tp, pkts, zero, 3), -TP_EINVAL);
	const uint8_t *too_big[3] = {pkts[0], big, pkts[2]};
	size_t big_lens[3] = {lens[0], sizeof(big), lens[2]};
	assert_int_equal(tp_input(tp, too_big, big_lens, 3), -TP_EINVAL);
	const uint8_t *framed[3] = {pkts[0], utun, pkts[2]};
	size_t framed_lens[3] = {lens[0], lens[1] + 4, lens[2]};
	assert_int_equal(tp_input(tp, framed, framed_lens, 3), -TP_EINVAL);
	assert_string_equal(tp_strerror(-TP_EINVAL),
			    "invalid argument or config field");

	/* None of those was taken: a good batch is, and it is all the
	 * engine sees. */
	assert_int_equal(tp_input(tp, pkts, lens, 3), 3);
	assert_int_equal(tp_start(tp), 0);
	struct rx_wait w = {tp, 3};
	assert_true(wait_for(rx_reached, &w, 5000));
	usleep(20000);
	assert_int_equal(counter(tp, TP_CTR_rx_packets), 3);
	tp_destroy(tp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backpressure_not_started),
	    cmocka_unit_test(test_backpressure_slow_app),
	    cmocka_unit_test(test_stopped_engine_refuses_input),
	    cmocka_unit_test(test_input_needs_callback_mode),
	    cmocka_unit_test(test_malformed_batches_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
