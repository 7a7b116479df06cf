/* SPDX-License-Identifier: MIT */
/* devtun_darwin.c - devtun.h on macOS: a utun interface.
 *
 * A utun is created by connecting a PF_SYSTEM control socket to the
 * kernel control "com.apple.net.utun_control" (unit N+1 makes utunN, 0 the
 * next free one); the socket is the device: every read gives one packet
 * after a 4-byte address family in network byte order (AF_INET or
 * AF_INET6), every write needs one. Creating it needs root. There is no
 * ioctl-free way to set addresses, so devtun_configure runs ifconfig(8)
 * and route(8), as a user would.
 *
 * Written for macOS, compiled and linked for it in CI
 * (scripts/cross-apple.sh); not run there (docs/embedding.md).
 */
#include "devtun.h"
#include "utunframe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/kern_control.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* From <sys/sys_domain.h> and <net/if_utun.h>, which not every SDK copy
 * ships (Zig's does not): values fixed by the kernel ABI. */
#ifndef SYSPROTO_CONTROL
#define SYSPROTO_CONTROL 2
#endif
#ifndef AF_SYS_CONTROL
#define AF_SYS_CONTROL 2
#endif
#define UTUN_CONTROL	 "com.apple.net.utun_control"
#define UTUN_OPT_IFNAME_ 2

extern char **environ;

static int tp_err(int e)
{
	if (e == EPERM || e == EACCES)
		return -TP_EPERM; /* creating a utun needs root */
	if (e == EBUSY || e == EADDRINUSE)
		return -TP_EBUSY; /* that utunN exists */
	return -TP_ENOTUN;
}

int devtun_open(const char *want, char name[16])
{
	unsigned unit = 0; /* the next free utun */
	if (want && strncmp(want, "utun", 4) == 0 && want[4]) {
		char *end;
		unsigned long n = strtoul(want + 4, &end, 10);
		if (*end || n > 255)
			return -TP_EINVAL;
		unit = (unsigned)n + 1;
	}
	int fd = socket(PF_SYSTEM, SOCK_DGRAM, SYSPROTO_CONTROL);
	if (fd < 0)
		return tp_err(errno);
	struct ctl_info ci;
	memset(&ci, 0, sizeof(ci));
	snprintf(ci.ctl_name, sizeof(ci.ctl_name), "%s", UTUN_CONTROL);
	struct sockaddr_ctl sc;
	memset(&sc, 0, sizeof(sc));
	socklen_t len = 16;
	if (ioctl(fd, CTLIOCGINFO, &ci) < 0)
		goto fail;
	sc.sc_len = sizeof(sc);
	sc.sc_family = AF_SYSTEM;
	sc.ss_sysaddr = AF_SYS_CONTROL;
	sc.sc_id = ci.ctl_id;
	sc.sc_unit = unit;
	if (connect(fd, (struct sockaddr *)&sc, sizeof(sc)) < 0 ||
	    getsockopt(fd, SYSPROTO_CONTROL, UTUN_OPT_IFNAME_, name, &len) <
		0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		goto fail;
	name[15] = '\0';
	return fd;
fail:;
	int e = errno;
	close(fd);
	return tp_err(e);
}

/* Runs argv (a full path first); 0 if it exited with 0. */
static int run(char *const argv[], tp_log_fn log, void *log_ctx)
{
	pid_t pid;
	int st = 0;
	if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0 ||
	    waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		char line[256];
		snprintf(line, sizeof(line), "devtun: '%s %s %s %s' failed",
			 argv[0], argv[1], argv[2], argv[3] ? argv[3] : "");
		if (log)
			log(log_ctx, TP_LOG_ERROR, line);
		return -TP_ESYS;
	}
	return 0;
}

/* "10.0.0.8/24" into the address and its network "10.0.0.0/24". */
static int split4(const char *cidr, char addr[16], char net[20])
{
	const char *slash = strchr(cidr, '/');
	size_t n = slash ? (size_t)(slash - cidr) : strlen(cidr);
	unsigned long bits = slash ? strtoul(slash + 1, NULL, 10) : 32;
	struct in_addr a;
	if (n >= 16 || bits > 32)
		return -TP_EINVAL;
	memcpy(addr, cidr, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, &a) != 1)
		return -TP_EINVAL;
	uint32_t mask = bits ? 0xffffffffu << (32 - bits) : 0;
	a.s_addr = htonl(ntohl(a.s_addr) & mask);
	char s[16];
	inet_ntop(AF_INET, &a, s, sizeof(s));
	snprintf(net, 20, "%s/%lu", s, bits);
	return 0;
}

int devtun_configure(const char *name, uint32_t mtu, const char *ip4_cidr,
		     const char *ip6_cidr, tp_log_fn log, void *log_ctx)
{
	char ifname[16], smtu[16], addr[16], net[20], v6[64];
	snprintf(ifname, sizeof(ifname), "%s", name);
	snprintf(smtu, sizeof(smtu), "%u", (unsigned)mtu);
	int rc;
	if (ip4_cidr && *ip4_cidr) {
		rc = split4(ip4_cidr, addr, net);
		if (rc < 0)
			return rc;
		/* utun is point-to-point: its own address as the peer, the
		 * prefix as a route to the interface. */
		char *ifc[] = {"/sbin/ifconfig",
			       ifname,
			       "inet",
			       addr,
			       addr,
			       "mtu",
			       smtu,
			       "up",
			       NULL};
		char *rt[] = {"/sbin/route", "-q",   "-n", "add", "-net", net,
			      "-interface",  ifname, NULL};
		if ((rc = run(ifc, log, log_ctx)) < 0 ||
		    (rc = run(rt, log, log_ctx)) < 0)
			return rc;
	}
	if (ip6_cidr && *ip6_cidr) {
		const char *slash = strchr(ip6_cidr, '/');
		size_t n =
		    slash ? (size_t)(slash - ip6_cidr) : strlen(ip6_cidr);
		if (n >= sizeof(v6))
			return -TP_EINVAL;
		memcpy(v6, ip6_cidr, n);
		v6[n] = '\0';
		char plen[8];
		snprintf(plen, sizeof(plen), "%s", slash ? slash + 1 : "128");
		char *ifc[] = {"/sbin/ifconfig", ifname, "inet6", v6,
			       "prefixlen",	 plen,	 "up",	  NULL};
		if ((rc = run(ifc, log, log_ctx)) < 0)
			return rc;
	}
	return 0;
}

ssize_t devtun_read(int fd, uint8_t *buf, size_t cap)
{
	return utunframe_read(fd, buf, cap);
}

ssize_t devtun_write(int fd, const uint8_t *p, size_t len)
{
	return utunframe_write(fd, p, len);
}
