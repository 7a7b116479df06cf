/* SPDX-License-Identifier: MIT */
/* flows_cmd.c - `tunproxy flows` and `tunproxy stats`: ask a running
 * tunproxy through its control socket (--control PATH) and print the
 * answer. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "observe.h"
#include "tool_util.h"
#include "tools.h"

#define DEFAULT_CONTROL "/run/tunproxy.sock"

static void client_usage(FILE *f)
{
	fprintf(f, "usage: tunproxy flows [--json] [--watch[=SECONDS]] "
		   "[--control PATH]\n"
		   "       tunproxy stats [--json] [--control PATH]\n"
		   "Asks a tunproxy started with --control PATH. PATH defaults "
		   "to $TUNPROXY_CONTROL, else " DEFAULT_CONTROL ".\n");
}

/* Sends cmd, copies the answer to stdout. Returns 0, 1 on an error
 * answer or a connection failure. */
static int ask(const char *path, const char *cmd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "tunproxy: control path too long\n");
		return 1;
	}
	strcpy(sa.sun_path, path);
	int fd = observe_cloexec(socket(AF_UNIX, SOCK_STREAM, 0));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "tunproxy: cannot reach %s: %s\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	size_t len = strlen(cmd);
	if (send(fd, cmd, len, 0) != (ssize_t)len) {
		close(fd);
		return 1;
	}
	char buf[65536];
	ssize_t r;
	bool first = true, err = false;
	while ((r = recv(fd, buf, sizeof(buf), 0)) > 0) {
		if (first && r >= 6 && memcmp(buf, "error:", 6) == 0)
			err = true;
		first = false;
		fwrite(buf, 1, (size_t)r, err ? stderr : stdout);
	}
	if (r < 0)
		fprintf(stderr, "tunproxy: %s: %s\n", path, strerror(errno));
	close(fd);
	fflush(stdout);
	return err || first || r < 0 ? 1 : 0;
}

int observe_client_main(int argc, char **argv)
{
	if (argc < 2 ||
	    (strcmp(argv[1], "flows") != 0 && strcmp(argv[1], "stats") != 0))
		return -1;
	bool flows = strcmp(argv[1], "flows") == 0, json = false;
	signal(SIGPIPE, SIG_IGN); /* a server gone: an error, not a death */
	uint64_t watch_us = 0;	  /* 0: once */
	const char *path = getenv("TUNPROXY_CONTROL");
	if (!path || !*path)
		path = DEFAULT_CONTROL;
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"watch", optional_argument, NULL, 'w'},
	    {"control", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *sub = flows ? "flows" : "stats";
	const char *prog = flows ? "tunproxy flows" : "tunproxy stats";
	int o;
	optind = 1;
	opterr = 0; /* the conventions' one line instead (tools.h) */
	while ((o = getopt_long(argc - 1, argv + 1, ":jwc:h", opts, NULL)) !=
	       -1) {
		switch (o) {
		case 'j':
			json = true;
			break;
		case 'w':
			/* "2", "0.5", "500ms": seconds unless a unit says. */
			watch_us = 1000000;
			if (!flows ||
			    (optarg && !tool_parse_duration(optarg, 1000000,
							    &watch_us)) ||
			    watch_us == 0) {
				tools_bad_value(
				    prog, opts, o, optarg ? optarg : "",
				    flows ? "seconds above 0" : "flows only");
				tools_try_help(sub);
				return 2;
			}
			break;
		case 'c':
			path = optarg;
			break;
		case 'h':
			client_usage(stdout);
			return 0;
		default:
			tools_option_error(prog, o, argv + 1);
			tools_try_help(sub);
			return 2;
		}
	}
	if (optind < argc - 1) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog,
			argv[optind + 1]);
		tools_try_help(sub);
		return 2;
	}
	char cmd[32];
	snprintf(cmd, sizeof(cmd), "%s%s\n", sub, json ? " json" : "");
	if (!watch_us)
		return ask(path, cmd);
	for (;;) {
		if (!json)
			fputs("\033[H\033[2J", stdout); /* clear the screen */
		int rc = ask(path, cmd);
		if (rc)
			return rc;
		struct timespec ts = {.tv_sec = (time_t)(watch_us / 1000000),
				      .tv_nsec =
					  (long)(watch_us % 1000000) * 1000};
		nanosleep(&ts, NULL);
	}
}
