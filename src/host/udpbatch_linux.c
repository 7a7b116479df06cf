/* SPDX-License-Identifier: MIT */
/* udpbatch_linux.c - UDP host sockets, several datagrams per system call.
 *
 * App -> host. The app's datagrams arrive one per TUN packet. While more
 * packets of the same TUN batch follow (driver.batch_more), a UDP send is
 * not made at once: the payload is copied into a send arena (the packet
 * it came from may be a reassembly buffer freed right after) and queued.
 * When the batch ends (driver_push_corked), the queue leaves in as few
 * system calls as possible:
 * - a run of queued datagrams of one socket, of one size (the last may be
 *   shorter), goes as one UDP GSO send (UDP_SEGMENT cmsg, Linux 4.18):
 *   the host stack cuts it into the same datagrams, one trip down the
 *   stack for the run;
 * - the runs of one socket go in one sendmmsg() (Linux 3.0).
 * Errors are what a direct send would have said, delivered one pass later:
 * the socket's pending error and a deferred error event, so the flow
 * reports them to the app exactly as dgram.c does (docs/architecture.md,
 * "UDP batching");
 * a full socket buffer drops, as a direct send does, and is counted.
 * A GSO send the path refuses (EINVAL: a segment larger than the route's
 * MTU, i.e. the datagrams need IP fragments; EIO: no checksum offload on
 * the way out) is sent again one datagram at a time, and that socket
 * sends without GSO from then on.
 *
 * A UDP super-packet the app's kernel left whole for us (TUN USO, Linux
 * 6.2: the app sent with UDP_SEGMENT, as QUIC stacks do) is queued as the
 * datagrams it stands for, cut at its gso_size: they leave as GSO runs.
 *
 * Host -> app (udpbatch_recv, the recv_batch host op): recvmmsg() (Linux
 * 2.6.33) reads up to one transmit slot's worth of datagrams per slot the
 * core offers. A slot holds an MTU-sized datagram; a larger one (it will
 * leave as IP fragments) needs the core's scratch buffer, which only a
 * one-datagram read offers. So a socket is read one datagram at a time
 * for its first UDPB_LEARN datagrams (a DNS answer of 4 KB is the first
 * and only one), and for good once it has sent one that did not fit a
 * slot; a datagram that arrives too large inside a batch anyway is
 * dropped and counted (udp_rx_truncated), and the socket turns to reading
 * one at a time.
 *
 * Kernel features are probed once at start (udpbatch_init): UDP_SEGMENT on
 * a probe socket, sendmmsg/recvmmsg at their first use (ENOSYS: a loop of
 * sendmsg/recvmsg from then on). tests/e2e/shim_udp_nobatch.c refuses all
 * three so the fallbacks run in CI on any kernel.
 */
#define _GNU_SOURCE /* sendmmsg, recvmmsg */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "host/driver.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

/* Datagrams queued per TUN batch (one per TUN packet at most). */
#define UDPB_QUEUE DRV_TUN_BATCH
/* Payload bytes queued: 64 MTU-sized datagrams; a larger datagram that
 * does not fit flushes the queue, one larger than all of it goes alone. */
#define UDPB_ARENA (UDPB_QUEUE * 1536)
/* Segments per GSO send: the kernel's limit before Linux 6.x raised it to
 * 128 (UDP_MAX_SEGMENTS), and bytes per GSO send: below the 64 KB an IP
 * packet can carry with either header. */
#define UDPB_GSO_SEGS  64
#define UDPB_GSO_BYTES 65000
/* Datagrams a socket reads one at a time before batching (see above). */
#define UDPB_LEARN 8
/* Datagrams per recvmmsg. */
#define UDPB_RECV 64
/* The receive buffer of a socket that turned out to carry a stream of
 * datagrams (it was read in batches, or 15 one at a time), not one DNS
 * answer: a burst the host sends while our loop is busy (or descheduled
 * on a loaded machine) waits here instead of being dropped, as the app's
 * QUIC stack sizes its own buffers (4 MB is what they set). A limit, not
 * an allocation; SO_RCVBUFFORCE where we may exceed net.core.rmem_max.
 * One system call per such flow; a DNS flow never pays it. */
#define UDPB_RCVBUF (4 << 20)

struct udpb_entry {
	uint32_t id, gen; /* socket id and its generation when queued */
	uint32_t off, len;
};

struct udpbatch {
	bool gso;			 /* UDP_SEGMENT accepted by the probe */
	bool no_send_mmsg, no_recv_mmsg; /* ENOSYS seen */
	uint32_t n, used;
	struct udpb_entry q[UDPB_QUEUE];
	uint8_t arena[UDPB_ARENA];
};

static void count(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, *c + n, __ATOMIC_RELAXED);
}

int udpbatch_init(struct driver *d)
{
	d->ub = calloc(1, sizeof(*d->ub));
	if (!d->ub)
		return -TP_ENOMEM;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		int seg = 0;
		d->ub->gso = setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg,
					sizeof(seg)) == 0;
		close(fd);
	}
	driver_log(d, TP_LOG_INFO, "UDP GSO (UDP_SEGMENT): %s",
		   d->ub->gso ? "yes" : "no, one datagram per send");
	return 0;
}

void udpbatch_free(struct driver *d)
{
	free(d->ub);
	d->ub = NULL;
}

/* The error a failed send of n datagrams on s gives the flow: dropped and
 * counted; errors with a meaning for the app go to it (deferred event). */
static void send_failed(struct driver *d, uint32_t id, int err, uint32_t n)
{
	struct hsock *s = &d->socks[id];
	count(&d->udp_stats.send_errors, n);
	if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS ||
	    err == ENOMEM)
		return;
	if (!s->pending_err)
		s->pending_err = err;
	driver_defer_event(d, (int)id);
}

/* Sends entries [i, j) of the queue, all of socket id, one at a time. */
static void send_each(struct driver *d, uint32_t id, uint32_t i, uint32_t j)
{
	struct udpbatch *ub = d->ub;
	for (; i < j; i++) {
		struct iovec iov = {ub->arena + ub->q[i].off, ub->q[i].len};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t w;
		do {
			w = sendmsg(d->socks[id].fd, &mh,
				    MSG_DONTWAIT | MSG_NOSIGNAL);
		} while (w < 0 && errno == EINTR);
		if (w < 0)
			send_failed(d, id, errno, 1);
	}
}

/* The end of the run of GSO-able entries starting at i (all of one
 * socket, up to j): same length, the last one may be shorter. */
static uint32_t gso_run(const struct udpbatch *ub, uint32_t i, uint32_t j)
{
	uint32_t seg = ub->q[i].len, k = i + 1, bytes = seg;
	while (k < j && k - i < UDPB_GSO_SEGS && ub->q[k].len <= seg &&
	       bytes + ub->q[k].len <= UDPB_GSO_BYTES &&
	       ub->q[k].off == ub->q[k - 1].off + ub->q[k - 1].len) {
		bytes += ub->q[k].len;
		if (ub->q[k++].len < seg)
			break;
	}
	return k;
}

/* Sends entries [i, j), all of socket id: GSO runs, in one sendmmsg. */
static void send_socket(struct driver *d, uint32_t id, uint32_t i, uint32_t j)
{
	struct udpbatch *ub = d->ub;
	struct hsock *s = &d->socks[id];
	struct mmsghdr mm[UDPB_QUEUE];
	struct iovec iov[UDPB_QUEUE];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} cm[UDPB_QUEUE];
	uint32_t first[UDPB_QUEUE + 1];
	uint32_t m = 0;
	bool gso = ub->gso && !s->udp_no_gso;
	for (uint32_t k = i; k < j; m++) {
		uint32_t e = gso ? gso_run(ub, k, j) : k + 1;
		/* Only the headers this socket uses: a flush of 64 one-datagram
		 * flows would otherwise clear the whole array 64 times. */
		memset(&mm[m], 0, sizeof(mm[m]));
		uint32_t bytes = 0;
		for (uint32_t x = k; x < e; x++)
			bytes += ub->q[x].len;
		iov[m].iov_base = ub->arena + ub->q[k].off;
		iov[m].iov_len = bytes;
		mm[m].msg_hdr.msg_iov = &iov[m];
		mm[m].msg_hdr.msg_iovlen = 1;
		if (e - k > 1) {
			memset(&cm[m], 0, sizeof(cm[m]));
			mm[m].msg_hdr.msg_control = cm[m].buf;
			mm[m].msg_hdr.msg_controllen = sizeof(cm[m].buf);
			struct cmsghdr *c = CMSG_FIRSTHDR(&mm[m].msg_hdr);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			uint16_t seg = (uint16_t)ub->q[k].len;
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
		}
		first[m] = k;
		k = e;
	}
	first[m] = j;
	uint32_t at = 0;
	while (at < m) {
		int r;
		if (!ub->no_send_mmsg) {
			r = sendmmsg(s->fd, mm + at, m - at,
				     MSG_DONTWAIT | MSG_NOSIGNAL);
			if (r < 0 && errno == ENOSYS) {
				ub->no_send_mmsg = true;
				continue;
			}
		} else {
			ssize_t w = sendmsg(s->fd, &mm[at].msg_hdr,
					    MSG_DONTWAIT | MSG_NOSIGNAL);
			r = w < 0 ? -1 : 1;
		}
		if (r > 0) {
			for (uint32_t x = at; x < at + (uint32_t)r; x++) {
				uint32_t segs = first[x + 1] - first[x];
				if (segs > 1) {
					count(&d->udp_stats.gso_sends, 1);
					count(&d->udp_stats.gso_segments, segs);
				}
			}
			at += (uint32_t)r;
			continue;
		}
		int err = errno;
		if (err == EINTR)
			continue;
		uint32_t segs = first[at + 1] - first[at];
		if (segs > 1 && (err == EINVAL || err == EIO ||
				 err == EMSGSIZE || err == ENOPROTOOPT)) {
			/* The path refused GSO for this socket: these
			 * datagrams one at a time, and from now on. */
			s->udp_no_gso = 1;
			count(&d->udp_stats.gso_refused, 1);
			send_each(d, id, first[at], first[at + 1]);
		} else {
			send_failed(d, id, err, segs);
		}
		at++;
	}
}

void udpbatch_flush(struct driver *d)
{
	struct udpbatch *ub = d->ub;
	if (!ub || !ub->n)
		return;
	uint32_t n = ub->n;
	ub->n = 0;
	ub->used = 0;
	for (uint32_t i = 0; i < n;) {
		uint32_t id = ub->q[i].id, gen = ub->q[i].gen;
		/* The consecutive entries of this socket (an app's burst of
		 * one flow is one such stretch). */
		uint32_t j = i + 1;
		while (j < n && ub->q[j].id == id && ub->q[j].gen == gen)
			j++;
		struct hsock *s = &d->socks[id];
		if (s->kind == HS_UDP && s->gen == gen && s->fd >= 0)
			send_socket(d, id, i, j);
		i = j;
	}
}

/* A UDP super-packet from the app (USO: the TUN handed us its datagrams
 * back to back, cut at seg bytes): queued as the datagrams it stands for,
 * so they leave as GSO runs again, or one by one without GSO. */
static long send_train(struct driver *d, int sock, const uint8_t *p, size_t len,
		       size_t seg)
{
	struct udpbatch *ub = d->ub;
	count(&d->udp_stats.gso_trains, 1);
	for (size_t off = 0; off < len; off += seg) {
		uint32_t n = (uint32_t)(len - off < seg ? len - off : seg);
		if (ub->n == UDPB_QUEUE || ub->used + n > UDPB_ARENA)
			udpbatch_flush(d);
		struct udpb_entry *q = &ub->q[ub->n++];
		q->id = (uint32_t)sock;
		q->gen = d->socks[sock].gen;
		q->off = ub->used;
		q->len = n;
		memcpy(ub->arena + ub->used, p + off, n);
		ub->used += n;
	}
	count(&d->udp_stats.tx_batched, (len + seg - 1) / seg);
	return (long)len;
}

long udpbatch_send(struct driver *d, int sock, const struct core_iov *iov,
		   int iovcnt)
{
	struct udpbatch *ub = d->ub;
	size_t len = 0;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].len;
	if (ub && d->in_gso_size && len > d->in_gso_size && iovcnt == 1)
		return send_train(d, sock, iov[0].base, len, d->in_gso_size);
	if (!ub || (!d->batch_more && !ub->n))
		return -EOPNOTSUPP; /* alone: sent at once */
	if (len > UDPB_ARENA) {
		udpbatch_flush(d); /* keeps the order of this socket */
		return -EOPNOTSUPP;
	}
	if (ub->n == UDPB_QUEUE || ub->used + len > UDPB_ARENA)
		udpbatch_flush(d);
	struct udpb_entry *q = &ub->q[ub->n++];
	q->id = (uint32_t)sock;
	q->gen = d->socks[sock].gen;
	q->off = ub->used;
	q->len = (uint32_t)len;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(ub->arena + ub->used, iov[i].base, iov[i].len);
		ub->used += (uint32_t)iov[i].len;
	}
	count(&d->udp_stats.tx_batched, 1);
	return (long)len;
}

static void raise_rcvbuf(struct hsock *s)
{
	if (s->udp_rcvbuf)
		return;
	s->udp_rcvbuf = 1;
	int v = UDPB_RCVBUF;
	if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		(void)setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
}

long udpbatch_recv(void *ctx, int sock, struct core_dgram *m, int n)
{
	struct driver *d = ctx;
	struct udpbatch *ub = d->ub;
	struct hsock *s = &d->socks[sock];
	if (!ub || ub->no_recv_mmsg || s->kind != HS_UDP || s->udp_single ||
	    s->udp_learn < UDPB_LEARN || n < 2)
		return -EOPNOTSUPP;
	if (n > UDPB_RECV)
		n = UDPB_RECV;
	raise_rcvbuf(s);
	struct mmsghdr mm[UDPB_RECV];
	memset(mm, 0, sizeof(struct mmsghdr) * (size_t)n);
	for (int i = 0; i < n; i++) {
		mm[i].msg_hdr.msg_iov = (struct iovec *)(uintptr_t)&m[i].iov;
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	int r;
	do {
		r = recvmmsg(s->fd, mm, (unsigned)n, MSG_DONTWAIT | MSG_TRUNC,
			     NULL);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		if (errno == ENOSYS) {
			ub->no_recv_mmsg = true;
			return -EOPNOTSUPP;
		}
		return -errno;
	}
	/* Datagrams that did not fit their slot are gone (MSG_TRUNC gave
	 * their real length): drop them, close the gaps, and read this
	 * socket one datagram at a time from now on. */
	int k = 0;
	for (int i = 0; i < r; i++) {
		if ((mm[i].msg_hdr.msg_flags & MSG_TRUNC) ||
		    mm[i].msg_len > m[i].iov.len) {
			count(&d->udp_stats.rx_truncated, 1);
			s->udp_single = 1;
			continue;
		}
		if (k != i)
			memmove(m[k].iov.base, m[i].iov.base, mm[i].msg_len);
		m[k].len = mm[i].msg_len;
		k++;
	}
	count(&d->udp_stats.rx_batched, (uint64_t)k);
	if (r > 1)
		count(&d->udp_stats.rx_mmsg_calls, 1);
	return k ? k : -EAGAIN;
}

/* A datagram read one at a time (op_recv): what it says about the
 * socket's datagram sizes. room is what fit the slot. */
void udpbatch_learn(struct driver *d, int sock, size_t full, size_t room)
{
	struct hsock *s = &d->socks[sock];
	if (full > room)
		s->udp_single = 1;
	else if (s->udp_learn < 15)
		s->udp_learn++;
	if (s->udp_learn == 15)
		raise_rcvbuf(s);
}

void hostsock_udp_counters(const struct driver *d, uint64_t *vals, size_t n)
{
	tunconn_add_counter(vals, n, TP_CTR_udp_tx_batched,
			    &d->udp_stats.tx_batched);
	tunconn_add_counter(vals, n, TP_CTR_udp_gso_sends,
			    &d->udp_stats.gso_sends);
	tunconn_add_counter(vals, n, TP_CTR_udp_gso_segments,
			    &d->udp_stats.gso_segments);
	tunconn_add_counter(vals, n, TP_CTR_udp_gso_refused,
			    &d->udp_stats.gso_refused);
	tunconn_add_counter(vals, n, TP_CTR_udp_batch_send_errors,
			    &d->udp_stats.send_errors);
	tunconn_add_counter(vals, n, TP_CTR_udp_rx_batched,
			    &d->udp_stats.rx_batched);
	tunconn_add_counter(vals, n, TP_CTR_udp_rx_mmsg_calls,
			    &d->udp_stats.rx_mmsg_calls);
	tunconn_add_counter(vals, n, TP_CTR_udp_rx_truncated,
			    &d->udp_stats.rx_truncated);
	tunconn_add_counter(vals, n, TP_CTR_udp_gso_trains,
			    &d->udp_stats.gso_trains);
}
