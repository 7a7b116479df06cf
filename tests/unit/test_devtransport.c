/* SPDX-License-Identifier: MIT */
/* test_devtransport.c - the UDP dev transport (src/io/tunconn_udp.c) on
 * real loopback sockets with a fake clock for its idle rule:
 *   - one datagram in = one packet out of read_batch, bytes intact, and
 *     the engine's packets go back as datagrams to the session's client;
 *   - client locking: the first sender owns the session; others are
 *     dropped and counted and get nothing back; after the owner's silence
 *     (fake clock) the next sender takes over; an empty datagram is a
 *     keepalive that keeps the session and is not passed on;
 *   - batching: more datagrams than one batch come out over two reads;
 *   - addresses: non-loopback needs allow_public; bad specs and a port in
 *     use are refused with the documented codes;
 *   - the public API: tp_create with listen_udp, an echo through the whole
 *     engine, the dev_* counters, and tp_input refused in this mode;
 *   - a takeover through the driver (issue 11, item 8): the old client's
 *     flows are closed (its TCP connection is reset at the server, counted
 *     in dev_session_flows_closed) and the newcomer gets none of their
 *     packets; a keepalive keeps the session past the idle time.
 * Waiting for a datagram uses poll (readiness), never a sleep. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
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

#include "host/driver.h"
#include "io/tunconn_udp.h"
#include "tunproxy.h"
#include "wire/build.h"
#include "wire/packet.h"

struct fake_clock {
	uint64_t now;
};

static uint64_t fake_now(void *ctx)
{
	return ((struct fake_clock *)ctx)->now;
}

static struct tunconn *make(struct fake_clock *clk, const char *listen,
			    uint32_t idle_ms, int *err)
{
	struct tunconn_udp_opts o = {
	    .listen = listen,
	    .client_idle_ms = idle_ms,
	    .clock_us = fake_now,
	    .clock_ctx = clk,
	};
	return tunconn_udp_create(&o, err);
}

static uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* A client socket connected to the transport. */
static int client(struct tunconn *t)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(s >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(local_port(t->ops->fd(t))),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
	return s;
}

static bool readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) == 1;
}

/* Reads what the transport has, waiting up to 1 s for the first. */
static int read_all(struct tunconn *t, struct tun_pkt *pkts, int max)
{
	if (!readable(t->ops->fd(t), 1000))
		return 0;
	return t->ops->read_batch(t, pkts, max);
}

static uint64_t ctr(struct tunconn *t, enum tp_counter c)
{
	uint64_t v[TP_CTR__COUNT] = {0};
	t->ops->counters(t, v, TP_CTR__COUNT);
	return v[c];
}

static int send_back(struct tunconn *t, const char *msg, uint64_t *dropped)
{
	uint8_t buf[64];
	size_t len = strlen(msg);
	memcpy(buf, msg, len);
	struct core_tx_pkt p = {.data = buf, .len = len, .family = 4};
	return t->ops->write_batch(t, &p, 1, dropped);
}

/* Whether s receives msg within ms. */
static bool got(int s, const char *msg, int ms)
{
	char buf[128];
	if (!readable(s, ms))
		return false;
	ssize_t r = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
	return r == (ssize_t)strlen(msg) && memcmp(buf, msg, (size_t)r) == 0;
}

static void test_one_datagram_one_packet(void **state)
{
	(void)state;
	struct fake_clock clk = {1000000};
	int err;
	struct tunconn *t = make(&clk, "127.0.0.1:0", 1000, &err);
	assert_non_null(t);
	int a = client(t);
	uint8_t pkt[1500];
	for (size_t i = 0; i < sizeof(pkt); i++)
		pkt[i] = (uint8_t)(i * 7);
	assert_int_equal(send(a, pkt, sizeof(pkt), 0), (ssize_t)sizeof(pkt));
	assert_int_equal(send(a, pkt, 20, 0), 20);
	struct tun_pkt in[64];
	int n = read_all(t, in, 64);
	if (n == 1) /* the second may not have been queued yet */
		n += read_all(t, in + 1, 63);
	assert_int_equal(n, 2);
	assert_int_equal(in[0].len, sizeof(pkt));
	assert_memory_equal(in[0].data, pkt, sizeof(pkt));
	assert_int_equal(in[1].len, 20);
	assert_int_equal(ctr(t, TP_CTR_dev_client_changes), 1);

	uint64_t dropped = 0;
	assert_int_equal(send_back(t, "reply", &dropped), 1);
	assert_int_equal(dropped, 0);
	assert_true(got(a, "reply", 1000));
	close(a);
	t->ops->close(t);
}

static void test_client_locking(void **state)
{
	(void)state;
	struct fake_clock clk = {5000000};
	int err;
	struct tunconn *t = make(&clk, "127.0.0.1:0", 1000, &err);
	assert_non_null(t);
	int a = client(t), b = client(t);
	struct tun_pkt in[64];
	uint64_t dropped = 0;

	/* No client yet: what the engine sends is dropped. */
	assert_int_equal(send_back(t, "nobody", &dropped), 1);
	assert_int_equal(dropped, 1);

	/* A is first and owns the session. */
	assert_int_equal(send(a, "A1", 2, 0), 2);
	assert_int_equal(read_all(t, in, 64), 1);
	assert_memory_equal(in[0].data, "A1", 2);

	/* B is refused and counted, A is not disturbed. */
	clk.now += 999000;
	assert_int_equal(send(b, "B1", 2, 0), 2);
	assert_true(readable(t->ops->fd(t), 1000));
	assert_int_equal(t->ops->read_batch(t, in, 64), 0);
	assert_int_equal(ctr(t, TP_CTR_dev_foreign_dropped), 1);
	assert_int_equal(send_back(t, "toA", &dropped), 1);
	assert_true(got(a, "toA", 1000));
	assert_false(got(b, "toA", 50));

	/* A keeps the session with an empty datagram (a keepalive that is
	 * not passed to the engine), so B is still refused 999 ms later. */
	assert_int_equal(send(a, "", 0, 0), 0);
	assert_true(readable(t->ops->fd(t), 1000));
	assert_int_equal(t->ops->read_batch(t, in, 64), 0);
	clk.now += 999000;
	assert_int_equal(send(b, "B2", 2, 0), 2);
	assert_true(readable(t->ops->fd(t), 1000));
	assert_int_equal(t->ops->read_batch(t, in, 64), 0);
	assert_int_equal(ctr(t, TP_CTR_dev_foreign_dropped), 2);
	assert_int_equal(ctr(t, TP_CTR_dev_client_changes), 1);

	/* A silent for the idle time: B takes over. */
	clk.now += 1000;
	assert_int_equal(send(b, "B3", 2, 0), 2);
	assert_int_equal(read_all(t, in, 64), 1);
	assert_memory_equal(in[0].data, "B3", 2);
	assert_int_equal(ctr(t, TP_CTR_dev_client_changes), 2);
	assert_int_equal(send_back(t, "toB", &dropped), 1);
	assert_true(got(b, "toB", 1000));
	assert_false(got(a, "toB", 50));

	/* Now A is the foreigner. */
	assert_int_equal(send(a, "A2", 2, 0), 2);
	assert_true(readable(t->ops->fd(t), 1000));
	assert_int_equal(t->ops->read_batch(t, in, 64), 0);
	assert_int_equal(ctr(t, TP_CTR_dev_foreign_dropped), 3);
	close(a);
	close(b);
	t->ops->close(t);
}

static void test_batches(void **state)
{
	(void)state;
	struct fake_clock clk = {1};
	int err;
	struct tunconn *t = make(&clk, "127.0.0.1:0", 1000, &err);
	assert_non_null(t);
	int a = client(t);
	for (int i = 0; i < 100; i++) {
		uint8_t b[4] = {(uint8_t)i, 1, 2, 3};
		assert_int_equal(send(a, b, 4, 0), 4);
	}
	struct tun_pkt in[64];
	int total = 0, calls = 0;
	while (total < 100 && calls < 100) {
		int n = read_all(t, in, 64);
		assert_true(n >= 0 && n <= 64);
		for (int i = 0; i < n; i++)
			assert_int_equal(in[i].data[0], (uint8_t)(total + i));
		total += n;
		calls++;
	}
	assert_int_equal(total, 100);
	assert_true(calls >= 2);

	/* write_batch sends a whole batch in order. */
	uint8_t bufs[64][4];
	struct core_tx_pkt out[64];
	for (int i = 0; i < 64; i++) {
		bufs[i][0] = (uint8_t)i;
		out[i] = (struct core_tx_pkt){bufs[i], 4, 4};
	}
	uint64_t dropped = 0;
	assert_int_equal(t->ops->write_batch(t, out, 64, &dropped), 64);
	assert_int_equal(dropped, 0);
	for (int i = 0; i < 64; i++) {
		uint8_t b[8];
		assert_true(readable(a, 1000));
		assert_int_equal(recv(a, b, sizeof(b), 0), 4);
		assert_int_equal(b[0], i);
	}
	close(a);
	t->ops->close(t);
}

static void test_addresses(void **state)
{
	(void)state;
	struct fake_clock clk = {1};
	int err;
	/* Not loopback: refused unless allowed. */
	assert_null(make(&clk, "0.0.0.0:0", 1000, &err));
	assert_int_equal(err, -TP_EINVAL);
	struct tunconn_udp_opts o = {.listen = "0.0.0.0:0",
				     .allow_public = true,
				     .client_idle_ms = 1000};
	struct tunconn *t = tunconn_udp_create(&o, &err);
	assert_non_null(t);
	t->ops->close(t);
	/* Malformed. */
	const char *bad[] = {
	    "127.0.0.1",       ":80",	      "::1:80", "[::1]80",
	    "127.0.0.1:99999", "127.0.0.1:x", "",	"[::1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(make(&clk, bad[i], 1000, &err));
		assert_int_equal(err, -TP_EINVAL);
	}
	/* A port in use. */
	t = make(&clk, "127.0.0.1:0", 1000, &err);
	assert_non_null(t);
	char spec[32];
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", local_port(t->ops->fd(t)));
	assert_null(make(&clk, spec, 1000, &err));
	assert_int_equal(err, -TP_EBUSY);
	t->ops->close(t);
	/* IPv6 loopback, if this host has it. */
	t = make(&clk, "[::1]:0", 1000, &err);
	if (t)
		t->ops->close(t);
	else
		assert_int_equal(err, -TP_EINVAL); /* no ::1 here */
	t = make(&clk, "localhost:0", 1000, &err);
	assert_non_null(t);
	t->ops->close(t);
}

/* The whole engine over the dev transport: a UDP datagram inside an IP
 * packet reaches a local echo socket and the reply comes back to the
 * client as an IP packet in one datagram. */
static void test_engine_echo(void **state)
{
	(void)state;
	int echo = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in ea = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(echo, (struct sockaddr *)&ea, sizeof(ea)), 0);
	socklen_t el = sizeof(ea);
	getsockname(echo, (struct sockaddr *)&ea, &el);

	/* A port for the engine: bind one, note it, free it. */
	int probe = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in pa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bind(probe, (struct sockaddr *)&pa, sizeof(pa));
	socklen_t pl = sizeof(pa);
	getsockname(probe, (struct sockaddr *)&pa, &pl);
	close(probe);
	char spec[32];
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", ntohs(pa.sin_port));

	struct tp_config cfg;
	tp_config_init(&cfg);
	assert_int_equal(cfg.dev_client_idle_ms, 5000);
	cfg.listen_udp = spec;
	/* Loopback is refused by default; the dev transport's own port
	 * stays refused even so (checked below). */
	cfg.allow = "127.0.0.1/32";
	struct tp *tp = NULL;
	int rc = tp_create(&cfg, &tp);
	if (rc == -TP_EBUSY)
		skip(); /* someone took the port in between */
	assert_int_equal(rc, 0);
	const uint8_t *none[1] = {NULL};
	size_t zero[1] = {0};
	assert_int_equal(tp_input(tp, none, zero, 1), -TP_ESTATE);
	assert_int_equal(tp_start(tp), 0);

	int c = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&pa, sizeof(pa)), 0);
	uint8_t pkt[128];
	struct wire_ip_hdr ip = {.family = 4, .proto = WIRE_PROTO_UDP};
	uint8_t lo[4] = {127, 0, 0, 1};
	wire_addr_from4(&ip.src, lo);
	wire_addr_from4(&ip.dst, lo);
	memcpy(pkt + 28, "ping!", 5);
	size_t len =
	    wire_udp_build(pkt, sizeof(pkt), &ip, 40000, ntohs(ea.sin_port), 5);
	assert_true(len > 0);
	assert_int_equal(send(c, pkt, len, 0), (ssize_t)len);

	char buf[64];
	assert_true(readable(echo, 2000));
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t r =
	    recvfrom(echo, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	assert_int_equal(r, 5);
	assert_memory_equal(buf, "ping!", 5);
	assert_int_equal(
	    sendto(echo, "pong!", 5, 0, (struct sockaddr *)&from, fl), 5);

	uint8_t reply[256];
	assert_true(readable(c, 2000));
	r = recv(c, reply, sizeof(reply), 0);
	assert_true(r > 28);
	struct wire_packet wp;
	assert_int_equal(wire_packet_parse(reply, (size_t)r, &wp), WIRE_OK);
	assert_int_equal(wp.proto, WIRE_PROTO_UDP);
	assert_int_equal(wp.dport, 40000);
	assert_int_equal(wp.payload_len, 5);
	assert_memory_equal(wp.payload, "pong!", 5);

	/* A flow to the transport's own socket would loop packets back
	 * into the proxy: refused even though 127.0.0.1 is allowed. */
	len =
	    wire_udp_build(pkt, sizeof(pkt), &ip, 40001, ntohs(pa.sin_port), 5);
	assert_int_equal(send(c, pkt, len, 0), (ssize_t)len);
	assert_true(readable(c, 2000));
	r = recv(c, reply, sizeof(reply), 0);
	assert_int_equal(wire_packet_parse(reply, (size_t)r, &wp), WIRE_OK);
	assert_int_equal(wp.proto, WIRE_PROTO_ICMP);
	assert_int_equal(wp.u.icmp.type, 3);
	assert_int_equal(wp.u.icmp.code, 13);

	uint64_t v[TP_CTR__COUNT];
	assert_int_equal(tp_get_counters(tp, v, TP_CTR__COUNT), TP_CTR__COUNT);
	assert_int_equal(v[TP_CTR_flows_refused_policy], 1);
	assert_int_equal(v[TP_CTR_dev_client_changes], 1);
	assert_int_equal(v[TP_CTR_dev_foreign_dropped], 0);
	assert_int_equal(tp_counter_name(TP_CTR_dev_foreign_dropped)[0], 'd');
	tp_destroy(tp);
	close(c);
	close(echo);
}

/* --- a takeover through the whole driver --- */

/* A loopback socket of type, bound to any port (listening for TCP). */
static int local_server(int type, struct sockaddr_in *a)
{
	int s = socket(AF_INET, type, 0);
	assert_true(s >= 0);
	*a = (struct sockaddr_in){.sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(s, (struct sockaddr *)a, sizeof(*a)), 0);
	socklen_t len = sizeof(*a);
	getsockname(s, (struct sockaddr *)a, &len);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(s, 4), 0);
	return s;
}

/* A UDP packet (or TCP SYN, flags != 0) from 127.0.0.1:sport. */
static size_t app_packet(uint8_t *pkt, size_t cap, uint8_t proto,
			 uint16_t sport, uint16_t dport, const char *msg)
{
	struct wire_ip_hdr ip = {.family = 4, .proto = proto};
	uint8_t lo[4] = {127, 0, 0, 1};
	wire_addr_from4(&ip.src, lo);
	wire_addr_from4(&ip.dst, lo);
	if (proto == WIRE_PROTO_UDP) {
		memcpy(pkt + 28, msg, strlen(msg));
		return wire_udp_build(pkt, cap, &ip, sport, dport, strlen(msg));
	}
	struct wire_tcp_hdr h = {.sport = sport,
				 .dport = dport,
				 .seq = 1000,
				 .flags = WIRE_TCP_SYN,
				 .window = 65535};
	return wire_tcp_build(pkt, cap, &ip, &h, 0);
}

/* Runs the driver until fd is readable (true) or about ms have passed. */
static bool drive_until(struct driver *d, int fd, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		assert_true(driver_step(d, 10) >= 0);
		if (readable(fd, 0))
			return true;
	}
	return false;
}

static uint64_t core_ctr(struct driver *d, enum tp_counter c)
{
	return core_counters(d->core)[c];
}

/* Drains what s has (replies to earlier packets). */
static void drain(int s)
{
	char buf[256];
	while (recv(s, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static void test_takeover_closes_old_flows(void **state)
{
	(void)state;
	struct fake_clock clk = {1000000};
	int err;
	struct tunconn *t = make(&clk, "127.0.0.1:0", 5000, &err);
	assert_non_null(t);
	struct tp_config cfg;
	tp_config_init(&cfg);
	cfg.allow = "127.0.0.1/32";
	struct driver *d = driver_create(&cfg, t, &err);
	assert_non_null(d);
	struct sockaddr_in ua, ta;
	int echo = local_server(SOCK_DGRAM, &ua);
	int lst = local_server(SOCK_STREAM, &ta);
	int a = client(t), b = client(t);
	uint8_t pkt[256];

	/* A opens a UDP flow and a TCP connection. */
	size_t len = app_packet(pkt, sizeof(pkt), WIRE_PROTO_UDP, 40000,
				ntohs(ua.sin_port), "ping");
	assert_int_equal(send(a, pkt, len, 0), (ssize_t)len);
	assert_true(drive_until(d, echo, 2000));
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	char buf[64];
	assert_int_equal(
	    recvfrom(echo, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl),
	    4);
	len = app_packet(pkt, sizeof(pkt), WIRE_PROTO_TCP, 40001,
			 ntohs(ta.sin_port), NULL);
	assert_int_equal(send(a, pkt, len, 0), (ssize_t)len);
	assert_true(drive_until(d, lst, 2000));
	int conn = accept(lst, NULL, NULL);
	assert_true(conn >= 0);
	assert_true(drive_until(d, a, 2000)); /* the SYN-ACK */
	drain(a);
	assert_int_equal(core_flow_count(d->core), 2);

	/* Within the idle time, B is refused and nothing changes. */
	clk.now += 4999000;
	assert_int_equal(send(b, "", 0, 0), 0);
	for (int i = 0; i < 5; i++)
		driver_step(d, 10);
	assert_int_equal(core_flow_count(d->core), 2);
	assert_int_equal(ctr(t, TP_CTR_dev_foreign_dropped), 1);

	/* A silent for the idle time: B's keepalive takes the session and
	 * A's flows end before anything of theirs can reach B. */
	clk.now += 1000;
	assert_int_equal(send(b, "", 0, 0), 0);
	for (int i = 0; i < 50 && core_flow_count(d->core) > 0; i++)
		driver_step(d, 10);
	assert_int_equal(ctr(t, TP_CTR_dev_client_changes), 2);
	assert_int_equal(core_flow_count(d->core), 0);
	assert_int_equal(core_ctr(d, TP_CTR_dev_session_flows_closed), 2);

	/* The server's side of A's connection was reset, not left open. */
	assert_true(readable(conn, 1000));
	ssize_t r = recv(conn, buf, sizeof(buf), 0);
	assert_int_equal(r, -1);
	assert_int_equal(errno, ECONNRESET);
	close(conn);

	/* A reply on A's UDP flow finds no socket: B gets nothing. */
	assert_int_equal(
	    sendto(echo, "pong", 4, 0, (struct sockaddr *)&from, fl), 4);
	assert_false(drive_until(d, b, 300));
	assert_false(readable(a, 0));

	/* B's own flows work: the same app port is a new flow. */
	len = app_packet(pkt, sizeof(pkt), WIRE_PROTO_UDP, 40000,
			 ntohs(ua.sin_port), "mine");
	assert_int_equal(send(b, pkt, len, 0), (ssize_t)len);
	assert_true(drive_until(d, echo, 2000));
	fl = sizeof(from);
	assert_int_equal(
	    recvfrom(echo, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl),
	    4);
	assert_int_equal(
	    sendto(echo, "back", 4, 0, (struct sockaddr *)&from, fl), 4);
	assert_true(drive_until(d, b, 2000));
	uint8_t reply[256];
	r = recv(b, reply, sizeof(reply), 0);
	struct wire_packet wp;
	assert_int_equal(wire_packet_parse(reply, (size_t)r, &wp), WIRE_OK);
	assert_int_equal(wp.payload_len, 4);
	assert_memory_equal(wp.payload, "back", 4);
	assert_int_equal(core_ctr(d, TP_CTR_dev_session_flows_closed), 2);

	driver_destroy(d);
	close(a);
	close(b);
	close(echo);
	close(lst);
}

/* An idle client that sends keepalives keeps its session, and its flows,
 * however long it stays idle. */
static void test_keepalive_keeps_flows(void **state)
{
	(void)state;
	struct fake_clock clk = {1000000};
	int err;
	struct tunconn *t = make(&clk, "127.0.0.1:0", 5000, &err);
	assert_non_null(t);
	struct tp_config cfg;
	tp_config_init(&cfg);
	cfg.allow = "127.0.0.1/32";
	struct driver *d = driver_create(&cfg, t, &err);
	assert_non_null(d);
	struct sockaddr_in ua;
	int echo = local_server(SOCK_DGRAM, &ua);
	int a = client(t), b = client(t);
	uint8_t pkt[256];
	size_t len = app_packet(pkt, sizeof(pkt), WIRE_PROTO_UDP, 40000,
				ntohs(ua.sin_port), "ping");
	assert_int_equal(send(a, pkt, len, 0), (ssize_t)len);
	assert_true(drive_until(d, echo, 2000));
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	char buf[64];
	assert_int_equal(
	    recvfrom(echo, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl),
	    4);

	/* 30 s of keepalives every 2 s; B tries after each. */
	for (int i = 0; i < 15; i++) {
		clk.now += 2000000;
		assert_int_equal(send(a, "", 0, 0), 0);
		assert_int_equal(send(b, "", 0, 0), 0);
		for (int k = 0; k < 3; k++)
			driver_step(d, 5);
	}
	assert_int_equal(ctr(t, TP_CTR_dev_client_changes), 1);
	assert_int_equal(core_flow_count(d->core), 1);
	assert_int_equal(core_ctr(d, TP_CTR_dev_session_flows_closed), 0);
	assert_int_equal(
	    sendto(echo, "pong", 4, 0, (struct sockaddr *)&from, fl), 4);
	assert_true(drive_until(d, a, 2000));
	assert_false(readable(b, 0));
	driver_destroy(d);
	close(a);
	close(b);
	close(echo);
}

static void test_api_config_errors(void **state)
{
	(void)state;
	struct tp_config cfg;
	tp_config_init(&cfg);
	struct tp *tp = NULL;
	cfg.listen_udp = "127.0.0.1:0";
	cfg.tun_fd = 0; /* both a TUN and a listen address */
	assert_int_equal(tp_create(&cfg, &tp), -TP_EINVAL);
	cfg.tun_fd = -1;
	cfg.listen_udp = "192.0.2.1:0"; /* not loopback, not allowed */
	assert_int_equal(tp_create(&cfg, &tp), -TP_EINVAL);
	cfg.listen_udp = "nonsense";
	assert_int_equal(tp_create(&cfg, &tp), -TP_EINVAL);
	assert_null(tp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_datagram_one_packet),
	    cmocka_unit_test(test_client_locking),
	    cmocka_unit_test(test_batches),
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_engine_echo),
	    cmocka_unit_test(test_api_config_errors),
	    cmocka_unit_test(test_takeover_closes_old_flows),
	    cmocka_unit_test(test_keepalive_keeps_flows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
