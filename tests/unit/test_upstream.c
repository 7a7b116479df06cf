/* SPDX-License-Identifier: MIT */
/* test_upstream.c - the upstream proxies' wire side (upstream.h) and the
 * egress rules (route.h), with real message bytes: SOCKS5 greeting, RFC
 * 1929 authentication, CONNECT and UDP ASSOCIATE requests and replies of
 * every address type, partial and malformed input, the SOCKS5 UDP header,
 * HTTP CONNECT requests and response heads, base64, the --upstream URL
 * and the --route rules; and 200,000 random answers (seeded, so a failure
 * replays) through every parser, which must never claim more bytes than it
 * was given (run under ASan in the sanitizer tree).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "host/route.h"
#include "host/upstream.h"
#include "wire/packet.h"

static struct wire_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	uint8_t x[4] = {a, b, c, d};
	struct wire_addr w;
	wire_addr_from4(&w, x);
	return w;
}

static void test_socks5_greeting_auth(void **state)
{
	(void)state;
	uint8_t b[600];
	assert_int_equal(socks5_greeting(b, 0), 3);
	assert_memory_equal(b, "\x05\x01\x00", 3);
	assert_int_equal(socks5_greeting(b, 1), 4);
	assert_memory_equal(b, "\x05\x02\x00\x02", 4);
	uint8_t m = 9;
	assert_int_equal(socks5_parse_method((const uint8_t *)"\x05", 1, &m),
			 0);
	assert_int_equal(
	    socks5_parse_method((const uint8_t *)"\x05\x02", 2, &m), 2);
	assert_int_equal(m, 2);
	assert_int_equal(
	    socks5_parse_method((const uint8_t *)"\x04\x00", 2, &m), -1);
	/* RFC 1929 2 */
	assert_int_equal(socks5_auth_request(b, sizeof(b), "ab", "xyz"), 8);
	assert_memory_equal(b,
			    "\x01\x02"
			    "ab"
			    "\x03"
			    "xyz",
			    8);
	char big[300];
	memset(big, 'u', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(socks5_auth_request(b, sizeof(b), big, "p"), 0);
	assert_int_equal(socks5_auth_request(b, sizeof(b), "", "p"), 0);
	uint8_t st = 9;
	assert_int_equal(socks5_parse_auth((const uint8_t *)"\x01\x00", 2, &st),
			 2);
	assert_int_equal(st, 0);
	assert_int_equal(socks5_parse_auth((const uint8_t *)"\x01\x01", 2, &st),
			 2);
	assert_int_equal(st, 1);
}

static void test_socks5_request_reply(void **state)
{
	(void)state;
	uint8_t b[32];
	struct wire_addr a = v4(203, 0, 113, 10);
	assert_int_equal(socks5_request(b, SOCKS5_CMD_CONNECT, 4, &a, 80), 10);
	assert_memory_equal(b, "\x05\x01\x00\x01\xcb\x00\x71\x0a\x00\x50", 10);
	struct wire_addr a6;
	uint8_t x6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10};
	wire_addr_from6(&a6, x6);
	assert_int_equal(
	    socks5_request(b, SOCKS5_CMD_UDP_ASSOCIATE, 6, &a6, 443), 22);
	assert_memory_equal(b, "\x05\x03\x00\x04\x20\x01\x0d\xb8", 8);
	assert_memory_equal(b + 20, "\x01\xbb", 2);

	uint8_t rep;
	struct socks5_addr bound;
	const uint8_t r4[] = {5, 0, 0, 1, 198, 51, 100, 1, 0x04, 0x38, 'X'};
	for (size_t n = 0; n < 10; n++)
		assert_int_equal(socks5_parse_reply(r4, n, &rep, &bound), 0);
	/* Bytes after the reply belong to the stream: not consumed. */
	assert_int_equal(socks5_parse_reply(r4, sizeof(r4), &rep, &bound), 10);
	assert_int_equal(rep, 0);
	assert_int_equal(bound.family, 4);
	assert_int_equal(bound.port, 1080);
	struct wire_addr want = v4(198, 51, 100, 1);
	assert_true(wire_addr_eq(&bound.addr, &want));
	const uint8_t rn[] = {5, 5, 0, 3, 3, 'a', 'b', 'c', 0, 1};
	assert_int_equal(socks5_parse_reply(rn, sizeof(rn), &rep, &bound), 10);
	assert_int_equal(rep, SOCKS5_CONN_REFUSED);
	assert_int_equal(bound.family, 0);
	const uint8_t r6[22] = {5, 0, 0, 4, 0x20, 0x01, [21] = 7};
	assert_int_equal(socks5_parse_reply(r6, 21, &rep, &bound), 0);
	assert_int_equal(socks5_parse_reply(r6, 22, &rep, &bound), 22);
	assert_int_equal(bound.family, 6);
	assert_int_equal(bound.port, 7);
	const uint8_t bad_atyp[] = {5, 0, 0, 9, 0, 0, 0, 0, 0, 0};
	assert_int_equal(
	    socks5_parse_reply(bad_atyp, sizeof(bad_atyp), &rep, &bound), -1);
	const uint8_t bad_ver[] = {4, 0};
	assert_int_equal(socks5_parse_reply(bad_ver, 2, &rep, &bound), -1);
}

static void test_socks5_udp_header(void **state)
{
	(void)state;
	uint8_t b[64];
	struct wire_addr a = v4(203, 0, 113, 10);
	size_t n = socks5_udp_header(b, 4, &a, 53);
	assert_int_equal(n, 10);
	assert_memory_equal(b, "\x00\x00\x00\x01\xcb\x00\x71\x0a\x00\x35", 10);
	memcpy(b + n, "payload", 7);
	uint8_t frag = 9;
	struct socks5_addr from;
	assert_int_equal(socks5_parse_udp(b, n + 7, &frag, &from), 10);
	assert_int_equal(frag, 0);
	assert_int_equal(from.port, 53);
	assert_true(wire_addr_eq(&from.addr, &a));
	b[0] = 1; /* RSV must be zero */
	assert_int_equal(socks5_parse_udp(b, n + 7, &frag, &from), -1);
	b[0] = 0;
	assert_int_equal(socks5_parse_udp(b, 9, &frag, &from), -1);
}

static void test_http(void **state)
{
	(void)state;
	char b[512];
	struct wire_addr a = v4(203, 0, 113, 10);
	size_t n = http_connect_request(b, sizeof(b), 4, &a, 443, NULL);
	assert_int_equal(n, strlen(b));
	assert_string_equal(b, "CONNECT 203.0.113.10:443 HTTP/1.1\r\n"
			       "Host: 203.0.113.10:443\r\n\r\n");
	struct wire_addr a6;
	uint8_t x6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	wire_addr_from6(&a6, x6);
	char basic[64];
	assert_int_equal(
	    upstream_base64(basic, sizeof(basic), (const uint8_t *)"u:p", 3),
	    4);
	assert_string_equal(basic, "dTpw");
	upstream_base64(basic, sizeof(basic),
			(const uint8_t *)"Aladdin:open sesame", 19);
	assert_string_equal(basic, "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
	http_connect_request(b, sizeof(b), 6, &a6, 80, basic);
	assert_string_equal(
	    b,
	    "CONNECT [2001:db8::1]:80 HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n"
	    "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n");
	assert_int_equal(http_connect_request(b, 20, 4, &a, 443, NULL), 0);

	unsigned st = 0;
	const char *ok = "HTTP/1.1 200 Connection established\r\n\r\nDATA";
	for (size_t i = 0; i < strlen(ok) - 4; i++)
		assert_int_equal(
		    http_parse_response((const uint8_t *)ok, i, &st), 0);
	assert_int_equal(
	    http_parse_response((const uint8_t *)ok, strlen(ok), &st),
	    (int)strlen(ok) - 4);
	assert_int_equal(st, 200);
	const char *no = "HTTP/1.0 407 Proxy Authentication Required\r\n"
			 "Proxy-Authenticate: Basic\r\n\r\n";
	assert_true(http_parse_response((const uint8_t *)no, strlen(no), &st) >
		    0);
	assert_int_equal(st, 407);
	assert_int_equal(
	    http_parse_response((const uint8_t *)"SSH-2.0", 7, &st), -1);
}

static void test_url(void **state)
{
	(void)state;
	struct upstream_cfg u;
	char err[200];
	assert_int_equal(
	    upstream_parse(&u, "socks5://198.51.100.1:1080", err, sizeof(err)),
	    0);
	assert_int_equal(u.kind, UPSTREAM_SOCKS5);
	assert_int_equal(u.family, 4);
	assert_int_equal(u.port, 1080);
	assert_false(u.has_auth);
	assert_int_equal(upstream_parse(&u, "http://us%3Aer:p%40ss@[::1]:3128",
					err, sizeof(err)),
			 0);
	assert_int_equal(u.kind, UPSTREAM_HTTP);
	assert_int_equal(u.family, 6);
	assert_string_equal(u.user, "us:er");
	assert_string_equal(u.pass, "p@ss");
	assert_int_equal(
	    upstream_parse(&u, "socks4://1.2.3.4:1", err, sizeof(err)), -1);
	assert_int_equal(
	    upstream_parse(&u, "socks5://1.2.3.4", err, sizeof(err)), -1);
	assert_int_equal(
	    upstream_parse(&u, "socks5://1.2.3.4:0", err, sizeof(err)), -1);
	assert_int_equal(
	    upstream_parse(&u, "socks5://u:%4@1.2.3.4:1", err, sizeof(err)),
	    -1);
	assert_int_equal(
	    upstream_parse(&u, "socks5://localhost:1080", err, sizeof(err)), 0);
}

static struct flow_key key(struct wire_addr dst, uint16_t port, uint8_t proto)
{
	struct flow_key k;
	memset(&k, 0, sizeof(k));
	k.family = 4;
	k.dst = dst;
	k.dport = port;
	k.proto = proto;
	return k;
}

static void test_routes(void **state)
{
	(void)state;
	struct route_table t;
	char err[200];
	assert_int_equal(route_parse(&t,
				     "10.0.0.0/8=upstream, "
				     "10.1.0.0/16=direct "
				     "10.1.2.3:443=block",
				     err, sizeof(err)),
			 3);
	struct flow_key k = key(v4(10, 9, 9, 9), 80, WIRE_PROTO_TCP);
	assert_int_equal(route_lookup(&t, &k), ROUTE_UPSTREAM);
	k = key(v4(10, 1, 2, 3), 80, WIRE_PROTO_TCP);
	assert_int_equal(route_lookup(&t, &k), ROUTE_DIRECT);
	k = key(v4(10, 1, 2, 3), 443, WIRE_PROTO_UDP);
	assert_int_equal(route_lookup(&t, &k), ROUTE_BLOCK);
	k = key(v4(192, 0, 2, 1), 443, WIRE_PROTO_TCP);
	assert_int_equal(route_lookup(&t, &k), ROUTE_NONE);
	route_free(&t);
	assert_int_equal(
	    route_parse(&t, "10.0.0.0/8=sideways", err, sizeof(err)), -1);
	assert_int_equal(route_parse(&t, "10.0.0.0/8", err, sizeof(err)), -1);
	assert_int_equal(route_parse(&t, "=direct", err, sizeof(err)), -1);
	assert_int_equal(route_parse(&t, "", err, sizeof(err)), 0);
	assert_int_equal(route_parse(&t, NULL, err, sizeof(err)), 0);
}

static uint32_t rng(uint32_t *st)
{
	*st ^= *st << 13;
	*st ^= *st >> 17;
	*st ^= *st << 5;
	return *st;
}

static void test_random_answers(void **state)
{
	(void)state;
	uint32_t st = 0x7e57u;
	uint8_t buf[300];
	for (int i = 0; i < 200000; i++) {
		size_t len = rng(&st) % sizeof(buf);
		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)rng(&st);
		/* Bias the first bytes towards valid ones, to get past the
		 * version checks. */
		if (len > 0 && (rng(&st) & 1))
			buf[0] = i & 2 ? 5 : 0;
		if (len > 1 && (rng(&st) & 1))
			buf[1] = 0;
		if (len > 3 && (rng(&st) & 1))
			buf[3] = (uint8_t)(rng(&st) % 5);
		uint8_t u8;
		unsigned st16;
		struct socks5_addr a;
		int r = socks5_parse_method(buf, len, &u8);
		assert_true(r <= (int)len);
		r = socks5_parse_auth(buf, len, &u8);
		assert_true(r <= (int)len);
		r = socks5_parse_reply(buf, len, &u8, &a);
		assert_true(r <= (int)len);
		r = socks5_parse_udp(buf, len, &u8, &a);
		assert_true(r <= (int)len && r != 0);
		r = http_parse_response(buf, len, &st16);
		assert_true(r <= (int)len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_socks5_greeting_auth),
	    cmocka_unit_test(test_socks5_request_reply),
	    cmocka_unit_test(test_socks5_udp_header),
	    cmocka_unit_test(test_http),
	    cmocka_unit_test(test_url),
	    cmocka_unit_test(test_routes),
	    cmocka_unit_test(test_random_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
