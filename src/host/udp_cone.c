/* SPDX-License-Identifier: MIT */
/* udp_cone.c - full-cone UDP mappings (udp_cone.h). */
#include "host/udp_cone.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/flow_query.h"
#include "core/udp_cone.h"
#include "host/driver.h"
#include "host/egress.h"

enum { CONE_NONE = 0, CONE_MAP, CONE_FLOW };

/* Per socket id: a mapping (a real fd) or a flow on one (no fd). */
struct cone_sock {
	uint8_t kind;
	uint8_t family;
	uint16_t port; /* MAP: the app's port; FLOW: the destination's */
	uint32_t gen;
	int32_t map;	       /* FLOW: its mapping's id */
	int32_t next;	       /* MAP: hash chain, -1 at the end */
	uint32_t refs;	       /* MAP: flows on it */
	struct wire_addr addr; /* MAP: the app's; FLOW: the destination */
};

struct cone {
	struct cone_sock *s; /* by socket id */
	int32_t *bucket;     /* mapping ids by (family, app, port) */
	uint32_t nbucket;    /* a power of two */
	uint8_t *buf;	     /* the datagram being delivered */
	int32_t pend_map;    /* its mapping, -1: none */
	size_t pend_len;
	uint8_t pend_family;
	uint16_t pend_port;
	struct wire_addr pend_from;
	uint64_t dropped; /* atomic */
};

static struct cone *cone_of(struct driver *d)
{
	return d->cone;
}

int cone_init(struct driver *d)
{
	struct cone *c = calloc(1, sizeof(*c));
	if (!c)
		return -TP_ENOMEM;
	d->cone = c;
	c->nbucket = 1024;
	while (c->nbucket < d->nsocks)
		c->nbucket <<= 1;
	c->s = calloc(d->nsocks, sizeof(*c->s));
	c->bucket = malloc(c->nbucket * sizeof(*c->bucket));
	c->buf = malloc(65536);
	if (!c->s || !c->bucket || !c->buf)
		return -TP_ENOMEM;
	memset(c->bucket, 0xff, c->nbucket * sizeof(*c->bucket));
	c->pend_map = -1;
	return 0;
}

void cone_free(struct driver *d)
{
	struct cone *c = cone_of(d);
	if (!c)
		return;
	free(c->s);
	free(c->bucket);
	free(c->buf);
	free(c);
	d->cone = NULL;
}

uint64_t cone_dropped(struct driver *d)
{
	struct cone *c = cone_of(d);
	return c ? __atomic_load_n(&c->dropped, __ATOMIC_RELAXED) : 0;
}

static uint32_t hash(const struct cone *c, uint8_t family,
		     const struct wire_addr *a, uint16_t port)
{
	/* FNV-1a: the keys are the app's own addresses, not a remote's. */
	uint32_t h = 2166136261u ^ family;
	for (int i = 0; i < 16; i++)
		h = (h ^ a->b[i]) * 16777619u;
	h = (h ^ (port & 0xff)) * 16777619u;
	h = (h ^ (port >> 8)) * 16777619u;
	return h & (c->nbucket - 1);
}

static int32_t find_map(struct cone *c, uint8_t family,
			const struct wire_addr *a, uint16_t port)
{
	for (int32_t i = c->bucket[hash(c, family, a, port)]; i >= 0;
	     i = c->s[i].next)
		if (c->s[i].family == family && c->s[i].port == port &&
		    wire_addr_eq(&c->s[i].addr, a))
			return i;
	return -1;
}

static void unlink_map(struct cone *c, int32_t id)
{
	struct cone_sock *m = &c->s[id];
	int32_t *p = &c->bucket[hash(c, m->family, &m->addr, m->port)];
	while (*p >= 0 && *p != id)
		p = &c->s[*p].next;
	if (*p == id)
		*p = m->next;
}

/* A new mapping for app:port: an unconnected socket, the hook run on it
 * (as a shared socket), registered for reading. */
static int32_t new_map(struct driver *d, struct cone *c, uint32_t flow,
		       uint8_t family, const struct wire_addr *app,
		       uint16_t port)
{
	int fd = hostsock_os_socket(family, SOCK_DGRAM, 0);
	if (fd < 0)
		return fd;
	int err = egress_prepare_shared(d, fd, family, flow);
	if (err < 0) {
		close(fd);
		return err;
	}
	int id =
	    hostsock_register(d, fd, UINT32_MAX, HS_UDP, family, POLLER_IN);
	if (id < 0)
		return id;
	struct cone_sock *m = &c->s[id];
	memset(m, 0, sizeof(*m));
	m->kind = CONE_MAP;
	m->family = family;
	m->port = port;
	m->addr = *app;
	m->gen = d->socks[id].gen;
	uint32_t b = hash(c, family, app, port);
	m->next = c->bucket[b];
	c->bucket[b] = id;
	return id;
}

int cone_open(struct driver *d, uint32_t flow, uint8_t family,
	      const struct wire_addr *dst, uint16_t dport)
{
	struct cone *c = cone_of(d);
	struct flow_key k;
	if (!core_flow_key(d->core, flow, &k))
		return -EINVAL;
	int32_t map = find_map(c, family, &k.src, k.sport);
	if (map < 0) {
		map = new_map(d, c, flow, family, &k.src, k.sport);
		if (map < 0)
			return map;
	}
	int id = driver_sock_alloc(d, -1, flow, HS_UDP, family);
	if (id < 0) {
		if (!c->s[map].refs) {
			unlink_map(c, map);
			c->s[map].kind = CONE_NONE;
			hostsock_close(d, map, false);
		}
		return id;
	}
	struct cone_sock *f = &c->s[id];
	memset(f, 0, sizeof(*f));
	f->kind = CONE_FLOW;
	f->family = family;
	f->map = map;
	f->addr = *dst;
	f->port = dport;
	f->gen = d->socks[id].gen;
	c->s[map].refs++;
	return id;
}

bool cone_delivering(struct driver *d)
{
	struct cone *c = cone_of(d);
	return c && c->pend_map >= 0;
}

bool cone_owns(struct driver *d, int sock)
{
	struct cone *c = cone_of(d);
	return c && (uint32_t)sock < d->nsocks &&
	       c->s[sock].kind == CONE_FLOW &&
	       c->s[sock].gen == d->socks[sock].gen;
}

long cone_send(struct driver *d, int sock, const struct core_iov *iov,
	       int iovcnt)
{
	struct cone *c = cone_of(d);
	struct cone_sock *f = &c->s[sock];
	struct sockaddr_storage ss;
	socklen_t sl = hostsock_sockaddr(f->family, &f->addr, f->port, &ss);
	struct msghdr mh = {.msg_name = &ss,
			    .msg_namelen = sl,
			    .msg_iov = (struct iovec *)(uintptr_t)iov,
			    .msg_iovlen = (size_t)iovcnt};
	ssize_t n = sendmsg(d->socks[f->map].fd, &mh, MSG_DONTWAIT); /* UDP: no
								SIGPIPE */
	return n < 0 ? -errno : n;
}

long cone_recv(struct driver *d, int sock, const struct core_iov *iov,
	       int iovcnt, size_t *full_len)
{
	struct cone *c = cone_of(d);
	struct cone_sock *f = &c->s[sock];
	if (c->pend_map != f->map || c->pend_port != f->port ||
	    c->pend_family != f->family ||
	    !wire_addr_eq(&c->pend_from, &f->addr))
		return -EAGAIN;
	size_t off = 0;
	for (int i = 0; i < iovcnt && off < c->pend_len; i++) {
		size_t n = c->pend_len - off < iov[i].len ? c->pend_len - off
							  : iov[i].len;
		memcpy(iov[i].base, c->buf + off, n);
		off += n;
	}
	if (full_len)
		*full_len = c->pend_len;
	c->pend_map = -1;
	return (long)off;
}

void cone_close(struct driver *d, int sock)
{
	struct cone *c = cone_of(d);
	struct cone_sock *f = &c->s[sock];
	int32_t map = f->map;
	f->kind = CONE_NONE;
	driver_sock_free(d, sock); /* no fd, not in the poller */
	if (--c->s[map].refs == 0) {
		unlink_map(c, map);
		c->s[map].kind = CONE_NONE;
		hostsock_close(d, map, false);
	}
}

static void drop(struct cone *c)
{
	__atomic_add_fetch(&c->dropped, 1, __ATOMIC_RELAXED);
}

bool cone_event(struct driver *d, uint32_t id, uint32_t events, uint64_t now)
{
	struct cone *c = cone_of(d);
	if (!c || id >= d->nsocks || c->s[id].kind != CONE_MAP ||
	    c->s[id].gen != d->socks[id].gen)
		return false;
	struct cone_sock *m = &c->s[id];
	(void)events;
	/* A bounded batch; the socket stays readable (level-triggered) for
	 * the rest. */
	for (int i = 0; i < 64 && c->s[id].kind == CONE_MAP; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		ssize_t n = recvfrom(d->socks[id].fd, c->buf, 65536,
				     MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
		if (n < 0)
			break;
		struct wire_addr from;
		uint16_t port;
		if (ss.ss_family == AF_INET && m->family == 4) {
			const struct sockaddr_in *s4 =
			    (const struct sockaddr_in *)&ss;
			wire_addr_from4(&from, (const uint8_t *)&s4->sin_addr);
			port = ntohs(s4->sin_port);
		} else if (ss.ss_family == AF_INET6 && m->family == 6) {
			const struct sockaddr_in6 *s6 =
			    (const struct sockaddr_in6 *)&ss;
			wire_addr_from6(&from, s6->sin6_addr.s6_addr);
			port = ntohs(s6->sin6_port);
		} else {
			drop(c);
			continue;
		}
		c->pend_map = (int32_t)id;
		c->pend_len = (size_t)n;
		c->pend_family = m->family;
		c->pend_port = port;
		c->pend_from = from;
		struct wire_addr app = m->addr;
		uint16_t aport = m->port;
		uint8_t fam = m->family;
		core_udp_inbound(d->core, fam, &app, aport, &from, port, now);
		if (c->pend_map >= 0) {
			/* Refused by the policy, no room for a flow, or the
			 * ring full: dropped, as a NAT would. */
			c->pend_map = -1;
			drop(c);
		}
	}
	return true;
}
