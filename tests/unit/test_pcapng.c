/* SPDX-License-Identifier: MIT */
/* test_pcapng.c - the capture's pcapng writer, refereed by tshark.
 *
 * Files are written with src/tools/pcapng.c and read back with `tshark -r`
 * (skipped if tshark is not installed): packet count, each packet's
 * direction flag (frame.packet_flags_direction), length, nanosecond
 * timestamp and drop count must come out as written; a file that was only
 * flushed, never closed (what Ctrl-C or a kill leaves), must read without
 * complaint; many and maximal packets cross the writer's buffer intact.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tools/pcapng.h"

static bool have_tshark(void)
{
	return system("command -v tshark >/dev/null 2>&1") == 0;
}

static int temp_file(char *path)
{
	strcpy(path, "/tmp/tp_test_pcapng.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	return fd;
}

/* A minimal IPv4/UDP (v6 false) or IPv6/UDP packet of len bytes. */
static size_t make_packet(uint8_t *p, size_t len, bool v6, uint8_t fill)
{
	memset(p, fill, len);
	if (!v6) {
		p[0] = 0x45;
		p[1] = 0;
		p[2] = (uint8_t)(len >> 8);
		p[3] = (uint8_t)len;
		p[6] = p[7] = 0;
		p[8] = 64;
		p[9] = 17;
		memcpy(p + 12, (uint8_t[]){10, 0, 0, 8}, 4);
		memcpy(p + 16, (uint8_t[]){203, 0, 113, 10}, 4);
		size_t ul = len - 20;
		p[20] = 0x30, p[21] = 0x39, p[22] = 0x9c, p[23] = 0x40;
		p[24] = (uint8_t)(ul >> 8), p[25] = (uint8_t)ul;
		p[26] = p[27] = 0;
	} else {
		size_t pl = len - 40;
		p[0] = 0x60, p[1] = p[2] = p[3] = 0;
		p[4] = (uint8_t)(pl >> 8), p[5] = (uint8_t)pl;
		p[6] = 17, p[7] = 64;
		memset(p + 8, 0, 32);
		p[8] = 0xfd, p[9] = 0xaa, p[23] = 8;
		p[24] = 0x20, p[25] = 0x01, p[26] = 0x0d, p[27] = 0xb8;
		p[39] = 1;
		p[40] = 0x30, p[41] = 0x39, p[42] = 0x9c, p[43] = 0x40;
		p[44] = (uint8_t)(pl >> 8), p[45] = (uint8_t)pl;
		p[46] = p[47] = 0;
	}
	return len;
}

struct row {
	unsigned dir;
	unsigned len;
	unsigned long long drops;
	char time[40];
	char proto[8];
};

/* Runs tshark on path; fills up to max rows, returns how many were read.
 * *clean is false when tshark complained on stderr or failed. */
static int tshark_rows(const char *path, struct row *rows, int max, bool *clean)
{
	char cmd[512], errpath[64];
	strcpy(errpath, "/tmp/tp_test_pcapng_err.XXXXXX");
	int efd = mkstemp(errpath);
	assert_true(efd >= 0);
	close(efd);
	snprintf(cmd, sizeof(cmd),
		 "tshark -r '%s' -T fields -E separator=, "
		 "-e frame.packet_flags_direction -e frame.len "
		 "-e frame.drop_count -e frame.time_epoch -e _ws.col.Protocol "
		 "2>'%s'",
		 path, errpath);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	char line[256];
	int n = 0;
	while (fgets(line, sizeof(line), f)) {
		if (n >= max) {
			n++;
			continue;
		}
		struct row *r = &rows[n++];
		memset(r, 0, sizeof(*r));
		char *tok[5] = {0};
		/* strtok would merge empty fields: split by hand. */
		char *p = line;
		for (int i = 0; i < 5; i++) {
			tok[i] = p;
			p = strchr(p, ',');
			if (!p)
				break;
			*p++ = 0;
		}
		r->dir = (unsigned)strtoul(tok[0], NULL, 16);
		r->len = tok[1] ? (unsigned)strtoul(tok[1], NULL, 10) : 0;
		r->drops = tok[2] ? strtoull(tok[2], NULL, 10) : 0;
		if (tok[3])
			snprintf(r->time, sizeof(r->time), "%s", tok[3]);
		if (tok[4]) {
			tok[4][strcspn(tok[4], "\n")] = 0;
			snprintf(r->proto, sizeof(r->proto), "%s", tok[4]);
		}
	}
	int st = pclose(f);
	/* tshark warns about running as root; anything else is a problem. */
	char cmd2[256];
	snprintf(cmd2, sizeof(cmd2),
		 "grep -v 'Running as user' '%s' | grep -q .", errpath);
	bool complained = system(cmd2) == 0;
	if (complained) {
		snprintf(cmd2, sizeof(cmd2), "cat '%s' >&2", errpath);
		(void)!system(cmd2);
	}
	unlink(errpath);
	*clean = WIFEXITED(st) && WEXITSTATUS(st) == 0 && !complained;
	return n;
}

static void test_packets_directions_and_times(void **state)
{
	(void)state;
	if (!have_tshark())
		skip();
	char path[64];
	int fd = temp_file(path);
	struct pcapng *w = pcapng_open(fd, "test", "tun", "unit test");
	assert_non_null(w);
	uint8_t pkt[200];
	const enum pcapng_dir dirs[5] = {
	    PCAPNG_DIR_OUTBOUND, PCAPNG_DIR_INBOUND, PCAPNG_DIR_OUTBOUND,
	    PCAPNG_DIR_UNKNOWN, PCAPNG_DIR_INBOUND};
	const size_t lens[5] = {60, 61, 123, 28, 103};
	const uint64_t t0 = 1700000000123456789ull;
	for (int i = 0; i < 5; i++) {
		size_t len =
		    make_packet(pkt, lens[i], i == 2 || i == 4, (uint8_t)i);
		assert_int_equal(pcapng_packet(w, t0 + (uint64_t)i * 1001, pkt,
					       (uint32_t)len, (uint32_t)len,
					       dirs[i], i == 2 ? 3 : 0),
				 0);
	}
	assert_int_equal(pcapng_close(w, t0 + 10000, 8, 3), 0);
	close(fd);

	struct row rows[8];
	bool clean;
	int n = tshark_rows(path, rows, 8, &clean);
	unlink(path);
	assert_true(clean);
	assert_int_equal(n, 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(rows[i].dir, (unsigned)dirs[i]);
		assert_int_equal(rows[i].len, lens[i]);
		assert_int_equal(rows[i].drops, i == 2 ? 3 : 0);
		char want[40];
		uint64_t ts = t0 + (uint64_t)i * 1001;
		snprintf(want, sizeof(want), "%llu.%09llu",
			 (unsigned long long)(ts / 1000000000u),
			 (unsigned long long)(ts % 1000000000u));
		assert_string_equal(rows[i].time, want);
		assert_string_equal(rows[i].proto, "UDP");
	}
}

/* What Ctrl-C or SIGKILL after a flush leaves: no ISB, no close. */
static void test_valid_when_only_flushed(void **state)
{
	(void)state;
	if (!have_tshark())
		skip();
	char path[64];
	int fd = temp_file(path);
	struct pcapng *w = pcapng_open(fd, "test", "tun", "unit test");
	assert_non_null(w);
	assert_int_equal(pcapng_flush(w), 0);

	struct row rows[8];
	bool clean;
	assert_int_equal(tshark_rows(path, rows, 8, &clean), 0);
	assert_true(clean); /* headers alone: a valid, empty capture */

	uint8_t pkt[100];
	for (int i = 0; i < 3; i++) {
		make_packet(pkt, 100, false, (uint8_t)i);
		assert_int_equal(
		    pcapng_packet(w, 1000000000ull * (uint64_t)(i + 1), pkt,
				  100, 100, PCAPNG_DIR_OUTBOUND, 0),
		    0);
	}
	assert_int_equal(pcapng_flush(w), 0);
	assert_int_equal(tshark_rows(path, rows, 8, &clean), 3);
	assert_true(clean);

	/* Queued but not flushed: not in the file yet, which stays valid. */
	assert_int_equal(pcapng_packet(w, 5000000000ull, pkt, 100, 100,
				       PCAPNG_DIR_INBOUND, 0),
			 0);
	assert_int_equal(tshark_rows(path, rows, 8, &clean), 3);
	assert_true(clean);
	assert_int_equal(pcapng_close(w, 6000000000ull, 4, 0), 0);
	close(fd);
	assert_int_equal(tshark_rows(path, rows, 8, &clean), 4);
	assert_true(clean);
	assert_int_equal(rows[3].dir, PCAPNG_DIR_INBOUND);
	unlink(path);
}

/* More data than the writer's buffer, and a maximal packet. */
static void test_many_and_large(void **state)
{
	(void)state;
	if (!have_tshark())
		skip();
	char path[64];
	int fd = temp_file(path);
	struct pcapng *w = pcapng_open(fd, "test", "tun", "unit test");
	assert_non_null(w);
	static uint8_t pkt[65535];
	const int count = 600;
	for (int i = 0; i < count; i++) {
		size_t len = i == 300 ? 65535 : 1400 + (size_t)(i % 3);
		make_packet(pkt, len, i % 2, (uint8_t)i);
		assert_int_equal(pcapng_packet(w, 1000 + (uint64_t)i, pkt,
					       (uint32_t)len, (uint32_t)len,
					       i % 2 ? PCAPNG_DIR_INBOUND
						     : PCAPNG_DIR_OUTBOUND,
					       0),
				 0);
	}
	assert_int_equal(pcapng_close(w, 2000, count, 0), 0);
	close(fd);
	static struct row rows[700];
	bool clean;
	int n = tshark_rows(path, rows, 700, &clean);
	unlink(path);
	assert_true(clean);
	assert_int_equal(n, count);
	for (int i = 0; i < count; i++) {
		assert_int_equal(rows[i].dir, i % 2 ? 1u : 2u);
		assert_int_equal(rows[i].len,
				 i == 300 ? 65535u : 1400u + (unsigned)(i % 3));
	}
}

/* A write error (the reader of a pipe went away) is returned. */
static void test_write_error_returned(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	struct pcapng *w = pcapng_open(p[1], "test", "tun", "unit test");
	assert_non_null(w);
	assert_true(pcapng_flush(w) < 0);
	assert_true(pcapng_close(w, 0, 0, 0) < 0);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_packets_directions_and_times),
	    cmocka_unit_test(test_valid_when_only_flushed),
	    cmocka_unit_test(test_many_and_large),
	    cmocka_unit_test(test_write_error_returned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
