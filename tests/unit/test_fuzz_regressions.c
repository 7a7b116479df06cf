/* test_fuzz_regressions.c - inputs with which the fuzzers found bugs,
 * replayed through the harnesses that found them (fuzz/harness_*.c are
 * compiled into this test), and the committed seed corpus of every target.
 *
 * A harness aborts with a message on stderr when an invariant breaks (see
 * fuzz/harness.h); memory errors show in the ASan build of the tests. Each
 * regression input is the minimised crash, with a note of what it hit.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

/* fuzz_router: a UDP flow stopped on a full transmit ring (so its slot is
 * on the tx-resume list), timed out and was swept while the ring was still
 * full; the next new flow (a SYN) was given slot high_water++, one past the
 * table of max_flows = 1 slot (flow.c flow_alloc: heap overflow). */
static const uint8_t router_pending_slot[] = {
    0x3f, 0x00, 0x00, 0x0f, 0x05, 0xdc, 0x14, 0x00, 0xff, 0xff,
    0x00, 0xff, 0xff, 0xff, 0xff, 0x44, 0xff, 0xff, 0x01};

static void test_router_pending_slot(void **state)
{
	(void)state;
	fz_router_run(router_pending_slot, sizeof(router_pending_slot));
}

/* Runs every file of fuzz/corpus/<target> through run; returns how many. */
static int replay_corpus(const char *target,
			 void (*run)(const uint8_t *, size_t))
{
	char dir[1024], path[2048];
	snprintf(dir, sizeof(dir), "%s/fuzz/corpus/%s", TP_SOURCE_DIR, target);
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		FILE *f = fopen(path, "rb");
		assert_non_null(f);
		uint8_t *buf = malloc(1 << 20);
		size_t len = fread(buf, 1, 1 << 20, f);
		fclose(f);
		run(buf, len);
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

static void test_corpus(void **state)
{
	(void)state;
	assert_true(replay_corpus("fuzz_packet_parse", fz_packet_parse_run) >
		    0);
	assert_true(replay_corpus("fuzz_tcp_opts", fz_tcp_opts_run) > 0);
	assert_true(replay_corpus("fuzz_reasm", fz_reasm_run) > 0);
	assert_true(replay_corpus("fuzz_router", fz_router_run) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_router_pending_slot),
	    cmocka_unit_test(test_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
