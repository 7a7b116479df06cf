/* SPDX-License-Identifier: MIT */
/* icmp.h - ICMP/ICMPv6 echo flows through ping (or raw) sockets.
 *
 * The engine's router calls these with e->now set to the current time.
 * A module owns its flows' state and timers; it closes a flow with
 * flow_close() and never frees one itself.
 */
#ifndef TP_CORE_ICMP_H
#define TP_CORE_ICMP_H

#include <stdint.h>

#include "core/flow.h"
#include "wire/packet.h"

struct core_engine;

/* A packet from the app for which no flow exists yet: create one (asking
 * the driver for a host socket) or refuse it as the protocol says. */
void icmp_input_new(struct core_engine *e, const struct flow_key *key,
		    const struct wire_packet *pkt);

/* A packet from the app for its existing flow f. */
void icmp_input(struct core_engine *e, union flow *f,
		const struct wire_packet *pkt);

/* CORE_EV_* events on f's host socket. */
void icmp_sock_event(struct core_engine *e, union flow *f, uint32_t events);

/* f's timer fired (idle timeout and protocol timers). */
void icmp_timer(struct core_engine *e, union flow *f);

/* Transmit ring space is free again for a flow that waited for it. */
void icmp_tx_resume(struct core_engine *e, union flow *f);

/* f is being freed by the sweep: release what the module holds (buffers,
 * counters of open flows). The host socket is closed by the sweep. */
void icmp_release(struct core_engine *e, union flow *f);

#endif
