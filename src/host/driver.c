/* SPDX-License-Identifier: MIT */
/* driver.c - the event loop around the core (see driver.h).
 *
 * One pass of the loop:
 *   1. wait for readiness, at most until the core's next deadline;
 *   2. TUN readable: read packets in batches into the tunconn's arena and
 *      feed each to core_input (no copy: the core parses in place);
 *   3. host socket events: core_sock_event under the socket's flow handle;
 *   4. deferred events (errors known at connect time, raw-ICMP replies);
 *   5. timers that are due;
 *   6. after every step, flush: the transmit ring goes to the TUN, then
 *      flows that waited for ring space are resumed, until nothing is left
 *      or the pass's write budget is spent.
 * Drain before you write: one pass writes at most TUN_TX_BURST bytes to
 * the TUN. What is left stays in the transmit ring (its producers wait:
 * TCP to be resumed, UDP with its socket unwatched, so the kernel's socket
 * buffer holds the rest), and the next pass polls without waiting and
 * reads the TUN first. So a download can never starve the app's uploads
 * and ACKs, and the app's receive buffer sees bursts of a bounded size,
 * paced by our own loop, instead of a whole ring at once.
 * Stopping is a wake-up write (os.h) plus a flag, so it is safe from any
 * thread and from a signal handler.
 */
#include "host/driver.h"

#include "core/policy.h"
#include "host/egress.h"
#include "os/os.h"
#include "os/os_clock.h"
#include "os/os_log.h"
#include "host/tcprx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define TUN_BATCHES_PER_WAKE 8
#define EVENTS_PER_WAIT	     256
/* Bytes written to the TUN per pass: 192 KB, below the default 212 KB
 * socket receive buffer of the app's kernel; 130 MTU-sized packets or
 * three 64 KB super-packets of data. Counted in bytes, not packets, so
 * the ACKs of an upload (a few dozen bytes each, one per super-packet
 * read) are never held back for the next pass. */
#define TUN_TX_BURST (192u << 10)

/* The open-file limit the engine budgets its flows by (admit.h): the
 * soft RLIMIT_NOFILE, 0 when unlimited or unknown. Read once, here: an
 * embedding app raises it before tp_create (docs/embedding.md). */
static uint64_t fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	return (uint64_t)rl.rlim_cur;
}

void driver_log(struct driver *d, enum tp_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	os_vlog(d->log, d->log_ctx, d->log_level, level, fmt, ap);
	va_end(ap);
}

struct driver *driver_create(const struct tp_config *cfg, struct tunconn *tun,
			     int *err)
{
	*err = -TP_ENOMEM;
	struct driver *d = calloc(1, sizeof(*d));
	if (!d) {
		tun->ops->close(tun);
		return NULL;
	}
	d->tun = tun;
	d->wake.rfd = d->wake.wfd = -1;
	if (flowreq_init(&d->flowreq) < 0) {
		tun->ops->close(tun);
		free(d);
		return NULL;
	}
	d->tx_budget = TUN_TX_BURST;
	d->raw_fd[0] = d->raw_fd[1] = -1;
	d->log = cfg->log;
	d->log_ctx = cfg->log_ctx;
	d->log_level = cfg->log_level;
	d->tcp_rcvbuf = cfg->tcp_host_rcvbuf ? cfg->tcp_host_rcvbuf
					     : DRV_TCP_RCVBUF_DEFAULT;

	int orc = hostsock_options_init(d, cfg);
	if (orc < 0) {
		*err = orc;
		goto fail;
	}
	struct core_config cc;
	core_config_from_public(&cc, cfg);
	cc.hash_seed = os_random64();
	cc.fd_limit = fd_limit();
	/* Every flow has at most one host socket; a few spare ids cover
	 * sockets closed and reopened within one pass. */
	d->nsocks = cc.max_flows + 64;
	d->socks = calloc(d->nsocks, sizeof(*d->socks));
	d->free_stack = calloc(d->nsocks, sizeof(*d->free_stack));
	d->poller = poller_create();
	if (!d->socks || !d->free_stack || !d->poller ||
	    os_wake_open(&d->wake) < 0)
		goto fail;
	int egerr = egress_init(d, cfg);
	if (egerr < 0) {
		*err = egerr;
		goto fail;
	}
	/* The destination policy lists: a typo must stop the start, with
	 * the entry named, rather than open or close more than meant. */
	char perr[200];
	if (policy_parse(cfg->allow, POLICY_ALLOW, NULL, 0, perr,
			 sizeof(perr)) < 0 ||
	    policy_parse(cfg->deny, POLICY_DENY, NULL, 0, perr, sizeof(perr)) <
		0) {
		driver_log(d, TP_LOG_ERROR, "destination policy: %s", perr);
		*err = -TP_EINVAL;
		goto fail;
	}
	if (policy_parse(cfg->tun_prefixes, POLICY_DENY, NULL, 0, perr,
			 sizeof(perr)) < 0) {
		driver_log(d, TP_LOG_ERROR, "tun_prefixes: %s", perr);
		*err = -TP_EINVAL;
		goto fail;
	}
	if (cfg->tun_prefixes && *cfg->tun_prefixes)
		driver_log(d, TP_LOG_INFO,
			   "refusing flows to the TUN's own prefixes: %s",
			   cfg->tun_prefixes);
	char *self = tun->ops->policy_self ? tun->ops->policy_self(tun) : NULL;
	if (self && policy_parse(self, POLICY_DENY, NULL, 0, NULL, 0) < 0) {
		driver_log(d, TP_LOG_WARN,
			   "cannot refuse flows to our own socket: '%s'", self);
		free(self);
		self = NULL;
	}
	if (self)
		driver_log(d, TP_LOG_DEBUG,
			   "refusing flows to our own socket: %s", self);
	cc.policy_self = self;
	d->ops = driver_host_ops;
	d->ops.tcp_info = hostsock_tcp_info;
	if (cfg->dns_redirect) {
		d->dnsr = calloc(1, sizeof(*d->dnsr));
		if (!d->dnsr) {
			free(self);
			goto fail;
		}
		if (dns_redirect_parse(d->dnsr, cfg->dns_redirect,
				       cfg->dns_upstream, perr,
				       sizeof(perr)) < 0) {
			driver_log(d, TP_LOG_ERROR, "%s", perr);
			free(self);
			*err = -TP_EINVAL;
			goto fail;
		}
		dns_redirect_wrap_ops(&d->ops);
	}
	egress_wrap_ops(d, &d->ops);
	d->tap = cfg->tap;
	d->tap_ctx = cfg->tap_ctx;
	d->core = core_create(&cc, &d->ops, d);
	free(self);
	if (!d->core) {
		driver_log(d, TP_LOG_ERROR,
			   "engine tables do not fit max_memory (%llu bytes)",
			   (unsigned long long)cc.max_memory);
		goto fail;
	}
	core_set_flow_end(d->core, cfg->flow_end, cfg->flow_end_ctx);
	int rxerr = tcprx_driver_init(d, cfg->tcp_rx);
	if (rxerr < 0) {
		*err = rxerr;
		goto fail;
	}
	int tfd = tun->ops->fd(tun);
	if (poller_add(d->poller, d->wake.rfd, DRV_TAG(TAG_WAKE, 0),
		       POLLER_IN) < 0 ||
	    (tfd >= 0 &&
	     poller_add(d->poller, tfd, DRV_TAG(TAG_TUN, 0), POLLER_IN) < 0)) {
		*err = -TP_ESYS;
		goto fail;
	}
	*err = 0;
	return d;
fail:
	driver_destroy(d);
	return NULL;
}

void driver_destroy(struct driver *d)
{
	if (!d)
		return;
	core_destroy(d->core); /* closes every flow's socket through ops */
	egress_free(d);
	tcprx_driver_free(d);
	udpbatch_free(d);
	for (int i = 0; i < 2; i++) {
		if (d->raw_fd[i] >= 0)
			close(d->raw_fd[i]);
		free(d->raw_by_id[i]);
	}
	os_wake_close(&d->wake);
	poller_destroy(d->poller);
	if (d->tun)
		d->tun->ops->close(d->tun);
	free(d->socks);
	free(d->free_stack);
	free(d->dnsr);
	flowreq_destroy(&d->flowreq);
	free(d);
}

void driver_stop(struct driver *d)
{
	__atomic_store_n(&d->stop_requested, 1, __ATOMIC_RELEASE);
	os_wake_signal(&d->wake);
}

void driver_set_log_level(struct driver *d, uint32_t level)
{
	__atomic_store_n(&d->log_level_req, level + 1, __ATOMIC_RELEASE);
	os_wake_signal(&d->wake);
}

/* Applies a level asked for by driver_set_log_level (loop thread). */
static void apply_log_level(struct driver *d)
{
	uint32_t req =
	    __atomic_exchange_n(&d->log_level_req, 0, __ATOMIC_ACQUIRE);
	if (!req)
		return;
	d->log_level = req - 1;
	core_set_log_level(d->core, req - 1);
}

/* Writes the transmit ring to the TUN and resumes flows that waited for
 * room, until both are quiet or this pass's budget (TUN_TX_BURST) is
 * spent; then d->tx_backlog says packets are left for the next pass. */
static int flush(struct driver *d, uint64_t now)
{
	struct core_tx_pkt pkts[64];
	for (int round = 0; round < 64; round++) {
		size_t n;
		while (d->tx_budget > 0 &&
		       (n = core_tx_peek(d->core, pkts, 64)) > 0) {
			/* As many as the budget takes (at least one). */
			size_t fit = 0, bytes = 0;
			while (fit < n && (fit == 0 || bytes + pkts[fit].len <=
							   d->tx_budget))
				bytes += pkts[fit++].len;
			n = fit;
			uint64_t dropped = 0;
			for (size_t i = 0; d->tap && i < n; i++)
				d->tap(d->tap_ctx, pkts[i].data, pkts[i].len,
				       TP_TAP_TO_APP);
			int w = d->tun->ops->write_batch(d->tun, pkts, (int)n,
							 &dropped);
			if (dropped)
				__atomic_store_n(&d->tun_tx_dropped,
						 d->tun_tx_dropped + dropped,
						 __ATOMIC_RELAXED);
			if (w < 0) {
				driver_log(d, TP_LOG_ERROR,
					   "TUN write failed: %s",
					   strerror(-w));
				d->fatal = -TP_ESYS;
				core_tx_done(d->core, n);
				return w;
			}
			core_tx_done(d->core, (size_t)w);
			d->tx_budget = bytes < d->tx_budget
					   ? d->tx_budget - (uint32_t)bytes
					   : 0;
		}
		if (d->tx_budget == 0 && core_tx_peek(d->core, pkts, 1) > 0) {
			/* The rest after the TUN has been read again. */
			d->tx_backlog = true;
			return 0;
		}
		core_tx_resume(d->core, now);
		if (core_tx_peek(d->core, pkts, 1) == 0)
			break;
	}
	return 0;
}

/* The tunconn's peer changed (tunconn.h): the old peer's flows end before
 * the new peer's first packet is seen, so none of their packets reaches
 * it, even one already in the ring. */
static void new_session(struct driver *d, uint64_t now)
{
	d->tun_session = d->tun->session;
	uint32_t flows = core_flow_count(d->core);
	size_t stale = core_abort_all(d->core, now);
	if (stale)
		__atomic_store_n(&d->tun_tx_dropped, d->tun_tx_dropped + stale,
				 __ATOMIC_RELAXED);
	driver_log(d, TP_LOG_INFO,
		   "new client: %u flows of the previous one closed, %zu of "
		   "its packets dropped",
		   flows, stale);
}

static int read_tun(struct driver *d)
{
	struct tun_pkt pkts[DRV_TUN_BATCH];
	for (int b = 0; b < TUN_BATCHES_PER_WAKE; b++) {
		int n = d->tun->ops->read_batch(d->tun, pkts, DRV_TUN_BATCH);
		if (n < 0) {
			driver_log(d, TP_LOG_ERROR,
				   "TUN read failed: %s (device removed?)",
				   strerror(-n));
			d->fatal = -TP_ESYS;
			return n;
		}
		uint64_t now = os_clock_us();
		if (d->tun->session != d->tun_session)
			new_session(d, now);
		if (n == 0)
			break;
		for (int i = 0; i < n; i++) {
			if (d->tap)
				d->tap(d->tap_ctx, pkts[i].data, pkts[i].len,
				       TP_TAP_FROM_APP);
			d->batch_more = i + 1 < n;
			d->in_gso_size = pkts[i].gso_size;
			core_input(d->core, pkts[i].data, pkts[i].len,
				   pkts[i].flags |
				       (d->batch_more ? CORE_IN_MORE : 0u),
				   now);
		}
		d->batch_more = false;
		d->in_gso_size = 0;
		driver_push_corked(d);
		flush(d, now);
		if (d->tun->drained)
			break;
	}
	return 0;
}

static uint32_t to_core_events(uint32_t ev)
{
	return (ev & POLLER_IN ? CORE_EV_READ : 0u) |
	       (ev & POLLER_OUT ? CORE_EV_WRITE : 0u) |
	       (ev & POLLER_ERR ? CORE_EV_ERROR : 0u) |
	       (ev & POLLER_HUP ? CORE_EV_HUP : 0u);
}

void driver_defer_event(struct driver *d, int id)
{
	struct hsock *s = &d->socks[id];
	if (s->deferred)
		return;
	s->deferred = 1;
	s->defer_next = 0;
	if (d->defer_tail)
		d->socks[d->defer_tail - 1].defer_next = (uint32_t)id + 1;
	else
		d->defer_head = (uint32_t)id + 1;
	d->defer_tail = (uint32_t)id + 1;
}

static void run_deferred(struct driver *d, uint64_t now)
{
	uint32_t i = d->defer_head;
	d->defer_head = d->defer_tail = 0;
	while (i) {
		struct hsock *s = &d->socks[i - 1];
		i = s->defer_next;
		s->deferred = 0;
		if (s->kind == HS_FREE) {
			d->free_stack[d->nfree++] = (uint32_t)(s - d->socks);
			continue;
		}
		uint32_t ev = s->pending_err ? CORE_EV_ERROR : CORE_EV_READ;
		core_sock_event(d->core, s->flow, ev, now);
		flush(d, now);
	}
}

int driver_next_timeout_ms(struct driver *d)
{
	if (d->defer_head || d->tx_backlog)
		return 0;
	uint64_t dl = core_next_deadline(d->core);
	if (dl == UINT64_MAX)
		return -1;
	uint64_t now = os_clock_us();
	if (dl <= now)
		return 0;
	uint64_t ms = (dl - now + 999) / 1000;
	return ms > 60000 ? 60000 : (int)ms;
}

static int step(struct driver *d, int timeout_ms);

int driver_step(struct driver *d, int timeout_ms)
{
	if (__atomic_load_n(&d->stop_requested, __ATOMIC_ACQUIRE))
		return 0;
	apply_log_level(d);
	flowreq_driving(d, true);
	int rc = step(d, timeout_ms);
	flowreq_driving(d, false);
	return rc;
}

static int step(struct driver *d, int timeout_ms)
{
	struct poller_event ev[EVENTS_PER_WAIT];
	int n = poller_wait(d->poller, ev, EVENTS_PER_WAIT, timeout_ms);
	if (n < 0) {
		driver_log(d, TP_LOG_ERROR, "poll failed: %s", strerror(-n));
		return -TP_ESYS;
	}
	d->tx_budget = TUN_TX_BURST;
	d->tx_backlog = false;
	/* Drain before you write: the app's packets first, wherever the
	 * poller listed the TUN, then the host sockets' events. */
	for (int i = 0; i < n; i++) {
		if ((uint32_t)(ev[i].tag >> 56) != TAG_TUN)
			continue;
		if (read_tun(d) < 0)
			return d->fatal;
		ev[i].tag = 0;
	}
	for (int i = 0; i < n; i++) {
		uint32_t kind = (uint32_t)(ev[i].tag >> 56);
		uint32_t gen = (uint32_t)(ev[i].tag >> 32) & 0xffffffu;
		uint32_t idx = (uint32_t)ev[i].tag;
		uint64_t now = os_clock_us();
		switch (kind) {
		case TAG_WAKE:
			os_wake_drain(&d->wake);
			break;
		case TAG_SOCK:
			if (idx < d->high && d->socks[idx].kind != HS_FREE &&
			    (d->socks[idx].gen & 0xffffffu) == gen) {
				/* An upstream handshake takes its socket's
				 * events first (egress.h). */
				if (!egress_sock_event(d, idx, ev[i].events,
						       now))
					core_sock_event(
					    d->core, d->socks[idx].flow,
					    to_core_events(ev[i].events), now);
				flush(d, now);
			}
			break;
		case TAG_RAW4:
		case TAG_RAW6:
			driver_raw_readable(d, kind == TAG_RAW4 ? 0 : 1);
			flush(d, now);
			break;
		}
	}
	uint64_t now = os_clock_us();
	flowreq_serve(d); /* tp_flows from another thread */
	run_deferred(d, now);
	if (core_next_deadline(d->core) <= now) {
		core_timers(d->core, now);
		flush(d, now);
	}
	/* Packets left from an earlier pass with nothing new to trigger a
	 * flush in this one. */
	if (d->tx_budget > 0 && !d->fatal)
		flush(d, now);
	if (d->tap)
		d->tap(d->tap_ctx, NULL, 0, TP_TAP_FLUSH);
	if (d->fatal)
		return d->fatal;
	return __atomic_load_n(&d->stop_requested, __ATOMIC_ACQUIRE) ? 0 : 1;
}

int driver_run(struct driver *d)
{
	int rc;
	while ((rc = driver_step(d, driver_next_timeout_ms(d))) > 0)
		;
	return rc;
}
