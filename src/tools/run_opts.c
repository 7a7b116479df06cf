/* SPDX-License-Identifier: MIT */
/* run_opts.c - the options of `tunproxy run` and --pcap (run.h), on every
 * OS: --pcap works with --listen on macOS too; run itself is Linux-only
 * (run_linux.c; run_darwin.c says so).
 */
#include <stdbool.h>
#include <stdio.h>

#include "run.h"

int run_parse_opt(struct run_opts *r, int o, const char *arg, bool run_mode)
{
	const char *name = NULL;
	switch (o) {
	case RUN_OPT_PCAP:
		r->pcap = arg;
		return 0;
	case RUN_OPT_NETNS:
		r->netns = arg, name = "--netns";
		break;
	case RUN_OPT_DNS:
		r->dns = arg, name = "--dns";
		break;
	case RUN_OPT_NO_DNS:
		r->no_dns = true, name = "--no-dns";
		break;
	default:
		return 1;
	}
	if (!run_mode) {
		fprintf(stderr, "tunproxy: %s is an option of 'tunproxy run'\n",
			name);
		return -1;
	}
	return 0;
}

void run_usage(FILE *f)
{
	fprintf(
	    f, "\n"
	       "tunproxy run [options] [--] [CMD [ARGS...]]\n"
	       "  Runs CMD (default: $SHELL) in a new network namespace "
	       "whose only\n"
	       "  way out is a TUN served by this tunproxy (10.0.0.8/24, "
	       "fdaa::8/64,\n"
	       "  default routes); as a normal user inside a new user "
	       "namespace.\n"
	       "  Every engine option above applies. Exit status: CMD's "
	       "(128+N for\n"
	       "  signal N; 127: not found).\n"
	       "  --netns PATH|NAME|PID  use this existing network namespace "
	       "instead\n"
	       "  --dns ADDR         the resolver CMD's DNS goes to (default: "
	       "the\n"
	       "                     first nameserver of /etc/resolv.conf; "
	       "ADDR,\n"
	       "                     ADDR:PORT or [ADDR6]:PORT)\n"
	       "  --no-dns           leave CMD's /etc/resolv.conf alone (by "
	       "default\n"
	       "                     it names 10.0.0.1 and fdaa::1, which "
	       "tunproxy\n"
	       "                     forwards to --dns)\n"
	       "\n"
	       "Capture (with run, --tun, --tun-fd or --listen):\n"
	       "  --pcap FILE        write every packet crossing the TUN, "
	       "both ways,\n"
	       "                     to FILE as pcapng ('-': stdout; with run, "
	       "CMD's\n"
	       "                     stdout then goes to stderr)\n");
}
