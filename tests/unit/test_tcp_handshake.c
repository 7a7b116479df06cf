/* SPDX-License-Identifier: MIT */
/* test_tcp_handshake.c - connection setup through the engine: options
 * negotiated, connect outcomes (refused, unreachable, silent), limits,
 * segments for unknown flows, SYN-ACK retransmission, and the size of the
 * per-connection state. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/flow.h"
#include "core/flowinfo.h"
#include "core/tcp_conn.h"
#include "support/tcp_harness.h"

static void check_synack(const struct th *t, const struct th_pkt *p,
			 const struct wire_tcp_opts *offered, uint16_t mss)
{
	const struct wire_tcp_opts *o = &p->p.u.tcp.opts;
	assert_int_equal(o->mss, mss);
	assert_int_equal(o->has_wscale, offered && offered->has_wscale);
	if (o->has_wscale)
		assert_int_equal(o->wscale, 7);
	assert_int_equal(o->sack_permitted, offered && offered->sack_permitted);
	assert_int_equal(o->has_ts, offered && offered->has_ts);
	if (o->has_ts)
		assert_int_equal(o->ts_ecr, t->app_ts);
	/* RFC 7323 2.2: the window of a SYN is never scaled. */
	assert_true(p->p.u.tcp.window > 0);
}

static void handshake_with(const struct wire_tcp_opts *opts, uint8_t family)
{
	struct th t;
	th_init(&t, family, NULL);
	th_syn(&t, opts);
	/* Nothing for the app until the destination answered. */
	assert_int_equal(th_out(&t), 0);
	assert_int_equal(t.host.connects, 1);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_half_open), 1);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_conns_open), 0);

	const struct th_pkt *sa = th_connect_ok(&t);
	check_synack(&t, sa, opts, family == 4 ? 1460 : 1440);
	assert_true(wire_addr_eq(&sa->p.src, &t.dst));
	assert_true(wire_addr_eq(&sa->p.dst, &t.app));
	assert_int_equal(sa->p.sport, t.dport);
	assert_int_equal(sa->p.dport, t.sport);
	/* Half-open until the app's ACK completes the handshake. */
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_half_open), 1);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_conns_open), 1);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_conns_created), 1);

	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 1, NULL, 0);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_half_open), 0);
	assert_int_equal(th_out(&t), 0); /* no data yet, nothing to say */
	/* Established: the host socket is watched for data. */
	struct fake_sock *s = fake_host_sock(&t.host, t.sock);
	assert_true(s->want_rd);
	assert_false(s->want_wr);
	assert_int_equal(core_flow_count(t.e), 1);
	th_fini(&t);
}

static void test_handshake_no_options(void **state)
{
	handshake_with(NULL, 4);
}

static void test_handshake_mss_only(void **state)
{
	struct wire_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.mss = 1460;
	handshake_with(&o, 4);
}

static void test_handshake_wscale(void **state)
{
	struct wire_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.mss = 1460;
	o.has_wscale = true;
	o.wscale = 9;
	handshake_with(&o, 4);
}

static void test_handshake_sack(void **state)
{
	struct wire_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.mss = 1460;
	o.sack_permitted = true;
	handshake_with(&o, 4);
}

static void test_handshake_timestamps(void **state)
{
	struct wire_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.mss = 1460;
	o.has_ts = true;
	handshake_with(&o, 4);
}

static void test_handshake_all(void **state)
{
	struct wire_tcp_opts o = th_opts_all();
	handshake_with(&o, 4);
	handshake_with(&o, 6);
}

/* The MSS we use toward the app is the app's, clamped to our MTU; the
 * default 536 applies when the SYN had none. */
static void test_mss_used_for_data(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	uint8_t data[3000];
	memset(data, 'x', sizeof(data));
	fake_host_rx_push(&t.host, t.sock, data, sizeof(data));
	th_event(&t, CORE_EV_READ);
	int n = th_out(&t);
	assert_int_equal(n, 6); /* 5 x 536 + 320 */
	assert_int_equal(t.out[0].p.payload_len, 536);
	assert_int_equal(t.out[5].p.payload_len, 3000 - 5 * 536);
	th_fini(&t);

	struct wire_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.mss = 9000; /* larger than our MTU allows */
	th_init(&t, 4, NULL);
	th_establish(&t, &o);
	fake_host_rx_push(&t.host, t.sock, data, sizeof(data));
	th_event(&t, CORE_EV_READ);
	assert_int_equal(th_out(&t), 3);
	assert_int_equal(t.out[0].p.payload_len, 1460);
	th_fini(&t);
}

static void test_connect_refused(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_syn(&t, NULL);
	fake_host_set_errno(&t.host, t.sock, ECONNREFUSED);
	th_event(&t, CORE_EV_ERROR);
	assert_int_equal(th_out(&t), 1);
	const struct wire_tcp *r = &t.out[0].p.u.tcp;
	assert_int_equal(r->flags, WIRE_TCP_RST | WIRE_TCP_ACK);
	assert_int_equal(r->ack, t.app_isn + 1);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_connect_refused), 1);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_rst_sent), 1);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_rst_stray), 0);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_half_open), 0);
	assert_int_equal(core_flow_count(t.e), 0);
	assert_true(fake_host_sock(&t.host, t.sock)->closed);
	th_fini(&t);

	/* Refused at once by connect() itself (a local port). */
	th_init(&t, 4, NULL);
	fake_host_fail_next_open(&t.host, -ECONNREFUSED);
	th_syn(&t, NULL);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.flags, WIRE_TCP_RST | WIRE_TCP_ACK);
	assert_int_equal(core_flow_count(t.e), 0);
	th_fini(&t);

	/* Out of file descriptors: RST and a counter, nothing else. */
	th_init(&t, 4, NULL);
	fake_host_fail_next_open(&t.host, -EMFILE);
	th_syn(&t, NULL);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.flags, WIRE_TCP_RST | WIRE_TCP_ACK);
	assert_int_equal(th_ctr(&t, TP_CTR_flows_refused_socket), 1);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_half_open), 0);
	assert_int_equal(core_flow_count(t.e), 0);
	th_fini(&t);
}

/* The ICMP error quotes the app's SYN: IP header and TCP ports/seq. */
static void check_icmp_quote(const struct th *t, const struct th_pkt *p,
			     uint8_t type, uint8_t code)
{
	uint8_t proto = t->family == 4 ? WIRE_PROTO_ICMP : WIRE_PROTO_ICMP6;
	assert_int_equal(p->p.proto, proto);
	assert_int_equal(p->p.u.icmp.type, type);
	assert_int_equal(p->p.u.icmp.code, code);
	assert_true(wire_addr_eq(&p->p.dst, &t->app));
	/* The quoted packet follows the 8-byte ICMP header. */
	const uint8_t *q = p->p.l4 + 8;
	size_t qlen = p->p.l4_len - 8;
	size_t iph = t->family == 4 ? 20 : 40;
	assert_true(qlen >= iph + 8);
	const uint8_t *th = q + iph;
	assert_int_equal(th[0] << 8 | th[1], t->sport);
	assert_int_equal(th[2] << 8 | th[3], t->dport);
	uint32_t seq = (uint32_t)th[4] << 24 | (uint32_t)th[5] << 16 |
		       (uint32_t)th[6] << 8 | th[7];
	assert_int_equal(seq, t->app_isn);
}

static void test_connect_unreachable(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_syn(&t, NULL);
	struct core_sock_error se;
	memset(&se, 0, sizeof(se));
	se.err = EHOSTUNREACH;
	se.origin = CORE_ERR_ICMP4;
	se.type = 3;
	se.code = 1;
	fake_host_set_error(&t.host, t.sock, &se);
	th_event(&t, CORE_EV_ERROR);
	assert_int_equal(th_out(&t), 1);
	check_icmp_quote(&t, &t.out[0], 3, 1);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_connect_unreachable), 1);
	assert_int_equal(core_flow_count(t.e), 0);
	th_fini(&t);

	/* A local "network unreachable" (no route on the host). */
	th_init(&t, 4, NULL);
	th_syn(&t, NULL);
	fake_host_set_errno(&t.host, t.sock, ENETUNREACH);
	th_event(&t, CORE_EV_ERROR | CORE_EV_WRITE);
	assert_int_equal(th_out(&t), 1);
	check_icmp_quote(&t, &t.out[0], 3, 0);
	th_fini(&t);

	th_init(&t, 6, NULL);
	th_syn(&t, NULL);
	fake_host_set_errno(&t.host, t.sock, EHOSTUNREACH);
	th_event(&t, CORE_EV_ERROR);
	assert_int_equal(th_out(&t), 1);
	check_icmp_quote(&t, &t.out[0], 1, 3);
	th_fini(&t);
}

/* No answer: the app's SYN retries are absorbed (one connect), the flow
 * gives up silently after 75 s. */
static void test_connect_silent(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_syn(&t, NULL);
	for (int i = 0; i < 4; i++) {
		th_advance(&t, 1000000u << i);
		th_send_full(&t, WIRE_TCP_SYN, t.app_isn, 0, 65535, NULL, NULL,
			     0);
		assert_int_equal(th_out(&t), 0);
	}
	assert_int_equal(t.host.connects, 1);
	assert_int_equal(core_flow_count(t.e), 1);
	th_advance(&t, 75000000);
	assert_int_equal(th_out(&t), 0);
	assert_int_equal(core_flow_count(t.e), 0);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_connect_timeout), 1);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_half_open), 0);
	assert_true(fake_host_sock(&t.host, t.sock)->closed);
	th_fini(&t);
}

static void small_limits(struct core_config *c)
{
	c->max_tcp_half_open = 4;
	c->max_tcp_established = 6;
}

static void test_syn_flood_limits(void **state)
{
	struct th t;
	th_init(&t, 4, small_limits);
	/* A flood past max_tcp_half_open: each new SYN makes the oldest
	 * unfinished handshake give way (RST to its sender, RST to its host
	 * socket), so a genuine client is never locked out and no more than
	 * 4 handshakes hold host connections at any time. */
	for (int i = 0; i < 10; i++) {
		t.sport = (uint16_t)(1000 + i);
		th_syn(&t, NULL);
		th_advance(&t, 1000);
		assert_true(th_ctr(&t, TP_CTR_tcp_half_open) <= 4);
	}
	assert_int_equal(t.host.connects, 10);
	assert_int_equal(th_ctr(&t, TP_CTR_flows_evicted), 6);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_refused_half_open), 0);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_half_open), 4);
	assert_int_equal(core_flow_count(t.e), 4);
	assert_int_equal(th_out(&t), 6);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(t.out[i].p.u.tcp.flags,
				 WIRE_TCP_RST | WIRE_TCP_ACK);
		/* Oldest first. */
		assert_int_equal(t.out[i].p.dport, 1000 + i);
		assert_true(t.host.socks[i].closed);
	}
	for (int i = 6; i < 10; i++)
		assert_false(t.host.socks[i].closed);

	/* A handshake answered with SYN-ACK but never ACKed (a spoofed
	 * source) still counts as half-open and gives way in turn. */
	core_sock_event(t.e, t.host.socks[6].flow, CORE_EV_WRITE, t.now);
	assert_int_equal(th_out(&t), 1); /* SYN-ACK */
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_half_open), 4);
	th_fini(&t);
}

static void est_limits(struct core_config *c)
{
	c->max_tcp_half_open = 100;
	c->max_tcp_established = 6;
}

static void test_established_limit_at_connect(void **state)
{
	/* Two SYNs pass the check while nothing is open yet; the second
	 * connect to complete finds the limit reached and is refused. */
	struct th t;
	th_init(&t, 4, est_limits);
	for (int i = 0; i < 8; i++) {
		t.sport = (uint16_t)(3000 + i);
		th_syn(&t, NULL);
	}
	assert_int_equal(t.host.connects, 8);
	for (int i = 0; i < 8; i++)
		core_sock_event(t.e, t.host.socks[i].flow, CORE_EV_WRITE,
				t.now);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_conns_open), 6);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_refused_established), 2);
	assert_true(t.host.socks[6].closed);
	assert_true(t.host.socks[7].closed);
	th_fini(&t);
}

static void test_established_limit(void **state)
{
	struct th t;
	th_init(&t, 4, est_limits);
	for (int i = 0; i < 8; i++) {
		t.sport = (uint16_t)(2000 + i);
		th_syn(&t, NULL);
		if (t.host.connects > i)
			core_sock_event(t.e, t.host.socks[i].flow,
					CORE_EV_WRITE, t.now);
	}
	assert_int_equal(t.host.connects, 6);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_conns_open), 6);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_refused_established), 2);
	assert_int_equal(th_ctr(&t, TP_CTR_flows_evicted), 0);
	th_fini(&t);
}

static void test_unknown_flow(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	/* ACK set: <SEQ=SEG.ACK><CTL=RST>. */
	th_send(&t, WIRE_TCP_ACK, 1000, 7777, "abc", 3);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.flags, WIRE_TCP_RST);
	assert_int_equal(t.out[0].p.u.tcp.seq, 7777);
	/* No ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. */
	th_send(&t, WIRE_TCP_FIN, 1000, 0, "abc", 3);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.flags, WIRE_TCP_RST | WIRE_TCP_ACK);
	assert_int_equal(t.out[0].p.u.tcp.seq, 0);
	assert_int_equal(t.out[0].p.u.tcp.ack, 1004);
	/* A RST is never answered, and none of these made a flow. */
	th_send(&t, WIRE_TCP_RST, 1000, 0, NULL, 0);
	assert_int_equal(th_out(&t), 0);
	assert_int_equal(core_flow_count(t.e), 0);
	assert_int_equal(t.host.connects, 0);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_rst_sent), 2);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_rst_stray), 2);
	th_fini(&t);
}

/* SYN-ACK lost: the app's retransmitted SYN gets it again, and so does our
 * timer, with backoff. An ACK with the wrong number gets a RST. */
static void test_synack_retransmit(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_syn(&t, NULL);
	th_connect_ok(&t);
	th_send_full(&t, WIRE_TCP_SYN, t.app_isn, 0, 65535, NULL, NULL, 0);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.flags, WIRE_TCP_SYN | WIRE_TCP_ACK);
	assert_int_equal(t.out[0].p.u.tcp.seq, t.our_isn);

	assert_int_equal(th_run_next_timer(&t), 1000000);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.flags, WIRE_TCP_SYN | WIRE_TCP_ACK);
	assert_int_equal(th_run_next_timer(&t), 2000000);
	assert_int_equal(th_out(&t), 1);

	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 99, NULL, 0);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.flags, WIRE_TCP_RST);
	assert_int_equal(t.out[0].p.u.tcp.seq, t.our_isn + 99);

	/* The right ACK, carrying data, establishes and delivers it. */
	th_send(&t, WIRE_TCP_ACK | WIRE_TCP_PSH, t.app_nxt, t.our_isn + 1,
		"hello", 5);
	struct fake_sock *s = fake_host_sock(&t.host, t.sock);
	assert_int_equal(s->tx_len, 5);
	assert_memory_equal(s->tx, "hello", 5);
	th_fini(&t);
}

/* A SYN-ACK nobody acknowledges: given up after the retries, host reset. */
static void test_synack_give_up(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_syn(&t, NULL);
	th_connect_ok(&t);
	for (int i = 0; i < 5; i++) {
		th_run_next_timer(&t);
		assert_int_equal(th_out(&t), 1);
	}
	th_run_next_timer(&t);
	assert_int_equal(core_flow_count(t.e), 0);
	struct fake_sock *s = fake_host_sock(&t.host, t.sock);
	assert_true(s->closed && s->reset);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_conns_open), 0);
	th_fini(&t);
}

static void test_conn_size(void **state)
{
	printf("sizeof(struct tcp_conn) = %zu, sizeof(union flow) = %zu\n",
	       sizeof(struct tcp_conn), sizeof(union flow));
	assert_true(sizeof(struct tcp_conn) <= 256);
	assert_true(sizeof(union flow) <= 256);
}

/* An idle established connection holds no memory beyond its flow slot. */
static void test_idle_memory(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	size_t base = t.e->mem.used;
	struct wire_tcp_opts o = th_opts_all();
	th_establish(&t, &o);
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 1, "ping", 4);
	t.app_nxt += 4;
	fake_host_rx_push(&t.host, t.sock, "pong", 4);
	th_event(&t, CORE_EV_READ);
	th_out(&t);
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 5, NULL, 0);
	th_out(&t);
	printf("memory per idle connection: %zu bytes\n", t.e->mem.used - base);
	/* The slot (test_conn_size) and its introspection record beside
	 * it (flowinfo.h). */
	assert_true(t.e->mem.used - base <= 256 + sizeof(struct flow_acct));
	th_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_handshake_no_options),
	    cmocka_unit_test(test_handshake_mss_only),
	    cmocka_unit_test(test_handshake_wscale),
	    cmocka_unit_test(test_handshake_sack),
	    cmocka_unit_test(test_handshake_timestamps),
	    cmocka_unit_test(test_handshake_all),
	    cmocka_unit_test(test_mss_used_for_data),
	    cmocka_unit_test(test_connect_refused),
	    cmocka_unit_test(test_connect_unreachable),
	    cmocka_unit_test(test_connect_silent),
	    cmocka_unit_test(test_syn_flood_limits),
	    cmocka_unit_test(test_established_limit),
	    cmocka_unit_test(test_established_limit_at_connect),
	    cmocka_unit_test(test_unknown_flow),
	    cmocka_unit_test(test_synack_retransmit),
	    cmocka_unit_test(test_synack_give_up),
	    cmocka_unit_test(test_conn_size),
	    cmocka_unit_test(test_idle_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
