/* SPDX-License-Identifier: MIT */
/* observe.h - looking at a running tunproxy: the control socket
 * (--control PATH, for `tunproxy flows` and `tunproxy stats`), Prometheus
 * metrics (--metrics ADDR) and the connection log (--log-flows,
 * --log-format json). See docs/tunproxy.md, "Watching flows". */
#ifndef TP_TOOLS_OBSERVE_H
#define TP_TOOLS_OBSERVE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "tunproxy.h"

enum {
	OBS_OPT_CONTROL = 1100, /* after run.h's RUN_OPT_* (1000...) */
	OBS_OPT_METRICS,
	OBS_OPT_LOG_FLOWS,
	OBS_OPT_LOG_FORMAT,
};

#define OBSERVE_LONG_OPTIONS                                                   \
	{"control", required_argument, NULL, OBS_OPT_CONTROL},                 \
	    {"metrics", required_argument, NULL, OBS_OPT_METRICS},             \
	    {"log-flows", no_argument, NULL, OBS_OPT_LOG_FLOWS},               \
	    {"log-format", required_argument, NULL, OBS_OPT_LOG_FORMAT},

struct observe {
	const char *control; /* --control PATH, NULL: none */
	const char *metrics; /* --metrics HOST:PORT, NULL: none */
	bool log_flows;
	struct tp *tp;
	int ctl_fd, met_fd, stop_pipe[2];
	bool thread_started;
	pthread_t thread;
};

/* True when log lines are JSON objects (--log-format json). */
extern bool observe_json_logs;

/* Handles one of the options above: 0 taken, 1 not ours, -1 bad value
 * (printed). */
int observe_parse_opt(struct observe *o, int opt, const char *arg);

/* Before tp_create: sets cfg's flow_end for --log-flows. */
void observe_attach(struct observe *o, struct tp_config *cfg);

/* After tp_start: opens the sockets and starts their thread. Returns 0
 * or -1 (printed). */
int observe_start(struct observe *o, struct tp *tp);

/* Before tp_destroy: stops the thread, closes and unlinks the sockets. */
void observe_stop(struct observe *o);

/* Writes the flow table (or JSON) / the counters to f: the control
 * socket's answers, shared with the tests. */
int observe_write_flows(struct tp *tp, FILE *f, bool json);
void observe_write_stats(struct tp *tp, FILE *f, bool json);
void observe_write_metrics(struct tp *tp, FILE *f);
/* The connection log's line for a flow that ended (--log-flows). */
void observe_write_flow_end(FILE *f, const struct tp_flow_info *x, bool json);

/* `tunproxy flows ...` and `tunproxy stats ...`: the client. Returns an
 * exit code, or -1 if argv[1] is neither. */
int observe_client_main(int argc, char **argv);

/* The uid of the process at the other end of a Unix socket:
 * SO_PEERCRED (observe_peer_linux.c), getpeereid (observe_peer_darwin.c).
 * Returns 0 or -1. */
int observe_peer_uid(int fd, uid_t *uid);

/* Sets FD_CLOEXEC on fd (closed on failure). Returns fd or -1. */
int observe_cloexec(int fd);

/* A log line (level: enum tp_log_level) as one JSON object where the log
 * goes (--log-format json). */
void observe_log_json(int level, const char *msg);

#endif
