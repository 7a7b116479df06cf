/* SPDX-License-Identifier: MIT */
/* tools.c - subcommand dispatch and the proxy's --listen option value. */
#include "tools.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tunproxy.h"

#define DEFAULT_PROXY_PORT "8081"

void tools_print_version(void)
{
	int api;
	const char *v = tp_version(&api);
	printf("tunproxy %s (API %d)\n", v, api);
}

/* The option getopt_long is looking at when it reports an error: a short
 * option by its letter (it may sit in a cluster such as -vx), a long one
 * as typed, which is the last argument getopt_long consumed. */
static const char *option_as_typed(char *const *argv, char *buf, size_t cap)
{
	if (optopt > 0 && optopt < 128) {
		snprintf(buf, cap, "-%c", optopt);
		return buf;
	}
	return optind > 0 ? argv[optind - 1] : "?";
}

void tools_option_error(const char *prog, int o, char *const *argv)
{
	char buf[4];
	const char *name = option_as_typed(argv, buf, sizeof(buf));
	if (o == ':')
		fprintf(stderr, "%s: option '%s' needs a value\n", prog, name);
	else
		fprintf(stderr, "%s: unknown option '%s'\n", prog, name);
}

void tools_bad_value(const char *prog, const struct option *opts, int o,
		     const char *arg, const char *expect)
{
	char name[40] = "?";
	if (o > 0 && o < 128)
		snprintf(name, sizeof(name), "-%c", o);
	for (const struct option *p = opts; p && p->name; p++)
		if (p->val == o && !p->flag) {
			snprintf(name, sizeof(name), "--%s", p->name);
			break;
		}
	fprintf(stderr, "%s: invalid value for %s: '%s'%s%s%s\n", prog, name,
		arg ? arg : "", expect ? " (" : "", expect ? expect : "",
		expect ? ")" : "");
}

int tools_common_opt(const char *prog, int o, char *const *argv, int *verbosity,
		     void (*usage)(FILE *f))
{
	switch (o) {
	case 'v':
		(*verbosity)++;
		return 0;
	case 'q':
		*verbosity = -1;
		return 0;
	case 'h':
		usage(stdout);
		exit(0);
	default:
		tools_option_error(prog, o, argv);
		return -1;
	}
}

int tools_no_operands(const char *prog, int argc, char *const *argv)
{
	if (optind >= argc)
		return 0;
	fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
	return -1;
}

void tools_try_help(const char *sub)
{
	fprintf(stderr, "Try 'tunproxy%s%s --help'.\n", sub ? " " : "",
		sub ? sub : "");
}

/* Every subcommand answers --version the same way, wherever it stands
 * among the subcommand's options (before a "--"). */
static int sub_wants_version(int argc, char **argv)
{
	for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--version") == 0)
			return 1;
	return 0;
}

int tools_dispatch(int argc, char **argv)
{
	if (argc < 2)
		return -1;
	bool sub = strcmp(argv[1], "device") == 0 ||
		   strcmp(argv[1], "tee") == 0 ||
		   strcmp(argv[1], "capture") == 0;
	if (sub && sub_wants_version(argc, argv)) {
		tools_print_version();
		return 0;
	}
	if (strcmp(argv[1], "device") == 0)
		return device_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "tee") == 0)
		return tee_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "capture") == 0)
		return capture_main(argc - 1, argv + 1);
	return -1;
}

static const char *env_port(void)
{
	const char *p = getenv("PORT");
	return p && *p ? p : NULL;
}

int tools_listen_spec(const char *arg, char *out, size_t cap)
{
	if (strncmp(arg, "udp", 3) != 0 || (arg[3] != 0 && arg[3] != ':')) {
		fprintf(stderr,
			"tunproxy: --listen wants udp:HOST:PORT, got '%s'\n",
			arg);
		return -1;
	}
	const char *rest = arg[3] ? arg + 4 : "";
	const char *port = env_port() ? env_port() : DEFAULT_PROXY_PORT;
	int n;
	if (!*rest) {
		n = snprintf(out, cap, "127.0.0.1:%s", port);
	} else if (rest[0] == '[') {
		/* "[v6]" or "[v6]:port" */
		const char *end = strchr(rest, ']');
		if (!end) {
			fprintf(stderr, "tunproxy: bad --listen '%s'\n", arg);
			return -1;
		}
		n = end[1] ? snprintf(out, cap, "%s", rest)
			   : snprintf(out, cap, "%s:%s", rest, port);
	} else if (strchr(rest, ':')) {
		n = snprintf(out, cap, "%s", rest);
	} else {
		n = snprintf(out, cap, "%s:%s", rest, port);
	}
	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "tunproxy: --listen value too long\n");
		return -1;
	}
	return 0;
}

int tools_listen_from_env(char *out, size_t cap)
{
	const char *port = env_port();
	if (!port)
		return 0;
	snprintf(out, cap, "127.0.0.1:%s", port);
	return 1;
}

bool tools_cidr_ok(const char *cidr, int family)
{
	char buf[64];
	unsigned char addr[16];
	if (!cidr || strlen(cidr) >= sizeof(buf))
		return false;
	strcpy(buf, cidr);
	char *slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		char *end;
		unsigned long p = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end ||
		    p > (family == 4 ? 32u : 128u))
			return false;
	}
	return inet_pton(family == 4 ? AF_INET : AF_INET6, buf, addr) == 1;
}
