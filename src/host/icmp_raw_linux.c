/* SPDX-License-Identifier: MIT */
/* icmp_raw_linux.c - ICMP echo through a raw socket when ping sockets are
 * not permitted.
 *
 * Linux lets unprivileged processes use ICMP "ping sockets" only for the
 * groups in net.ipv4.ping_group_range (often none). A process with
 * CAP_NET_RAW can still use one raw socket per family, shared by every
 * echo flow: each flow gets an identifier unique among the raw flows of its
 * family, requests go out with it (IPv4 checksum recomputed here; the
 * kernel fills the ICMPv6 one), and replies are matched back by identifier
 * and source address. A reply waits in a small per-flow stash (one packet,
 * allocated when the flow is opened and charged to the engine's budget,
 * max_memory, like the flow itself) until the core reads it, and is
 * announced as a deferred readable event. If neither kind of socket is
 * allowed, the driver says once which setting to change.
 */
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/mem.h"
#include "host/driver.h"
#include "wire/build.h"
#include "wire/hdr.h"
#include "wire/packet.h"

#define RAW_STASH_MAX  2048
#define RAW_BUF_SIZE   65536
#define RAW_READ_BATCH 64

static int raw_socket(struct driver *d, int fi)
{
	if (d->raw_fd[fi] >= 0)
		return d->raw_fd[fi];
	int fd = socket(fi == 0 ? AF_INET : AF_INET6,
			SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
			fi == 0 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	if (fd < 0) {
		int err = errno;
		/* Out of fds is the core's to report (per flow, with what
		 * to do); only a permission problem disables echo. */
		if ((err == EPERM || err == EACCES) && !d->ping_warned) {
			d->ping_warned = true;
			driver_log(d, TP_LOG_WARN,
				   "ICMP echo disabled: ping sockets are not "
				   "permitted for this group and raw sockets "
				   "need CAP_NET_RAW; allow ping sockets with "
				   "'sysctl -w net.ipv4.ping_group_range=\"0 "
				   "2147483647\"' or run with CAP_NET_RAW");
		}
		return -err;
	}
	/* Marked or bound like every host socket: raw echo requests must not
	 * loop back into the TUN either. */
	int oerr = hostsock_apply_options(d, fd, fi == 0 ? 4 : 6);
	if (oerr < 0) {
		close(fd);
		return oerr;
	}
	if (fi == 1) {
		struct icmp6_filter f;
		ICMP6_FILTER_SETBLOCKALL(&f);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
		setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f));
	}
	d->raw_by_id[fi] = calloc(65536, sizeof(uint32_t));
	if (!d->raw_by_id[fi] ||
	    poller_add(d->poller, fd, DRV_TAG(fi == 0 ? TAG_RAW4 : TAG_RAW6, 0),
		       POLLER_IN) < 0) {
		free(d->raw_by_id[fi]);
		d->raw_by_id[fi] = NULL;
		close(fd);
		return -ENOMEM;
	}
	d->raw_fd[fi] = fd;
	driver_log(d, TP_LOG_INFO, "ICMP echo via raw socket (IPv%d)",
		   fi == 0 ? 4 : 6);
	return fd;
}

int driver_raw_open(struct driver *d, uint32_t flow, uint8_t family,
		    const uint8_t dst[16])
{
	int fi = family == 4 ? 0 : 1;
	int fd = raw_socket(d, fi);
	if (fd < 0)
		return fd;
	uint32_t *map = d->raw_by_id[fi];
	uint16_t id = 0;
	bool found = false;
	for (uint32_t tries = 0; tries < 65536; tries++) {
		id = d->raw_next_id++;
		if (!map[id]) {
			found = true;
			break;
		}
	}
	if (!found)
		return -EMFILE;
	/* The stash is memory an app makes us hold with one echo request:
	 * it counts against max_memory (the core refuses the flow as over
	 * the budget when this charge fails; e2e.test_ping_raw checks the
	 * charge). */
	struct core_mem *m = core_budget(d->core);
	if (core_mem_charge(m, RAW_STASH_MAX) < 0)
		return -ENOMEM;
	uint8_t *stash = malloc(RAW_STASH_MAX);
	if (!stash) {
		core_mem_uncharge(m, RAW_STASH_MAX);
		return -ENOMEM;
	}
	int sock = driver_sock_alloc(d, -1, flow, HS_RAW, family);
	if (sock < 0) {
		free(stash);
		core_mem_uncharge(m, RAW_STASH_MAX);
		return sock;
	}
	struct hsock *s = &d->socks[sock];
	s->raw_id = id;
	s->stash = stash;
	memcpy(s->dst, dst, 16);
	map[id] = (uint32_t)sock + 1;
	return sock;
}

long driver_raw_send(struct driver *d, struct hsock *s, const uint8_t *msg,
		     size_t len)
{
	int fi = s->family == 4 ? 0 : 1;
	uint8_t buf[RAW_STASH_MAX + 64];
	if (len < WIRE_ICMP_HDR_LEN || len > sizeof(buf))
		return -EMSGSIZE;
	memcpy(buf, msg, len);
	wire_icmp_echo_id_set(buf, s->raw_id);
	if (fi == 0)
		wire_icmp4_fill_csum(buf, len);
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t sl;
	if (fi == 0) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, s->dst + 12, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, s->dst, 16);
		sl = sizeof(*sin6);
	}
	ssize_t n = sendto(d->raw_fd[fi], buf, len, MSG_DONTWAIT,
			   (struct sockaddr *)&ss, sl);
	return n < 0 ? -errno : n;
}

void driver_raw_readable(struct driver *d, int fi)
{
	uint8_t buf[RAW_BUF_SIZE];
	for (int i = 0; i < RAW_READ_BATCH; i++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n =
		    recvfrom(d->raw_fd[fi], buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		const uint8_t *msg = buf;
		size_t len = (size_t)n;
		uint8_t src[16] = {0};
		if (fi == 0) {
			/* IPv4 raw sockets deliver the IP header too. */
			size_t ihl = len ? wire_ip4_hdr_len(buf) : 0;
			if (ihl < WIRE_IP4_HDR_LEN ||
			    len < ihl + WIRE_ICMP_HDR_LEN)
				continue;
			msg += ihl;
			len -= ihl;
			if (wire_icmp_type(msg) != WIRE_ICMP4_ECHO_REPLY)
				continue;
			src[10] = src[11] = 0xff;
			memcpy(src + 12,
			       &((struct sockaddr_in *)&from)->sin_addr, 4);
		} else {
			if (len < WIRE_ICMP_HDR_LEN ||
			    wire_icmp_type(msg) != ICMP6_ECHO_REPLY)
				continue;
			memcpy(src, &((struct sockaddr_in6 *)&from)->sin6_addr,
			       16);
		}
		uint16_t id = wire_icmp_echo_id(msg);
		uint32_t sock = d->raw_by_id[fi][id];
		if (!sock)
			continue;
		struct hsock *s = &d->socks[sock - 1];
		if (memcmp(s->dst, src, 16) != 0 || len > RAW_STASH_MAX)
			continue;
		/* One reply waits per flow; a newer one replaces it (ping
		 * tolerates loss, and memory stays bounded). */
		memcpy(s->stash, msg, len);
		s->stash_len = (uint16_t)len;
		driver_defer_event(d, (int)(sock - 1));
	}
}

void driver_raw_close(struct driver *d, struct hsock *s)
{
	int fi = s->family == 4 ? 0 : 1;
	if (d->raw_by_id[fi])
		d->raw_by_id[fi][s->raw_id] = 0;
	if (s->stash)
		core_mem_uncharge(core_budget(d->core), RAW_STASH_MAX);
	free(s->stash);
	s->stash = NULL;
}
