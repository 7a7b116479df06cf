/* SPDX-License-Identifier: MIT */
/* tunconn_fd.c - packets on a TUN file descriptor.
 *
 * Linux TUN (IFF_NO_PI) and Android's VpnService fd carry one bare IP
 * packet per read()/write(). Darwin's utun prefixes each packet with a
 * 4-byte address family in network order; the engine leaves headroom in
 * front of every outgoing packet so that header is written in place, and
 * incoming packets are read with the header into the same arena.
 *
 * With TP_FRAMING_VNET_HDR (a Linux TUN opened by tp_tun_open_offload)
 * each packet has a virtio-net header instead (tun_vnet.h): incoming
 * packets may be TSO super-packets with partial checksums, which the
 * engine takes as they are, and outgoing runs of TCP segments leave as
 * one GSO super-packet, gathered from their slots by writev() without a
 * copy.
 *
 * The TUN interface has no batched read or write, so a batch is a loop of
 * non-blocking calls that stops at EAGAIN; what batching buys here is
 * fewer poller round trips and one pass of the engine per batch.
 */
#include "io/tunconn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io/tun_vnet.h"
#include "tunproxy.h"

#define FD_BATCH 64
#define UTUN_HDR 4
/* The receive arena: packets are read back to back (64-byte aligned), each
 * read offered room for a maximal packet. 64 small packets fit in a batch;
 * 64 KB super-packets a few at a time. Resident memory stays at this size
 * whatever the traffic, instead of 64 maximal buffers (4 MB). */
#define FD_ARENA_SMALL (FD_BATCH * 2048)
#define FD_ALIGN       64

struct tunconn_fd {
	struct tunconn base;
	int fd;
	uint32_t framing;
	size_t hdr;	   /* framing bytes before each packet */
	size_t buf_size;   /* room for one maximal packet and its header */
	size_t arena_size; /* FD_ARENA_SMALL + buf_size */
	uint8_t *arena;
	bool uso; /* TUN_F_USO4/6 granted: UDP runs leave as one packet */
	/* Loop thread writes, any thread reads (relaxed atomics). */
	uint64_t gso_written, gso_segments, tso_read;
	uint64_t uso_written, uso_datagrams;
};

static void count(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, *c + n, __ATOMIC_RELAXED);
}

/* Flags for the engine from a virtio-net header; counts TSO packets. A
 * UDP super-packet (USO) leaves its segment size in *gso_size: the driver
 * sends its datagrams on as they were cut (udpbatch_linux.c). */
static uint32_t vnet_rx_flags(struct tunconn_fd *c, const uint8_t *buf,
			      uint16_t *gso_size)
{
	struct vnet_hdr h;
	vnet_hdr_read(buf, &h);
	if ((h.gso_type & ~VNET_GSO_ECN) != VNET_GSO_NONE)
		count(&c->tso_read, 1);
	if ((h.gso_type & ~VNET_GSO_ECN) == VNET_GSO_UDP_L4)
		*gso_size = h.gso_size;
	return h.flags & (VNET_F_NEEDS_CSUM | VNET_F_DATA_VALID)
		   ? CORE_IN_CSUM_OK
		   : 0;
}

static int fd_read_batch(struct tunconn *t, struct tun_pkt *pkts, int max)
{
	struct tunconn_fd *c = (struct tunconn_fd *)t;
	size_t hdr = c->hdr;
	if (max > FD_BATCH)
		max = FD_BATCH;
	int n = 0;
	size_t off = 0;
	t->drained = false;
	while (n < max && c->arena_size - off >= c->buf_size) {
		uint8_t *buf = c->arena + off;
		ssize_t r = read(c->fd, buf, c->buf_size);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				t->drained = true;
				break;
			}
			return n ? n : -errno;
		}
		if (r == 0)
			return n ? n : -EIO; /* device gone */
		if ((size_t)r <= hdr)
			continue;
		pkts[n].data = buf + hdr;
		pkts[n].len = (size_t)r - hdr;
		pkts[n].gso_size = 0;
		pkts[n].flags = c->framing == TP_FRAMING_VNET_HDR
				    ? vnet_rx_flags(c, buf, &pkts[n].gso_size)
				    : 0;
		n++;
		off += ((size_t)r + FD_ALIGN - 1) & ~(size_t)(FD_ALIGN - 1);
	}
	return n;
}

/* Writes one packet (cnt pieces). Returns 1 if written, 0 if it failed
 * for this packet only (queue full or the packet refused: a lossy link,
 * which TCP recovers from), -errno if the device is gone. */
static int write_packet(int fd, const struct iovec *iov, int cnt)
{
	ssize_t w;
	do {
		w = writev(fd, iov, cnt);
	} while (w < 0 && errno == EINTR);
	if (w >= 0)
		return 1;
	return errno == EBADF || errno == EIO ? -errno : 0;
}

/* The next run of pkts (1..n packets) behind one virtio-net header:
 * alone, or merged into a GSO super-packet. Returns how many it took,
 * or -errno if the device is gone. */
static int write_vnet_run(struct tunconn_fd *c, struct core_tx_pkt *pkts, int n,
			  uint64_t *dropped)
{
	struct iovec iov[FD_BATCH];
	struct vnet_hdr h = {0};
	int m = n < FD_BATCH ? n : FD_BATCH;
	int k = vnet_gso_run(pkts, m);
	bool udp = false;
	if (k == 1 && c->uso) {
		k = vnet_uso_run(pkts, m);
		udp = k > 1;
	}
	size_t hl = !(k > 1) ? 0
		    : udp    ? vnet_uso_merge(pkts, k, &h)
			     : vnet_gso_merge(pkts, k, &h);
	uint8_t *p = pkts[0].data - VNET_HDR_LEN;
	vnet_hdr_write(p, &h);
	iov[0].iov_base = p;
	iov[0].iov_len = pkts[0].len + VNET_HDR_LEN;
	for (int i = 1; i < k; i++) {
		iov[i].iov_base = pkts[i].data + hl;
		iov[i].iov_len = pkts[i].len - hl;
	}
	int w = write_packet(c->fd, iov, k);
	if (w < 0)
		return w;
	if (w == 0) {
		*dropped += (uint64_t)k;
	} else if (udp) {
		count(&c->uso_written, 1);
		count(&c->uso_datagrams, (uint64_t)k);
	} else if (k > 1) {
		count(&c->gso_written, 1);
		count(&c->gso_segments, (uint64_t)k);
	}
	return k;
}

static int fd_write_batch(struct tunconn *t, struct core_tx_pkt *pkts, int n,
			  uint64_t *dropped)
{
	struct tunconn_fd *c = (struct tunconn_fd *)t;
	if (c->framing == TP_FRAMING_VNET_HDR) {
		for (int i = 0; i < n;) {
			int k = write_vnet_run(c, pkts + i, n - i, dropped);
			if (k < 0)
				return k;
			i += k;
		}
		return n;
	}
	for (int i = 0; i < n; i++) {
		uint8_t *p = pkts[i].data;
		size_t len = pkts[i].len;
		if (c->framing == TP_FRAMING_UTUN) {
			/* AF_INET is 2 and AF_INET6 is 30 on Darwin. */
			uint32_t af = pkts[i].family == 6 ? 30 : 2;
			p -= UTUN_HDR;
			p[0] = (uint8_t)(af >> 24);
			p[1] = (uint8_t)(af >> 16);
			p[2] = (uint8_t)(af >> 8);
			p[3] = (uint8_t)af;
			len += UTUN_HDR;
		}
		struct iovec iov = {p, len};
		int w = write_packet(c->fd, &iov, 1);
		if (w < 0)
			return w;
		if (w == 0)
			(*dropped)++;
	}
	return n;
}

static int fd_fd(const struct tunconn *t)
{
	return ((const struct tunconn_fd *)t)->fd;
}

static void fd_counters(const struct tunconn *t, uint64_t *vals, size_t n)
{
	const struct tunconn_fd *c = (const struct tunconn_fd *)t;
	tunconn_add_counter(vals, n, TP_CTR_tun_gso_written, &c->gso_written);
	tunconn_add_counter(vals, n, TP_CTR_tun_gso_segments, &c->gso_segments);
	tunconn_add_counter(vals, n, TP_CTR_tun_tso_read, &c->tso_read);
	tunconn_add_counter(vals, n, TP_CTR_tun_uso_written, &c->uso_written);
	tunconn_add_counter(vals, n, TP_CTR_tun_uso_datagrams,
			    &c->uso_datagrams);
}

static void fd_close(struct tunconn *t)
{
	struct tunconn_fd *c = (struct tunconn_fd *)t;
	free(c->arena);
	free(c);
}

static const struct tunconn_ops fd_ops = {
    .read_batch = fd_read_batch,
    .write_batch = fd_write_batch,
    .fd = fd_fd,
    .close = fd_close,
    .counters = fd_counters,
};

struct tunconn *tunconn_fd_create(int fd, uint32_t framing, uint32_t mtu)
{
	struct tunconn_fd *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->base.ops = &fd_ops;
	c->fd = fd;
	c->framing = framing;
	c->hdr = framing == TP_FRAMING_UTUN	  ? UTUN_HDR
		 : framing == TP_FRAMING_VNET_HDR ? VNET_HDR_LEN
						  : 0;
	/* Room for one maximal packet (a TSO super-packet, or a peer that
	 * sends more than our MTU because its side is misconfigured): a
	 * short buffer would truncate. */
	c->buf_size = (mtu > 65535 ? mtu : 65535) + c->hdr;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		free(c);
		return NULL;
	}
	/* UDP segmentation offload both ways (tun_try_uso): granted, the
	 * app's kernel may hand us UDP super-packets (the driver sends them
	 * on with UDP GSO) and takes ours; refused, one packet per datagram
	 * as before. */
	if (framing == TP_FRAMING_VNET_HDR)
		c->uso = tun_try_uso(fd);
	c->arena_size = FD_ARENA_SMALL + c->buf_size;
	c->arena = malloc(c->arena_size);
	if (!c->arena) {
		free(c);
		return NULL;
	}
	return &c->base;
}
