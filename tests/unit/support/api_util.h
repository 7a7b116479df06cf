/* SPDX-License-Identifier: MIT */
/* api_util.h - helpers for the public-API tests (test_api_*.c): an output
 * sink that counts and keeps the engine's packets, a UDP echo server on a
 * loopback socket of the test process with its own thread, packet
 * builders, and small waits. Callback-mode engines built here allow
 * 127.0.0.0/8 (refused by the default destination policy), the only
 * network a unit test has.
 */
#ifndef TP_TEST_API_UTIL_H
#define TP_TEST_API_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tunproxy.h"

#define SINK_KEEP 8

/* What the output callback saw. delay_us makes the callback sleep per
 * batch: a slow app. */
struct sink {
	pthread_mutex_t lock;
	uint64_t pkts, batches, bytes;
	uint64_t bad_family; /* families[i] not the packet's IP version */
	uint8_t keep[SINK_KEEP][2048];
	size_t keep_len[SINK_KEEP];
	unsigned nkeep;
	unsigned delay_us;
	uint16_t expect_dport; /* nonzero: count UDP packets to other ports */
	uint64_t wrong_dport;
};

void sink_init(struct sink *s);
void sink_output(void *ctx, const uint8_t *const *pkts, const size_t *lens,
		 const uint8_t *families, size_t n);
uint64_t sink_pkts(struct sink *s);

/* A config in callback mode writing to s, loopback allowed. */
void api_config(struct tp_config *cfg, struct sink *s);
/* tp_create with api_config, asserting success. */
struct tp *api_engine(struct sink *s);

/* A UDP echo server on 127.0.0.1 (port chosen by the kernel) run by its
 * own thread. It echoes every datagram and, when the first two payload
 * bytes are a stream id < ECHO_STREAMS followed by a 32-bit big-endian
 * sequence number, checks per stream that they arrive in order. */
#define ECHO_STREAMS 16
struct echo {
	int fd;
	uint16_t port;
	pthread_t thread;
	int stop;			 /* atomic */
	uint64_t datagrams;		 /* atomic */
	uint64_t out_of_order;		 /* atomic */
	uint32_t next_seq[ECHO_STREAMS]; /* echo thread only */
};
void echo_start(struct echo *e);
void echo_stop(struct echo *e);

/* An IPv4 UDP packet 127.0.0.2:sport -> 127.0.0.1:dport with payload;
 * returns its length. buf must hold 28 + len bytes. */
size_t udp4_packet(uint8_t *buf, uint16_t sport, uint16_t dport,
		   const void *payload, size_t len);
/* The same with a stream-id/sequence payload the echo server checks. */
size_t udp4_seq_packet(uint8_t *buf, uint16_t sport, uint16_t dport,
		       uint8_t stream, uint32_t seq);

/* Offers pkts until all are taken (retrying on backpressure every 100
 * us) or tp_input fails; returns the last tp_input result (>= 0: all
 * taken). */
int input_all(struct tp *tp, const uint8_t *const *pkts, const size_t *lens,
	      size_t n);

/* Polls cond(arg) every 5 ms for up to ms milliseconds. */
bool wait_for(bool (*cond)(void *), void *arg, int ms);

/* One counter of tp. */
uint64_t counter(struct tp *tp, enum tp_counter c);

/* Open file descriptors of this process. */
int open_fds(void);

#endif
