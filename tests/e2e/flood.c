/* SPDX-License-Identifier: MIT */
/* flood.c - packet flood generator for tunproxy's flood tests
 * (test_flood_*.sh). Compiled by the test with cc; not part of the build.
 *
 *   flood IFNAME syn|udp|icmp COUNT DST DPORT [--rate PPS] [--seed N]
 *         [--src CIDR] [--out FILE]
 *
 * Writes COUNT IPv4 or IPv6 packets (DST's family) into the device IFNAME
 * (the TUN in the app's namespace: its packets go to the proxy, nothing
 * else) through an AF_PACKET socket, in batches of 64 with sendmmsg:
 *   syn   TCP SYNs to DST:DPORT, each from a random source address (inside
 *         --src, default 10.128.0.0/9 or fdaa:1::/32) and a random port;
 *   udp   8-byte UDP datagrams to DST:DPORT, random source address and
 *         port: every one is a new flow for the proxy;
 *   icmp  echo requests to DST, random source address, identifier and
 *         sequence number (DPORT is ignored).
 * All checksums are right (the proxy must not drop them as malformed).
 * --rate paces the batches to PPS packets a second (0, the default: as fast
 * as the device takes them; a full queue makes us wait and retry, so every
 * packet is handed to the device). --seed makes the run reproducible.
 * Prints one line: packets sent, seconds, packets/s.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { BATCH = 64, PKT_MAX = 80 };

static uint64_t rng_state;

/* splitmix64: small, fast and good enough for addresses and ports. */
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct target {
	int v6;
	uint8_t dst[16];
	uint8_t src_base[16];
	int src_bits; /* prefix length of --src */
	uint16_t dport;
	char mode; /* 's', 'u', 'i' */
};

/* A random address inside the source prefix. */
static void rand_src(const struct target *t, uint8_t *out)
{
	int len = t->v6 ? 16 : 4;
	for (int i = 0; i < len; i++) {
		int bit0 = i * 8;
		uint8_t keep;
		if (t->src_bits >= bit0 + 8)
			keep = 0xff;
		else if (t->src_bits <= bit0)
			keep = 0;
		else
			keep = (uint8_t)(0xff << (8 - (t->src_bits - bit0)));
		out[i] = (uint8_t)((t->src_base[i] & keep) |
				   ((uint8_t)rnd() & ~keep));
	}
	/* Not the network's first or last address (v4). */
	if (!t->v6 && (out[3] == 0 || out[3] == 255))
		out[3] = 1;
}

/* Builds one packet into p; returns its length. */
static size_t build(const struct target *t, uint8_t *p)
{
	uint8_t src[16];
	size_t l4len, hl = t->v6 ? 40 : 20;
	uint8_t proto;
	uint8_t *l4 = p + hl;

	rand_src(t, src);
	memset(p, 0, PKT_MAX);
	switch (t->mode) {
	case 's':
		proto = 6;
		l4len = 20;
		put16(l4, (uint16_t)(1024 + rnd() % 64512));
		put16(l4 + 2, t->dport);
		{
			uint32_t seq = (uint32_t)rnd();
			l4[4] = (uint8_t)(seq >> 24);
			l4[5] = (uint8_t)(seq >> 16);
			l4[6] = (uint8_t)(seq >> 8);
			l4[7] = (uint8_t)seq;
		}
		l4[12] = 5 << 4;
		l4[13] = 0x02; /* SYN */
		put16(l4 + 14, 64240);
		break;
	case 'u':
		proto = 17;
		l4len = 16;
		put16(l4, (uint16_t)(1024 + rnd() % 64512));
		put16(l4 + 2, t->dport);
		put16(l4 + 4, (uint16_t)l4len);
		memcpy(l4 + 8, "tpflood!", 8);
		break;
	default:
		proto = t->v6 ? 58 : 1;
		l4len = 16;
		l4[0] = t->v6 ? 128 : 8; /* echo request */
		put16(l4 + 4, (uint16_t)rnd());
		put16(l4 + 6, (uint16_t)rnd());
		memcpy(l4 + 8, "tpflood!", 8);
		break;
	}
	if (t->v6) {
		p[0] = 0x60;
		put16(p + 4, (uint16_t)l4len);
		p[6] = proto;
		p[7] = 64;
		memcpy(p + 8, src, 16);
		memcpy(p + 24, t->dst, 16);
	} else {
		p[0] = 0x45;
		put16(p + 2, (uint16_t)(20 + l4len));
		put16(p + 4, (uint16_t)rnd());
		p[8] = 64;
		p[9] = proto;
		memcpy(p + 12, src, 4);
		memcpy(p + 16, t->dst, 4);
		put16(p + 10, fold(sum16(p, 20, 0)));
	}
	/* Transport checksum: with the pseudo-header except for ICMPv4. */
	uint32_t s = 0;
	if (t->v6 || proto != 1) {
		int al = t->v6 ? 16 : 4;
		s = sum16(p + (t->v6 ? 8 : 12), (size_t)al * 2, 0);
		s += proto + (uint32_t)l4len;
	}
	s = sum16(l4, l4len, s);
	uint16_t c = fold(s);
	if (proto == 17 && c == 0)
		c = 0xffff;
	put16(l4 + (proto == 6 ? 16 : proto == 17 ? 6 : 2), c);
	return hl + l4len;
}

static int parse_cidr(const char *s, struct target *t)
{
	char buf[64];
	snprintf(buf, sizeof buf, "%s", s);
	char *slash = strchr(buf, '/');
	if (!slash)
		return -1;
	*slash = 0;
	t->src_bits = atoi(slash + 1);
	return inet_pton(t->v6 ? AF_INET6 : AF_INET, buf, t->src_base) == 1
		   ? 0
		   : -1;
}

static void usage(void)
{
	fprintf(stderr, "usage: flood IFNAME syn|udp|icmp COUNT DST DPORT "
			"[--rate PPS] [--seed N] [--src CIDR]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 6)
		usage();
	struct target t = {0};
	const char *ifname = argv[1];
	t.mode = argv[2][0];
	if (!strchr("sui", t.mode))
		usage();
	long count = atol(argv[3]);
	t.v6 = strchr(argv[4], ':') != NULL;
	if (inet_pton(t.v6 ? AF_INET6 : AF_INET, argv[4], t.dst) != 1)
		usage();
	t.dport = (uint16_t)atoi(argv[5]);
	double rate = 0;
	const char *src = t.v6 ? "fdaa:1::/32" : "10.128.0.0/9";
	rng_state = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	for (int i = 6; i < argc; i++) {
		if (!strcmp(argv[i], "--rate") && i + 1 < argc)
			rate = atof(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			rng_state = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--src") && i + 1 < argc)
			src = argv[++i];
		else
			usage();
	}
	if (parse_cidr(src, &t) < 0) {
		fprintf(stderr, "flood: bad --src %s\n", src);
		return 2;
	}

	unsigned idx = if_nametoindex(ifname);
	if (!idx) {
		perror("flood: if_nametoindex");
		return 1;
	}
	uint16_t eth = htons(t.v6 ? ETH_P_IPV6 : ETH_P_IP);
	int fd = socket(AF_PACKET, SOCK_DGRAM, 0); /* protocol 0: send only */
	if (fd < 0) {
		perror("flood: socket(AF_PACKET)");
		return 1;
	}
	int one = 1;
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
	struct sockaddr_ll ll = {.sll_family = AF_PACKET,
				 .sll_protocol = eth,
				 .sll_ifindex = (int)idx};

	static uint8_t pkts[BATCH][PKT_MAX];
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	long sent = 0, waits = 0;
	double t0 = now_s();
	while (sent < count) {
		int n = count - sent < BATCH ? (int)(count - sent) : BATCH;
		for (int i = 0; i < n; i++) {
			iov[i].iov_base = pkts[i];
			iov[i].iov_len = build(&t, pkts[i]);
			memset(&msg[i], 0, sizeof msg[i]);
			msg[i].msg_hdr.msg_name = &ll;
			msg[i].msg_hdr.msg_namelen = sizeof ll;
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
		}
		int off = 0;
		while (off < n) {
			int k = sendmmsg(fd, msg + off, (unsigned)(n - off), 0);
			if (k < 0) {
				if (errno == ENOBUFS || errno == EAGAIN ||
				    errno == EINTR) {
					waits++;
					usleep(200);
					continue;
				}
				perror("flood: sendmmsg");
				return 1;
			}
			off += k;
		}
		sent += n;
		if (rate > 0) {
			double due = t0 + (double)sent / rate,
			       d = due - now_s();
			if (d > 0)
				usleep((useconds_t)(d * 1e6));
		}
	}
	double dt = now_s() - t0;
	printf("flood: %ld %s packets to %s in %.2f s (%.0f/s), %ld waits for "
	       "the device\n",
	       sent,
	       t.mode == 's'   ? "SYN"
	       : t.mode == 'u' ? "UDP"
			       : "ICMP echo",
	       argv[4], dt, dt > 0 ? (double)sent / dt : 0.0, waits);
	close(fd);
	return 0;
}
