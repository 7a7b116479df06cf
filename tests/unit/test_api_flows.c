/* SPDX-License-Identifier: MIT */
/* test_api_flows.c - tp_flows and the flow_end callback through the public
 * API: served at once when nobody drives the engine, by the engine's
 * thread for a caller on another thread (tp_start), and at once from a
 * callback on the driving thread (no deadlock); UDP flows with their byte
 * counts; a short buffer gets the count and nothing past it; every flow
 * is reported to flow_end when the engine shuts down. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "support/api_util.h"
#include "tunproxy.h"

struct ctx {
	struct sink sink;
	struct tp *tp;
	int from_callback; /* tp_flows's result inside the output callback */
	int called;
	pthread_mutex_t lock;
	int ended, ended_shutdown;
	uint64_t ended_bytes_to_app;
	int block, in_cb; /* atomics: hold the driving thread in output */
};

static void output(void *arg, const uint8_t *const *pkts, const size_t *lens,
		   const uint8_t *families, size_t n)
{
	struct ctx *c = arg;
	sink_output(&c->sink, pkts, lens, families, n);
	if (__atomic_load_n(&c->block, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&c->in_cb, 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&c->block, __ATOMIC_ACQUIRE))
			usleep(1000);
	}
	if (!__atomic_load_n(&c->called, __ATOMIC_ACQUIRE) && c->tp) {
		struct tp_flow_info fi[8];
		/* The driving thread asks: served at once, not waited for. */
		int r = tp_flows(c->tp, fi, 8, sizeof(fi[0]), 10000);
		__atomic_store_n(&c->from_callback, r, __ATOMIC_RELEASE);
		__atomic_store_n(&c->called, 1, __ATOMIC_RELEASE);
	}
}

static void flow_end(void *arg, const struct tp_flow_info *fi)
{
	struct ctx *c = arg;
	pthread_mutex_lock(&c->lock);
	c->ended++;
	if (fi->end == TP_END_SHUTDOWN) {
		c->ended_shutdown++;
		c->ended_bytes_to_app += fi->bytes_to_app;
	}
	pthread_mutex_unlock(&c->lock);
}

static bool got_replies(void *arg)
{
	struct ctx *c = arg;
	return sink_pkts(&c->sink) >= 3;
}

static bool in_callback(void *arg)
{
	struct ctx *c = arg;
	return __atomic_load_n(&c->in_cb, __ATOMIC_ACQUIRE);
}

static void test_flows_threads(void **state)
{
	(void)state;
	struct ctx c;
	memset(&c, 0, sizeof(c));
	sink_init(&c.sink);
	pthread_mutex_init(&c.lock, NULL);
	struct tp_config cfg;
	api_config(&cfg, &c.sink);
	cfg.output = output;
	cfg.output_ctx = &c;
	cfg.flow_end = flow_end;
	cfg.flow_end_ctx = &c;
	struct tp *tp;
	assert_int_equal(tp_create(&cfg, &tp), 0);

	struct tp_flow_info fi[4];
	/* Not driven yet: served on this thread at once. */
	assert_int_equal(tp_flows(tp, fi, 4, sizeof(fi[0]), 0), 0);
	assert_int_equal(tp_flows(NULL, fi, 4, sizeof(fi[0]), 0), -TP_EINVAL);
	assert_int_equal(tp_flows(tp, NULL, 4, sizeof(fi[0]), 0), -TP_EINVAL);
	assert_int_equal(tp_flows(tp, fi, 4, 8, 0), -TP_EINVAL);

	c.tp = tp;
	struct echo echo;
	echo_start(&echo);
	assert_int_equal(tp_start(tp), 0);
	uint8_t pkt[3][64];
	const uint8_t *pp[3];
	size_t len[3];
	for (int i = 0; i < 3; i++) {
		len[i] = udp4_packet(pkt[i], (uint16_t)(40000 + i), echo.port,
				     "0123456789", 10);
		pp[i] = pkt[i];
	}
	assert_true(input_all(tp, pp, len, 3) >= 0);
	assert_true(wait_for(got_replies, &c, 5000));
	assert_int_equal(
	    __atomic_load_n(&c.from_callback, __ATOMIC_ACQUIRE) >= 1, 1);

	/* From this thread while tp_start's thread drives: the engine's
	 * thread fills the buffer. */
	memset(fi, 0xa5, sizeof(fi));
	int n = tp_flows(tp, fi, 4, sizeof(fi[0]), 2000);
	assert_int_equal(n, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fi[i].proto, 17);
		assert_int_equal(fi[i].family, 4);
		assert_int_equal(fi[i].dst_port, echo.port);
		assert_int_equal(fi[i].bytes_from_app, 10);
		assert_int_equal(fi[i].bytes_to_app, 10);
		assert_int_equal(fi[i].packets_from_app, 1);
		assert_int_equal(fi[i].packets_to_app, 1);
		assert_int_equal(fi[i].end, TP_END_NONE);
		assert_int_equal(fi[i].app_side.valid, 0);
	}
	/* A buffer of one: the count of all, and the next entry untouched. */
	memset(fi, 0xa5, sizeof(fi));
	assert_int_equal(tp_flows(tp, fi, 1, sizeof(fi[0]), 2000), 3);
	assert_int_equal(fi[1].id, 0xa5a5a5a5a5a5a5a5ull);

	/* The driving thread held in a callback: the caller gives up after
	 * its timeout, and its buffer is never written afterwards. */
	__atomic_store_n(&c.block, 1, __ATOMIC_RELEASE);
	len[0] = udp4_packet(pkt[0], 40000, echo.port, "x", 1);
	assert_true(input_all(tp, pp, len, 1) >= 0);
	assert_true(wait_for(in_callback, &c, 5000));
	memset(fi, 0xa5, sizeof(fi));
	assert_int_equal(tp_flows(tp, fi, 4, sizeof(fi[0]), 50), -TP_EAGAIN);
	__atomic_store_n(&c.block, 0, __ATOMIC_RELEASE);
	assert_int_equal(tp_flows(tp, NULL, 0, sizeof(fi[0]), 2000), 3);
	assert_int_equal(fi[0].id, 0xa5a5a5a5a5a5a5a5ull);

	tp_stop(tp);
	tp_destroy(tp);
	echo_stop(&echo);
	/* Shutdown ends every flow through the callback. */
	assert_int_equal(c.ended, 3);
	assert_int_equal(c.ended_shutdown, 3);
	assert_int_equal(c.ended_bytes_to_app, 31);
	pthread_mutex_destroy(&c.lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flows_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
