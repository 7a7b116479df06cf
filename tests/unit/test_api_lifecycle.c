/* SPDX-License-Identifier: MIT */
/* test_api_lifecycle.c - an engine's life from the app's side:
 *   - create/destroy in a loop, started or not, with flows and host
 *     sockets open at destroy time: no fd left behind (and no leak: the
 *     sanitizer build runs LeakSanitizer at exit);
 *   - the app-driven mode: the app's own poll loop on tp_fd, with
 *     tp_next_timeout_ms and tp_process, carries a UDP round trip, and
 *     tp_process says 0 once stopped;
 *   - fd mode on a datagram socketpair standing in for a TUN, bare and
 *     with Darwin's utun framing (4-byte address family, AF_INET = 2),
 *     which Linux can check byte for byte even though only Apple
 *     platforms produce it;
 *   - config versioning: an older, shorter config keeps the defaults of
 *     the fields it does not know.
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/api_util.h"
#include "tunproxy.h"
#include "wire/packet.h"

struct tx_wait {
	struct tp *tp;
	uint64_t n;
};

static bool tx_reached(void *arg)
{
	struct tx_wait *w = arg;
	return counter(w->tp, TP_CTR_udp_tx_datagrams) >= w->n;
}

static void test_create_destroy_loop_no_leaks(void **state)
{
	struct echo e;
	echo_start(&e);
	int fds0 = open_fds();
	assert_true(fds0 > 0);
	for (int i = 0; i < 60; i++) {
		struct sink s;
		sink_init(&s);
		struct tp *tp = api_engine(&s);
		if (i % 3 != 0) {
			assert_int_equal(tp_start(tp), 0);
			/* Two flows with host sockets open at destroy. */
			uint8_t a[64], b[64];
			const uint8_t *pkts[2] = {a, b};
			size_t lens[2] = {
			    udp4_seq_packet(a, 40000, e.port, 0, 0),
			    udp4_seq_packet(b, 40001, e.port, 1, 0),
			};
			assert_int_equal(input_all(tp, pkts, lens, 2), 2);
			struct tx_wait w = {tp, 2};
			assert_true(wait_for(tx_reached, &w, 5000));
			if (i % 3 == 2)
				tp_stop(tp);
		}
		tp_destroy(tp);
		pthread_mutex_destroy(&s.lock);
	}
	assert_int_equal(open_fds(), fds0);
	tp_destroy(NULL);
	echo_stop(&e);
}

static void test_app_driven_loop(void **state)
{
	struct sink s;
	sink_init(&s);
	struct echo e;
	echo_start(&e);
	struct tp *tp = api_engine(&s);
	int fd = tp_fd(tp);
	assert_true(fd >= 0);
	assert_int_equal(tp_fd(NULL), -TP_EINVAL);
	uint8_t pkt[64];
	size_t len = udp4_packet(pkt, 40000, e.port, "ping", 4);
	const uint8_t *pp = pkt;
	assert_int_equal(tp_input(tp, &pp, &len, 1), 1);
	/* The app's run loop: wait on tp_fd at most tp_next_timeout_ms. */
	for (int i = 0; i < 500 && sink_pkts(&s) == 0; i++) {
		int t = tp_next_timeout_ms(tp);
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		poll(&pfd, 1, t < 0 || t > 10 ? 10 : t);
		assert_int_equal(tp_process(tp), 1);
	}
	assert_int_equal(sink_pkts(&s), 1);
	struct wire_packet p;
	assert_int_equal(wire_packet_parse(s.keep[0], s.keep_len[0], &p),
			 WIRE_OK);
	assert_int_equal(p.proto, WIRE_PROTO_UDP);
	assert_int_equal(p.dport, 40000);
	assert_int_equal(p.payload_len, 4);
	assert_memory_equal(p.payload, "ping", 4);
	/* A flow is open: its idle timeout is a deadline. */
	int t = tp_next_timeout_ms(tp);
	assert_true(t >= 0 && t <= 60000);
	tp_stop(tp);
	assert_int_equal(tp_process(tp), 0);
	tp_destroy(tp);
	echo_stop(&e);
}

/* One UDP round trip through an fd-mode engine on a socketpair, with the
 * given framing: the test writes the app's packet on sv[1] and reads the
 * echo back there. */
static void fd_mode_round_trip(uint32_t framing)
{
	struct echo e;
	echo_start(&e);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	struct tp_config cfg;
	tp_config_init(&cfg);
	cfg.tun_fd = sv[0];
	cfg.framing = framing;
	cfg.allow = "127.0.0.0/8";
	struct tp *tp = NULL;
	assert_int_equal(tp_create(&cfg, &tp), 0);
	assert_int_equal(tp_start(tp), 0);

	size_t hdr = framing == TP_FRAMING_UTUN ? 4 : 0;
	uint8_t out[128] = {0, 0, 0, 2}; /* AF_INET, network order */
	size_t len = udp4_packet(out + hdr, 40000, e.port, "fd mode", 7);
	assert_int_equal(write(sv[1], out, hdr + len), (ssize_t)(hdr + len));
	struct timeval tv = {5, 0};
	setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	uint8_t in[2048];
	ssize_t n = read(sv[1], in, sizeof(in));
	assert_true(n > (ssize_t)hdr);
	if (hdr) {
		static const uint8_t af_inet[4] = {0, 0, 0, 2};
		assert_memory_equal(in, af_inet, 4);
	}
	struct wire_packet p;
	assert_int_equal(wire_packet_parse(in + hdr, (size_t)n - hdr, &p),
			 WIRE_OK);
	assert_int_equal(p.dport, 40000);
	assert_int_equal(p.payload_len, 7);
	assert_memory_equal(p.payload, "fd mode", 7);
	tp_destroy(tp);
	/* The fd is still the caller's. */
	assert_int_equal(write(sv[1], out, 1), 1);
	close(sv[0]);
	close(sv[1]);
	echo_stop(&e);
}

static void test_fd_mode_bare(void **state)
{
	fd_mode_round_trip(TP_FRAMING_NONE);
}

static void test_fd_mode_utun_framing(void **state)
{
	fd_mode_round_trip(TP_FRAMING_UTUN);
}

static void test_older_shorter_config(void **state)
{
	struct sink s;
	sink_init(&s);
	struct tp_config cfg;
	api_config(&cfg, &s);
	/* An app built against a header that ended at tcp_idle_timeout_ms. */
	cfg.size = (uint32_t)(offsetof(struct tp_config, tcp_idle_timeout_ms) +
			      sizeof(cfg.tcp_idle_timeout_ms));
	struct tp *tp = NULL;
	assert_int_equal(tp_create(&cfg, &tp), 0);
	tp_destroy(tp);
	cfg.size = sizeof(cfg) + 8; /* a newer header than the library */
	assert_int_equal(tp_create(&cfg, &tp), -TP_EVERSION);
	assert_null(tp);
	cfg.size = 8; /* nonsense */
	assert_int_equal(tp_create(&cfg, &tp), -TP_EINVAL);
	assert_int_equal(tp_create(NULL, &tp), -TP_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_destroy_loop_no_leaks),
	    cmocka_unit_test(test_app_driven_loop),
	    cmocka_unit_test(test_fd_mode_bare),
	    cmocka_unit_test(test_fd_mode_utun_framing),
	    cmocka_unit_test(test_older_shorter_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
