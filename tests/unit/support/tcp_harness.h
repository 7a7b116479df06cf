/* SPDX-License-Identifier: MIT */
/* tcp_harness.h - packetdrill-style driving of the engine's TCP.
 *
 * One app connection (10.0.0.8:40000 -> 198.51.100.1:80, or the IPv6
 * equivalent) through a real engine with the fake host ops and a fake
 * clock. The test plays the app: th_send() builds a segment with the wire
 * builders and feeds it to core_input(); th_out() drains what the engine
 * emitted and parses it back with wire_packet_parse(). Sequence numbers in
 * the th_* helpers are absolute; app_isn / our_isn hold the two ISNs.
 */
#ifndef TP_TEST_TCP_HARNESS_H
#define TP_TEST_TCP_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "support/fake_host.h"
#include "wire/build.h"
#include "wire/packet.h"

#define TH_MAX_OUT 512
#define TH_BATCH   64

struct th_pkt {
	uint8_t buf[2048];
	size_t len;
	struct wire_packet p; /* points into buf */
};

struct th {
	struct core_engine *e;
	struct fake_host host;
	struct core_config cfg;
	uint64_t now;
	uint8_t family;
	struct wire_addr app, dst;
	uint16_t sport, dport;

	/* The app's options offered in its SYN. */
	struct wire_tcp_opts syn_opts;
	uint32_t app_isn, our_isn;
	uint32_t app_nxt; /* next sequence the app sends */
	uint32_t app_ts;  /* the app's TSval clock */
	uint32_t peer_ts; /* the last TSval we sent (to echo) */
	uint16_t app_win; /* window the app advertises (unscaled field) */
	int sock;	  /* the fake host socket */

	struct th_pkt out[TH_MAX_OUT];
	int nout;

	/* th_send_more(): segments of one batch, kept here (the engine may
	 * point into them until the batch ends, as into a driver's arena). */
	uint8_t batch[TH_BATCH][2048];
	int nbatch;
	bool more; /* the next th_send carries CORE_IN_MORE */
};

/* Config tweaks applied before core_create. */
typedef void (*th_cfg_fn)(struct core_config *cfg);

void th_init(struct th *t, uint8_t family, th_cfg_fn tweak);
void th_fini(struct th *t);

/* Sends one segment from the app. opts may be NULL (timestamps are added
 * automatically when the app offered them in its SYN, unless no_ts). */
void th_send_full(struct th *t, uint8_t flags, uint32_t seq, uint32_t ack,
		  uint16_t win, const struct wire_tcp_opts *opts,
		  const void *payload, size_t len);
/* th_send() as a packet of a batch: more true says packets follow
 * (CORE_IN_MORE); the packet without it ends the batch. */
void th_send_more(struct th *t, bool more, uint8_t flags, uint32_t seq,
		  uint32_t ack, const void *payload, size_t len);
void th_send(struct th *t, uint8_t flags, uint32_t seq, uint32_t ack,
	     const void *payload, size_t len);
/* An ACK from the app with SACK blocks (pairs of absolute seqs). */
void th_send_sack(struct th *t, uint32_t ack, int nblocks,
		  const uint32_t *blocks);

/* Drains the engine's transmit ring into t->out; returns the count. */
int th_out(struct th *t);

/* Advances the fake clock by us and runs due timers. */
void th_advance(struct th *t, uint64_t us);
/* Runs timers exactly at the next deadline; returns how far it moved. */
uint64_t th_run_next_timer(struct th *t);

/* A socket event on the connection's host socket. */
void th_event(struct th *t, uint32_t events);

/* The app's SYN with opts (NULL: none). Nothing is expected back. */
void th_syn(struct th *t, const struct wire_tcp_opts *opts);
/* Completes the host connect and checks the SYN-ACK; returns it. */
const struct th_pkt *th_connect_ok(struct th *t);
/* SYN, connect, SYN-ACK, ACK: an established connection. */
void th_establish(struct th *t, const struct wire_tcp_opts *opts);
/* Options with everything: MSS 1460, wscale 7, SACK, timestamps. */
struct wire_tcp_opts th_opts_all(void);

/* Our receive window as advertised in p, in bytes (scale applied). */
uint32_t th_win(const struct th *t, const struct wire_packet *p, uint8_t shift);

/* The connection's fake host socket. */
struct fake_sock *th_sock(struct th *t);
/* The connection's TCP state, or NULL once its flow is gone. */
struct tcp_conn *th_conn(struct th *t);

/* Fills buf with a reproducible pseudo-random byte pattern (an LCG
 * started at seed). */
void th_pattern(uint8_t *buf, size_t n, uint32_t seed);

/* The engine's counter. */
uint64_t th_ctr(const struct th *t, enum tp_counter c);

/* The TCP payload of an emitted packet. */
static inline const uint8_t *th_payload(const struct th_pkt *p)
{
	return p->p.payload;
}

#endif
