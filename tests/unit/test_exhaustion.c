/* SPDX-License-Identifier: MIT */
/* test_exhaustion.c - running out of host sockets and of the memory
 * budget, through the engine with the fake host (tests/unit/support):
 *   - no host socket (EMFILE, ENFILE, EADDRNOTAVAIL...) and nothing to
 *     give way (for EMFILE/ENFILE a datagram flow is ended first, see
 *     test_admit.c): the new flow is refused at once (TCP RST, UDP and
 *     echo ICMP "administratively prohibited"), counted in flows_refused_socket, logged once a second
 *     with what to do; flows already open go on; service comes back when
 *     sockets can be had again;
 *   - the memory budget, hit by flows and by TCP buffers together: new
 *     flows are refused (flows_refused_memory), a connection whose buffer
 *     is refused closes its window (tcp_window_closed_memory) instead of
 *     growing, nothing goes over the budget, and it all recovers when
 *     memory is returned. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "support/tcp_harness.h"

static uint8_t pattern[64 * 1024];

static char logs[32][256];
static int nlog;

static void on_log(void *ctx, enum tp_log_level level, const char *msg)
{
	(void)ctx;
	if (nlog < 32)
		snprintf(logs[nlog++], sizeof(logs[0]), "%s", msg);
}

static void with_log(struct core_config *c)
{
	c->log = on_log;
	c->log_level = TP_LOG_INFO;
}

static int setup(void **state)
{
	nlog = 0;
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + i / 251);
	return 0;
}

static int logged(const char *needle)
{
	int n = 0;
	for (int i = 0; i < nlog; i++)
		n += strstr(logs[i], needle) != NULL;
	return n;
}

/* A datagram from the app's port sport to 198.51.100.1:53 (or the IPv6
 * destination of the harness). Returns how many packets came back. */
static int send_udp(struct th *t, uint16_t sport)
{
	uint8_t buf[256];
	struct wire_ip_hdr ip = {.family = t->family, .proto = WIRE_PROTO_UDP};
	ip.src = t->app;
	ip.dst = t->dst;
	memcpy(buf + wire_ip_hdr_len(t->family) + 8, "query", 5);
	size_t n = wire_udp_build(buf, sizeof(buf), &ip, sport, 53, 5);
	core_input(t->e, buf, n, 0, t->now);
	return th_out(t);
}

static int send_echo(struct th *t, uint16_t id)
{
	uint8_t buf[256];
	uint8_t fam = t->family;
	struct wire_ip_hdr ip = {.family = fam,
				 .proto = fam == 4 ? WIRE_PROTO_ICMP
						   : WIRE_PROTO_ICMP6};
	ip.src = t->app;
	ip.dst = t->dst;
	memcpy(buf + wire_ip_hdr_len(fam) + 8, "ping", 4);
	size_t n = wire_icmp_echo_build(buf, sizeof(buf), &ip,
					fam == 4 ? 8 : 128, id, 1, 4);
	core_input(t->e, buf, n, 0, t->now);
	return th_out(t);
}

static void assert_admin_prohibited(const struct th *t)
{
	const struct wire_packet *p = &t->out[0].p;
	if (t->family == 4) {
		assert_int_equal(p->proto, WIRE_PROTO_ICMP);
		assert_int_equal(p->u.icmp.type, 3);
		assert_int_equal(p->u.icmp.code, 13);
	} else {
		assert_int_equal(p->proto, WIRE_PROTO_ICMP6);
		assert_int_equal(p->u.icmp.type, 1);
		assert_int_equal(p->u.icmp.code, 1);
	}
}

static void assert_syn_rst(const struct th *t)
{
	assert_int_equal(t->nout, 1);
	assert_int_equal(t->out[0].p.proto, WIRE_PROTO_TCP);
	assert_int_equal(t->out[0].p.u.tcp.flags, WIRE_TCP_RST | WIRE_TCP_ACK);
	assert_int_equal(t->out[0].p.u.tcp.ack, t->app_isn + 1);
}

/* Out of fds for a UDP flow, an echo flow and a TCP connect: each refused
 * at once, counted, logged with the advice; then sockets come back. */
static void run_no_socket(uint8_t family)
{
	struct th t;
	th_init(&t, family, with_log);

	fake_host_fail_next_open(&t.host, -EMFILE);
	assert_int_equal(send_udp(&t, 5000), 1);
	assert_admin_prohibited(&t);
	assert_int_equal(th_ctr(&t, TP_CTR_flows_refused_socket), 1);
	assert_int_equal(core_flow_count(t.e), 0);

	fake_host_fail_next_open(&t.host, -ENFILE);
	assert_int_equal(send_echo(&t, 9), 1);
	assert_admin_prohibited(&t);
	assert_int_equal(th_ctr(&t, TP_CTR_flows_refused_socket), 2);
	assert_int_equal(th_ctr(&t, TP_CTR_icmp_no_socket), 0);

	fake_host_fail_next_open(&t.host, -EMFILE);
	th_syn(&t, NULL);
	th_out(&t);
	assert_syn_rst(&t);
	assert_int_equal(th_ctr(&t, TP_CTR_flows_refused_socket), 3);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_half_open), 0);
	assert_int_equal(core_flow_count(t.e), 0);

	/* One line a second per kind: the first, with the tuple and what
	 * to do. */
	assert_int_equal(logged("refused, no host socket"), 1);
	assert_int_equal(logged("ulimit -n"), 1);
	assert_int_equal(logged(family == 4 ? "udp 10.0.0.8:5000 -> "
					      "198.51.100.1:53"
					    : "udp [fdaa::8]:5000 -> "
					      "[2001:db8::1]:53"),
			 1);

	/* Sockets again: the same flows now open. */
	t.now += 1000000;
	assert_int_equal(send_udp(&t, 5000), 0);
	assert_int_equal(send_echo(&t, 9), 0);
	t.app_isn += 100000;
	th_establish(&t, NULL);
	assert_int_equal(core_flow_count(t.e), 3);
	assert_int_equal(th_ctr(&t, TP_CTR_flows_refused_socket), 3);
	/* A permission problem is not exhaustion: echo is just off. */
	fake_host_fail_next_open(&t.host, -EPERM);
	assert_int_equal(send_echo(&t, 10), 0);
	assert_int_equal(th_ctr(&t, TP_CTR_icmp_no_socket), 1);
	assert_int_equal(th_ctr(&t, TP_CTR_flows_refused_socket), 3);
	th_fini(&t);
}

static void test_no_socket_v4(void **state)
{
	run_no_socket(4);
}

static void test_no_socket_v6(void **state)
{
	run_no_socket(6);
}

/* The fake host has FAKE_MAX_SOCKS sockets, like a low RLIMIT_NOFILE.
 * Datagram flows past it make room (issue 10, src/core/admit.c): each new
 * one ends the least recently active datagram flow and takes its socket,
 * none is refused. When no socket can be had even so (here: no local port,
 * which eviction cannot cure), new flows are refused, the open ones keep
 * working, and the log says so once a second, with a count. */
static void test_fd_limit_existing_flows_go_on(void **state)
{
	struct th t;
	th_init(&t, 4, with_log);
	t.host.reuse_closed = true;
	for (uint16_t i = 0; i < FAKE_MAX_SOCKS; i++) {
		assert_int_equal(send_udp(&t, (uint16_t)(1000 + i)), 0);
		t.now += 1000;
	}
	assert_int_equal(core_flow_count(t.e), FAKE_MAX_SOCKS);
	for (uint16_t i = 0; i < 20; i++) {
		assert_int_equal(send_udp(&t, (uint16_t)(2000 + i)), 0);
		t.now += 1000;
	}
	assert_int_equal(th_ctr(&t, TP_CTR_flows_evicted), 20);
	assert_int_equal(th_ctr(&t, TP_CTR_flows_refused_socket), 0);
	assert_int_equal(core_flow_count(t.e), FAKE_MAX_SOCKS);

	for (uint16_t i = 0; i < 20; i++) {
		fake_host_fail_next_open(&t.host, -EADDRNOTAVAIL);
		assert_int_equal(send_udp(&t, (uint16_t)(5000 + i)), 1);
		assert_admin_prohibited(&t);
		t.now += 1000;
	}
	assert_int_equal(th_ctr(&t, TP_CTR_flows_refused_socket), 20);
	assert_int_equal(th_ctr(&t, TP_CTR_flows_evicted), 20);
	assert_int_equal(logged("refused, no host socket"), 1);
	assert_int_equal(logged("64 other flows open"), 1);

	/* The open flows (the newest surely survived) carry datagrams as
	 * before, without new flows. */
	uint64_t sent = th_ctr(&t, TP_CTR_udp_tx_datagrams);
	uint64_t created = th_ctr(&t, TP_CTR_flows_created);
	for (uint16_t i = 0; i < 20; i += 4)
		assert_int_equal(send_udp(&t, (uint16_t)(2000 + i)), 0);
	assert_int_equal(th_ctr(&t, TP_CTR_udp_tx_datagrams), sent + 5);
	assert_int_equal(th_ctr(&t, TP_CTR_flows_created), created);

	/* Idle flows expire; new flows work. The next refusal line counts
	 * those left out meanwhile. */
	th_advance(&t, 61ull * 1000000);
	assert_int_equal(core_flow_count(t.e), 0);
	for (uint16_t i = 0; i < 10; i++)
		assert_int_equal(send_udp(&t, (uint16_t)(3000 + i)), 0);
	assert_int_equal(th_ctr(&t, TP_CTR_flows_refused_socket), 20);
	fake_host_fail_next_open(&t.host, -EADDRNOTAVAIL);
	assert_int_equal(send_udp(&t, 4000), 1);
	assert_int_equal(logged("[19 more like this not logged]"), 1);
	th_fini(&t);
}

/* A TCP connect that fails after the socket was made: no local port. */
static void test_connect_no_port(void **state)
{
	struct th t;
	th_init(&t, 4, with_log);
	th_syn(&t, NULL);
	assert_int_equal(th_out(&t), 0);
	fake_host_set_errno(&t.host, t.sock, EADDRNOTAVAIL);
	th_event(&t, CORE_EV_ERROR);
	th_out(&t);
	assert_syn_rst(&t);
	assert_int_equal(th_ctr(&t, TP_CTR_flows_refused_socket), 1);
	assert_int_equal(logged("ip_local_port_range"), 1);
	th_fini(&t);
}

/* The four values of the state of one connection the harness drives. */
struct conn {
	uint16_t sport;
	uint32_t app_isn, app_nxt, our_isn, peer_ts;
	int sock;
};

static void conn_save(const struct th *t, struct conn *c)
{
	*c = (struct conn){t->sport,   t->app_isn, t->app_nxt,
			   t->our_isn, t->peer_ts, t->sock};
}

static void conn_use(struct th *t, const struct conn *c)
{
	t->sport = c->sport;
	t->app_isn = c->app_isn;
	t->app_nxt = c->app_nxt;
	t->our_isn = c->our_isn;
	t->peer_ts = c->peer_ts;
	t->sock = c->sock;
}

/* The last ACK the engine sent: acknowledged sequence and window (bytes,
 * scale 7 as negotiated by th_opts_all). */
static void last_ack(const struct th *t, uint32_t *ack, uint32_t *win)
{
	assert_true(t->nout > 0);
	const struct wire_tcp *a = &t->out[t->nout - 1].p.u.tcp;
	*ack = a->ack;
	*win = (uint32_t)a->window << 7;
}

/* The budget taken by flows and TCP buffers at once. */
static void test_budget_flows_and_buffers(void **state)
{
	struct th t;
	struct conn a, b;
	struct wire_tcp_opts o = th_opts_all();
	uint32_t ack, win;

	th_init(&t, 4, with_log);
	th_establish(&t, &o);
	conn_save(&t, &a);
	t.sport = 40001;
	t.app_isn = 0x10000000u;
	th_establish(&t, &o);
	conn_save(&t, &b);

	/* A's host socket is slow: A gets a buffer (charged). */
	conn_use(&t, &a);
	fake_host_set_tx_space(&t.host, a.sock, 100);
	size_t before = t.e->mem.used;
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 1, pattern, 1400);
	th_advance(&t, 500000); /* the delayed ACK */
	th_out(&t);
	last_ack(&t, &ack, &win);
	assert_int_equal(ack, a.app_nxt + 1400);
	a.app_nxt += 1400;
	size_t with_buf = t.e->mem.used;
	assert_true(with_buf > before);

	/* The budget: what is in use plus room for two flow slots. */
	t.e->mem.budget = t.e->mem.used + 2 * flow_slot_bytes() + 100;

	/* B's socket is slow too: no buffer can be had, so only what the
	 * socket took is acknowledged and the window closes. */
	conn_use(&t, &b);
	fake_host_set_tx_space(&t.host, b.sock, 300);
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 1, pattern, 1400);
	th_out(&t);
	last_ack(&t, &ack, &win);
	assert_int_equal(ack, b.app_nxt + 300);
	assert_int_equal(win, 0);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_window_closed_memory), 1);
	assert_int_equal(logged("window closed, memory budget"), 1);

	/* New flows: two fit, then every kind is refused. */
	assert_int_equal(send_udp(&t, 6000), 0);
	assert_int_equal(send_udp(&t, 6001), 0);
	assert_int_equal(send_udp(&t, 6002), 1);
	assert_admin_prohibited(&t);
	assert_int_equal(send_echo(&t, 33), 1);
	assert_admin_prohibited(&t);
	t.sport = 40002;
	t.app_isn = 0x20000000u;
	th_syn(&t, &o);
	th_out(&t);
	assert_syn_rst(&t);
	assert_int_equal(th_ctr(&t, TP_CTR_flows_refused_memory), 3);
	assert_int_equal(logged("refused, memory budget"), 1);
	assert_int_equal(logged("--max-memory"), 2);
	assert_true(t.e->mem.used <= t.e->mem.budget);
	assert_true(t.e->mem.peak <= t.e->mem.budget);
	assert_true(th_ctr(&t, TP_CTR_mem_refused) >= 4);

	/* B keeps flowing at its socket's pace through the closed window. */
	fake_host_set_tx_space(&t.host, b.sock, 1100);
	conn_use(&t, &b);
	th_event(&t, CORE_EV_WRITE);
	th_out(&t);
	last_ack(&t, &ack, &win);
	assert_true(win > 0); /* window update */
	th_send(&t, WIRE_TCP_ACK, b.app_nxt + 300, t.our_isn + 1, pattern + 300,
		1100);
	th_advance(&t, 500000);
	th_out(&t);
	last_ack(&t, &ack, &win);
	assert_int_equal(ack, b.app_nxt + 1400);
	assert_memory_equal(fake_host_sock(&t.host, b.sock)->tx, pattern, 1400);

	/* A's socket drains: its buffer is returned to the budget, and new
	 * flows are admitted again. */
	conn_use(&t, &a);
	fake_host_set_tx_space(&t.host, a.sock, SIZE_MAX);
	th_event(&t, CORE_EV_WRITE);
	th_out(&t);
	assert_int_equal(fake_host_sock(&t.host, a.sock)->tx_len, 1400);
	assert_memory_equal(fake_host_sock(&t.host, a.sock)->tx, pattern, 1400);
	assert_true(t.e->mem.used + (with_buf - before) <= t.e->mem.budget);
	assert_int_equal(send_udp(&t, 6002), 0);
	t.sport = 40003;
	t.app_isn = 0x30000000u;
	th_establish(&t, &o);
	assert_int_equal(th_ctr(&t, TP_CTR_flows_refused_memory), 3);
	assert_int_equal(core_flow_count(t.e), 6);
	th_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_no_socket_v4, setup),
	    cmocka_unit_test_setup(test_no_socket_v6, setup),
	    cmocka_unit_test_setup(test_fd_limit_existing_flows_go_on, setup),
	    cmocka_unit_test_setup(test_connect_no_port, setup),
	    cmocka_unit_test_setup(test_budget_flows_and_buffers, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
