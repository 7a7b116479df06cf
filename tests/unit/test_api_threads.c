/* SPDX-License-Identifier: MIT */
/* test_api_threads.c - the public API's thread rules, with real traffic:
 * UDP datagrams handed in with tp_input() reach an echo server on a
 * loopback socket of this process and the echoes come back through the
 * output callback (callback mode, no root, no TUN).
 *   - tp_stop from another thread while a feeder thread pushes traffic
 *     (engine on tp_start's thread, and on a tp_run thread): the engine
 *     stops, the feeder is told TP_ESTATE, nothing leaks;
 *   - tp_input from several threads at once: every packet accepted is
 *     processed, each thread's packets stay in order;
 *   - two engines at once, each with its own traffic, counters and
 *     lifetime;
 *   - a second driver (tp_run, tp_process, tp_start) is refused;
 *   - tp_set_log_level from another thread takes effect.
 * Run under ThreadSanitizer by scripts/test.sh (build-tsan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/api_util.h"
#include "tunproxy.h"

struct feeder {
	struct tp *tp;
	uint16_t dport;
	uint16_t sport;
	uint8_t stream;
	uint32_t count; /* packets to send; 0: until refused */
	uint32_t sent;	/* accepted */
	int last_rc;	/* the tp_input result that ended the loop */
	pthread_t thread;
};

static void *feed(void *arg)
{
	struct feeder *f = arg;
	uint8_t bufs[16][64];
	const uint8_t *pkts[16];
	size_t lens[16];
	f->last_rc = 0;
	while (f->count == 0 || f->sent < f->count) {
		size_t n = 16;
		if (f->count && f->count - f->sent < n)
			n = f->count - f->sent;
		for (size_t i = 0; i < n; i++) {
			lens[i] =
			    udp4_seq_packet(bufs[i], f->sport, f->dport,
					    f->stream, f->sent + (uint32_t)i);
			pkts[i] = bufs[i];
		}
		int k = tp_input(f->tp, pkts, lens, n);
		if (k < 0) {
			f->last_rc = k;
			break;
		}
		__atomic_store_n(&f->sent, f->sent + (uint32_t)k,
				 __ATOMIC_RELEASE);
		if ((size_t)k < n)
			usleep(200); /* backpressure: let the engine run */
	}
	return NULL;
}

static void feeder_start(struct feeder *f, struct tp *tp, uint16_t dport,
			 uint8_t stream, uint32_t count)
{
	memset(f, 0, sizeof(*f));
	f->tp = tp;
	f->dport = dport;
	f->sport = (uint16_t)(40000 + stream);
	f->stream = stream;
	f->count = count;
	assert_int_equal(pthread_create(&f->thread, NULL, feed, f), 0);
}

struct sink_at_least {
	struct sink *s;
	uint64_t n;
};

static bool sink_reached(void *arg)
{
	struct sink_at_least *w = arg;
	return sink_pkts(w->s) >= w->n;
}

static void *run_engine(void *arg)
{
	struct tp *tp = arg;
	intptr_t rc = tp_run(tp);
	return (void *)rc;
}

static void stop_while_traffic(bool own_thread)
{
	int fds0 = open_fds();
	struct sink s;
	sink_init(&s);
	struct echo e;
	echo_start(&e);
	struct tp *tp = api_engine(&s);
	pthread_t runner;
	if (own_thread)
		assert_int_equal(tp_start(tp), 0);
	else
		assert_int_equal(pthread_create(&runner, NULL, run_engine, tp),
				 0);
	struct feeder f[2];
	feeder_start(&f[0], tp, e.port, 0, 0);
	feeder_start(&f[1], tp, e.port, 1, 0);
	/* Traffic flows both ways before the stop. */
	struct sink_at_least w = {&s, 200};
	assert_true(wait_for(sink_reached, &w, 10000));
	/* Both feeders got packets in (on a loaded machine one thread may
	 * not have run yet when the other's packets already came back). */
	for (int i = 0; i < 2; i++)
		for (int ms = 0; ms < 10000 &&
				 !__atomic_load_n(&f[i].sent, __ATOMIC_ACQUIRE);
		     ms++)
			usleep(1000);
	assert_int_equal(tp_stop(tp), 0); /* from the test's thread */
	for (int i = 0; i < 2; i++) {
		pthread_join(f[i].thread, NULL);
		assert_int_equal(f[i].last_rc, -TP_ESTATE);
		assert_true(f[i].sent > 0);
	}
	if (!own_thread) {
		void *rc;
		pthread_join(runner, &rc);
		assert_int_equal((intptr_t)rc, 0);
	}
	assert_int_equal(tp_status(tp), 0);
	assert_int_equal(tp_stop(tp), 0); /* idempotent */
	tp_destroy(tp);
	echo_stop(&e);
	assert_int_equal(s.bad_family, 0);
	assert_int_equal(open_fds(), fds0);
}

static void test_stop_from_other_thread_tp_start(void **state)
{
	stop_while_traffic(true);
}

static void test_stop_from_other_thread_tp_run(void **state)
{
	stop_while_traffic(false);
}

struct engine_done {
	struct tp *tp;
	uint64_t want;
};

static bool all_sent_to_host(void *arg)
{
	struct engine_done *d = arg;
	return counter(d->tp, TP_CTR_udp_tx_datagrams) >= d->want;
}

struct echo_done {
	struct echo *e;
	uint64_t want;
};

static bool echo_got(void *arg)
{
	struct echo_done *d = arg;
	return __atomic_load_n(&d->e->datagrams, __ATOMIC_RELAXED) >= d->want;
}

#define NFEED	 4
#define PER_FEED 1500

static void test_input_from_many_threads(void **state)
{
	struct sink s;
	sink_init(&s);
	struct echo e;
	echo_start(&e);
	struct tp *tp = api_engine(&s);
	assert_int_equal(tp_start(tp), 0);
	struct feeder f[NFEED];
	for (int i = 0; i < NFEED; i++)
		feeder_start(&f[i], tp, e.port, (uint8_t)i, PER_FEED);
	for (int i = 0; i < NFEED; i++) {
		pthread_join(f[i].thread, NULL);
		assert_int_equal(f[i].last_rc, 0);
		assert_int_equal(f[i].sent, PER_FEED);
	}
	/* Every accepted packet was processed and sent to the host... */
	struct engine_done d = {tp, NFEED * PER_FEED};
	assert_true(wait_for(all_sent_to_host, &d, 20000));
	assert_int_equal(counter(tp, TP_CTR_rx_packets), NFEED * PER_FEED);
	assert_int_equal(counter(tp, TP_CTR_udp_tx_datagrams),
			 NFEED * PER_FEED);
	assert_int_equal(counter(tp, TP_CTR_udp_flows_open), NFEED);
	/* ...and arrived, each thread's in the order it was offered. */
	struct echo_done ed = {&e, NFEED * PER_FEED};
	assert_true(wait_for(echo_got, &ed, 20000));
	assert_int_equal(__atomic_load_n(&e.out_of_order, __ATOMIC_RELAXED), 0);
	tp_destroy(tp);
	echo_stop(&e);
}

static void test_two_engines_with_traffic(void **state)
{
	struct sink sa, sb;
	sink_init(&sa);
	sink_init(&sb);
	sa.expect_dport = 40000; /* feeder stream 0 */
	sb.expect_dport = 40001; /* feeder stream 1 */
	struct echo e;
	echo_start(&e);
	struct tp *a = api_engine(&sa), *b = api_engine(&sb);
	assert_int_equal(tp_start(a), 0);
	assert_int_equal(tp_start(b), 0);
	struct feeder fa, fb;
	feeder_start(&fa, a, e.port, 0, 300);
	feeder_start(&fb, b, e.port, 1, 500);
	pthread_join(fa.thread, NULL);
	pthread_join(fb.thread, NULL);
	struct engine_done da = {a, 300}, db = {b, 500};
	assert_true(wait_for(all_sent_to_host, &da, 10000));
	assert_true(wait_for(all_sent_to_host, &db, 10000));
	/* Each engine counted its own packets only... */
	assert_int_equal(counter(a, TP_CTR_rx_packets), 300);
	assert_int_equal(counter(b, TP_CTR_rx_packets), 500);
	/* ...and each got echoes for its own flow only (a UDP echo may be
	 * lost in a full socket buffer under load: count, not equality). */
	struct sink_at_least wa = {&sa, 1}, wb = {&sb, 1};
	assert_true(wait_for(sink_reached, &wa, 10000));
	assert_true(wait_for(sink_reached, &wb, 10000));
	usleep(50000);
	assert_true(sink_pkts(&sa) <= 300);
	assert_true(sink_pkts(&sb) <= 500);
	/* One engine goes; the other keeps working. */
	tp_destroy(a);
	uint64_t before = sink_pkts(&sb);
	feeder_start(&fb, b, e.port, 1, 100); /* the same flow again */
	pthread_join(fb.thread, NULL);
	struct sink_at_least wb2 = {&sb, before + 1};
	assert_true(wait_for(sink_reached, &wb2, 10000));
	struct engine_done db2 = {b, 600};
	assert_true(wait_for(all_sent_to_host, &db2, 10000));
	assert_int_equal(counter(b, TP_CTR_rx_packets), 600);
	tp_destroy(b);
	echo_stop(&e);
	assert_int_equal(sa.wrong_dport, 0);
	assert_int_equal(sb.wrong_dport, 0);
	assert_int_equal(sa.bad_family + sb.bad_family, 0);
}

struct refuse {
	struct tp *tp;
};

static bool process_refused(void *arg)
{
	struct refuse *r = arg;
	return tp_process(r->tp) == -TP_ESTATE;
}

static void test_second_driver_refused(void **state)
{
	struct sink s;
	sink_init(&s);
	struct tp *tp = api_engine(&s);
	assert_int_equal(tp_start(tp), 0);
	assert_int_equal(tp_start(tp), -TP_ESTATE);
	assert_int_equal(tp_run(tp), -TP_ESTATE);
	assert_int_equal(tp_process(tp), -TP_ESTATE);
	tp_destroy(tp);

	/* tp_run on a thread: the app's run loop may not drive it too. */
	tp = api_engine(&s);
	pthread_t runner;
	assert_int_equal(pthread_create(&runner, NULL, run_engine, tp), 0);
	struct refuse r = {tp};
	assert_true(wait_for(process_refused, &r, 5000));
	assert_int_equal(tp_start(tp), -TP_ESTATE);
	tp_stop(tp);
	void *rc;
	pthread_join(runner, &rc);
	assert_int_equal((intptr_t)rc, 0);
	/* Stopped: the loop returns at once, and driving is free again. */
	assert_int_equal(tp_run(tp), 0);
	assert_int_equal(tp_process(tp), 0);
	tp_destroy(tp);
}

struct log_count {
	pthread_mutex_t lock;
	int lines;
};

static void count_log(void *ctx, enum tp_log_level level, const char *msg)
{
	struct log_count *c = ctx;
	pthread_mutex_lock(&c->lock);
	c->lines++;
	pthread_mutex_unlock(&c->lock);
}

static bool logged(void *arg)
{
	struct log_count *c = arg;
	pthread_mutex_lock(&c->lock);
	int n = c->lines;
	pthread_mutex_unlock(&c->lock);
	return n > 0;
}

struct rx_at_least {
	struct tp *tp;
	uint64_t n;
};

static bool rx_reached(void *arg)
{
	struct rx_at_least *r = arg;
	return counter(r->tp, TP_CTR_rx_dropped_malformed) >= r->n;
}

static void test_log_level_from_other_thread(void **state)
{
	struct sink s;
	sink_init(&s);
	struct log_count lc = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct tp_config cfg;
	api_config(&cfg, &s);
	cfg.log = count_log;
	cfg.log_ctx = &lc;
	cfg.log_level = TP_LOG_ERROR;
	struct tp *tp = NULL;
	assert_int_equal(tp_create(&cfg, &tp), 0);
	assert_int_equal(tp_start(tp), 0);
	/* A malformed packet (bad UDP checksum) is logged at INFO: not at
	 * ERROR, the configured level... */
	uint8_t pkt[64];
	size_t len = udp4_packet(pkt, 40000, 9, "x", 1);
	pkt[len - 1] ^= 0xff;
	const uint8_t *pp = pkt;
	assert_int_equal(tp_input(tp, &pp, &len, 1), 1);
	struct rx_at_least r = {tp, 1};
	assert_true(wait_for(rx_reached, &r, 5000));
	assert_false(logged(&lc));
	/* ...but after tp_set_log_level(INFO) from this thread it is. */
	assert_int_equal(tp_set_log_level(tp, TP_LOG_INFO), 0);
	assert_int_equal(tp_set_log_level(tp, (enum tp_log_level)9),
			 -TP_EINVAL);
	assert_int_equal(tp_set_log_level(NULL, TP_LOG_INFO), -TP_EINVAL);
	usleep(20000);
	assert_int_equal(tp_input(tp, &pp, &len, 1), 1);
	assert_true(wait_for(logged, &lc, 5000));
	tp_destroy(tp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stop_from_other_thread_tp_start),
	    cmocka_unit_test(test_stop_from_other_thread_tp_run),
	    cmocka_unit_test(test_input_from_many_threads),
	    cmocka_unit_test(test_two_engines_with_traffic),
	    cmocka_unit_test(test_second_driver_refused),
	    cmocka_unit_test(test_log_level_from_other_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
