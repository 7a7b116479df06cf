/* SPDX-License-Identifier: MIT */
/* mirror_hub.c - the tee's subscribers (model in mirror_hub.h).
 *
 * Each subscriber's buffer is a byte ring. publish() appends a whole
 * record or nothing; flush() hands the ring's contents to the socket with
 * one sendmsg of at most two iovecs (the ring may wrap) and keeps what the
 * socket did not take. Records are never split across a drop, so the
 * stream stays well-formed whatever is dropped.
 */
#include "mirror_hub.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "mirror.h"
#include "toolos.h"
#include "tunproxy.h"

#define SUB_SNDBUF (256 * 1024)

struct sub {
	int fd;
	uint8_t *ring;
	uint32_t head;	  /* first queued byte */
	uint32_t used;	  /* bytes queued */
	uint32_t dropped; /* copies dropped since the last queued record */
	char name[64];
};

struct mirror_hub {
	int lfd;
	uint32_t max_subs;
	uint32_t buf_size;
	struct sub *subs;
	uint32_t nsubs;
	struct mirror_hub_stats st;
};

struct mirror_hub *mirror_hub_create(const struct tool_addr *addr,
				     uint32_t max_subscribers, uint32_t buffer,
				     int *err)
{
	if (buffer < MIRROR_HDR_SIZE + MIRROR_MAX_PACKET + MIRROR_GREETING_SIZE)
		buffer =
		    MIRROR_HDR_SIZE + MIRROR_MAX_PACKET + MIRROR_GREETING_SIZE;
	struct mirror_hub *h = calloc(1, sizeof(*h));
	if (!h) {
		*err = -ENOMEM;
		return NULL;
	}
	h->max_subs = max_subscribers;
	h->buf_size = buffer;
	h->subs =
	    calloc(max_subscribers ? max_subscribers : 1, sizeof(*h->subs));
	h->lfd = toolos_socket(addr->ss.ss_family, SOCK_STREAM);
	int one = 1;
	if (!h->subs || h->lfd < 0 ||
	    setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) <
		0 ||
	    bind(h->lfd, (const struct sockaddr *)&addr->ss, addr->len) < 0 ||
	    listen(h->lfd, 16) < 0) {
		*err = h->subs ? -errno : -ENOMEM;
		mirror_hub_destroy(h);
		return NULL;
	}
	return h;
}

static void sub_close(struct mirror_hub *h, uint32_t i, const char *why)
{
	struct sub *s = &h->subs[i];
	tool_log(TP_LOG_INFO, "subscriber %s gone (%s)", s->name, why);
	close(s->fd);
	free(s->ring);
	h->subs[i] = h->subs[--h->nsubs];
	h->st.subscribers = h->nsubs;
	h->st.disconnects++;
}

void mirror_hub_destroy(struct mirror_hub *h)
{
	if (!h)
		return;
	for (uint32_t i = 0; i < h->nsubs; i++) {
		close(h->subs[i].fd);
		free(h->subs[i].ring);
	}
	if (h->lfd >= 0)
		close(h->lfd);
	free(h->subs);
	free(h);
}

void mirror_hub_local(const struct mirror_hub *h, struct tool_addr *out)
{
	out->len = sizeof(out->ss);
	getsockname(h->lfd, (struct sockaddr *)&out->ss, &out->len);
}

static void ring_put(struct mirror_hub *h, struct sub *s, const uint8_t *p,
		     uint32_t n)
{
	uint32_t tail = (s->head + s->used) % h->buf_size;
	uint32_t first = h->buf_size - tail < n ? h->buf_size - tail : n;
	memcpy(s->ring + tail, p, first);
	memcpy(s->ring, p + first, n - first);
	s->used += n;
}

static void accept_one(struct mirror_hub *h)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = toolos_accept(h->lfd, (struct sockaddr *)&ss, &len);
	if (fd < 0)
		return;
	char name[64];
	os_addr_str(&ss, name, sizeof(name));
	uint8_t *ring = h->nsubs < h->max_subs ? malloc(h->buf_size) : NULL;
	if (!ring) {
		tool_log(TP_LOG_WARN,
			 "subscriber %s refused: %u already connected", name,
			 h->nsubs);
		close(fd);
		h->st.refused++;
		return;
	}
	int one = 1, sndbuf = SUB_SNDBUF;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A fixed kernel buffer (no autotuning up to tcp_wmem's max): what a
	 * stalled subscriber can hold back stays bounded and predictable; our
	 * own ring does the rest of the buffering. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	struct sub *s = &h->subs[h->nsubs++];
	*s = (struct sub){.fd = fd, .ring = ring};
	memcpy(s->name, name, sizeof(s->name));
	uint8_t g[MIRROR_GREETING_SIZE];
	mirror_greeting(g);
	ring_put(h, s, g, sizeof(g));
	h->st.accepted++;
	h->st.subscribers = h->nsubs;
	tool_log(TP_LOG_INFO, "subscriber %s connected", name);
}

int mirror_hub_pollfds(const struct mirror_hub *h, struct pollfd *pfd, int max)
{
	int n = 0;
	if (n < max)
		pfd[n++] = (struct pollfd){.fd = h->lfd, .events = POLLIN};
	for (uint32_t i = 0; i < h->nsubs && n < max; i++)
		pfd[n++] = (struct pollfd){
		    .fd = h->subs[i].fd,
		    .events = (short)(POLLIN | (h->subs[i].used ? POLLOUT : 0)),
		};
	return n;
}

/* Reads and discards what a subscriber sent; false once it is gone. */
static bool sub_drain(struct sub *s, const char **why)
{
	uint8_t junk[512];
	for (;;) {
		ssize_t r = recv(s->fd, junk, sizeof(junk), MSG_DONTWAIT);
		if (r > 0)
			continue;
		if (r == 0) {
			*why = "closed";
			return false;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return true;
		*why = strerror(errno);
		return false;
	}
}

/* Sends what the socket takes; false if the subscriber is gone. */
static bool sub_send(struct mirror_hub *h, struct sub *s, const char **why)
{
	while (s->used) {
		struct iovec iov[2];
		uint32_t first = h->buf_size - s->head;
		if (first > s->used)
			first = s->used;
		iov[0] = (struct iovec){s->ring + s->head, first};
		iov[1] = (struct iovec){s->ring, s->used - first};
		struct msghdr m = {.msg_iov = iov,
				   .msg_iovlen = s->used > first ? 2 : 1};
		ssize_t r = toolos_sendmsg(s->fd, &m);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			*why = strerror(errno);
			return false;
		}
		s->head = (s->head + (uint32_t)r) % h->buf_size;
		s->used -= (uint32_t)r;
	}
	s->head = 0; /* empty: restart at the front, fewer wraps */
	return true;
}

void mirror_hub_events(struct mirror_hub *h, const struct pollfd *pfd, int n)
{
	if (n > 0 && (pfd[0].revents & POLLIN)) {
		for (int k = 0; k < 16; k++) {
			uint64_t before = h->st.accepted + h->st.refused;
			accept_one(h);
			if (h->st.accepted + h->st.refused == before)
				break;
		}
	}
	/* Subscribers are matched by fd: accepting or closing above may have
	 * moved them in the table since the poll entries were made. */
	for (int k = 1; k < n; k++) {
		if (!pfd[k].revents)
			continue;
		for (uint32_t i = 0; i < h->nsubs; i++) {
			if (h->subs[i].fd != pfd[k].fd)
				continue;
			const char *why = "error";
			bool ok = true;
			if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR))
				ok = sub_drain(&h->subs[i], &why);
			if (ok && (pfd[k].revents & POLLOUT))
				ok = sub_send(h, &h->subs[i], &why);
			if (!ok)
				sub_close(h, i, why);
			break;
		}
	}
}

void mirror_hub_publish(struct mirror_hub *h, uint8_t dir, uint64_t ts_ns,
			const uint8_t *pkt, uint32_t len)
{
	if (len > MIRROR_MAX_PACKET)
		len = MIRROR_MAX_PACKET;
	for (uint32_t i = 0; i < h->nsubs; i++) {
		struct sub *s = &h->subs[i];
		if (h->buf_size - s->used < MIRROR_HDR_SIZE + len) {
			s->dropped++;
			h->st.dropped++;
			continue;
		}
		struct mirror_rec r = {.kind = MIRROR_KIND_PACKET,
				       .dir = dir,
				       .dropped = s->dropped,
				       .orig_len = len,
				       .ts_ns = ts_ns,
				       .len = len};
		uint8_t hdr[MIRROR_HDR_SIZE];
		mirror_put_header(hdr, &r);
		ring_put(h, s, hdr, sizeof(hdr));
		ring_put(h, s, pkt, len);
		s->dropped = 0;
		h->st.copies++;
	}
}

void mirror_hub_flush(struct mirror_hub *h)
{
	for (uint32_t i = 0; i < h->nsubs;) {
		const char *why = "error";
		if (!sub_send(h, &h->subs[i], &why)) {
			sub_close(h, i, why);
			continue;
		}
		i++;
	}
}

const struct mirror_hub_stats *mirror_hub_get_stats(const struct mirror_hub *h)
{
	return &h->st;
}
