/* SPDX-License-Identifier: MIT */
/* tcp_int.h - what the TCP module's files share (tcp*.c only).
 *
 * tcp.c        state machine, input processing, socket events
 * tcp_output.c building and sending segments to the app
 * tcp_timer.c  RTT estimation, RTO, delayed ACK, persist, the flow timer
 * tcp_cc.c     congestion control (CUBIC with a Reno fallback region),
 *              undo of spurious reductions
 * tcp_sack.c   the scoreboard: one record per segment in flight, SACK and
 *              D-SACK from the app's ACKs
 * tcp_rack.c   loss detection: RACK-TLP (RFC 8985)
 * tcp_rbuf.c   app->host bytes held: socket overflow and out of order
 */
#ifndef TP_CORE_TCP_INT_H
#define TP_CORE_TCP_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"
#include "core/tcp.h"
#include "core/tcp_conn.h"
#include "wire/build.h"
#include "wire/packet.h"

/* Sequence space comparisons (RFC 9293 3.4: modulo 2^32). */
#define SEQ_LT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b)  SEQ_LT(b, a)
#define SEQ_GEQ(a, b) SEQ_LEQ(b, a)

/* Bytes of app data the receive side may hold for one connection: the
 * receive window. A power of two (rbuf indexes by sequence number). */
#define TCP_RBUF_SIZE (256u * 1024u)
/* The window offered: the buffer less a margin. Window scaling rounds the
 * window down to 128 bytes; to keep the right edge from moving left it is
 * rounded up instead (tcp_output.c), which can creep by up to 127 bytes
 * per ACK while the host socket is blocked. The margin absorbs that creep
 * for any normal segment size; past it the edge is rounded down. */
#define TCP_RCV_WND    (TCP_RBUF_SIZE - 16384u)
#define TCP_RCV_WSCALE 7
/* RFC 5961 7: challenge ACKs per second and engine (Linux's default
 * tcp_challenge_ack_limit), randomised per second (tcp.c). */
#define TCP_CHALLENGE_ACK_LIMIT 1000u
#define TCP_INIT_CWND_SEGS	10 /* RFC 6928 */
#define TCP_DUPTHRESH		3  /* RFC 5681 / 6675 */

/* The scoreboard (tcp_sack.c): records it starts with and may grow to. The
 * flight is capped at TCP_SB_MAX segments while one exists. */
#define TCP_SB_INIT 32
#define TCP_SB_MAX  4096

/* Tail loss probe (RFC 8985 7.2): PTO = 2 SRTT plus this much, plus the
 * app's worst-case delayed ACK when a single segment is in flight. */
#define TCP_TLP_MIN_US	  2000u	  /* Linux: 2 jiffies at HZ=1000 */
#define TCP_TLP_DELACK_US 200000u /* RFC 8985 WCDelAckT */
#define TCP_REO_EXTRA_MAX 15	  /* reo_wnd_mult at most 16 */
#define TCP_REO_PERSIST	  16	  /* RFC 8985 6.2 step 4 */

#define TCP_RTO_INIT_US	       1000000u	 /* RFC 6298 2.1 */
#define TCP_RTO_MIN_US	       200000u	 /* Linux; RFC 6298 allows it */
#define TCP_RTO_MAX_US	       60000000u /* RFC 6298 2.5 */
#define TCP_RTO_RETRIES	       12	 /* then the app is reset */
#define TCP_SYNACK_RETRIES     5
#define TCP_DELACK_US	       40000u		  /* Linux's minimum ATO */
#define TCP_CONNECT_TIMEOUT_US (75ull * 1000000u) /* BSD's connect timer */
#define TCP_TIME_WAIT_US       (2ull * 1000000u)

/* Default MSS when the SYN has none (RFC 9293 3.7.1, RFC 8200 for v6). */
#define TCP_DEFAULT_MSS4 536
#define TCP_DEFAULT_MSS6 1220

static inline struct tcp_conn *tcp_of(union flow *f)
{
	return &f->tcp;
}

/* MAX.SND.WND (RFC 5961 5.2): the largest window the app has advertised,
 * kept as the high byte of its 16-bit field, so rounded up by at most 255
 * units (a bound that is a little loose, never too tight). */
static inline void tcp_note_snd_wnd(struct tcp_conn *t, uint16_t field)
{
	if (field >> 8 > t->max_wnd_hi)
		t->max_wnd_hi = (uint8_t)(field >> 8);
}

static inline uint32_t tcp_max_snd_wnd(const struct tcp_conn *t)
{
	return (((uint32_t)t->max_wnd_hi + 1) * 256 - 1) << t->snd_ws;
}

/* tcp.c */
void tcp_abort(struct core_engine *e, struct tcp_conn *t, bool rst_app);
void tcp_check_done(struct core_engine *e, struct tcp_conn *t);
void tcp_set_want(struct core_engine *e, struct tcp_conn *t, bool rd, bool wr);

/* tcp_output.c */
size_t tcp_ip_hdr_len(const struct tcp_conn *t);
void tcp_output(struct core_engine *e, struct tcp_conn *t);
bool tcp_send_ctl(struct core_engine *e, struct tcp_conn *t, uint32_t seq,
		  uint8_t flags);
void tcp_send_ack(struct core_engine *e, struct tcp_conn *t);
bool tcp_send_synack(struct core_engine *e, struct tcp_conn *t);
void tcp_send_rst(struct core_engine *e, struct tcp_conn *t);
uint32_t tcp_rcv_space(const struct tcp_conn *t);
uint32_t tcp_eff_mss(const struct tcp_conn *t);
uint32_t tcp_max_payload(const struct core_engine *e, const struct tcp_conn *t);
bool tcp_send_probe(struct core_engine *e, struct tcp_conn *t);

/* tcp_timer.c */
uint32_t tcp_rto(const struct tcp_conn *t);
uint32_t tcp_rto_backed_off(const struct tcp_conn *t);
void tcp_rtt_sample(struct tcp_conn *t, uint32_t rtt_us);
uint32_t tcp_ts_now(const struct core_engine *e, const struct tcp_conn *t);
void tcp_timer_arm(struct core_engine *e, struct tcp_conn *t);
void tcp_delack(struct core_engine *e, struct tcp_conn *t);

/* tcp_cc.c */
void tcp_cc_init(struct core_engine *e, struct tcp_conn *t);
void tcp_cc_on_ack(struct core_engine *e, struct tcp_conn *t, uint32_t acked);
void tcp_cc_on_loss(struct core_engine *e, struct tcp_conn *t);
void tcp_cc_on_rto(struct core_engine *e, struct tcp_conn *t);
void tcp_cc_recovery_done(struct core_engine *e, struct tcp_conn *t);
void tcp_cc_undo(struct core_engine *e, struct tcp_conn *t);
uint32_t tcp_flight(const struct tcp_conn *t);
uint32_t tcp_pipe(const struct tcp_conn *t);

/* tcp_sack.c: the scoreboard. One record per segment sent and not yet
 * cumulatively acknowledged, in sequence order; record i covers
 * [tcp_sb_start(t, i), seg[head + i].end). */
#define TCP_SEG_SACKED 0x01 /* the app holds it (SACK) */
#define TCP_SEG_LOST   0x02 /* taken as lost: to be sent again */
#define TCP_SEG_RTX    0x04 /* ... and sent again; that copy in flight */
#define TCP_SEG_EVER   0x08 /* sent more than once (Karn, RACK) */

struct tcp_seg {
	uint32_t end;  /* one past its last sequence number (a FIN counts) */
	uint32_t xmit; /* when last sent: low 32 bits of the us clock */
	uint8_t fl;    /* TCP_SEG_* */
};

struct tcp_sb {
	uint32_t head, n, cap;	    /* the records are seg[head, head + n) */
	uint32_t sacked, lost, rtx; /* sequence space in each state (pipe) */
	uint32_t nsacked;	    /* records SACKed (RACK.segs_sacked) */
	uint32_t hint;		    /* records [0, hint) need no resend */
	/* RACK (RFC 8985 6.1), for this flight: the most recently sent
	 * segment delivered, its RTT, the highest delivered sequence. */
	uint32_t rack_xmit, rack_end, rack_rtt;
	uint32_t fack;
	uint32_t dsack_round; /* RACK.dsack_round (dsack_on) */
	uint8_t rack_ok;      /* rack_* are set */
	uint8_t dsack_on;
	struct tcp_seg seg[];
};

static inline struct tcp_seg *tcp_sb_at(struct tcp_sb *b, uint32_t i)
{
	return &b->seg[b->head + i];
}

/* First sequence number of record i. */
static inline uint32_t tcp_sb_start(const struct tcp_conn *t, uint32_t i)
{
	return i ? t->sb->seg[t->sb->head + i - 1].end : t->snd_una;
}

uint32_t tcp_sb_room(struct core_engine *e, struct tcp_conn *t, uint32_t want,
		     uint32_t maxseg);
void tcp_sb_sent(struct core_engine *e, struct tcp_conn *t);
void tcp_sb_ack(struct core_engine *e, struct tcp_conn *t, uint32_t ack);
void tcp_sb_free(struct core_engine *e, struct tcp_conn *t);
void tcp_sb_mark_lost(struct tcp_conn *t, uint32_t i);
void tcp_sb_resent(const struct core_engine *e, struct tcp_conn *t, uint32_t i);
bool tcp_sb_next_lost(struct tcp_conn *t, uint32_t *i);
void tcp_sb_rto(struct tcp_conn *t, bool forget_sacks);
void tcp_sb_unmark(struct tcp_conn *t);
void tcp_sack_update(struct core_engine *e, struct tcp_conn *t,
		     const struct wire_tcp_opts *o, uint32_t una0);

/* tcp_rack.c */
void tcp_rack_delivered(const struct core_engine *e, struct tcp_conn *t,
			const struct tcp_seg *s);
void tcp_rack_dsack(struct core_engine *e, struct tcp_conn *t, uint32_t s,
		    uint32_t end);
void tcp_rack_on_ack(struct core_engine *e, struct tcp_conn *t, uint32_t una0,
		     bool sacked, bool dsack_tlp);
void tcp_rack_detect(struct core_engine *e, struct tcp_conn *t);
void tcp_rack_timer(struct core_engine *e, struct tcp_conn *t);
void tcp_rack_arm(struct core_engine *e, struct tcp_conn *t);
void tcp_rack_recovery_done(struct tcp_conn *t);

/* tcp_rbuf.c */
void tcp_rcv_segment(struct core_engine *e, struct tcp_conn *t, uint32_t seq,
		     const uint8_t *data, uint32_t len, bool fin);
void tcp_rcv_flush(struct core_engine *e, struct tcp_conn *t);

void tcp_rbuf_free(struct core_engine *e, struct tcp_conn *t);
uint32_t tcp_rbuf_held(const struct tcp_conn *t);
int tcp_rbuf_sack(const struct tcp_conn *t, struct wire_tcp_opts *o, int max);
bool tcp_rbuf_has_ooo(const struct tcp_conn *t);

#endif
