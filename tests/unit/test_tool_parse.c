/* SPDX-License-Identifier: MIT */
/* test_tool_parse.c - the one number parser of the CLI and the tools
 * (src/tools/tool_util.c; main.c's options go through it too):
 *   - signs and blanks are refused everywhere: " -1" used to come out of
 *     tool_parse_size as 2^64 - 1 (strtoull skips the blank and negates),
 *     which `tunproxy capture -c " -1"` took as a packet limit;
 *   - overflow of the digits, of the suffix multiplication and of max;
 *   - K/M/G suffixes (powers of 2) for sizes, none for plain integers;
 *   - hexadecimal after "0x" where asked for (--fwmark), with the same
 *     refusals (strtoul's base 0 read "010" as octal and " 0x1" too);
 *   - durations and percentages refuse blanks, signs, NaN, infinities and
 *     hex floats (a NaN converted to an integer is undefined behaviour).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tools/capture_filter.h"
#include "tools/tool_util.h"

static bool size_is(const char *s, uint64_t max, uint64_t want)
{
	uint64_t v = 12345;
	return tool_parse_size(s, max, &v) && v == want;
}

static bool size_refused(const char *s, uint64_t max)
{
	uint64_t v = 12345;
	return !tool_parse_size(s, max, &v) && v == 12345;
}

static void test_signs_and_blanks(void **state)
{
	(void)state;
	const char *bad[] = {" -1", "-1",   "+1",  " 1",	  "1 ",
			     "\t1", "\n1",  "",	   "-",		  "- 1",
			     "1-1", "0x10", "1e3", "1.5",	  "K",
			     "1KK", "1 K",  "1B",  "\xef\xbc\x91"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 7;
		assert_true(size_refused(bad[i], UINT64_MAX));
		assert_false(tool_parse_uint(bad[i], UINT64_MAX, &v));
		assert_int_equal(v, 7);
	}
	assert_true(size_is("0", 0, 0));
	assert_true(size_is("007", 100, 7));
}

static void test_overflow(void **state)
{
	(void)state;
	assert_true(size_is("18446744073709551615", UINT64_MAX, UINT64_MAX));
	assert_true(size_refused("18446744073709551616", UINT64_MAX));
	assert_true(size_refused("99999999999999999999999", UINT64_MAX));
	/* The suffix must not wrap the product. */
	assert_true(size_is("17179869183G", UINT64_MAX, 17179869183ull << 30));
	assert_true(size_refused("17179869184G", UINT64_MAX));
	assert_true(size_refused("18014398509481984K", UINT64_MAX));
	/* max, exactly and one past, with and without a suffix. */
	assert_true(size_is("65535", 65535, 65535));
	assert_true(size_refused("65536", 65535));
	assert_true(size_is("64K", 65536, 65536));
	assert_true(size_refused("64K", 65535));
	assert_true(size_refused("1K", 1023));
	uint64_t v;
	assert_true(tool_parse_uint("4294967295", UINT32_MAX, &v));
	assert_int_equal(v, UINT32_MAX);
	assert_false(tool_parse_uint("4294967296", UINT32_MAX, &v));
}

static void test_suffixes(void **state)
{
	(void)state;
	assert_true(size_is("1k", UINT64_MAX, 1024));
	assert_true(size_is("1K", UINT64_MAX, 1024));
	assert_true(size_is("4m", UINT64_MAX, 4u << 20));
	assert_true(size_is("4M", UINT64_MAX, 4u << 20));
	assert_true(size_is("2G", UINT64_MAX, 2ull << 30));
	assert_true(size_is("0K", 0, 0));
	/* Plain integers (ports, counts) take no suffix. */
	uint64_t v = 9;
	assert_false(tool_parse_uint("1K", UINT64_MAX, &v));
	assert_false(tool_parse_uint("8k", UINT64_MAX, &v));
	assert_int_equal(v, 9);
}

static void test_durations_and_percentages(void **state)
{
	(void)state;
	uint64_t us = 3;
	assert_true(tool_parse_duration("250ms", 1000, &us));
	assert_int_equal(us, 250000);
	assert_true(tool_parse_duration("2s", 1000, &us));
	assert_int_equal(us, 2000000);
	assert_true(tool_parse_duration("1.5", 1000000, &us));
	assert_int_equal(us, 1500000);
	assert_true(tool_parse_duration(".5s", 1000, &us));
	assert_int_equal(us, 500000);
	assert_true(tool_parse_duration("100us", 1000, &us));
	assert_int_equal(us, 100);
	const char *bad[] = {
	    " 1s",   "-1s",   "+1s",  "-0",  "nan",  "NAN", "inf", "infinity",
	    "0x1p3", "1e400", "1e8s", "1 s", "1sec", "",    "s",   "."};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		us = 3;
		assert_false(tool_parse_duration(bad[i], 1000, &us));
		assert_int_equal(us, 3);
	}
	uint32_t ppm = 1;
	assert_true(tool_parse_ppm("2%", &ppm));
	assert_int_equal(ppm, 20000);
	assert_true(tool_parse_ppm("0.5", &ppm));
	assert_int_equal(ppm, 5000);
	const char *badp[] = {" 1%",  "-1%", "nan%", "nan",  "inf",
			      "101%", "1 %", "1%%",  "0x1p1"};
	for (size_t i = 0; i < sizeof(badp) / sizeof(badp[0]); i++) {
		ppm = 1;
		assert_false(tool_parse_ppm(badp[i], &ppm));
		assert_int_equal(ppm, 1);
	}
}

static void test_hex(void **state)
{
	(void)state;
	uint64_t v = 0;
	assert_true(tool_parse_uint_hex("0x1f", UINT32_MAX, &v));
	assert_int_equal(v, 31);
	assert_true(tool_parse_uint_hex("0XFFFFFFFF", UINT32_MAX, &v));
	assert_int_equal(v, UINT32_MAX);
	assert_true(tool_parse_uint_hex("010", UINT32_MAX, &v));
	assert_int_equal(v, 10); /* decimal, not octal */
	assert_true(tool_parse_uint_hex("0xffffffffffffffff", UINT64_MAX, &v));
	assert_int_equal(v, UINT64_MAX);
	const char *bad[] = {"0x",
			     "0x100000000",
			     " 0x1",
			     "-0x1",
			     "0x-1",
			     "0x 1",
			     "0x1g",
			     "0x1 ",
			     "x1",
			     "+0x1",
			     "0x10000000000000000"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		assert_false(tool_parse_uint_hex(bad[i], UINT32_MAX, &v));
		assert_int_equal(v, 7);
	}
	/* Plain integers and sizes take no hex. */
	assert_false(tool_parse_uint("0x10", UINT64_MAX, &v));
	assert_false(tool_parse_size("0x10", UINT64_MAX, &v));
}

/* The same rules where the tools read numbers in other shapes. */
static void test_callers(void **state)
{
	(void)state;
	struct capture_filter f;
	capture_filter_init(&f);
	assert_int_equal(capture_filter_set_port(&f, "443"), 0);
	assert_int_equal(f.port, 443);
	assert_int_equal(capture_filter_set_port(&f, " 80"), -1);
	assert_int_equal(capture_filter_set_port(&f, "+80"), -1);
	assert_int_equal(capture_filter_set_port(&f, "65536"), -1);
	assert_int_equal(capture_filter_set_port(&f, "1K"), -1);
	assert_int_equal(f.port, 443);

	struct tool_addr a;
	char err[128];
	assert_int_equal(
	    tool_addr_parse("127.0.0.1:8080", NULL, &a, err, sizeof(err)), 0);
	assert_int_equal(
	    tool_addr_parse("127.0.0.1:-1", NULL, &a, err, sizeof(err)), -1);
	assert_int_equal(
	    tool_addr_parse("127.0.0.1: 80", NULL, &a, err, sizeof(err)), -1);
	assert_int_equal(
	    tool_addr_parse("+80", "127.0.0.1", &a, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_signs_and_blanks),
	    cmocka_unit_test(test_overflow),
	    cmocka_unit_test(test_suffixes),
	    cmocka_unit_test(test_durations_and_percentages),
	    cmocka_unit_test(test_hex),
	    cmocka_unit_test(test_callers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
