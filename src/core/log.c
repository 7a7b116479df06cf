/* SPDX-License-Identifier: MIT */
/* log.c - the core's logging service: lines through the embedder's
 * callback (tp_config.log) at a level, rate-limited lines about hostile
 * input and refusals (each suppressed line counted in log_suppressed), and
 * the formats they share (a flow's tuple, errno advice).
 *
 * Split out of engine.c (issue 14): the protocol modules call these, and
 * now no longer call up into the dispatcher to log.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "core/core.h"
#include "core/engine.h"
#include "wire/addr.h"

__attribute__((format(printf, 3, 0))) static void vlog(struct core_engine *e,
						       enum tp_log_level level,
						       const char *fmt,
						       va_list ap)
{
	char line[256];
	vsnprintf(line, sizeof(line), fmt, ap);
	e->cfg.log(e->cfg.log_ctx, level, line);
}

void core_log(struct core_engine *e, enum tp_log_level level, const char *fmt,
	      ...)
{
	if (!e->cfg.log || (uint32_t)level > e->cfg.log_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(e, level, fmt, ap);
	va_end(ap);
}

#define HOSTILE_LINES_PER_SEC 5

void core_log_hostile(struct core_engine *e, const char *fmt, ...)
{
	if (!e->cfg.log || e->cfg.log_level < TP_LOG_INFO)
		return;
	if (!core_per_second(e->now, &e->log_window, &e->log_in_window,
			     HOSTILE_LINES_PER_SEC)) {
		CTR_INC(e, log_suppressed);
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vlog(e, TP_LOG_INFO, fmt, ap);
	va_end(ap);
}

static const char *const refusal_names[CORE_REFUSE__COUNT] = {
    [CORE_REFUSE_POLICY] = "refused by policy",
    [CORE_REFUSE_SOCKET] = "refused, no host socket",
    [CORE_REFUSE_MEMORY] = "refused, memory budget",
    [CORE_REFUSE_LIMIT] = "refused, flow limit",
    [CORE_REFUSE_WINDOW] = "window closed, memory budget",
};

void core_log_refusal(struct core_engine *e, enum core_refusal kind,
		      const struct flow_key *k, const char *fmt, ...)
{
	if (!e->cfg.log || e->cfg.log_level < TP_LOG_WARN)
		return;
	if (e->now < e->refusal_log_at[kind]) {
		e->refusal_skipped[kind]++;
		CTR_INC(e, log_suppressed);
		return;
	}
	char t[128], msg[160], more[64] = "";
	core_flow_str(k, t, sizeof(t));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e->refusal_skipped[kind])
		snprintf(more, sizeof(more), " [%u more like this not logged]",
			 e->refusal_skipped[kind]);
	core_log(e, TP_LOG_WARN, "%s: %s: %s%s", refusal_names[kind], t, msg,
		 more);
	e->refusal_skipped[kind] = 0;
	e->refusal_log_at[kind] = e->now + 1000000;
}

const char *core_errno_advice(int err)
{
	switch (err) {
	case EMFILE:
		return "too many open files (EMFILE): raise the open-file "
		       "limit (ulimit -n, RLIMIT_NOFILE)";
	case ENFILE:
		return "the system's file table is full (ENFILE): raise "
		       "fs.file-max";
	case ENOBUFS:
	case ENOMEM:
		return "the kernel is out of memory for sockets "
		       "(ENOBUFS/ENOMEM)";
	case EADDRNOTAVAIL:
		return "no free local port (EADDRNOTAVAIL): widen "
		       "net.ipv4.ip_local_port_range";
	case ENOSPC:
		return "the poller's watch limit is reached (ENOSPC): raise "
		       "fs.epoll.max_user_watches";
	}
	return NULL;
}

const char *core_proto_name(uint8_t proto)
{
	switch (proto) {
	case WIRE_PROTO_TCP:
		return "tcp";
	case WIRE_PROTO_UDP:
		return "udp";
	case WIRE_PROTO_ICMP:
		return "icmp";
	case WIRE_PROTO_ICMP6:
		return "icmp6";
	}
	return "ip";
}

void core_flow_str(const struct flow_key *k, char *out, size_t cap)
{
	char s[WIRE_ADDR_STRLEN], d[WIRE_ADDR_STRLEN];
	wire_addr_str(k->family, &k->src, s);
	wire_addr_str(k->family, &k->dst, d);
	const char *l = k->family == 6 ? "[" : "",
		   *r = k->family == 6 ? "]" : "";
	snprintf(out, cap, "%s %s%s%s:%u -> %s%s%s:%u",
		 core_proto_name(k->proto), l, s, r, k->sport, l, d, r,
		 k->dport);
}

void core_log_flow(struct core_engine *e, enum tp_log_level level,
		   const struct flow_key *k, const char *fmt, ...)
{
	if (!e->cfg.log || (uint32_t)level > e->cfg.log_level)
		return;
	char t[128], msg[160];
	core_flow_str(k, t, sizeof(t));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	core_log(e, level, "%s: %s", t, msg);
}
