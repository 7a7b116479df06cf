/* SPDX-License-Identifier: MIT */
/* test_dgram.c - datagram flows (src/core/dgram.c with udp.c and icmp.c):
 * what the app sees of UDP and ICMP echo flows, through a real engine,
 * the fake host and a fake clock. Each case runs for both protocols where
 * they share the behaviour, and pins where they differ:
 *   - replies: a UDP header from the destination's port; an echo reply
 *     with the app's identifier back (whatever the host's), anything but
 *     an echo reply dropped;
 *   - sends: UDP without its header, echo as the whole message;
 *   - socket errors: the ICMP error a real network would send, quoting the
 *     app's datagram; refused sends and reads counted for UDP only, and a
 *     refused UDP send asks the error queue first;
 *   - no host socket: UDP refused ("administratively prohibited"), echo
 *     dropped and counted (icmp_no_socket);
 *   - idle timeouts (DNS shorter), re-armed lazily by activity;
 *   - a full transmit ring pauses reading until core_tx_resume;
 *   - batched reads (recv_batch) for UDP only;
 *   - full-cone inbound flows (core_udp_inbound).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"
#include "core/udp_cone.h"
#include "support/tcp_harness.h"

static uint8_t buf[2048];

static uint8_t icmp_proto(uint8_t family)
{
	return family == 4 ? WIRE_PROTO_ICMP : WIRE_PROTO_ICMP6;
}

static uint8_t echo_request(uint8_t family)
{
	return family == 4 ? WIRE_ICMP4_ECHO_REQUEST : WIRE_ICMP6_ECHO_REQUEST;
}

static uint8_t echo_reply(uint8_t family)
{
	return family == 4 ? WIRE_ICMP4_ECHO_REPLY : WIRE_ICMP6_ECHO_REPLY;
}

static void app_udp(struct th *t, uint16_t sport, uint16_t dport,
		    const char *data)
{
	struct wire_ip_hdr ip = {.family = t->family,
				 .proto = WIRE_PROTO_UDP,
				 .src = t->app,
				 .dst = t->dst};
	size_t len = strlen(data);
	memcpy(buf + wire_ip_hdr_len(t->family) + WIRE_UDP_HDR_LEN, data, len);
	size_t n = wire_udp_build(buf, sizeof(buf), &ip, sport, dport, len);
	core_input(t->e, buf, n, 0, t->now);
}

static void app_echo(struct th *t, uint16_t id, uint16_t seq, const char *data)
{
	struct wire_ip_hdr ip = {.family = t->family,
				 .proto = icmp_proto(t->family),
				 .src = t->app,
				 .dst = t->dst};
	size_t len = strlen(data);
	memcpy(buf + wire_ip_hdr_len(t->family) + WIRE_ICMP_HDR_LEN, data, len);
	size_t n = wire_icmp_echo_build(buf, sizeof(buf), &ip,
					echo_request(t->family), id, seq, len);
	core_input(t->e, buf, n, 0, t->now);
}

/* The app's first datagram of a flow: UDP 5000 -> 5353, or echo id 7. */
static void app_send(struct th *t, bool udp, const char *data)
{
	if (udp)
		app_udp(t, 5000, 5353, data);
	else
		app_echo(t, 7, 1, data);
}

/* An ICMP message as a ping socket returns it (no IP header). */
static size_t host_echo(uint8_t *m, uint8_t type, uint16_t id, uint16_t seq,
			const char *data)
{
	memset(m, 0, WIRE_ICMP_HDR_LEN);
	m[0] = type;
	m[4] = (uint8_t)(id >> 8);
	m[5] = (uint8_t)id;
	m[6] = (uint8_t)(seq >> 8);
	m[7] = (uint8_t)seq;
	size_t len = strlen(data);
	memcpy(m + WIRE_ICMP_HDR_LEN, data, len);
	return WIRE_ICMP_HDR_LEN + len;
}

static void event(struct th *t, int sock, uint32_t ev)
{
	core_sock_event(t->e, fake_host_sock(&t->host, sock)->flow, ev, t->now);
}

/* The quoted transport header of ICMP error p (after the quoted IP
 * header). */
static const uint8_t *quoted_l4(const struct wire_packet *p)
{
	return p->payload + wire_ip_hdr_len(p->family);
}

static void check_unreach(const struct th *t, const struct wire_packet *p,
			  bool udp, uint8_t code4, uint8_t code6)
{
	assert_int_equal(p->proto, icmp_proto(t->family));
	assert_int_equal(p->u.icmp.type, t->family == 4 ? WIRE_ICMP4_UNREACH
							: WIRE_ICMP6_UNREACH);
	assert_int_equal(p->u.icmp.code, t->family == 4 ? code4 : code6);
	assert_true(wire_addr_eq(&p->src, &t->dst));
	assert_true(wire_addr_eq(&p->dst, &t->app));
	assert_int_equal(p->payload_len, wire_ip_hdr_len(t->family) + 8);
	const uint8_t *q = quoted_l4(p);
	if (udp) {
		assert_int_equal(q[0] << 8 | q[1], 5000);
		assert_int_equal(q[2] << 8 | q[3], 5353);
		assert_int_equal(q[4] << 8 | q[5], WIRE_UDP_HDR_LEN);
	} else {
		assert_int_equal(q[0], echo_request(t->family));
		assert_int_equal(q[4] << 8 | q[5], 7);
	}
}

static void test_udp_reply(uint8_t family)
{
	struct th t;
	th_init(&t, family, NULL);
	app_udp(&t, 5000, 5353, "question");
	assert_int_equal(th_out(&t), 0);
	int s = t.host.last_sock;
	assert_int_equal(t.host.udp_opens, 1);
	assert_int_equal(fake_host_sock(&t.host, s)->port, 5353);
	const struct fake_dgram *d = fake_host_dgram_sent(&t.host, s, 0);
	assert_non_null(d);
	assert_int_equal(d->len, 8); /* the payload, without the header */
	assert_memory_equal(d->data, "question", 8);
	assert_int_equal(th_ctr(&t, TP_CTR_udp_flows_open), 1);
	assert_int_equal(th_ctr(&t, TP_CTR_udp_tx_datagrams), 1);

	fake_host_dgram_push(&t.host, s, "answer", 6);
	fake_host_dgram_push(&t.host, s, "more", 4);
	event(&t, s, CORE_EV_READ);
	assert_int_equal(th_out(&t), 2);
	const struct wire_packet *p = &t.out[0].p;
	assert_int_equal(p->proto, WIRE_PROTO_UDP);
	assert_true(wire_addr_eq(&p->src, &t.dst));
	assert_true(wire_addr_eq(&p->dst, &t.app));
	assert_int_equal(p->sport, 5353);
	assert_int_equal(p->dport, 5000);
	assert_int_equal(p->payload_len, 6);
	assert_memory_equal(p->payload, "answer", 6);
	assert_int_equal(t.out[1].p.payload_len, 4);
	assert_int_equal(th_ctr(&t, TP_CTR_udp_rx_datagrams), 2);

	th_fini(&t);
}

static void udp_reply4(void **state)
{
	(void)state;
	test_udp_reply(4);
}

static void udp_reply6(void **state)
{
	(void)state;
	test_udp_reply(6);
}

static void test_echo_reply(uint8_t family)
{
	struct th t;
	th_init(&t, family, NULL);
	app_echo(&t, 7, 1, "ping");
	int s = t.host.last_sock;
	assert_int_equal(t.host.icmp_opens, 1);
	const struct fake_dgram *d = fake_host_dgram_sent(&t.host, s, 0);
	assert_non_null(d);
	/* The whole message: the socket takes the echo header too. */
	assert_int_equal(d->len, WIRE_ICMP_HDR_LEN + 4);
	assert_int_equal(d->data[0], echo_request(family));
	assert_int_equal(th_ctr(&t, TP_CTR_icmp_flows_open), 1);
	assert_int_equal(th_ctr(&t, TP_CTR_icmp_echo_requests), 1);

	/* The host's identifier (a ping socket's port) differs; a message
	 * that is not an echo reply, and a short one, are dropped. */
	uint8_t m[64];
	size_t n = host_echo(m, echo_request(family), 999, 1, "odd");
	fake_host_dgram_push(&t.host, s, m, n);
	fake_host_dgram_push(&t.host, s, m, 4);
	n = host_echo(m, echo_reply(family), 999, 1, "pong");
	fake_host_dgram_push(&t.host, s, m, n);
	event(&t, s, CORE_EV_READ);
	assert_int_equal(th_out(&t), 1);
	const struct wire_packet *p = &t.out[0].p; /* checksum checked */
	assert_int_equal(p->proto, icmp_proto(family));
	assert_int_equal(p->u.icmp.type, echo_reply(family));
	assert_int_equal(p->u.icmp.id, 7);
	assert_int_equal(p->u.icmp.seq, 1);
	assert_true(wire_addr_eq(&p->src, &t.dst));
	assert_int_equal(p->payload_len, 4);
	assert_memory_equal(p->payload, "pong", 4);
	assert_int_equal(th_ctr(&t, TP_CTR_icmp_echo_replies), 1);
	th_fini(&t);
}

static void echo_reply4(void **state)
{
	(void)state;
	test_echo_reply(4);
}

static void echo_reply6(void **state)
{
	(void)state;
	test_echo_reply(6);
}

/* Errors queued on the socket, from the network and local. */
static void test_queued_errors(uint8_t family, bool udp)
{
	struct th t;
	th_init(&t, family, NULL);
	app_send(&t, udp, "x");
	int s = t.host.last_sock;
	struct core_sock_error err = {.err = EHOSTUNREACH};
	if (family == 4) {
		err.origin = CORE_ERR_ICMP4;
		err.type = WIRE_ICMP4_UNREACH;
		err.code = WIRE_ICMP4_UNREACH_HOST;
	} else {
		err.origin = CORE_ERR_ICMP6;
		err.type = WIRE_ICMP6_UNREACH;
		err.code = WIRE_ICMP6_UNREACH_ADDR;
	}
	fake_host_set_error(&t.host, s, &err);
	event(&t, s, CORE_EV_ERROR);
	assert_int_equal(th_out(&t), 1);
	check_unreach(&t, &t.out[0].p, udp, WIRE_ICMP4_UNREACH_HOST,
		      WIRE_ICMP6_UNREACH_ADDR);

	/* A local error with a network meaning. */
	fake_host_set_errno(&t.host, s, ECONNREFUSED);
	event(&t, s, CORE_EV_ERROR);
	assert_int_equal(th_out(&t), 1);
	check_unreach(&t, &t.out[0].p, udp, WIRE_ICMP4_UNREACH_PORT,
		      WIRE_ICMP6_UNREACH_PORT);

	/* Path-MTU news is the host stack's business, and a local error
	 * without a network meaning is nobody's. */
	if (family == 4) {
		err.code = WIRE_ICMP4_UNREACH_NEEDFRAG;
		fake_host_set_error(&t.host, s, &err);
		event(&t, s, CORE_EV_ERROR);
		assert_int_equal(th_out(&t), 0);
	}
	fake_host_set_errno(&t.host, s, ENOBUFS);
	event(&t, s, CORE_EV_ERROR);
	assert_int_equal(th_out(&t), 0);
	assert_int_equal(th_ctr(&t, TP_CTR_udp_send_errors), 0);
	th_fini(&t);
}

static void queued_errors(void **state)
{
	(void)state;
	for (uint8_t fam = 4; fam <= 6; fam += 2) {
		test_queued_errors(fam, true);
		test_queued_errors(fam, false);
	}
}

/* A refused send: UDP counts it and asks the error queue first (the
 * error an earlier datagram left there explains it); echo answers from
 * the send's own errno. */
static void test_send_refused(uint8_t family, bool udp)
{
	struct th t;
	th_init(&t, family, NULL);
	app_send(&t, udp, "x");
	int s = t.host.last_sock;
	fake_host_set_send_error(&t.host, s, -EHOSTUNREACH);
	fake_host_set_errno(&t.host, s, ECONNREFUSED);
	app_send(&t, udp, "y");
	assert_int_equal(th_out(&t), 1);
	if (udp)
		check_unreach(&t, &t.out[0].p, udp, WIRE_ICMP4_UNREACH_PORT,
			      WIRE_ICMP6_UNREACH_PORT);
	else
		check_unreach(&t, &t.out[0].p, udp, WIRE_ICMP4_UNREACH_HOST,
			      WIRE_ICMP6_UNREACH_ADDR);
	assert_int_equal(th_ctr(&t, TP_CTR_udp_send_errors), udp ? 1 : 0);
	assert_int_equal(th_ctr(&t, TP_CTR_udp_tx_datagrams), udp ? 1 : 0);
	assert_int_equal(th_ctr(&t, TP_CTR_icmp_echo_requests), udp ? 0 : 1);
	th_fini(&t);
}

static void send_refused(void **state)
{
	(void)state;
	for (uint8_t fam = 4; fam <= 6; fam += 2) {
		test_send_refused(fam, true);
		test_send_refused(fam, false);
	}
}

/* A refused read drains the error queue; UDP counts it. */
static void read_refused(void **state)
{
	(void)state;
	for (int udp = 0; udp <= 1; udp++) {
		struct th t;
		th_init(&t, 4, NULL);
		app_send(&t, udp, "x");
		int s = t.host.last_sock;
		fake_host_set_rx_error(&t.host, s, -ECONNREFUSED);
		fake_host_set_errno(&t.host, s, ECONNREFUSED);
		event(&t, s, CORE_EV_READ);
		assert_int_equal(th_out(&t), 1);
		check_unreach(&t, &t.out[0].p, udp, WIRE_ICMP4_UNREACH_PORT,
			      WIRE_ICMP6_UNREACH_PORT);
		assert_int_equal(th_ctr(&t, TP_CTR_udp_send_errors),
				 udp ? 1 : 0);
		th_fini(&t);
	}
}

/* No host socket for a reason the operator cannot act on: a UDP flow is
 * refused and answered; echo is unavailable: dropped, counted, silent. */
static void no_socket(void **state)
{
	(void)state;
	for (int udp = 0; udp <= 1; udp++) {
		struct th t;
		th_init(&t, 4, NULL);
		fake_host_fail_next_open(&t.host, -EPROTONOSUPPORT);
		app_send(&t, udp, "x");
		assert_int_equal(core_flow_count(t.e), 0);
		if (udp) {
			assert_int_equal(th_out(&t), 1);
			const struct wire_packet *p = &t.out[0].p;
			assert_int_equal(p->u.icmp.type, WIRE_ICMP4_UNREACH);
			assert_int_equal(p->u.icmp.code,
					 WIRE_ICMP4_UNREACH_ADMIN);
			assert_int_equal(
			    th_ctr(&t, TP_CTR_flows_refused_socket), 1);
			assert_int_equal(th_ctr(&t, TP_CTR_icmp_no_socket), 0);
		} else {
			assert_int_equal(th_out(&t), 0);
			assert_int_equal(
			    th_ctr(&t, TP_CTR_flows_refused_socket), 0);
			assert_int_equal(th_ctr(&t, TP_CTR_icmp_no_socket), 1);
		}
		assert_int_equal(th_ctr(&t, TP_CTR_udp_flows_open), 0);
		assert_int_equal(th_ctr(&t, TP_CTR_icmp_flows_open), 0);
		th_fini(&t);
	}
}

/* Runs timers up to and including t->now + us. */
static void advance(struct th *t, uint64_t us)
{
	t->now += us;
	core_timers(t->e, t->now);
}

/* Idle timeouts: UDP 60 s, 30 s for port 53; echo 30 s. Activity moves
 * the end; the timer then re-arms itself for the rest. */
static void idle_timeouts(void **state)
{
	(void)state;
	const uint64_t s_ = 1000000;
	struct {
		int kind; /* 0 echo, 1 UDP, 2 DNS */
		uint64_t timeout;
	} cases[] = {{0, 30 * s_}, {1, 60 * s_}, {2, 30 * s_}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct th t;
		th_init(&t, 4, NULL);
		uint64_t to = cases[i].timeout;
		if (cases[i].kind == 2)
			app_udp(&t, 5000, 53, "q");
		else
			app_send(&t, cases[i].kind == 1, "x");
		int s = t.host.last_sock;
		assert_int_equal(core_next_deadline(t.e), t.now + to);
		advance(&t, to / 2);
		if (cases[i].kind == 2)
			app_udp(&t, 5000, 53, "q");
		else
			app_send(&t, cases[i].kind == 1, "y");
		/* Lazily: the deadline stays, and re-arms when it comes. */
		assert_int_equal(core_next_deadline(t.e), t.now + to / 2);
		advance(&t, to / 2);
		assert_int_equal(core_flow_count(t.e), 1);
		assert_int_equal(core_next_deadline(t.e), t.now + to / 2);
		/* A reply counts as activity too. */
		advance(&t, to / 4);
		fake_host_dgram_push(&t.host, s, "", 0);
		if (cases[i].kind == 0) {
			uint8_t m[16];
			size_t n =
			    host_echo(m, WIRE_ICMP4_ECHO_REPLY, 1, 1, "");
			fake_host_dgram_push(&t.host, s, m, n);
		}
		event(&t, s, CORE_EV_READ);
		advance(&t, to / 4);
		assert_int_equal(core_flow_count(t.e), 1);
		assert_int_equal(th_ctr(&t, TP_CTR_flows_expired), 0);
		advance(&t, to - to / 4 - 1); /* to after the reply */
		assert_int_equal(core_flow_count(t.e), 1);
		advance(&t, 1);
		assert_int_equal(core_flow_count(t.e), 0);
		assert_int_equal(th_ctr(&t, TP_CTR_flows_expired), 1);
		assert_true(fake_host_sock(&t.host, s)->closed);
		assert_int_equal(th_ctr(&t, TP_CTR_udp_flows_open), 0);
		assert_int_equal(th_ctr(&t, TP_CTR_icmp_flows_open), 0);
		th_fini(&t);
	}
}

static void small_ring(struct core_config *cfg)
{
	cfg->tx_slots = 4;
}

/* A full ring stops reading (the rest waits in the socket) until the
 * driver has drained it and calls core_tx_resume. */
static void ring_full(void **state)
{
	(void)state;
	for (int udp = 0; udp <= 1; udp++) {
		struct th t;
		th_init(&t, 4, small_ring);
		app_send(&t, udp, "x");
		int s = t.host.last_sock;
		uint8_t m[64];
		size_t n =
		    udp ? 1 : host_echo(m, WIRE_ICMP4_ECHO_REPLY, 1, 1, "r");
		if (udp)
			m[0] = 'r';
		for (int i = 0; i < 10; i++)
			fake_host_dgram_push(&t.host, s, m, n);
		event(&t, s, CORE_EV_READ);
		struct core_tx_pkt pk[8];
		assert_int_equal(core_tx_peek(t.e, pk, 8), 4);
		struct fake_sock *fs = fake_host_sock(&t.host, s);
		assert_false(fs->want_rd);
		assert_int_equal(th_out(&t), 10); /* drains and resumes */
		assert_true(fs->want_rd);
		assert_null(fs->dq_head);
		th_fini(&t);
	}
}

/* A reply larger than the app's MTU reaches it as IP fragments, whole. */
static void large_reply(void **state)
{
	(void)state;
	for (int udp = 0; udp <= 1; udp++) {
		struct th t;
		th_init(&t, 4, NULL);
		app_send(&t, udp, "x");
		int s = t.host.last_sock;
		static uint8_t big[3000];
		th_pattern(big, sizeof(big), 5);
		if (!udp)
			host_echo(big, WIRE_ICMP4_ECHO_REPLY, 1, 1, "");
		fake_host_dgram_push(&t.host, s, big, sizeof(big));
		event(&t, s, CORE_EV_READ);
		assert_int_equal(th_out(&t), 3);
		size_t total = 0;
		for (int i = 0; i < 3; i++) {
			assert_true(t.out[i].p.is_fragment);
			total += t.out[i].p.l4_len;
		}
		assert_int_equal(total, sizeof(big) + (udp ? 8 : 0));
		th_fini(&t);
	}
}

/* A driver that reads datagrams in batches (recvmmsg): fake_host's queue,
 * up to n at once. */
static int batch_calls;
static long batch_recv(void *ctx, int sock, struct core_dgram *m, int n)
{
	struct fake_host *h = ctx;
	struct fake_sock *s = fake_host_sock(h, sock);
	batch_calls++;
	int got = 0;
	while (got < n && s->dq_head) {
		struct fake_dgram *d = s->dq_head;
		if (d->len > m[got].iov.len)
			break;
		memcpy(m[got].iov.base, d->data, d->len);
		m[got].len = d->len;
		s->dq_head = d->next;
		if (!s->dq_head)
			s->dq_tail = NULL;
		free(d);
		got++;
	}
	return got ? got : -EAGAIN;
}

/* UDP reads through recv_batch where the driver has it; echo never. */
static void batched_reads(void **state)
{
	(void)state;
	static struct core_host_ops ops;
	ops = fake_host_ops;
	ops.recv_batch = batch_recv;
	for (int udp = 0; udp <= 1; udp++) {
		struct th t;
		th_init(&t, 4, NULL);
		core_destroy(t.e);
		t.e = core_create(&t.cfg, &ops, &t.host);
		assert_non_null(t.e);
		batch_calls = 0;
		app_send(&t, udp, "x");
		int s = t.host.last_sock;
		uint8_t m[64];
		size_t n =
		    udp ? 1 : host_echo(m, WIRE_ICMP4_ECHO_REPLY, 1, 1, "r");
		if (udp)
			m[0] = 'r';
		for (int i = 0; i < 5; i++)
			fake_host_dgram_push(&t.host, s, m, n);
		event(&t, s, CORE_EV_READ);
		assert_int_equal(batch_calls, udp ? 1 : 0);
		assert_int_equal(th_out(&t), 5);
		assert_int_equal(udp ? th_ctr(&t, TP_CTR_udp_rx_datagrams)
				     : th_ctr(&t, TP_CTR_icmp_echo_replies),
				 5);
		th_fini(&t);
	}
}

/* A datagram from a remote the app never wrote to, on a full-cone
 * mapping: a flow from that remote, with UDP's timeout, read at once. */
static void cone_inbound(void **state)
{
	(void)state;
	struct th t;
	th_init(&t, 4, NULL);
	uint8_t r[4] = {203, 0, 113, 10};
	struct wire_addr remote;
	wire_addr_from4(&remote, r);
	uint32_t h = core_udp_inbound(t.e, 4, &t.app, 5000, &remote, 53, t.now);
	assert_int_not_equal(h, FLOW_NONE);
	int s = t.host.last_sock;
	assert_int_equal(fake_host_sock(&t.host, s)->flow, h);
	assert_int_equal(th_ctr(&t, TP_CTR_udp_flows_open), 1);
	assert_int_equal(core_next_deadline(t.e),
			 t.now + t.cfg.udp_dns_timeout_us);
	fake_host_dgram_push(&t.host, s, "hi", 2);
	assert_int_equal(
	    core_udp_inbound(t.e, 4, &t.app, 5000, &remote, 53, t.now), h);
	assert_int_equal(th_out(&t), 1);
	const struct wire_packet *p = &t.out[0].p;
	assert_true(wire_addr_eq(&p->src, &remote));
	assert_int_equal(p->sport, 53);
	assert_int_equal(p->dport, 5000);
	th_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(udp_reply4),    cmocka_unit_test(udp_reply6),
	    cmocka_unit_test(echo_reply4),   cmocka_unit_test(echo_reply6),
	    cmocka_unit_test(queued_errors), cmocka_unit_test(send_refused),
	    cmocka_unit_test(read_refused),  cmocka_unit_test(no_socket),
	    cmocka_unit_test(idle_timeouts), cmocka_unit_test(ring_full),
	    cmocka_unit_test(large_reply),   cmocka_unit_test(batched_reads),
	    cmocka_unit_test(cone_inbound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
