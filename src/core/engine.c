/* SPDX-License-Identifier: MIT */
/* engine.c - the router: the sans-I/O engine's entry points.
 *
 * core_input() checks a packet once (wire_packet_parse), puts fragments
 * back together (reasm), finds the packet's flow by its 5-tuple and hands
 * it to the protocol module (dgram.c for UDP and ICMP echo, tcp*.c)
 * through its type's struct flow_ops, which may create the flow.
 * core_sock_event() and core_timers() reach a flow by its handle and its
 * timer. After each entry point the deferred sweep frees the flows
 * that were closed during it (see flow.h).
 *
 * Every packet refused here is counted: by wire reason in drops[], and as
 * rx_dropped_malformed / rx_dropped_unsupported. A packet that would open
 * a flow is first checked against the destination policy (policy.c); a
 * refused one is answered (core_refuse_packet) and counted in
 * flows_refused_policy before any module or host socket sees it.
 *
 * The services the protocol modules use live in their own files: log.c
 * (logging) and emit.c (packets and ICMP errors into the TX ring).
 */
#include "core/engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/core.h"
#include "core/flowinfo.h"
#include "core/dgram.h"
#include "core/names.h"
#include "core/tcp.h"
#include "wire/build.h"

#define US_PER_MS 1000ull

static uint32_t or_default(uint32_t v, uint32_t def)
{
	return v ? v : def;
}

void core_config_from_public(struct core_config *cfg,
			     const struct tp_config *pub)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mtu = or_default(pub->mtu, 1500);
	cfg->max_flows = or_default(pub->max_flows, 65536);
	cfg->max_tcp_half_open = or_default(pub->max_tcp_half_open, 1024);
	cfg->max_tcp_established = or_default(pub->max_tcp_established, 65536);
	cfg->max_memory = pub->max_memory ? pub->max_memory : 32ull << 20;
	cfg->reasm_max_bytes = or_default(pub->reasm_max_bytes, 256u << 10);
	/* The ring holds about 512 KiB of packets: 256 slots at MTU 1500, and
	 * fewer (never under 32) for jumbo MTUs, so a large MTU does not eat
	 * the memory budget at start-up. */
	cfg->tx_headroom = 16;
	uint32_t slots = (512u << 10) / (cfg->mtu + cfg->tx_headroom);
	cfg->tx_slots = slots < 32 ? 32 : slots > 256 ? 256 : slots;
	cfg->udp_timeout_us =
	    or_default(pub->udp_timeout_ms, 60000) * US_PER_MS;
	cfg->udp_dns_timeout_us =
	    or_default(pub->udp_dns_timeout_ms, 30000) * US_PER_MS;
	cfg->icmp_timeout_us =
	    or_default(pub->icmp_timeout_ms, 30000) * US_PER_MS;
	cfg->tcp_idle_timeout_us =
	    or_default(pub->tcp_idle_timeout_ms, 7200000) * US_PER_MS;
	cfg->reasm_timeout_us = 10000 * US_PER_MS;
	cfg->log = pub->log;
	cfg->log_ctx = pub->log_ctx;
	cfg->log_level = pub->log_level;
	cfg->policy_allow = pub->allow;
	cfg->policy_deny = pub->deny;
	cfg->policy_tun = pub->tun_prefixes;
}

/* Builds the rule array: built-in defaults, the driver's own sockets,
 * then the user's lists. Returns 0 or -1 (bad list or no memory). */
static int policy_load(struct core_engine *e, const struct core_config *cfg)
{
	int na =
	    policy_parse(cfg->policy_allow, POLICY_ALLOW, NULL, 0, NULL, 0);
	int nd = policy_parse(cfg->policy_deny, POLICY_DENY, NULL, 0, NULL, 0);
	int ns = policy_parse(cfg->policy_self, POLICY_DENY, NULL, 0, NULL, 0);
	int nt = policy_parse(cfg->policy_tun, POLICY_DENY, NULL, 0, NULL, 0);
	if (na < 0 || nd < 0 || ns < 0 || nt < 0)
		return -1;
	uint64_t cap = (uint64_t)POLICY_BUILTIN_COUNT + (uint64_t)na +
		       (uint64_t)nd + (uint64_t)ns + (uint64_t)nt;
	if (cap > UINT32_MAX / sizeof(struct policy_rule))
		return -1;
	e->rules = core_mem_alloc(&e->mem, cap * sizeof(struct policy_rule));
	if (!e->rules)
		return -1;
	uint32_t n = policy_builtin(e->rules);
	policy_parse(cfg->policy_self, POLICY_DENY, e->rules + n, (uint32_t)ns,
		     NULL, 0);
	for (uint32_t i = n; i < n + (uint32_t)ns; i++) {
		/* The dev transport is a UDP socket; TCP on the same port
		 * is someone else's business. */
		e->rules[i].kind = POLICY_SELF;
		e->rules[i].proto = WIRE_PROTO_UDP;
	}
	n += (uint32_t)ns;
	/* The TUN's own prefixes: a host socket's packet there would come
	 * back in as a new flow, forever (issue 10, finding 3). Built-in
	 * rank: the user's lists beat them at equal length. */
	policy_parse(cfg->policy_tun, POLICY_DENY, e->rules + n, (uint32_t)nt,
		     NULL, 0);
	for (uint32_t i = n; i < n + (uint32_t)nt; i++)
		e->rules[i].kind = POLICY_TUN;
	n += (uint32_t)nt;
	n += (uint32_t)policy_parse(cfg->policy_allow, POLICY_ALLOW,
				    e->rules + n, (uint32_t)na, NULL, 0);
	n += (uint32_t)policy_parse(cfg->policy_deny, POLICY_DENY, e->rules + n,
				    (uint32_t)nd, NULL, 0);
	e->nrules = n;
	return 0;
}

/* What each flow type does (flow.h): the engine dispatches to the
 * protocols through these, and the flow table evicts and releases
 * through them. UDP and ICMP echo are both datagram flows (dgram.c). */
static const struct flow_ops tcp_ops = {
    .input_new = tcp_input_new,
    .input = tcp_input,
    .sock_event = tcp_sock_event,
    .timer = tcp_timer,
    .tx_resume = tcp_tx_resume,
    .evict = tcp_evict,
    .release = tcp_release,
};
static const struct flow_ops *const flow_ops[] = {
    [FLOW_UDP] = &dgram_flow_ops,
    [FLOW_ICMP] = &dgram_flow_ops,
    [FLOW_TCP] = &tcp_ops,
};

/* The ops of a live flow's type. */
static const struct flow_ops *ops_of(const union flow *f)
{
	return flow_ops[f->c.type];
}

struct core_engine *core_create(const struct core_config *cfg,
				const struct core_host_ops *ops, void *ops_ctx)
{
	struct core_mem mem = {.budget = cfg->max_memory};
	struct core_engine *e = core_mem_alloc(&mem, sizeof(*e));
	if (!e)
		return NULL;
	e->mem = mem;
	e->cfg = *cfg;
	if (e->cfg.mtu < 1280 || e->cfg.mtu > 65535 || e->cfg.tx_slots == 0) {
		free(e);
		return NULL;
	}
	e->ops = ops;
	e->ops_ctx = ops_ctx;
	e->rng = cfg->hash_seed ^ 0x9e3779b97f4a7c15ull;
	if (!e->rng)
		e->rng = 1;
	e->refuse_icmp_tokens = REFUSE_ICMP_BURST;
	e->flows = flow_table_create(e, cfg->max_flows, flow_ops);
	e->tx =
	    tx_ring_create(&e->mem, cfg->tx_slots, cfg->mtu, cfg->tx_headroom);
	e->reasm = reasm_create(&e->mem, cfg->reasm_max_bytes, 64,
				cfg->reasm_timeout_us);
	e->scratch = core_mem_alloc(&e->mem, CORE_SCRATCH_SIZE);
	struct admit_budget fb;
	admit_budget(cfg->fd_limit, cfg->max_flows, &fb);
	e->fd_limit = fb.fd_limit;
	e->max_dgram = fb.dgram;
	if (fb.fd_limit)
		core_log(
		    e, fb.flows < cfg->max_flows ? TP_LOG_INFO : TP_LOG_DEBUG,
		    "open-file limit %u: room for %u flows (max_flows %u); "
		    "UDP/ICMP flows held to %u, leaving %u fds to TCP "
		    "and %u to the process",
		    fb.fd_limit, fb.flows, cfg->max_flows, fb.dgram,
		    fb.tcp_reserve, fb.proc_reserve);
	int pol = policy_load(e, cfg);
	/* The lists were read only now: do not keep the caller's pointers. */
	e->cfg.policy_allow = e->cfg.policy_deny = e->cfg.policy_self = NULL;
	e->cfg.policy_tun = NULL;
	if (!e->flows || !e->tx || !e->reasm || !e->scratch || pol < 0) {
		core_destroy(e);
		return NULL;
	}
	return e;
}

/* Ends every entry point: frees closed flows and publishes the memory
 * figures (kept in e->mem) as counters for other threads to read. */
static void finish(struct core_engine *e)
{
	flow_sweep(e);
	CTR_SET(e, mem_used, e->mem.used);
	CTR_SET(e, mem_peak, e->mem.peak);
	CTR_SET(e, mem_refused, e->mem.refused);
}

static void close_for_shutdown(struct core_engine *e, union flow *f)
{
	flowinfo_set_end(e, f, TP_END_SHUTDOWN);
	flow_close(e, f, false);
}

void core_destroy(struct core_engine *e)
{
	if (!e)
		return;
	if (e->flows) {
		flow_for_each(e->flows, close_for_shutdown, e);
		flow_sweep(e);
	}
	names_destroy(e);
	reasm_destroy(e->reasm);
	core_mem_free(&e->mem, e->rules,
		      (size_t)e->nrules * sizeof(struct policy_rule));
	core_mem_free(&e->mem, e->scratch, CORE_SCRATCH_SIZE);
	tx_ring_destroy(e->tx);
	flow_table_destroy(e->flows);
	free(e); /* allocated from the budget copied into e->mem */
}

/* --- output (emit.c builds and queues packets; these are the entry
 * points that drain the ring and resume the flows waiting for it) --- */

void core_tx_resume(struct core_engine *e, uint64_t now_us)
{
	e->now = now_us;
	/* Detach the list first: a flow that fills the ring again re-queues
	 * itself at the tail of a fresh list. */
	uint32_t i = e->pending_head;
	e->pending_head = e->pending_tail = 0;
	while (i) {
		union flow *f = flow_at(e->flows, i - 1);
		i = f->c.pending_next;
		flow_slot_unpend(e->flows, f);
		if (f->c.type == FLOW_FREE || f->c.closing)
			continue;
		if (tx_free(e->tx) == 0) {
			core_wait_tx(e, f);
			continue;
		}
		struct flowinfo_mark mark;
		flowinfo_before(e, f, &mark);
		ops_of(f)->tx_resume(e, f);
		flowinfo_after(e, f, &mark, FLOWINFO_RESUME);
	}
	finish(e);
}

size_t core_tx_peek(struct core_engine *e, struct core_tx_pkt *out, size_t max)
{
	size_t n = tx_ready(e->tx);
	if (n > max)
		n = max;
	for (size_t k = 0; k < n; k++)
		tx_ready_get(e->tx, (uint32_t)k, &out[k].data, &out[k].len,
			     &out[k].family);
	return n;
}

void core_tx_done(struct core_engine *e, size_t n)
{
	uint64_t bytes = 0;
	for (size_t k = 0; k < n && k < tx_ready(e->tx); k++) {
		uint8_t *data, family;
		size_t len;
		tx_ready_get(e->tx, (uint32_t)k, &data, &len, &family);
		bytes += len;
	}
	CTR_ADD(e, tx_packets, n);
	CTR_ADD(e, tx_bytes, bytes);
	tx_release(e->tx, (uint32_t)n);
}

/* --- input --- */

static void count_drop(struct core_engine *e, enum wire_drop why,
		       const uint8_t *pkt, size_t len)
{
	DROP_INC(e, why);
	if (why == WIRE_DROP_PROTO) {
		CTR_INC(e, rx_dropped_unsupported);
		return;
	}
	CTR_INC(e, rx_dropped_malformed);
	core_log_hostile(e, "dropped malformed packet (%s, %zu bytes)",
			 wire_drop_name(why), len);
}

/* The reassembler keeps its own statistics; publish them as counters. */
static void sync_reasm_counters(struct core_engine *e)
{
	const struct reasm_stats *st = reasm_stats(e->reasm);
	CTR_SET(e, frag_reassembled, st->completed);
	CTR_SET(e, frag_dropped,
		st->timed_out + st->dropped_full + st->dropped_bad +
		    st->evicted);
}

static bool key_from_packet(const struct wire_packet *p, struct flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = p->family;
	k->proto = p->proto;
	k->src = p->src;
	k->dst = p->dst;
	switch (p->proto) {
	case WIRE_PROTO_UDP:
	case WIRE_PROTO_TCP:
		k->sport = p->sport;
		k->dport = p->dport;
		return true;
	case WIRE_PROTO_ICMP:
	case WIRE_PROTO_ICMP6: {
		uint8_t req = p->family == 4 ? WIRE_ICMP4_ECHO_REQUEST
					     : WIRE_ICMP6_ECHO_REQUEST;
		if (p->u.icmp.type != req)
			return false;
		k->sport = p->u.icmp.id;
		return true;
	}
	}
	return false;
}

/* The type of flow a packet key_from_packet accepted belongs to. */
static enum flow_type flow_type_of(uint8_t proto)
{
	switch (proto) {
	case WIRE_PROTO_UDP:
		return FLOW_UDP;
	case WIRE_PROTO_TCP:
		return FLOW_TCP;
	default:
		return FLOW_ICMP;
	}
}

/* True for a packet that would create a flow: anything but TCP, and for
 * TCP a plain SYN (other segments without a flow get a RST or nothing
 * from tcp_input_new and create none). */
static bool opens_flow(const struct wire_packet *p)
{
	if (p->proto != WIRE_PROTO_TCP)
		return true;
	uint8_t fl = p->u.tcp.flags;
	return (fl & WIRE_TCP_SYN) && !(fl & (WIRE_TCP_ACK | WIRE_TCP_RST));
}

/* The destination policy for a packet that opens a flow: true if it may
 * go on; otherwise it is answered, counted and logged. */
static bool policy_admits(struct core_engine *e, const struct flow_key *key,
			  const struct wire_packet *p)
{
	const struct policy_rule *r = policy_match(e->rules, e->nrules, key);
	if (!policy_refuses(r))
		return true;
	CTR_INC(e, flows_refused_policy);
	flowinfo_refused(e, key, TP_END_POLICY);
	char why[128];
	policy_rule_str(r, why, sizeof(why));
	core_log_refusal(e, CORE_REFUSE_POLICY, key, "%s", why);
	core_refuse_packet(e, p);
	return false;
}

/* -vvv (TP_LOG_TRACE): one line per packet from the app with what the
 * dispatcher decided. The level is tested first, so below trace a packet
 * costs one comparison. */
static bool tracing(const struct core_engine *e)
{
	return e->cfg.log && e->cfg.log_level >= TP_LOG_TRACE;
}

static void trace_packet(struct core_engine *e, const struct flow_key *k,
			 const struct wire_packet *p, const char *what)
{
	char fs[128];
	core_flow_str(k, fs, sizeof(fs));
	if (p->proto == WIRE_PROTO_TCP) {
		uint8_t fl = p->u.tcp.flags;
		core_log(e, TP_LOG_TRACE, "packet %s [%s%s%s%s] %u bytes: %s",
			 fs, fl & WIRE_TCP_SYN ? "S" : "",
			 fl & WIRE_TCP_FIN ? "F" : "",
			 fl & WIRE_TCP_RST ? "R" : "",
			 fl & WIRE_TCP_ACK ? "." : "", p->payload_len, what);
	} else {
		core_log(e, TP_LOG_TRACE, "packet %s %u bytes: %s", fs,
			 p->payload_len, what);
	}
}

/* Ends the pending run of app data (tcp_rbuf.c, "Runs"), if any. It is
 * written after the packet that ended it was handled, so it is bracketed
 * here as an entry point's work is: its ACK, bytes and end are charged to
 * its flow (flowinfo.c). */
static void pend_flush(struct core_engine *e)
{
	if (!e->pend.t)
		return;
	union flow *f = tcp_flow(e->pend.t);
	struct flowinfo_mark mark;
	flowinfo_before(e, f, &mark);
	tcp_pend_flush(e);
	flowinfo_after(e, f, &mark, FLOWINFO_APP);
}

static void dispatch(struct core_engine *e, const struct wire_packet *p)
{
	struct flow_key key;
	if (!key_from_packet(p, &key)) {
		/* ICMP other than echo requests (errors about flows we
		 * originated, neighbour discovery, ...) is not forwarded. */
		DROP_INC(e, WIRE_DROP_PROTO);
		CTR_INC(e, rx_dropped_unsupported);
		if (tracing(e))
			core_log(e, TP_LOG_TRACE,
				 "packet %s type %u: not forwarded "
				 "(rx_dropped_unsupported)",
				 core_proto_name(p->proto), p->u.icmp.type);
		return;
	}
	union flow *f = flow_lookup(e->flows, &key);
	if (f && f->c.closing)
		f = NULL; /* a new packet for a dying flow: treat as new */
	/* A run of app data waits only while its own segments follow. */
	if (e->pend.t &&
	    (p->proto != WIRE_PROTO_TCP || !f || !tcp_pend_extends(e, f, p)))
		pend_flush(e);
	bool opens = !f && opens_flow(p);
	if (opens && !policy_admits(e, &key, p)) {
		if (tracing(e))
			trace_packet(
			    e, &key, p,
			    "refused by policy (flows_refused_policy)");
		return;
	}
	if (tracing(e))
		trace_packet(e, &key, p,
			     f	     ? "to its flow"
			     : opens ? "opens a flow"
				     : "no flow (answered or dropped by the "
				       "protocol)");
	/* Flow introspection (flowinfo.c): what this packet does to f. */
	struct flowinfo_mark mark;
	flowinfo_before(e, f, &mark);
	if (f)
		flowinfo_app_packet(e, f, p);
	if (f)
		ops_of(f)->input(e, f, p);
	else
		flow_ops[flow_type_of(p->proto)]->input_new(e, &key, p);
	if (!f) {
		f = flow_lookup(e->flows, &key); /* the flow it created */
		if (f)
			flowinfo_app_packet(e, f, p);
	}
	bool rst =
	    p->proto == WIRE_PROTO_TCP && (p->u.tcp.flags & WIRE_TCP_RST);
	flowinfo_after(e, f, &mark, rst ? FLOWINFO_APP_RST : FLOWINFO_APP);
}

static void input_one(struct core_engine *e, const uint8_t *pkt, size_t len,
		      uint32_t flags, uint64_t now_us);

void core_input(struct core_engine *e, const uint8_t *pkt, size_t len,
		uint32_t flags, uint64_t now_us)
{
	e->in_more = (flags & CORE_IN_MORE) != 0;
	input_one(e, pkt, len, flags, now_us);
	/* The end of a batch ends every run: the packets it points into are
	 * the caller's only until then. */
	if (!e->in_more)
		pend_flush(e);
	finish(e);
}

static void input_one(struct core_engine *e, const uint8_t *pkt, size_t len,
		      uint32_t flags, uint64_t now_us)
{
	e->now = now_us;
	CTR_INC(e, rx_packets);
	CTR_ADD(e, rx_bytes, len);
	struct wire_packet p;
	enum wire_drop why = flags & CORE_IN_CSUM_OK
				 ? wire_packet_parse_csum_ok(pkt, len, &p)
				 : wire_packet_parse(pkt, len, &p);
	if (why != WIRE_OK) {
		count_drop(e, why, pkt, len);
		return;
	}
	if (p.is_fragment) {
		const uint8_t *whole;
		size_t whole_len;
		enum reasm_result r =
		    reasm_add(e->reasm, &p, now_us, &whole, &whole_len);
		sync_reasm_counters(e);
		if (r != REASM_DONE)
			return;
		why = wire_packet_parse(whole, whole_len, &p);
		if (why != WIRE_OK || p.is_fragment) {
			count_drop(e, why != WIRE_OK ? why : WIRE_DROP_FRAG_BAD,
				   whole, whole_len);
			return;
		}
		/* The reassembled datagram lives in reasm's buffer only
		 * until its next fragment: never part of a run. */
		pend_flush(e);
		e->in_more = false;
	}
	dispatch(e, &p);
}

void core_sock_event(struct core_engine *e, uint32_t handle, uint32_t events,
		     uint64_t now_us)
{
	e->now = now_us;
	pend_flush(e); /* a driver that ended its batch without saying so */
	union flow *f = flow_from_handle(e->flows, handle);
	if (!f)
		return;
	struct flowinfo_mark mark;
	flowinfo_before(e, f, &mark);
	ops_of(f)->sock_event(e, f, events);
	flowinfo_after(e, f, &mark, FLOWINFO_HOST);
	finish(e);
}

void core_timers(struct core_engine *e, uint64_t now_us)
{
	e->now = now_us;
	pend_flush(e);
	union flow *f;
	while ((f = flow_timer_pop(e->flows, now_us)) != NULL) {
		if (f->c.closing)
			continue;
		struct flowinfo_mark mark;
		flowinfo_before(e, f, &mark);
		ops_of(f)->timer(e, f);
		flowinfo_after(e, f, &mark, FLOWINFO_TIMER);
	}
	if (reasm_next_deadline(e->reasm) <= now_us) {
		reasm_expire(e->reasm, now_us);
		sync_reasm_counters(e);
	}
	finish(e);
}

uint64_t core_next_deadline(const struct core_engine *e)
{
	uint64_t a = flow_timer_next(e->flows);
	uint64_t b = reasm_next_deadline(e->reasm);
	return a < b ? a : b;
}

static void abort_one(struct core_engine *e, union flow *f)
{
	if (f->c.closing)
		return;
	flow_close(e, f, true);
	CTR_INC(e, dev_session_flows_closed);
}

size_t core_abort_all(struct core_engine *e, uint64_t now_us)
{
	e->now = now_us;
	flow_for_each(e->flows, abort_one, e);
	/* Released, not sent: tx_packets counts them like any packet the
	 * driver dropped. */
	size_t stale = tx_ready(e->tx);
	core_tx_done(e, stale);
	finish(e);
	return stale;
}

const uint64_t *core_counters(const struct core_engine *e)
{
	return e->ctr;
}

const uint64_t *core_drop_reasons(const struct core_engine *e)
{
	return e->drops;
}

uint32_t core_flow_count(const struct core_engine *e)
{
	return flow_table_count(e->flows);
}

struct core_mem *core_budget(struct core_engine *e)
{
	return &e->mem;
}

void core_set_log_level(struct core_engine *e, uint32_t level)
{
	e->cfg.log_level = level;
}
