/* SPDX-License-Identifier: MIT */
/*
 * probe.c - the small load generator and echo server of tunproxy's benchmark
 *
 * Plain C, no dependencies; bench/run.sh builds it with gcc -O2. It measures
 * what iperf3 does not: small-message latency, connection rate and the cost
 * of idle connections.
 *
 *   probe server PORT           TCP echo (epoll, any number of connections)
 *                               and UDP echo, both on PORT, all addresses
 *   probe rr HOST PORT SECS     1-byte TCP request/response round trips on one
 *                               connection (TCP_NODELAY both ends)
 *   probe crr HOST PORT SECS    connections per second: connect, 1-byte
 *                               exchange, close, repeated back to back
 *   probe urr HOST PORT SECS    1-byte UDP request/response round trips
 *   probe unf HOST PORT SECS    DNS-like: a new UDP socket (flow) per
 *                               40-byte query and its answer
 *   probe hold HOST PORT N      open N idle TCP connections, print "ready"
 *                               once all are established, keep them open
 *                               until SIGTERM/SIGINT (or EOF on stdin when
 *                               stdin is a pipe or socket)
 *
 * Results go to stdout as one line that starts with the subcommand name and
 * the figure, e.g. "rr 14512.3 rt/s ...", so scripts take field 2.
 *
 * crr closes from the client side first, after the echo has arrived: the
 * client's kernel (the app behind the forwarder) holds every TIME_WAIT. Past
 * ~28k connections to one server port the app can only reuse a port that is
 * still in TIME_WAIT if the forwarder's SYN-ACK carried TCP timestamps
 * (RFC 7323 PAWS makes the reuse safe); forwarders that strip timestamps
 * make connect() search ever longer for a free port. This is the behaviour
 * shared/reference/peer-findings.md reports, so crr prints its slowest and
 * last one-second rates beside the average to show such a collapse.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define IO_TIMEOUT_MS 2000 /* a stalled forwarder must not hang the bench */
#define HOLD_INFLIGHT 128  /* connects pending at once in "hold" */
#define HOLD_DEADLINE 120  /* seconds to establish all "hold" connections */
#define MAX_BUCKETS   3600 /* one-second buckets for crr */

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "probe: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Monotonic time in seconds. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Raise the open-file limit as far as allowed: hold and server need 10k+. */
static void raise_nofile(void)
{
	struct rlimit rl;

	rl.rlim_cur = rl.rlim_max = 1 << 20;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		return;
	rl.rlim_cur = rl.rlim_max = 200000;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void set_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void set_timeouts(int fd, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000,
			     .tv_usec = (ms % 1000) * 1000};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Resolve HOST PORT (numeric addresses only: no DNS in the bench). */
static void resolve(const char *host, const char *port, int socktype,
		    struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = {0}, *ai;
	int rc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = socktype;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "probe: %s port %s: %s\n", host, port,
			gai_strerror(rc));
		exit(2);
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
}

/* ---- server ------------------------------------------------------------ */

/* Tags in epoll data: listening sockets carry negative markers. */
#define TAG_LISTEN ((uint64_t)1 << 62)
#define TAG_UDP	   ((uint64_t)1 << 61)

static int listen_on(int family, int type, int port)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int one = 1, fd;

	fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		/* Separate v4 and v6 sockets: v4 replies come from a v4 socket. */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		s6->sin6_addr = in6addr_any;
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		s4->sin_addr.s_addr = htonl(INADDR_ANY);
		len = sizeof(*s4);
	}
	if (type == SOCK_DGRAM)
		setsockopt(fd, family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
			   family == AF_INET6 ? IPV6_RECVPKTINFO : IP_PKTINFO,
			   &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 4096) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Write all of buf to a non-blocking socket (echoes here are tiny). */
static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			usleep(100);
			continue;
		}
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Echo every queued datagram from the address it was sent to (IP_PKTINFO):
 * the socket is bound to the wildcard, and a reply from another of the
 * server's addresses would not reach a connected client socket.
 */
static void udp_echo(int fd, char *buf, size_t size)
{
	union {
		char b[256];
		struct cmsghdr align;
	} ctl;
	struct sockaddr_storage from;
	struct iovec iov;
	struct msghdr mh;
	ssize_t r;

	for (;;) {
		iov.iov_base = buf;
		iov.iov_len = size;
		memset(&mh, 0, sizeof(mh));
		mh.msg_name = &from;
		mh.msg_namelen = sizeof(from);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.b;
		mh.msg_controllen = sizeof(ctl.b);
		r = recvmsg(fd, &mh, 0);
		if (r < 0)
			return;
		iov.iov_len = (size_t)r;
		/* The received IP_PKTINFO/IPV6_PKTINFO cmsg, sent back as it
		 * is, makes the reply's source the request's destination. For
		 * IPv4 ipi_spec_dst already holds that address; clear the
		 * interface so routing picks the way back. */
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
		     c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == IPPROTO_IP &&
			    c->cmsg_type == IP_PKTINFO)
				((struct in_pktinfo *)CMSG_DATA(c))
				    ->ipi_ifindex = 0;
			if (c->cmsg_level == IPPROTO_IPV6 &&
			    c->cmsg_type == IPV6_PKTINFO)
				((struct in6_pktinfo *)CMSG_DATA(c))
				    ->ipi6_ifindex = 0;
		}
		mh.msg_flags = 0;
		sendmsg(fd, &mh, 0);
	}
}

static int cmd_server(int port)
{
	struct epoll_event ev, evs[256];
	int ep, fams[2] = {AF_INET, AF_INET6}, i, nl = 0;
	char buf[65536];

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	for (i = 0; i < 2; i++) {
		int t = listen_on(fams[i], SOCK_STREAM, port);
		int u = listen_on(fams[i], SOCK_DGRAM, port);

		if (t >= 0) {
			ev.events = EPOLLIN;
			ev.data.u64 = TAG_LISTEN | (uint64_t)t;
			epoll_ctl(ep, EPOLL_CTL_ADD, t, &ev);
			nl++;
		}
		if (u >= 0) {
			ev.events = EPOLLIN;
			ev.data.u64 = TAG_UDP | (uint64_t)u;
			epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev);
		}
	}
	if (nl == 0)
		die("listen");
	printf("listening %d\n", port);
	fflush(stdout);

	while (!stop_flag) {
		int n = epoll_wait(ep, evs, 256, 1000);

		for (i = 0; i < n; i++) {
			uint64_t d = evs[i].data.u64;
			int fd = (int)(d & 0xffffffffu);

			if (d & TAG_LISTEN) {
				for (;;) {
					int c = accept4(fd, NULL, NULL,
							SOCK_NONBLOCK |
							    SOCK_CLOEXEC);

					if (c < 0)
						break;
					set_nodelay(c);
					ev.events = EPOLLIN | EPOLLRDHUP;
					ev.data.u64 = (uint64_t)c;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, c,
						      &ev) < 0)
						close(c);
				}
			} else if (d & TAG_UDP) {
				udp_echo(fd, buf, sizeof(buf));
			} else {
				ssize_t r = read(fd, buf, sizeof(buf));

				if (r > 0) {
					if (write_all(fd, buf, (size_t)r) < 0)
						close(fd);
				} else if (r == 0 || (errno != EAGAIN &&
						      errno != EINTR)) {
					/* The client closed first (crr): we
					 * only answer its FIN. */
					close(fd);
				}
			}
		}
	}
	return 0;
}

/* ---- rr / urr ------------------------------------------------------------ */

static int connect_blocking(const struct sockaddr_storage *ss, socklen_t len,
			    int type)
{
	int fd = socket(ss->ss_family, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	set_timeouts(fd, IO_TIMEOUT_MS);
	if (type == SOCK_STREAM)
		set_nodelay(fd);
	if (connect(fd, (const struct sockaddr *)ss, len) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int cmd_rr(const char *host, const char *port, double secs)
{
	struct sockaddr_storage ss;
	socklen_t len;
	double t0, t, end;
	unsigned long n = 0;
	char c = 'x';
	int fd;

	resolve(host, port, SOCK_STREAM, &ss, &len);
	fd = connect_blocking(&ss, len, SOCK_STREAM);
	if (fd < 0)
		die("connect");
	t0 = now_s();
	end = t0 + secs;
	for (;;) {
		if (write(fd, &c, 1) != 1 || read(fd, &c, 1) != 1) {
			fprintf(stderr,
				"probe: rr: round trip %lu failed after %.3f "
				"s: %s\n",
				n + 1, now_s() - t0,
				errno ? strerror(errno) : "connection closed");
			t = now_s();
			printf("rr %.1f rt/s (%lu round trips in %.3f s, "
			       "FAILED)\n",
			       n / (t - t0), n, t - t0);
			return 1;
		}
		n++;
		/* Reading the clock every round trip is cheap (vDSO). */
		if ((t = now_s()) >= end)
			break;
	}
	printf("rr %.1f rt/s (%lu round trips in %.3f s)\n", n / (t - t0), n,
	       t - t0);
	close(fd);
	return 0;
}

static int cmd_urr(const char *host, const char *port, double secs)
{
	struct sockaddr_storage ss;
	socklen_t len;
	double t0, t, end;
	unsigned long n = 0, lost = 0;
	char c = 'x', r;
	int fd;

	resolve(host, port, SOCK_DGRAM, &ss, &len);
	fd = connect_blocking(&ss, len, SOCK_DGRAM);
	if (fd < 0)
		die("connect");
	set_timeouts(fd, 200); /* a lost datagram costs 200 ms, counted */
	t0 = now_s();
	end = t0 + secs;
	do {
		if (send(fd, &c, 1, 0) != 1 || recv(fd, &r, 1, 0) != 1)
			lost++;
		else
			n++;
		if (lost > 50 && n == 0)
			break; /* nothing comes back at all */
	} while ((t = now_s()) < end);
	t = now_s();
	printf(
	    "urr %.1f rt/s (%lu round trips, %lu lost/timed out, %.3f s%s)\n",
	    n / (t - t0), n, lost, t - t0, n ? "" : ", FAILED");
	close(fd);
	return n ? 0 : 1;
}

/* A DNS-like client: every query from a new socket (a new source port, so
 * a new flow for a forwarder), 40 bytes out, the echo back, close. */
static int cmd_unf(const char *host, const char *port, double secs)
{
	struct sockaddr_storage ss;
	socklen_t len;
	double t0, t, end;
	unsigned long n = 0, lost = 0, failed = 0;
	char q[40], r[64];

	memset(q, 'q', sizeof(q));
	resolve(host, port, SOCK_DGRAM, &ss, &len);
	t0 = now_s();
	end = t0 + secs;
	do {
		int fd = connect_blocking(&ss, len, SOCK_DGRAM);

		if (fd < 0) {
			if (++failed > 1000 && n == 0)
				break;
			continue;
		}
		set_timeouts(fd, 200); /* a lost answer costs 200 ms */
		if (send(fd, q, sizeof(q), 0) != (ssize_t)sizeof(q) ||
		    recv(fd, r, sizeof(r), 0) != (ssize_t)sizeof(q))
			lost++;
		else
			n++;
		close(fd);
		if (lost > 50 && n == 0)
			break;
	} while ((t = now_s()) < end);
	t = now_s();
	printf("unf %.1f queries/s (%lu answered, %lu lost/timed out, %lu "
	       "sockets failed, %.3f s%s)\n",
	       n / (t - t0), n, lost, failed, t - t0, n ? "" : ", FAILED");
	return n ? 0 : 1;
}

/* ---- crr ----------------------------------------------------------------- */

static int cmd_crr(const char *host, const char *port, double secs)
{
	static unsigned long bucket[MAX_BUCKETS];
	struct sockaddr_storage ss;
	socklen_t len;
	double t0, t, end;
	unsigned long n = 0, err = 0, err_connect = 0, err_io = 0;
	int last_errno = 0, nb, b, i;
	double min_rate = -1, last_rate = 0;
	char c = 'x';

	resolve(host, port, SOCK_STREAM, &ss, &len);
	t0 = now_s();
	end = t0 + secs;
	do {
		int fd = connect_blocking(&ss, len, SOCK_STREAM);

		if (fd < 0) {
			err++;
			err_connect++;
			last_errno = errno;
			if (errno == EADDRNOTAVAIL)
				usleep(1000); /* ports exhausted: do not spin */
		} else if (write(fd, &c, 1) != 1 || read(fd, &c, 1) != 1) {
			err++;
			err_io++;
			last_errno = errno;
			close(fd);
		} else {
			/* Client closes first: TIME_WAIT stays here. */
			close(fd);
			n++;
			b = (int)(now_s() - t0);
			if (b >= 0 && b < MAX_BUCKETS)
				bucket[b]++;
		}
	} while ((t = now_s()) < end);
	nb = (int)(t - t0); /* complete one-second buckets */
	fprintf(stderr, "crr per second:");
	for (i = 0; i < nb && i < MAX_BUCKETS; i++)
		fprintf(stderr, " %lu", bucket[i]);
	fprintf(stderr, "\n");
	for (i = 0; i < nb && i < MAX_BUCKETS; i++) {
		if (min_rate < 0 || bucket[i] < min_rate)
			min_rate = (double)bucket[i];
		last_rate = (double)bucket[i];
	}
	printf(
	    "crr %.1f conn/s (%lu connections in %.3f s; slowest second %.0f,"
	    " last second %.0f; %lu errors",
	    n / (t - t0), n, t - t0, min_rate < 0 ? 0 : min_rate, last_rate,
	    err);
	if (err)
		printf(": %lu connect, %lu exchange, last: %s", err_connect,
		       err_io, strerror(last_errno));
	printf(")\n");
	return n ? 0 : 1;
}

/* ---- hold ---------------------------------------------------------------- */

static int cmd_hold(const char *host, const char *port, long want)
{
	struct sockaddr_storage ss;
	struct epoll_event ev, evs[256];
	socklen_t len;
	long started = 0, up = 0, failed = 0, inflight = 0;
	double t0 = now_s();
	int ep, i, wait_stdin = 0, last_err = 0;
	struct stat st;

	resolve(host, port, SOCK_STREAM, &ss, &len);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	while (up + failed < want && !stop_flag &&
	       now_s() - t0 < HOLD_DEADLINE) {
		while (inflight < HOLD_INFLIGHT && started < want) {
			int fd = socket(
			    ss.ss_family,
			    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

			if (fd < 0) {
				last_err = errno;
				failed++;
				started++;
				continue;
			}
			started++;
			if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
				up++;
				continue;
			}
			if (errno != EINPROGRESS) {
				last_err = errno;
				failed++;
				close(fd);
				continue;
			}
			ev.events = EPOLLOUT;
			ev.data.fd = fd;
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			inflight++;
		}
		int n = epoll_wait(ep, evs, 256, 1000);

		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd, e = 0;
			socklen_t el = sizeof(e);

			getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
			epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
			inflight--;
			if (e) {
				last_err = e;
				failed++;
				close(fd);
			} else {
				up++; /* stays open, idle, until we exit */
			}
		}
	}
	printf("ready %ld of %ld established in %.2f s, %ld failed%s%s\n", up,
	       want, now_s() - t0, failed, failed ? ": " : "",
	       failed ? strerror(last_err) : "");
	fflush(stdout);

	if (fstat(0, &st) == 0 &&
	    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		wait_stdin = 1;
	while (!stop_flag) {
		if (wait_stdin) {
			char b;
			ssize_t r = read(0, &b, 1);

			if (r == 0 || (r < 0 && errno != EINTR))
				break;
		} else {
			pause();
		}
	}
	return up == want ? 0 : 1;
}

/* ---- main ---------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr, "usage: probe server PORT\n"
			"       probe rr HOST PORT SECONDS\n"
			"       probe crr HOST PORT SECONDS\n"
			"       probe urr HOST PORT SECONDS\n"
			"       probe unf HOST PORT SECONDS\n"
			"       probe hold HOST PORT N\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sigaction sa = {0};

	setvbuf(stdout, NULL, _IOLBF, 0);
	sa.sa_handler = on_signal; /* no SA_RESTART: pause/read return */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();

	if (argc == 3 && strcmp(argv[1], "server") == 0)
		return cmd_server(atoi(argv[2]));
	if (argc != 5)
		usage();
	if (strcmp(argv[1], "rr") == 0)
		return cmd_rr(argv[2], argv[3], atof(argv[4]));
	if (strcmp(argv[1], "crr") == 0)
		return cmd_crr(argv[2], argv[3], atof(argv[4]));
	if (strcmp(argv[1], "urr") == 0)
		return cmd_urr(argv[2], argv[3], atof(argv[4]));
	if (strcmp(argv[1], "unf") == 0)
		return cmd_unf(argv[2], argv[3], atof(argv[4]));
	if (strcmp(argv[1], "hold") == 0)
		return cmd_hold(argv[2], argv[3], atol(argv[4]));
	usage();
	return 2;
}
