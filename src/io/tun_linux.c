/* SPDX-License-Identifier: MIT */
/* tun_linux.c - creating and configuring a Linux TUN device.
 *
 * tp_tun_open() opens /dev/net/tun and attaches to (or creates) a TUN
 * device without packet information (IFF_NO_PI): one bare IP packet per
 * read and write. tp_tun_configure() sets the MTU and addresses with plain
 * ioctls (no netlink library) and brings the link up. Errors name what to
 * do: run as root, load the tun module, pick another name.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdbool.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/tunconn.h"
#include "tunproxy.h"

/* The kernel's struct in6_ifreq (linux/ipv6.h clashes with netinet/in.h). */
struct tp_in6_ifreq {
	struct in6_addr addr;
	uint32_t prefixlen;
	int ifindex;
};

static int errno_to_tp(int err)
{
	switch (err) {
	case EPERM:
	case EACCES:
		return -TP_EPERM;
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return -TP_ENOTUN;
	case EBUSY:
	case EEXIST:
	case EADDRINUSE:
		return -TP_EBUSY;
	case EINVAL:
		return -TP_EINVAL;
	case ENOMEM:
		return -TP_ENOMEM;
	}
	return -TP_ESYS;
}

/* The device's transmit queue is where the app's kernel leaves packets
 * for us to read: 500 by default for a TUN, i.e. 6 ms of MTU-sized packets
 * at 1 Gbit/s, less than one of our passes may take under load. A UDP
 * burst (a QUIC sender's pacing quantum) that overflows it is lost before
 * we could see it (counted by the kernel as the device's tx drops), so the
 * queue is raised to TUN_TXQUEUELEN (about 25 ms of MTU-sized packets at
 * 1 Gbit/s). TCP does not fill it: TCP small queues limit what one socket
 * keeps in a device queue. Best effort: a device we may not configure
 * keeps its length. */
#define TUN_TXQUEUELEN 2048

static void tun_raise_txqueuelen(const char *ifname)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	if (ioctl(s, SIOCGIFTXQLEN, &ifr) == 0 &&
	    ifr.ifr_qlen < TUN_TXQUEUELEN) {
		ifr.ifr_qlen = TUN_TXQUEUELEN;
		(void)ioctl(s, SIOCSIFTXQLEN, &ifr);
	}
	close(s);
}

static int tun_open_flags(const char *name, char actual_name[16], bool offload)
{
	if (!name || strlen(name) >= IFNAMSIZ)
		return -TP_EINVAL;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno_to_tp(errno);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = errno;
		close(fd);
		return errno_to_tp(err);
	}
	/* Checksums and TCP segmentation left to whoever holds the other
	 * end of the packet: the 10-byte header says what was left. */
	int hdr = 10;
	unsigned long off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
	if (offload && (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 ||
			ioctl(fd, TUNSETOFFLOAD, off) < 0)) {
		int err = errno;
		close(fd);
		return errno_to_tp(err);
	}
	tun_raise_txqueuelen(ifr.ifr_name);
	if (actual_name) {
		memcpy(actual_name, ifr.ifr_name, IFNAMSIZ);
		actual_name[IFNAMSIZ - 1] = '\0';
	}
	return fd;
}

/* linux/if_tun.h of Linux 6.2; older headers lack them. */
#define TP_TUN_F_USO4 0x20
#define TP_TUN_F_USO6 0x40

bool tun_try_uso(int fd)
{
	unsigned long off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 |
			    TP_TUN_F_USO4 | TP_TUN_F_USO6;
	return ioctl(fd, TUNSETOFFLOAD, off) == 0;
}

int tp_tun_open(const char *name, char actual_name[16])
{
	return tun_open_flags(name, actual_name, false);
}

int tp_tun_open_offload(const char *name, char actual_name[16])
{
	return tun_open_flags(name, actual_name, true);
}

static void say(tp_log_fn log, void *ctx, const char *what, const char *arg,
		int err)
{
	if (!log)
		return;
	char line[200];
	snprintf(line, sizeof(line), "tun: %s %s: %s", what, arg ? arg : "",
		 strerror(err));
	log(ctx, TP_LOG_ERROR, line);
}

static int parse_cidr(const char *cidr, int family, void *addr,
		      unsigned *prefix)
{
	char buf[64];
	if (strlen(cidr) >= sizeof(buf))
		return -1;
	strcpy(buf, cidr);
	char *slash = strchr(buf, '/');
	unsigned max = family == AF_INET ? 32 : 128;
	*prefix = max;
	if (slash) {
		*slash = '\0';
		char *end;
		unsigned long p = strtoul(slash + 1, &end, 10);
		if (*end || p > max)
			return -1;
		*prefix = (unsigned)p;
	}
	return inet_pton(family, buf, addr) == 1 ? 0 : -1;
}

static int set_ip4(int sock, const char *name, const char *cidr, tp_log_fn log,
		   void *ctx)
{
	struct in_addr a;
	unsigned prefix;
	if (parse_cidr(cidr, AF_INET, &a, &prefix) < 0)
		return -TP_EINVAL;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	sin->sin_addr = a;
	if (ioctl(sock, SIOCSIFADDR, &ifr) < 0) {
		say(log, ctx, "set address", cidr, errno);
		return errno_to_tp(errno);
	}
	sin->sin_addr.s_addr = prefix ? htonl(0xffffffffu << (32 - prefix)) : 0;
	if (ioctl(sock, SIOCSIFNETMASK, &ifr) < 0) {
		say(log, ctx, "set netmask", cidr, errno);
		return errno_to_tp(errno);
	}
	return 0;
}

static int set_ip6(const char *name, const char *cidr, tp_log_fn log, void *ctx)
{
	struct tp_in6_ifreq r;
	memset(&r, 0, sizeof(r));
	unsigned prefix;
	if (parse_cidr(cidr, AF_INET6, &r.addr, &prefix) < 0)
		return -TP_EINVAL;
	r.prefixlen = prefix;
	r.ifindex = (int)if_nametoindex(name);
	int s6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s6 < 0) {
		say(log, ctx, "IPv6 socket", NULL, errno);
		return errno_to_tp(errno);
	}
	int rc = 0;
	if (ioctl(s6, SIOCSIFADDR, &r) < 0) {
		say(log, ctx, "set IPv6 address", cidr, errno);
		rc = errno_to_tp(errno);
	}
	close(s6);
	return rc;
}

int tp_tun_configure(const char *name, uint32_t mtu, const char *ip4_cidr,
		     const char *ip6_cidr, tp_log_fn log, void *log_ctx)
{
	if (!name || strlen(name) >= IFNAMSIZ)
		return -TP_EINVAL;
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return errno_to_tp(errno);
	int rc = 0;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (mtu) {
		ifr.ifr_mtu = (int)mtu;
		if (ioctl(sock, SIOCSIFMTU, &ifr) < 0) {
			say(log, log_ctx, "set MTU on", name, errno);
			rc = errno_to_tp(errno);
			goto out;
		}
	}
	if (ip4_cidr && (rc = set_ip4(sock, name, ip4_cidr, log, log_ctx)) < 0)
		goto out;
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) {
		say(log, log_ctx, "get flags of", name, errno);
		rc = errno_to_tp(errno);
		goto out;
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) {
		say(log, log_ctx, "bring up", name, errno);
		rc = errno_to_tp(errno);
		goto out;
	}
	/* IPv6 addresses can only be added once the link is up. */
	if (ip6_cidr)
		rc = set_ip6(name, ip6_cidr, log, log_ctx);
out:
	close(sock);
	return rc;
}
