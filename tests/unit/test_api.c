/* SPDX-License-Identifier: MIT */
/* test_api.c - the public API in callback mode, against real loopback
 * sockets of the test process (no root, no TUN): a UDP datagram handed in
 * with tp_input() reaches a local echo socket, and the reply comes back
 * through the output callback as a well-formed IP packet. Also: create and
 * destroy in a loop, two engines at once, stop from another thread, bad
 * configs and bad batches refused with the documented errors, and the
 * destination policy (loopback refused unless allowed). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "tunproxy.h"
#include "wire/build.h"
#include "wire/packet.h"

struct capture {
	pthread_mutex_t lock;
	uint8_t pkt[4][2048];
	size_t len[4];
	int n;
};

static void on_output(void *ctx, const uint8_t *const *pkts, const size_t *lens,
		      const uint8_t *families, size_t n)
{
	struct capture *c = ctx;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < n && c->n < 4; i++) {
		if (lens[i] > sizeof(c->pkt[0]))
			continue;
		memcpy(c->pkt[c->n], pkts[i], lens[i]);
		c->len[c->n] = lens[i];
		c->n++;
	}
	pthread_mutex_unlock(&c->lock);
}

static struct tp *make_engine_allow(struct capture *cap, const char *allow)
{
	struct tp_config cfg;
	tp_config_init(&cfg);
	cfg.output = on_output;
	cfg.output_ctx = cap;
	cfg.allow = allow;
	struct tp *tp = NULL;
	assert_int_equal(tp_create(&cfg, &tp), 0);
	return tp;
}

/* Loopback is the only network a unit test has, and the safe defaults
 * refuse it: these engines allow it explicitly. */
static struct tp *make_engine(struct capture *cap)
{
	return make_engine_allow(cap, "127.0.0.0/8");
}

static int echo_socket(uint16_t *port)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t l = sizeof(a);
	getsockname(s, (struct sockaddr *)&a, &l);
	*port = ntohs(a.sin_port);
	return s;
}

static size_t build_udp(uint8_t *buf, uint16_t dport, const char *msg)
{
	struct wire_ip_hdr ip = {.family = 4, .proto = WIRE_PROTO_UDP};
	uint8_t s[4] = {127, 0, 0, 2}, d[4] = {127, 0, 0, 1};
	wire_addr_from4(&ip.src, s);
	wire_addr_from4(&ip.dst, d);
	size_t ml = strlen(msg);
	memcpy(buf + 28, msg, ml);
	return wire_udp_build(buf, 2048, &ip, 40000, dport, ml);
}

static void test_udp_round_trip_callback_mode(void **state)
{
	struct capture cap = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct tp *tp = make_engine(&cap);
	assert_int_equal(tp_start(tp), 0);
	uint16_t port;
	int echo = echo_socket(&port);

	uint8_t pkt[2048];
	size_t len = build_udp(pkt, port, "hello through the engine");
	const uint8_t *pp = pkt;
	assert_int_equal(tp_input(tp, &pp, &len, 1), 1);

	/* The echo side sees the app's datagram from a host socket... */
	char buf[256];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	struct timeval tv = {5, 0};
	setsockopt(echo, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ssize_t n =
	    recvfrom(echo, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	assert_int_equal(n, 24);
	assert_memory_equal(buf, "hello through the engine", 24);
	/* ...and its answer comes back as an IP packet to the app. */
	sendto(echo, "reply!", 6, 0, (struct sockaddr *)&from, fl);
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&cap.lock);
		int got = cap.n;
		pthread_mutex_unlock(&cap.lock);
		if (got)
			break;
		usleep(10000);
	}
	pthread_mutex_lock(&cap.lock);
	assert_int_equal(cap.n, 1);
	struct wire_packet p;
	assert_int_equal(wire_packet_parse(cap.pkt[0], cap.len[0], &p),
			 WIRE_OK);
	pthread_mutex_unlock(&cap.lock);
	assert_int_equal(p.proto, WIRE_PROTO_UDP);
	assert_int_equal(p.sport, port);
	assert_int_equal(p.dport, 40000);
	assert_int_equal(p.payload_len, 6);
	assert_memory_equal(p.payload, "reply!", 6);

	uint64_t c[TP_CTR__COUNT];
	assert_int_equal(tp_get_counters(tp, c, TP_CTR__COUNT), TP_CTR__COUNT);
	assert_int_equal(c[TP_CTR_udp_tx_datagrams], 1);
	assert_int_equal(c[TP_CTR_udp_rx_datagrams], 1);
	assert_int_equal(c[TP_CTR_udp_flows_open], 1);
	close(echo);
	tp_destroy(tp);
}

static void test_create_destroy_loop(void **state)
{
	struct capture cap = {.lock = PTHREAD_MUTEX_INITIALIZER};
	for (int i = 0; i < 50; i++) {
		struct tp *tp = make_engine(&cap);
		if (i % 2)
			assert_int_equal(tp_start(tp), 0);
		tp_destroy(tp);
	}
}

static void test_two_engines_independent(void **state)
{
	struct capture a = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct capture b = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct tp *ta = make_engine(&a), *tb = make_engine(&b);
	assert_int_equal(tp_start(ta), 0);
	assert_int_equal(tp_start(tb), 0);
	uint16_t port;
	int echo = echo_socket(&port);
	uint8_t pkt[2048];
	size_t len = build_udp(pkt, port, "to a only");
	const uint8_t *pp = pkt;
	assert_int_equal(tp_input(ta, &pp, &len, 1), 1);
	char buf[64];
	struct timeval tv = {5, 0};
	setsockopt(echo, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(recv(echo, buf, sizeof(buf), 0), 9);
	usleep(50000);
	uint64_t ca[TP_CTR__COUNT], cb[TP_CTR__COUNT];
	tp_get_counters(ta, ca, TP_CTR__COUNT);
	tp_get_counters(tb, cb, TP_CTR__COUNT);
	assert_int_equal(ca[TP_CTR_rx_packets], 1);
	assert_int_equal(cb[TP_CTR_rx_packets], 0);
	close(echo);
	tp_destroy(ta);
	tp_destroy(tb);
}

static void *stopper(void *arg)
{
	usleep(20000);
	tp_stop(arg);
	return NULL;
}

static void test_run_stopped_from_other_thread(void **state)
{
	struct capture cap = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct tp *tp = make_engine(&cap);
	pthread_t t;
	pthread_create(&t, NULL, stopper, tp);
	assert_int_equal(tp_run(tp), 0); /* returns once stopped */
	pthread_join(t, NULL);
	tp_destroy(tp);
}

static void test_bad_config_and_batches(void **state)
{
	struct tp_config cfg;
	struct tp *tp = NULL;
	tp_config_init(&cfg);
	assert_int_equal(tp_create(&cfg, &tp), -TP_EINVAL); /* no output */
	assert_null(tp);
	cfg.output = on_output;
	cfg.mtu = 100;
	assert_int_equal(tp_create(&cfg, &tp), -TP_EINVAL);
	cfg.mtu = 1500;
	cfg.version = TP_API_VERSION + 1;
	assert_int_equal(tp_create(&cfg, &tp), -TP_EVERSION);
	cfg.version = TP_API_VERSION;
	struct capture cap = {.lock = PTHREAD_MUTEX_INITIALIZER};
	cfg.output_ctx = &cap;
	assert_int_equal(tp_create(&cfg, &tp), 0);
	uint8_t big[4000] = {0x45};
	const uint8_t *pp = big;
	size_t len = sizeof(big); /* larger than the MTU */
	assert_int_equal(tp_input(tp, &pp, &len, 1), -TP_EINVAL);
	len = 0;
	assert_int_equal(tp_input(tp, &pp, &len, 1), -TP_EINVAL);
	assert_string_equal(tp_strerror(-TP_EPERM),
			    "permission denied: run as root or with "
			    "CAP_NET_ADMIN");
	tp_destroy(tp);
}

static int wait_output(struct capture *cap, int want)
{
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&cap->lock);
		int got = cap->n;
		pthread_mutex_unlock(&cap->lock);
		if (got >= want)
			return got;
		usleep(10000);
	}
	return 0;
}

/* By default the engine refuses to carry the app to this host's loopback:
 * the app gets ICMP "administratively prohibited" and the counter moves;
 * the datagram never reaches the local socket. */
static void test_loopback_refused_by_default(void **state)
{
	struct capture cap = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct tp *tp = make_engine_allow(&cap, NULL);
	assert_int_equal(tp_start(tp), 0);
	uint16_t port;
	int echo = echo_socket(&port);
	uint8_t pkt[2048];
	size_t len = build_udp(pkt, port, "let me in");
	const uint8_t *pp = pkt;
	assert_int_equal(tp_input(tp, &pp, &len, 1), 1);
	assert_int_equal(wait_output(&cap, 1), 1);
	struct wire_packet p;
	assert_int_equal(wire_packet_parse(cap.pkt[0], cap.len[0], &p),
			 WIRE_OK);
	assert_int_equal(p.proto, WIRE_PROTO_ICMP);
	assert_int_equal(p.u.icmp.type, 3);
	assert_int_equal(p.u.icmp.code, 13);
	char buf[64];
	assert_int_equal(recv(echo, buf, sizeof(buf), MSG_DONTWAIT), -1);
	uint64_t c[TP_CTR__COUNT];
	tp_get_counters(tp, c, TP_CTR__COUNT);
	assert_int_equal(c[TP_CTR_flows_refused_policy], 1);
	assert_int_equal(c[TP_CTR_flows_created], 0);
	assert_string_equal(tp_counter_name(TP_CTR_flows_refused_policy),
			    "flows_refused_policy");
	close(echo);
	tp_destroy(tp);
}

/* A deny list beats the explicit allow of a wider prefix (more
 * specific), and a typo in a list stops tp_create. */
static void test_policy_lists(void **state)
{
	struct capture cap = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct tp_config cfg;
	tp_config_init(&cfg);
	cfg.output = on_output;
	cfg.output_ctx = &cap;
	struct tp *tp = NULL;
	cfg.allow = "127.0.0.0/8,nonsense";
	assert_int_equal(tp_create(&cfg, &tp), -TP_EINVAL);
	assert_null(tp);
	cfg.allow = "127.0.0.0/8";
	cfg.deny = "10.0.0.0/8 127.0.0.1/32:1-65535";
	char deny[64];
	snprintf(deny, sizeof(deny), "%s", cfg.deny);
	cfg.deny = deny;
	assert_int_equal(tp_create(&cfg, &tp), 0);
	memset(deny, 'x', sizeof(deny) - 1); /* read only during tp_create */
	assert_int_equal(tp_start(tp), 0);
	uint16_t port;
	int echo = echo_socket(&port);
	uint8_t pkt[2048];
	size_t len = build_udp(pkt, port, "denied");
	const uint8_t *pp = pkt;
	assert_int_equal(tp_input(tp, &pp, &len, 1), 1);
	assert_int_equal(wait_output(&cap, 1), 1);
	uint64_t c[TP_CTR__COUNT];
	tp_get_counters(tp, c, TP_CTR__COUNT);
	assert_int_equal(c[TP_CTR_flows_refused_policy], 1);
	close(echo);
	tp_destroy(tp);
}

/* The loop-avoidance fields (issue 10, part 4): read only during
 * tp_create, and a bad value stops it with a reason. Run as root (the
 * tests are), SO_MARK and SO_BINDTODEVICE to lo are accepted. */
static void test_loop_fields(void **state)
{
	(void)state;
	struct capture cap = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct tp_config cfg;
	tp_config_init(&cfg);
	cfg.output = on_output;
	cfg.output_ctx = &cap;
	struct tp *tp = NULL;
	cfg.tun_prefixes = "10.0.0.8/24,nonsense";
	assert_int_equal(tp_create(&cfg, &tp), -TP_EINVAL);
	cfg.tun_prefixes = "10.0.0.8/24";
	cfg.bind_interface = "no-such-if0";
	assert_int_equal(tp_create(&cfg, &tp), -TP_EINVAL);
	assert_null(tp);
	if (geteuid() != 0)
		return;
	char ifname[16] = "lo";
	cfg.bind_interface = ifname;
	cfg.fwmark = 0x2a;
	assert_int_equal(tp_create(&cfg, &tp), 0);
	ifname[0] = 0; /* read only during tp_create */
	tp_destroy(tp);
}

static void test_backpressure_when_not_running(void **state)
{
	struct capture cap = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct tp *tp = make_engine(&cap);
	uint8_t pkt[2048];
	size_t len = build_udp(pkt, 9, "x");
	const uint8_t *pp[64];
	size_t lens[64];
	for (int i = 0; i < 64; i++)
		pp[i] = pkt, lens[i] = len;
	int accepted = 0;
	for (int i = 0; i < 10; i++) {
		int k = tp_input(tp, pp, lens, 64);
		assert_true(k >= 0);
		accepted += k;
	}
	/* The queue is bounded: not all 640 were taken. */
	assert_true(accepted < 640);
	assert_true(accepted > 0);
	tp_destroy(tp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_udp_round_trip_callback_mode),
	    cmocka_unit_test(test_create_destroy_loop),
	    cmocka_unit_test(test_two_engines_independent),
	    cmocka_unit_test(test_run_stopped_from_other_thread),
	    cmocka_unit_test(test_bad_config_and_batches),
	    cmocka_unit_test(test_backpressure_when_not_running),
	    cmocka_unit_test(test_loopback_refused_by_default),
	    cmocka_unit_test(test_policy_lists),
	    cmocka_unit_test(test_loop_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
