/* SPDX-License-Identifier: MIT */
/* tcp.h - TCP connections terminated in userspace and spliced to host sockets.
 *
 * The engine's router calls these with e->now set to the current time.
 * A module owns its flows' state and timers; it closes a flow with
 * flow_close() and never frees one itself.
 */
#ifndef TP_CORE_TCP_H
#define TP_CORE_TCP_H

#include <stdint.h>

#include "core/flow.h"
#include "wire/packet.h"

struct core_engine;

/* The flow a connection is (union flow's tcp member). */
static inline union flow *tcp_flow(struct tcp_conn *t)
{
	return (union flow *)(void *)t;
}

/* A packet from the app for which no flow exists yet: create one (asking
 * the driver for a host socket) or refuse it as the protocol says. */
void tcp_input_new(struct core_engine *e, const struct flow_key *key,
		   const struct wire_packet *pkt);

/* Answers a segment that has no connection and gets none with a RST
 * (RFC 9293 3.10.7.1); a RST itself is never answered. */
void tcp_reply_rst(struct core_engine *e, const struct wire_packet *pkt);

/* A packet from the app for its existing flow f. */
void tcp_input(struct core_engine *e, union flow *f,
	       const struct wire_packet *pkt);

/* CORE_EV_* events on f's host socket. */
void tcp_sock_event(struct core_engine *e, union flow *f, uint32_t events);

/* f's timer fired (idle timeout and protocol timers). */
void tcp_timer(struct core_engine *e, union flow *f);

/* Transmit ring space is free again for a flow that waited for it. */
void tcp_tx_resume(struct core_engine *e, union flow *f);

/* f is being freed by the sweep: release what the module holds (buffers,
 * counters of open flows). The host socket is closed by the sweep. */
void tcp_release(struct core_engine *e, union flow *f);

/* Writes a pending run of app data (CORE_IN_MORE, tcp_rbuf.c) to its host
 * socket, acknowledges it and sends what the connection may send. */
void tcp_pend_flush(struct core_engine *e);

/* True if pkt, for flow f, would only extend the pending run (so the run
 * may wait for more). */
bool tcp_pend_extends(const struct core_engine *e, union flow *f,
		      const struct wire_packet *pkt);

/* True for a connection still in its handshake (counted in tcp_half_open):
 * the candidates flow_evict_oldest() may drop under a SYN flood. */
bool tcp_is_half_open(const union flow *f);

/* Ends f at once to make room: RST to the app, RST to the host. */
void tcp_evict(struct core_engine *e, union flow *f);

#endif
