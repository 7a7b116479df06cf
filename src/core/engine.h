/* SPDX-License-Identifier: MIT */
/* engine.h - the sans-I/O core as the driver sees it.
 *
 * One entry point per kind of input, all taking the current time:
 *   core_input()      an IP packet read from the TUN (or handed in);
 *   core_sock_event() a host socket became readable/writable/errored;
 *   core_timers()     the deadline from core_next_deadline() has passed.
 * Outputs are (a) calls to the host ops (sockets) and (b) IP packets in the
 * engine's transmit ring, which the driver drains with core_tx_peek() /
 * core_tx_done() after every input, then calls core_tx_resume() so flows
 * that stopped on a full ring continue. The core keeps no clock and no
 * thread; it is driven by exactly one thread at a time.
 */
#ifndef TP_CORE_ENGINE_H
#define TP_CORE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "core/host_ops.h"
#include "tunproxy.h"

/* Limits and timeouts, in the units the core uses (microseconds). */
struct core_config {
	uint32_t mtu;
	uint32_t max_flows;
	uint32_t max_tcp_half_open;
	uint32_t max_tcp_established;
	uint64_t max_memory;
	uint32_t reasm_max_bytes;
	uint32_t tx_slots;    /* transmit ring size in packets */
	uint32_t tx_headroom; /* bytes kept free before each packet */
	uint64_t udp_timeout_us;
	uint64_t udp_dns_timeout_us;
	uint64_t icmp_timeout_us;
	uint64_t tcp_idle_timeout_us;
	uint64_t reasm_timeout_us;
	uint64_t hash_seed; /* random, from the driver */
	tp_log_fn log;
	void *log_ctx;
	uint32_t log_level;
	/* Destination policy lists (see policy.c), read only by core_create:
	 * the user's allow and deny lists, and the destinations that reach
	 * the driver's own sockets (denied for UDP, e.g. the dev transport's
	 * "127.0.0.1/32:8081"). NULL: empty. core_create fails on a bad one
	 * (validate first with policy_parse for a useful message). */
	const char *policy_allow;
	const char *policy_deny;
	const char *policy_self;
	const char *policy_tun; /* the TUN's prefixes, denied (all protocols) */
	/* The process's open-file limit (RLIMIT_NOFILE's soft limit, read
	 * by the driver: the core calls no OS); 0: unknown or unlimited.
	 * Datagram flows are held to what it leaves (admit.h). */
	uint64_t fd_limit;
};

/* Fills cfg from the public config (defaults applied). */
void core_config_from_public(struct core_config *cfg,
			     const struct tp_config *pub);

struct core_engine;

/* Creates an engine that calls ops with ops_ctx. Returns NULL when the
 * configured tables do not fit the memory budget. */
struct core_engine *core_create(const struct core_config *cfg,
				const struct core_host_ops *ops, void *ops_ctx);

/* Closes every flow (host sockets through ops->close) and frees all. */
void core_destroy(struct core_engine *e);

/* core_input() flags */
enum {
	/* The OS vouches for the packet's TCP/UDP checksum (TUN checksum
	 * offload): it is not checked, and may hold only the pseudo-header
	 * sum. */
	CORE_IN_CSUM_OK = 1,
	/* More packets of the same batch follow this one (the driver read
	 * them together): in-order data of one TCP connection arriving back
	 * to back may be written to its host socket with one send and
	 * acknowledged once, when the run ends (tcp_rbuf.c). The last packet
	 * of every batch must come without it. */
	CORE_IN_MORE = 2,
};

/* One IP packet from the app, with CORE_IN_* flags. The buffer stays the
 * caller's. */
void core_input(struct core_engine *e, const uint8_t *pkt, size_t len,
		uint32_t flags, uint64_t now_us);

/* Events (CORE_EV_*) on the host socket of the flow with this handle.
 * Stale handles (flow already gone) are ignored. */
void core_sock_event(struct core_engine *e, uint32_t flow, uint32_t events,
		     uint64_t now_us);

/* The app side went away as a whole (the dev transport's client was
 * replaced by another sender, docs/devloop.md): every flow is closed at
 * once, TCP host connections with a RST (the app's end will never answer),
 * and nothing is sent towards the app, which is now someone else; the
 * packets still in the transmit ring are the old app's and are dropped
 * (returned: the driver counts them in tx_dropped). Counted in
 * dev_session_flows_closed. O(flows). */
size_t core_abort_all(struct core_engine *e, uint64_t now_us);

/* Runs every timer due at now_us. */
void core_timers(struct core_engine *e, uint64_t now_us);

/* The earliest time core_timers has work, or UINT64_MAX. */
uint64_t core_next_deadline(const struct core_engine *e);

/* Outgoing packets ready for the TUN. */
struct core_tx_pkt {
	uint8_t *data; /* IP header first; headroom bytes before it
			      are free for the driver's framing */
	size_t len;
	uint8_t family;
};

/* Up to max ready packets, oldest first, left in the ring. */
size_t core_tx_peek(struct core_engine *e, struct core_tx_pkt *out, size_t max);

/* Frees the n oldest ready packets, written or dropped by the driver (it
 * counts the drops in tx_dropped; tx_packets/tx_bytes count all n). */
void core_tx_done(struct core_engine *e, size_t n);

/* Lets flows that stopped on a full ring produce again. */
void core_tx_resume(struct core_engine *e, uint64_t now_us);

/* Counters indexed by enum tp_counter, and drop reasons by enum wire_drop. */
const uint64_t *core_counters(const struct core_engine *e);
const uint64_t *core_drop_reasons(const struct core_engine *e);

/* Number of flows open (all types). */
uint32_t core_flow_count(const struct core_engine *e);

/* The engine's memory budget, for buffers the driver keeps on behalf of
 * the engine's flows (tcprx_copy.c) so they count against the same
 * max_memory. Engine thread only. */
struct core_mem *core_budget(struct core_engine *e);

/* Changes the log level (tp_set_log_level). Engine thread only. */
void core_set_log_level(struct core_engine *e, uint32_t level);

/* Flow introspection (flowinfo.c). */
/* Writes every open flow into out (cap entries, stride bytes apart,
 * at most min(stride, sizeof) bytes each) and returns how many are open.
 * Engine thread only. */
size_t core_flows(struct core_engine *e, uint64_t now_us, void *out, size_t cap,
		  size_t stride);

/* Sets the flow_end callback (driver_create). */
void core_set_flow_end(struct core_engine *e,
		       void (*fn)(void *, const struct tp_flow_info *),
		       void *ctx);

#endif
