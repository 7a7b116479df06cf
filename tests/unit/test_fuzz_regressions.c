/* SPDX-License-Identifier: MIT */
/* test_fuzz_regressions.c - inputs with which the fuzzers found bugs,
 * replayed through the harnesses that found them (fuzz/harness_*.c are
 * compiled into this test), and the committed seed corpus of every target.
 *
 * A harness aborts with a message on stderr when an invariant breaks (see
 * fuzz/harness.h); memory errors show in the ASan build of the tests. Each
 * regression input is the minimised crash, with a note of what it hit.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/flow.h"
#include "core/tcp_int.h"
#include "harness.h"
#include "support/tcp_harness.h"

/* fuzz_router: a UDP flow stopped on a full transmit ring (so its slot is
 * on the tx-resume list), timed out and was swept while the ring was still
 * full; the next new flow (a SYN) was given slot high_water++, one past the
 * table of max_flows = 1 slot (flow.c flow_alloc: heap overflow). */
static const uint8_t router_pending_slot[] = {
    0x3f, 0x00, 0x00, 0x0f, 0x05, 0xdc, 0x14, 0x00, 0xff, 0xff,
    0x00, 0xff, 0xff, 0xff, 0xff, 0x44, 0xff, 0xff, 0x01};

static void test_router_pending_slot(void **state)
{
	(void)state;
	fz_router_run(router_pending_slot, sizeof(router_pending_slot));
}

/* fuzz_router: the host closed first and the app acknowledged our FIN
 * (FIN-WAIT-2); then the app's last bytes and its FIN came while the host
 * socket took nothing. The flow entered TIME-WAIT still holding the bytes
 * and the socket, with no timer at all (the idle timeout did not apply in
 * TIME-WAIT), so a host that never reads again kept the flow, its socket
 * and its buffer forever ("after every timer: 1 flows left"). */
static const uint8_t router_time_wait_stuck[] = {
    0x00, 0x3b, 0x2e, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0e,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x0c, 0x0c, 0x0c, 0x0c, 0x0b, 0xe8,
    0x00, 0x18, 0xff, 0x04, 0x01, 0x00, 0x05, 0x00, 0x86, 0x86, 0x0c};

static void test_router_time_wait_stuck(void **state)
{
	(void)state;
	fz_router_run(router_time_wait_stuck, sizeof(router_time_wait_stuck));
}

/* fuzz_vnet: a run of 11 IPv6 segments of 5953 bytes: vnet_gso_run
 * limited the IPv6 payload, not the packet, to 65535 bytes, so the
 * super-packet was 65543 bytes long, more than the engine's own parser
 * (and the kernel's GSO) allows ("super-packet does not parse"). */
static const uint8_t vnet_v6_run_over_64k[] = {0x00, 0xea, 0xea,
					       0x30, 0xea, 0x30};

static void test_vnet_v6_run_over_64k(void **state)
{
	(void)state;
	fz_vnet_run(vnet_v6_run_over_64k, sizeof(vnet_v6_run_over_64k));
}

static void idle_20s(struct core_config *cfg)
{
	cfg->tcp_idle_timeout_us = 20000000;
}

/* The same, spelt out with the TCP test harness: the idle timeout ends a
 * TIME-WAIT that still waits for the host to take the app's last bytes,
 * and resets the host socket. */
static void test_tcp_time_wait_held_data_expires(void **state)
{
	(void)state;
	struct th t;
	th_init(&t, 4, idle_20s);
	th_establish(&t, NULL);
	fake_host_rx_eof(&t.host, t.sock);
	th_event(&t, CORE_EV_READ);
	assert_int_equal(th_out(&t), 1);
	assert_true(t.out[0].p.u.tcp.flags & WIRE_TCP_FIN);
	uint32_t fin = t.out[0].p.u.tcp.seq;

	fake_host_set_tx_space(&t.host, t.sock, 0);
	th_send(&t, WIRE_TCP_ACK | WIRE_TCP_FIN, t.app_nxt, fin + 1, "last", 4);
	t.app_nxt += 5;
	th_out(&t);
	struct fake_sock *s = fake_host_sock(&t.host, t.sock);
	assert_int_equal(s->tx_len, 0);
	assert_int_equal(core_flow_count(t.e), 1);

	th_advance(&t, 21000000);
	assert_int_equal(core_flow_count(t.e), 0);
	assert_true(s->closed);
	assert_true(s->reset);
	assert_int_equal(th_ctr(&t, TP_CTR_tcp_conns_open), 0);
	th_fini(&t);
}

/* fuzz_router: the app closed its window with the FIN that put the flow in
 * TIME-WAIT, then sent its FIN again with the window open. The window
 * update took it for the end of a zero-window probe and cleared rtx_at,
 * which in TIME-WAIT is the end of TIME-WAIT: the flow kept its slot
 * forever with no timer ("after every timer: 1 flows left"), so an app
 * could fill the flow table with such connections. */
static const uint8_t router_time_wait_window[] = {
    0x00, 0x3b, 0x1e, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0e,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x08, 0x36, 0xfc, 0x7f, 0x00, 0x00,
    0x00, 0x40, 0xb8, 0x00, 0x00, 0x00, 0x04, 0x55, 0x00, 0x00, 0x04};

static void test_router_time_wait_window(void **state)
{
	(void)state;
	fz_router_run(router_time_wait_window, sizeof(router_time_wait_window));
}

/* The same with the TCP test harness: an ACK opening the window in
 * TIME-WAIT leaves the end of TIME-WAIT alone. */
static void test_tcp_time_wait_window_update(void **state)
{
	(void)state;
	struct th t;
	th_init(&t, 4, NULL);
	th_establish(&t, NULL);
	fake_host_rx_eof(&t.host, t.sock);
	th_event(&t, CORE_EV_READ);
	assert_int_equal(th_out(&t), 1);
	uint32_t fin = t.out[0].p.u.tcp.seq;

	th_send_full(&t, WIRE_TCP_ACK | WIRE_TCP_FIN, t.app_nxt, fin + 1, 0,
		     NULL, NULL, 0);
	t.app_nxt++;
	th_out(&t);
	assert_int_equal(core_flow_count(t.e), 1); /* TIME-WAIT */
	th_send_full(&t, WIRE_TCP_ACK, t.app_nxt, fin + 1, 65535, NULL, NULL,
		     0);
	th_out(&t);
	th_advance(&t, TCP_TIME_WAIT_US + 1);
	assert_int_equal(core_flow_count(t.e), 0);
	th_fini(&t);
}

/* Runs every file of fuzz/corpus/<target> through run; returns how many. */
static int replay_corpus(const char *target,
			 void (*run)(const uint8_t *, size_t))
{
	char dir[1024], path[2048];
	snprintf(dir, sizeof(dir), "%s/fuzz/corpus/%s", TP_SOURCE_DIR, target);
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		FILE *f = fopen(path, "rb");
		assert_non_null(f);
		uint8_t *buf = malloc(1 << 20);
		size_t len = fread(buf, 1, 1 << 20, f);
		fclose(f);
		run(buf, len);
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

static void test_corpus(void **state)
{
	(void)state;
	assert_true(replay_corpus("fuzz_packet_parse", fz_packet_parse_run) >
		    0);
	assert_true(replay_corpus("fuzz_tcp_opts", fz_tcp_opts_run) > 0);
	assert_true(replay_corpus("fuzz_reasm", fz_reasm_run) > 0);
	assert_true(replay_corpus("fuzz_router", fz_router_run) > 0);
	assert_true(replay_corpus("fuzz_devtransport", fz_devtransport_run) >
		    0);
	assert_true(replay_corpus("fuzz_vnet", fz_vnet_run) > 0);
	assert_true(replay_corpus("fuzz_capture", fz_capture_run) > 0);
	assert_true(replay_corpus("fuzz_names_dns", fz_dns_run) > 0);
	assert_true(replay_corpus("fuzz_names_sni", fz_sni_run) > 0);
	assert_true(replay_corpus("fuzz_names_http", fz_http_run) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_router_pending_slot),
	    cmocka_unit_test(test_router_time_wait_stuck),
	    cmocka_unit_test(test_tcp_time_wait_held_data_expires),
	    cmocka_unit_test(test_router_time_wait_window),
	    cmocka_unit_test(test_tcp_time_wait_window_update),
	    cmocka_unit_test(test_vnet_v6_run_over_64k),
	    cmocka_unit_test(test_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
