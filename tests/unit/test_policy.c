/* SPDX-License-Identifier: MIT */
/* test_policy.c - the destination policy (src/core/policy.c): the list
 * parser, CIDR and port matching at their edges for both families, the
 * precedence of rules, and the answers the engine sends for a refused flow
 * (TCP RST, ICMP/ICMPv6 administratively prohibited, nothing for
 * multicast and broadcast), with the counter and the rate-limited log. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"
#include "core/policy.h"
#include "support/fake_host.h"
#include "wire/build.h"

/* --- matcher helpers --- */

#define MAX_RULES 64

struct rules {
	struct policy_rule r[MAX_RULES];
	uint32_t n;
};

static void rules_init(struct rules *rs)
{
	rs->n = policy_builtin(rs->r);
	assert_int_equal(rs->n, POLICY_BUILTIN_COUNT);
}

static void rules_add(struct rules *rs, enum policy_action a, const char *list)
{
	char err[256];
	int n = policy_parse(list, a, rs->r + rs->n, MAX_RULES - rs->n, err,
			     sizeof(err));
	assert_true(n >= 0);
	rs->n += (uint32_t)n;
}

static struct flow_key key_of(const char *dst, uint8_t proto, uint16_t dport)
{
	struct flow_key k;
	memset(&k, 0, sizeof(k));
	uint8_t b[16];
	if (inet_pton(AF_INET, dst, b) == 1) {
		k.family = 4;
		wire_addr_from4(&k.dst, b);
		uint8_t s[4] = {10, 0, 0, 8};
		wire_addr_from4(&k.src, s);
	} else {
		assert_int_equal(inet_pton(AF_INET6, dst, b), 1);
		k.family = 6;
		wire_addr_from6(&k.dst, b);
		uint8_t s[16] = {0xfd, 0xaa, [15] = 8};
		wire_addr_from6(&k.src, s);
	}
	k.proto = proto;
	k.sport = 40000;
	k.dport = dport;
	return k;
}

/* True if a flow of proto to dst:dport is refused by rs. */
static bool refused(const struct rules *rs, const char *dst, uint8_t proto,
		    uint16_t dport)
{
	struct flow_key k = key_of(dst, proto, dport);
	return policy_refuses(policy_match(rs->r, rs->n, &k));
}

static bool refused_udp(const struct rules *rs, const char *dst)
{
	return refused(rs, dst, WIRE_PROTO_UDP, 53);
}

/* --- parser --- */

static void test_parse_valid(void **state)
{
	struct policy_rule r[16];
	char err[256] = "";
	char s[96];

	assert_int_equal(policy_parse(NULL, POLICY_ALLOW, r, 16, err, 256), 0);
	assert_int_equal(policy_parse("", POLICY_ALLOW, r, 16, err, 256), 0);
	assert_int_equal(policy_parse(" ,, \t", POLICY_ALLOW, r, 16, err, 256),
			 0);
	const char *list = "10.1.0.0/16, 2001:db8::/32:443\t[2001:db8::1]:53,"
			   "192.0.2.7:8000-8099 1.2.3.4 ::1 ::ffff:127.0.0.1 "
			   "10.1.2.3/16 0.0.0.0/0 ::/0 [2001:db8::/48]:1-2";
	assert_int_equal(policy_parse(list, POLICY_DENY, r, 16, err, 256), 11);
	/* Counting without storing gives the same number. */
	assert_int_equal(policy_parse(list, POLICY_DENY, NULL, 0, err, 256),
			 11);
	const char *want[] = {
	    "deny 10.1.0.0/16",
	    "deny [2001:db8::/32]:443",
	    "deny [2001:db8::1/128]:53",
	    "deny 192.0.2.7/32:8000-8099",
	    "deny 1.2.3.4/32",
	    "deny ::1/128",
	    "deny 127.0.0.1/32", /* v4-mapped: an IPv4 rule */
	    "deny 10.1.0.0/16",	 /* host bits dropped */
	    "deny 0.0.0.0/0",
	    "deny ::/0",
	    "deny [2001:db8::/48]:1-2",
	};
	for (int i = 0; i < 11; i++) {
		policy_rule_str(&r[i], s, sizeof(s));
		assert_string_equal(s, want[i]);
		assert_int_equal(r[i].kind, POLICY_USER);
	}
	assert_true(r[0].v4 && !r[1].v4 && r[6].v4 && !r[9].v4);
	/* Printed rules parse back to themselves. */
	for (int i = 0; i < 11; i++) {
		struct policy_rule back;
		policy_rule_str(&r[i], s, sizeof(s));
		assert_int_equal(
		    policy_parse(s + 5, POLICY_DENY, &back, 1, err, 256), 1);
		assert_memory_equal(&back, &r[i], sizeof(back));
	}
	/* More entries than room: counted, not written past cap. */
	assert_int_equal(policy_parse("1.1.1.1 2.2.2.2 3.3.3.3", POLICY_ALLOW,
				      r, 1, err, 256),
			 3);
}

static void test_parse_invalid(void **state)
{
	static const char *const bad[] = {
	    "10.0.0.256",
	    "10.0.0",
	    "10.0.0.0.0",
	    "10.0.0.0/33",
	    "2001:db8::/129",
	    "1.2.3.4:70000",
	    "1.2.3.4:90-80",
	    "1.2.3.4:",
	    "1.2.3.4:-5",
	    "1.2.3.4:5-",
	    "010.0.0.1",
	    "10.0.0.0/",
	    "10.0.0.0/8x",
	    "10.0.0.0/08",
	    "/8",
	    "abc",
	    "1:2:3:4:5:6:7:8:9",
	    "1::2::3",
	    ":1",
	    "1:",
	    "1:::2",
	    "gggg::",
	    "12345::",
	    "[::1",
	    "[::1]x",
	    "[::1]:",
	    "::1:80:x",
	    "1.2.3.4/32:1:2",
	    "1:2:3:4:5:6:7::8:9",
	    "::1.2.3",
	    "1::2.3.4.5.6",
	    "::1.2.3.4:5",
	};
	char err[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char list[96];
		snprintf(list, sizeof(list), "10.0.0.0/8, %s", bad[i]);
		err[0] = 0;
		int n =
		    policy_parse(list, POLICY_ALLOW, NULL, 0, err, sizeof(err));
		if (n != -1)
			fail_msg("'%s' was accepted", bad[i]);
		/* The message names the entry. */
		assert_non_null(strstr(err, bad[i]));
	}
}

/* --- matching --- */

static void test_builtin_defaults(void **state)
{
	struct rules rs;
	rules_init(&rs);
	/* Refused. */
	static const char *const no[] = {
	    "127.0.0.1",
	    "127.255.255.255",
	    "127.1.2.3",
	    "::1",
	    "0.0.0.0",
	    "0.1.2.3",
	    "::",
	    "224.0.0.1",
	    "239.255.255.255",
	    "ff02::1",
	    "ff0e::1234",
	    "255.255.255.255",
	    "::ffff:127.0.0.1",
	    "::ffff:0.0.0.0",
	    "::ffff:224.0.0.251",
	    "169.254.169.254", /* the cloud metadata service */
	    "169.254.0.0",
	    "169.254.255.255",
	    "::ffff:169.254.169.254",
	    "fe80::1",
	    "febf:ffff::1",
	    "fe80::a9fe:a9fe",
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (!refused_udp(&rs, no[i]))
			fail_msg("%s allowed by default", no[i]);
	/* Allowed: the neighbours of each refused range. */
	static const char *const yes[] = {
	    "126.255.255.255",
	    "128.0.0.0",
	    "1.0.0.0",
	    "223.255.255.255",
	    "240.0.0.1",
	    "255.255.255.254",
	    "::2",
	    "169.253.255.255",
	    "169.255.0.0",
	    "fe7f:ffff::1",
	    "fec0::1",
	    "feff::1",
	    "2001:db8::1",
	    "198.51.100.1",
	    "::ffff:198.51.100.1",
	};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (refused_udp(&rs, yes[i]))
			fail_msg("%s refused by default", yes[i]);
	/* Every protocol. */
	assert_true(refused(&rs, "127.0.0.1", WIRE_PROTO_TCP, 22));
	assert_true(refused(&rs, "127.0.0.1", WIRE_PROTO_ICMP, 0));
	assert_true(refused(&rs, "::1", WIRE_PROTO_ICMP6, 0));
	assert_true(refused(&rs, "169.254.169.254", WIRE_PROTO_TCP, 80));
	assert_true(refused(&rs, "169.254.169.254", WIRE_PROTO_ICMP, 0));
	assert_true(refused(&rs, "fe80::1", WIRE_PROTO_TCP, 22));
	assert_true(refused(&rs, "fe80::1", WIRE_PROTO_ICMP6, 0));
}

/* Link-local (issue 10, finding 4) is reopened by --allow, as loopback is:
 * the longer or equal user prefix wins over the built-in /16 and /10. */
static void test_link_local_reopened(void **state)
{
	struct rules rs;
	rules_init(&rs);
	rules_add(&rs, POLICY_ALLOW, "169.254.169.254/32:80 fe80::/10");
	assert_false(refused(&rs, "169.254.169.254", WIRE_PROTO_TCP, 80));
	assert_true(refused(&rs, "169.254.169.254", WIRE_PROTO_TCP, 443));
	assert_true(refused(&rs, "169.254.1.1", WIRE_PROTO_UDP, 80));
	assert_false(refused(&rs, "fe80::1", WIRE_PROTO_UDP, 53));
	assert_false(refused(&rs, "fe80::1", WIRE_PROTO_ICMP6, 0));
	struct flow_key k = key_of("169.254.1.1", WIRE_PROTO_UDP, 80);
	char why[128];
	policy_rule_str(policy_match(rs.r, rs.n, &k), why, sizeof(why));
	assert_string_equal(
	    why, "deny 169.254.0.0/16 (link-local, refused by default)");
	k = key_of("fe80::1", WIRE_PROTO_UDP, 80);
	rules_init(&rs);
	policy_rule_str(policy_match(rs.r, rs.n, &k), why, sizeof(why));
	assert_string_equal(why,
			    "deny fe80::/10 (link-local, refused by default)");
}

static void test_cidr_edges(void **state)
{
	struct rules rs;
	rs.n = 0; /* no built-ins: the user's rules alone */
	rules_add(&rs, POLICY_DENY,
		  "10.0.0.0/8 192.0.2.0/31 192.0.2.9/32 "
		  "2001:db8:0:0:8000::/65 2001:db8:1::/127 2001:db8:2::5/128");
	static const char *const no[] = {
	    "10.0.0.0",
	    "10.255.255.255",
	    "192.0.2.0",
	    "192.0.2.1",
	    "192.0.2.9",
	    "2001:db8::8000:0:0:0",
	    "2001:db8::ffff:ffff:ffff:ffff",
	    "2001:db8:1::",
	    "2001:db8:1::1",
	    "2001:db8:2::5",
	    "::ffff:10.1.1.1",
	};
	static const char *const yes[] = {
	    "9.255.255.255",
	    "11.0.0.0",
	    "192.0.2.2",
	    "192.0.2.8",
	    "192.0.2.10",
	    "0.0.0.0",
	    "2001:db8::7fff:ffff:ffff:ffff",
	    "2001:db8:0:1::",
	    "2001:db8:1::2",
	    "2001:db8:2::4",
	    "2001:db8:2::6",
	    "::a00:1",
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (!refused_udp(&rs, no[i]))
			fail_msg("%s allowed", no[i]);
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (refused_udp(&rs, yes[i]))
			fail_msg("%s refused", yes[i]);

	/* /1 splits the space in halves. */
	rs.n = 0;
	rules_add(&rs, POLICY_DENY, "128.0.0.0/1 8000::/1");
	assert_true(refused_udp(&rs, "128.0.0.0"));
	assert_true(refused_udp(&rs, "255.255.255.255"));
	assert_false(refused_udp(&rs, "127.255.255.255"));
	assert_true(refused_udp(&rs, "8000::"));
	assert_true(refused_udp(&rs, "ffff::1"));
	assert_false(
	    refused_udp(&rs, "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));

	/* /0 covers its family only: IPv6 ::/0 leaves IPv4 (and v4-mapped
	 * IPv6 destinations) alone, and 0.0.0.0/0 leaves IPv6 alone. */
	rs.n = 0;
	rules_add(&rs, POLICY_DENY, "::/0");
	assert_true(refused_udp(&rs, "2001:db8::1"));
	assert_true(refused_udp(&rs, "::"));
	assert_false(refused_udp(&rs, "198.51.100.1"));
	assert_false(refused_udp(&rs, "::ffff:198.51.100.1"));
	rs.n = 0;
	rules_add(&rs, POLICY_DENY, "0.0.0.0/0");
	assert_true(refused_udp(&rs, "198.51.100.1"));
	assert_true(refused_udp(&rs, "::ffff:198.51.100.1"));
	assert_false(refused_udp(&rs, "2001:db8::1"));
}

static void test_ports(void **state)
{
	struct rules rs;
	rs.n = 0;
	rules_add(&rs, POLICY_DENY,
		  "198.51.100.0/24:443 [2001:db8::/32]:53 "
		  "203.0.113.0/24:1000-1999");
	assert_true(refused(&rs, "198.51.100.1", WIRE_PROTO_TCP, 443));
	assert_true(refused(&rs, "198.51.100.1", WIRE_PROTO_UDP, 443));
	assert_false(refused(&rs, "198.51.100.1", WIRE_PROTO_TCP, 442));
	assert_false(refused(&rs, "198.51.100.1", WIRE_PROTO_TCP, 444));
	/* No ports in ICMP: a rule with ports never matches echo. */
	assert_false(refused(&rs, "198.51.100.1", WIRE_PROTO_ICMP, 0));
	assert_true(refused(&rs, "2001:db8::1", WIRE_PROTO_UDP, 53));
	assert_false(refused(&rs, "2001:db8::1", WIRE_PROTO_UDP, 54));
	assert_false(refused(&rs, "2001:db8::1", WIRE_PROTO_ICMP6, 0));
	assert_false(refused(&rs, "203.0.113.1", WIRE_PROTO_TCP, 999));
	assert_true(refused(&rs, "203.0.113.1", WIRE_PROTO_TCP, 1000));
	assert_true(refused(&rs, "203.0.113.1", WIRE_PROTO_TCP, 1999));
	assert_false(refused(&rs, "203.0.113.1", WIRE_PROTO_TCP, 2000));
	rs.n = 0;
	rules_add(&rs, POLICY_DENY, "0.0.0.0/0:0-65535");
	assert_true(refused(&rs, "192.0.2.1", WIRE_PROTO_TCP, 0));
	assert_true(refused(&rs, "192.0.2.1", WIRE_PROTO_UDP, 65535));
	assert_false(refused(&rs, "192.0.2.1", WIRE_PROTO_ICMP, 0));
}

/* The rule order documented in policy.c and tunproxy.h. */
static void test_precedence(void **state)
{
	struct rules rs;

	/* A longer user prefix opens one loopback address only. */
	rules_init(&rs);
	rules_add(&rs, POLICY_ALLOW, "127.0.0.1/32");
	assert_false(refused_udp(&rs, "127.0.0.1"));
	assert_true(refused_udp(&rs, "127.0.0.2"));
	assert_true(refused_udp(&rs, "::1"));

	/* An equal prefix: the user's rule beats the built-in one. */
	rules_init(&rs);
	rules_add(&rs, POLICY_ALLOW, "127.0.0.0/8 ::1/128");
	assert_false(refused_udp(&rs, "127.3.2.1"));
	assert_false(refused_udp(&rs, "::1"));
	assert_false(refused_udp(&rs, "::ffff:127.0.0.1"));

	/* A shorter prefix does not: allow-all keeps the safe defaults. */
	rules_init(&rs);
	rules_add(&rs, POLICY_ALLOW, "0.0.0.0/0 ::/0");
	assert_true(refused_udp(&rs, "127.0.0.1"));
	assert_true(refused_udp(&rs, "224.0.0.251"));
	assert_true(refused_udp(&rs, "ff02::fb"));

	/* Allow only one network: deny all, allow the longer prefix. */
	rules_init(&rs);
	rules_add(&rs, POLICY_DENY, "0.0.0.0/0");
	rules_add(&rs, POLICY_ALLOW, "10.1.0.0/16");
	assert_false(refused_udp(&rs, "10.1.2.3"));
	assert_true(refused_udp(&rs, "10.2.0.1"));
	assert_true(refused_udp(&rs, "198.51.100.1"));
	assert_false(refused_udp(&rs, "2001:db8::1")); /* IPv6 untouched */

	/* Equal rules of the user: deny beats allow, in either order. */
	for (int order = 0; order < 2; order++) {
		rs.n = 0;
		rules_add(&rs, order ? POLICY_ALLOW : POLICY_DENY,
			  "10.0.0.0/8");
		rules_add(&rs, order ? POLICY_DENY : POLICY_ALLOW,
			  "10.0.0.0/8");
		assert_true(refused_udp(&rs, "10.0.0.1"));
	}

	/* Same prefix: a rule with ports beats one without, a narrower
	 * range beats a wider one. */
	rs.n = 0;
	rules_add(&rs, POLICY_DENY, "198.51.100.0/24");
	rules_add(&rs, POLICY_ALLOW, "198.51.100.0/24:400-500");
	rules_add(&rs, POLICY_DENY, "198.51.100.0/24:443");
	assert_true(refused(&rs, "198.51.100.1", WIRE_PROTO_TCP, 80));
	assert_false(refused(&rs, "198.51.100.1", WIRE_PROTO_TCP, 444));
	assert_true(refused(&rs, "198.51.100.1", WIRE_PROTO_TCP, 443));
	assert_true(refused(&rs, "198.51.100.1", WIRE_PROTO_ICMP, 0));
	/* ...but the prefix comes first: a /32 without ports wins. */
	rules_add(&rs, POLICY_ALLOW, "198.51.100.7");
	assert_false(refused(&rs, "198.51.100.7", WIRE_PROTO_TCP, 443));

	/* The dev transport's socket (UDP, with a port) stays refused when
	 * the user opens the loopback, unless opened exactly. */
	rules_init(&rs);
	uint32_t first = rs.n;
	rules_add(&rs, POLICY_DENY, "127.0.0.1/32:8081");
	rs.r[first].kind = POLICY_SELF;
	rs.r[first].proto = WIRE_PROTO_UDP;
	rules_add(&rs, POLICY_ALLOW, "127.0.0.0/8");
	assert_true(refused(&rs, "127.0.0.1", WIRE_PROTO_UDP, 8081));
	assert_false(refused(&rs, "127.0.0.1", WIRE_PROTO_UDP, 8082));
	assert_false(refused(&rs, "127.0.0.1", WIRE_PROTO_TCP, 8081));
	rules_add(&rs, POLICY_ALLOW, "127.0.0.1:8081");
	assert_false(refused(&rs, "127.0.0.1", WIRE_PROTO_UDP, 8081));

	/* Which rule decided is reported, for the log. */
	rules_init(&rs);
	struct flow_key k = key_of("127.0.0.1", WIRE_PROTO_TCP, 22);
	const struct policy_rule *r = policy_match(rs.r, rs.n, &k);
	char s[128];
	policy_rule_str(r, s, sizeof(s));
	assert_string_equal(s, "deny 127.0.0.0/8 (loopback of this host, "
			       "refused by default)");
	k = key_of("198.51.100.1", WIRE_PROTO_TCP, 22);
	assert_null(policy_match(rs.r, rs.n, &k));
}

static void test_no_reply_addresses(void **state)
{
	static const char *const silent[] = {
	    "224.0.0.1", "239.1.2.3", "255.255.255.255",  "0.0.0.0",
	    "ff02::1",	 "::",	      "::ffff:224.0.0.1",
	};
	static const char *const answer[] = {
	    "127.0.0.1", "10.0.0.1", "223.255.255.255", "::1", "2001:db8::1",
	};
	for (size_t i = 0; i < sizeof(silent) / sizeof(silent[0]); i++) {
		struct flow_key k = key_of(silent[i], WIRE_PROTO_UDP, 1);
		assert_true(policy_addr_no_reply(k.family, &k.dst));
	}
	for (size_t i = 0; i < sizeof(answer) / sizeof(answer[0]); i++) {
		struct flow_key k = key_of(answer[i], WIRE_PROTO_UDP, 1);
		assert_false(policy_addr_no_reply(k.family, &k.dst));
	}
}

/* --- through the engine --- */

struct eng {
	struct core_engine *e;
	struct fake_host host;
	uint64_t now;
	char log[16][256];
	int nlog;
	uint8_t out[2048];
	size_t out_len;
	struct wire_packet p; /* the one packet out, parsed */
};

static void on_log(void *ctx, enum tp_log_level level, const char *msg)
{
	struct eng *g = ctx;
	if (g->nlog < 16)
		snprintf(g->log[g->nlog++], sizeof(g->log[0]), "%s", msg);
}

static void eng_init_tun(struct eng *g, const char *allow, const char *deny,
			 const char *self, const char *tun)
{
	memset(g, 0, sizeof(*g));
	fake_host_init(&g->host);
	struct tp_config pub;
	tp_config_init(&pub);
	pub.allow = allow;
	pub.deny = deny;
	pub.tun_prefixes = tun;
	pub.log = on_log;
	pub.log_ctx = g;
	pub.log_level = TP_LOG_INFO;
	struct core_config cfg;
	core_config_from_public(&cfg, &pub);
	cfg.hash_seed = 7;
	cfg.policy_self = self;
	g->e = core_create(&cfg, &fake_host_ops, &g->host);
	assert_non_null(g->e);
	g->now = 1000000000ull;
}

static void eng_init(struct eng *g, const char *allow, const char *deny,
		     const char *self)
{
	eng_init_tun(g, allow, deny, self, NULL);
}

static void eng_fini(struct eng *g)
{
	core_destroy(g->e);
	fake_host_free(&g->host);
}

/* Feeds the packet and returns how many the engine sent back (the first
 * is kept, parsed, in g->p). */
static size_t eng_feed(struct eng *g, const uint8_t *pkt, size_t len)
{
	core_input(g->e, pkt, len, 0, g->now);
	struct core_tx_pkt out[8];
	size_t n = core_tx_peek(g->e, out, 8);
	g->out_len = 0;
	if (n) {
		memcpy(g->out, out[0].data, out[0].len);
		g->out_len = out[0].len;
		assert_int_equal(wire_packet_parse(g->out, g->out_len, &g->p),
				 WIRE_OK);
	}
	core_tx_done(g->e, n);
	return n;
}

static struct wire_ip_hdr ip_to(const char *dst, uint8_t proto)
{
	struct flow_key k = key_of(dst, proto, 0);
	struct wire_ip_hdr ip = {.family = k.family, .proto = proto};
	ip.src = k.src;
	ip.dst = k.dst;
	return ip;
}

static size_t udp_to(uint8_t *buf, const char *dst, uint16_t dport)
{
	struct wire_ip_hdr ip = ip_to(dst, WIRE_PROTO_UDP);
	size_t off = wire_ip_hdr_len(ip.family) + 8;
	memcpy(buf + off, "hello", 5);
	return wire_udp_build(buf, 2048, &ip, 40000, dport, 5);
}

static size_t tcp_to(uint8_t *buf, const char *dst, uint16_t dport,
		     uint8_t flags)
{
	struct wire_ip_hdr ip = ip_to(dst, WIRE_PROTO_TCP);
	struct wire_tcp_hdr h = {.sport = 40000,
				 .dport = dport,
				 .seq = 1000,
				 .ack = flags & WIRE_TCP_ACK ? 5000 : 0,
				 .flags = flags,
				 .window = 65535};
	return wire_tcp_build(buf, 2048, &ip, &h, 0);
}

static size_t echo_to(uint8_t *buf, const char *dst)
{
	uint8_t fam = strchr(dst, ':') ? 6 : 4;
	struct wire_ip_hdr ip =
	    ip_to(dst, fam == 4 ? WIRE_PROTO_ICMP : WIRE_PROTO_ICMP6);
	memcpy(buf + wire_ip_hdr_len(fam) + 8, "abcd", 4);
	return wire_icmp_echo_build(buf, 2048, &ip, fam == 4 ? 8 : 128, 77, 1,
				    4);
}

static uint64_t ctr(struct eng *g, enum tp_counter c)
{
	return core_counters(g->e)[c];
}

/* The engine's answer is ICMP(v6) administratively prohibited quoting the
 * packet we sent. */
static void assert_admin_prohibited(struct eng *g, const uint8_t *sent,
				    size_t sent_len)
{
	if (g->p.family == 4) {
		assert_int_equal(g->p.proto, WIRE_PROTO_ICMP);
		assert_int_equal(g->p.u.icmp.type, 3);
		assert_int_equal(g->p.u.icmp.code, 13);
	} else {
		assert_int_equal(g->p.proto, WIRE_PROTO_ICMP6);
		assert_int_equal(g->p.u.icmp.type, 1);
		assert_int_equal(g->p.u.icmp.code, 1);
	}
	/* From the refused destination to the app. */
	if (g->p.family == 4)
		assert_memory_equal(wire_addr_v4(&g->p.src), sent + 16, 4);
	else
		assert_memory_equal(g->p.src.b, sent + 24, 16);
	/* The quote (after the 8-byte ICMP header) is our packet. */
	assert_true(g->p.l4_len >= 8 + sent_len);
	assert_memory_equal(g->p.l4 + 8, sent, sent_len);
}

static void test_refusal_packets(void **state)
{
	struct eng g;
	uint8_t pkt[2048];
	size_t len;
	eng_init(&g, NULL, "203.0.113.0/24:7777", NULL);

	/* UDP to the IPv4 and IPv6 loopback and to a denied port. */
	const char *udp_dsts[] = {"127.0.0.1", "::1", "203.0.113.10",
				  "::ffff:127.0.0.1"};
	for (int i = 0; i < 4; i++) {
		len = udp_to(pkt, udp_dsts[i], 7777);
		assert_int_equal(eng_feed(&g, pkt, len), 1);
		assert_admin_prohibited(&g, pkt, len);
	}
	assert_int_equal(g.host.udp_opens, 0);
	assert_int_equal(ctr(&g, TP_CTR_flows_refused_policy), 4);
	assert_int_equal(core_flow_count(g.e), 0);

	/* Echo requests. */
	len = echo_to(pkt, "127.0.0.1");
	assert_int_equal(eng_feed(&g, pkt, len), 1);
	assert_admin_prohibited(&g, pkt, len);
	len = echo_to(pkt, "::1");
	assert_int_equal(eng_feed(&g, pkt, len), 1);
	assert_admin_prohibited(&g, pkt, len);
	assert_int_equal(g.host.icmp_opens, 0);

	/* A SYN gets <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>, no connect. */
	for (int v6 = 0; v6 < 2; v6++) {
		len = tcp_to(pkt, v6 ? "::1" : "127.0.0.1", 22, WIRE_TCP_SYN);
		assert_int_equal(eng_feed(&g, pkt, len), 1);
		assert_int_equal(g.p.proto, WIRE_PROTO_TCP);
		assert_int_equal(g.p.u.tcp.flags, WIRE_TCP_RST | WIRE_TCP_ACK);
		assert_int_equal(g.p.u.tcp.ack, 1001);
		assert_int_equal(g.p.sport, 22);
		assert_int_equal(g.p.dport, 40000);
	}
	assert_int_equal(g.host.connects, 0);
	assert_int_equal(ctr(&g, TP_CTR_flows_refused_policy), 8);

	/* Segments that open nothing are not the policy's: a stray ACK gets
	 * the usual RST, a RST nothing. */
	len = tcp_to(pkt, "127.0.0.1", 22, WIRE_TCP_ACK);
	assert_int_equal(eng_feed(&g, pkt, len), 1);
	assert_int_equal(g.p.u.tcp.flags, WIRE_TCP_RST);
	assert_int_equal(g.p.u.tcp.seq, 5000);
	len = tcp_to(pkt, "127.0.0.1", 22, WIRE_TCP_RST);
	assert_int_equal(eng_feed(&g, pkt, len), 0);
	assert_int_equal(ctr(&g, TP_CTR_flows_refused_policy), 8);

	/* Multicast and broadcast: refused in silence (RFC 1122 3.2.2). */
	len = udp_to(pkt, "224.0.0.251", 5353);
	assert_int_equal(eng_feed(&g, pkt, len), 0);
	len = udp_to(pkt, "ff02::fb", 5353);
	assert_int_equal(eng_feed(&g, pkt, len), 0);
	len = udp_to(pkt, "255.255.255.255", 67);
	assert_int_equal(eng_feed(&g, pkt, len), 0);
	len = tcp_to(pkt, "255.255.255.255", 80, WIRE_TCP_SYN);
	assert_int_equal(eng_feed(&g, pkt, len), 0);
	len = echo_to(pkt, "224.0.0.1");
	assert_int_equal(eng_feed(&g, pkt, len), 0);
	len = udp_to(pkt, "0.0.0.0", 80);
	assert_int_equal(eng_feed(&g, pkt, len), 0);
	assert_int_equal(ctr(&g, TP_CTR_flows_refused_policy), 14);

	/* Allowed destinations go to the host as before. */
	len = udp_to(pkt, "203.0.113.10", 7778);
	assert_int_equal(eng_feed(&g, pkt, len), 0);
	assert_int_equal(g.host.udp_opens, 1);
	len = tcp_to(pkt, "198.51.100.1", 80, WIRE_TCP_SYN);
	assert_int_equal(eng_feed(&g, pkt, len), 0);
	assert_int_equal(g.host.connects, 1);
	len = echo_to(pkt, "2001:db8::1");
	assert_int_equal(eng_feed(&g, pkt, len), 0);
	assert_int_equal(g.host.icmp_opens, 1);
	assert_int_equal(ctr(&g, TP_CTR_flows_refused_policy), 14);
	assert_int_equal(core_flow_count(g.e), 3);
	eng_fini(&g);
}

static void test_allow_and_self_through_engine(void **state)
{
	struct eng g;
	uint8_t pkt[2048];
	size_t len;
	eng_init(&g, "127.0.0.1/32 ::1", NULL, "127.0.0.1/32:8081");
	len = udp_to(pkt, "127.0.0.1", 5353);
	assert_int_equal(eng_feed(&g, pkt, len), 0);
	assert_int_equal(g.host.udp_opens, 1);
	len = tcp_to(pkt, "::1", 22, WIRE_TCP_SYN);
	assert_int_equal(eng_feed(&g, pkt, len), 0);
	assert_int_equal(g.host.connects, 1);
	/* The dev transport's own socket: still refused. */
	len = udp_to(pkt, "127.0.0.1", 8081);
	assert_int_equal(eng_feed(&g, pkt, len), 1);
	assert_admin_prohibited(&g, pkt, len);
	assert_int_equal(g.host.udp_opens, 1);
	assert_non_null(strstr(g.log[g.nlog - 1], "dev transport"));
	/* 127.0.0.2 was not allowed. */
	len = udp_to(pkt, "127.0.0.2", 5353);
	assert_int_equal(eng_feed(&g, pkt, len), 1);
	assert_int_equal(ctr(&g, TP_CTR_flows_refused_policy), 2);
	eng_fini(&g);
}

/* The TUN's own prefixes (issue 10, finding 3): a flow there would be
 * sent by a host socket straight back into the TUN when it shares the
 * namespace, and read again as a new flow, forever. Refused like the
 * defaults, every protocol, both families; an allow rule reopens one. */
static void test_tun_prefixes_refused(void **state)
{
	struct eng g;
	uint8_t pkt[2048];
	size_t len;
	eng_init_tun(&g, "10.0.0.200/32", NULL, NULL, "10.0.0.8/24,fdaa::8/64");
	len = udp_to(pkt, "10.0.0.9", 7777);
	assert_int_equal(eng_feed(&g, pkt, len), 1);
	assert_admin_prohibited(&g, pkt, len);
	assert_non_null(strstr(g.log[g.nlog - 1],
			       "deny 10.0.0.0/24 (the TUN's own prefix"));
	len = udp_to(pkt, "fdaa::9", 7777);
	assert_int_equal(eng_feed(&g, pkt, len), 1);
	assert_admin_prohibited(&g, pkt, len);
	len = tcp_to(pkt, "10.0.0.8", 80, WIRE_TCP_SYN);
	assert_int_equal(eng_feed(&g, pkt, len), 1);
	assert_true(g.p.u.tcp.flags & WIRE_TCP_RST);
	len = echo_to(pkt, "fdaa::1");
	assert_int_equal(eng_feed(&g, pkt, len), 1);
	assert_int_equal(g.host.udp_opens + g.host.connects + g.host.icmp_opens,
			 0);
	assert_int_equal(ctr(&g, TP_CTR_flows_refused_policy), 4);
	assert_int_equal(ctr(&g, TP_CTR_flows_created), 0);
	/* Outside the prefixes, and the one address allowed: carried. */
	len = udp_to(pkt, "10.0.1.9", 7777);
	assert_int_equal(eng_feed(&g, pkt, len), 0);
	len = udp_to(pkt, "fdaa:0:0:1::9", 7777);
	assert_int_equal(eng_feed(&g, pkt, len), 0);
	len = udp_to(pkt, "10.0.0.200", 7777);
	assert_int_equal(eng_feed(&g, pkt, len), 0);
	assert_int_equal(g.host.udp_opens, 3);
	assert_int_equal(ctr(&g, TP_CTR_flows_refused_policy), 4);
	eng_fini(&g);
}

/* A bad list makes core_create fail (the driver checks first and names
 * the entry). */
static void test_bad_list_fails_create(void **state)
{
	struct fake_host h;
	fake_host_init(&h);
	struct tp_config pub;
	tp_config_init(&pub);
	pub.deny = "10.0.0.0/8 10.0.0.0/99";
	struct core_config cfg;
	core_config_from_public(&cfg, &pub);
	assert_null(core_create(&cfg, &fake_host_ops, &h));
	fake_host_free(&h);
}

/* One line a second per kind, with the tuple and the rule; the next line
 * says how many were left out. */
static void test_refusal_log_rate_limited(void **state)
{
	struct eng g;
	uint8_t pkt[2048];
	eng_init(&g, NULL, NULL, NULL);
	for (int i = 0; i < 50; i++) {
		size_t len = udp_to(pkt, "127.0.0.1", (uint16_t)(1000 + i));
		eng_feed(&g, pkt, len);
		g.now += 1000; /* 50 refusals within 50 ms */
	}
	assert_int_equal(ctr(&g, TP_CTR_flows_refused_policy), 50);
	assert_int_equal(g.nlog, 1);
	assert_non_null(strstr(g.log[0], "refused by policy"));
	assert_non_null(
	    strstr(g.log[0], "udp 10.0.0.8:40000 -> 127.0.0.1:1000"));
	assert_non_null(strstr(g.log[0], "deny 127.0.0.0/8 (loopback"));
	assert_int_equal(ctr(&g, TP_CTR_log_suppressed), 49);
	g.now += 1000000;
	size_t len = udp_to(pkt, "::1", 53);
	eng_feed(&g, pkt, len);
	assert_int_equal(g.nlog, 2);
	assert_non_null(strstr(g.log[1], "udp [fdaa::8]:40000 -> [::1]:53"));
	assert_non_null(strstr(g.log[1], "[49 more like this not logged]"));
	eng_fini(&g);
}

/* ICMP errors about refused flows are rate-limited (RFC 4443 2.4(f)): a
 * burst of 50, then one a millisecond; every refusal is still counted. */
static void test_refusal_icmp_rate_limited(void **state)
{
	struct eng g;
	uint8_t pkt[2048];
	eng_init(&g, NULL, NULL, NULL);
	size_t answered = 0;
	for (int i = 0; i < 200; i++) {
		size_t len = udp_to(pkt, "127.0.0.1", (uint16_t)(1000 + i));
		answered += eng_feed(&g, pkt, len);
	}
	assert_int_equal(answered, 50);
	assert_int_equal(ctr(&g, TP_CTR_icmp_errors_limited), 150);
	assert_int_equal(ctr(&g, TP_CTR_flows_refused_policy), 200);
	g.now += 10000; /* 10 ms: 10 more */
	answered = 0;
	for (int i = 0; i < 20; i++) {
		size_t len = udp_to(pkt, "::1", (uint16_t)(3000 + i));
		answered += eng_feed(&g, pkt, len);
	}
	assert_int_equal(answered, 10);
	/* TCP refusals are RSTs, not limited here. */
	for (int i = 0; i < 20; i++) {
		size_t len = tcp_to(pkt, "127.0.0.1", 22, WIRE_TCP_SYN);
		assert_int_equal(eng_feed(&g, pkt, len), 1);
	}
	g.now += 1000000; /* a quiet second refills the burst */
	answered = 0;
	for (int i = 0; i < 60; i++) {
		size_t len = echo_to(pkt, "127.0.0.1");
		answered += eng_feed(&g, pkt, len);
	}
	assert_int_equal(answered, 50);
	eng_fini(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_valid),
	    cmocka_unit_test(test_parse_invalid),
	    cmocka_unit_test(test_builtin_defaults),
	    cmocka_unit_test(test_link_local_reopened),
	    cmocka_unit_test(test_cidr_edges),
	    cmocka_unit_test(test_ports),
	    cmocka_unit_test(test_precedence),
	    cmocka_unit_test(test_no_reply_addresses),
	    cmocka_unit_test(test_refusal_packets),
	    cmocka_unit_test(test_allow_and_self_through_engine),
	    cmocka_unit_test(test_tun_prefixes_refused),
	    cmocka_unit_test(test_bad_list_fails_create),
	    cmocka_unit_test(test_refusal_log_rate_limited),
	    cmocka_unit_test(test_refusal_icmp_rate_limited),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
