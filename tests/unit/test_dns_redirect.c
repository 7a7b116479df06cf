/* SPDX-License-Identifier: MIT */
/* test_dns_redirect.c - the DNS redirect of `tunproxy run` and the packet
 * tap: parsing the redirect and upstream, rewriting only port 53 of the
 * redirected addresses, an engine whose resolver address (under the
 * default policy, which refuses loopback) is answered by an upstream on
 * 127.0.0.1 with the reply coming back from the address the app asked,
 * the tap seeing both directions and a flush per batch, and the resolver
 * `tunproxy run` derives from the TUN prefixes and the host's resolv.conf.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "host/dns_redirect.h"
#include "support/api_util.h"
#include "tools/run_dns.h"
#include "tunproxy.h"
#include "wire/build.h"

static void test_parse(void **state)
{
	(void)state;
	struct dns_redirect r;
	char err[128];
	assert_int_equal(dns_redirect_parse(&r, "10.0.0.1,fdaa::1",
					    "127.0.0.53", err, sizeof(err)),
			 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.from_family[0], 4);
	assert_int_equal(r.from_family[1], 6);
	assert_int_equal(r.up[0].family, 4);
	assert_int_equal(r.up[0].port, 53);
	assert_int_equal(dns_redirect_parse(&r, "10.0.0.1", "192.0.2.1:5353",
					    err, sizeof(err)),
			 0);
	assert_int_equal(r.up[0].port, 5353);
	assert_int_equal(
	    dns_redirect_parse(&r, "10.0.0.1", "[::1]:54", err, sizeof(err)),
	    0);
	assert_int_equal(r.up[0].family, 6);
	assert_int_equal(r.up[0].port, 54);
	assert_int_equal(
	    dns_redirect_parse(&r, "10.0.0.1", "2001:db8::1", err, sizeof(err)),
	    0);
	assert_int_equal(r.up[0].family, 6);
	assert_int_equal(r.up[0].port, 53);
	/* One upstream per redirected address, in order. */
	assert_int_equal(dns_redirect_parse(&r, "10.0.0.1,10.0.0.2,fdaa::1",
					    "192.0.2.1,[2001:db8::1]:54,"
					    "192.0.2.1",
					    err, sizeof(err)),
			 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.up[0].family, 4);
	assert_int_equal(r.up[1].family, 6);
	assert_int_equal(r.up[1].port, 54);
	assert_int_equal(r.up[2].family, 4);
	/* One upstream for all. */
	assert_int_equal(
	    dns_redirect_parse(&r, "10.0.0.1,fdaa::1", "::1", err, sizeof(err)),
	    0);
	assert_int_equal(r.up[1].family, 6);
	assert_int_equal(r.up[1].port, 53);
	/* Two upstreams for three addresses: which goes where? Refused. */
	assert_int_equal(dns_redirect_parse(&r, "10.0.0.1,10.0.0.2,fdaa::1",
					    "192.0.2.1,192.0.2.2", err,
					    sizeof(err)),
			 -1);
	/* Bad values are refused with a message. */
	const char *bad_up[] = {NULL,	     "",     "nohost", "1.2.3.4:0",
				"1.2.3.4:x", "[::1", "[::1]x", "1.2.3.4:70000"};
	for (size_t i = 0; i < sizeof(bad_up) / sizeof(bad_up[0]); i++) {
		err[0] = '\0';
		assert_int_equal(dns_redirect_parse(&r, "10.0.0.1", bad_up[i],
						    err, sizeof(err)),
				 -1);
		assert_true(strlen(err) > 0);
	}
	const char *bad_from[] = {"", ",", "10.0.0.300", "a,b",
				  "1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5,"
				  "6.6.6.6,7.7.7.7,8.8.8.8,9.9.9.9"};
	for (size_t i = 0; i < sizeof(bad_from) / sizeof(bad_from[0]); i++)
		assert_int_equal(dns_redirect_parse(&r, bad_from[i], "1.2.3.4",
						    err, sizeof(err)),
				 -1);
}

static void test_apply(void **state)
{
	(void)state;
	struct dns_redirect r;
	char err[128];
	assert_int_equal(dns_redirect_parse(&r, "10.0.0.1,fdaa::1",
					    "[::1]:5353", err, sizeof(err)),
			 0);
	struct wire_addr a;
	uint8_t v4[4] = {10, 0, 0, 1}, other[4] = {10, 0, 0, 2};
	uint8_t family = 4;
	uint16_t port = 53;
	wire_addr_from4(&a, v4);
	assert_int_equal(dns_redirect_apply(&r, &family, &a, &port), 1);
	assert_int_equal(family, 6);
	assert_int_equal(port, 5353);
	/* Another port, or another address: untouched. */
	family = 4, port = 80;
	wire_addr_from4(&a, v4);
	assert_int_equal(dns_redirect_apply(&r, &family, &a, &port), 0);
	assert_int_equal(port, 80);
	port = 53;
	wire_addr_from4(&a, other);
	assert_int_equal(dns_redirect_apply(&r, &family, &a, &port), 0);
	assert_int_equal(family, 4);
	/* Each address to its own upstream. */
	assert_int_equal(dns_redirect_parse(&r, "10.0.0.1,10.0.0.2",
					    "192.0.2.1,192.0.2.2:5353", err,
					    sizeof(err)),
			 0);
	family = 4, port = 53;
	wire_addr_from4(&a, other);
	assert_int_equal(dns_redirect_apply(&r, &family, &a, &port), 1);
	assert_int_equal(family, 4);
	assert_int_equal(port, 5353);
	assert_int_equal(wire_addr_v4(&a)[3], 2);
	assert_int_equal(dns_redirect_parse(&r, "10.0.0.1,fdaa::1",
					    "[::1]:5353", err, sizeof(err)),
			 0);
	/* The v4-mapped form of 10.0.0.1 asked as IPv6 is not the IPv4
	 * resolver. */
	family = 6;
	wire_addr_from4(&a, v4);
	assert_int_equal(dns_redirect_apply(&r, &family, &a, &port), 0);
}

struct taps {
	uint64_t from_app, to_app, flushes;
	uint8_t last_to_app[2048];
	size_t last_len;
};

static void tap(void *ctx, const uint8_t *pkt, size_t len, int dir)
{
	struct taps *t = ctx;
	if (dir == TP_TAP_FLUSH) {
		assert_null(pkt);
		__atomic_add_fetch(&t->flushes, 1, __ATOMIC_RELAXED);
	} else if (dir == TP_TAP_FROM_APP) {
		__atomic_add_fetch(&t->from_app, 1, __ATOMIC_RELAXED);
	} else {
		assert_int_equal(dir, TP_TAP_TO_APP);
		if (len <= sizeof(t->last_to_app)) {
			memcpy(t->last_to_app, pkt, len);
			t->last_len = len;
		}
		__atomic_add_fetch(&t->to_app, 1, __ATOMIC_RELAXED);
	}
}

static bool sink_has(void *arg)
{
	return sink_pkts(arg) >= 1;
}

/* A query to 10.0.0.1:53 (default policy: loopback refused) reaches an
 * "upstream" on 127.0.0.1 and its answer comes back from 10.0.0.1:53. */
static void test_engine_redirect_and_tap(void **state)
{
	(void)state;
	struct sink s;
	sink_init(&s);
	struct echo e;
	echo_start(&e);
	char up[32];
	snprintf(up, sizeof(up), "127.0.0.1:%u", e.port);
	struct taps t = {0};
	struct tp_config cfg;
	api_config(&cfg, &s);
	cfg.allow = NULL; /* the default policy: 127.0.0.0/8 refused */
	cfg.dns_redirect = "10.0.0.1,fdaa::1";
	cfg.dns_upstream = up;
	cfg.tap = tap;
	cfg.tap_ctx = &t;
	struct tp *tp = NULL;
	assert_int_equal(tp_create(&cfg, &tp), 0);
	assert_int_equal(tp_start(tp), 0);

	uint8_t pkt[128];
	struct wire_ip_hdr ip = {.family = 4, .proto = WIRE_PROTO_UDP};
	static const uint8_t src[4] = {10, 0, 0, 8}, dst[4] = {10, 0, 0, 1};
	wire_addr_from4(&ip.src, src);
	wire_addr_from4(&ip.dst, dst);
	memcpy(pkt + 28, "query!", 6);
	size_t len = wire_udp_build(pkt, sizeof(pkt), &ip, 40000, 53, 6);
	const uint8_t *pp = pkt;
	assert_int_equal(input_all(tp, &pp, &len, 1), 1);
	assert_true(wait_for(sink_has, &s, 5000));
	tp_stop(tp);
	tp_destroy(tp);
	echo_stop(&e);

	assert_int_equal(e.datagrams, 1);
	pthread_mutex_lock(&s.lock);
	assert_true(s.nkeep >= 1);
	const uint8_t *r = s.keep[0];
	/* From 10.0.0.1:53 to 10.0.0.8:40000, the payload echoed. */
	assert_memory_equal(r + 12, dst, 4);
	assert_memory_equal(r + 16, src, 4);
	assert_int_equal(r[20] << 8 | r[21], 53);
	assert_int_equal(r[22] << 8 | r[23], 40000);
	assert_memory_equal(r + 28, "query!", 6);
	pthread_mutex_unlock(&s.lock);
	/* The tap saw the query and the answer, then flushed. */
	assert_int_equal(t.from_app, 1);
	assert_int_equal(t.to_app, 1);
	assert_true(t.flushes >= 1);
	assert_int_equal(t.last_len, s.keep_len[0]);
	assert_memory_equal(t.last_to_app, s.keep[0], t.last_len);
}

static void test_engine_bad_redirect(void **state)
{
	(void)state;
	struct sink s;
	sink_init(&s);
	struct tp_config cfg;
	api_config(&cfg, &s);
	cfg.dns_redirect = "10.0.0.1";
	cfg.dns_upstream = "not-an-address";
	struct tp *tp = NULL;
	assert_int_equal(tp_create(&cfg, &tp), -TP_EINVAL);
	assert_null(tp);
}

static void write_tmp(char *path, const char *text)
{
	strcpy(path, "/tmp/tp-resolv-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_run_dns_prepare(void **state)
{
	(void)state;
	char path[64];
	write_tmp(path, "# comment\n"
			"search corp.example\n"
			"nameserver 127.0.0.53\n"
			"nameserver 192.0.2.7\n"
			"options edns0 trust-ad\n");
	struct run_dns d;
	assert_int_equal(
	    run_dns_prepare(&d, "10.0.0.8/24", "fdaa::8/64", NULL, path), 0);
	/* Both host nameservers, each behind an address of its own, in
	 * order; fdaa::1 goes to the first. */
	assert_string_equal(d.redirect, "10.0.0.1,10.0.0.2,fdaa::1");
	assert_string_equal(d.upstream, "127.0.0.53,192.0.2.7,127.0.0.53");
	assert_non_null(strstr(d.resolv, "\nnameserver 10.0.0.1\n"
					 "nameserver 10.0.0.2\n"
					 "nameserver fdaa::1\n"));
	assert_non_null(strstr(d.resolv, "\nsearch corp.example\n"));
	assert_non_null(strstr(d.resolv, "\noptions edns0 trust-ad\n"));
	assert_null(strstr(d.resolv, "127.0.0.53"));
	/* --dns wins; an IPv6 one is bracketed for the redirect. */
	assert_int_equal(
	    run_dns_prepare(&d, "10.0.0.8/24", "fdaa::8/64", "::1", path), 0);
	assert_string_equal(d.redirect, "10.0.0.1,fdaa::1");
	assert_string_equal(d.upstream, "[::1],[::1]");
	assert_int_equal(
	    run_dns_prepare(&d, "10.0.0.8/24", NULL, "192.0.2.1:5353", path),
	    0);
	assert_string_equal(d.upstream, "192.0.2.1:5353");
	assert_string_equal(d.redirect, "10.0.0.1");
	/* The TUN holding the prefix's first host: the resolver is .2. */
	assert_int_equal(
	    run_dns_prepare(&d, "10.9.0.1/16", "fdaa::1/64", NULL, path), 0);
	assert_string_equal(d.redirect, "10.9.0.2,10.9.0.3,fdaa::2");
	unlink(path);
	/* More nameservers than the C library reads: the first three. A
	 * /30 has room for only two resolvers beside the TUN. */
	write_tmp(path, "nameserver 192.0.2.1\nnameserver 192.0.2.2\n"
			"nameserver 192.0.2.3\nnameserver 192.0.2.4\n");
	assert_int_equal(run_dns_prepare(&d, "10.0.0.8/24", NULL, NULL, path),
			 0);
	assert_string_equal(d.redirect, "10.0.0.1,10.0.0.2,10.0.0.3");
	assert_string_equal(d.upstream, "192.0.2.1,192.0.2.2,192.0.2.3");
	assert_int_equal(run_dns_prepare(&d, "10.0.0.1/30", NULL, NULL, path),
			 0);
	assert_string_equal(d.redirect, "10.0.0.2");
	unlink(path);
	/* An IPv6 nameserver with a zone; and no file at all: 127.0.0.1. */
	write_tmp(path, "nameserver fe80::1%eth0\n");
	assert_int_equal(
	    run_dns_prepare(&d, "10.0.0.8/24", "fdaa::8/64", NULL, path), 0);
	assert_string_equal(d.upstream, "[fe80::1],[fe80::1]");
	unlink(path);
	assert_int_equal(run_dns_prepare(&d, "10.0.0.8/24", "fdaa::8/64", NULL,
					 "/nonexistent/resolv.conf"),
			 0);
	assert_string_equal(d.upstream, "127.0.0.1,127.0.0.1");
	/* A /31 or /32 leaves no room for a resolver. */
	assert_int_equal(run_dns_prepare(&d, "10.0.0.8/32", NULL, NULL, path),
			 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_apply),
	    cmocka_unit_test(test_engine_redirect_and_tap),
	    cmocka_unit_test(test_engine_bad_redirect),
	    cmocka_unit_test(test_run_dns_prepare),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
