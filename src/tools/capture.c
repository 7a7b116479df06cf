/* SPDX-License-Identifier: MIT */
/* capture.c - `tunproxy capture`: the tee's subscriber, writing pcapng.
 *
 * Connects to the tee's mirror port, checks the greeting, and turns each
 * record of the mirror stream (mirror.h) into an Enhanced Packet Block
 * with the packet's direction (pcapng.h): outbound = from the app through
 * the tunnel, inbound = to the app, as Wireshark shows a capture on the
 * phone's tunnel interface. Copies the tee had to drop because we were too
 * slow are recorded as epb_dropcount on the next packet and counted.
 *
 * The file is valid from the start (header blocks are written before
 * connecting) and after every pass of the loop (only whole blocks are
 * written), so Ctrl-C, the tee going away or the reader of "-w -" exiting
 * never leaves a broken file. On a signal the capture ends with an
 * Interface Statistics Block (packets received, dropped by the tee).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "capture_filter.h"
#include "capture_stream.h"
#include "mirror.h"
#include "pcapng.h"
#include "toolos.h"
#include "tool_util.h"
#include "tools.h"
#include "tunproxy.h"

#define CONNECT_TIMEOUT_MS 3000
#define RETRY_MS	   1000

struct capture {
	struct tool_addr from;
	const char *out_path;
	uint64_t max_packets; /* 0: no limit */
	bool reconnect;
	struct capture_filter filter;
	int verbosity;

	int sig_fd;
	int out_fd;
	struct capture_stream *st; /* records to pcapng (capture_stream.h) */
};

/* The help text is laid out as printed. */
/* clang-format off */
static void capture_usage(FILE *f)
{
	fprintf(f,
		"Usage: tunproxy capture [--from ADDR] -w FILE|- [options]\n"
		"\n"
		"Subscribes to a tunproxy tee's mirror port and writes every relayed\n"
		"packet to a pcapng file with its direction (outbound: from the app,\n"
		"inbound: to the app). Ctrl-C leaves a valid file.\n"
		"\n"
		"  --from ADDR       the tee's mirror port (default 127.0.0.1:8082)\n"
		"  -w FILE           write here; '-' streams to stdout, e.g.\n"
		"                    tunproxy capture -w - | wireshark -k -i -\n"
		"  -c N              stop after N packets\n"
		"  --proto P         only tcp, udp or icmp (ICMPv6 included)\n"
		"  --port N          only packets from or to port N\n"
		"  --host ADDR       only packets from or to ADDR\n"
		"  --reconnect       when the tee is not there or goes away, retry\n"
		"                    every second instead of exiting\n"
		"  -v, -q, -h        more log output, errors only, this help\n");
}
/* clang-format on */

static int parse_capture_args(int argc, char **argv, struct capture *c)
{
	enum { C_FROM = 256, C_PROTO, C_PORT, C_HOST, C_RECONNECT };
	static const struct option opts[] = {
	    {"from", required_argument, NULL, C_FROM},
	    {"write", required_argument, NULL, 'w'},
	    {"count", required_argument, NULL, 'c'},
	    {"proto", required_argument, NULL, C_PROTO},
	    {"port", required_argument, NULL, C_PORT},
	    {"host", required_argument, NULL, C_HOST},
	    {"reconnect", no_argument, NULL, C_RECONNECT},
	    {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int o;
	char err[160];
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":w:c:vqh", opts, NULL)) != -1) {
		int rc = 0;
		switch (o) {
		case C_FROM:
			if (tool_addr_parse(optarg, "127.0.0.1", &c->from, err,
					    sizeof(err)) < 0) {
				fprintf(stderr,
					"tunproxy capture: --from: %s\n", err);
				return -1;
			}
			break;
		case 'w':
			c->out_path = optarg;
			break;
		case 'c':
			if (!tool_parse_size(optarg, UINT64_MAX,
					     &c->max_packets) ||
			    c->max_packets == 0)
				rc = -1;
			break;
		case C_PROTO:
			rc = capture_filter_set_proto(&c->filter, optarg);
			break;
		case C_PORT:
			rc = capture_filter_set_port(&c->filter, optarg);
			break;
		case C_HOST:
			rc = capture_filter_set_host(&c->filter, optarg);
			break;
		case C_RECONNECT:
			c->reconnect = true;
			break;
		case 'v':
		case 'q':
		case 'h':
		default:
			if (tools_common_opt("tunproxy capture", o, argv,
					     &c->verbosity, capture_usage) < 0)
				return -1;
			break;
		}
		if (rc < 0) {
			tools_bad_value("tunproxy capture", opts, o, optarg,
					NULL);
			return -1;
		}
	}
	if (tools_no_operands("tunproxy capture", argc, argv) < 0)
		return -1;
	if (!c->out_path) {
		fprintf(stderr, "tunproxy capture: give -w FILE (or -w - for "
				"stdout)\n");
		return -1;
	}
	return 0;
}

static int open_output(struct capture *c)
{
	if (strcmp(c->out_path, "-") == 0) {
		if (isatty(STDOUT_FILENO)) {
			fprintf(stderr, "tunproxy capture: not writing pcapng "
					"to a terminal; pipe it (-w - | "
					"wireshark -k -i -)\n");
			return -1;
		}
		c->out_fd = STDOUT_FILENO;
	} else {
		c->out_fd =
		    open(c->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			 0644);
		if (c->out_fd < 0) {
			fprintf(stderr, "tunproxy capture: %s: %s\n",
				c->out_path, strerror(errno));
			return -1;
		}
	}
	c->st->w = pcapng_open(c->out_fd, "tunproxy capture", "tunproxy",
			       "packets relayed by the tunproxy tee (outbound: "
			       "from the app, inbound: to the app)");
	if (!c->st->w || pcapng_flush(c->st->w) < 0) {
		fprintf(stderr, "tunproxy capture: cannot write %s\n",
			c->out_path);
		return -1;
	}
	return 0;
}

/* Waits for the signal fd or fd (events) for at most ms. Returns the
 * revents of fd, or -1 when a stop signal arrived. SIGUSR1 is ignored. */
static int wait_fd(struct capture *c, int fd, short events, int ms)
{
	struct pollfd p[2] = {{.fd = c->sig_fd, .events = POLLIN},
			      {.fd = fd, .events = events}};
	int r = poll(p, fd >= 0 ? 2 : 1, ms);
	if (r > 0 && (p[0].revents & POLLIN)) {
		int sig = tool_signal_take();
		if (sig && sig != SIGUSR1)
			return -1;
	}
	return r > 0 && fd >= 0 ? p[1].revents : 0;
}

/* Connects to the tee (non-blocking connect, bounded wait). Returns the
 * socket, -1 on failure, -2 on a stop signal. */
static int connect_tee(struct capture *c)
{
	int fd = toolos_socket(c->from.ss.ss_family, SOCK_STREAM);
	if (fd < 0)
		return -1;
	int rc = connect(fd, (struct sockaddr *)&c->from.ss, c->from.len);
	if (rc < 0 && errno == EINPROGRESS) {
		int ev = wait_fd(c, fd, POLLOUT, CONNECT_TIMEOUT_MS);
		if (ev < 0) {
			close(fd);
			return -2;
		}
		int e = ETIMEDOUT;
		socklen_t len = sizeof(e);
		if (ev)
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
		errno = e;
		rc = e ? -1 : 0;
	}
	if (rc < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Reads the stream until it ends. CAP_GO_ON: the tee went away. */
static enum cap_status stream(struct capture *c, int fd)
{
	capture_stream_restart(c->st);
	for (;;) {
		int ev = wait_fd(c, fd, POLLIN, -1);
		if (ev < 0)
			return CAP_STOP;
		if (!ev)
			continue;
		size_t room;
		uint8_t *p = capture_stream_space(c->st, &room);
		ssize_t r = recv(fd, p, room, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0) {
			tool_log(TP_LOG_WARN, "the tee closed the stream%s%s",
				 r < 0 ? ": " : "",
				 r < 0 ? strerror(errno) : "");
			return CAP_GO_ON;
		}
		enum cap_status st = capture_stream_got(c->st, (size_t)r);
		if (st != CAP_GO_ON)
			return st;
	}
}

static enum cap_status run(struct capture *c)
{
	char a[64];
	os_addr_str(&c->from.ss, a, sizeof(a));
	for (;;) {
		int fd = connect_tee(c);
		if (fd == -2)
			return CAP_STOP;
		if (fd < 0) {
			if (!c->reconnect) {
				tool_log(TP_LOG_ERROR,
					 "cannot connect to the tee at %s: %s",
					 a, strerror(errno));
				return CAP_FAIL;
			}
			tool_log(TP_LOG_DEBUG, "tee at %s: %s; retrying", a,
				 strerror(errno));
			if (wait_fd(c, -1, 0, RETRY_MS) < 0)
				return CAP_STOP;
			continue;
		}
		tool_log(TP_LOG_INFO, "connected to the tee at %s", a);
		enum cap_status st = stream(c, fd);
		close(fd);
		if (st != CAP_GO_ON || !c->reconnect)
			return st == CAP_GO_ON ? CAP_STOP : st;
	}
}

int capture_main(int argc, char **argv)
{
	struct capture c = {.out_fd = -1};
	char err[160];
	tool_name = "tunproxy-capture";
	capture_filter_init(&c.filter);
	tool_addr_parse("127.0.0.1:8082", NULL, &c.from, err, sizeof(err));
	if (parse_capture_args(argc, argv, &c) < 0) {
		tools_try_help("capture");
		return 2;
	}
	tool_log_level = tool_level_from_verbosity(c.verbosity);
	c.sig_fd = tool_signals_init();
	c.st = calloc(1, sizeof(*c.st));
	if (c.sig_fd < 0 || !c.st) {
		free(c.st);
		return 1;
	}
	if (open_output(&c) < 0) {
		free(c.st);
		return 1;
	}
	c.st->filter = &c.filter;
	c.st->max_packets = c.max_packets;
	enum cap_status status = run(&c);
	const struct capture_stream *st = c.st;
	int rc = pcapng_close(st->w, tool_realtime_ns(),
			      st->written + st->tee_dropped, st->tee_dropped);
	bool broken_pipe = rc == -EPIPE;
	if (rc < 0 && !broken_pipe) {
		fprintf(stderr, "tunproxy capture: writing %s: %s\n",
			c.out_path, strerror(-rc));
		status = CAP_FAIL;
	}
	if (c.out_fd != STDOUT_FILENO)
		close(c.out_fd);
	if (c.verbosity >= 0)
		fprintf(stderr,
			"tunproxy capture: %llu packets written to %s, %llu "
			"dropped by the tee (capture too slow), %llu filtered "
			"out\n",
			(unsigned long long)st->written,
			strcmp(c.out_path, "-") ? c.out_path : "stdout",
			(unsigned long long)st->tee_dropped,
			(unsigned long long)st->filtered);
	free(c.st);
	return status == CAP_FAIL && !broken_pipe ? 1 : 0;
}
