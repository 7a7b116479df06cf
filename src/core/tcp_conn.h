/* SPDX-License-Identifier: MIT */
/* tcp_conn.h - per-connection TCP state (embedded in union flow).
 *
 * Owned by the TCP module; see tcp.c for the theory of operation. The
 * struct is kept under 256 bytes including the common flow header (a unit
 * test prints and bounds it): an idle connection holds nothing else. The
 * receive buffer (rbuf, tcp_rbuf.c) exists only while app data waits for
 * the host socket or arrived out of order, and grows in chunks with what it
 * holds; the send scoreboard (sb, tcp_sack.c) exists only while host data
 * is in flight to an app that negotiated SACK.
 */
#ifndef TP_CORE_TCP_CONN_H
#define TP_CORE_TCP_CONN_H

#include <stdint.h>

#include "core/flow_common.h"

/* RFC 9293 3.3.2 states as seen from tunproxy (always the passive opener),
 * plus SYN_PENDING: the app's SYN is known but the host connect has not
 * completed, so nothing has been sent to the app yet. */
enum tcp_state {
	TCP_CLOSED = 0,
	TCP_SYN_PENDING,
	TCP_SYN_RCVD,
	TCP_ESTABLISHED,
	TCP_FIN_WAIT_1, /* host EOF: our FIN sent, not acked; app open */
	TCP_FIN_WAIT_2, /* our FIN acked; app may still send */
	TCP_CLOSING,	/* both FINs seen, ours not acked yet */
	TCP_TIME_WAIT,	/* both FINs acked; short, no buffers, no socket */
	TCP_CLOSE_WAIT, /* app FIN seen; host data still flows to the app */
	TCP_LAST_ACK,	/* app FIN seen, our FIN sent, not acked */
};

struct tcp_rbuf; /* app->host bytes held back, see tcp_rbuf.c */
struct tcp_sb;	 /* per-segment record of the flight, see tcp_sack.c */

struct tcp_conn {
	struct flow_common c;
	struct tcp_rbuf *rbuf; /* NULL unless bytes are held (tcp_rbuf.c) */
	struct tcp_sb *sb;     /* NULL unless SACK and data in flight */
	uint64_t rtx_at;       /* RTO, persist, connect, SYN-ACK, TIME-WAIT
				  deadline; 0: none */
	uint64_t ack_at;       /* delayed ACK deadline; 0: none */
	uint64_t lr_at;	       /* RACK-TLP deadline (lr_pto says which);
				  0: none */

	/* Receive side: app -> host. */
	uint32_t rcv_nxt;   /* next sequence expected (ACK we send) */
	uint32_t host_nxt;  /* first app byte not yet taken by the socket */
	uint32_t rcv_adv;   /* right edge of the window we advertised */
	uint32_t ts_recent; /* app's TSval to echo (RFC 7323 4.3) */

	/* Send side: host -> app. The host socket holds every byte from
	 * snd_una on; the peek offset of sequence s is s - snd_una. */
	uint32_t iss;
	uint32_t snd_una;
	uint32_t snd_nxt; /* highest sequence sent + 1 (BSD snd_max) */
	uint32_t snd_wl1, snd_wl2;
	uint32_t snd_wnd;  /* app's window in bytes (scaled) */
	uint32_t rtx_next; /* loss recovery: next byte to retransmit ... */
	uint32_t rtx_end;  /* ... up to here (RFC 6675 HighRxt/HighData) */
	uint32_t recover;  /* RFC 6582 / 6675 recovery point */
	uint32_t cwnd, ssthresh;
	uint32_t cc_wmax;      /* CUBIC: window before the last reduction */
	uint32_t cc_epoch;     /* CUBIC: start of the epoch, ms clock; 0 none */
	uint32_t cc_k;	       /* CUBIC: ms from epoch to W_max */
	uint32_t cc_west;      /* CUBIC: Reno-friendly window estimate */
	uint32_t srtt, rttvar; /* RFC 6298, microseconds; srtt 0: none */
	uint32_t rtt_seq;      /* RTT timing of one segment (Karn) */
	uint32_t rtt_start;    /* its send time, low 32 bits of us clock */
	uint32_t min_rtt;      /* RACK: lowest RTT seen, us; 0: none */
	uint32_t tlp_end;      /* TLP: snd_nxt after the probe (tlp_on) */
	uint32_t undo_marker;  /* undo: snd_una when the reduction began */
	uint32_t prior_cwnd;   /* undo: cwnd and ssthresh before it */
	uint32_t prior_ssthresh;
	uint16_t undo_rtx;   /* undo: retransmissions not yet D-SACKed */
	uint8_t reo_extra;   /* RACK: reo_wnd_mult - 1 (RFC 8985 6.2) */
	uint8_t reo_persist; /* RACK: recoveries left at that multiplier */

	uint16_t mss;	      /* app's MSS clamped to our MTU */
	uint8_t state;	      /* enum tcp_state */
	uint8_t snd_ws;	      /* app's window shift */
	uint8_t rcv_ws;	      /* our window shift */
	uint8_t backoff;      /* RTO / persist / SYN-ACK exponent */
	uint8_t dupacks;      /* duplicate ACKs in a row */
	uint8_t segs_unacked; /* full segments received since our ACK */
	uint8_t max_wnd_hi;   /* high byte of the largest window field the
				 app sent: MAX.SND.WND (RFC 5961 5.2) rounded
				 up, see tcp_max_snd_wnd() */

	uint8_t ws_ok : 1;	 /* window scaling negotiated */
	uint8_t sack_ok : 1;	 /* SACK-permitted negotiated */
	uint8_t ts_ok : 1;	 /* timestamps negotiated */
	uint8_t app_fin : 1;	 /* app's FIN received in order */
	uint8_t fin_sent : 1;	 /* our FIN sent (seq snd_nxt - 1) */
	uint8_t shut_done : 1;	 /* host socket shut down for writing */
	uint8_t host_eof : 1;	 /* host socket reached end of stream */
	uint8_t in_recovery : 1; /* fast recovery (RFC 6675 / 6582) */
	uint8_t rtt_on : 1;	 /* rtt_seq is being timed */
	uint8_t want_rd : 1;	 /* last want() readability */
	uint8_t want_wr : 1;	 /* last want() writability */
	uint8_t ack_now : 1;	 /* an ACK must go out */
	uint8_t rcv_zero : 1;	 /* no buffer: advertise a zero window */
	uint8_t cnt_half : 1;	 /* counted in tcp_half_open */
	uint8_t cnt_open : 1;	 /* counted in tcp_conns_open */
	uint8_t sock_closed : 1; /* host socket already closed */
	uint8_t lr_pto : 1;	 /* lr_at is the probe timeout, else RACK's
				    reordering timer */
	uint8_t pto_restart : 1; /* new data sent or acked: restart the PTO */
	uint8_t reord_seen : 1;	 /* RACK: the app's path reorders */
	uint8_t tlp_on : 1;	 /* a loss probe is unacknowledged */
	uint8_t tlp_retrans : 1; /* ... and it was a retransmission */
	uint8_t undo_on : 1;	 /* a window reduction may still be undone */
	uint8_t host_dry : 1;	 /* the last peek found no new host data: do
				    not peek again before CORE_EV_READ */
};

#endif
