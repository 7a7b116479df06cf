/* SPDX-License-Identifier: MIT */
/* run_ns_linux.c - the namespace side of `tunproxy run` (run_ns.h).
 *
 * Runs in the child tunproxy forks for CMD, which is single-threaded (as
 * unshare(CLONE_NEWUSER) requires). Steps:
 *   1. A new network and mount namespace; when not root, inside a new
 *      user namespace first, where the caller's uid and gid map to
 *      themselves (user_namespaces(7): a process may map its own ids, and
 *      must deny setgroups before writing gid_map). The child then holds
 *      every capability in the new namespaces until it executes CMD, and
 *      CMD, not uid 0 there, runs with none: as the calling user.
 *      With --netns, the child joins the given namespace instead (and,
 *      when not root, the user namespace that owns it, as pasta does).
 *   2. The TUN, created inside, with its MTU and addresses (tun_linux.c's
 *      ioctls), lo up, and default routes for both families through it
 *      (SIOCADDRT, so no `ip` binary is needed).
 *   3. ping_group_range covering the caller's gid, so ping works as the
 *      user: a new network namespace starts with ping sockets disabled.
 *   4. /sys remounted, so it shows the new namespace's devices.
 *   5. The resolver: a private copy of /etc/resolv.conf bind-mounted over
 *      it in the new mount namespace, as `ip netns exec` does. The file
 *      lives on a small tmpfs mounted over /tmp for a moment (in our
 *      private mount namespace only), detached again once the bind mount
 *      holds the file, so nothing is ever written to disk.
 * tunproxy's own host sockets are opened by the parent, which never
 * leaves the original namespaces.
 */
#define _GNU_SOURCE
#include "run_ns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool_util.h"
#include "tunproxy.h"

#define TUN_NAME "tun0"

static void log_err(void *ctx, enum tp_log_level level, const char *msg)
{
	(void)ctx;
	if (level <= TP_LOG_WARN)
		fprintf(stderr, "tunproxy: %s\n", msg);
}

static int read_int_file(const char *path)
{
	FILE *f = fopen(path, "re");
	int v = -1;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	int err = n < 0 ? errno : 0;
	close(fd);
	return n < 0 ? -err : 0;
}

/* Why unprivileged user namespaces may be refused, for the hint. */
static void userns_hint(void)
{
	if (read_int_file("/proc/sys/kernel/unprivileged_userns_clone") == 0)
		fprintf(stderr,
			"hint: unprivileged user namespaces are disabled: "
			"sysctl -w kernel.unprivileged_userns_clone=1 (as "
			"root), or run tunproxy run as root\n");
	else if (read_int_file("/proc/sys/kernel/"
			       "apparmor_restrict_unprivileged_userns") == 1)
		fprintf(stderr,
			"hint: AppArmor restricts unprivileged user namespaces "
			"(Ubuntu 23.10 and later): sysctl -w "
			"kernel.apparmor_restrict_unprivileged_userns=0, or "
			"give tunproxy an AppArmor profile with 'userns,', or "
			"run it as root\n");
	else if (read_int_file("/proc/sys/user/max_user_namespaces") == 0)
		fprintf(stderr, "hint: user.max_user_namespaces is 0: "
				"sysctl -w user.max_user_namespaces=10000\n");
	else
		fprintf(stderr, "hint: this system refuses unprivileged user "
				"namespaces; run tunproxy run as root\n");
}

static int map_ids(uid_t uid, gid_t gid)
{
	char line[64];
	int rc;
	snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if ((rc = write_file("/proc/self/uid_map", line)) < 0) {
		fprintf(stderr, "tunproxy: run: cannot write uid_map: %s\n",
			strerror(-rc));
		return -1;
	}
	/* user_namespaces(7): gid_map needs setgroups denied first when
	 * written without CAP_SETGID in the parent namespace. */
	rc = write_file("/proc/self/setgroups", "deny");
	if (rc < 0 && rc != -ENOENT) {
		fprintf(stderr, "tunproxy: run: cannot deny setgroups: %s\n",
			strerror(-rc));
		return -1;
	}
	snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	if ((rc = write_file("/proc/self/gid_map", line)) < 0) {
		fprintf(stderr, "tunproxy: run: cannot write gid_map: %s\n",
			strerror(-rc));
		return -1;
	}
	return 0;
}

/* Joins the namespace of --netns: a path (/run/netns/NAME,
 * /proc/PID/ns/net), a name under /run/netns, or a PID. Not root: the owning user namespace of
 * the PID first, where we then hold the capabilities to join. */
static int join_netns(const char *spec, bool root)
{
	char path[256];
	uint64_t pid = 0;
	bool is_pid = tool_parse_uint(spec, INT32_MAX, &pid) && pid > 0;
	if (is_pid)
		snprintf(path, sizeof(path), "/proc/%llu/ns/net",
			 (unsigned long long)pid);
	else if (!strchr(spec, '/'))
		/* A name, as `ip netns` gives them. */
		snprintf(path, sizeof(path), "/run/netns/%s", spec);
	else
		snprintf(path, sizeof(path), "%s", spec);
	if (!root && is_pid) {
		char up[64];
		snprintf(up, sizeof(up), "/proc/%llu/ns/user",
			 (unsigned long long)pid);
		int ufd = open(up, O_RDONLY | O_CLOEXEC);
		if (ufd < 0 || setns(ufd, CLONE_NEWUSER) < 0) {
			int err = errno;
			fprintf(stderr,
				"tunproxy: run: --netns %s: cannot join its "
				"user namespace: %s\n",
				spec, strerror(err));
			if (err == EINVAL)
				fprintf(stderr,
					"hint: the process runs in this user "
					"namespace, where you lack "
					"CAP_SYS_ADMIN: run as root\n");
			if (ufd >= 0)
				close(ufd);
			return -1;
		}
		close(ufd);
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "tunproxy: run: --netns %s: %s: %s\n", spec,
			path, strerror(errno));
		return -1;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		int err = errno;
		close(fd);
		fprintf(stderr, "tunproxy: run: --netns %s: cannot enter: %s\n",
			spec, strerror(err));
		if (err == EPERM)
			fprintf(stderr,
				"hint: entering a network namespace needs "
				"CAP_SYS_ADMIN over it: run as root, or give a "
				"PID whose user namespace you own\n");
		return -1;
	}
	close(fd);
	return 0;
}

static int enter_namespaces(const struct run_ns_req *r)
{
	bool root = geteuid() == 0;
	if (r->netns) {
		if (join_netns(r->netns, root) < 0)
			return -1;
		/* A mount namespace of our own for resolv.conf and /sys. */
		if (unshare(CLONE_NEWNS) < 0) {
			fprintf(stderr,
				"tunproxy: run: cannot create a mount "
				"namespace: %s\n",
				strerror(errno));
			return -1;
		}
		return 0;
	}
	int flags = CLONE_NEWNET | CLONE_NEWNS;
	if (!root)
		flags |= CLONE_NEWUSER;
	if (unshare(flags) < 0) {
		int err = errno;
		fprintf(
		    stderr,
		    "tunproxy: run: cannot create %snetwork namespace: %s\n",
		    root ? "a " : "a user and ", strerror(err));
		if (!root && (err == EPERM || err == ENOSPC || err == EINVAL))
			userns_hint();
		else if (root && err == EPERM)
			fprintf(stderr,
				"hint: uid 0 without CAP_SYS_ADMIN (a "
				"container?): grant it, or run tunproxy run as "
				"a normal user, in a user namespace of its "
				"own\n");
		return -1;
	}
	if (!root && map_ids(r->uid, r->gid) < 0) {
		userns_hint();
		return -1;
	}
	return 0;
}

static int link_up(int sock, const char *name)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
		return -errno;
	return 0;
}

/* Default routes through the TUN for both families (an IPv6 one only if
 * v6 is set: the device may have no IPv6). */
static int add_routes(int sock, const char *dev, bool v6)
{
	struct rtentry rt;
	memset(&rt, 0, sizeof(rt));
	struct sockaddr_in *dst = (struct sockaddr_in *)&rt.rt_dst;
	struct sockaddr_in *mask = (struct sockaddr_in *)&rt.rt_genmask;
	dst->sin_family = AF_INET;
	mask->sin_family = AF_INET;
	rt.rt_flags = RTF_UP;
	char devname[IFNAMSIZ];
	snprintf(devname, sizeof(devname), "%s", dev);
	rt.rt_dev = devname;
	if (ioctl(sock, SIOCADDRT, &rt) < 0 && errno != EEXIST) {
		fprintf(stderr,
			"tunproxy: run: cannot add the IPv4 default route: "
			"%s\n",
			strerror(errno));
		return -1;
	}
	if (!v6)
		return 0;
	int s6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s6 < 0)
		return -1;
	struct in6_rtmsg r6;
	memset(&r6, 0, sizeof(r6));
	r6.rtmsg_flags = RTF_UP;
	r6.rtmsg_metric = 1;
	r6.rtmsg_ifindex = (int)if_nametoindex(dev);
	int rc = ioctl(s6, SIOCADDRT, &r6);
	int err = errno;
	close(s6);
	if (rc < 0 && err != EEXIST) {
		fprintf(stderr,
			"tunproxy: run: cannot add the IPv6 default route: "
			"%s\n",
			strerror(err));
		return -1;
	}
	return 0;
}

static int open_tun(const struct run_ns_req *r, char name[16], bool *vnet)
{
	/* In a namespace of our own the name is free; in a joined one it
	 * may not be: then let the kernel pick tunN. */
	const char *want = r->netns ? "" : TUN_NAME;
	int fd = -1;
	*vnet = false;
	if (r->offload) {
		fd = tp_tun_open_offload(want, name);
		*vnet = fd >= 0;
	}
	if (fd < 0 && fd != -TP_ENOTUN && fd != -TP_EPERM)
		fd = tp_tun_open(want, name);
	if (fd >= 0)
		return fd;
	int err = errno;
	fprintf(stderr, "tunproxy: run: cannot create the TUN device: %s\n",
		fd == -TP_ENOTUN ? "no /dev/net/tun" : strerror(err));
	if (fd == -TP_ENOTUN)
		fprintf(stderr, "hint: load the tun module (modprobe tun, as "
				"root)\n");
	else if (fd == -TP_EPERM && access("/dev/net/tun", R_OK | W_OK) < 0)
		fprintf(stderr,
			"hint: /dev/net/tun is not readable and writable by "
			"you; most distributions ship it with mode 0666 "
			"(chmod 0666 /dev/net/tun, as root)\n");
	else if (fd == -TP_EPERM)
		fprintf(stderr, "hint: the kernel refused the TUN in this "
				"namespace (a security module?); run as "
				"root\n");
	return -1;
}

static int set_ping_range(gid_t gid)
{
	char line[64];
	snprintf(line, sizeof(line), "%u %u", (unsigned)gid, (unsigned)gid);
	return write_file("/proc/sys/net/ipv4/ping_group_range", line);
}

/* Keeps our mounts from propagating back, and shows the new network
 * namespace's devices in /sys/class/net (a sysfs shows the namespace of
 * whoever mounted it), as `ip netns exec` does. A /sys we cannot replace
 * only costs tools reading it a view of the wrong namespace. */
static int mounts_private(void)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		fprintf(stderr,
			"tunproxy: run: cannot make mounts private: "
			"%s\n",
			strerror(errno));
		return -1;
	}
	/* Locked (inherited from a more privileged user namespace) when not
	 * root: then the new sysfs simply goes on top. */
	umount2("/sys", MNT_DETACH);
	if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		fprintf(stderr,
			"tunproxy: run: warning: cannot mount /sys for the "
			"new namespace: %s\n",
			strerror(errno));
	return 0;
}

/* Bind-mounts a file holding text over /etc/resolv.conf (see the top).
 * The file is made on a small tmpfs mounted, for a moment, over a
 * directory that exists everywhere (/tmp): in our private mount namespace
 * that hides nothing from anyone else, needs no writable directory, and
 * leaves nothing on disk, even if we die half-way. */
static int mount_resolv(const char *text)
{
	static const char *const dirs[] = {"/tmp", "/mnt", "/run", "/var/tmp"};
	const char *dir = NULL;
	int err = 0;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && !dir; i++) {
		if (mount("tunproxy", dirs[i], "tmpfs",
			  MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "size=64k,mode=0755") == 0)
			dir = dirs[i];
		else
			err = errno;
	}
	if (!dir) {
		fprintf(stderr, "tunproxy: run: resolv.conf: tmpfs: %s\n",
			strerror(err));
		return -1;
	}
	int rc = -1;
	char file[64];
	snprintf(file, sizeof(file), "%s/resolv.conf", dir);
	int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		fprintf(stderr, "tunproxy: run: resolv.conf: %s\n",
			strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	if (mount(file, "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0) {
		fprintf(stderr,
			"tunproxy: run: cannot bind-mount /etc/resolv.conf: "
			"%s\n",
			strerror(errno));
		goto out;
	}
	rc = 0;
out:
	/* The bind mount keeps the file (and its tmpfs) alive; the directory
	 * shows what it held before again. */
	if (umount2(dir, MNT_DETACH) < 0)
		fprintf(stderr,
			"tunproxy: run: warning: cannot unmount the "
			"temporary tmpfs on %s\n",
			dir);
	return rc;
}

int run_ns_setup(const struct run_ns_req *r, bool *vnet)
{
	if (enter_namespaces(r) < 0 || mounts_private() < 0)
		return -1;
	char name[16];
	int fd = open_tun(r, name, vnet);
	if (fd < 0)
		return -1;
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		goto fail;
	int rc = link_up(sock, "lo");
	if (rc < 0) {
		fprintf(stderr, "tunproxy: run: cannot bring up lo: %s\n",
			strerror(-rc));
		goto fail;
	}
	rc = tp_tun_configure(name, r->mtu, r->addr4, NULL, log_err, NULL);
	if (rc < 0) {
		fprintf(stderr, "tunproxy: run: cannot configure %s: %s\n",
			name, tp_strerror(rc));
		goto fail;
	}
	/* IPv6 may be disabled on this host: then the app has IPv4 only. */
	bool v6 = r->addr6 &&
		  tp_tun_configure(name, 0, NULL, r->addr6, log_err, NULL) == 0;
	if (r->addr6 && !v6)
		fprintf(stderr, "tunproxy: run: continuing without IPv6\n");
	if (add_routes(sock, name, v6) < 0)
		goto fail;
	close(sock);
	sock = -1;
	if (geteuid() != 0 && (rc = set_ping_range(r->gid)) < 0)
		fprintf(stderr,
			"tunproxy: run: ping_group_range: %s (ping will need "
			"privileges)\n",
			strerror(-rc));
	if (r->resolv && mount_resolv(r->resolv) < 0) {
		fprintf(stderr, "hint: --no-dns leaves /etc/resolv.conf as it "
				"is\n");
		goto fail;
	}
	return fd;
fail:
	if (sock >= 0)
		close(sock);
	close(fd);
	return -1;
}
