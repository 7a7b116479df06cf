/* SPDX-License-Identifier: MIT */
/* core.h - the engine's state, shared by the core's modules only.
 *
 * Protocol modules (dgram.c, udp.c, icmp.c, tcp*.c) reach the rest of the
 * engine through this header: counters, the log, the memory budget, the
 * transmit ring and the host ops. Nothing outside src/core includes it.
 */
#ifndef TP_CORE_CORE_H
#define TP_CORE_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/admit.h"
#include "core/engine.h"
#include "core/flow.h"
#include "core/host_ops.h"
#include "core/mem.h"
#include "core/policy.h"
#include "core/reasm.h"
#include "core/tx.h"
#include "wire/packet.h"

/* Kinds of refused flows, each with its own log rate limit. */
enum core_refusal {
	CORE_REFUSE_POLICY, /* destination policy */
	CORE_REFUSE_SOCKET, /* no host socket: fds, ports, kernel memory */
	CORE_REFUSE_MEMORY, /* the memory budget */
	CORE_REFUSE_LIMIT,  /* max_flows */
	CORE_REFUSE_WINDOW, /* a TCP window closed by the budget */
	CORE_REFUSE__COUNT
};

/* A run of in-order app data for one TCP connection, read back to back in
 * one batch and not yet written to its host socket (tcp_rbuf.c). The
 * iovecs point into the caller's packets, valid until the batch ends. */
#define TCP_PEND_IOV 64
struct tcp_conn;
struct tcp_pend {
	struct tcp_conn *t; /* NULL: nothing pending */
	uint32_t seq, len;  /* the run: [seq, seq + len) */
	uint32_t cnt;	    /* segments in it */
	struct core_iov iov[TCP_PEND_IOV];
};

/* The rate limit of ICMP errors about refused flows (core_refuse_packet,
 * emit.c): a burst of 50, then one more a millisecond. */
#define REFUSE_ICMP_BURST  50u
#define REFUSE_ICMP_US_PER 1000u

struct core_engine {
	struct core_config cfg;
	const struct core_host_ops *ops;
	void *ops_ctx;
	struct core_mem mem;
	struct flow_table *flows;
	struct tx_ring *tx;
	struct reasm *reasm;
	uint32_t closing_head; /* flows queued for flow_sweep */
	uint32_t pending_head; /* flows waiting for tx space */
	uint32_t pending_tail;
	uint32_t frag_id;	/* next id for fragments we originate */
	uint8_t *scratch;	/* one maximal datagram (CORE_SCRATCH_SIZE) */
	uint64_t now;		/* time of the input being handled */
	uint64_t rng;		/* xorshift state for eviction sampling */
	uint64_t log_window;	/* start of the current rate-limit second */
	uint32_t log_in_window; /* lines logged in it */
	uint64_t ctr[TP_CTR__COUNT];
	uint64_t drops[WIRE_DROP__COUNT];
	struct policy_rule *rules; /* destination policy (policy.h) */
	uint32_t nrules;
	uint64_t refusal_log_at[CORE_REFUSE__COUNT];  /* next line allowed */
	uint32_t refusal_skipped[CORE_REFUSE__COUNT]; /* since the last line */
	uint64_t refuse_icmp_at;     /* token bucket of refusal ICMP errors */
	uint32_t refuse_icmp_tokens; /* (core_refuse_packet) */
	uint32_t fd_limit;	     /* cfg.fd_limit, 0: none (admit.c) */
	uint32_t max_dgram;	     /* datagram flows it leaves room for */
	uint64_t chal_next; /* when the challenge ACK budget is drawn again */
	uint32_t chal_left; /* challenge ACKs left until then (tcp.c) */
	bool in_more;	    /* the input has CORE_IN_MORE */
	struct tcp_pend pend;
	/* Flow introspection (flowinfo.c, names.c). */
	struct names *names; /* DNS cache, NULL until the first answer */
	void (*flow_end)(void *, const struct tp_flow_info *);
	void *flow_end_ctx;
	uint64_t refused_report_at; /* rate limit of refused-flow reports */
	uint32_t refused_reports;
};

/* Counters are written by the engine's thread only and may be read from
 * another (tp_get_counters): relaxed atomic loads and stores keep that
 * race-free without a locked instruction on the hot path. */
#define CTR_ADD_AT(e, i, n)                                                    \
	__atomic_store_n(&(e)->ctr[i],                                         \
			 __atomic_load_n(&(e)->ctr[i], __ATOMIC_RELAXED) +     \
			     (n),                                              \
			 __ATOMIC_RELAXED)
#define CTR_ADD(e, name, n) CTR_ADD_AT(e, TP_CTR_##name, n)
#define DROP_INC(e, why)                                                       \
	__atomic_store_n(&(e)->drops[why],                                     \
			 __atomic_load_n(&(e)->drops[why], __ATOMIC_RELAXED) + \
			     1,                                                \
			 __ATOMIC_RELAXED)
#define CTR_INC(e, name) CTR_ADD(e, name, 1)
#define CTR_DEC(e, name) CTR_ADD(e, name, (uint64_t)-1)
#define CTR_SET(e, name, v)                                                    \
	__atomic_store_n(&(e)->ctr[TP_CTR_##name], (v), __ATOMIC_RELAXED)

/* A budget of max events per second of e->now: true and counted while the
 * current second (starting at *window) has room, false past it. Used for
 * reports outside input can cause at any rate (log.c, flowinfo.c). */
static inline bool core_per_second(uint64_t now, uint64_t *window, uint32_t *n,
				   uint32_t max)
{
	if (now - *window >= 1000000) {
		*window = now;
		*n = 0;
	}
	return ++*n <= max;
}

/* Logs through the configured callback when level is enabled. */
void core_log(struct core_engine *e, enum tp_log_level level, const char *fmt,
	      ...) __attribute__((format(printf, 3, 4)));

/* Logs a line about flow k as "<tuple>: <message>" (every line about a
 * flow names it). */
void core_log_flow(struct core_engine *e, enum tp_log_level level,
		   const struct flow_key *k, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The same, for lines caused by outside input (malformed packets, floods):
 * at most a few lines per second, the rest counted in log_suppressed. */
void core_log_hostile(struct core_engine *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Logs a refusal of kind for flow k as "<tuple>: <message>" at WARN level,
 * at most one line a second per kind; the next line after a quiet spell
 * says how many were left out (also counted in log_suppressed). */
void core_log_refusal(struct core_engine *e, enum core_refusal kind,
		      const struct flow_key *k, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* What a host socket error means for the operator and what to do about it
 * ("too many open files (EMFILE): raise ..."), or NULL for errors that are
 * not about local resources. */
const char *core_errno_advice(int err);

/* Answers the app's packet p that opened a flow we refuse: RST for TCP,
 * ICMP/ICMPv6 destination unreachable "administratively prohibited" for
 * UDP and echo requests, nothing when either address is multicast,
 * broadcast or unspecified. The ICMP errors are rate-limited (a flood of
 * refused flows must not double itself on the way back; RFC 4443
 * 2.4(f)): past 50 in a burst, 1000 a second, counted in
 * icmp_errors_limited. */
void core_refuse_packet(struct core_engine *e, const struct wire_packet *p);

/* Formats a flow's tuple as "udp 10.0.0.8:5353 -> 198.51.100.1:53". */
void core_flow_str(const struct flow_key *k, char *out, size_t cap);

/* "tcp", "udp", "icmp", "icmp6", or "ip" for another protocol number. */
const char *core_proto_name(uint8_t proto);

/* Queues an ICMP/ICMPv6 error to the app about the packet (orig, len) it
 * sent (e.g. port unreachable). from is the address the error comes from. */
void core_send_icmp_error(struct core_engine *e, uint8_t family,
			  const struct wire_addr *from,
			  const struct wire_addr *to, uint8_t type,
			  uint8_t code, uint32_t mtu, const uint8_t *orig,
			  size_t orig_len);

/* Queues a whole IP packet (pkt, len) for the app, fragmenting it when it
 * is larger than the MTU. Returns 0, or -1 if the ring had no room. */
int core_emit_packet(struct core_engine *e, uint8_t family, const uint8_t *pkt,
		     size_t len);

/* Room for the largest IP packet: a 65535-byte datagram behind headers. */
#define CORE_SCRATCH_SIZE (65536 + 128)

/* The ICMP/ICMPv6 error (type, code) the app should see for a host socket
 * error, as a real network would have sent it. False if none applies
 * (e.g. a local error with no network meaning, or path-MTU news that the
 * host stack handles itself). */
bool core_icmp_for_error(uint8_t family, const struct core_sock_error *err,
			 uint8_t *type, uint8_t *code);

/* Puts f on the list of flows to call back when tx space frees up. */
void core_wait_tx(struct core_engine *e, union flow *f);

#endif
