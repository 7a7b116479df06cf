/* SPDX-License-Identifier: MIT */
/* run.h - `tunproxy run [OPTIONS] [--] CMD [ARGS...]`: one command's
 * traffic through tunproxy (run_linux.c: the proxy side; run_ns_linux.c: the
 * namespace side; run_dns.c: the resolver it is given).
 *
 * The options of run and --pcap (which also works with --tun, --tun-fd
 * and --listen) are parsed by main.c's option loop through
 * RUN_LONG_OPTIONS and run_parse_opt, so every engine option works with
 * run unchanged.
 */
#ifndef TP_TOOLS_RUN_H
#define TP_TOOLS_RUN_H

#include <stdbool.h>
#include <stdio.h>

struct tp;
struct tp_config;

enum {
	RUN_OPT_PCAP = 1000,
	RUN_OPT_NETNS,
	RUN_OPT_DNS,
	RUN_OPT_NO_DNS,
};

/* Entries for main.c's struct option table. */
#define RUN_LONG_OPTIONS                                                       \
	{"pcap", required_argument, NULL, RUN_OPT_PCAP},                       \
	    {"netns", required_argument, NULL, RUN_OPT_NETNS},                 \
	    {"dns", required_argument, NULL, RUN_OPT_DNS},                     \
	    {"no-dns", no_argument, NULL, RUN_OPT_NO_DNS},

struct run_opts {
	const char *pcap;  /* --pcap FILE ("-": stdout) */
	const char *netns; /* --netns PATH|PID */
	const char *dns;   /* --dns ADDR: the upstream resolver */
	bool no_dns;	   /* --no-dns: leave resolv.conf alone */
};

/* Takes option o (a RUN_OPT_*) with its argument. Returns 0 when taken, 1
 * if o is not one of these, -1 (message printed) for a bad use, e.g. a
 * run-only option without `run`. */
int run_parse_opt(struct run_opts *r, int o, const char *arg, bool run_mode);

/* The help text of run's own options. */
void run_usage(FILE *f);

/* What main.c hands to run_main. */
struct run_args {
	struct tp_config *cfg; /* the engine options, log set */
	const struct run_opts *opts;
	const char *addr4, *addr6; /* --tun-addr, --tun-addr6 */
	bool no_offload;
	int verbosity;
	int argc; /* CMD and its arguments; argc 0: $SHELL */
	char **argv;
	void (*print_counters)(struct tp *tp);
	struct observe *obs; /* --control, --metrics (observe.h); may be NULL */
};

/* Runs CMD behind the engine and returns tunproxy's exit code: CMD's
 * status (128+N if a signal N ended it), 127 if CMD was not found, or 1
 * if the namespace, the TUN or the engine could not be set up (with a
 * message and a hint printed). The caller has blocked SIGINT, SIGTERM,
 * SIGHUP and SIGUSR1. */
int run_main(const struct run_args *a);

#endif
