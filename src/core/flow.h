/* SPDX-License-Identifier: MIT */
/* flow.h - the flow table (the design's "port-NAT").
 *
 * Every UDP flow, ICMP echo flow and TCP connection is one slot of a table
 * sized at max_flows when the engine is created. The table is allocated
 * once but only the slots in use are touched (and charged to the memory
 * budget), so an idle engine costs little. New flows take the lowest free
 * slot, which keeps the used part of the table dense.
 *
 * A flow is found from an app packet by its 5-tuple (app address and port,
 * destination address and port, protocol; ICMP echo uses the identifier as
 * the app port) through a chained hash table: O(1) whatever the number of
 * flows. From the host side it is found by its handle: slot index plus a
 * generation, so an event for a socket of a flow that has since been
 * freed is recognised as stale and ignored.
 *
 * Closing is deferred: flow_close() marks the flow and queues it; the
 * engine frees queued flows (closing their host socket) once the current
 * input has been handled, so no handler ever touches a freed flow.
 *
 * Each flow has one deadline in a binary min-heap (O(log n) to set): each
 * protocol folds its timers (idle timeout, RTO, delayed ACK, TIME-WAIT)
 * into that one value and re-arms it when it fires.
 */
#ifndef TP_CORE_FLOW_H
#define TP_CORE_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/flow_common.h"
#include "core/tcp_conn.h"
#include "wire/addr.h"

struct core_engine;

/* A UDP or ICMP echo flow (dgram.h): the host socket does the rest. */
struct dgram_flow {
	struct flow_common c;
	uint32_t dgram_pos; /* index in the table's datagram list */
};

union flow {
	struct flow_common c;
	struct dgram_flow dgram;
	struct tcp_conn tcp;
};

struct flow_table;
struct wire_packet;

/* What a flow type does, one table per type (TCP in tcp*.c, UDP and ICMP
 * echo in dgram.c), given by the engine at creation (flow_table_create).
 * The engine dispatches its inputs through them; the table calls down
 * into the protocols through evict and release, never up into the engine.
 *   input_new   a packet from the app for which no flow exists yet:
 *               create one (asking the driver for a host socket) or
 *               refuse it as the protocol says
 *   input       a packet from the app for its existing flow f
 *   sock_event  CORE_EV_* events on f's host socket
 *   timer       f's timer fired (idle timeout and protocol timers)
 *   tx_resume   transmit ring space is free again for f, which waited
 *   evict       ends f at once to make room, the protocol's way (TCP resets
 *               both sides; NULL: flow_close, UDP/ICMP just forget the flow)
 *   release     lets the protocol release what f holds (buffers, counters
 *               of open flows) before the sweep frees f and closes its
 *               host socket (NULL: nothing to release)
 * The engine calls all but evict and release with e->now set to the
 * current time. A protocol owns its flows' state and timers; it closes a
 * flow with flow_close() and never frees one itself. */
struct flow_ops {
	void (*input_new)(struct core_engine *e, const struct flow_key *key,
			  const struct wire_packet *pkt);
	void (*input)(struct core_engine *e, union flow *f,
		      const struct wire_packet *pkt);
	void (*sock_event)(struct core_engine *e, union flow *f,
			   uint32_t events);
	void (*timer)(struct core_engine *e, union flow *f);
	void (*tx_resume)(struct core_engine *e, union flow *f);
	void (*evict)(struct core_engine *e, union flow *f);
	void (*release)(struct core_engine *e, union flow *f);
};

/* ops[type] for FLOW_UDP, FLOW_ICMP and FLOW_TCP (ops[FLOW_FREE] unused);
 * the array must outlive the table. */
struct flow_table *flow_table_create(struct core_engine *e, uint32_t max,
				     const struct flow_ops *const *ops);
void flow_table_destroy(struct flow_table *t);

/* The flow for key, or NULL. */
union flow *flow_lookup(struct flow_table *t, const struct flow_key *key);

/* A new flow of type for key, inserted in the hash, with no socket and no
 * timer; NULL when the table is full or the budget refuses (counted). */
union flow *flow_alloc(struct core_engine *e, enum flow_type type,
		       const struct flow_key *key);

/* Under pressure (table full, memory budget, half-open limit, out of
 * fds): samples a few flows at random and ends the least recently active
 * one that pred accepts, freeing its slot and closing its socket at
 * once. O(1); an approximation of LRU that a
 * flood cannot defeat by aiming at one bucket. Returns true if a flow was
 * evicted (counted in flows_evicted). Only for new-flow paths: it runs the
 * deferred sweep. */
bool flow_evict_oldest(struct core_engine *e,
		       bool (*pred)(const union flow *f));

/* The same for datagram (UDP and ICMP echo) flows other than keep (may be
 * NULL), sampled from a dense list of them: O(1), and as good when a few
 * datagram flows sit among many TCP connections as in a table of nothing
 * else. */
bool flow_evict_datagram(struct core_engine *e, const union flow *keep);

/* True for UDP and ICMP echo flows: they can be dropped under pressure
 * and simply re-created by the app's next datagram. */
bool flow_is_datagram(const union flow *f);

/* The flow a handle names, or NULL if it is stale or closing. */
union flow *flow_from_handle(struct flow_table *t, uint32_t handle);
uint32_t flow_handle(const struct flow_table *t, const union flow *f);

/* Queues f to be freed by flow_sweep (idempotent). reset asks for a TCP
 * host socket to be closed with RST. */
void flow_close(struct core_engine *e, union flow *f, bool reset);

/* Frees every queued flow: host socket closed, timer cancelled, counters
 * updated. Called by the engine after each input. */
void flow_sweep(struct core_engine *e);

/* Sets (or moves) f's timer to when; UINT64_MAX cancels it. */
void flow_timer_set(struct core_engine *e, union flow *f, uint64_t when);

/* The earliest flow timer, or UINT64_MAX. */
uint64_t flow_timer_next(const struct flow_table *t);

/* Pops one flow whose timer is due at now (its timer is cancelled), or
 * NULL. The caller dispatches it and the protocol re-arms if needed. */
union flow *flow_timer_pop(struct flow_table *t, uint64_t now);

/* Calls fn on every live flow (shutdown and core_abort_all only: O(n)). */
void flow_for_each(struct flow_table *t,
		   void (*fn)(struct core_engine *, union flow *),
		   struct core_engine *e);

uint32_t flow_table_count(const struct flow_table *t);

/* UDP and ICMP echo flows in the table (admit.c holds them to a budget). */
uint32_t flow_dgram_count(const struct flow_table *t);

/* Slot access by index (for the engine's intrusive lists). */
union flow *flow_at(struct flow_table *t, uint32_t idx);
uint32_t flow_index(const struct flow_table *t, const union flow *f);

/* Introspection (flowinfo.c): the figures kept beside f's slot, and
 * the number of slots ever used (flows live below it). */
struct flow_acct *flow_acct_of(struct flow_table *t, const union flow *f);
uint32_t flow_table_high(const struct flow_table *t);

/* What one flow costs the memory budget: its slot and its flow_acct. */
size_t flow_slot_bytes(void);

/* A slot leaves the tx-resume list; a freed one becomes reusable. */
void flow_slot_unpend(struct flow_table *t, union flow *f);

#endif
