/* SPDX-License-Identifier: MIT */
/* test_capture_filter.c - the capture's --proto/--port/--host filter on
 * hand-made IPv4 and IPv6 packets: protocol, ports (not from a non-first
 * fragment), IPv6 extension headers walked, addresses both ways, and
 * malformed packets matching only the empty filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tools/capture_filter.h"

/* IPv4 10.0.0.8 -> 203.0.113.10, proto, ports 40000 -> dport. */
static size_t v4(uint8_t *p, uint8_t proto, uint16_t dport, uint16_t frag)
{
	memset(p, 0, 40);
	p[0] = 0x45;
	p[3] = 40;
	p[6] = (uint8_t)(frag >> 8);
	p[7] = (uint8_t)frag;
	p[9] = proto;
	memcpy(p + 12, (uint8_t[]){10, 0, 0, 8, 203, 0, 113, 10}, 8);
	p[20] = 0x9c, p[21] = 0x40;
	p[22] = (uint8_t)(dport >> 8), p[23] = (uint8_t)dport;
	return 40;
}

/* IPv6 fdaa::8 -> 2001:db8:1::10 with a hop-by-hop header first. */
static size_t v6(uint8_t *p, uint8_t proto, uint16_t dport)
{
	memset(p, 0, 64);
	p[0] = 0x60;
	p[5] = 24;
	p[6] = 0; /* hop-by-hop */
	p[7] = 64;
	p[8] = 0xfd, p[9] = 0xaa, p[23] = 8;
	p[24] = 0x20, p[25] = 0x01, p[26] = 0x0d, p[27] = 0xb8, p[29] = 1;
	p[39] = 0x10;
	p[40] = proto; /* next header after hop-by-hop, length 0 (8 bytes) */
	p[48] = 0x9c, p[49] = 0x40;
	p[50] = (uint8_t)(dport >> 8), p[51] = (uint8_t)dport;
	return 64;
}

static void test_filters(void **state)
{
	(void)state;
	struct capture_filter f;
	uint8_t p[64];
	size_t n;

	capture_filter_init(&f);
	assert_true(capture_filter_match(&f, (const uint8_t *)"x", 1));

	assert_int_equal(capture_filter_set_proto(&f, "tcp"), 0);
	n = v4(p, 6, 80, 0);
	assert_true(capture_filter_match(&f, p, n));
	n = v4(p, 17, 53, 0);
	assert_false(capture_filter_match(&f, p, n));
	assert_false(capture_filter_match(&f, p, 10)); /* truncated */

	assert_int_equal(capture_filter_set_proto(&f, "udp"), 0);
	assert_int_equal(capture_filter_set_port(&f, "53"), 0);
	assert_true(capture_filter_match(&f, p, n));
	n = v6(p, 17, 53);
	assert_true(capture_filter_match(&f, p, n)); /* past hop-by-hop */
	n = v6(p, 17, 54);
	assert_false(capture_filter_match(&f, p, n));
	assert_int_equal(capture_filter_set_port(&f, "40000"), 0);
	assert_true(capture_filter_match(&f, p, n)); /* source port */
	n = v4(p, 17, 40000, 0x0010); /* a later fragment: no ports */
	assert_false(capture_filter_match(&f, p, n));

	capture_filter_init(&f);
	assert_int_equal(capture_filter_set_proto(&f, "icmp"), 0);
	n = v4(p, 1, 0, 0);
	assert_true(capture_filter_match(&f, p, n));
	n = v6(p, 58, 0);
	assert_true(capture_filter_match(&f, p, n));

	capture_filter_init(&f);
	assert_int_equal(capture_filter_set_host(&f, "203.0.113.10"), 0);
	n = v4(p, 6, 80, 0);
	assert_true(capture_filter_match(&f, p, n));
	assert_int_equal(capture_filter_set_host(&f, "10.0.0.8"), 0);
	assert_true(capture_filter_match(&f, p, n));
	assert_int_equal(capture_filter_set_host(&f, "10.0.0.9"), 0);
	assert_false(capture_filter_match(&f, p, n));
	assert_int_equal(capture_filter_set_host(&f, "2001:db8:1::10"), 0);
	assert_false(capture_filter_match(&f, p, n));
	n = v6(p, 6, 443);
	assert_true(capture_filter_match(&f, p, n));

	assert_int_equal(capture_filter_set_proto(&f, "sctp"), -1);
	assert_int_equal(capture_filter_set_port(&f, "70000"), -1);
	assert_int_equal(capture_filter_set_host(&f, "not-an-ip"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_filters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
