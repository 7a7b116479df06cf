/* SPDX-License-Identifier: MIT */
/* test_admit.c - admission by file descriptors (src/core/admit.c, issue
 * 10 part 3): the budget an open-file limit leaves, datagram flows held to
 * it, and a host socket refused with EMFILE answered by ending the least
 * recently active datagram flow and trying once more (for UDP, ICMP and
 * TCP), while TCP connections are never ended for it. The fake host has 64
 * sockets and reuses closed ones, as fds are: its 65th open fails with
 * EMFILE. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"
#include "support/fake_host.h"
#include "wire/build.h"

struct eng {
	struct core_engine *e;
	struct fake_host host;
	uint64_t now;
	char log[4][256];
	int nlog;
};

static void on_log(void *ctx, enum tp_log_level level, const char *msg)
{
	(void)level;
	struct eng *g = ctx;
	if (g->nlog < 4)
		snprintf(g->log[g->nlog++], sizeof(g->log[0]), "%s", msg);
}

static void eng_init(struct eng *g, uint64_t fd_limit)
{
	memset(g, 0, sizeof(*g));
	fake_host_init(&g->host);
	g->host.reuse_closed = true;
	struct tp_config pub;
	tp_config_init(&pub);
	pub.log = on_log;
	pub.log_ctx = g;
	pub.log_level = TP_LOG_INFO;
	struct core_config cfg;
	core_config_from_public(&cfg, &pub);
	cfg.hash_seed = 7;
	cfg.fd_limit = fd_limit;
	g->e = core_create(&cfg, &fake_host_ops, &g->host);
	assert_non_null(g->e);
	g->now = 1000000000ull;
}

static void eng_fini(struct eng *g)
{
	core_destroy(g->e);
	fake_host_free(&g->host);
}

static uint64_t ctr(struct eng *g, enum tp_counter c)
{
	return core_counters(g->e)[c];
}

static struct wire_ip_hdr ip4(uint8_t proto)
{
	struct wire_ip_hdr ip = {.family = 4, .proto = proto};
	const uint8_t src[4] = {10, 0, 0, 8}, dst[4] = {203, 0, 113, 10};
	wire_addr_from4(&ip.src, src);
	wire_addr_from4(&ip.dst, dst);
	return ip;
}

/* Feeds a packet 1 ms after the last one and drops whatever came out. */
static void feed(struct eng *g, const uint8_t *pkt, size_t len)
{
	g->now += 1000;
	core_input(g->e, pkt, len, 0, g->now);
	struct core_tx_pkt out[8];
	size_t n;
	while ((n = core_tx_peek(g->e, out, 8)) > 0)
		core_tx_done(g->e, n);
}

/* A UDP datagram from source port sport: a new flow per port. */
static void udp_from(struct eng *g, uint16_t sport)
{
	uint8_t pkt[128];
	struct wire_ip_hdr ip = ip4(WIRE_PROTO_UDP);
	memcpy(pkt + 28, "q", 1);
	size_t len = wire_udp_build(pkt, sizeof(pkt), &ip, sport, 53, 1);
	assert_true(len > 0);
	feed(g, pkt, len);
}

static void echo_id(struct eng *g, uint16_t id)
{
	uint8_t pkt[128];
	struct wire_ip_hdr ip = ip4(WIRE_PROTO_ICMP);
	memcpy(pkt + 28, "ping", 4);
	size_t len = wire_icmp_echo_build(pkt, sizeof(pkt), &ip,
					  WIRE_ICMP4_ECHO_REQUEST, id, 1, 4);
	assert_true(len > 0);
	feed(g, pkt, len);
}

static void syn_from(struct eng *g, uint16_t sport)
{
	uint8_t pkt[128];
	struct wire_ip_hdr ip = ip4(WIRE_PROTO_TCP);
	struct wire_tcp_hdr h = {.sport = sport,
				 .dport = 80,
				 .seq = 1000,
				 .flags = WIRE_TCP_SYN,
				 .window = 65535};
	size_t len = wire_tcp_build(pkt, sizeof(pkt), &ip, &h, 0);
	assert_true(len > 0);
	feed(g, pkt, len);
}

static void test_budget(void **state)
{
	(void)state;
	struct admit_budget b;
	admit_budget(1024, 65536, &b);
	assert_int_equal(b.fd_limit, 1024);
	assert_int_equal(b.proc_reserve, 16 + 32);
	assert_int_equal(b.tcp_reserve, 256);
	assert_int_equal(b.flows, 1024 - 48);
	assert_int_equal(b.dgram, 1024 - 48 - 256);
	/* A limit above max_flows changes nothing. */
	admit_budget(1u << 20, 2048, &b);
	assert_int_equal(b.flows, 2048);
	assert_int_equal(b.dgram, 2048);
	/* Unknown or unlimited: max_flows alone. */
	admit_budget(0, 4096, &b);
	assert_int_equal(b.fd_limit, 0);
	assert_int_equal(b.flows, 4096);
	assert_int_equal(b.dgram, 4096);
	admit_budget(1ull << 40, 4096, &b);
	assert_int_equal(b.dgram, 4096);
	/* Tiny limits still leave one of each. */
	admit_budget(10, 65536, &b);
	assert_int_equal(b.flows, 1);
	assert_int_equal(b.dgram, 1);
	admit_budget(64, 65536, &b);
	assert_int_equal(b.flows, 64 - 18);
	assert_int_equal(b.dgram, 64 - 18 - 16);
}

/* With a limit of 64 fds, datagram flows are held to 30: a flood of 40
 * UDP flows ends the oldest ones instead of taking the fds TCP needs, and
 * the creation logs the budget. */
static void test_dgram_held_to_budget(void **state)
{
	(void)state;
	struct eng g;
	eng_init(&g, 64);
	assert_true(g.nlog >= 1);
	assert_non_null(strstr(g.log[0], "open-file limit 64: room for 46 "
					 "flows (max_flows 65536); UDP/ICMP "
					 "flows held to 30"));
	for (uint16_t p = 0; p < 40; p++)
		udp_from(&g, (uint16_t)(40000 + p));
	assert_int_equal(g.host.udp_opens, 40);
	assert_int_equal(ctr(&g, TP_CTR_udp_flows_open), 30);
	assert_int_equal(ctr(&g, TP_CTR_flows_evicted), 10);
	assert_int_equal(ctr(&g, TP_CTR_flows_refused_socket), 0);
	assert_int_equal(ctr(&g, TP_CTR_flows_refused_limit), 0);
	/* ICMP shares the budget. */
	echo_id(&g, 7);
	assert_int_equal(ctr(&g, TP_CTR_icmp_flows_open), 1);
	assert_int_equal(ctr(&g, TP_CTR_udp_flows_open), 29);
	/* The rest of the fds are TCP's: 34 connects get theirs (the fake
	 * host has 64 sockets, 30 held by datagram flows). */
	for (uint16_t p = 0; p < 34; p++)
		syn_from(&g, (uint16_t)(50000 + p));
	assert_int_equal(ctr(&g, TP_CTR_tcp_half_open), 34);
	assert_int_equal(ctr(&g, TP_CTR_flows_refused_socket), 0);
	eng_fini(&g);
}

/* No limit known (as when the reserves guessed wrong): the 65th socket
 * fails with EMFILE; the least recently active datagram flow is ended and
 * the open tried once more, for UDP, ICMP and TCP alike. */
static void test_emfile_evicts_and_retries(void **state)
{
	(void)state;
	struct eng g;
	eng_init(&g, 0);
	for (uint16_t p = 0; p < FAKE_MAX_SOCKS; p++)
		udp_from(&g, (uint16_t)(40000 + p));
	assert_int_equal(ctr(&g, TP_CTR_udp_flows_open), FAKE_MAX_SOCKS);
	assert_int_equal(ctr(&g, TP_CTR_flows_evicted), 0);
	/* The DNS query after the flood. */
	udp_from(&g, 33333);
	assert_int_equal(ctr(&g, TP_CTR_flows_refused_socket), 0);
	assert_int_equal(ctr(&g, TP_CTR_flows_evicted), 1);
	assert_int_equal(ctr(&g, TP_CTR_udp_flows_open), FAKE_MAX_SOCKS);
	const struct fake_sock *s = fake_host_sock(&g.host, g.host.last_sock);
	assert_non_null(s);
	assert_int_equal(s->kind, FAKE_UDP);
	assert_int_equal(s->sent_count, 1); /* the query went out */
	/* A ping. */
	echo_id(&g, 9);
	assert_int_equal(ctr(&g, TP_CTR_icmp_flows_open), 1);
	assert_int_equal(ctr(&g, TP_CTR_icmp_echo_requests), 1);
	assert_int_equal(ctr(&g, TP_CTR_flows_evicted), 2);
	/* A TCP connect. */
	syn_from(&g, 44444);
	assert_int_equal(ctr(&g, TP_CTR_tcp_half_open), 1);
	assert_int_equal(ctr(&g, TP_CTR_flows_evicted), 3);
	assert_int_equal(ctr(&g, TP_CTR_flows_refused_socket), 0);
	eng_fini(&g);
}

/* Only datagram flows give way: with every socket held by TCP, a new UDP
 * flow and a new connect are refused (flows_refused_socket), and no
 * connection is ended. */
static void test_tcp_never_evicted(void **state)
{
	(void)state;
	struct eng g;
	eng_init(&g, 0);
	for (uint16_t p = 0; p < FAKE_MAX_SOCKS; p++)
		syn_from(&g, (uint16_t)(50000 + p));
	assert_int_equal(ctr(&g, TP_CTR_tcp_half_open), FAKE_MAX_SOCKS);
	udp_from(&g, 33333);
	syn_from(&g, 44444);
	assert_int_equal(ctr(&g, TP_CTR_flows_refused_socket), 2);
	assert_int_equal(ctr(&g, TP_CTR_flows_evicted), 0);
	assert_int_equal(ctr(&g, TP_CTR_tcp_half_open), FAKE_MAX_SOCKS);
	/* Another error than EMFILE is not answered by eviction either. */
	eng_fini(&g);
	eng_init(&g, 0);
	udp_from(&g, 1000);
	fake_host_fail_next_open(&g.host, -EACCES);
	udp_from(&g, 1001);
	assert_int_equal(ctr(&g, TP_CTR_flows_evicted), 0);
	assert_int_equal(ctr(&g, TP_CTR_udp_flows_open), 1);
	eng_fini(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_budget),
	    cmocka_unit_test(test_dgram_held_to_budget),
	    cmocka_unit_test(test_emfile_evicts_and_retries),
	    cmocka_unit_test(test_tcp_never_evicted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
