/* SPDX-License-Identifier: MIT */
/* hostsock.c - the parts of the host ops every OS shares: the socket table
 * (small ids the core sees, reused through a free stack, a generation per
 * reuse), sockaddr conversion, opening and connecting the sockets of a
 * flow, poller registration, want() and close(). The OS files
 * (hostsock_linux.c, hostsock_darwin.c) make a socket non-blocking the
 * way their OS allows, apply the socket options and move the data; the
 * TCP receive side is tcprx.h's.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host/driver.h"
#include "host/tcprx.h"

socklen_t hostsock_sockaddr(uint8_t family, const struct wire_addr *a,
			    uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, wire_addr_v4(a), 4);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	memcpy(&sin6->sin6_addr, a->b, 16);
	return sizeof(*sin6);
}

int driver_sock_alloc(struct driver *d, int fd, uint32_t flow,
		      enum hsock_kind kind, uint8_t family)
{
	uint32_t id;
	if (d->nfree)
		id = d->free_stack[--d->nfree];
	else if (d->high < d->nsocks)
		id = d->high++;
	else
		return -EMFILE;
	struct hsock *s = &d->socks[id];
	uint32_t gen = s->gen + 1;
	memset(s, 0, sizeof(*s));
	s->gen = gen;
	s->fd = fd;
	s->flow = flow;
	s->kind = (uint8_t)kind;
	s->family = family;
	return (int)id;
}

void driver_sock_free(struct driver *d, int id)
{
	struct hsock *s = &d->socks[id];
	s->kind = HS_FREE;
	s->fd = -1;
	/* A slot on the deferred list is reused only after the list has
	 * passed it; run_deferred skips free slots. */
	if (!s->deferred)
		d->free_stack[d->nfree++] = (uint32_t)id;
}

int hostsock_register(struct driver *d, int fd, uint32_t flow,
		      enum hsock_kind kind, uint8_t family, uint32_t want)
{
	int id = driver_sock_alloc(d, fd, flow, kind, family);
	if (id < 0) {
		close(fd);
		return id;
	}
	int rc = poller_add(d->poller, fd,
			    DRV_TAG_GEN(TAG_SOCK, d->socks[id].gen, id), want);
	if (rc < 0) {
		close(fd);
		driver_sock_free(d, id);
		return rc;
	}
	d->socks[id].want = (uint8_t)want;
	return id;
}

void hostsock_want(void *ctx, int sock, bool readable, bool writable)
{
	struct driver *d = ctx;
	struct hsock *s = &d->socks[sock];
	uint8_t w = (uint8_t)((readable ? POLLER_IN : 0u) |
			      (writable ? POLLER_OUT : 0u) |
			      (s->kind == HS_TCP ? POLLER_EDGE : 0u));
	if (s->kind == HS_RAW || w == s->want)
		return;
	if (poller_mod(d->poller, s->fd, DRV_TAG_GEN(TAG_SOCK, s->gen, sock),
		       w) == 0)
		s->want = w;
}

void hostsock_close(void *ctx, int sock, bool reset)
{
	struct driver *d = ctx;
	struct hsock *s = &d->socks[sock];
	if (s->kind == HS_RAW) {
		driver_raw_close(d, s);
	} else if (s->fd >= 0) {
		if (s->kind == HS_UDP)
			udpbatch_flush(d); /* what the flow sent last */
		if (s->kind == HS_TCP)
			tcprx_release(d, sock);
		if (reset && s->kind == HS_TCP) {
			struct linger lg = {1, 0};
			setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg,
				   sizeof(lg));
		}
		close(s->fd); /* also leaves the poller */
	}
	driver_sock_free(d, sock);
}

int hostsock_shutdown_wr(void *ctx, int sock)
{
	struct driver *d = ctx;
	return shutdown(d->socks[sock].fd, SHUT_WR) < 0 ? -errno : 0;
}

int hostsock_register_connecting(struct driver *d, int fd, uint32_t flow,
				 uint8_t family, int connect_err)
{
	/* Edge-triggered: data the core has peeked stays in the socket until
	 * the app acknowledges it, and would keep a level-triggered fd ready. */
	int id = hostsock_register(d, fd, flow, HS_TCP, family,
				   POLLER_OUT | POLLER_EDGE);
	if (id >= 0 && connect_err) {
		d->socks[id].pending_err = connect_err;
		driver_defer_event(d, id);
	}
	return id;
}

/* fd, a new socket (or -errno, passed through), with the configured
 * options (fwmark, bound interface, the egress hook) applied before it
 * connects: unmarked, it could loop back into the TUN. Returns the fd or
 * -errno (fd closed). */
static int with_options(struct driver *d, int fd, uint8_t family)
{
	if (fd < 0)
		return fd;
	int err = hostsock_apply_options(d, fd, family);
	if (err < 0) {
		close(fd);
		return err;
	}
	return fd;
}

/* UDP and ping sockets are connect()ed, so the kernel filters replies and
 * reports ICMP errors about our datagrams on them. */
static int connect_dgram(struct driver *d, int fd, uint32_t flow,
			 enum hsock_kind kind, uint8_t family,
			 const struct wire_addr *dst, uint16_t port)
{
	hostsock_os_dgram_ready(fd, family);
	struct sockaddr_storage ss;
	socklen_t sl = hostsock_sockaddr(family, dst, port, &ss);
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	return hostsock_register(d, fd, flow, kind, family, POLLER_IN);
}

int hostsock_udp_open(void *ctx, uint32_t flow, uint8_t family,
		      const struct wire_addr *dst, uint16_t dport)
{
	struct driver *d = ctx;
	int fd =
	    with_options(d, hostsock_os_socket(family, SOCK_DGRAM, 0), family);
	if (fd < 0)
		return fd;
	return connect_dgram(d, fd, flow, HS_UDP, family, dst, dport);
}

int hostsock_icmp_open(void *ctx, uint32_t flow, uint8_t family,
		       const struct wire_addr *dst)
{
	struct driver *d = ctx;
	int fd = hostsock_os_socket(
	    family, SOCK_DGRAM, family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	/* Ping sockets not permitted for our group (Linux's
	 * net.ipv4.ping_group_range): one shared raw socket instead, if we
	 * may open one (icmp_raw_linux.c; Darwin has none). */
	if (fd == -EACCES || fd == -EPERM)
		return driver_raw_open(d, flow, family, dst->b);
	fd = with_options(d, fd, family);
	if (fd < 0)
		return fd;
	return connect_dgram(d, fd, flow, HS_PING, family, dst, 0);
}

int hostsock_tcp_connect(void *ctx, uint32_t flow, uint8_t family,
			 const struct wire_addr *dst, uint16_t dport)
{
	struct driver *d = ctx;
	int fd =
	    with_options(d, hostsock_os_socket(family, SOCK_STREAM, 0), family);
	if (fd < 0)
		return fd;
	/* The app's own stack already decided how to segment; Nagle here
	 * would only add delay. */
	int on = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	hostsock_tcp_rcvbuf(d, fd);
	struct sockaddr_storage ss;
	socklen_t sl = hostsock_sockaddr(family, dst, dport, &ss);
	int err = 0;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS)
		err = errno;
	return hostsock_register_connecting(d, fd, flow, family, err);
}

static long hostsock_peek(void *ctx, int sock, size_t offset,
			  const struct core_iov *iov, int iovcnt)
{
	return tcprx_peek(ctx, sock, offset, iov, iovcnt);
}

static int hostsock_discard(void *ctx, int sock, size_t n)
{
	return tcprx_discard(ctx, sock, n);
}

const struct core_host_ops driver_host_ops = {
    .udp_open = hostsock_udp_open,
    .icmp_open = hostsock_icmp_open,
    .tcp_connect = hostsock_tcp_connect,
    .send = hostsock_send,
    .recv = hostsock_recv,
    .recv_batch = udpbatch_recv,
    .peek = hostsock_peek,
    .discard = hostsock_discard,
    .shutdown_wr = hostsock_shutdown_wr,
    .sock_error = hostsock_sock_error,
    .want = hostsock_want,
    .close = hostsock_close,
};
