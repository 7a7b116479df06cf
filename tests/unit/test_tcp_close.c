/* SPDX-License-Identifier: MIT */
/* test_tcp_close.c - closing: FIN from each side with the other direction
 * still flowing, simultaneous close, TIME-WAIT, RST in every state, host
 * resets, RFC 5961 challenge ACKs and the idle timeout. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/flow.h"
#include "core/tcp_int.h"
#include "support/tcp_harness.h"

static void app_data(struct th *t, const char *s, bool fin)
{
	size_t n = strlen(s);
	uint8_t fl = WIRE_TCP_ACK | (fin ? WIRE_TCP_FIN : 0);
	th_send(t, fl, t->app_nxt, th_conn(t)->snd_nxt, s, n);
	t->app_nxt += (uint32_t)n + fin;
}

static void host_data(struct th *t, const char *s, bool eof)
{
	if (*s)
		fake_host_rx_push(&t->host, t->sock, s, strlen(s));
	if (eof)
		fake_host_rx_eof(&t->host, t->sock);
	th_event(t, CORE_EV_READ);
}

/* App closes first (the usual HTTP/1.1 client half-close), the host keeps
 * sending; when it finishes, our FIN is ACKed and the flow is gone at once
 * (LAST_ACK, no TIME-WAIT). */
static void test_app_fin_first(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	struct wire_tcp_opts o = th_opts_all();
	th_establish(&t, &o);
	app_data(&t, "GET /", true);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.ack, t.app_nxt);
	assert_int_equal(th_sock(&t)->tx_len, 5);
	assert_true(th_sock(&t)->shut_wr);
	assert_int_equal(th_conn(&t)->state, TCP_CLOSE_WAIT);

	host_data(&t, "HTTP/1.0 200", false);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.payload_len, 12);
	host_data(&t, " OK", true);
	assert_int_equal(th_out(&t), 2);
	assert_int_equal(t.out[1].p.u.tcp.flags, WIRE_TCP_FIN | WIRE_TCP_ACK);
	assert_int_equal(th_conn(&t)->state, TCP_LAST_ACK);
	uint32_t end = t.out[1].p.u.tcp.seq + 1;
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, end, NULL, 0);
	assert_int_equal(core_flow_count(t.e), 0);
	assert_true(th_sock(&t)->closed);
	assert_false(th_sock(&t)->reset);
	assert_int_equal(th_sock(&t)->rx_len, 0);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_conns_open), 0);
	/* The app ACKs a resent FIN again after the flow is gone: it gets
	 * the RFC 9293 RST, counted as stray, not as an abort. */
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, end, NULL, 0);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.flags, WIRE_TCP_RST);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_rst_sent), 1);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_rst_stray), 1);
	th_fini(&t);
}

/* The host closes first; the app keeps sending after our FIN; its FIN
 * puts us in a short TIME-WAIT that holds no socket. */
static void test_host_fin_first(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	host_data(&t, "bye", true);
	assert_int_equal(th_out(&t), 2);
	uint32_t fin_seq = t.out[1].p.u.tcp.seq;
	assert_int_equal(th_conn(&t)->state, TCP_FIN_WAIT_1);
	assert_false(th_sock(&t)->shut_wr);
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, fin_seq + 1, NULL, 0);
	assert_int_equal(th_conn(&t)->state, TCP_FIN_WAIT_2);

	app_data(&t, "more data", false);
	app_data(&t, "and more", false);
	th_out(&t);
	assert_int_equal(th_sock(&t)->tx_len, 17);
	assert_memory_equal(th_sock(&t)->tx, "more dataand more", 17);
	app_data(&t, "", true);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.ack, t.app_nxt);
	assert_true(th_sock(&t)->shut_wr);
	assert_true(th_sock(&t)->closed);
	assert_false(th_sock(&t)->reset);
	assert_int_equal(core_flow_count(t.e), 1);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_conns_open), 0);

	/* Our ACK was lost: the app's FIN again is ACKed again. */
	th_send(&t, WIRE_TCP_FIN | WIRE_TCP_ACK, t.app_nxt - 1, fin_seq + 1,
		NULL, 0);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.ack, t.app_nxt);
	th_advance(&t, TCP_TIME_WAIT_US);
	assert_int_equal(core_flow_count(t.e), 0);
	th_fini(&t);
}

/* Both FINs cross: CLOSING, then TIME-WAIT. */
static void test_simultaneous_close(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	host_data(&t, "", true);
	assert_int_equal(th_out(&t), 1);
	uint32_t fin_seq = t.out[0].p.u.tcp.seq;
	assert_int_equal(t.out[0].p.u.tcp.flags, WIRE_TCP_FIN | WIRE_TCP_ACK);
	/* The app's FIN does not acknowledge ours. */
	th_send(&t, WIRE_TCP_FIN | WIRE_TCP_ACK, t.app_nxt, fin_seq, NULL, 0);
	t.app_nxt++;
	assert_int_equal(th_conn(&t)->state, TCP_CLOSING);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.ack, t.app_nxt);
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, fin_seq + 1, NULL, 0);
	assert_int_equal(th_conn(&t)->state, TCP_TIME_WAIT);
	th_advance(&t, TCP_TIME_WAIT_US);
	assert_int_equal(core_flow_count(t.e), 0);
	th_fini(&t);
}

/* The app's FIN reaches the host only after the data before it. */
static void test_fin_waits_for_host(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	fake_host_set_tx_space(&t.host, t.sock, 4);
	app_data(&t, "abcdefgh", true);
	assert_int_equal(th_sock(&t)->tx_len, 4);
	assert_false(th_sock(&t)->shut_wr);
	th_out(&t);
	assert_int_equal(t.out[t.nout - 1].p.u.tcp.ack, t.app_nxt);
	fake_host_set_tx_space(&t.host, t.sock, SIZE_MAX);
	th_event(&t, CORE_EV_WRITE);
	assert_int_equal(th_sock(&t)->tx_len, 8);
	assert_true(th_sock(&t)->shut_wr);
	th_fini(&t);
}

/* A new SYN on the tuple of a connection in TIME-WAIT opens a new one at
 * once. */
static void test_time_wait_reuse(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	struct wire_tcp_opts o = th_opts_all();
	th_establish(&t, &o);
	host_data(&t, "", true);
	th_out(&t);
	uint32_t fin_seq = t.out[0].p.u.tcp.seq;
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, fin_seq + 1, NULL, 0);
	app_data(&t, "", true);
	th_out(&t);
	assert_int_equal(th_conn(&t)->state, TCP_TIME_WAIT);
	t.app_isn = t.app_nxt + 100000;
	t.app_ts += 10;
	th_syn(&t, &o);
	assert_int_equal(t.host.connects, 2);
	th_connect_ok(&t);
	assert_int_equal(core_flow_count(t.e), 1);
	th_fini(&t);
}

/* RST from the app in each state closes the host socket with RST. */
static void expect_reset_closed(struct th *t)
{
	assert_int_equal(core_flow_count(t->e), 0);
	assert_true(th_sock(t)->closed);
	assert_true(th_sock(t)->reset);
	assert_int_equal(th_ctr(t, TP_CTR_tcp_rst_received), 1);
	assert_int_equal(th_ctr(t, TP_CTR_tcp_half_open), 0);
	assert_int_equal(th_ctr(t, TP_CTR_tcp_conns_open), 0);
	assert_int_equal(th_out(t), 0); /* a RST is never answered */
}

static void test_rst_syn_pending(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_syn(&t, NULL);
	th_send(&t, WIRE_TCP_RST, t.app_nxt, 0, NULL, 0);
	expect_reset_closed(&t);
	th_fini(&t);
}

static void test_rst_syn_rcvd(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_syn(&t, NULL);
	th_connect_ok(&t);
	th_send(&t, WIRE_TCP_RST, t.app_nxt, 0, NULL, 0);
	expect_reset_closed(&t);
	th_fini(&t);
}

static void test_rst_established(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	/* In the window but not exact: challenge ACK (RFC 5961 3.2). */
	th_send(&t, WIRE_TCP_RST, t.app_nxt + 100, 0, NULL, 0);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.flags, WIRE_TCP_ACK);
	assert_int_equal(t.out[0].p.u.tcp.ack, t.app_nxt);
	assert_int_equal(core_flow_count(t.e), 1);
	/* Out of the window: ignored. */
	th_send(&t, WIRE_TCP_RST, t.app_nxt - 100000, 0, NULL, 0);
	assert_int_equal(th_out(&t), 0);
	/* A SYN on an established connection: challenge ACK too. */
	th_send_full(&t, WIRE_TCP_SYN, t.app_nxt + 5, 0, 65535, NULL, NULL, 0);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.flags, WIRE_TCP_ACK);
	th_send(&t, WIRE_TCP_RST, t.app_nxt, 0, NULL, 0);
	expect_reset_closed(&t);
	th_fini(&t);
}

static void test_rst_fin_wait(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	host_data(&t, "", true);
	th_out(&t);
	assert_int_equal(th_conn(&t)->state, TCP_FIN_WAIT_1);
	th_send(&t, WIRE_TCP_RST, t.app_nxt, 0, NULL, 0);
	expect_reset_closed(&t);
	th_fini(&t);

	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	host_data(&t, "", true);
	th_out(&t);
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.out[0].p.u.tcp.seq + 1, NULL, 0);
	assert_int_equal(th_conn(&t)->state, TCP_FIN_WAIT_2);
	th_send(&t, WIRE_TCP_RST, t.app_nxt, 0, NULL, 0);
	expect_reset_closed(&t);
	th_fini(&t);
}

static void test_rst_close_wait_last_ack(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	app_data(&t, "", true);
	th_out(&t);
	assert_int_equal(th_conn(&t)->state, TCP_CLOSE_WAIT);
	th_send(&t, WIRE_TCP_RST, t.app_nxt, 0, NULL, 0);
	expect_reset_closed(&t);
	th_fini(&t);

	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	app_data(&t, "", true);
	host_data(&t, "", true);
	th_out(&t);
	assert_int_equal(th_conn(&t)->state, TCP_LAST_ACK);
	th_send(&t, WIRE_TCP_RST, t.app_nxt, 0, NULL, 0);
	expect_reset_closed(&t);
	th_fini(&t);
}

/* The host resets: the app gets RST. */
static void test_host_reset(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	app_data(&t, "x", false);
	fake_host_set_errno(&t.host, t.sock, ECONNRESET);
	th_event(&t, CORE_EV_ERROR | CORE_EV_HUP);
	assert_int_equal(th_out(&t), 1);
	const struct wire_tcp *r = &t.out[0].p.u.tcp;
	assert_int_equal(r->flags, WIRE_TCP_RST | WIRE_TCP_ACK);
	assert_int_equal(r->seq, t.our_isn + 1);
	assert_int_equal(r->ack, t.app_nxt);
	assert_int_equal(core_flow_count(t.e), 0);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_rst_sent), 1);
	th_fini(&t);

	/* Seen as a read error instead. */
	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	fake_host_set_rx_error(&t.host, t.sock, -ECONNRESET);
	th_event(&t, CORE_EV_READ);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.flags, WIRE_TCP_RST | WIRE_TCP_ACK);
	assert_int_equal(core_flow_count(t.e), 0);
	th_fini(&t);

	/* Or a write error (EPIPE) when the app's data goes out. */
	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	fake_host_set_send_error(&t.host, t.sock, -EPIPE);
	app_data(&t, "x", false);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.flags, WIRE_TCP_RST | WIRE_TCP_ACK);
	assert_int_equal(core_flow_count(t.e), 0);
	th_fini(&t);
}

static void short_idle(struct core_config *c)
{
	c->tcp_idle_timeout_us = 10000000;
}

static void test_idle_timeout(void **state)
{
	struct th t;
	th_init(&t, 4, short_idle);
	th_establish(&t, NULL);
	th_advance(&t, 6000000);
	app_data(&t, "keep", false);
	th_advance(&t, 6000000);
	th_out(&t);
	assert_int_equal(core_flow_count(t.e), 1);
	th_advance(&t, 4000000);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.flags, WIRE_TCP_RST | WIRE_TCP_ACK);
	assert_int_equal(core_flow_count(t.e), 0);
	assert_true(th_sock(&t)->reset);
	assert_int_equal(th_ctr(&t, TP_CTR_flows_expired), 1);
	th_fini(&t);
}

/* Old segments and acknowledgments of unsent data are refused with an
 * ACK; PAWS drops a segment with an old timestamp. */
static void test_unacceptable(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	struct wire_tcp_opts o = th_opts_all();
	th_establish(&t, &o);
	app_data(&t, "abc", false);
	th_out(&t);
	/* Entirely old data. */
	th_send(&t, WIRE_TCP_ACK, t.app_nxt - 3, t.our_isn + 1, "abc", 3);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(t.out[0].p.u.tcp.ack, t.app_nxt);
	/* ACK of data never sent. */
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 5000, "def", 3);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(th_sock(&t)->tx_len, 3);
	/* An old timestamp (PAWS). */
	t.app_ts -= 100;
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 1, "ghi", 3);
	assert_int_equal(th_out(&t), 1);
	assert_int_equal(th_sock(&t)->tx_len, 3);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_bad_segments), 3);
	t.app_ts += 200;
	th_send(&t, WIRE_TCP_ACK, t.app_nxt, t.our_isn + 1, "ghi", 3);
	assert_int_equal(th_sock(&t)->tx_len, 6);
	th_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_app_fin_first),
	    cmocka_unit_test(test_host_fin_first),
	    cmocka_unit_test(test_simultaneous_close),
	    cmocka_unit_test(test_fin_waits_for_host),
	    cmocka_unit_test(test_time_wait_reuse),
	    cmocka_unit_test(test_rst_syn_pending),
	    cmocka_unit_test(test_rst_syn_rcvd),
	    cmocka_unit_test(test_rst_established),
	    cmocka_unit_test(test_rst_fin_wait),
	    cmocka_unit_test(test_rst_close_wait_last_ack),
	    cmocka_unit_test(test_host_reset),
	    cmocka_unit_test(test_idle_timeout),
	    cmocka_unit_test(test_unacceptable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
