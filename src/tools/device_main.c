/* SPDX-License-Identifier: MIT */
/* device_main.c - `tunproxy device`: options, the TUN, signals, the loop.
 *
 * Creates (or takes) the TUN device the simulated apps use, configures it
 * like the proxy's own --tun (addresses, MTU, up) unless told not to, and
 * runs device.c's loop until a signal. SIGUSR1 prints the counters.
 */
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "relay_impair.h"
#include "tools.h"
#include "devtun.h"
#include "tunproxy.h"

/* The help text is laid out as printed. */
/* clang-format off */
static void device_usage(FILE *f)
{
	fprintf(f,
		"Usage: tunproxy device [--server ADDR] [--tun NAME | --tun-fd N] [options]\n"
		"\n"
		"The device simulator: sends every IP packet of a TUN device as one UDP\n"
		"datagram to the server (the tee or tunproxy --listen udp:...) and writes\n"
		"every datagram it gets back to the TUN, as the phone app does.\n"
		"\n"
		"  --server ADDR       where to send (default 127.0.0.1:8080, the tee)\n"
		"  --tun NAME          create (or attach to) TUN device NAME (default\n"
		"                      tpdev0); configured and up unless --no-tun-config\n"
		"  --tun-fd N          use the open TUN fd N (not configured)\n"
		"  --tun-addr CIDR     IPv4 address (default 10.0.0.8/24)\n"
		"  --tun-addr6 CIDR    IPv6 address (default fdaa::8/64)\n"
		"  --no-tun-config     leave addresses, MTU and link state alone\n"
		"  --mtu N             MTU of the device (default 1500)\n"
		"  --keepalive TIME    when idle, an empty datagram this often so the\n"
		"                      server keeps our session (default 1s, 0: off)\n"
		"  --impair SPEC       impair both directions, e.g.\n"
		"                      loss=2%%,reorder=10%%,dup=1%%,delay=5ms,seed=1\n"
		"                      (see docs/devloop.md for every knob)\n"
		"  --impair-up SPEC    only TUN -> server\n"
		"  --impair-down SPEC  only server -> TUN\n"
		"  -v, -q, -h          more log output, errors only, this help\n"
		"\n"
		"ADDR is PORT, HOST:PORT or [IPV6]:PORT. Creating a TUN needs\n"
		"CAP_NET_ADMIN. SIGUSR1 prints the counters; SIGINT/SIGTERM stop.\n");
}
/* clang-format on */

struct device_cli {
	struct device_opts o;
	const char *tun_name;
	int tun_fd;
	const char *addr4, *addr6;
	bool no_config;
	int verbosity;
};

enum {
	D_SERVER = 256,
	D_TUN,
	D_TUN_FD,
	D_ADDR4,
	D_ADDR6,
	D_NO_CONFIG,
	D_MTU,
	D_IMPAIR,
	D_IMPAIR_UP,
	D_IMPAIR_DOWN,
	D_KEEPALIVE
};

static int device_impair(const char *v, struct impair_spec *s)
{
	return relay_impair_parse("tunproxy device", v, s);
}

static int parse_device_args(int argc, char **argv, struct device_cli *c)
{
	static const struct option opts[] = {
	    {"server", required_argument, NULL, D_SERVER},
	    {"tun", required_argument, NULL, D_TUN},
	    {"tun-fd", required_argument, NULL, D_TUN_FD},
	    {"tun-addr", required_argument, NULL, D_ADDR4},
	    {"tun-addr6", required_argument, NULL, D_ADDR6},
	    {"no-tun-config", no_argument, NULL, D_NO_CONFIG},
	    {"mtu", required_argument, NULL, D_MTU},
	    {"impair", required_argument, NULL, D_IMPAIR},
	    {"impair-up", required_argument, NULL, D_IMPAIR_UP},
	    {"impair-down", required_argument, NULL, D_IMPAIR_DOWN},
	    {"keepalive", required_argument, NULL, D_KEEPALIVE},
	    {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int o;
	uint64_t v;
	char err[160];
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":vqh", opts, NULL)) != -1) {
		int rc = 0;
		switch (o) {
		case D_SERVER:
			if (tool_addr_parse(optarg, "127.0.0.1", &c->o.server,
					    err, sizeof(err)) < 0) {
				fprintf(stderr,
					"tunproxy device: --server: %s\n", err);
				return -1;
			}
			break;
		case D_TUN:
			c->tun_name = optarg;
			break;
		case D_TUN_FD:
			if (!tool_parse_size(optarg, INT_MAX, &v))
				rc = -1;
			c->tun_fd = (int)v;
			break;
		case D_ADDR4:
			c->addr4 = optarg;
			break;
		case D_ADDR6:
			c->addr6 = optarg;
			break;
		case D_NO_CONFIG:
			c->no_config = true;
			break;
		case D_MTU:
			if (!tool_parse_size(optarg, 65535, &v) || v < 1280)
				rc = -1;
			c->o.mtu = (uint32_t)v;
			break;
		case D_KEEPALIVE:
			if (!tool_parse_duration(optarg, 1000000, &v) ||
			    v / 1000 > UINT32_MAX)
				rc = -1;
			else
				c->o.keepalive_ms = (uint32_t)(v / 1000);
			break;
		case D_IMPAIR:
			if (device_impair(optarg, &c->o.impair_up) < 0 ||
			    device_impair(optarg, &c->o.impair_down) < 0)
				return -1;
			break;
		case D_IMPAIR_UP:
			if (device_impair(optarg, &c->o.impair_up) < 0)
				return -1;
			break;
		case D_IMPAIR_DOWN:
			if (device_impair(optarg, &c->o.impair_down) < 0)
				return -1;
			break;
		case 'v':
		case 'q':
		case 'h':
		default:
			if (tools_common_opt("tunproxy device", o, argv,
					     &c->verbosity, device_usage) < 0)
				return -1;
			break;
		}
		if (rc < 0) {
			tools_bad_value("tunproxy device", opts, o, optarg,
					NULL);
			return -1;
		}
	}
	if (tools_no_operands("tunproxy device", argc, argv) < 0)
		return -1;
	/* Checked now, not when the TUN is configured: nothing is created
	 * for a command line that cannot work. */
	if (!tools_cidr_ok(c->addr4, 4)) {
		tools_bad_value("tunproxy device", opts, D_ADDR4, c->addr4,
				"an IPv4 address/prefix");
		return -1;
	}
	if (!tools_cidr_ok(c->addr6, 6)) {
		tools_bad_value("tunproxy device", opts, D_ADDR6, c->addr6,
				"an IPv6 address/prefix");
		return -1;
	}
	if (c->tun_name && c->tun_fd >= 0) {
		fprintf(
		    stderr,
		    "tunproxy device: --tun and --tun-fd exclude each other\n");
		return -1;
	}
	return 0;
}

static void device_log(void *ctx, enum tp_log_level level, const char *msg)
{
	(void)ctx;
	tool_log((int)level, "%s", msg);
}

/* Opens and configures the TUN; returns its fd or -1 (reported). */
static int open_tun(struct device_cli *c)
{
	if (c->tun_fd >= 0)
		return c->tun_fd;
	char name[16];
	const char *want = c->tun_name ? c->tun_name : "tpdev0";
	int fd = devtun_open(want, name);
	if (fd < 0) {
		fprintf(stderr, "tunproxy device: cannot open TUN '%s': %s\n",
			want, tp_strerror(fd));
		return -1;
	}
	if (!c->no_config) {
		int rc = devtun_configure(name, c->o.mtu, c->addr4, c->addr6,
					  device_log, NULL);
		if (rc < 0) {
			fprintf(stderr,
				"tunproxy device: cannot configure '%s': %s\n",
				name, tp_strerror(rc));
			close(fd);
			return -1;
		}
	}
	tool_log(TP_LOG_INFO, "TUN device %s ready", name);
	return fd;
}

static int run_step(void *d, int timeout_ms)
{
	return device_step(d, timeout_ms);
}

static void run_dump(const void *d, FILE *f)
{
	device_print_counters(d, f);
}

int device_main(int argc, char **argv)
{
	struct device_cli c = {
	    .tun_fd = -1, .addr4 = "10.0.0.8/24", .addr6 = "fdaa::8/64"};
	char err[160];
	tool_name = "tunproxy-device";
	tool_addr_parse("127.0.0.1:8080", NULL, &c.o.server, err, sizeof(err));
	impair_spec_init(&c.o.impair_up);
	impair_spec_init(&c.o.impair_down);
	c.o.mtu = 1500;
	c.o.keepalive_ms = DEVICE_KEEPALIVE_MS;
	if (parse_device_args(argc, argv, &c) < 0) {
		tools_try_help("device");
		return 2;
	}
	tool_log_level = tool_level_from_verbosity(c.verbosity);
	c.o.ctl_fd = tool_signals_init();
	if (c.o.ctl_fd < 0) {
		fprintf(stderr, "tunproxy device: cannot set up signals\n");
		return 1;
	}
	c.o.tun_fd = open_tun(&c);
	if (c.o.tun_fd < 0)
		return 1;
	struct device *d;
	if (device_create(&c.o, &d) < 0) {
		if (c.tun_fd < 0)
			close(c.o.tun_fd);
		return 1;
	}
	char s[64];
	tool_log(TP_LOG_INFO, "sending the TUN's packets to udp %s",
		 os_addr_str(&c.o.server.ss, s, sizeof(s)));
	relay_impair_log(&c.o.impair_up, "TUN -> server");
	relay_impair_log(&c.o.impair_down, "server -> TUN");
	int rc = tool_run(run_step, run_dump, d);
	device_destroy(d);
	if (c.tun_fd < 0)
		close(c.o.tun_fd);
	return rc;
}
