/* SPDX-License-Identifier: MIT */
/* tee_main.c - `tunproxy tee`: options, signals and the loop around tee.c.
 *
 * SIGINT/SIGTERM/SIGHUP stop it (counters printed, exit 0); SIGUSR1
 * prints the counters to stderr in the proxy's format, so the same
 * scripts read both.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tee.h"
#include "relay_impair.h"
#include "tools.h"
#include "tunproxy.h"

/* The help text is laid out as printed. */
/* clang-format off */
static void tee_usage(FILE *f)
{
	fprintf(f,
		"Usage: tunproxy tee [--listen [HOST:]PORT] [--forward [HOST:]PORT]\n"
		"                    [--mirror [HOST:]PORT | --no-mirror] [options]\n"
		"\n"
		"Relays UDP datagrams (one IP packet each) both ways between a device\n"
		"and the proxy, and copies every relayed packet, with its direction\n"
		"and time, to the subscribers of the mirror port (tunproxy capture).\n"
		"\n"
		"  --listen ADDR         where the device sends (default 127.0.0.1:$PORT,\n"
		"                        PORT defaulting to 8080)\n"
		"  --forward ADDR        the proxy (default 127.0.0.1:8081)\n"
		"  --mirror ADDR         TCP port for subscribers (default 127.0.0.1:8082)\n"
		"  --no-mirror           relay only\n"
		"  --public              allow non-loopback --listen/--mirror addresses\n"
		"                        (anyone who reaches them can use the proxy or\n"
		"                        watch the traffic)\n"
		"  --client-idle DUR     a device owns the session until silent this\n"
		"                        long (default 5s; e.g. 500ms, 10s)\n"
		"  --max-subscribers N   at most N subscribers at once (default 8, max 32)\n"
		"  --subscriber-buffer SIZE  buffer per subscriber (default 4M); copies\n"
		"                        that do not fit are dropped and counted\n"
		"  --impair SPEC         impair both directions, e.g.\n"
		"                        loss=2%%,reorder=10%%,dup=1%%,delay=5ms,seed=1\n"
		"  --impair-up SPEC      only device -> proxy\n"
		"  --impair-down SPEC    only proxy -> device\n"
		"  --mtu N               largest packet the impairment holds (default\n"
		"                        1500; larger ones pass unimpaired, counted)\n"
		"  -v, -q, -h            more log output, errors only, this help\n"
		"\n"
		"ADDR is PORT, HOST:PORT or [IPV6]:PORT. SIGUSR1 prints the counters.\n"
		"See docs/devloop.md.\n");
}
/* clang-format on */

enum {
	O_LISTEN = 256,
	O_FORWARD,
	O_MIRROR,
	O_NO_MIRROR,
	O_PUBLIC,
	O_IDLE,
	O_MAXSUB,
	O_SUBBUF,
	O_IMPAIR,
	O_IMPAIR_UP,
	O_IMPAIR_DOWN,
	O_MTU
};

static int parse_addr(const char *what, const char *v, struct tool_addr *a)
{
	char err[160];
	if (tool_addr_parse(v, "127.0.0.1", a, err, sizeof(err)) < 0) {
		fprintf(stderr, "tunproxy tee: %s: %s\n", what, err);
		return -1;
	}
	return 0;
}

static int parse_impair(const char *v, struct impair_spec *s)
{
	return relay_impair_parse("tunproxy tee", v, s);
}

static int parse_tee_args(int argc, char **argv, struct tee_opts *o,
			  bool *public_ok, int *verbosity)
{
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, O_LISTEN},
	    {"forward", required_argument, NULL, O_FORWARD},
	    {"mirror", required_argument, NULL, O_MIRROR},
	    {"no-mirror", no_argument, NULL, O_NO_MIRROR},
	    {"public", no_argument, NULL, O_PUBLIC},
	    {"client-idle", required_argument, NULL, O_IDLE},
	    {"max-subscribers", required_argument, NULL, O_MAXSUB},
	    {"subscriber-buffer", required_argument, NULL, O_SUBBUF},
	    {"impair", required_argument, NULL, O_IMPAIR},
	    {"impair-up", required_argument, NULL, O_IMPAIR_UP},
	    {"impair-down", required_argument, NULL, O_IMPAIR_DOWN},
	    {"mtu", required_argument, NULL, O_MTU},
	    {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *env = getenv("PORT");
	if (env && *env && parse_addr("PORT", env, &o->listen) < 0)
		return -1;
	int c;
	uint64_t v;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vqh", opts, NULL)) != -1) {
		int rc = 0;
		switch (c) {
		case O_LISTEN:
			rc = parse_addr("--listen", optarg, &o->listen);
			break;
		case O_FORWARD:
			rc = parse_addr("--forward", optarg, &o->forward);
			break;
		case O_MIRROR:
			rc = parse_addr("--mirror", optarg, &o->mirror);
			o->mirror_on = true;
			break;
		case O_NO_MIRROR:
			o->mirror_on = false;
			break;
		case O_PUBLIC:
			*public_ok = true;
			break;
		case O_IDLE:
			if (!tool_parse_duration(optarg, 1000000, &v) ||
			    v < 1000 || v / 1000 > UINT32_MAX)
				rc = -1;
			o->client_idle_ms = (uint32_t)(v / 1000);
			break;
		case O_MAXSUB:
			if (!tool_parse_size(optarg, TEE_MAX_SUBSCRIBERS, &v))
				rc = -1;
			o->max_subscribers = (uint32_t)v;
			break;
		case O_SUBBUF:
			if (!tool_parse_size(optarg, 1u << 30, &v))
				rc = -1;
			o->subscriber_buffer = (uint32_t)v;
			break;
		case O_IMPAIR:
			rc = parse_impair(optarg, &o->impair_up);
			if (rc == 0)
				rc = parse_impair(optarg, &o->impair_down);
			break;
		case O_IMPAIR_UP:
			rc = parse_impair(optarg, &o->impair_up);
			break;
		case O_IMPAIR_DOWN:
			rc = parse_impair(optarg, &o->impair_down);
			break;
		case O_MTU:
			if (!tool_parse_size(optarg, 65535, &v) || v < 68)
				rc = -1;
			o->impair_slot = (uint32_t)v;
			break;
		case 'v':
		case 'q':
		case 'h':
		default:
			if (tools_common_opt("tunproxy tee", c, argv, verbosity,
					     tee_usage) < 0)
				return -1;
			break;
		}
		if (rc < 0) {
			if (c != O_LISTEN && c != O_FORWARD && c != O_MIRROR &&
			    c != O_IMPAIR && c != O_IMPAIR_UP &&
			    c != O_IMPAIR_DOWN)
				tools_bad_value("tunproxy tee", opts, c, optarg,
						NULL);
			return -1;
		}
	}
	if (tools_no_operands("tunproxy tee", argc, argv) < 0)
		return -1;
	return 0;
}

/* Refuses (or, with --public, warns about) addresses beyond loopback. */
static int check_public(const char *what, const struct tool_addr *a,
			bool public_ok)
{
	char s[64];
	if (os_addr_loopback(&a->ss))
		return 0;
	os_addr_str(&a->ss, s, sizeof(s));
	if (!public_ok) {
		fprintf(stderr,
			"tunproxy tee: %s %s is not a loopback address: anyone "
			"who can reach it could use it; add --public if you "
			"mean it\n",
			what, s);
		return -1;
	}
	tool_log(TP_LOG_WARN, "%s on %s, not loopback: reachable by others",
		 what, s);
	return 0;
}

static int run_step(void *t, int timeout_ms)
{
	return tee_step(t, timeout_ms);
}

static void run_dump(const void *t, FILE *f)
{
	tee_print_counters(t, f);
}

int tee_main(int argc, char **argv)
{
	struct tee_opts o;
	bool public_ok = false;
	int verbosity = 0;
	tool_name = "tunproxy-tee";
	tee_opts_init(&o);
	if (parse_tee_args(argc, argv, &o, &public_ok, &verbosity) < 0) {
		tools_try_help("tee");
		return 2;
	}
	tool_log_level = tool_level_from_verbosity(verbosity);
	if (check_public("--listen", &o.listen, public_ok) < 0 ||
	    (o.mirror_on &&
	     check_public("--mirror", &o.mirror, public_ok) < 0)) {
		tools_try_help("tee");
		return 2;
	}
	o.ctl_fd = tool_signals_init();
	if (o.ctl_fd < 0) {
		fprintf(stderr, "tunproxy tee: cannot set up signals\n");
		return 1;
	}
	struct tee *t;
	if (tee_create(&o, &t) < 0)
		return 1;
	struct tool_addr l, m;
	char ls[64], fs[64], ms[64];
	tee_local(t, &l, &m);
	tool_log(TP_LOG_INFO, "relaying udp %s <-> %s; mirror %s",
		 os_addr_str(&l.ss, ls, sizeof(ls)),
		 os_addr_str(&o.forward.ss, fs, sizeof(fs)),
		 o.mirror_on ? os_addr_str(&m.ss, ms, sizeof(ms)) : "off");
	relay_impair_log(&o.impair_up, "device -> proxy");
	relay_impair_log(&o.impair_down, "proxy -> device");
	int rc = tool_run(run_step, run_dump, t);
	tee_destroy(t);
	return rc;
}
