/* SPDX-License-Identifier: MIT */
/* device.c - the device simulator's loop (model in device.h).
 *
 * A pass polls the TUN, the server socket and the control fd. The TUN has
 * no batched read, so up to DEV_BATCH packets are read one by one into the
 * arena and then sent with one sendmmsg; datagrams from the server come in
 * with one recvmmsg and are written to the TUN one by one. Packets the
 * impairment stage holds are sent when due; the poll timeout is the
 * earliest due time. A full socket buffer or a refused datagram (server
 * not up yet) drops the packet and counts it: the apps' TCP retransmits.
 */
#include "device.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay_impair.h"
#include "devtun.h"
#include "tunproxy.h"
#include "udpio.h"

#define DEV_BATCH   UDPIO_BATCH
#define DEV_BATCHES 8
#define DGRAM_MAX   65536

struct device {
	struct device_opts o;
	int ufd;
	struct impair *imp_up, *imp_down;
	struct device_counters c;
	uint64_t last_sent_us; /* last datagram to the server */
	uint8_t *arena;	       /* DEV_BATCH buffers of DGRAM_MAX */
	struct udpio_in in[DEV_BATCH];
};

int device_create(const struct device_opts *o, struct device **out)
{
	char a[64];
	*out = NULL;
	struct device *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->o = *o;
	d->ufd = -1;
	int err = -ENOMEM;
	d->arena = malloc((size_t)DEV_BATCH * DGRAM_MAX);
	if (!d->arena)
		goto fail;
	for (int i = 0; i < DEV_BATCH; i++) {
		d->in[i].buf = d->arena + (size_t)i * DGRAM_MAX;
		d->in[i].cap = DGRAM_MAX;
	}
	int fl = fcntl(o->tun_fd, F_GETFL);
	if (fl < 0 || fcntl(o->tun_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		err = -errno;
		tool_log(TP_LOG_ERROR, "TUN fd %d: %s", o->tun_fd,
			 strerror(errno));
		goto fail;
	}
	d->ufd = tool_udp_socket(NULL, &o->server);
	if (d->ufd < 0) {
		err = d->ufd;
		tool_log(TP_LOG_ERROR, "cannot open a socket to %s: %s",
			 os_addr_str(&o->server.ss, a, sizeof(a)),
			 strerror(-err));
		goto fail;
	}
	err = relay_impair_create(&o->impair_up, &o->impair_down, o->mtu,
				  &d->imp_up, &d->imp_down);
	if (err < 0)
		goto fail;
	d->last_sent_us = os_clock_us();
	*out = d;
	return 0;
fail:
	device_destroy(d);
	return err;
}

void device_destroy(struct device *d)
{
	if (!d)
		return;
	if (d->ufd >= 0)
		close(d->ufd);
	impair_destroy(d->imp_up);
	impair_destroy(d->imp_down);
	free(d->arena);
	free(d);
}

static void send_up(struct device *d, struct udpio_out *out, int n)
{
	if (n == 0)
		return;
	/* Only EBADF/ENOTSOCK fail the call, which cannot happen on our own
	 * open socket; everything else is a counted drop. */
	(void)udpio_send(d->ufd, out, n, &d->c.send_failed);
	d->last_sent_us = os_clock_us();
	d->c.up_packets += (uint64_t)n;
	for (int i = 0; i < n; i++)
		d->c.up_bytes += out[i].len;
}

/* TUN -> server. */
static int pump_up(struct device *d)
{
	for (int b = 0; b < DEV_BATCHES; b++) {
		struct udpio_out out[DEV_BATCH];
		int k = 0, n = 0;
		uint64_t now = os_clock_us();
		while (n < DEV_BATCH) {
			uint8_t *buf = d->in[n].buf;
			ssize_t r = devtun_read(d->o.tun_fd, buf, DGRAM_MAX);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (r <= 0) {
				int e = r < 0 ? errno : EIO;
				tool_log(
				    TP_LOG_ERROR,
				    "TUN read failed: %s (device removed?)",
				    strerror(e));
				return -e;
			}
			n++;
			if (d->imp_up && impair_push(d->imp_up, buf, (size_t)r,
						     now) != IMPAIR_BYPASS)
				continue;
			out[k++] = (struct udpio_out){buf, (size_t)r, NULL, 0};
		}
		send_up(d, out, k);
		if (n < DEV_BATCH)
			break;
	}
	return 0;
}

static int tun_write(struct device *d, const uint8_t *p, size_t len)
{
	if (len == 0) {
		d->c.down_empty++;
		return 0;
	}
	ssize_t w;
	do {
		w = devtun_write(d->o.tun_fd, p, len);
	} while (w < 0 && errno == EINTR);
	if (w < 0) {
		if (errno == EBADF || errno == EIO) {
			tool_log(TP_LOG_ERROR, "TUN write failed: %s",
				 strerror(errno));
			return -errno;
		}
		d->c.tun_write_failed++;
		return 0;
	}
	d->c.down_packets++;
	d->c.down_bytes += len;
	return 0;
}

/* Server -> TUN. */
static int pump_down(struct device *d)
{
	for (int b = 0; b < DEV_BATCHES; b++) {
		int n = udpio_recv(d->ufd, d->in, DEV_BATCH);
		if (n <= 0)
			return n;
		uint64_t now = os_clock_us();
		for (int i = 0; i < n; i++) {
			struct udpio_in *m = &d->in[i];
			if (d->imp_down && m->len > 0 &&
			    impair_push(d->imp_down, m->buf, m->len, now) !=
				IMPAIR_BYPASS)
				continue;
			int rc = tun_write(d, m->buf, m->len);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int drain(struct device *d, uint64_t now)
{
	struct impair_pkt p[DEV_BATCH];
	size_t n;
	while (d->imp_up && (n = impair_take(d->imp_up, now, p, DEV_BATCH))) {
		struct udpio_out out[DEV_BATCH];
		for (size_t i = 0; i < n; i++)
			out[i] =
			    (struct udpio_out){p[i].data, p[i].len, NULL, 0};
		send_up(d, out, (int)n);
	}
	while (d->imp_down &&
	       (n = impair_take(d->imp_down, now, p, DEV_BATCH))) {
		for (size_t i = 0; i < n; i++) {
			int rc = tun_write(d, p[i].data, p[i].len);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* Sends a keepalive if nothing went to the server for keepalive_ms. */
static void keepalive(struct device *d, uint64_t now)
{
	uint64_t every = (uint64_t)d->o.keepalive_ms * 1000u;
	if (!every || now - d->last_sent_us < every)
		return;
	struct udpio_out ka = {(const uint8_t *)"", 0, NULL, 0};
	(void)udpio_send(d->ufd, &ka, 1, &d->c.send_failed);
	d->last_sent_us = now;
	d->c.keepalives++;
}

/* timeout_ms, shortened to when the next keepalive is due. */
static int keepalive_timeout(const struct device *d, int timeout_ms)
{
	uint64_t every = (uint64_t)d->o.keepalive_ms * 1000u;
	if (!every)
		return timeout_ms;
	uint64_t now = os_clock_us(), due = d->last_sent_us + every;
	int ms = due <= now ? 0 : (int)((due - now + 999) / 1000);
	return timeout_ms < 0 || ms < timeout_ms ? ms : timeout_ms;
}

int device_step(struct device *d, int timeout_ms)
{
	struct pollfd pfd[3] = {
	    {.fd = d->o.tun_fd, .events = POLLIN},
	    {.fd = d->ufd, .events = POLLIN},
	    {.fd = d->o.ctl_fd, .events = POLLIN},
	};
	int r =
	    poll(pfd, 3,
		 relay_impair_poll_timeout(d->imp_up, d->imp_down,
					   keepalive_timeout(d, timeout_ms)));
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	int rc = 0;
	if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
		tool_log(TP_LOG_ERROR, "the TUN device went away");
		return -EIO;
	}
	if (pfd[0].revents & POLLIN)
		rc = pump_up(d);
	if (rc == 0 && pfd[1].revents)
		rc = pump_down(d);
	if (rc == 0)
		rc = drain(d, os_clock_us());
	if (rc < 0)
		return rc;
	keepalive(d, os_clock_us());
	return d->o.ctl_fd >= 0 && (pfd[2].revents & POLLIN) ? 1 : 0;
}

void device_print_counters(const struct device *d, FILE *f)
{
#define DEVICE_X_PRINT(name, desc) tool_counter(f, #name, d->c.name);
	DEVICE_COUNTERS(DEVICE_X_PRINT)
#undef DEVICE_X_PRINT
	relay_impair_print_stats_end(d->imp_up, d->imp_down, f);
}
