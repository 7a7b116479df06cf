/* SPDX-License-Identifier: MIT */
/* test_impair.c - the impairment stage (src/tools/impair.c) with a fake
 * clock: spec parsing; the same seed gives the same losses, duplicates,
 * reorderings and delays (replayable); rates come out near the asked
 * percentages; delay and jitter bounds hold; reordering reorders; the
 * limit drops and counts instead of growing; oversize packets bypass;
 * corruption flips exactly one bit; taken packets stay valid across a
 * push. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tools/impair.h"

static struct impair *make(const char *spec, uint32_t slot)
{
	struct impair_spec s;
	char err[128];
	impair_spec_init(&s);
	assert_int_equal(impair_spec_parse(spec, &s, err, sizeof(err)), 0);
	struct impair *im = impair_create(&s, slot, 1);
	assert_non_null(im);
	return im;
}

static void test_spec_parse(void **state)
{
	(void)state;
	struct impair_spec s;
	char err[128];
	impair_spec_init(&s);
	assert_false(impair_spec_active(&s));
	assert_int_equal(impair_spec_parse("loss=2%,reorder=10%,dup=1%,"
					   "delay=5ms,jitter=500us,hold=2ms,"
					   "corrupt=0.5%,limit=64,seed=42",
					   &s, err, sizeof(err)),
			 0);
	assert_int_equal(s.loss_ppm, 20000);
	assert_int_equal(s.reorder_ppm, 100000);
	assert_int_equal(s.dup_ppm, 10000);
	assert_int_equal(s.corrupt_ppm, 5000);
	assert_int_equal(s.delay_us, 5000);
	assert_int_equal(s.jitter_us, 500);
	assert_int_equal(s.hold_us, 2000);
	assert_int_equal(s.limit, 64);
	assert_int_equal(s.seed, 42);
	assert_true(impair_spec_active(&s));
	char text[256];
	impair_spec_format(&s, text, sizeof(text));
	assert_non_null(strstr(text, "loss=2%"));
	assert_non_null(strstr(text, "seed=42"));
	/* a bare delay is milliseconds, a bare rate is a percentage */
	assert_int_equal(
	    impair_spec_parse("delay=3,loss=1.5", &s, err, sizeof(err)), 0);
	assert_int_equal(s.delay_us, 3000);
	assert_int_equal(s.loss_ppm, 15000);
	const char *bad[] = {"loss=101%", "loss=-1%",	    "nonsense=1",
			     "delay",	  "delay=5parsecs", "limit=0",
			     "dup=x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(
		    impair_spec_parse(bad[i], &s, err, sizeof(err)), -1);
		assert_true(err[0] != 0);
	}
}

/* Runs n packets (4-byte sequence numbers, one every 100 us) through a
 * stage; writes the released sequence and release times. */
static size_t run(struct impair *im, uint32_t n, uint32_t *seqs,
		  uint64_t *times, size_t cap)
{
	size_t out = 0;
	struct impair_pkt p[64];
	uint64_t now = 0;
	for (uint32_t i = 0; i < n + 1000; i++, now += 100) {
		if (i < n)
			(void)impair_push(im, (const uint8_t *)&i, 4, now);
		size_t k;
		while ((k = impair_take(im, now, p, 64)) > 0) {
			for (size_t j = 0; j < k && out < cap; j++, out++) {
				memcpy(&seqs[out], p[j].data, 4);
				times[out] = now;
			}
		}
	}
	return out;
}

static void test_deterministic(void **state)
{
	(void)state;
	const char *spec = "loss=5%,dup=5%,reorder=20%,delay=1ms,jitter=1ms,"
			   "seed=9";
	static uint32_t s1[30000], s2[30000], s3[30000];
	static uint64_t t1[30000], t2[30000], t3[30000];
	struct impair *a = make(spec, 64), *b = make(spec, 64);
	size_t n1 = run(a, 20000, s1, t1, 30000);
	size_t n2 = run(b, 20000, s2, t2, 30000);
	assert_int_equal(n1, n2);
	assert_memory_equal(s1, s2, n1 * sizeof(s1[0]));
	assert_memory_equal(t1, t2, n1 * sizeof(t1[0]));
	assert_memory_equal(impair_get_stats(a), impair_get_stats(b),
			    sizeof(struct impair_stats));
	impair_destroy(a);
	impair_destroy(b);
	struct impair *c = make("loss=5%,dup=5%,reorder=20%,delay=1ms,"
				"jitter=1ms,seed=10",
				64);
	size_t n3 = run(c, 20000, s3, t3, 30000);
	assert_true(n3 != n1 || memcmp(s1, s3, n1 * sizeof(s1[0])) != 0);
	impair_destroy(c);
}

static void test_rates(void **state)
{
	(void)state;
	struct impair *im = make("loss=2%,dup=1%,reorder=10%,seed=1", 64);
	static uint32_t seqs[120000];
	static uint64_t times[120000];
	size_t n = run(im, 100000, seqs, times, 120000);
	const struct impair_stats *st = impair_get_stats(im);
	assert_int_equal(st->in, 100000);
	assert_in_range(st->lost, 1700, 2300);
	assert_in_range(st->duplicated, 800, 1200);
	assert_in_range(st->reordered, 9400, 10600);
	assert_int_equal(st->out, n);
	assert_int_equal(n, 100000 - st->lost + st->duplicated);
	assert_int_equal(st->queue_full, 0);
	/* reordered: some packet comes out after a later one */
	size_t inversions = 0;
	for (size_t i = 1; i < n; i++)
		inversions += seqs[i] < seqs[i - 1];
	assert_true(inversions > 5000);
	impair_destroy(im);
}

static void test_delay_and_jitter(void **state)
{
	(void)state;
	struct impair *im = make("delay=5ms", 64);
	struct impair_pkt p[4];
	uint32_t v = 7;
	assert_int_equal(impair_push(im, (uint8_t *)&v, 4, 1000),
			 IMPAIR_QUEUED);
	assert_int_equal(impair_next_due(im), 6000);
	assert_int_equal(impair_take(im, 5999, p, 4), 0);
	assert_int_equal(impair_take(im, 6000, p, 4), 1);
	assert_int_equal(impair_next_due(im), UINT64_MAX);
	impair_destroy(im);

	im = make("delay=10ms,jitter=3ms,seed=5", 64);
	uint64_t lo = UINT64_MAX, hi = 0;
	for (uint32_t i = 0; i < 2000; i++) {
		uint64_t now = 1000000 + (uint64_t)i * 20000;
		assert_int_equal(impair_push(im, (uint8_t *)&i, 4, now),
				 IMPAIR_QUEUED);
		uint64_t d = impair_next_due(im) - now;
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		assert_int_equal(impair_take(im, now + 20000, p, 4), 1);
	}
	assert_true(lo >= 7000 && lo < 7300);
	assert_true(hi <= 13000 && hi > 12700);
	impair_destroy(im);
}

static void test_limit_and_oversize(void **state)
{
	(void)state;
	struct impair *im = make("delay=1s,limit=10", 100);
	uint8_t big[200] = {0}, small[10] = {0};
	int queued = 0, dropped = 0;
	for (int i = 0; i < 15; i++) {
		enum impair_verdict v = impair_push(im, small, 10, 0);
		queued += v == IMPAIR_QUEUED;
		dropped += v == IMPAIR_DROPPED;
	}
	assert_int_equal(queued, 10);
	assert_int_equal(dropped, 5);
	assert_int_equal(impair_get_stats(im)->queue_full, 5);
	assert_int_equal(impair_push(im, big, 200, 0), IMPAIR_BYPASS);
	assert_int_equal(impair_get_stats(im)->oversize, 1);
	impair_destroy(im);
}

static void test_corrupt_one_bit(void **state)
{
	(void)state;
	struct impair *im = make("corrupt=100%,seed=2", 64);
	uint8_t pkt[40];
	for (int i = 0; i < 40; i++)
		pkt[i] = (uint8_t)i;
	for (int round = 0; round < 50; round++) {
		assert_int_equal(impair_push(im, pkt, 40, 0), IMPAIR_QUEUED);
		struct impair_pkt p;
		assert_int_equal(impair_take(im, 0, &p, 1), 1);
		int bits = 0;
		for (int i = 0; i < 40; i++)
			bits += __builtin_popcount(p.data[i] ^ pkt[i]);
		assert_int_equal(bits, 1);
	}
	impair_destroy(im);
}

/* Taken packets stay intact while new ones are pushed. */
static void test_taken_stay_valid(void **state)
{
	(void)state;
	struct impair *im = make("dup=100%,limit=4", 64);
	uint8_t a[8] = "AAAAAAA", b[8] = "BBBBBBB";
	assert_int_equal(impair_push(im, a, 8, 0), IMPAIR_QUEUED);
	assert_int_equal(impair_push(im, a, 8, 0), IMPAIR_QUEUED);
	struct impair_pkt p[4];
	assert_int_equal(impair_take(im, 0, p, 4), 4);
	/* all four slots are lent: pushing must not reuse them */
	assert_int_equal(impair_push(im, b, 8, 0), IMPAIR_DROPPED);
	for (int i = 0; i < 4; i++)
		assert_memory_equal(p[i].data, a, 8);
	assert_int_equal(impair_take(im, 0, p, 4), 0); /* releases them */
	assert_int_equal(impair_push(im, b, 8, 0), IMPAIR_QUEUED);
	assert_int_equal(impair_take(im, 0, p, 4), 2);
	assert_memory_equal(p[0].data, b, 8);
	impair_destroy(im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spec_parse),
	    cmocka_unit_test(test_deterministic),
	    cmocka_unit_test(test_rates),
	    cmocka_unit_test(test_delay_and_jitter),
	    cmocka_unit_test(test_limit_and_oversize),
	    cmocka_unit_test(test_corrupt_one_bit),
	    cmocka_unit_test(test_taken_stay_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
