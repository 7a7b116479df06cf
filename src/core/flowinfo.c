/* SPDX-License-Identifier: MIT */
/* flowinfo.c - per-flow figures for tp_flows and the connection log.
 *
 * The protocol modules are not asked to count anything: the engine's
 * entry points bracket the work they do for one flow (flowinfo_before /
 * flowinfo_after, engine.c) and charge to that flow what changed
 * meanwhile:
 *   - packets to the app: the entries added to the transmit ring (the
 *     driver drains it only between entry points), with their bytes;
 *   - TCP stream bytes: how far host_nxt (app bytes the host socket took)
 *     and snd_una (host bytes the app acknowledged) moved, in 64 bits;
 *   - TCP retransmissions, fast retransmissions and timeouts: how far the
 *     engine's counters moved.
 * Packets from the app are counted as they arrive (flowinfo_app_packet),
 * which is also where the first TCP payload is read for a name (TLS SNI,
 * HTTP Host: wire/names.c), and where DNS answers to the app are read
 * (a UDP flow to port 53) to fill the names cache (names.c).
 *
 * How a flow ended is told from the cause of the entry point that closed
 * it and its TCP state before and after (infer_end): a RST from the app,
 * a host socket event while connecting (refused) or later (reset), a
 * timer in TIME-WAIT (an orderly close) or elsewhere (a timeout).
 *
 * The figures live in struct flow_acct beside each slot (flow.c), never
 * in union flow, so the hot protocol state stays small (tcp_conn.h).
 */
#include "core/flowinfo.h"

#include <string.h>

#include "core/core.h"
#include "core/names.h"
#include "core/tcp_int.h"
#include "wire/hdr.h"
#include "wire/ip6ext.h"
#include "wire/names.h"

#define REFUSED_PER_SEC 100

static const char *const tcp_state_names[] = {
    "CLOSED",	  "SYN-PENDING", "SYN-RCVD",  "ESTABLISHED", "FIN-WAIT-1",
    "FIN-WAIT-2", "CLOSING",	 "TIME-WAIT", "CLOSE-WAIT",  "LAST-ACK",
};

const char *tp_tcp_state_name(unsigned state)
{
	/* tp_flow_info.state is the tcp_state + 1, so 0 means "not TCP". */
	if (state == 0)
		return "";
	state--;
	return state < sizeof(tcp_state_names) / sizeof(*tcp_state_names)
		   ? tcp_state_names[state]
		   : "?";
}

static const char *const end_names[] = {
    [TP_END_NONE] = "open",	    [TP_END_FIN] = "fin",
    [TP_END_RST_APP] = "rst-app",   [TP_END_RST_HOST] = "rst-host",
    [TP_END_REFUSED] = "refused",   [TP_END_TIMEOUT] = "timeout",
    [TP_END_POLICY] = "policy",	    [TP_END_LIMIT] = "limit",
    [TP_END_SHUTDOWN] = "shutdown", [TP_END_ERROR] = "error",
};

const char *tp_flow_end_name(unsigned end)
{
	return end < sizeof(end_names) / sizeof(*end_names) ? end_names[end]
							    : "?";
}

static struct flow_acct *acct(struct core_engine *e, const union flow *f)
{
	return flow_acct_of(e->flows, f);
}

void core_set_flow_end(struct core_engine *e,
		       void (*fn)(void *, const struct tp_flow_info *),
		       void *ctx)
{
	e->flow_end = fn;
	e->flow_end_ctx = ctx;
}

void flowinfo_init(struct core_engine *e, union flow *f, struct flow_acct *a)
{
	a->created = e->now;
	a->name = names_lookup(e, f->c.key.family, &f->c.key.dst);
	a->name_src = a->name ? TP_NAME_DNS : TP_NAME_NONE;
}

void flowinfo_before(struct core_engine *e, const union flow *f,
		     struct flowinfo_mark *m)
{
	m->tx_ready = tx_ready(e->tx);
	m->rtx = e->ctr[TP_CTR_tcp_retransmits];
	m->fast = e->ctr[TP_CTR_tcp_fast_retransmits];
	m->rto = e->ctr[TP_CTR_tcp_rto_expired];
	m->prev_state = f && f->c.type == FLOW_TCP ? f->tcp.state : 0;
}

/* TCP stream bytes both ways since the last call (see the top). */
static void tcp_bytes(struct tcp_conn *t, struct flow_acct *a)
{
	if (!a->up_init || t->state == TCP_SYN_PENDING) {
		/* Until the handshake, the app may start over with a new
		 * ISN: follow it. */
		a->up_init = 1;
		a->up_mark = t->host_nxt;
		a->irs = t->host_nxt - 1;
	} else if (SEQ_GT(t->host_nxt, a->up_mark)) {
		a->bytes_up += t->host_nxt - a->up_mark;
		a->up_mark = t->host_nxt;
	}
	if (t->state == TCP_SYN_PENDING || t->state == TCP_CLOSED)
		return;
	if (!a->down_init) {
		a->down_init = 1;
		a->down_mark = t->iss + 1;
	}
	uint32_t una = t->snd_una;
	if (t->fin_sent && una == t->snd_nxt)
		una--; /* the FIN takes a sequence number, not a byte */
	if (SEQ_GT(una, a->down_mark)) {
		a->bytes_down += una - a->down_mark;
		a->down_mark = una;
	}
}

/* The payload of an IP packet the engine built (IPv4 without options or
 * IPv6 without extension headers, then UDP or ICMP's 8 bytes), or NULL
 * for a fragment. */
static const uint8_t *dgram_payload(const uint8_t *pkt, size_t len,
				    size_t *plen)
{
	size_t h;
	if (len < 1)
		return NULL;
	if (wire_ip_version(pkt) == 4) {
		h = wire_ip4_hdr_len(pkt);
		if (len < WIRE_IP4_HDR_LEN || wire_ip4_is_fragment(pkt))
			return NULL;
	} else {
		h = WIRE_IP6_HDR_LEN;
		if (len < WIRE_IP6_HDR_LEN ||
		    wire_ip6_next_header(pkt) == WIRE_IP6_NH_FRAGMENT)
			return NULL;
	}
	/* UDP's header and ICMP's are both 8 bytes. */
	if (len < h + WIRE_UDP_HDR_LEN)
		return NULL;
	*plen = len - h - WIRE_UDP_HDR_LEN;
	return pkt + h + WIRE_UDP_HDR_LEN;
}

static uint8_t infer_end(const union flow *f, enum flowinfo_cause cause,
			 uint8_t prev)
{
	if (f->c.type != FLOW_TCP)
		return cause == FLOWINFO_TIMER ? TP_END_TIMEOUT : TP_END_ERROR;
	const struct tcp_conn *t = &f->tcp;
	bool both_fins = t->app_fin && t->fin_sent;
	switch (cause) {
	case FLOWINFO_APP_RST:
		return TP_END_RST_APP;
	case FLOWINFO_TIMER:
		return prev == TCP_TIME_WAIT ? TP_END_FIN : TP_END_TIMEOUT;
	case FLOWINFO_HOST:
		if (prev == TCP_SYN_PENDING)
			return TP_END_REFUSED;
		return both_fins ? TP_END_FIN : TP_END_RST_HOST;
	default:
		if (prev == TCP_TIME_WAIT || both_fins)
			return TP_END_FIN;
		return TP_END_RST_HOST;
	}
}

void flowinfo_after(struct core_engine *e, union flow *f,
		    const struct flowinfo_mark *m, enum flowinfo_cause cause)
{
	if (!f || f->c.type == FLOW_FREE)
		return;
	struct flow_acct *a = acct(e, f);
	uint32_t now_ready = tx_ready(e->tx);
	bool dns = f->c.type == FLOW_UDP && f->c.key.dport == 53;
	if (now_ready > m->tx_ready)
		a->pkts_down += now_ready - m->tx_ready;
	/* TCP bytes come from its sequence numbers (tcp_bytes): only
	 * datagram flows look at the packets. */
	for (uint32_t k = m->tx_ready; f->c.type != FLOW_TCP && k < now_ready;
	     k++) {
		uint8_t *pkt, fam;
		size_t len, plen;
		tx_ready_get(e->tx, k, &pkt, &len, &fam);
		const uint8_t *pl = dgram_payload(pkt, len, &plen);
		if (!pl)
			continue;
		a->bytes_down += plen;
		if (dns)
			names_learn_dns(e, pl, plen);
	}
	if (f->c.type == FLOW_TCP) {
		tcp_bytes(&f->tcp, a);
		a->rtx += (uint32_t)(e->ctr[TP_CTR_tcp_retransmits] - m->rtx);
		a->fast +=
		    (uint32_t)(e->ctr[TP_CTR_tcp_fast_retransmits] - m->fast);
		a->rto += (uint32_t)(e->ctr[TP_CTR_tcp_rto_expired] - m->rto);
	}
	if (f->c.closing && !a->end)
		a->end = infer_end(f, cause, m->prev_state);
}

/* The first app bytes of a TCP flow: a TLS ClientHello or an HTTP
 * request names the host better than DNS can (one address, many names). */
static void sniff(struct core_engine *e, union flow *f, struct flow_acct *a,
		  const struct wire_packet *p)
{
	char name[WIRE_NAME_MAX + 1];
	size_t n = 0;
	uint8_t src = TP_NAME_NONE;
	a->sniffed = 1;
	if (p->payload[0] == 22) {
		n = wire_tls_sni(p->payload, p->payload_len, name);
		src = TP_NAME_SNI;
	} else {
		n = wire_http_host(p->payload, p->payload_len, name);
		src = TP_NAME_HTTP;
	}
	if (!n)
		return;
	struct names_str *s = names_make(e, name, n);
	if (!s)
		return;
	names_put(e, a->name);
	a->name = s;
	a->name_src = src;
	(void)f;
}

void flowinfo_app_packet(struct core_engine *e, union flow *f,
			 const struct wire_packet *p)
{
	struct flow_acct *a = acct(e, f);
	a->pkts_up++;
	if (f->c.type != FLOW_TCP) {
		a->bytes_up += p->payload_len;
		return;
	}
	if (!a->sniffed && a->up_init && p->payload_len &&
	    f->tcp.state != TCP_SYN_PENDING) {
		if (p->u.tcp.seq == a->irs + 1)
			sniff(e, f, a, p);
		else if (SEQ_GT(p->u.tcp.seq, a->irs + 1))
			a->sniffed = 1; /* the start was lost: too late */
	}
}

void flowinfo_set_end(struct core_engine *e, union flow *f, uint8_t end)
{
	struct flow_acct *a = acct(e, f);
	if (!a->end)
		a->end = end;
}

static void fill_key(const struct flow_key *k, struct tp_flow_info *o)
{
	o->family = k->family;
	o->proto = k->proto;
	if (k->family == 4) {
		memcpy(o->app_addr, wire_addr_v4(&k->src), 4);
		memcpy(o->dst_addr, wire_addr_v4(&k->dst), 4);
	} else {
		memcpy(o->app_addr, k->src.b, 16);
		memcpy(o->dst_addr, k->dst.b, 16);
	}
	o->app_port = k->sport;
	o->dst_port = k->dport;
}

static uint8_t app_limit(const struct tcp_conn *t, uint32_t flight)
{
	if (t->rcv_zero)
		return TP_LIMIT_MEMORY;
	if (!flight && t->host_dry)
		return TP_LIMIT_APP;
	if (flight + t->mss > t->snd_wnd)
		return TP_LIMIT_WINDOW;
	if (flight + t->mss > t->cwnd)
		return TP_LIMIT_CWND;
	return flight ? TP_LIMIT_NONE : TP_LIMIT_APP;
}

static void fill_tcp(struct core_engine *e, union flow *f,
		     const struct flow_acct *a, struct tp_flow_info *o)
{
	const struct tcp_conn *t = &f->tcp;
	o->state = (uint8_t)(t->state + 1);
	struct tp_tcp_side *s = &o->app_side;
	bool synced = t->state != TCP_SYN_PENDING;
	uint32_t flight = synced ? t->snd_nxt - t->snd_una : 0;
	s->valid = 1;
	s->srtt_us = t->srtt;
	s->rttvar_us = t->rttvar;
	s->min_rtt_us = t->min_rtt;
	s->mss = t->mss;
	s->cwnd = t->cwnd;
	s->ssthresh = t->ssthresh;
	s->in_flight = flight;
	s->peer_window = t->snd_wnd;
	s->retransmits = a->rtx;
	s->recovered = a->fast;
	s->timeouts = a->rto;
	s->limited = synced ? app_limit(t, flight) : TP_LIMIT_NONE;
	if (f->c.sock >= 0 && !t->sock_closed && e->ops->tcp_info &&
	    e->ops->tcp_info(e->ops_ctx, f->c.sock, &o->host_side) == 0)
		o->host_side.valid = 1;
}

static void fill_common(struct core_engine *e, union flow *f,
			const struct flow_acct *a, struct tp_flow_info *o)
{
	memset(o, 0, sizeof(*o));
	o->id = flow_handle(e->flows, f);
	fill_key(&f->c.key, o);
	o->end = a->end;
	o->age_ms = (e->now - a->created) / 1000;
	o->idle_ms =
	    e->now > f->c.last_active ? (e->now - f->c.last_active) / 1000 : 0;
	o->bytes_from_app = a->bytes_up;
	o->bytes_to_app = a->bytes_down;
	o->packets_from_app = a->pkts_up;
	o->packets_to_app = a->pkts_down;
	if (a->name) {
		memcpy(o->name, a->name->s, a->name->len + 1u);
		o->name_source = a->name_src;
	}
}

void flowinfo_fill(struct core_engine *e, union flow *f, struct tp_flow_info *o)
{
	const struct flow_acct *a = acct(e, f);
	fill_common(e, f, a, o);
	if (f->c.type == FLOW_TCP)
		fill_tcp(e, f, a, o);
}

void flowinfo_release(struct core_engine *e, union flow *f)
{
	struct flow_acct *a = acct(e, f);
	if (f->c.type == FLOW_TCP)
		tcp_bytes(&f->tcp, a);
	if (e->flow_end) {
		struct tp_flow_info info;
		if (!a->end) /* freed before an entry point could tell (an
				eviction's sweep inside another's work) */
			a->end = f->c.type == FLOW_TCP &&
					 (f->tcp.state == TCP_TIME_WAIT ||
					  (f->tcp.app_fin && f->tcp.fin_sent))
				     ? TP_END_FIN
				     : TP_END_ERROR;
		/* Before the host socket closes: fill_tcp reads its side. */
		flowinfo_fill(e, f, &info);
		e->flow_end(e->flow_end_ctx, &info);
	}
	names_put(e, a->name);
	a->name = NULL;
}

void flowinfo_refused(struct core_engine *e, const struct flow_key *key,
		      uint8_t end)
{
	if (!e->flow_end)
		return;
	/* A flood of refused flows must not become a flood of log lines:
	 * at most REFUSED_PER_SEC a second, the rest counted in
	 * log_suppressed. Flows that were open are always reported. */
	if (!core_per_second(e->now, &e->refused_report_at, &e->refused_reports,
			     REFUSED_PER_SEC)) {
		CTR_INC(e, log_suppressed);
		return;
	}
	struct tp_flow_info info;
	memset(&info, 0, sizeof(info));
	fill_key(key, &info);
	info.end = end;
	info.packets_from_app = 1;
	struct names_str *n = names_lookup(e, key->family, &key->dst);
	if (n) {
		memcpy(info.name, n->s, n->len + 1u);
		info.name_source = TP_NAME_DNS;
		names_put(e, n);
	}
	e->flow_end(e->flow_end_ctx, &info);
}

size_t core_flows(struct core_engine *e, uint64_t now_us, void *out, size_t cap,
		  size_t stride)
{
	/* The time of the request: age and idle are measured from it. The
	 * engine's own clock (e->now) is restored, it is the protocol's. */
	uint64_t saved = e->now;
	e->now = now_us;
	size_t n = 0, copy = stride < sizeof(struct tp_flow_info)
				 ? stride
				 : sizeof(struct tp_flow_info);
	uint32_t high = flow_table_high(e->flows);
	for (uint32_t i = 0; i < high; i++) {
		union flow *f = flow_at(e->flows, i);
		if (f->c.type == FLOW_FREE || f->c.closing)
			continue;
		if (n < cap) {
			struct tp_flow_info info;
			flowinfo_fill(e, f, &info);
			memcpy((uint8_t *)out + n * stride, &info, copy);
		}
		n++;
	}
	e->now = saved;
	return n;
}
