/* SPDX-License-Identifier: MIT */
/* hostsock_darwin.c - the core's host ops on macOS and iOS sockets.
 *
 * The same model as hostsock_linux.c, with what Darwin lacks replaced:
 * - No SOCK_NONBLOCK/SOCK_CLOEXEC flags on socket(): fcntl afterwards.
 *   No MSG_NOSIGNAL: SO_NOSIGPIPE on every socket (a host that resets
 *   must not kill the app with SIGPIPE).
 * - No SO_PEEK_OFF: host -> app TCP data is kept in userspace rings
 *   charged to the memory budget (tcprx_copy.c, tested on Linux with
 *   -DTP_TCPRX_COPY=ON).
 * - No MSG_MORE: app -> host TCP sends are not corked within a batch
 *   (TCP_NODELAY stays on; the host stack still coalesces what queues up
 *   while the socket is busy). driver_push_corked() has nothing to do.
 * - No IP_RECVERR: a connected UDP socket reports an ICMP error as the
 *   errno of its next receive (ECONNREFUSED for port unreachable,
 *   EHOSTUNREACH, ENETUNREACH). That errno is kept for sock_error(), which
 *   gives the core the ICMP type and code it stands for, so the app still
 *   gets its "port unreachable".
 * - Ping sockets (SOCK_DGRAM + IPPROTO_ICMP) are open to every process on
 *   Darwin, so there is no raw-socket fallback (a Network Extension may
 *   not open raw sockets anyway): the driver_raw_* functions refuse. An
 *   IPv4 ping socket receives the IP header in front of the ICMP message
 *   (it is stripped here), and the kernel keeps the app's identifier
 *   rather than choosing its own: replies that carry another identifier
 *   (another flow to the same host) are skipped.
 *
 * - bind_interface: IP_BOUND_IF / IPV6_BOUND_IF (by index) on every host
 *   socket, the way a macOS VPN keeps its own traffic off the utun it
 *   routes everything into. There are no packet marks: fwmark is refused
 *   at tp_create (TP_EINVAL).
 *
 * Written for Apple platforms and only syntax-checked on Linux (see
 * docs/embedding.md, "What is verified where").
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "host/driver.h"
#include "host/egress.h"
#include "host/tcprx.h"
#include "wire/hdr.h"
#include "wire/packet.h"

/* Darwin's values (<netinet/in.h>, <netinet6/in6.h>), for headers that
 * lack them: the Linux syntax check of this file (tests/apple). */
#ifndef IP_BOUND_IF
#define IP_BOUND_IF 25
#endif
#ifndef IPV6_BOUND_IF
#define IPV6_BOUND_IF 125
#endif

/* ICMP types and codes a UDP errno stands for (RFC 792, RFC 4443). */
#define ICMP4_UNREACH 3
#define ICMP6_UNREACH 1
#define PING_SKIP_MAX 16 /* replies of other flows skipped per recv */

static struct driver *drv(void *ctx)
{
	return ctx;
}

int hostsock_apply_options(struct driver *d, int fd, uint8_t family)
{
	if (!d->bind_ifindex)
		return egress_socket_hook(d, fd, family);
	int r = family == 4
		    ? setsockopt(fd, IPPROTO_IP, IP_BOUND_IF, &d->bind_ifindex,
				 sizeof(d->bind_ifindex))
		    : setsockopt(fd, IPPROTO_IPV6, IPV6_BOUND_IF,
				 &d->bind_ifindex, sizeof(d->bind_ifindex));
	return r < 0 ? -errno : egress_socket_hook(d, fd, family);
}

int hostsock_options_init(struct driver *d, const struct tp_config *cfg)
{
	if (cfg->fwmark) {
		driver_log(d, TP_LOG_ERROR,
			   "fwmark: Apple platforms have no packet marks; use "
			   "bind_interface to keep host sockets off the TUN");
		return -TP_EINVAL;
	}
	const char *ifname = cfg->bind_interface;
	if (!ifname || !*ifname)
		return 0;
	size_t n = strlen(ifname);
	unsigned idx = n < sizeof(d->bind_if) ? if_nametoindex(ifname) : 0;
	if (!idx) {
		driver_log(d, TP_LOG_ERROR, "bind_interface: no interface '%s'",
			   ifname);
		return -TP_EINVAL;
	}
	memcpy(d->bind_if, ifname, n + 1);
	d->bind_ifindex = idx;
	driver_log(d, TP_LOG_INFO, "host sockets are bound to %s (index %u)",
		   ifname, idx);
	return 0;
}

int hostsock_os_socket(uint8_t family, int type, int proto)
{
	int fd = socket(family == 4 ? AF_INET : AF_INET6, type, proto);
	if (fd < 0)
		return -errno;
	int on = 1, fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof(on)) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

/* Nothing to ask for: a connected UDP socket reports ICMP errors as the
 * errno of its next receive (see the top of this file). */
void hostsock_os_dgram_ready(int fd, uint8_t family)
{
	(void)fd;
	(void)family;
}

/* The kernel's autotuning stays: host data moves into the budgeted rings
 * as it arrives (tcprx_copy.c), and SO_RCVBUF's accounting on Darwin has
 * not been measured. */
void hostsock_tcp_rcvbuf(struct driver *d, int fd)
{
	(void)d;
	(void)fd;
}

long hostsock_send(void *ctx, int sock, const struct core_iov *iov, int iovcnt)
{
	struct driver *d = drv(ctx);
	struct hsock *s = &d->socks[sock];
	if (s->kind == HS_PING && iovcnt >= 1 &&
	    iov[0].len >= WIRE_ICMP_HDR_LEN)
		s->raw_id = wire_icmp_echo_id(iov[0].base);
	struct msghdr mh = {.msg_iov = (struct iovec *)(uintptr_t)iov,
			    .msg_iovlen = iovcnt};
	ssize_t n = sendmsg(s->fd, &mh, MSG_DONTWAIT);
	return n < 0 ? -errno : n;
}

void driver_push_corked(struct driver *d)
{
	d->ncork = 0;
}

/* UDP batching is Linux's (udpbatch_linux.c): Darwin has no sendmmsg,
 * recvmmsg or UDP GSO, so every datagram is one system call. */
void udpbatch_flush(struct driver *d)
{
	(void)d;
}

void udpbatch_free(struct driver *d)
{
	(void)d;
}

/* The core then reads the socket with recv(), one datagram a call. */
long udpbatch_recv(void *ctx, int sock, struct core_dgram *m, int n)
{
	(void)ctx;
	(void)sock;
	(void)m;
	(void)n;
	return -EOPNOTSUPP;
}

void hostsock_udp_counters(const struct driver *d, uint64_t *vals, size_t n)
{
	(void)d;
	(void)vals;
	(void)n;
}

/* The length of the IPv4 header in front of a ping socket's datagram of
 * len bytes at p (0 for IPv6, or if there is none), or -1 if the datagram
 * is not an echo reply with this flow's identifier. */
static long ping_reply_hdr(const struct hsock *s, const uint8_t *p, size_t len)
{
	size_t ihl = 0;
	if (s->family == 4 && len >= WIRE_IP4_HDR_LEN &&
	    wire_ip_version(p) == 4) {
		ihl = wire_ip4_hdr_len(p);
		if (ihl < WIRE_IP4_HDR_LEN)
			return -1;
	}
	if (len < ihl + WIRE_ICMP_HDR_LEN)
		return -1;
	return wire_icmp_echo_id(p + ihl) == s->raw_id ? (long)ihl : -1;
}

/* Removes the first k bytes of the len bytes stored across iov (the
 * datagram may run from the core's slot into its scratch buffer). */
static void iov_drop_front(const struct core_iov *iov, int iovcnt, size_t len,
			   size_t k)
{
	for (size_t dst = 0; dst + k < len;) {
		/* Locate byte dst and byte dst + k, then move the longest run
		 * that stays inside one buffer on both sides. */
		size_t a = dst, b = dst + k;
		int ia = 0, ib = 0;
		while (ia < iovcnt && a >= iov[ia].len)
			a -= iov[ia++].len;
		while (ib < iovcnt && b >= iov[ib].len)
			b -= iov[ib++].len;
		if (ia >= iovcnt || ib >= iovcnt)
			return;
		size_t run = len - k - dst;
		if (iov[ia].len - a < run)
			run = iov[ia].len - a;
		if (iov[ib].len - b < run)
			run = iov[ib].len - b;
		memmove((uint8_t *)iov[ia].base + a,
			(const uint8_t *)iov[ib].base + b, run);
		dst += run;
	}
}

long hostsock_recv(void *ctx, int sock, const struct core_iov *iov, int iovcnt,
		   size_t *full_len)
{
	struct driver *d = drv(ctx);
	struct hsock *s = &d->socks[sock];
	if (s->kind == HS_TCP) {
		long n = tcprx_recv(d, sock, iov, iovcnt);
		if (full_len && n >= 0)
			*full_len = (size_t)n;
		return n;
	}
	for (int skip = 0; skip < PING_SKIP_MAX; skip++) {
		struct msghdr mh = {.msg_iov = (struct iovec *)(uintptr_t)iov,
				    .msg_iovlen = iovcnt};
		ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			int err = errno;
			/* An ICMP error about our datagrams: kept for
			 * sock_error(), which the core asks next. */
			if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR)
				s->pending_err = err;
			return -err;
		}
		size_t len = (size_t)n;
		if (s->kind == HS_PING) {
			/* The headers are in the first buffer (the core's
			 * slot, at least an MTU long). */
			long ihl =
			    ping_reply_hdr(s, iov[0].base,
					   len < iov[0].len ? len : iov[0].len);
			if (ihl < 0)
				continue;
			iov_drop_front(iov, iovcnt, len, (size_t)ihl);
			len -= (size_t)ihl;
		}
		if (full_len)
			*full_len = len;
		return (long)len;
	}
	return -EAGAIN;
}

/* The ICMP error a UDP or ping socket's errno stands for. */
static void icmp_for_errno(uint8_t family, int err, struct core_sock_error *out)
{
	int code4 = -1, code6 = -1;
	switch (err) {
	case ECONNREFUSED:
		code4 = 3; /* port unreachable */
		code6 = 4;
		break;
	case EHOSTUNREACH:
		code4 = 1; /* host unreachable */
		code6 = 3; /* address unreachable */
		break;
	case ENETUNREACH:
		code4 = 0; /* net unreachable */
		code6 = 0; /* no route */
		break;
	}
	if (code4 < 0)
		return;
	out->origin = family == 4 ? CORE_ERR_ICMP4 : CORE_ERR_ICMP6;
	out->type = family == 4 ? ICMP4_UNREACH : ICMP6_UNREACH;
	out->code = (uint8_t)(family == 4 ? code4 : code6);
}

int hostsock_sock_error(void *ctx, int sock, struct core_sock_error *out)
{
	struct driver *d = drv(ctx);
	struct hsock *s = &d->socks[sock];
	memset(out, 0, sizeof(*out));
	int err = s->pending_err;
	s->pending_err = 0;
	if (!err) {
		socklen_t sl = sizeof(err);
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
			return -errno;
	}
	if (!err)
		return 0;
	out->err = err;
	if (s->kind == HS_UDP || s->kind == HS_PING)
		icmp_for_errno(s->family, err, out);
	return 1;
}

/* No raw ICMP on Darwin (see the top of this file). */
int driver_raw_open(struct driver *d, uint32_t flow, uint8_t family,
		    const uint8_t dst[16])
{
	if (!d->ping_warned) {
		d->ping_warned = true;
		driver_log(d, TP_LOG_WARN,
			   "ICMP echo disabled: this system refused an ICMP "
			   "datagram socket");
	}
	return -EPERM;
}

long driver_raw_send(struct driver *d, struct hsock *s, const uint8_t *msg,
		     size_t len)
{
	return -EPERM;
}

void driver_raw_readable(struct driver *d, int which)
{
}

void driver_raw_close(struct driver *d, struct hsock *s)
{
}
