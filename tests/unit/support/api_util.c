/* SPDX-License-Identifier: MIT */
/* api_util.c - see api_util.h. */
#include "support/api_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "wire/build.h"

void sink_init(struct sink *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
}

void sink_output(void *ctx, const uint8_t *const *pkts, const size_t *lens,
		 const uint8_t *families, size_t n)
{
	struct sink *s = ctx;
	pthread_mutex_lock(&s->lock);
	s->batches++;
	for (size_t i = 0; i < n; i++) {
		s->pkts++;
		s->bytes += lens[i];
		if (lens[i] == 0 || pkts[i][0] >> 4 != families[i])
			s->bad_family++;
		if (s->expect_dport && lens[i] >= 28 && pkts[i][0] == 0x45 &&
		    pkts[i][9] == 17 &&
		    (pkts[i][22] << 8 | pkts[i][23]) != s->expect_dport)
			s->wrong_dport++;
		if (s->nkeep < SINK_KEEP && lens[i] <= sizeof(s->keep[0])) {
			memcpy(s->keep[s->nkeep], pkts[i], lens[i]);
			s->keep_len[s->nkeep++] = lens[i];
		}
	}
	unsigned delay = s->delay_us;
	pthread_mutex_unlock(&s->lock);
	if (delay)
		usleep(delay);
}

uint64_t sink_pkts(struct sink *s)
{
	pthread_mutex_lock(&s->lock);
	uint64_t n = s->pkts;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void api_config(struct tp_config *cfg, struct sink *s)
{
	tp_config_init(cfg);
	cfg->output = sink_output;
	cfg->output_ctx = s;
	cfg->allow = "127.0.0.0/8";
}

struct tp *api_engine(struct sink *s)
{
	struct tp_config cfg;
	api_config(&cfg, s);
	struct tp *tp = NULL;
	assert_int_equal(tp_create(&cfg, &tp), 0);
	assert_non_null(tp);
	return tp;
}

static void *echo_main(void *arg)
{
	struct echo *e = arg;
	uint8_t buf[2048];
	while (!__atomic_load_n(&e->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd pfd = {.fd = e->fd, .events = POLLIN};
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		for (;;) {
			struct sockaddr_storage from;
			socklen_t fl = sizeof(from);
			ssize_t n =
			    recvfrom(e->fd, buf, sizeof(buf), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);
			if (n < 0)
				break;
			__atomic_add_fetch(&e->datagrams, 1, __ATOMIC_RELAXED);
			if (n == 6 && buf[0] == 0xee && buf[1] < ECHO_STREAMS) {
				uint32_t seq = (uint32_t)buf[2] << 24 |
					       (uint32_t)buf[3] << 16 |
					       (uint32_t)buf[4] << 8 | buf[5];
				if (seq != e->next_seq[buf[1]])
					__atomic_add_fetch(&e->out_of_order, 1,
							   __ATOMIC_RELAXED);
				e->next_seq[buf[1]] = seq + 1;
			}
			sendto(e->fd, buf, (size_t)n, MSG_DONTWAIT,
			       (struct sockaddr *)&from, fl);
		}
	}
	return NULL;
}

void echo_start(struct echo *e)
{
	memset(e, 0, sizeof(*e));
	e->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(e->fd >= 0);
	/* Room for every datagram of a test even when this thread is slow
	 * (FORCE passes net.core.rmem_max, as root). */
	int big = 4 << 20;
	if (setsockopt(e->fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) <
	    0)
		setsockopt(e->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(e->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t l = sizeof(a);
	getsockname(e->fd, (struct sockaddr *)&a, &l);
	e->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&e->thread, NULL, echo_main, e), 0);
}

void echo_stop(struct echo *e)
{
	__atomic_store_n(&e->stop, 1, __ATOMIC_RELEASE);
	pthread_join(e->thread, NULL);
	close(e->fd);
}

size_t udp4_packet(uint8_t *buf, uint16_t sport, uint16_t dport,
		   const void *payload, size_t len)
{
	struct wire_ip_hdr ip = {.family = 4, .proto = WIRE_PROTO_UDP};
	static const uint8_t src[4] = {127, 0, 0, 2}, dst[4] = {127, 0, 0, 1};
	wire_addr_from4(&ip.src, src);
	wire_addr_from4(&ip.dst, dst);
	memcpy(buf + 28, payload, len);
	return wire_udp_build(buf, 28 + len, &ip, sport, dport, len);
}

size_t udp4_seq_packet(uint8_t *buf, uint16_t sport, uint16_t dport,
		       uint8_t stream, uint32_t seq)
{
	uint8_t p[6] = {0xee,
			stream,
			(uint8_t)(seq >> 24),
			(uint8_t)(seq >> 16),
			(uint8_t)(seq >> 8),
			(uint8_t)seq};
	return udp4_packet(buf, sport, dport, p, sizeof(p));
}

int input_all(struct tp *tp, const uint8_t *const *pkts, const size_t *lens,
	      size_t n)
{
	size_t done = 0;
	while (done < n) {
		int k = tp_input(tp, pkts + done, lens + done, n - done);
		if (k < 0)
			return k;
		done += (size_t)k;
		if (done < n)
			usleep(100);
	}
	return (int)done;
}

bool wait_for(bool (*cond)(void *), void *arg, int ms)
{
	for (int i = 0; i <= ms / 5; i++) {
		if (cond(arg))
			return true;
		usleep(5000);
	}
	return false;
}

uint64_t counter(struct tp *tp, enum tp_counter c)
{
	uint64_t v[TP_CTR__COUNT];
	assert_int_equal(tp_get_counters(tp, v, TP_CTR__COUNT), TP_CTR__COUNT);
	return v[c];
}

int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}
