/* tunconn_fd.c - packets on a TUN file descriptor.
 *
 * Linux TUN (IFF_NO_PI) and Android's VpnService fd carry one bare IP
 * packet per read()/write(). Darwin's utun prefixes each packet with a
 * 4-byte address family in network order; the engine leaves headroom in
 * front of every outgoing packet so that header is written in place, and
 * incoming packets are read with the header into the same arena.
 *
 * The TUN interface has no batched read or write (without the virtio-net
 * header and GSO, a later change), so a batch is a loop of non-blocking
 * calls that stops at EAGAIN; what batching buys here is fewer poller
 * round trips and one pass of the engine per batch.
 */
#include "io/tunconn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tunproxy.h"

#define FD_BATCH 64
#define UTUN_HDR 4

struct tunconn_fd {
	struct tunconn base;
	int fd;
	uint32_t framing;
	size_t buf_size;
	uint8_t *arena; /* FD_BATCH buffers of buf_size */
};

static int fd_read_batch(struct tunconn *t, struct tun_pkt *pkts, int max)
{
	struct tunconn_fd *c = (struct tunconn_fd *)t;
	size_t hdr = c->framing == TP_FRAMING_UTUN ? UTUN_HDR : 0;
	if (max > FD_BATCH)
		max = FD_BATCH;
	int n = 0;
	while (n < max) {
		uint8_t *buf = c->arena + (size_t)n * c->buf_size;
		ssize_t r = read(c->fd, buf, c->buf_size);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return n ? n : -errno;
		}
		if (r == 0)
			return n ? n : -EIO; /* device gone */
		if ((size_t)r <= hdr)
			continue;
		pkts[n].data = buf + hdr;
		pkts[n].len = (size_t)r - hdr;
		n++;
	}
	return n;
}

static int fd_write_batch(struct tunconn *t, struct core_tx_pkt *pkts, int n,
			  uint64_t *dropped)
{
	struct tunconn_fd *c = (struct tunconn_fd *)t;
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
		ssize_t w;
		do {
			w = write(c->fd, p, len);
		} while (w < 0 && errno == EINTR);
		if (w < 0) {
			if (errno == EBADF || errno == EIO)
				return -errno;
			/* Queue full or the packet refused: a lossy link,
			 * which TCP recovers from; counted, not fatal. */
			(*dropped)++;
		}
	}
	return n;
}

static int fd_fd(const struct tunconn *t)
{
	return ((const struct tunconn_fd *)t)->fd;
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
};

struct tunconn *tunconn_fd_create(int fd, uint32_t framing, uint32_t mtu)
{
	struct tunconn_fd *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->base.ops = &fd_ops;
	c->fd = fd;
	c->framing = framing;
	/* Room for one maximal packet: a peer may send more than our MTU
	 * if its side is misconfigured; a short buffer would truncate. */
	c->buf_size = (mtu > 65535 ? mtu : 65535) + UTUN_HDR;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		free(c);
		return NULL;
	}
	c->arena = malloc(FD_BATCH * c->buf_size);
	if (!c->arena) {
		free(c);
		return NULL;
	}
	return &c->base;
}
