/* SPDX-License-Identifier: MIT */
/* test_os_addr.c - the one "HOST:PORT" parser and the socket-address
 * helpers (src/os/os_addr.c) that the dev transport's listen address, the
 * upstream URL and the tools' address options share:
 *   - IPv4, IPv6 in brackets (also an IPv4 address in brackets), a bare
 *     PORT with the caller's default host, and no default: refused;
 *   - the port is decimal digits only, 0..65535: no sign, no blank, no
 *     letters, no overflow (strtoul took "+80" and " 80" for the listen
 *     address, and wraps "-1");
 *   - an empty host, a missing port, an IPv6 address without brackets and
 *     a host longer than any name are refused with the caller's wording;
 *   - a failed parse leaves the caller's address alone;
 *   - "localhost" is resolved (the only name: no network here);
 *   - printing ("1.2.3.4:5", "[::1]:5"), comparing and the loopback test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "os/os_addr.h"

/* spec parsed with default_host, printed back. */
static const char *parsed(const char *spec, const char *default_host)
{
	static char out[64];
	char err[160];
	struct sockaddr_storage ss;
	socklen_t len = 0;
	if (os_addr_parse(spec, default_host, &ss, &len, err, sizeof(err)) < 0)
		return "refused";
	if (len != (ss.ss_family == AF_INET ? sizeof(struct sockaddr_in)
					    : sizeof(struct sockaddr_in6)))
		return "bad length";
	return os_addr_str(&ss, out, sizeof(out));
}

static void test_forms(void **state)
{
	(void)state;
	assert_string_equal(parsed("127.0.0.1:8080", NULL), "127.0.0.1:8080");
	assert_string_equal(parsed("192.0.2.7:0", NULL), "192.0.2.7:0");
	assert_string_equal(parsed("[::1]:5", NULL), "[::1]:5");
	assert_string_equal(parsed("[2001:db8::1]:65535", NULL),
			    "[2001:db8::1]:65535");
	assert_string_equal(parsed("[127.0.0.2]:9", NULL), "127.0.0.2:9");
	assert_string_equal(parsed("8081", "127.0.0.1"), "127.0.0.1:8081");
	assert_string_equal(parsed("8081", "::1"), "[::1]:8081");
	/* A default host does not change the other forms. */
	assert_string_equal(parsed("10.1.2.3:4", "127.0.0.1"), "10.1.2.3:4");
	/* No default: a bare port is no address. */
	assert_string_equal(parsed("8081", NULL), "refused");
}

static void test_missing_parts(void **state)
{
	(void)state;
	const char *bad[] = {
	    "",	      "127.0.0.1",   "127.0.0.1:", "[::1]",	"[::1]:",
	    "[::1]5", "[::1",	     ":80",	   "[]:80",	"::1:80",
	    "1:2:3",  "[::1]:80:90", "a:b:80",	   "[::1]]:80", NULL,
	};
	for (int i = 0; bad[i]; i++) {
		if (strcmp(parsed(bad[i], NULL), "refused") != 0)
			fail_msg("'%s' was accepted", bad[i]);
	}
	/* The same with a default host, where a bare word is a port. */
	assert_string_equal(parsed(":80", "127.0.0.1"), "refused");
	assert_string_equal(parsed("localhost", "127.0.0.1"), "refused");
	assert_string_equal(parsed("", "127.0.0.1"), "refused");
	char longname[300];
	memset(longname, 'a', sizeof(longname));
	memcpy(longname + 280, ":80", 4);
	assert_string_equal(parsed(longname, NULL), "refused");
}

static void test_ports(void **state)
{
	(void)state;
	const char *bad[] = {
	    "127.0.0.1:65536",
	    "127.0.0.1:99999999999999999999",
	    "127.0.0.1:-1",
	    "127.0.0.1:+80",
	    "127.0.0.1:-0",
	    "127.0.0.1: 80",
	    "127.0.0.1:80 ",
	    "127.0.0.1:8 0",
	    "127.0.0.1:http",
	    "127.0.0.1:80a",
	    "127.0.0.1:0x50",
	    "[::1]:+1",
	    "[::1]: 1",
	    "[::1]:1x",
	    NULL,
	};
	for (int i = 0; bad[i]; i++) {
		if (strcmp(parsed(bad[i], NULL), "refused") != 0)
			fail_msg("'%s' was accepted", bad[i]);
	}
	const char *bad_bare[] = {"+80",   "-1", " 80", "80 ",
				  "65536", "x",	 NULL};
	for (int i = 0; bad_bare[i]; i++) {
		if (strcmp(parsed(bad_bare[i], "127.0.0.1"), "refused") != 0)
			fail_msg("bare '%s' was accepted", bad_bare[i]);
	}
	assert_string_equal(parsed("127.0.0.1:00080", NULL), "127.0.0.1:80");
	assert_string_equal(parsed("0", "127.0.0.1"), "127.0.0.1:0");
	assert_string_equal(parsed("65535", "127.0.0.1"), "127.0.0.1:65535");
}

/* The callers print these lines as they are (the dev transport after
 * "dev transport: "; the tools after the option's name). */
static void test_messages(void **state)
{
	(void)state;
	char err[160] = "";
	struct sockaddr_storage ss;
	socklen_t len = 0;
	memset(&ss, 0x5a, sizeof(ss));
	assert_int_equal(
	    os_addr_parse("nonsense", NULL, &ss, &len, err, sizeof(err)), -1);
	assert_string_equal(
	    err, "bad address 'nonsense' (want HOST:PORT or [IPV6]:PORT)");
	assert_int_equal(
	    os_addr_parse("[::1]:x", "127.0.0.1", &ss, &len, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "bad address '[::1]:x' (want PORT, HOST:PORT "
				 "or [IPV6]:PORT)");
	assert_int_equal(os_addr_parse("", NULL, &ss, &len, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "empty address");
	assert_int_equal(os_addr_parse(NULL, NULL, &ss, &len, err, sizeof(err)),
			 -1);
	/* Refusals leave the caller's address alone. */
	assert_int_equal(len, 0);
	assert_int_equal(((unsigned char *)&ss)[0], 0x5a);
	assert_int_equal(((unsigned char *)&ss)[sizeof(ss) - 1], 0x5a);
}

static void test_split(void **state)
{
	(void)state;
	char host[16], err[160];
	uint16_t port = 7;
	assert_int_equal(os_addr_split("example.org:443", NULL, host,
				       sizeof(host), &port, err, sizeof(err)),
			 0);
	assert_string_equal(host, "example.org");
	assert_int_equal(port, 443);
	assert_int_equal(os_addr_split("[fe80::1%eth0]:1", NULL, host,
				       sizeof(host), &port, err, sizeof(err)),
			 0);
	assert_string_equal(host, "fe80::1%eth0");
	assert_int_equal(port, 1);
	/* The host must fit the caller's buffer (15 bytes and the NUL). */
	assert_int_equal(os_addr_split("abcdefghijklmno:1", NULL, host,
				       sizeof(host), &port, err, sizeof(err)),
			 0);
	assert_int_equal(os_addr_split("abcdefghijklmnop:1", NULL, host,
				       sizeof(host), &port, err, sizeof(err)),
			 -1);
}

static void test_localhost(void **state)
{
	(void)state;
	char err[160];
	struct sockaddr_storage ss;
	socklen_t len = 0;
	assert_int_equal(
	    os_addr_parse("localhost:8080", NULL, &ss, &len, err, sizeof(err)),
	    0);
	assert_true(os_addr_loopback(&ss));
	assert_int_equal(ss.ss_family == AF_INET
			     ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
			     : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port),
			 8080);
	assert_int_equal(
	    os_addr_parse("99", "localhost", &ss, &len, err, sizeof(err)), 0);
	assert_true(os_addr_loopback(&ss));
}

static struct sockaddr_storage addr(const char *spec)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[160];
	memset(&ss, 0, sizeof(ss));
	if (os_addr_parse(spec, NULL, &ss, &len, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return ss;
}

static bool loopback(const char *spec)
{
	struct sockaddr_storage ss = addr(spec);
	return os_addr_loopback(&ss);
}

static void test_str_equal_loopback(void **state)
{
	(void)state;
	char buf[64];
	struct sockaddr_storage a = addr("[::ffff:127.0.0.1]:1");
	assert_string_equal(os_addr_str(&a, buf, sizeof(buf)),
			    "[::ffff:127.0.0.1]:1");
	assert_true(os_addr_loopback(&a));
	struct sockaddr_storage none;
	memset(&none, 0, sizeof(none));
	assert_string_equal(os_addr_str(&none, buf, sizeof(buf)), "(none)");
	assert_false(os_addr_equal(&none, &none));
	assert_false(os_addr_loopback(&none));
	/* The longest form inet_ntop prints fits the 64 bytes callers use. */
	struct sockaddr_storage l =
	    addr("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	assert_string_equal(os_addr_str(&l, buf, sizeof(buf)),
			    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");

	struct sockaddr_storage x = addr("127.0.0.1:5"),
				y = addr("127.0.0.1:5");
	assert_true(os_addr_equal(&x, &y));
	y = addr("127.0.0.1:6");
	assert_false(os_addr_equal(&x, &y));
	y = addr("127.0.0.2:5");
	assert_false(os_addr_equal(&x, &y));
	y = addr("[::ffff:127.0.0.1]:5"); /* the same host, another family */
	assert_false(os_addr_equal(&x, &y));
	x = addr("[2001:db8::1]:5");
	y = addr("[2001:db8::1]:5");
	assert_true(os_addr_equal(&x, &y));
	y = addr("[2001:db8::2]:5");
	assert_false(os_addr_equal(&x, &y));

	assert_true(loopback("127.255.0.9:1"));
	assert_false(loopback("128.0.0.1:1"));
	assert_true(loopback("[::1]:1"));
	assert_false(loopback("[::2]:1"));
	assert_false(loopback("[::ffff:10.0.0.1]:1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forms),
	    cmocka_unit_test(test_missing_parts),
	    cmocka_unit_test(test_ports),
	    cmocka_unit_test(test_messages),
	    cmocka_unit_test(test_split),
	    cmocka_unit_test(test_localhost),
	    cmocka_unit_test(test_str_equal_loopback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
