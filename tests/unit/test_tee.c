/* SPDX-License-Identifier: MIT */
/* test_tee.c - the tee (src/tools/tee.c, mirror_hub.c) on loopback sockets,
 * driven one tee_step at a time:
 *   - relay both ways between a "device" and a "proxy" socket, with the
 *     device session rule (a second sender is dropped and counted);
 *   - fan-out: every subscriber gets every relayed packet, in order, with
 *     its direction; subscribers beyond the limit are refused and counted;
 *   - drop accounting: a subscriber that does not read loses copies (the
 *     tee counts them, and the record after a gap says how many were
 *     lost), while the relay and the other subscriber lose nothing;
 *     copies + drops = packets x subscribers exactly;
 *   - subscribers come and go mid-stream;
 *   - with an impairment stage (dup=100%) the mirror shows what was
 *     relayed: each packet twice;
 *   - a new device after the old one's silence (fake clock) gets none of
 *     the old one's downstream: the tee reopens its upstream socket (the
 *     proxy sees a new client) and drops what its stages held for the old
 *     device (issue 11, item 8). */
#include <arpa/inet.h>
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

#include "tools/mirror.h"
#include "tools/tee.h"

#define PKT_LEN 1200

static int udp_bound(struct tool_addr *a)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;
	memset(a, 0, sizeof(*a));
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->len = sizeof(*in);
	assert_int_equal(bind(s, (struct sockaddr *)&a->ss, a->len), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a->ss, &a->len), 0);
	int big = 4 << 20;
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	return s;
}

static int udp_to(const struct tool_addr *a)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(connect(s, (const struct sockaddr *)&a->ss, a->len),
			 0);
	return s;
}

static int tcp_to(const struct tool_addr *a, int rcvbuf)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (rcvbuf)
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	assert_int_equal(connect(s, (const struct sockaddr *)&a->ss, a->len),
			 0);
	return s;
}

static bool readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) == 1;
}

/* Steps the tee until fd is readable (at most ~2 s). */
static bool step_until_readable(struct tee *t, int fd)
{
	for (int i = 0; i < 200; i++) {
		if (readable(fd, 0))
			return true;
		assert_true(tee_step(t, 10) >= 0);
	}
	return readable(fd, 0);
}

static struct tee_counters counters(struct tee *t)
{
	struct tee_counters c;
	tee_get_counters(t, &c);
	return c;
}

struct fixture {
	struct tee *t;
	struct tool_addr listen, mirror, proxy;
	int proxy_fd, dev_fd;
	struct sockaddr_storage up; /* the tee's upstream address */
	socklen_t up_len;
};

/* The session clock of the tee when a test sets use_fake_clock. */
static uint64_t fake_us = 1000000;
static bool use_fake_clock;
static const char *impair_down_spec;

static uint64_t fake_now(void *ctx)
{
	(void)ctx;
	return fake_us;
}

static void setup_tee(struct fixture *f, uint32_t max_subs,
		      const char *impair_up)
{
	struct tee_opts o;
	tee_opts_init(&o);
	if (use_fake_clock)
		o.clock_us = fake_now;
	f->proxy_fd = udp_bound(&f->proxy);
	o.forward = f->proxy;
	char err[128];
	assert_int_equal(
	    tool_addr_parse("127.0.0.1:0", NULL, &o.listen, err, sizeof(err)),
	    0);
	o.mirror = o.listen;
	o.max_subscribers = max_subs;
	o.subscriber_buffer = 0; /* the minimum: one maximal record */
	o.client_idle_ms = 60000;
	if (impair_up)
		assert_int_equal(impair_spec_parse(impair_up, &o.impair_up, err,
						   sizeof(err)),
				 0);
	if (impair_down_spec)
		assert_int_equal(impair_spec_parse(impair_down_spec,
						   &o.impair_down, err,
						   sizeof(err)),
				 0);
	assert_int_equal(tee_create(&o, &f->t), 0);
	tee_local(f->t, &f->listen, &f->mirror);
	f->dev_fd = udp_to(&f->listen);
	f->up_len = 0;
}

static void teardown_tee(struct fixture *f)
{
	tee_destroy(f->t);
	close(f->proxy_fd);
	close(f->dev_fd);
}

/* Device sends a packet with seq in its first 4 bytes; the proxy socket
 * must get exactly it (copies: how many, for duplicating impairment). */
static void relay_one(struct fixture *f, uint32_t seq, int copies)
{
	uint8_t pkt[PKT_LEN], got[2048];
	memset(pkt, (int)(seq & 0xff), sizeof(pkt));
	memcpy(pkt, &seq, 4);
	assert_int_equal(send(f->dev_fd, pkt, sizeof(pkt), 0), PKT_LEN);
	for (int k = 0; k < copies; k++) {
		assert_true(step_until_readable(f->t, f->proxy_fd));
		f->up_len = sizeof(f->up);
		ssize_t r = recvfrom(f->proxy_fd, got, sizeof(got), 0,
				     (struct sockaddr *)&f->up, &f->up_len);
		assert_int_equal(r, PKT_LEN);
		assert_memory_equal(got, pkt, PKT_LEN);
	}
}

/* A subscriber's side of the mirror stream. */
struct sub {
	int fd;
	uint8_t buf[1 << 18];
	size_t have;
	bool greeted;
	bool eof;
	bool dups; /* a record may repeat the previous one (duplication) */
	uint32_t records, dropped_sum, next_seq;
};

/* Reads what is there and checks each record: outbound, PKT_LEN, seq as
 * expected after any reported gap. */
static void sub_read(struct sub *s)
{
	while (!s->eof && readable(s->fd, 0)) {
		ssize_t r = recv(s->fd, s->buf + s->have,
				 sizeof(s->buf) - s->have, MSG_DONTWAIT);
		if (r == 0) {
			s->eof = true;
			break;
		}
		if (r < 0)
			break;
		s->have += (size_t)r;
		size_t off = 0;
		if (!s->greeted) {
			if (s->have < MIRROR_GREETING_SIZE)
				continue;
			assert_int_equal(mirror_check_greeting(s->buf), 0);
			s->greeted = true;
			off = MIRROR_GREETING_SIZE;
		}
		struct mirror_rec rec;
		long n;
		while ((n = mirror_decode(s->buf + off, s->have - off, &rec)) >
		       0) {
			uint32_t seq;
			assert_int_equal(rec.kind, MIRROR_KIND_PACKET);
			assert_int_equal(rec.dir, MIRROR_DIR_OUTBOUND);
			assert_int_equal(rec.len, PKT_LEN);
			assert_int_equal(rec.orig_len, PKT_LEN);
			assert_true(rec.ts_ns > 1600000000ull * 1000000000ull);
			memcpy(&seq, rec.pkt, 4);
			if (s->dups && s->records && seq + 1 == s->next_seq)
				seq = s->next_seq - 1; /* a duplicate */
			else if (s->records || s->dropped_sum || rec.dropped)
				assert_int_equal(seq,
						 s->next_seq + rec.dropped);
			s->next_seq = seq + 1;
			s->records++;
			s->dropped_sum += rec.dropped;
			off += (size_t)n;
		}
		assert_true(n == 0);
		memmove(s->buf, s->buf + off, s->have - off);
		s->have -= off;
	}
}

static void test_relay_both_ways_and_session(void **state)
{
	(void)state;
	struct fixture f;
	setup_tee(&f, 2, NULL);
	relay_one(&f, 1, 1);
	/* proxy -> the device, through the tee's upstream socket */
	assert_int_equal(sendto(f.proxy_fd, "down!", 5, 0,
				(struct sockaddr *)&f.up, f.up_len),
			 5);
	assert_true(step_until_readable(f.t, f.dev_fd));
	char buf[16];
	assert_int_equal(recv(f.dev_fd, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "down!", 5);

	/* another sender does not get through */
	int other = udp_to(&f.listen);
	assert_int_equal(send(other, "intruder", 8, 0), 8);
	for (int i = 0; i < 5; i++)
		assert_true(tee_step(f.t, 10) >= 0);
	assert_false(readable(f.proxy_fd, 0));
	struct tee_counters c = counters(f.t);
	assert_int_equal(c.foreign_dropped, 1);
	assert_int_equal(c.client_changes, 1);
	assert_int_equal(c.up_packets, 1);
	assert_int_equal(c.up_bytes, PKT_LEN);
	assert_int_equal(c.down_packets, 1);
	assert_int_equal(c.send_failed, 0);
	/* the first device still works */
	relay_one(&f, 2, 1);
	close(other);
	teardown_tee(&f);
}

static void test_fanout_and_drop_accounting(void **state)
{
	(void)state;
	struct fixture f;
	setup_tee(&f, 2, NULL);
	static struct sub fast, slow, late;
	memset(&fast, 0, sizeof(fast));
	memset(&slow, 0, sizeof(slow));
	fast.fd = tcp_to(&f.mirror, 0);
	slow.fd = tcp_to(&f.mirror, 4096); /* and never reads, for now */
	for (int i = 0; i < 100 && counters(f.t).mirror_accepted < 2; i++)
		assert_true(tee_step(f.t, 10) >= 0);
	/* a third subscriber is over the limit: refused, connection closed */
	int third = tcp_to(&f.mirror, 0);
	for (int i = 0; i < 100 && counters(f.t).mirror_refused < 1; i++)
		assert_true(tee_step(f.t, 10) >= 0);
	assert_int_equal(counters(f.t).mirror_refused, 1);
	assert_true(readable(third, 2000));
	char b;
	assert_int_equal(recv(third, &b, 1, 0), 0);
	close(third);
	assert_int_equal(counters(f.t).mirror_subscribers, 2);

	/* 1000 packets of 1200 bytes: more than the slow subscriber's tee
	 * buffer and kernel buffers together can hold. */
	const uint32_t n = 1000;
	for (uint32_t seq = 0; seq < n; seq++) {
		relay_one(&f, seq, 1);
		sub_read(&fast);
	}
	for (int i = 0; i < 200 && fast.records < n; i++) {
		assert_true(tee_step(f.t, 5) >= 0);
		sub_read(&fast);
	}
	assert_int_equal(fast.records, n);
	assert_int_equal(fast.dropped_sum, 0);
	struct tee_counters c = counters(f.t);
	assert_int_equal(c.up_packets, n);
	assert_true(c.mirror_dropped > 0);
	assert_int_equal(c.mirror_copies + c.mirror_dropped, 2 * n);

	/* The slow one catches up: what it got plus the gaps it was told
	 * about (the next record carries them) is everything. */
	for (int i = 0; i < 500; i++) {
		assert_true(tee_step(f.t, 2) >= 0);
		sub_read(&slow);
	}
	relay_one(&f, n, 1);
	for (int i = 0; i < 200 && slow.next_seq < n + 1; i++) {
		assert_true(tee_step(f.t, 5) >= 0);
		sub_read(&slow);
		sub_read(&fast);
	}
	assert_int_equal(slow.next_seq, n + 1);
	assert_int_equal(slow.records + slow.dropped_sum, n + 1);
	c = counters(f.t);
	assert_int_equal(c.mirror_dropped, slow.dropped_sum);
	assert_int_equal(c.mirror_copies, fast.records + slow.records);

	/* Subscribers come and go: the fast one leaves, a new one joins and
	 * gets the packets from then on. */
	close(fast.fd);
	for (int i = 0; i < 100 && counters(f.t).mirror_disconnects < 1; i++)
		assert_true(tee_step(f.t, 10) >= 0);
	assert_int_equal(counters(f.t).mirror_subscribers, 1);
	memset(&late, 0, sizeof(late));
	late.fd = tcp_to(&f.mirror, 0);
	for (int i = 0; i < 100 && counters(f.t).mirror_accepted < 3; i++)
		assert_true(tee_step(f.t, 10) >= 0);
	relay_one(&f, 5000, 1);
	for (int i = 0; i < 200 && late.records < 1; i++) {
		assert_true(tee_step(f.t, 5) >= 0);
		sub_read(&late);
	}
	assert_int_equal(late.records, 1);
	assert_int_equal(late.next_seq, 5001);
	close(late.fd);
	close(slow.fd);
	teardown_tee(&f);
}

static void test_mirror_shows_impaired_stream(void **state)
{
	(void)state;
	struct fixture f;
	setup_tee(&f, 1, "dup=100%,seed=3");
	static struct sub s;
	memset(&s, 0, sizeof(s));
	s.dups = true;
	s.fd = tcp_to(&f.mirror, 0);
	for (int i = 0; i < 100 && counters(f.t).mirror_accepted < 1; i++)
		assert_true(tee_step(f.t, 10) >= 0);
	uint32_t recs = 0;
	for (uint32_t seq = 0; seq < 5; seq++) {
		relay_one(&f, seq, 2); /* the proxy gets each twice */
		for (int i = 0; i < 100 && s.records < recs + 2; i++) {
			assert_true(tee_step(f.t, 5) >= 0);
			sub_read(&s);
		}
		recs += 2;
		assert_int_equal(s.records, recs);
	}
	assert_int_equal(counters(f.t).up_packets, 10);
	close(s.fd);
	teardown_tee(&f);
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/* Steps the tee a while; true if fd got something meanwhile. */
static bool gets_anything(struct tee *t, int fd)
{
	for (int i = 0; i < 20; i++) {
		assert_true(tee_step(t, 5) >= 0);
		if (readable(fd, 0))
			return true;
	}
	return false;
}

static void test_new_device_gets_nothing_of_the_old(void **state)
{
	(void)state;
	struct fixture f;
	use_fake_clock = true;
	setup_tee(&f, 1, NULL);
	/* setup_tee's 60 s idle time, on the fake clock */
	relay_one(&f, 1, 1);
	struct sockaddr_storage old_up = f.up;
	char buf[PKT_LEN + 16];
	assert_int_equal(sendto(f.proxy_fd, "toA", 3, 0,
				(struct sockaddr *)&old_up, f.up_len),
			 3);
	assert_true(step_until_readable(f.t, f.dev_fd));
	assert_int_equal(recv(f.dev_fd, buf, sizeof(buf), 0), 3);

	/* B within the idle time: refused. */
	int b = udp_to(&f.listen);
	fake_us += 59999000;
	assert_int_equal(send(b, "B0", 2, 0), 2);
	assert_false(gets_anything(f.t, f.proxy_fd));
	assert_int_equal(counters(f.t).foreign_dropped, 1);

	/* A silent for the idle time: B takes over, and reaches the proxy
	 * from another port. */
	fake_us += 1000;
	assert_int_equal(send(b, "B1", 2, 0), 2);
	assert_true(step_until_readable(f.t, f.proxy_fd));
	struct sockaddr_storage new_up;
	socklen_t nl = sizeof(new_up);
	assert_int_equal(recvfrom(f.proxy_fd, buf, sizeof(buf), 0,
				  (struct sockaddr *)&new_up, &nl),
			 2);
	assert_int_not_equal(port_of(&new_up), port_of(&old_up));
	struct tee_counters c = counters(f.t);
	assert_int_equal(c.client_changes, 2);
	assert_int_equal(c.device_replaced, 1);

	/* The proxy's packets for A's flows reach nobody. */
	assert_int_equal(sendto(f.proxy_fd, "stale", 5, 0,
				(struct sockaddr *)&old_up, f.up_len),
			 5);
	assert_false(gets_anything(f.t, b));
	assert_false(readable(f.dev_fd, 0));
	/* Its packets for B do. */
	assert_int_equal(
	    sendto(f.proxy_fd, "toB", 3, 0, (struct sockaddr *)&new_up, nl), 3);
	assert_true(step_until_readable(f.t, b));
	assert_int_equal(recv(b, buf, sizeof(buf), 0), 3);
	assert_memory_equal(buf, "toB", 3);
	assert_int_equal(counters(f.t).down_packets, 2);
	close(b);
	teardown_tee(&f);
	use_fake_clock = false;
}

/* What the impairment stage still holds for the old device is dropped,
 * not delivered to the new one later. */
static void test_new_device_drops_held_packets(void **state)
{
	(void)state;
	struct fixture f;
	use_fake_clock = true;
	impair_down_spec = "delay=400ms";
	setup_tee(&f, 1, NULL);
	relay_one(&f, 1, 1);
	assert_int_equal(sendto(f.proxy_fd, "held", 4, 0,
				(struct sockaddr *)&f.up, f.up_len),
			 4);
	for (int i = 0; i < 5; i++)
		assert_true(tee_step(f.t, 5) >= 0);
	assert_false(readable(f.dev_fd, 0)); /* held for 400 ms */
	fake_us += 60000000;
	int b = udp_to(&f.listen);
	assert_int_equal(send(b, "B1", 2, 0), 2);
	assert_true(step_until_readable(f.t, f.proxy_fd));
	assert_int_equal(counters(f.t).replaced_dropped, 1);
	/* Past the delay: nothing comes out for anyone. */
	for (int i = 0; i < 60; i++)
		assert_true(tee_step(f.t, 10) >= 0);
	assert_false(readable(b, 0));
	assert_false(readable(f.dev_fd, 0));
	close(b);
	teardown_tee(&f);
	use_fake_clock = false;
	impair_down_spec = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_relay_both_ways_and_session),
	    cmocka_unit_test(test_fanout_and_drop_accounting),
	    cmocka_unit_test(test_mirror_shows_impaired_stream),
	    cmocka_unit_test(test_new_device_gets_nothing_of_the_old),
	    cmocka_unit_test(test_new_device_drops_held_packets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
