/* SPDX-License-Identifier: MIT */
/* tee.c - the traffic tee (model in tee.h).
 *
 * One poll loop over four kinds of fd: the device-side UDP socket, the
 * upstream UDP socket (connected to the proxy, so only the proxy's
 * datagrams reach it), the mirror hub's listener and subscribers, and an
 * optional control fd (the CLI's signal pipe). Each pass receives up to
 * RELAY_BATCHES batches per socket into one arena, relays them with one
 * sendmmsg per batch (or hands them to the impairment stage, whose due
 * packets are sent after), publishes each relayed packet to the hub, and
 * lets the hub write to its subscribers without blocking.
 */
#include "tee.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mirror.h"
#include "mirror_hub.h"
#include "relay_impair.h"
#include "tunproxy.h"
#include "udpio.h"

#define RELAY_BATCHES		8
#define DGRAM_MAX		65536
#define POLL_MAX		(4 + TEE_MAX_SUBSCRIBERS)
#define FOREIGN_LOG_INTERVAL_US 10000000u

struct tee {
	struct tee_opts o;
	int lfd, ufd;
	struct mirror_hub *hub;
	struct impair *imp_up, *imp_down;

	bool has_dev;
	struct sockaddr_storage dev;
	socklen_t dev_len;
	uint64_t dev_seen;
	struct sockaddr_storage foreign_logged;
	uint64_t foreign_log_at;

	struct tee_counters c;
	uint8_t *arena;
	struct udpio_in in[UDPIO_BATCH];
};

void tee_opts_init(struct tee_opts *o)
{
	char err[128];
	memset(o, 0, sizeof(*o));
	tool_addr_parse("127.0.0.1:8080", NULL, &o->listen, err, sizeof(err));
	tool_addr_parse("127.0.0.1:8081", NULL, &o->forward, err, sizeof(err));
	tool_addr_parse("127.0.0.1:8082", NULL, &o->mirror, err, sizeof(err));
	o->mirror_on = true;
	o->client_idle_ms = 5000;
	o->max_subscribers = 8;
	o->subscriber_buffer = 4u << 20;
	impair_spec_init(&o->impair_up);
	impair_spec_init(&o->impair_down);
	o->impair_slot = 1500;
	o->ctl_fd = -1;
}

int tee_create(const struct tee_opts *o, struct tee **out)
{
	char a[64];
	int err = -ENOMEM;
	*out = NULL;
	struct tee *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->o = *o;
	if (t->o.client_idle_ms == 0)
		t->o.client_idle_ms = 1; /* one change per batch at most */
	t->lfd = t->ufd = -1;
	t->arena = malloc((size_t)UDPIO_BATCH * DGRAM_MAX);
	if (!t->arena)
		goto fail;
	for (int i = 0; i < UDPIO_BATCH; i++) {
		t->in[i].buf = t->arena + (size_t)i * DGRAM_MAX;
		t->in[i].cap = DGRAM_MAX;
	}
	t->lfd = tool_udp_socket(&o->listen, NULL);
	if (t->lfd < 0) {
		err = t->lfd;
		tool_log(TP_LOG_ERROR, "cannot listen on udp %s: %s",
			 os_addr_str(&o->listen.ss, a, sizeof(a)),
			 strerror(-err));
		goto fail;
	}
	t->ufd = tool_udp_socket(NULL, &o->forward);
	if (t->ufd < 0) {
		err = t->ufd;
		tool_log(TP_LOG_ERROR, "cannot open a socket to %s: %s",
			 os_addr_str(&o->forward.ss, a, sizeof(a)),
			 strerror(-err));
		goto fail;
	}
	if (t->o.max_subscribers > TEE_MAX_SUBSCRIBERS)
		t->o.max_subscribers = TEE_MAX_SUBSCRIBERS;
	if (o->mirror_on) {
		t->hub = mirror_hub_create(&o->mirror, t->o.max_subscribers,
					   o->subscriber_buffer, &err);
		if (!t->hub) {
			tool_log(TP_LOG_ERROR, "cannot listen on tcp %s: %s",
				 os_addr_str(&o->mirror.ss, a, sizeof(a)),
				 strerror(-err));
			goto fail;
		}
	}
	err = relay_impair_create(&o->impair_up, &o->impair_down,
				  o->impair_slot, &t->imp_up, &t->imp_down);
	if (err < 0)
		goto fail;
	*out = t;
	return 0;
fail:
	tee_destroy(t);
	return err;
}

void tee_destroy(struct tee *t)
{
	if (!t)
		return;
	if (t->lfd >= 0)
		close(t->lfd);
	if (t->ufd >= 0)
		close(t->ufd);
	mirror_hub_destroy(t->hub);
	impair_destroy(t->imp_up);
	impair_destroy(t->imp_down);
	free(t->arena);
	free(t);
}

void tee_local(const struct tee *t, struct tool_addr *listen,
	       struct tool_addr *mirror)
{
	listen->len = sizeof(listen->ss);
	getsockname(t->lfd, (struct sockaddr *)&listen->ss, &listen->len);
	if (t->hub)
		mirror_hub_local(t->hub, mirror);
	else
		memset(mirror, 0, sizeof(*mirror));
}

static uint64_t session_now(const struct tee *t)
{
	return t->o.clock_us ? t->o.clock_us(t->o.clock_ctx) : os_clock_us();
}

/* Drops what an impairment stage holds (the replaced device's packets). */
static void drop_held(struct tee *t, struct impair *im)
{
	struct impair_pkt p[UDPIO_BATCH];
	size_t n;
	while (im && (n = impair_take(im, UINT64_MAX, p, UDPIO_BATCH)) > 0)
		t->c.replaced_dropped += n;
}

/* A new device replaced the old one: nothing of the old one's traffic may
 * reach it (tee.h). Returns 0 or -errno (the old socket is then kept). */
static int replace_device(struct tee *t)
{
	char a[64];
	int fd = tool_udp_socket(NULL, &t->o.forward);
	if (fd < 0) {
		tool_log(TP_LOG_ERROR,
			 "cannot reopen the socket to %s: %s; the new device "
			 "may get replies meant for the old one",
			 os_addr_str(&t->o.forward.ss, a, sizeof(a)),
			 strerror(-fd));
		return fd;
	}
	close(t->ufd);
	t->ufd = fd;
	drop_held(t, t->imp_up);
	drop_held(t, t->imp_down);
	t->c.device_replaced++;
	return 0;
}

/* The device session rule of the dev transport (src/io/tunconn_udp.c). */
static bool session_accept(struct tee *t, const struct udpio_in *m,
			   uint64_t now)
{
	char a[64], b[64];
	uint64_t idle_us = (uint64_t)t->o.client_idle_ms * 1000u;
	if (t->has_dev && os_addr_equal(&t->dev, &m->from)) {
		t->dev_seen = now;
		return true;
	}
	if (t->has_dev && now - t->dev_seen < idle_us) {
		t->c.foreign_dropped++;
		if (!os_addr_equal(&t->foreign_logged, &m->from) ||
		    now - t->foreign_log_at >= FOREIGN_LOG_INTERVAL_US) {
			t->foreign_logged = m->from;
			t->foreign_log_at = now;
			tool_log(TP_LOG_WARN,
				 "dropping datagrams from %s: the device "
				 "session belongs to %s",
				 os_addr_str(&m->from, a, sizeof(a)),
				 os_addr_str(&t->dev, b, sizeof(b)));
		}
		return false;
	}
	tool_log(TP_LOG_INFO, "device %s connected%s%s",
		 os_addr_str(&m->from, a, sizeof(a)),
		 t->has_dev ? ", replacing " : "",
		 t->has_dev ? os_addr_str(&t->dev, b, sizeof(b)) : "");
	/* Nothing of this batch was relayed before the change: the old
	 * device's datagram would have set dev_seen to now (idle >= 1 ms). */
	if (t->has_dev)
		(void)replace_device(t);
	t->dev = m->from;
	t->dev_len = m->from_len;
	t->dev_seen = now;
	t->has_dev = true;
	t->c.client_changes++;
	return true;
}

/* Sends n datagrams on fd and mirrors them as direction dir. */
static int relay(struct tee *t, int fd, struct udpio_out *out, int n,
		 uint8_t dir)
{
	if (n == 0)
		return 0;
	int r = udpio_send(fd, out, n, &t->c.send_failed);
	if (r < 0)
		return r;
	uint64_t ts = t->hub ? tool_realtime_ns() : 0;
	uint64_t bytes = 0;
	for (int i = 0; i < n; i++) {
		bytes += out[i].len;
		if (t->hub && out[i].len > 0)
			mirror_hub_publish(t->hub, dir, ts, out[i].data,
					   (uint32_t)out[i].len);
	}
	if (dir == MIRROR_DIR_OUTBOUND) {
		t->c.up_packets += (uint64_t)n;
		t->c.up_bytes += bytes;
	} else {
		t->c.down_packets += (uint64_t)n;
		t->c.down_bytes += bytes;
	}
	return 0;
}

/* Device -> proxy. */
static int relay_up(struct tee *t)
{
	for (int b = 0; b < RELAY_BATCHES; b++) {
		int n = udpio_recv(t->lfd, t->in, UDPIO_BATCH);
		if (n <= 0)
			return n;
		uint64_t now = os_clock_us(), snow = session_now(t);
		struct udpio_out out[UDPIO_BATCH];
		int k = 0;
		for (int i = 0; i < n; i++) {
			struct udpio_in *m = &t->in[i];
			if (!session_accept(t, m, snow))
				continue;
			/* Empty datagrams are keepalives: relay as is. */
			if (t->imp_up && m->len > 0 &&
			    impair_push(t->imp_up, m->buf, m->len, now) !=
				IMPAIR_BYPASS)
				continue;
			out[k++] = (struct udpio_out){m->buf, m->len, NULL, 0};
		}
		int rc = relay(t, t->ufd, out, k, MIRROR_DIR_OUTBOUND);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Proxy -> device. */
static int relay_down(struct tee *t)
{
	for (int b = 0; b < RELAY_BATCHES; b++) {
		int n = udpio_recv(t->ufd, t->in, UDPIO_BATCH);
		if (n <= 0)
			return n;
		if (!t->has_dev) {
			t->c.down_no_device += (uint64_t)n;
			continue;
		}
		uint64_t now = os_clock_us();
		struct udpio_out out[UDPIO_BATCH];
		int k = 0;
		for (int i = 0; i < n; i++) {
			struct udpio_in *m = &t->in[i];
			if (t->imp_down && m->len > 0 &&
			    impair_push(t->imp_down, m->buf, m->len, now) !=
				IMPAIR_BYPASS)
				continue;
			out[k++] = (struct udpio_out){m->buf, m->len, &t->dev,
						      t->dev_len};
		}
		int rc = relay(t, t->lfd, out, k, MIRROR_DIR_INBOUND);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Sends the impaired packets that are due. */
static int drain(struct tee *t, struct impair *im, bool up, uint64_t now)
{
	struct impair_pkt p[UDPIO_BATCH];
	size_t n;
	while (im && (n = impair_take(im, now, p, UDPIO_BATCH)) > 0) {
		struct udpio_out out[UDPIO_BATCH];
		if (!up && !t->has_dev) {
			t->c.down_no_device += n;
			continue;
		}
		for (size_t i = 0; i < n; i++)
			out[i] = (struct udpio_out){p[i].data, p[i].len,
						    up ? NULL : &t->dev,
						    up ? 0 : t->dev_len};
		int rc = relay(t, up ? t->ufd : t->lfd, out, (int)n,
			       up ? MIRROR_DIR_OUTBOUND : MIRROR_DIR_INBOUND);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int tee_step(struct tee *t, int timeout_ms)
{
	struct pollfd pfd[POLL_MAX];
	pfd[0] = (struct pollfd){.fd = t->lfd, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = t->ufd, .events = POLLIN};
	pfd[2] = (struct pollfd){.fd = t->o.ctl_fd, .events = POLLIN};
	int nh = t->hub ? mirror_hub_pollfds(t->hub, pfd + 3, POLL_MAX - 3) : 0;
	int r =
	    poll(pfd, (nfds_t)(3 + nh),
		 relay_impair_poll_timeout(t->imp_up, t->imp_down, timeout_ms));
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	int rc = 0;
	if (pfd[0].revents)
		rc = relay_up(t);
	if (rc == 0 && pfd[1].revents)
		rc = relay_down(t);
	uint64_t now = os_clock_us();
	if (rc == 0)
		rc = drain(t, t->imp_up, true, now);
	if (rc == 0)
		rc = drain(t, t->imp_down, false, now);
	if (t->hub) {
		mirror_hub_events(t->hub, pfd + 3, nh);
		mirror_hub_flush(t->hub);
	}
	if (rc < 0) {
		tool_log(TP_LOG_ERROR, "relay failed: %s", strerror(-rc));
		return rc;
	}
	return t->o.ctl_fd >= 0 && (pfd[2].revents & POLLIN) ? 1 : 0;
}

void tee_get_counters(const struct tee *t, struct tee_counters *out)
{
	*out = t->c;
	if (t->hub) {
		const struct mirror_hub_stats *h = mirror_hub_get_stats(t->hub);
		out->mirror_subscribers = h->subscribers;
		out->mirror_accepted = h->accepted;
		out->mirror_refused = h->refused;
		out->mirror_disconnects = h->disconnects;
		out->mirror_copies = h->copies;
		out->mirror_dropped = h->dropped;
	}
}

void tee_print_counters(const struct tee *t, FILE *f)
{
	struct tee_counters c;
	tee_get_counters(t, &c);
#define TEE_X_PRINT(name, desc) tool_counter(f, #name, c.name);
	TEE_COUNTERS(TEE_X_PRINT)
#undef TEE_X_PRINT
	relay_impair_print_stats_end(t->imp_up, t->imp_down, f);
}
