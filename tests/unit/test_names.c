/* SPDX-License-Identifier: MIT */
/* test_names.c - the name learners (wire/names.c) on good, truncated and
 * hostile inputs, the DNS names cache's bounds (core/names.c), and flow
 * introspection in the core (core/flowinfo.c): a TLS flow named from its
 * SNI with its byte counts, as core_flows reports them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/flowinfo.h"
#include "core/names.h"
#include "support/tcp_harness.h"
#include "wire/names.h"

/* --- a DNS response builder --- */

struct msg {
	uint8_t b[1024];
	size_t n;
};

static void put(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void put16(struct msg *m, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(m, b, 2);
}

static void put32(struct msg *m, uint32_t v)
{
	put16(m, (uint16_t)(v >> 16));
	put16(m, (uint16_t)v);
}

static void put_name(struct msg *m, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		uint8_t lb = (uint8_t)l;
		put(m, &lb, 1);
		put(m, name, l);
		name += l + (dot ? 1 : 0);
	}
	uint8_t z = 0;
	put(m, &z, 1);
}

static void dns_header(struct msg *m, uint16_t flags, uint16_t an)
{
	m->n = 0;
	put16(m, 0x1234);
	put16(m, flags);
	put16(m, 1);
	put16(m, an);
	put16(m, 0);
	put16(m, 0);
}

struct got {
	int n;
	char qname[8][256];
	struct wire_dns_addr a[8];
};

static void on_addr(void *ctx, const char *qname, const struct wire_dns_addr *a)
{
	struct got *g = ctx;
	if (g->n < 8) {
		snprintf(g->qname[g->n], 256, "%s", qname);
		g->a[g->n] = *a;
	}
	g->n++;
}

/* www.Example.test -> CNAME cdn.example.net (ttl 300) -> A 192.0.2.7
 * (ttl 60), AAAA 2001:db8::7 (ttl 900); a compressed owner name. */
static void cname_response(struct msg *m)
{
	dns_header(m, 0x8180, 3);
	put_name(m, "www.Example.test");
	put16(m, 1);
	put16(m, 1);
	/* answer 1: owner = pointer to the question (offset 12) */
	put16(m, 0xc00c);
	put16(m, 5);
	put16(m, 1);
	put32(m, 300);
	size_t at = m->n;
	put16(m, 0);
	size_t cname_off = m->n;
	put_name(m, "cdn.example.net");
	m->b[at] = 0;
	m->b[at + 1] = (uint8_t)(m->n - cname_off);
	/* answer 2: A for the CNAME's target (pointer to it) */
	put16(m, (uint16_t)(0xc000 | cname_off));
	put16(m, 1);
	put16(m, 1);
	put32(m, 60);
	put16(m, 4);
	put(m, "\xc0\x00\x02\x07", 4);
	/* answer 3: AAAA, owner spelled out */
	put_name(m, "cdn.example.net");
	put16(m, 28);
	put16(m, 1);
	put32(m, 900);
	put16(m, 16);
	put(m, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x07", 16);
}

static void test_dns_cname_chain(void **state)
{
	(void)state;
	struct msg m;
	cname_response(&m);
	struct got g = {0};
	assert_int_equal(wire_dns_answers(m.b, m.n, on_addr, &g), 2);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.qname[0], "www.example.test");
	assert_int_equal(g.a[0].family, 4);
	assert_memory_equal(g.a[0].addr, "\xc0\x00\x02\x07", 4);
	assert_int_equal(g.a[0].ttl, 60); /* min(300, 60) */
	assert_int_equal(g.a[1].family, 6);
	assert_int_equal(g.a[1].ttl, 300); /* min(300, 900) */
}

static void test_dns_truncated(void **state)
{
	(void)state;
	struct msg m;
	cname_response(&m);
	/* Every cut: no crash, never more answers than the whole has, and
	 * an answer only once its record is complete. */
	for (size_t len = 0; len < m.n; len++) {
		uint8_t copy[1024];
		memcpy(copy, m.b, len);
		struct got g = {0};
		int r = wire_dns_answers(copy, len, on_addr, &g);
		assert_true(r <= 1);
		assert_int_equal(r < 0 ? 0 : r, g.n);
	}
}

static void test_dns_hostile(void **state)
{
	(void)state;
	struct msg m;
	struct got g = {0};
	/* A query, a truncated (TC) and an NXDOMAIN answer: nothing. */
	cname_response(&m);
	m.b[2] = 0x01;
	assert_int_equal(wire_dns_answers(m.b, m.n, on_addr, &g), -1);
	cname_response(&m);
	m.b[2] |= 0x02;
	assert_int_equal(wire_dns_answers(m.b, m.n, on_addr, &g), -1);
	cname_response(&m);
	m.b[3] = 0x83;
	assert_int_equal(wire_dns_answers(m.b, m.n, on_addr, &g), -1);
	/* A compression pointer to itself in the question. */
	dns_header(&m, 0x8180, 0);
	put16(&m, 0xc00c);
	put16(&m, 1);
	put16(&m, 1);
	assert_int_equal(wire_dns_answers(m.b, m.n, on_addr, &g), -1);
	/* A question name with a control byte and a quote: refused. */
	dns_header(&m, 0x8180, 0);
	put_name(&m, "a\x1b[31m\".test");
	put16(&m, 1);
	put16(&m, 1);
	assert_int_equal(wire_dns_answers(m.b, m.n, on_addr, &g), -1);
	/* An A record for a name outside the chain is not believed. */
	dns_header(&m, 0x8180, 1);
	put_name(&m, "good.test");
	put16(&m, 1);
	put16(&m, 1);
	put_name(&m, "evil.test");
	put16(&m, 1);
	put16(&m, 1);
	put32(&m, 60);
	put16(&m, 4);
	put(&m, "\x01\x02\x03\x04", 4);
	assert_int_equal(wire_dns_answers(m.b, m.n, on_addr, &g), 0);
	assert_int_equal(g.n, 0);
	/* An RDLENGTH past the end. */
	dns_header(&m, 0x8180, 1);
	put_name(&m, "good.test");
	put16(&m, 1);
	put16(&m, 1);
	put16(&m, 0xc00c);
	put16(&m, 1);
	put16(&m, 1);
	put32(&m, 60);
	put16(&m, 400);
	put(&m, "\x01\x02\x03\x04", 4);
	assert_int_equal(wire_dns_answers(m.b, m.n, on_addr, &g), -1);
}

/* --- TLS ClientHello --- */

static size_t client_hello(uint8_t *b, const char *sni)
{
	struct msg m = {.n = 0};
	uint8_t z[32] = {0};
	/* handshake body */
	put16(&m, 0x0303);
	put(&m, z, 32);
	uint8_t sid = 0;
	put(&m, &sid, 1);
	put16(&m, 2);
	put16(&m, 0x1301);
	uint8_t comp[2] = {1, 0};
	put(&m, comp, 2);
	size_t ext_len_at = m.n;
	put16(&m, 0);
	/* a first, unrelated extension (supported_versions) */
	put16(&m, 43);
	put16(&m, 3);
	uint8_t sv[3] = {2, 3, 4};
	put(&m, sv, 3);
	/* server_name */
	size_t n = strlen(sni);
	put16(&m, 0);
	put16(&m, (uint16_t)(n + 5));
	put16(&m, (uint16_t)(n + 3));
	uint8_t host = 0;
	put(&m, &host, 1);
	put16(&m, (uint16_t)n);
	put(&m, sni, n);
	m.b[ext_len_at] = (uint8_t)((m.n - ext_len_at - 2) >> 8);
	m.b[ext_len_at + 1] = (uint8_t)(m.n - ext_len_at - 2);
	size_t hs = m.n;
	b[0] = 22;
	b[1] = 3;
	b[2] = 1;
	b[3] = (uint8_t)((hs + 4) >> 8);
	b[4] = (uint8_t)(hs + 4);
	b[5] = 1;
	b[6] = 0;
	b[7] = (uint8_t)(hs >> 8);
	b[8] = (uint8_t)hs;
	memcpy(b + 9, m.b, hs);
	return hs + 9;
}

static void test_sni(void **state)
{
	(void)state;
	uint8_t b[1100];
	char out[WIRE_NAME_MAX + 1];
	size_t n = client_hello(b, "Secure.Example.TEST");
	assert_int_equal(wire_tls_sni(b, n, out), 19);
	assert_string_equal(out, "secure.example.test");
	/* Cut anywhere: the name or nothing, and the name once it is all
	 * there. */
	for (size_t len = 0; len < n; len++) {
		uint8_t copy[1100];
		memcpy(copy, b, len);
		size_t r = wire_tls_sni(copy, len, out);
		assert_true(r == 0 || (r == 19 && len == n));
	}
	/* A hostile name; lengths that lie; not a handshake. */
	n = client_hello(b, "a b");
	assert_int_equal(wire_tls_sni(b, n, out), 0);
	n = client_hello(b, "ok.test");
	b[n - 9] = 0xff; /* the name's length */
	assert_int_equal(wire_tls_sni(b, n, out), 0);
	n = client_hello(b, "ok.test");
	b[0] = 23;
	assert_int_equal(wire_tls_sni(b, n, out), 0);
	char big[300];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = client_hello(b, big);
	assert_int_equal(wire_tls_sni(b, n, out), 0); /* over 253 */
}

static void test_http_host(void **state)
{
	(void)state;
	char out[WIRE_NAME_MAX + 1];
	const char *req = "GET /x HTTP/1.1\r\nUser-Agent: t\r\n"
			  "hOsT:  Example.COM:8080 \r\n\r\n";
	assert_int_equal(wire_http_host((const uint8_t *)req, strlen(req), out),
			 11);
	assert_string_equal(out, "example.com");
	for (size_t len = 0; len < strlen(req); len++) {
		size_t r = wire_http_host((const uint8_t *)req, len, out);
		/* Only once the Host line is complete (its LF is in). */
		assert_true(r == 0 || (r == 11 && len >= strlen(req) - 2));
	}
	static const char *const bad[] = {
	    "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
	    "GET / HTTP/1.1\r\nHost: a\x1b[31m\r\n\r\n",
	    "GET / HTTP/1.1\r\nHost: \"quoted\"\r\n\r\n",
	    "GET / HTTP/1.1\r\n\r\nHost: after.the.end\r\n",
	    "XGET / HTTP/1.1\r\nHost: x.test\r\n\r\n",
	    "GET / HTTP/1.1\r\nHost: x..test\r\n\r\n",
	    "GET / HTTP/1.1\r\nHost: \r\n\r\n",
	    "GET / HTTP/1.1\r\nHost: trailing.dots..\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(wire_http_host((const uint8_t *)bad[i],
						strlen(bad[i]), out),
				 0);
}

/* --- the cache's bounds --- */

static const struct core_host_ops null_ops;

static void test_cache_bounded(void **state)
{
	(void)state;
	struct tp_config pub;
	tp_config_init(&pub);
	struct core_config cfg;
	core_config_from_public(&cfg, &pub);
	cfg.hash_seed = 7;
	struct core_engine *e = core_create(&cfg, &null_ops, NULL);
	assert_non_null(e);
	size_t base = e->mem.used;
	struct msg m;
	size_t top = 0;
	/* 20000 different names and addresses: the cache keeps at most its
	 * table and one string per entry. */
	for (uint32_t i = 0; i < 20000; i++) {
		char name[64];
		snprintf(name, sizeof(name), "host%u.flood.test", i);
		dns_header(&m, 0x8180, 1);
		put_name(&m, name);
		put16(&m, 1);
		put16(&m, 1);
		put16(&m, 0xc00c);
		put16(&m, 1);
		put16(&m, 1);
		put32(&m, 3600);
		put16(&m, 4);
		put32(&m, 0x0a000000u + i);
		e->now = i;
		names_learn_dns(e, m.b, m.n);
		if (e->mem.used - base > top)
			top = e->mem.used - base;
	}
	/* The table, and one string per entry at most. */
	size_t entries = NAMES_SETS * NAMES_WAYS;
	size_t bound =
	    entries * 48 + entries * (sizeof(struct names_str) +
				      sizeof("host19999.flood.test"));
	printf("names cache: at most %zu bytes for 20000 answers\n", top);
	assert_true(top <= bound);
	/* ... and a good spread fills most of the entries (a hash that put
	 * every address in one set would keep four). */
	assert_true(e->mem.used - base > entries * 40 + entries / 2 * 24);
	/* The last one is found, an early one was given up. */
	struct wire_addr a;
	uint8_t v4[4] = {10, 0, 0x4e, 0x1f}; /* 0x0a000000 + 19999 */
	wire_addr_from4(&a, v4);
	struct names_str *s = names_lookup(e, 4, &a);
	assert_non_null(s);
	assert_string_equal(s->s, "host19999.flood.test");
	names_put(e, s);
	names_expire(e, UINT64_MAX);
	assert_int_equal(e->mem.used, base);
	core_destroy(e);
}

/* --- a flow named from its SNI, with its byte counts --- */

static void test_flow_sni_and_bytes(void **state)
{
	(void)state;
	struct th t;
	th_init(&t, 4, NULL);
	struct wire_tcp_opts o = th_opts_all();
	th_establish(&t, &o);
	uint8_t hello[600];
	size_t n = client_hello(hello, "api.example.test");
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 1, hello, n);
	t.app_nxt += (uint32_t)n;
	fake_host_rx_push(&t.host, t.sock, "0123456789", 10);
	th_event(&t, CORE_EV_READ);
	th_out(&t);
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 11, NULL, 0);
	th_out(&t);
	struct tp_flow_info fi[4];
	size_t k = core_flows(t.e, t.now + 5000, fi, 4, sizeof(fi[0]));
	assert_int_equal(k, 1);
	assert_string_equal(fi[0].name, "api.example.test");
	assert_int_equal(fi[0].name_source, TP_NAME_SNI);
	assert_int_equal(fi[0].bytes_from_app, n);
	assert_int_equal(fi[0].bytes_to_app, 10);
	assert_string_equal(tp_tcp_state_name(fi[0].state), "ESTABLISHED");
	assert_true(fi[0].packets_from_app >= 3);
	assert_true(fi[0].app_side.valid && fi[0].app_side.cwnd > 0);
	/* A buffer too small: the count, nothing written past it. */
	assert_int_equal(core_flows(t.e, t.now, fi, 0, sizeof(fi[0])), 1);
	th_fini(&t);
}

/* --- refused flows: reported, but not a flood of them --- */

struct ends {
	int n, policy;
};

static void count_end(void *arg, const struct tp_flow_info *fi)
{
	struct ends *x = arg;
	x->n++;
	x->policy += fi->end == TP_END_POLICY;
}

static void deny_all(struct core_config *cfg)
{
	cfg->policy_deny = "0.0.0.0/0,::/0";
}

static void test_refused_reports_limited(void **state)
{
	(void)state;
	struct th t;
	th_init(&t, 4, deny_all);
	struct ends x = {0, 0};
	core_set_flow_end(t.e, count_end, &x);
	uint64_t before = core_counters(t.e)[TP_CTR_log_suppressed];
	for (int i = 0; i < 500; i++) {
		t.sport = (uint16_t)(1000 + i);
		th_send(&t, WIRE_TCP_SYN, 1, 0, NULL, 0);
	}
	assert_int_equal(x.n, 100);
	assert_int_equal(x.policy, 100);
	assert_true(core_counters(t.e)[TP_CTR_log_suppressed] - before >= 400);
	th_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dns_cname_chain),
	    cmocka_unit_test(test_dns_truncated),
	    cmocka_unit_test(test_dns_hostile),
	    cmocka_unit_test(test_sni),
	    cmocka_unit_test(test_http_host),
	    cmocka_unit_test(test_cache_bounded),
	    cmocka_unit_test(test_flow_sni_and_bytes),
	    cmocka_unit_test(test_refused_reports_limited),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
