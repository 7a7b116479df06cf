/* SPDX-License-Identifier: MIT */
/* test_pcap_tap.c - `--pcap` on the engine's tap (src/tools/pcap_tap.c):
 * records reach the file at the end of each batch (TP_TAP_FLUSH), not
 * later, so a capture is readable while it runs and after a kill; each
 * record carries the direction (outbound: from the app, inbound: to the
 * app); closing adds the statistics block. The bytes are checked against
 * the pcapng layout (the writer itself is refereed by tshark in
 * test_pcapng.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tools/pcap_tap.h"
#include "tunproxy.h"

static long file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return (long)st.st_size;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* The epb_flags direction of the Enhanced Packet Block at b (an EPB of a
 * packet of len bytes: 28 bytes of header, the padded packet, then the
 * options, epb_flags (code 2) first). */
static uint32_t epb_dir(const uint8_t *b, size_t len)
{
	assert_int_equal(rd32(b), 6); /* EPB */
	const uint8_t *opt = b + 28 + ((len + 3) & ~(size_t)3);
	assert_int_equal(opt[0] | opt[1] << 8, 2);
	return rd32(opt + 4) & 3;
}

static void test_written_per_batch(void **state)
{
	(void)state;
	char path[] = "/tmp/tp_test_pcap_tap.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct pcap_tap *t = pcap_tap_open(path, "test");
	assert_non_null(t);
	struct tp_config cfg;
	tp_config_init(&cfg);
	pcap_tap_attach(t, &cfg);
	assert_non_null(cfg.tap);
	long headers = file_size(path);
	assert_true(headers > 0); /* section and interface, at once */

	uint8_t pkt[60] = {0x45};
	cfg.tap(cfg.tap_ctx, pkt, sizeof(pkt), TP_TAP_FROM_APP);
	cfg.tap(cfg.tap_ctx, pkt, 40, TP_TAP_TO_APP);
	/* Buffered within the batch... */
	assert_int_equal(file_size(path), headers);
	/* ...and in the file once the batch ends. */
	cfg.tap(cfg.tap_ctx, NULL, 0, TP_TAP_FLUSH);
	long after = file_size(path);
	assert_true(after > headers);
	/* An empty batch writes nothing. */
	cfg.tap(cfg.tap_ctx, NULL, 0, TP_TAP_FLUSH);
	assert_int_equal(file_size(path), after);

	uint8_t buf[4096];
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal((long)n, after);
	const uint8_t *b = buf + headers;
	assert_int_equal(epb_dir(b, 60), 2); /* outbound: from the app */
	assert_int_equal(rd32(b + 20), 60);  /* captured length */
	b += rd32(b + 4);
	assert_int_equal(epb_dir(b, 40), 1); /* inbound: to the app */
	b += rd32(b + 4);
	assert_int_equal(b - buf, after);

	pcap_tap_close(t);
	long closed = file_size(path);
	assert_true(closed > after);
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(rd32(buf + after), 5); /* ISB */
	unlink(path);
}

static void test_open_fails_cleanly(void **state)
{
	(void)state;
	assert_null(pcap_tap_open("/nonexistent-dir/x.pcapng", "test"));
	pcap_tap_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_written_per_batch),
	    cmocka_unit_test(test_open_fails_cleanly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
