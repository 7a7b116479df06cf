/* SPDX-License-Identifier: MIT */
/* run_linux.c - `tunproxy run [OPTIONS] [--] CMD [ARGS...]` (run.h), the proxy
 * side.
 *
 * tunproxy forks a child over a socketpair. The child (run_ns_linux.c) enters
 * new namespaces, creates the TUN there and passes its fd back with
 * SCM_RIGHTS, then waits for one byte: the engine is running. Only then
 * does it execute CMD, so CMD's first packet finds the engine ready. The
 * parent never changes namespace, so every host socket the engine opens
 * belongs to the original network namespace: CMD's traffic leaves as
 * tunproxy's own.
 *
 * The parent then waits for signals with sigtimedwait (as main.c does):
 * SIGINT, SIGTERM and SIGHUP go on to CMD, SIGUSR1 prints the counters,
 * and SIGCHLD means CMD ended: once the TCP connections CMD left have
 * ended (see drain()), the engine stops (every flow closed) and
 * tunproxy exits with CMD's status, as a shell reports it (128+N for
 * signal N). The child has PR_SET_PDEATHSIG, so CMD is not left running
 * without a network if tunproxy itself dies. The namespaces die with
 * their last process; the TUN with the namespace (or, in a --netns
 * namespace, with its fd): nothing is left behind.
 */
#define _GNU_SOURCE
#include "run.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "observe.h"
#include "pcap_tap.h"
#include "run_dns.h"
#include "run_ns.h"
#include "tunproxy.h"

/* Receives the TUN fd and its framing byte; -1 if the child failed
 * (it printed why and exits). */
static int recv_tun(int sock, bool *vnet)
{
	char byte = 0;
	struct iovec iov = {&byte, 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	ssize_t n;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	*vnet = byte == 'v';
	return fd;
}

static int send_tun(int sock, int fd, bool vnet)
{
	char byte = vnet ? 'v' : 'p';
	struct iovec iov = {&byte, 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/* Executes argv[0] as a shell would: searched in PATH unless it holds a
 * slash. Returns (if it failed) ENOENT when no file of that name exists,
 * so the caller reports 127 like a shell, not execvp's EACCES from a PATH
 * directory the user may not search; else the error of the file found. */
static int exec_path(char **argv)
{
	if (strchr(argv[0], '/')) {
		execv(argv[0], argv);
		return errno;
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	int found_err = ENOENT;
	while (*path) {
		size_t len = strcspn(path, ":");
		char file[4096];
		int n = snprintf(file, sizeof(file), "%.*s%s%s", (int)len, path,
				 len ? "/" : "", argv[0]);
		path += len + (path[len] == ':');
		if (n < 0 || (size_t)n >= sizeof(file))
			continue;
		struct stat st;
		if (stat(file, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		execv(file, argv);
		if (found_err == ENOENT)
			found_err = errno;
	}
	return found_err;
}

/* The child: namespaces and TUN, then CMD. Never returns. */
static void child(int sock, const struct run_args *a,
		  const struct run_ns_req *req)
{
	/* CMD should not outlive tunproxy: it would have no network. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	bool vnet;
	int fd = run_ns_setup(req, &vnet);
	if (fd < 0)
		_exit(1);
	if (send_tun(sock, fd, vnet) < 0)
		_exit(1);
	close(fd);
	char go;
	ssize_t n;
	do
		n = read(sock, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(1); /* the engine did not start: tunproxy said why */
	close(sock);

	/* CMD gets the signal state a shell would give it. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (a->opts->pcap && strcmp(a->opts->pcap, "-") == 0)
		dup2(STDERR_FILENO, STDOUT_FILENO); /* stdout is the capture */

	char *shell[2] = {getenv("SHELL"), NULL};
	if (!shell[0] || !*shell[0])
		shell[0] = "/bin/sh";
	char **argv = a->argc > 0 ? a->argv : shell;
	int err = exec_path(argv);
	fprintf(stderr, "tunproxy: run: %s: %s\n", argv[0],
		err == ENOENT ? "command not found" : strerror(err));
	_exit(err == ENOENT ? 127 : 126);
}

/* CMD is gone, but its last bytes may not be: the kernel goes on sending
 * what a closed socket still held (a namespace lives on while such
 * sockets do), and that needs the engine to take it and pass it on. So
 * the engine serves until its TCP connections have ended, for at most
 * DRAIN_MS (a background process of CMD may keep one open); a signal
 * ends the wait at once. */
#define DRAIN_MS 10000

static void drain(struct tp *tp, const sigset_t *sigs)
{
	for (int waited = 0; waited < DRAIN_MS; waited += 20) {
		uint64_t v[TP_CTR__COUNT];
		size_t n = tp_get_counters(tp, v, TP_CTR__COUNT);
		if (n < TP_CTR__COUNT || tp_status(tp) != 0 ||
		    v[TP_CTR_tcp_conns_open] + v[TP_CTR_tcp_half_open] == 0)
			return;
		struct timespec ts = {0, 20 * 1000 * 1000};
		siginfo_t si;
		int sig = sigtimedwait(sigs, &si, &ts);
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
			return;
	}
}

static int exit_code_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

/* Waits for the child after a failed start; its status, at least 1. */
static int reap_failed(pid_t pid)
{
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	int code = exit_code_of(status);
	return code ? code : 1;
}

int run_main(const struct run_args *a)
{
	struct tp_config *cfg = a->cfg;
	if (cfg->listen_udp) {
		fprintf(stderr, "tunproxy: run: --listen does not apply\n");
		return 2;
	}
	struct run_dns dns;
	const char *resolv = NULL;
	if (!a->opts->no_dns) {
		if (run_dns_prepare(&dns, a->addr4, a->addr6, a->opts->dns,
				    "/etc/resolv.conf") < 0)
			return 1;
		cfg->dns_redirect = dns.redirect;
		cfg->dns_upstream = dns.upstream;
		resolv = dns.resolv;
	}
	struct run_ns_req req = {
	    .netns = a->opts->netns,
	    .addr4 = a->addr4,
	    .addr6 = a->addr6,
	    .mtu = cfg->mtu,
	    .offload = !a->no_offload,
	    .resolv = resolv,
	    .uid = geteuid(),
	    .gid = getegid(),
	};
	struct pcap_tap *pcap = NULL;
	if (a->opts->pcap) {
		pcap = pcap_tap_open(a->opts->pcap,
				     "tunproxy run: outbound from the app, "
				     "inbound to the app");
		if (!pcap)
			return 1;
		pcap_tap_attach(pcap, cfg);
	}

	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &sigs, NULL);

	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		perror("tunproxy: run: socketpair");
		pcap_tap_close(pcap);
		return 1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("tunproxy: run: fork");
		pcap_tap_close(pcap);
		return 1;
	}
	if (pid == 0) {
		close(sp[0]);
		child(sp[1], a, &req);
	}
	close(sp[1]);
	bool vnet = false;
	int fd = recv_tun(sp[0], &vnet);
	if (fd < 0) {
		close(sp[0]);
		pcap_tap_close(pcap);
		return reap_failed(pid);
	}
	cfg->tun_fd = fd;
	cfg->framing = vnet ? TP_FRAMING_VNET_HDR : TP_FRAMING_NONE;
	struct tp *tp = NULL;
	int rc = tp_create(cfg, &tp);
	if (rc == 0 && (rc = tp_start(tp)) < 0) {
		tp_destroy(tp);
		tp = NULL;
	}
	if (rc == 0 && a->obs && observe_start(a->obs, tp) < 0) {
		tp_destroy(tp); /* observe_start said why */
		tp = NULL;
		rc = -TP_EINVAL;
	}
	if (rc < 0) {
		if (rc != -TP_EINVAL || !a->obs)
			fprintf(stderr, "tunproxy: cannot start: %s\n",
				tp_strerror(rc));
		close(sp[0]); /* the child exits without running CMD */
		close(fd);
		reap_failed(pid);
		pcap_tap_close(pcap);
		return 1;
	}
	if (a->verbosity >= 1)
		fprintf(stderr,
			"tunproxy: run: engine on the TUN, CMD is pid "
			"%d\n",
			(int)pid);
	if (send(sp[0], "g", 1, MSG_NOSIGNAL) != 1)
		fprintf(stderr, "tunproxy: run: the child went away\n");
	close(sp[0]);

	int status = 0;
	bool engine_dead = false;
	for (;;) {
		struct timespec ts = {0, 500 * 1000 * 1000};
		siginfo_t si;
		int sig = sigtimedwait(&sigs, &si, &ts);
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
			kill(pid, sig);
		else if (sig == SIGUSR1)
			a->print_counters(tp);
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			status = 1 << 8;
			break;
		}
		if (!engine_dead && tp_status(tp) != 0) {
			fprintf(stderr,
				"tunproxy: engine stopped: %s; ending CMD\n",
				tp_strerror(tp_status(tp)));
			engine_dead = true;
			kill(pid, SIGTERM);
		}
	}
	if (!engine_dead)
		drain(tp, &sigs);
	if (a->obs)
		observe_stop(a->obs);
	tp_stop(tp);
	if (a->verbosity >= 1)
		a->print_counters(tp);
	tp_destroy(tp);
	close(fd);
	pcap_tap_close(pcap);
	return engine_dead ? 1 : exit_code_of(status);
}
