/* SPDX-License-Identifier: MIT */
/* tunconn_udp.c - the UDP dev transport: one datagram = one IP packet.
 *
 * The development loop of docs/devloop.md: a phone app's packet tunnel (or
 * `tunproxy device`, or the tee in between) sends every raw IPv4/IPv6
 * packet as one UDP datagram to this socket, and every packet the engine
 * produces goes back as one datagram to the same sender. There is no
 * framing and no handshake: the datagram payload is the packet.
 *
 * Sessions. Whoever can send to the socket can use the proxy and would
 * receive the replies, so:
 *   - the default address is loopback; a wildcard or any other address is
 *     refused unless the caller allows it explicitly (and then warned);
 *   - one client owns the session at a time: the first sender, until it
 *     has been silent for client_idle_ms. Datagrams from anyone else are
 *     dropped and counted (dev_foreign_dropped); after the silence the next
 *     sender takes over (dev_client_changes, logged). Ownership is checked
 *     when a datagram arrives, so no timer is needed.
 *   - a takeover ends the old client's flows: they belong to a device that
 *     went away, and their replies must not reach whoever came next. The
 *     backend bumps base.session (tunconn.h) and the driver closes every
 *     flow before the new client's first packet (core_abort_all,
 *     dev_session_flows_closed). An app that comes back from a new source
 *     port is a new client: its connections are reset, as after a
 *     network change on a phone.
 *   - an empty datagram is a keepalive: it refreshes ownership and is not
 *     passed on, so an idle app keeps its session (`tunproxy device`
 *     sends one every DEVICE_KEEPALIVE_MS, well under the idle time).
 * Packets for the app while no client is known are dropped (tx_dropped).
 *
 * I/O is batched through udpio.h (one file per OS: recvmmsg/sendmmsg on
 * Linux, recvmsg/sendmsg loops on Darwin; this file is the same on both):
 * up to UDP_BATCH arena buffers are filled per read, and the engine's
 * transmit ring is sent in place (no copy). A full socket buffer drops
 * what did not fit, like a lossy link; TCP recovers. Buffers are sized for
 * the largest datagram, so nothing is ever truncated.
 */
#include "io/tunconn_udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/udpio.h"
#include "os/os_addr.h"
#include "os/os_clock.h"
#include "os/os_log.h"

#define UDP_BATCH		UDPIO_BATCH
#define UDP_BUF_SIZE		65536
#define FOREIGN_LOG_INTERVAL_US 10000000u

struct tunconn_udp {
	struct tunconn base;
	int fd;
	uint64_t idle_us;
	tp_log_fn log;
	void *log_ctx;
	uint32_t log_level;
	uint64_t (*clock_us)(void *ctx);
	void *clock_ctx;

	bool has_client;
	struct sockaddr_storage client;
	socklen_t client_len;
	uint64_t client_seen; /* last datagram from the client */

	struct sockaddr_storage bound; /* our socket's address and port */

	struct sockaddr_storage foreign_logged; /* last foreign sender logged */
	uint64_t foreign_log_at;

	uint64_t foreign_dropped; /* relaxed atomics: read by other threads */
	uint64_t client_changes;

	uint8_t *arena; /* UDP_BATCH buffers of UDP_BUF_SIZE */
	struct udpio_in rx[UDP_BATCH];
	struct udpio_out tx[UDP_BATCH];
};

/* The default clock of tunconn_udp_opts.clock_us. */
static uint64_t mono_us(void *ctx)
{
	(void)ctx;
	return os_clock_us();
}

static void ulog(const struct tunconn_udp *u, enum tp_log_level level,
		 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void ulog(const struct tunconn_udp *u, enum tp_log_level level,
		 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	os_vlog(u->log, u->log_ctx, u->log_level, level, fmt, ap);
	va_end(ap);
}

static void ctr_inc(uint64_t *c)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELAXED);
}

static int errno_to_tp(int e)
{
	switch (e) {
	case EADDRINUSE:
		return -TP_EBUSY;
	case EACCES:
	case EPERM:
		return -TP_EPERM;
	case EADDRNOTAVAIL:
	case EAFNOSUPPORT:
		return -TP_EINVAL;
	case ENOMEM:
	case ENOBUFS:
		return -TP_ENOMEM;
	default:
		return -TP_ESYS;
	}
}

/* Decides whether the datagram from `from` belongs to the session, taking
 * the session over when its owner has been silent long enough. */
static bool session_accept(struct tunconn_udp *u,
			   const struct sockaddr_storage *from,
			   socklen_t from_len, uint64_t now)
{
	char a[64], b[64];
	if (u->has_client && os_addr_equal(&u->client, from)) {
		u->client_seen = now;
		return true;
	}
	if (u->has_client && now - u->client_seen < u->idle_us) {
		ctr_inc(&u->foreign_dropped);
		if (!os_addr_equal(&u->foreign_logged, from) ||
		    now - u->foreign_log_at >= FOREIGN_LOG_INTERVAL_US) {
			u->foreign_logged = *from;
			u->foreign_log_at = now;
			ulog(u, TP_LOG_WARN,
			     "dev transport: dropping datagrams from %s: the "
			     "session belongs to %s until it is silent for "
			     "%llu ms",
			     os_addr_str(from, a, sizeof(a)),
			     os_addr_str(&u->client, b, sizeof(b)),
			     (unsigned long long)(u->idle_us / 1000));
		}
		return false;
	}
	if (u->has_client) {
		/* A new session: every packet accepted from here on is the new
		 * client's. Nothing of this batch was accepted before (the old
		 * client's datagram would have set client_seen to now, and
		 * idle_us >= 1), so the whole batch is the new session's. */
		u->base.session++;
		ulog(u, TP_LOG_INFO,
		     "dev transport: client %s takes over from %s (silent "
		     "%llu ms)",
		     os_addr_str(from, a, sizeof(a)),
		     os_addr_str(&u->client, b, sizeof(b)),
		     (unsigned long long)((now - u->client_seen) / 1000));
	} else {
		ulog(u, TP_LOG_INFO, "dev transport: client %s connected",
		     os_addr_str(from, a, sizeof(a)));
	}
	u->client = *from;
	u->client_len = from_len;
	u->client_seen = now;
	u->has_client = true;
	ctr_inc(&u->client_changes);
	return true;
}

static int udp_read_batch(struct tunconn *t, struct tun_pkt *pkts, int max)
{
	struct tunconn_udp *u = (struct tunconn_udp *)t;
	if (max > UDP_BATCH)
		max = UDP_BATCH;
	/* udpio_recv retries EINTR and reports a UDP socket's pending ICMP
	 * error or a transient shortage as 0: not the end of the transport. */
	int n = udpio_recv(u->fd, u->rx, max);
	/* A short batch: the socket had no more queued. */
	t->drained = n < max;
	if (n < 0)
		return n;
	uint64_t now = u->clock_us(u->clock_ctx);
	int k = 0;
	for (int i = 0; i < n; i++) {
		const struct udpio_in *m = &u->rx[i];
		const struct sockaddr_storage *from = &m->from;
		if (from->ss_family != AF_INET && from->ss_family != AF_INET6)
			continue;
		if (!session_accept(u, from, m->from_len, now))
			continue;
		if (m->len == 0)
			continue; /* keepalive (truncation cannot happen) */
		pkts[k].data = m->buf;
		pkts[k].len = m->len;
		pkts[k].flags = 0;
		pkts[k].gso_size = 0;
		k++;
	}
	return k;
}

static int udp_write_batch(struct tunconn *t, struct core_tx_pkt *pkts, int n,
			   uint64_t *dropped)
{
	struct tunconn_udp *u = (struct tunconn_udp *)t;
	if (n > UDP_BATCH)
		n = UDP_BATCH;
	if (!u->has_client) {
		*dropped += (uint64_t)n;
		return n;
	}
	for (int i = 0; i < n; i++)
		u->tx[i] = (struct udpio_out){pkts[i].data, pkts[i].len,
					      &u->client, u->client_len};
	/* A full socket buffer loses what did not fit; a datagram the
	 * kernel refuses (too big, filtered, the client's port unreachable)
	 * is skipped: both counted in *dropped. */
	int r = udpio_send(u->fd, u->tx, n, dropped);
	if (r < 0)
		return r;
	return n;
}

static int udp_fd(const struct tunconn *t)
{
	return ((const struct tunconn_udp *)t)->fd;
}

static void udp_close(struct tunconn *t)
{
	struct tunconn_udp *u = (struct tunconn_udp *)t;
	if (u->fd >= 0)
		close(u->fd);
	free(u->arena);
	free(u);
}

/* Appends "ADDR/32:PORT" or "[ADDR/128]:PORT" for sa to the list. */
static void self_add(char **list, size_t *len, size_t *cap,
		     const struct sockaddr *sa, unsigned port)
{
	char host[INET6_ADDRSTRLEN], entry[INET6_ADDRSTRLEN + 16];
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
			  host, sizeof(host));
		snprintf(entry, sizeof(entry), "%s/32:%u ", host, port);
	} else {
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)sa)->sin6_addr, host,
			  sizeof(host));
		snprintf(entry, sizeof(entry), "[%s/128]:%u ", host, port);
	}
	size_t n = strlen(entry);
	if (*len + n + 1 > *cap) {
		size_t ncap = (*cap + n + 1) * 2;
		char *p = realloc(*list, ncap);
		if (!p)
			return;
		*list = p;
		*cap = ncap;
	}
	memcpy(*list + *len, entry, n + 1);
	*len += n;
}

static bool is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr ==
		       htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(
	    &((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* Our bound address and port, or with a wildcard bind every address the
 * host's interfaces have now (one added later is not covered: bind a
 * specific address to be sure). */
static char *udp_policy_self(const struct tunconn *t)
{
	const struct tunconn_udp *u = (const struct tunconn_udp *)t;
	const struct sockaddr_storage *b = &u->bound;
	char *list = NULL;
	size_t len = 0, cap = 0;
	unsigned port;

	if (b->ss_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)b)->sin_port);
	else if (b->ss_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)b)->sin6_port);
	else
		return NULL;
	if (!is_wildcard(b)) {
		self_add(&list, &len, &cap, (const struct sockaddr *)b, port);
		return list;
	}
	struct ifaddrs *ifs = NULL;
	if (getifaddrs(&ifs) < 0)
		return NULL;
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		/* "[::]" takes IPv4 too (V6ONLY is off). */
		if (i->ifa_addr->sa_family == AF_INET ||
		    (i->ifa_addr->sa_family == AF_INET6 &&
		     b->ss_family == AF_INET6))
			self_add(&list, &len, &cap, i->ifa_addr, port);
	}
	freeifaddrs(ifs);
	return list;
}

static void udp_counters(const struct tunconn *t, uint64_t *vals, size_t n)
{
	const struct tunconn_udp *u = (const struct tunconn_udp *)t;
	tunconn_add_counter(vals, n, TP_CTR_dev_foreign_dropped,
			    &u->foreign_dropped);
	tunconn_add_counter(vals, n, TP_CTR_dev_client_changes,
			    &u->client_changes);
}

static const struct tunconn_ops udp_ops = {
    .read_batch = udp_read_batch,
    .write_batch = udp_write_batch,
    .fd = udp_fd,
    .close = udp_close,
    .policy_self = udp_policy_self,
    .counters = udp_counters,
};

static int udp_bind(struct tunconn_udp *u, const struct tunconn_udp_opts *o)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	char a[64];
	memset(&ss, 0, sizeof(ss));
	char err[320];
	if (os_addr_parse(o->listen, NULL, &ss, &len, err, sizeof(err)) < 0) {
		ulog(u, TP_LOG_ERROR, "dev transport: %s", err);
		return -TP_EINVAL;
	}
	if (!os_addr_loopback(&ss)) {
		if (!o->allow_public) {
			ulog(u, TP_LOG_ERROR,
			     "dev transport: %s is not a loopback address; "
			     "anyone who can reach it could use this proxy. "
			     "Allow it explicitly if you mean it "
			     "(tp_config.listen_public, tunproxy "
			     "--listen-public)",
			     os_addr_str(&ss, a, sizeof(a)));
			return -TP_EINVAL;
		}
		ulog(u, TP_LOG_WARN,
		     "dev transport: listening on %s, not loopback: anyone who "
		     "can reach it can send traffic through this proxy",
		     os_addr_str(&ss, a, sizeof(a)));
	}
	u->fd = udpio_socket(ss.ss_family);
	if (u->fd < 0)
		return errno_to_tp(-u->fd);
	if (ss.ss_family == AF_INET6) {
		/* "[::]" serves IPv4 clients too. */
		int off = 0;
		(void)setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &off,
				 sizeof(off));
	}
	if (bind(u->fd, (struct sockaddr *)&ss, len) < 0) {
		int e = errno;
		ulog(u, TP_LOG_ERROR, "dev transport: cannot bind %s: %s",
		     os_addr_str(&ss, a, sizeof(a)), strerror(e));
		return errno_to_tp(e);
	}
	len = sizeof(ss);
	if (getsockname(u->fd, (struct sockaddr *)&ss, &len) == 0)
		ulog(u, TP_LOG_INFO, "dev transport: listening on udp %s",
		     os_addr_str(&ss, a, sizeof(a)));
	u->bound = ss;
	return 0;
}

struct tunconn *tunconn_udp_create(const struct tunconn_udp_opts *o, int *err)
{
	*err = -TP_ENOMEM;
	struct tunconn_udp *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->base.ops = &udp_ops;
	u->fd = -1;
	/* At least 1 ms: one takeover per batch at most (session_accept). */
	u->idle_us =
	    (uint64_t)(o->client_idle_ms ? o->client_idle_ms : 1) * 1000u;
	u->log = o->log;
	u->log_ctx = o->log_ctx;
	u->log_level = o->log_level;
	u->clock_us = o->clock_us ? o->clock_us : mono_us;
	u->clock_ctx = o->clock_ctx;
	u->arena = malloc((size_t)UDP_BATCH * UDP_BUF_SIZE);
	if (!u->arena)
		goto fail;
	for (int i = 0; i < UDP_BATCH; i++) {
		u->rx[i].buf = u->arena + (size_t)i * UDP_BUF_SIZE;
		u->rx[i].cap = UDP_BUF_SIZE;
	}
	*err = udp_bind(u, o);
	if (*err < 0)
		goto fail;
	return &u->base;
fail:
	udp_close(&u->base);
	return NULL;
}
