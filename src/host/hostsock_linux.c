/* SPDX-License-Identifier: MIT */
/* hostsock_linux.c - the core's host ops on Linux sockets.
 *
 * Every socket is non-blocking and close-on-exec. Choices that matter:
 * - UDP and ping sockets are connect()ed, so the kernel filters replies
 *   and reports ICMP errors about our datagrams on them; IP_RECVERR /
 *   IPV6_RECVERR queue those errors with their ICMP type and code, which
 *   sock_error() reads from the error queue (MSG_ERRQUEUE).
 * - TCP sockets have TCP_NODELAY (the app's own stack already decided how
 *   to segment; Nagle here would only add delay). What the host sends is
 *   kept until the app acknowledges it by tcprx.h: in the kernel socket
 *   with SO_PEEK_OFF (tcprx_peekoff_linux.c), or in a userspace ring
 *   (tcprx_copy.c, the Darwin path, with -DTP_TCPRX_COPY=ON).
 * - App data arrives one segment per TUN packet. Within a batch read from
 *   the TUN, sends to TCP sockets carry MSG_MORE while more packets
 *   follow, so the host stack builds large segments (and GSO batches)
 *   instead of pushing one small segment per app segment; when the batch
 *   ends every socket left corked is pushed (setting TCP_NODELAY again
 *   pushes pending frames). Latency is unchanged: the push happens before
 *   the loop waits again.
 * - A connect() that fails at once (no route, refused on loopback) still
 *   gets a socket id; its error is delivered as a deferred event so the
 *   core sees one path for every outcome.
 * - --fwmark / --bind-interface (tp_config.fwmark, .bind_interface):
 *   SO_MARK and SO_BINDTODEVICE on every host socket, before it connects,
 *   so a policy rule or the bound interface keeps its packets out of the
 *   TUN when the TUN is this namespace's default route (docs/tunproxy.md).
 *   A socket the option cannot be set on is not used: unmarked, it could
 *   loop back into the TUN.
 * The socket table, registration, want() and close() are hostsock.c's.
 */
#include <errno.h>
#include <time.h>
#include <linux/errqueue.h>
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

static struct driver *drv(void *ctx)
{
	return ctx;
}

static void set_recverr(int fd, uint8_t family)
{
	int on = 1;
	if (family == 4)
		setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
	else
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on));
}

int hostsock_apply_options(struct driver *d, int fd, uint8_t family)
{
	(void)family; /* both are SOL_SOCKET options */
	if (d->fwmark && setsockopt(fd, SOL_SOCKET, SO_MARK, &d->fwmark,
				    sizeof(d->fwmark)) < 0)
		return -errno;
	if (d->bind_if[0] &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, d->bind_if,
		       (socklen_t)strlen(d->bind_if)) < 0)
		return -errno;
	return egress_socket_hook(d, fd, family);
}

static int options_error(struct driver *d, const char *what, int err)
{
	driver_log(d, TP_LOG_ERROR, "cannot %s on host sockets: %s%s", what,
		   strerror(err),
		   err == EPERM ? " (needs CAP_NET_ADMIN: run as root)" : "");
	return err == EPERM || err == EACCES ? -TP_EPERM
	       : err == ENODEV		     ? -TP_EINVAL
					     : -TP_ESYS;
}

int hostsock_options_init(struct driver *d, const struct tp_config *cfg)
{
	int uerr = udpbatch_init(d);
	if (uerr < 0)
		return uerr;
	d->fwmark = cfg->fwmark;
	const char *ifname = cfg->bind_interface;
	if (ifname && *ifname) {
		size_t n = strlen(ifname);
		unsigned idx =
		    n < sizeof(d->bind_if) ? if_nametoindex(ifname) : 0;
		if (!idx) {
			driver_log(d, TP_LOG_ERROR,
				   "bind_interface: no interface '%s' in this "
				   "network namespace",
				   ifname);
			return -TP_EINVAL;
		}
		memcpy(d->bind_if, ifname, n + 1);
		d->bind_ifindex = idx;
	}
	if (!d->fwmark && !d->bind_if[0])
		return 0;
	/* One probe socket, one option at a time, so the log names the one
	 * the kernel refused. */
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return options_error(d, "open a socket", errno);
	int err = 0;
	const char *what = NULL;
	if (d->fwmark && setsockopt(fd, SOL_SOCKET, SO_MARK, &d->fwmark,
				    sizeof(d->fwmark)) < 0) {
		err = errno;
		what = "set SO_MARK (fwmark)";
	} else if (d->bind_if[0] &&
		   setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, d->bind_if,
			      (socklen_t)strlen(d->bind_if)) < 0) {
		err = errno;
		what = "set SO_BINDTODEVICE (bind_interface)";
	}
	close(fd);
	if (what)
		return options_error(d, what, err);
	if (d->fwmark)
		driver_log(d, TP_LOG_INFO, "host sockets carry fwmark 0x%x",
			   d->fwmark);
	if (d->bind_if[0])
		driver_log(d, TP_LOG_INFO, "host sockets are bound to %s",
			   d->bind_if);
	return 0;
}

int hostsock_os_socket(uint8_t family, int type, int proto)
{
	int fd = socket(family == 4 ? AF_INET : AF_INET6,
			type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	return fd < 0 ? -errno : fd;
}

void hostsock_os_dgram_ready(int fd, uint8_t family)
{
	set_recverr(fd, family);
}

long hostsock_send(void *ctx, int sock, const struct core_iov *iov, int iovcnt)
{
	struct driver *d = drv(ctx);
	struct hsock *s = &d->socks[sock];
	if (s->kind == HS_RAW) {
		if (iovcnt != 1)
			return -EINVAL;
		return driver_raw_send(d, s, iov[0].base, iov[0].len);
	}
	if (s->kind == HS_UDP) {
		long q = udpbatch_send(d, sock, iov, iovcnt);
		if (q != -EOPNOTSUPP)
			return q;
	}
	struct msghdr mh = {.msg_iov = (struct iovec *)(uintptr_t)iov,
			    .msg_iovlen = (size_t)iovcnt};
	int flags = MSG_DONTWAIT | MSG_NOSIGNAL;
	bool cork = s->kind == HS_TCP && d->batch_more;
	if (cork)
		flags |= MSG_MORE;
	ssize_t n = sendmsg(s->fd, &mh, flags);
	if (n < 0)
		return -errno;
	if (cork && !s->corked && d->ncork < DRV_TUN_BATCH) {
		s->corked = 1;
		d->cork_id[d->ncork] = (uint32_t)sock;
		d->cork_gen[d->ncork++] = s->gen;
	} else if (!cork && s->kind == HS_TCP) {
		s->corked = 0; /* this send pushed everything */
	}
	return n;
}

void driver_push_corked(struct driver *d)
{
	udpbatch_flush(d);
	int on = 1;
	for (uint32_t i = 0; i < d->ncork; i++) {
		struct hsock *s = &d->socks[d->cork_id[i]];
		if (s->gen != d->cork_gen[i] || !s->corked || s->kind != HS_TCP)
			continue;
		setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		s->corked = 0;
	}
	d->ncork = 0;
}

long hostsock_recv(void *ctx, int sock, const struct core_iov *iov, int iovcnt,
		   size_t *full_len)
{
	struct driver *d = drv(ctx);
	struct hsock *s = &d->socks[sock];
	if (s->kind == HS_RAW) {
		if (!s->stash_len)
			return -EAGAIN;
		size_t n = 0, want = s->stash_len;
		for (int i = 0; i < iovcnt && n < want; i++) {
			size_t c =
			    want - n < iov[i].len ? want - n : iov[i].len;
			memcpy(iov[i].base, s->stash + n, c);
			n += c;
		}
		if (full_len)
			*full_len = want;
		s->stash_len = 0;
		return (long)n;
	}
	if (s->kind == HS_TCP) {
		long n = tcprx_recv(d, sock, iov, iovcnt);
		if (full_len && n >= 0)
			*full_len = (size_t)n;
		return n;
	}
	struct msghdr mh = {.msg_iov = (struct iovec *)(uintptr_t)iov,
			    .msg_iovlen = (size_t)iovcnt};
	ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0)
		return -errno;
	if (full_len)
		*full_len = (size_t)n;
	if (s->kind == HS_UDP)
		udpbatch_learn(d, sock, (size_t)n, iov[0].len);
	/* MSG_TRUNC returns the real length; report what fit. */
	size_t room = 0;
	for (int i = 0; i < iovcnt; i++)
		room += iov[i].len;
	if ((size_t)n > room)
		n = (ssize_t)room;
	return n;
}

/* Reads one queued extended error (IP_RECVERR) into out. */
static int read_errqueue(struct hsock *s, struct core_sock_error *out)
{
	union {
		char buf[512];
		struct cmsghdr align;
	} cbuf;
	char dummy[64];
	struct iovec iov = {dummy, sizeof(dummy)};
	struct sockaddr_storage from;
	struct msghdr mh = {.msg_name = &from,
			    .msg_namelen = sizeof(from),
			    .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf.buf,
			    .msg_controllen = sizeof(cbuf.buf)};
	if (recvmsg(s->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
		return 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
	     c = CMSG_NXTHDR(&mh, c)) {
		if (!((c->cmsg_level == IPPROTO_IP &&
		       c->cmsg_type == IP_RECVERR) ||
		      (c->cmsg_level == IPPROTO_IPV6 &&
		       c->cmsg_type == IPV6_RECVERR)))
			continue;
		struct sock_extended_err ee;
		memcpy(&ee, CMSG_DATA(c), sizeof(ee));
		memset(out, 0, sizeof(*out));
		out->err = (int)ee.ee_errno;
		out->type = ee.ee_type;
		out->code = ee.ee_code;
		out->info = ee.ee_info;
		out->origin = ee.ee_origin == SO_EE_ORIGIN_ICMP ? CORE_ERR_ICMP4
			      : ee.ee_origin == SO_EE_ORIGIN_ICMP6
				  ? CORE_ERR_ICMP6
				  : CORE_ERR_LOCAL;
		const struct sockaddr *off =
		    SO_EE_OFFENDER((struct sock_extended_err *)CMSG_DATA(c));
		if (off->sa_family == AF_INET)
			wire_addr_from4(
			    &out->offender,
			    (const uint8_t *)&((const struct sockaddr_in *)off)
				->sin_addr);
		else if (off->sa_family == AF_INET6)
			wire_addr_from6(
			    &out->offender,
			    (const uint8_t *)&((const struct sockaddr_in6 *)off)
				->sin6_addr);
		return 1;
	}
	return 0;
}

int hostsock_sock_error(void *ctx, int sock, struct core_sock_error *out)
{
	struct driver *d = drv(ctx);
	struct hsock *s = &d->socks[sock];
	memset(out, 0, sizeof(*out));
	if (s->pending_err) {
		out->err = s->pending_err;
		s->pending_err = 0;
		return 1;
	}
	if (s->kind == HS_RAW)
		return 0;
	int got = s->kind == HS_TCP ? 0 : read_errqueue(s, out);
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		return -errno;
	if (got)
		return 1;
	if (soerr) {
		out->err = soerr;
		return 1;
	}
	return 0;
}
