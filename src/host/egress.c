/* SPDX-License-Identifier: MIT */
/* egress.c - the socket hook, the routes and the upstream handshakes
 * (egress.h).
 *
 * Handshake on an upstream TCP flow's host socket (all non-blocking, one
 * step per poller event, in the engine's loop):
 *   CONNECTING  the socket connects to the proxy; writable -> SO_ERROR:
 *               an error is upstream_unreachable (RST to the app);
 *   METHOD      SOCKS5: greeting sent (RFC 1928 3), waiting for the
 *               method; 0xff: no acceptable method (upstream_auth_failed);
 *   AUTH        RFC 1929 username/password sent, waiting for the verdict;
 *   REPLY       CONNECT sent (RFC 1928 4), waiting for the reply (6);
 *   HTTP        "CONNECT host:port" sent, waiting for the response head.
 * Replies are read with MSG_PEEK and consumed only up to the end of the
 * message, so bytes the destination sends right after the reply stay in
 * the socket for the core. The messages we send are a few hundred bytes
 * at most, into a socket that has sent nothing yet: a short write there
 * means the connection is broken, and is treated as such.
 * While a handshake runs, this layer owns the socket's poller interest;
 * when it ends it restores what the core registered (writable, edge) and
 * reports the outcome as the connect's: CORE_EV_WRITE, or CORE_EV_ERROR
 * with the error in the socket's pending_err.
 */
#include "host/egress.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/flow_query.h"
#include "host/driver.h"
#include "host/route.h"
#include "host/udp_cone.h"
#include "host/upstream.h"
#include "wire/packet.h"

enum up_phase {
	UP_CONNECTING = 1,
	UP_METHOD,
	UP_AUTH,
	UP_REPLY,
	UP_HTTP,
	UP_ASSOC, /* control connection of a live UDP association */
	UP_UDP,	  /* the relayed UDP socket itself (events: the core's) */
};

/* The upstream state of one host socket: a TCP flow's handshake, a UDP
 * association's control connection, or its relayed UDP socket. */
struct upconn {
	uint32_t gen; /* the socket's generation when it started */
	uint8_t phase;
	uint8_t family; /* the destination's */
	uint16_t port;
	struct wire_addr dst;
	uint8_t assoc : 1; /* control connection of a UDP association */
	uint8_t ready : 1; /* UDP: the relay is known, the socket on it */
	int32_t peer;	   /* UDP: control socket id; control: UDP id */
	int err;	   /* UDP: the association failed (errno) */
	uint16_t qlen;	   /* UDP: one datagram sent before ready */
	uint8_t q[2048];
};

#define EG_CTR(name) (TP_CTR_##name - TP_CTR_egress_refused)
enum { EG_NCTR = TP_CTR_upstream_protocol_errors - TP_CTR_egress_refused + 1 };

struct egress {
	tp_egress_fn hook;
	void *hook_ctx;
	/* What the socket being prepared is for (set around the wrapped
	 * op, read by egress_socket_hook). */
	bool cur_set, refused;
	uint8_t cur_proto, cur_route;
	uint32_t cur_flow;
	struct upstream_cfg up;
	char basic[700]; /* HTTP: base64 of USER:PASS, "" if none */
	struct route_table routes;
	uint32_t udp_nat;     /* enum tp_udp_nat */
	struct upconn **conn; /* by socket id, NULL: no handshake */
	uint32_t nconn;
	struct core_host_ops inner; /* the ops this layer wraps */
	uint8_t *scratch;	    /* one relayed datagram (UDP upstream) */
	uint64_t ctr[EG_NCTR];	    /* atomics: read by any thread */
};

/* The result of a handshake step besides a positive errno. */
enum { STEP_WAIT = 0, STEP_DONE = -1 };

static void count(struct egress *eg, int i)
{
	__atomic_add_fetch(&eg->ctr[i], 1, __ATOMIC_RELAXED);
}

void egress_counters(struct driver *d, uint64_t *vals, size_t n)
{
	struct egress *eg = d->egress;
	if (!eg)
		return;
	for (int i = 0; i < EG_NCTR; i++)
		if ((size_t)(TP_CTR_egress_refused + i) < n)
			vals[TP_CTR_egress_refused + i] =
			    __atomic_load_n(&eg->ctr[i], __ATOMIC_RELAXED);
	if ((size_t)TP_CTR_udp_cone_dropped < n)
		vals[TP_CTR_udp_cone_dropped] = cone_dropped(d);
}

int egress_socket_hook(struct driver *d, int fd, uint8_t family)
{
	struct egress *eg = d->egress;
	if (!eg || !eg->hook)
		return 0;
	struct tp_egress_info info;
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.sock_family = family;
	info.family = family;
	info.route = TP_EGRESS_SHARED;
	int type = 0;
	socklen_t tl = sizeof(type);
	getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl);
	struct flow_key k;
	if (eg->cur_set && type != SOCK_RAW &&
	    core_flow_key(d->core, eg->cur_flow, &k)) {
		info.proto = eg->cur_proto;
		info.route = eg->cur_route;
		info.family = k.family;
		info.src_port = k.sport;
		info.dst_port = k.dport;
		if (k.family == 4) {
			memcpy(info.src, wire_addr_v4(&k.src), 4);
			memcpy(info.dst, wire_addr_v4(&k.dst), 4);
		} else {
			memcpy(info.src, k.src.b, 16);
			memcpy(info.dst, k.dst.b, 16);
		}
	} else if (eg->cur_set) {
		info.proto = eg->cur_proto;
	}
	if (info.route == TP_EGRESS_SHARED) {
		/* Used for many destinations: none is named. */
		memset(info.dst, 0, sizeof(info.dst));
		info.dst_port = 0;
	}
	if (eg->hook(eg->hook_ctx, fd, &info) == 0)
		return 0;
	count(eg, EG_CTR(egress_refused));
	eg->refused = true;
	return -EPERM;
}

/* --- routes ----------------------------------------------------------- */

/* Where the flow goes: ROUTE_DIRECT, ROUTE_UPSTREAM or ROUTE_BLOCK. */
static enum route_action flow_route(struct driver *d, uint32_t flow,
				    uint8_t proto, uint8_t family,
				    const struct wire_addr *dst, uint16_t dport)
{
	struct egress *eg = d->egress;
	struct flow_key k;
	if (!core_flow_key(d->core, flow, &k)) {
		memset(&k, 0, sizeof(k));
		k.family = family;
		k.dst = *dst;
		k.dport = dport;
		k.proto = proto;
	}
	enum route_action a = route_lookup(&eg->routes, &k);
	/* TCP goes through either upstream, UDP through SOCKS5's UDP
	 * ASSOCIATE; ICMP never can (it goes direct). */
	bool can_up =
	    (eg->up.kind != UPSTREAM_NONE && proto == WIRE_PROTO_TCP) ||
	    (eg->up.kind == UPSTREAM_SOCKS5 && proto == WIRE_PROTO_UDP);
	if (a == ROUTE_NONE)
		a = can_up ? ROUTE_UPSTREAM : ROUTE_DIRECT;
	else if (a == ROUTE_UPSTREAM && !can_up)
		a = ROUTE_DIRECT;
	/* The DNS forwarder's flows go to its resolver, never upstream. */
	struct wire_addr a2 = *dst;
	uint16_t p2 = dport;
	uint8_t f2 = family;
	if (a == ROUTE_UPSTREAM && d->dnsr &&
	    dns_redirect_apply(d->dnsr, &f2, &a2, &p2))
		a = ROUTE_DIRECT;
	return a;
}

static void cur_set(struct egress *eg, uint32_t flow, uint8_t proto,
		    uint8_t route)
{
	eg->cur_set = true;
	eg->refused = false;
	eg->cur_flow = flow;
	eg->cur_proto = proto;
	eg->cur_route = route;
}

/* The op's result with a hook refusal turned into refused_err. */
static int cur_done(struct egress *eg, int rc, int refused_err)
{
	eg->cur_set = false;
	if (rc < 0 && eg->refused)
		rc = -refused_err;
	eg->refused = false;
	return rc;
}

int egress_prepare_shared(struct driver *d, int fd, uint8_t family,
			  uint32_t flow)
{
	struct egress *eg = d->egress;
	cur_set(eg, flow, WIRE_PROTO_UDP, TP_EGRESS_SHARED);
	return cur_done(eg, hostsock_apply_options(d, fd, family), EACCES);
}

static int udp_open_upstream(struct driver *d, uint32_t flow, uint8_t family,
			     const struct wire_addr *dst, uint16_t dport);

static int eg_udp_open(void *ctx, uint32_t flow, uint8_t family,
		       const struct wire_addr *dst, uint16_t dport)
{
	struct driver *d = ctx;
	struct egress *eg = d->egress;
	enum route_action a =
	    flow_route(d, flow, WIRE_PROTO_UDP, family, dst, dport);
	if (a == ROUTE_BLOCK) {
		/* Also a blocked remote sending into a full-cone mapping. */
		count(eg, EG_CTR(route_blocked));
		return -EACCES;
	}
	if (cone_delivering(d))
		return cone_open(d, flow, family, dst, dport);
	if (a == ROUTE_UPSTREAM)
		return udp_open_upstream(d, flow, family, dst, dport);
	struct wire_addr a2 = *dst;
	uint16_t p2 = dport;
	uint8_t f2 = family;
	if (eg->udp_nat == TP_UDP_NAT_FULL_CONE &&
	    !(d->dnsr && dns_redirect_apply(d->dnsr, &f2, &a2, &p2)))
		return cone_open(d, flow, family, dst, dport);
	cur_set(eg, flow, WIRE_PROTO_UDP, TP_EGRESS_DIRECT);
	return cur_done(eg, eg->inner.udp_open(ctx, flow, family, dst, dport),
			EACCES);
}

static int eg_icmp_open(void *ctx, uint32_t flow, uint8_t family,
			const struct wire_addr *dst)
{
	struct driver *d = ctx;
	struct egress *eg = d->egress;
	uint8_t proto = family == 4 ? WIRE_PROTO_ICMP : WIRE_PROTO_ICMP6;
	if (flow_route(d, flow, proto, family, dst, 0) == ROUTE_BLOCK) {
		count(eg, EG_CTR(route_blocked));
		return -EACCES;
	}
	cur_set(eg, flow, proto, TP_EGRESS_DIRECT);
	return cur_done(eg, eg->inner.icmp_open(ctx, flow, family, dst),
			EACCES);
}

static int eg_tcp_connect(void *ctx, uint32_t flow, uint8_t family,
			  const struct wire_addr *dst, uint16_t dport)
{
	struct driver *d = ctx;
	struct egress *eg = d->egress;
	enum route_action a =
	    flow_route(d, flow, WIRE_PROTO_TCP, family, dst, dport);
	if (a == ROUTE_BLOCK) {
		count(eg, EG_CTR(route_blocked));
		return -ECONNREFUSED; /* a RST, as for a refused connect */
	}
	if (a == ROUTE_DIRECT) {
		cur_set(eg, flow, WIRE_PROTO_TCP, TP_EGRESS_DIRECT);
		return cur_done(
		    eg, eg->inner.tcp_connect(ctx, flow, family, dst, dport),
		    ECONNREFUSED);
	}
	struct upconn *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	cur_set(eg, flow, WIRE_PROTO_TCP, TP_EGRESS_UPSTREAM);
	/* The proxy's address, not the DNS forwarder's rewrite: the base
	 * ops. */
	int id =
	    cur_done(eg,
		     driver_host_ops.tcp_connect(ctx, flow, eg->up.family,
						 &eg->up.addr, eg->up.port),
		     ECONNREFUSED);
	if (id < 0) {
		free(c);
		return id;
	}
	count(eg, EG_CTR(upstream_connects));
	struct hsock *s = &d->socks[id];
	if (s->pending_err) {
		/* The proxy's connect failed at once (no route, refused on
		 * this host): the deferred error reaches the core as a RST,
		 * whatever the reason, since the destination was not even
		 * asked. */
		count(eg, EG_CTR(upstream_unreachable));
		driver_log(d, TP_LOG_DEBUG, "upstream %s:%u: %s", eg->up.host,
			   eg->up.port, strerror(s->pending_err));
		s->pending_err = ECONNREFUSED;
		free(c);
		return id;
	}
	c->gen = s->gen;
	c->phase = UP_CONNECTING;
	c->family = family;
	c->dst = *dst;
	c->port = dport;
	free(eg->conn[id]);
	eg->conn[id] = c;
	return id;
}

static void drop_conn(struct egress *eg, int sock)
{
	if ((uint32_t)sock < eg->nconn && eg->conn[sock]) {
		free(eg->conn[sock]);
		eg->conn[sock] = NULL;
	}
}

static void eg_close(void *ctx, int sock, bool reset)
{
	struct driver *d = ctx;
	struct egress *eg = d->egress;
	if (cone_owns(d, sock)) {
		cone_close(d, sock);
		return;
	}
	if ((uint32_t)sock < eg->nconn && eg->conn[sock] &&
	    eg->conn[sock]->phase == UP_UDP && eg->conn[sock]->peer >= 0) {
		/* The association ends with its control connection (RFC
		 * 1928 7). */
		int ctl = eg->conn[sock]->peer;
		drop_conn(eg, ctl);
		hostsock_close(d, ctl, false);
	}
	drop_conn(eg, sock);
	eg->inner.close(ctx, sock, reset);
}

static void eg_want(void *ctx, int sock, bool readable, bool writable)
{
	struct driver *d = ctx;
	struct egress *eg = d->egress;
	if (cone_owns(d, sock))
		return; /* no fd: its datagrams come through the mapping */
	/* During a handshake the poller interest is ours; the core's wish
	 * (it asks only for what it registered) is applied at the end. */
	if ((uint32_t)sock < eg->nconn && eg->conn[sock] &&
	    eg->conn[sock]->phase != UP_UDP)
		return;
	eg->inner.want(ctx, sock, readable, writable);
}

/* --- UDP through SOCKS5 UDP ASSOCIATE (RFC 1928 7) ----------------------
 *
 * The flow's UDP socket is the core's as usual; beside it a control TCP
 * connection to the proxy runs the handshake with UDP ASSOCIATE instead
 * of CONNECT, and its reply names the relay, to which the UDP socket is
 * then connected. Each datagram carries the SOCKS5 UDP header (the
 * destination going out, the remote coming back): added and removed by
 * send and recv here. One datagram sent before the relay is known waits
 * (DNS's single query is the common case); later ones are refused
 * (udp_send_errors) until it is. Replies from anyone but the flow's
 * destination are dropped: the mapping stays address- and port-dependent
 * like a direct flow's. The association lives as long as the control
 * connection: when the proxy closes it or fails the handshake, the flow
 * gets the error as an ICMP unreachable, and the next datagrams too. */

static long eg_send_ready(struct egress *eg, struct hsock *s, struct upconn *u,
			  const struct core_iov *iov, int iovcnt);

static struct upconn *udp_conn(struct egress *eg, int sock)
{
	struct upconn *c = (uint32_t)sock < eg->nconn ? eg->conn[sock] : NULL;
	return c && c->phase == UP_UDP ? c : NULL;
}

static int udp_open_upstream(struct driver *d, uint32_t flow, uint8_t family,
			     const struct wire_addr *dst, uint16_t dport)
{
	struct egress *eg = d->egress;
	struct upconn *u = calloc(1, sizeof(*u));
	struct upconn *c = calloc(1, sizeof(*c));
	if (!u || !c) {
		free(u);
		free(c);
		return -ENOMEM;
	}
	cur_set(eg, flow, WIRE_PROTO_UDP, TP_EGRESS_UPSTREAM);
	/* Connected to the proxy's address for now, to the relay later. */
	int uid = cur_done(eg,
			   driver_host_ops.udp_open(d, flow, eg->up.family,
						    &eg->up.addr, eg->up.port),
			   EACCES);
	if (uid < 0) {
		free(u);
		free(c);
		return uid;
	}
	cur_set(eg, flow, WIRE_PROTO_UDP, TP_EGRESS_UPSTREAM);
	int fd = hostsock_os_socket(eg->up.family, SOCK_STREAM, 0);
	int err = fd < 0 ? fd : hostsock_apply_options(d, fd, eg->up.family);
	err = cur_done(eg, err, EACCES);
	int cid = -1;
	if (err == 0) {
		struct sockaddr_storage ss;
		socklen_t sl = hostsock_sockaddr(eg->up.family, &eg->up.addr,
						 eg->up.port, &ss);
		if (connect(fd, (struct sockaddr *)&ss, sl) < 0 &&
		    errno != EINPROGRESS)
			err = -errno;
	}
	if (err == 0) {
		/* Kind HS_UDP only so that close() just closes it: this
		 * layer alone reads and writes it. */
		cid = hostsock_register(d, fd, flow, HS_UDP, eg->up.family,
					POLLER_OUT);
		fd = -1;
		if (cid < 0)
			err = cid;
	}
	if (fd >= 0)
		close(fd);
	count(eg, EG_CTR(upstream_connects));
	u->gen = d->socks[uid].gen;
	u->phase = UP_UDP;
	u->family = family;
	u->dst = *dst;
	u->port = dport;
	u->peer = cid;
	if (err < 0) {
		/* No control connection: the flow exists, and its datagrams
		 * get the error (ICMP) instead of silence. */
		count(eg, EG_CTR(upstream_unreachable));
		u->err = ECONNREFUSED;
		free(c);
	} else {
		c->gen = d->socks[cid].gen;
		c->phase = UP_CONNECTING;
		c->assoc = 1;
		c->peer = uid;
		c->family = eg->up.family;
		eg->conn[cid] = c;
	}
	free(eg->conn[uid]);
	eg->conn[uid] = u;
	return uid;
}

/* The association is up: the relay is at bound (the proxy's own
 * address when it names none). */
static int assoc_ready(struct driver *d, struct egress *eg, struct upconn *c,
		       const struct socks5_addr *bound)
{
	struct upconn *u = udp_conn(eg, c->peer);
	if (!u)
		return EINVAL;
	uint8_t fam = bound->family;
	struct wire_addr relay = bound->addr;
	static const uint8_t zero[16];
	if (!fam || (fam == 4 && !memcmp(wire_addr_v4(&relay), zero, 4)) ||
	    (fam == 6 && !memcmp(relay.b, zero, 16))) {
		fam = eg->up.family;
		relay = eg->up.addr;
	}
	struct hsock *us = &d->socks[c->peer];
	struct sockaddr_storage ss;
	socklen_t sl = hostsock_sockaddr(fam, &relay, bound->port, &ss);
	if (fam != us->family ||
	    connect(us->fd, (struct sockaddr *)&ss, sl) < 0)
		return fam != us->family ? EAFNOSUPPORT : errno;
	u->ready = 1;
	if (u->qlen) {
		struct core_iov iov = {u->q, u->qlen};
		u->qlen = 0;
		long n = eg_send_ready(eg, us, u, &iov, 1);
		(void)n; /* a lost first datagram is the app's to resend */
	}
	return 0;
}

/* Sends iov to the relay behind the SOCKS5 UDP header. */
static long eg_send_ready(struct egress *eg, struct hsock *s, struct upconn *u,
			  const struct core_iov *iov, int iovcnt)
{
	(void)eg;
	uint8_t hdr[32];
	struct iovec v[16];
	if (iovcnt > 15)
		return -EMSGSIZE;
	v[0].iov_base = hdr;
	v[0].iov_len = socks5_udp_header(hdr, u->family, &u->dst, u->port);
	for (int i = 0; i < iovcnt; i++) {
		v[i + 1].iov_base = iov[i].base;
		v[i + 1].iov_len = iov[i].len;
	}
	struct msghdr mh = {.msg_iov = v, .msg_iovlen = (size_t)iovcnt + 1};
	/* UDP: no SIGPIPE to suppress. */
	ssize_t n = sendmsg(s->fd, &mh, MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	return n < (ssize_t)v[0].iov_len ? 0 : n - (ssize_t)v[0].iov_len;
}

static long eg_send(void *ctx, int sock, const struct core_iov *iov, int iovcnt)
{
	struct driver *d = ctx;
	struct egress *eg = d->egress;
	if (cone_owns(d, sock))
		return cone_send(d, sock, iov, iovcnt);
	struct upconn *u = udp_conn(eg, sock);
	if (!u)
		return eg->inner.send(ctx, sock, iov, iovcnt);
	if (u->err)
		return -u->err;
	if (u->ready)
		return eg_send_ready(eg, &d->socks[sock], u, iov, iovcnt);
	size_t total = 0;
	for (int i = 0; i < iovcnt; i++)
		total += iov[i].len;
	if (u->qlen || total > sizeof(u->q))
		return -EAGAIN;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(u->q + u->qlen, iov[i].base, iov[i].len);
		u->qlen = (uint16_t)(u->qlen + iov[i].len);
	}
	return (long)total;
}

static long eg_recv(void *ctx, int sock, const struct core_iov *iov, int iovcnt,
		    size_t *full_len)
{
	struct driver *d = ctx;
	struct egress *eg = d->egress;
	if (cone_owns(d, sock))
		return cone_recv(d, sock, iov, iovcnt, full_len);
	struct upconn *u = udp_conn(eg, sock);
	if (!u)
		return eg->inner.recv(ctx, sock, iov, iovcnt, full_len);
	if (!u->ready)
		return -EAGAIN;
	for (int tries = 0; tries < 16; tries++) {
		ssize_t n =
		    recv(d->socks[sock].fd, eg->scratch, 65536, MSG_DONTWAIT);
		if (n < 0)
			return -errno;
		uint8_t frag;
		struct socks5_addr from;
		int h = socks5_parse_udp(eg->scratch, (size_t)n, &frag, &from);
		/* Fragments (RFC 1928 7: optional) and replies from
		 * others than the destination are dropped. */
		if (h < 0 || frag != 0 || from.port != u->port ||
		    from.family != u->family ||
		    !wire_addr_eq(&from.addr, &u->dst))
			continue;
		size_t len = (size_t)n - (size_t)h, off = 0;
		for (int i = 0; i < iovcnt && off < len; i++) {
			size_t c =
			    len - off < iov[i].len ? len - off : iov[i].len;
			memcpy(iov[i].base, eg->scratch + h + off, c);
			off += c;
		}
		if (full_len)
			*full_len = len;
		return (long)off;
	}
	return -EAGAIN;
}

/* Batched reads (udpbatch_linux.c) only for plain host sockets: a
 * full-cone flow or an upstream one is read one datagram at a time by
 * eg_recv, which unwraps what the socket carries. */
static long eg_recv_batch(void *ctx, int sock, struct core_dgram *m, int n)
{
	struct driver *d = ctx;
	struct egress *eg = d->egress;
	if (cone_owns(d, sock) || udp_conn(eg, sock) || !eg->inner.recv_batch)
		return -EOPNOTSUPP;
	return eg->inner.recv_batch(ctx, sock, m, n);
}

void egress_wrap_ops(struct driver *d, struct core_host_ops *ops)
{
	struct egress *eg = d->egress;
	if (!eg)
		return;
	eg->inner = *ops;
	ops->udp_open = eg_udp_open;
	ops->icmp_open = eg_icmp_open;
	ops->tcp_connect = eg_tcp_connect;
	ops->close = eg_close;
	ops->want = eg_want;
	ops->send = eg_send;
	ops->recv = eg_recv;
	if (ops->recv_batch)
		ops->recv_batch = eg_recv_batch;
}

/* --- handshakes -------------------------------------------------------- */

static int assoc_ready(struct driver *d, struct egress *eg, struct upconn *c,
		       const struct socks5_addr *bound);

/* Sends all of buf[0..n) or fails (see the top), through the platform's
 * send op (it knows how to keep a reset peer from raising SIGPIPE). */
static int send_msg(struct driver *d, struct hsock *s, const void *buf,
		    size_t n)
{
	struct core_iov iov = {(void *)(uintptr_t)buf, n};
	long w = driver_host_ops.send(d, (int)(s - d->socks), &iov, 1);
	if (w < 0)
		return (int)-w;
	return (size_t)w == n ? 0 : EPIPE;
}

static int send_request(struct driver *d, struct egress *eg, struct hsock *s,
			struct upconn *c)
{
	uint8_t req[32];
	/* UDP ASSOCIATE names the address we will send from; all zeros
	 * when it is not known yet (RFC 1928 7). */
	static const struct wire_addr any;
	size_t n = c->assoc ? socks5_request(req, SOCKS5_CMD_UDP_ASSOCIATE,
					     c->family, &any, 0)
			    : socks5_request(req, SOCKS5_CMD_CONNECT, c->family,
					     &c->dst, c->port);
	c->phase = UP_REPLY;
	return send_msg(d, s, req, n);
}

/* The errno the app's connect gets for a SOCKS5 reply code (RFC 1928 6):
 * "unreachable" answers become ICMP unreachable, the rest a RST. */
static int socks5_errno(uint8_t rep)
{
	switch (rep) {
	case SOCKS5_NET_UNREACHABLE:
		return ENETUNREACH;
	case SOCKS5_HOST_UNREACHABLE:
	case SOCKS5_TTL_EXPIRED:
		return EHOSTUNREACH;
	default:
		return ECONNREFUSED;
	}
}

/* The first message, once connected to the proxy. */
static int start(struct driver *d, struct egress *eg, struct hsock *s,
		 struct upconn *c)
{
	int err;
	if (eg->up.kind == UPSTREAM_SOCKS5) {
		uint8_t g[4];
		err = send_msg(d, s, g, socks5_greeting(g, eg->up.has_auth));
		c->phase = UP_METHOD;
	} else {
		char req[1024];
		size_t n = http_connect_request(
		    req, sizeof(req), c->family, &c->dst, c->port,
		    eg->basic[0] ? eg->basic : NULL);
		err = n ? send_msg(d, s, req, n) : EINVAL;
		c->phase = UP_HTTP;
	}
	if (err)
		return err;
	poller_mod(d->poller, s->fd,
		   DRV_TAG_GEN(TAG_SOCK, s->gen, (uint32_t)(s - d->socks)),
		   POLLER_IN | POLLER_EDGE);
	return 0;
}

/* One message received and acted on. Returns STEP_WAIT (need more bytes),
 * STEP_DONE, 1 to go on with the next message, or a positive errno to
 * fail the flow with (counted here). */
static int on_message(struct driver *d, struct egress *eg, struct hsock *s,
		      struct upconn *c)
{
	uint8_t buf[2048];
	ssize_t got = recv(s->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return STEP_WAIT;
	if (got <= 0) {
		driver_log(d, TP_LOG_DEBUG,
			   "upstream %s:%u closed the connection during the "
			   "handshake",
			   eg->up.host, eg->up.port);
		count(eg, EG_CTR(upstream_protocol_errors));
		return ECONNREFUSED;
	}
	size_t len = (size_t)got;
	uint8_t v8 = 0;
	unsigned status = 0;
	struct socks5_addr bound;
	int r;
	switch (c->phase) {
	case UP_METHOD:
		r = socks5_parse_method(buf, len, &v8);
		break;
	case UP_AUTH:
		r = socks5_parse_auth(buf, len, &v8);
		break;
	case UP_REPLY:
		r = socks5_parse_reply(buf, len, &v8, &bound);
		break;
	default:
		r = http_parse_response(buf, len, &status);
		if (r == 0 && len == sizeof(buf))
			r = -1; /* a head larger than we take */
		break;
	}
	if (r < 0) {
		driver_log(d, TP_LOG_DEBUG,
			   "upstream %s:%u: malformed answer in phase %u",
			   eg->up.host, eg->up.port, c->phase);
		count(eg, EG_CTR(upstream_protocol_errors));
		return ECONNREFUSED;
	}
	if (r == 0)
		return STEP_WAIT;
	if (recv(s->fd, buf, (size_t)r, MSG_DONTWAIT) != r) {
		count(eg, EG_CTR(upstream_protocol_errors));
		return ECONNREFUSED;
	}
	switch (c->phase) {
	case UP_METHOD:
		if (v8 == SOCKS5_METHOD_USERPASS && eg->up.has_auth) {
			uint8_t req[520];
			size_t n = socks5_auth_request(
			    req, sizeof(req), eg->up.user, eg->up.pass);
			c->phase = UP_AUTH;
			int err = send_msg(d, s, req, n);
			return err ? err : 1;
		}
		if (v8 == SOCKS5_METHOD_NONE) {
			int err = send_request(d, eg, s, c);
			return err ? err : 1;
		}
		driver_log(d, TP_LOG_WARN,
			   "upstream %s:%u accepts none of our SOCKS5 methods "
			   "(%s)",
			   eg->up.host, eg->up.port,
			   eg->up.has_auth ? "none, username/password"
					   : "none: does it need a username?");
		count(eg, EG_CTR(upstream_auth_failed));
		return ECONNREFUSED;
	case UP_AUTH:
		if (v8 != 0) {
			driver_log(d, TP_LOG_WARN,
				   "upstream %s:%u refused our username and "
				   "password",
				   eg->up.host, eg->up.port);
			count(eg, EG_CTR(upstream_auth_failed));
			return ECONNREFUSED;
		}
		{
			int err = send_request(d, eg, s, c);
			return err ? err : 1;
		}
	case UP_REPLY:
		if (v8 != SOCKS5_OK) {
			driver_log(d, TP_LOG_DEBUG,
				   "upstream %s:%u: CONNECT refused (reply "
				   "%u)",
				   eg->up.host, eg->up.port, v8);
			count(eg, EG_CTR(upstream_refused));
			return socks5_errno(v8);
		}
		if (c->assoc) {
			int err = assoc_ready(d, eg, c, &bound);
			if (err) {
				count(eg, EG_CTR(upstream_protocol_errors));
				return err;
			}
			c->phase = UP_ASSOC;
			return STEP_WAIT;
		}
		return STEP_DONE;
	default:
		if (status >= 200 && status < 300)
			return STEP_DONE;
		driver_log(d, TP_LOG_DEBUG,
			   "upstream %s:%u: CONNECT answered %u", eg->up.host,
			   eg->up.port, status);
		/* 407 (RFC 9110 15.5.8); some proxies (tinyproxy) answer a
		 * CONNECT with bad credentials 401. */
		if (status == 407 || status == 401) {
			count(eg, EG_CTR(upstream_auth_failed));
			driver_log(d, TP_LOG_WARN,
				   "upstream %s:%u wants (other) credentials "
				   "(%u)",
				   eg->up.host, eg->up.port, status);
		} else {
			count(eg, EG_CTR(upstream_refused));
		}
		return ECONNREFUSED;
	}
}

static int step(struct driver *d, struct egress *eg, struct hsock *s,
		struct upconn *c, uint32_t events)
{
	if (c->phase == UP_CONNECTING) {
		if (!(events & (POLLER_OUT | POLLER_ERR | POLLER_HUP)))
			return STEP_WAIT;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (!soerr && (events & (POLLER_ERR | POLLER_HUP)))
			soerr = ECONNRESET;
		if (!soerr)
			soerr = start(d, eg, s, c);
		if (soerr) {
			driver_log(d, TP_LOG_DEBUG, "upstream %s:%u: %s",
				   eg->up.host, eg->up.port, strerror(soerr));
			count(eg, EG_CTR(upstream_unreachable));
			return ECONNREFUSED;
		}
		return STEP_WAIT;
	}
	if (c->phase == UP_ASSOC) {
		/* Nothing more is said on a live association's control
		 * connection; its end (or an error) ends the association. */
		uint8_t junk[256];
		ssize_t n;
		while ((n = recv(s->fd, junk, sizeof(junk), MSG_DONTWAIT)) > 0)
			;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return STEP_WAIT;
		driver_log(d, TP_LOG_DEBUG,
			   "upstream %s:%u ended a UDP association",
			   eg->up.host, eg->up.port);
		count(eg, EG_CTR(upstream_unreachable));
		return EHOSTUNREACH;
	}
	for (;;) {
		int r = on_message(d, eg, s, c);
		if (r != 1)
			return r;
	}
}

/* A control connection's step failed with err: the association's UDP
 * flow learns it (ICMP unreachable now, and for every later datagram),
 * and the control socket goes. */
static void assoc_failed(struct driver *d, struct egress *eg, uint32_t id,
			 int err, uint64_t now)
{
	int32_t uid = eg->conn[id]->peer; /* before the state goes */
	struct upconn *u = udp_conn(eg, uid);
	drop_conn(eg, (int)id);
	hostsock_close(d, (int)id, false);
	if (!u)
		return;
	u->err = err;
	u->peer = -1;
	struct hsock *us = &d->socks[uid];
	us->pending_err = err;
	core_sock_event(d->core, us->flow, CORE_EV_ERROR, now);
}

bool egress_sock_event(struct driver *d, uint32_t id, uint32_t events,
		       uint64_t now)
{
	struct egress *eg = d->egress;
	if (eg && cone_event(d, id, events, now))
		return true;
	if (!eg || id >= eg->nconn || !eg->conn[id])
		return false;
	struct upconn *c = eg->conn[id];
	struct hsock *s = &d->socks[id];
	if (c->gen != s->gen) {
		drop_conn(eg, (int)id);
		return false;
	}
	if (c->phase == UP_UDP)
		return false; /* the relayed socket: the core's events */
	int r = step(d, eg, s, c, events);
	if (r == STEP_WAIT)
		return true;
	if (c->assoc) {
		assoc_failed(d, eg, id, r == STEP_DONE ? EPROTO : r, now);
		return true;
	}
	uint32_t flow = s->flow;
	drop_conn(eg, (int)id);
	if (r == STEP_DONE) {
		/* Back to what the core registered; re-arming also reports
		 * data that came right behind the reply. */
		poller_mod(d->poller, s->fd, DRV_TAG_GEN(TAG_SOCK, s->gen, id),
			   s->want);
		core_sock_event(d->core, flow, CORE_EV_WRITE, now);
	} else {
		s->pending_err = r;
		core_sock_event(d->core, flow, CORE_EV_ERROR, now);
	}
	return true;
}

/* --- set-up ------------------------------------------------------------- */

int egress_init(struct driver *d, const struct tp_config *cfg)
{
	bool has_up = cfg->upstream && *cfg->upstream;
	bool has_routes = cfg->routes && *cfg->routes;
	if (cfg->udp_nat > TP_UDP_NAT_FULL_CONE) {
		driver_log(d, TP_LOG_ERROR, "udp_nat: unknown value %u",
			   cfg->udp_nat);
		return -TP_EINVAL;
	}
	if (!cfg->egress_hook && !has_up && !has_routes && !cfg->udp_nat)
		return 0;
	struct egress *eg = calloc(1, sizeof(*eg));
	if (!eg)
		return -TP_ENOMEM;
	d->egress = eg;
	eg->hook = cfg->egress_hook;
	eg->hook_ctx = cfg->egress_ctx;
	eg->udp_nat = cfg->udp_nat;
	if (eg->udp_nat == TP_UDP_NAT_FULL_CONE) {
		int rc = cone_init(d);
		if (rc < 0)
			return rc;
		driver_log(d, TP_LOG_INFO,
			   "UDP: full-cone mappings (RFC 4787 endpoint-"
			   "independent mapping and filtering)");
	}
	char err[300];
	if (has_up) {
		if (upstream_parse(&eg->up, cfg->upstream, err, sizeof(err)) <
		    0) {
			driver_log(d, TP_LOG_ERROR, "%s", err);
			return -TP_EINVAL;
		}
		if (eg->up.kind == UPSTREAM_HTTP && eg->up.has_auth) {
			char up[520];
			int n = snprintf(up, sizeof(up), "%s:%s", eg->up.user,
					 eg->up.pass);
			upstream_base64(eg->basic, sizeof(eg->basic),
					(const uint8_t *)up, (size_t)n);
		}
		driver_log(d, TP_LOG_INFO, "upstream: %s proxy %s:%u%s",
			   eg->up.kind == UPSTREAM_SOCKS5 ? "SOCKS5" : "HTTP",
			   eg->up.host, eg->up.port,
			   eg->up.has_auth ? " (with credentials)" : "");
	}
	if (route_parse(&eg->routes, cfg->routes, err, sizeof(err)) < 0) {
		driver_log(d, TP_LOG_ERROR, "%s", err);
		return -TP_EINVAL;
	}
	for (uint32_t i = 0; !has_up && i < eg->routes.n; i++) {
		if (eg->routes.action[i] == ROUTE_UPSTREAM) {
			/* Silently direct would leak what was meant to be
			 * proxied. */
			driver_log(d, TP_LOG_ERROR,
				   "routes: '=upstream' without an upstream");
			return -TP_EINVAL;
		}
	}
	if (has_up) {
		eg->nconn = d->nsocks;
		eg->conn = calloc(eg->nconn, sizeof(*eg->conn));
		eg->scratch = malloc(65536);
		if (!eg->conn || !eg->scratch)
			return -TP_ENOMEM;
	}
	return 0;
}

void egress_free(struct driver *d)
{
	struct egress *eg = d->egress;
	if (!eg)
		return;
	for (uint32_t i = 0; i < eg->nconn; i++)
		free(eg->conn[i]);
	free(eg->conn);
	free(eg->scratch);
	cone_free(d);
	route_free(&eg->routes);
	/* The credentials do not outlive the engine in freed memory. */
	memset(&eg->up, 0, sizeof(eg->up));
	memset(eg->basic, 0, sizeof(eg->basic));
	free(eg);
	d->egress = NULL;
}
