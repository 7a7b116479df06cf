/* SPDX-License-Identifier: MIT */
/* main.c - the tunproxy command: option parsing, signals, and the proxy.
 *
 * Uses only the public header. The engine runs on the main thread
 * (tp_run); a second thread waits for signals with sigwait, so SIGINT and
 * SIGTERM stop the engine cleanly, SIGUSR1 prints the counters and SIGHUP
 * re-opens the --log-file without any work in a signal handler. Neither
 * thread wakes up on a timer: an idle proxy sleeps until a packet, a
 * socket or a signal arrives.
 *
 * Command-line conventions (tunproxy(1), EXIT STATUS): every argument is
 * checked before anything is created (TUN, log file, engine); a usage
 * error prints one line naming the option or value and "Try 'tunproxy
 * --help'." and exits 2; run-time errors exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "logline.h"
#include "observe.h"
#include "pcap_tap.h"
#include "run.h"
#include "tool_util.h"
#include "toolos.h"
#include "tools.h"
#include "tunproxy.h"

struct cli {
	const char *tun_name;
	int tun_fd;
	const char *addr4, *addr6;
	bool addr4_given, addr6_given; /* on the command line */
	char tun_prefixes[160];	       /* cfg.tun_prefixes points here */
	bool no_tun_config;
	bool no_offload; /* --tun without the virtio-net header */
	bool vnet_hdr;	 /* --tun-fd opened with IFF_VNET_HDR */
	int verbosity;
	const char *log_file; /* --log-file, or NULL: stderr */
	char listen[300];     /* --listen udp:...: cfg.listen_udp points here */
	char *allow, *deny; /* --allow/--deny lists joined (cfg points here) */
	char *routes;	    /* --route rules joined (cfg.routes points here) */
	struct tp_config cfg;
	bool run_mode;	     /* tunproxy run (run.h) */
	int run_argi;	     /* argv index of run's CMD */
	struct run_opts run; /* run's options and --pcap */
	struct observe obs;  /* --control, --metrics, --log-flows */
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: tunproxy --tun NAME [options]\n"
	    "       tunproxy --tun-fd N [options]\n"
	    "       tunproxy --listen udp:HOST:PORT [options]\n"
	    "       tunproxy run [options] [--] [CMD [ARGS...]]\n"
	    "       tunproxy device|tee|capture ... (see tunproxy SUBCOMMAND "
	    "-h)\n"
	    "       tunproxy flows|stats ... (ask a running tunproxy: "
	    "--control)\n"
	    "\n"
	    "Terminates every TCP connection, UDP flow and ICMP echo of the "
	    "IP\n"
	    "packets on a TUN device in userspace and carries each over an\n"
	    "ordinary socket of this host to its real destination.\n"
	    "\n"
	    "Packet source (one of):\n"
	    "  --tun NAME          create (or attach to) TUN device NAME; it "
	    "is\n"
	    "                      configured and brought up unless "
	    "--no-tun-config\n"
	    "  --tun-fd N          use the already-open TUN fd N (not "
	    "configured)\n"
	    "  --vnet-hdr          the --tun-fd fd was opened with "
	    "IFF_VNET_HDR\n"
	    "  --listen udp:HOST:PORT  the UDP dev transport: one IP packet "
	    "per\n"
	    "                      datagram, from one client at a time "
	    "(default\n"
	    "                      port: $PORT, else 8081; with no source "
	    "given and\n"
	    "                      PORT set: udp:127.0.0.1:$PORT)\n"
	    "  --listen-public     allow a --listen address that is not "
	    "loopback\n"
	    "  --client-idle DUR   a UDP client owns the session until silent "
	    "this\n"
	    "                      long (default 5s; e.g. 500ms)\n"
	    "\n"
	    "Device settings (with --tun):\n"
	    "  --tun-addr CIDR     IPv4 address of the device (default "
	    "10.0.0.8/24)\n"
	    "  --tun-addr6 CIDR    IPv6 address of the device (default "
	    "fdaa::8/64)\n"
	    "  --no-tun-config     leave addresses, MTU and link state alone\n"
	    "                      (e.g. when the device is moved to another "
	    "netns)\n"
	    "  --mtu N             MTU of the device and the engine (default "
	    "1500)\n"
	    "  --no-offload        open the device without the virtio-net "
	    "header:\n"
	    "                      no TSO/GSO super-packets, no checksum "
	    "offload\n"
	    "                      (by default the kernel hands over up to "
	    "64 KB\n"
	    "                      of a TCP stream per packet, both ways)\n"
	    "  --tcp-rx auto|peek|copy  where host->app TCP data waits until "
	    "the\n"
	    "                      app ACKs it: peek = in the kernel socket "
	    "(needs\n"
	    "                      SO_PEEK_OFF on TCP, Linux 6.9+), copy = "
	    "in\n"
	    "                      userspace rings (the iOS path); auto "
	    "(default)\n"
	    "                      probes the kernel and picks peek where it "
	    "works\n"
	    "\n"
	    "  The device's prefixes (--tun-addr, --tun-addr6, whether set "
	    "by\n"
	    "  tunproxy or given with --no-tun-config or --tun-fd) are refused "
	    "as\n"
	    "  destinations: a host socket's packet there would loop back into "
	    "the\n"
	    "  TUN.\n"
	    "\n"
	    "Host sockets (when the TUN is the default route of this "
	    "namespace):\n"
	    "  --fwmark N          mark every host socket (SO_MARK; decimal or "
	    "0x hex)\n"
	    "                      for a rule such as 'ip rule add not fwmark "
	    "N "
	    "table T'\n"
	    "  --bind-interface IF bind every host socket to interface IF\n"
	    "                      (SO_BINDTODEVICE), e.g. the uplink\n"
	    "\n"
	    "Upstream proxy and routes (docs/tunproxy.md, \"Upstream "
	    "proxies\"):\n"
	    "  --upstream socks5://[USER:PASS@]HOST:PORT\n"
	    "  --upstream http://[USER:PASS@]HOST:PORT\n"
	    "                      send TCP flows through this proxy "
	    "(SOCKS5\n"
	    "                      CONNECT or HTTP CONNECT); the app's SYN is "
	    "answered\n"
	    "                      once the proxy has connected\n"
	    "  --route CIDR[:PORT[-PORT]]=direct|upstream|block  (repeatable)\n"
	    "                      per-destination egress, most specific "
	    "wins;\n"
	    "                      unmatched flows go upstream if there is "
	    "one\n"
	    "  --udp-nat symmetric|full-cone  UDP mapping: one connected "
	    "socket per\n"
	    "                      flow (default), or one per app address and "
	    "port,\n"
	    "                      answering any remote (RFC 4787 "
	    "full cone)\n"
	    "\n"
	    "Limits and timeouts:\n"
	    "  --max-flows N       flows of all kinds at once (default 65536)\n"
	    "  --max-half-open N   TCP connects pending at once (default "
	    "1024)\n"
	    "  --max-conns N       established TCP connections (default "
	    "65536)\n"
	    "  --max-memory SIZE   engine memory budget, e.g. 32M (default "
	    "32M)\n"
	    "  --host-rcvbuf SIZE  kernel receive buffer of each host TCP "
	    "socket:\n"
	    "                      what an app that stops acknowledging can "
	    "pin\n"
	    "                      (default 8M; auto: the kernel's "
	    "autotuning)\n"
	    "  --udp-timeout SEC   idle UDP flow lifetime (default 60)\n"
	    "  --dns-timeout SEC   idle lifetime of UDP flows to port 53 "
	    "(default 30)\n"
	    "  --icmp-timeout SEC  idle ICMP echo flow lifetime (default 30)\n"
	    "  --tcp-idle-timeout SEC  idle established TCP lifetime (default "
	    "7200)\n"
	    "\n"
	    "Destination policy (refused by default: this host's loopback, "
	    "the\n"
	    "unspecified, multicast and broadcast addresses, link-local\n"
	    "169.254.0.0/16 and fe80::/10 (cloud metadata), the TUN's "
	    "prefixes,\n"
	    "the --listen socket):\n"
	    "  --allow CIDR[:PORT[-PORT]]  allow flows to these destinations "
	    "(a\n"
	    "                      comma-separated list, or repeat the "
	    "option;\n"
	    "                      IPv6 with ports: [2001:db8::/32]:443)\n"
	    "  --deny CIDR[:PORT[-PORT]]   refuse flows to these destinations\n"
	    "  --allow-loopback    allow this host's loopback (127.0.0.0/8, "
	    "::1)\n"
	    "                      The most specific rule decides: longer "
	    "prefix,\n"
	    "                      then ports, then these lists over the "
	    "defaults,\n"
	    "                      then deny over allow. A refused TCP connect "
	    "gets\n"
	    "                      a RST, UDP and ping an ICMP "
	    "'administratively\n"
	    "                      prohibited' (counter "
	    "flows_refused_policy).\n"
	    "\n"
	    "Output:\n"
	    "Watching (docs/tunproxy.md, \"Watching flows\"):\n"
	    "  --control PATH      serve tunproxy flows/stats on a Unix "
	    "socket (0600,\n"
	    "                      this uid only)\n"
	    "  --metrics HOST:PORT Prometheus metrics over HTTP, loopback "
	    "only\n"
	    "  --log-flows         one line when a flow ends (endpoints, name, "
	    "bytes,\n"
	    "                      how it ended)\n"
	    "  --log-format text|json  json: every log line is a JSON object\n"
	    "\n"
	    "  -v, --verbose       more log output (repeat: -vv debug, -vvv "
	    "trace)\n"
	    "  -q, --quiet         errors only\n"
	    "  --log-file FILE     append the log to FILE instead of stderr "
	    "(SIGHUP\n"
	    "                      re-opens it, e.g. after logrotate)\n"
	    "  Log lines start with an ISO-8601 UTC time; under systemd's "
	    "journal\n"
	    "  (JOURNAL_STREAM) with the syslog priority instead.\n"
	    "  -h, --help          this text\n"
	    "  -V, --version       print the version\n"
	    "\n"
	    "Signals: SIGINT/SIGTERM stop (all flows closed); SIGUSR1 prints "
	    "the\n"
	    "counters to stderr as 'counter NAME VALUE' lines ending with\n"
	    "'counters end'. Counters are also printed on exit. SIGHUP "
	    "re-opens\n"
	    "the --log-file (without one it is logged and ignored).\n"
	    "\n"
	    "Exit status: 0 stopped by a signal, 1 run-time error (TUN, "
	    "engine),\n"
	    "2 usage error (unknown option, bad value).\n"
	    "\n"
	    "Needs CAP_NET_ADMIN (root) to create a TUN device. ICMP echo uses "
	    "ping\n"
	    "sockets (net.ipv4.ping_group_range) or, failing that, a raw "
	    "socket.\n");
	run_usage(f);
}

static void log_line(void *ctx, enum tp_log_level level, const char *msg)
{
	(void)ctx;
	if (observe_json_logs) {
		observe_log_json((int)level, msg);
		return;
	}
	logline_write((int)level, "tunproxy", msg);
}

/* The tools' parser (tool_util.h: digits and a K/M/G suffix, no sign or
 * blank), in the type the options below use. */
static bool parse_uint(const char *s, unsigned long long max,
		       unsigned long long *out)
{
	uint64_t v;
	if (!tool_parse_size(s, max, &v))
		return false;
	*out = v;
	return true;
}

enum {
	OPT_TUN = 256,
	OPT_TUN_FD,
	OPT_ADDR4,
	OPT_ADDR6,
	OPT_NO_CONFIG,
	OPT_MTU,
	OPT_MAX_FLOWS,
	OPT_MAX_HALF,
	OPT_MAX_CONNS,
	OPT_MAX_MEM,
	OPT_HOST_RCVBUF,
	OPT_UDP_T,
	OPT_DNS_T,
	OPT_ICMP_T,
	OPT_TCP_T,
	OPT_LISTEN,
	OPT_LISTEN_PUBLIC,
	OPT_CLIENT_IDLE,
	OPT_ALLOW,
	OPT_DENY,
	OPT_ALLOW_LOOPBACK,
	OPT_NO_OFFLOAD,
	OPT_VNET_HDR,
	OPT_TCP_RX,
	OPT_FWMARK,
	OPT_BIND_IF,
	OPT_UPSTREAM,
	OPT_ROUTE,
	OPT_UDP_NAT,
	OPT_LOG_FILE
};

/* Appends list to *acc with a comma (the policy lists take both). */
static int list_append(char **acc, const char *list)
{
	size_t have = *acc ? strlen(*acc) : 0, add = strlen(list);
	char *p = realloc(*acc, have + add + 2);
	if (!p)
		return -1;
	if (have)
		p[have++] = ',';
	memcpy(p + have, list, add + 1);
	*acc = p;
	return 0;
}

/* The signal thread: SIGUSR1 prints the counters, SIGHUP re-opens the
 * log, SIGINT and SIGTERM stop the engine (tp_counters and tp_stop are
 * safe from any thread). */
struct signal_waiter {
	struct tp *tp;
	sigset_t sigs;
	int done; /* atomic: a stop signal was taken */
};

static void print_counters(struct tp *tp);
static void reopen_log(void);

static void *wait_for_signals(void *arg)
{
	struct signal_waiter *w = arg;
	for (;;) {
		int sig;
		if (sigwait(&w->sigs, &sig) != 0)
			continue;
		if (sig == SIGUSR1) {
			print_counters(w->tp);
			continue;
		}
		if (sig == SIGHUP) {
			reopen_log();
			continue;
		}
		__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
		tp_stop(w->tp);
		return NULL;
	}
}

/* --tun-fd N must be an open descriptor, readable and writable, and not
 * a file or a directory (a TUN is a character device; tests and apps may
 * also hand in a socket). Says which fd and why. */
static int check_tun_fd(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0) {
		fprintf(stderr,
			"tunproxy: --tun-fd %d: %s (not an open file "
			"descriptor of this process)\n",
			fd, strerror(errno));
		return -1;
	}
	if ((fl & O_ACCMODE) != O_RDWR) {
		fprintf(stderr,
			"tunproxy: --tun-fd %d: open %s; a TUN fd must be "
			"open for reading and writing\n",
			fd,
			(fl & O_ACCMODE) == O_RDONLY ? "read-only"
						     : "write-only");
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) == 0 &&
	    (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
		fprintf(stderr,
			"tunproxy: --tun-fd %d: a %s, not a TUN device\n", fd,
			S_ISREG(st.st_mode) ? "regular file" : "directory");
		return -1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
	    {"tun", required_argument, NULL, OPT_TUN},
	    {"tun-fd", required_argument, NULL, OPT_TUN_FD},
	    {"tun-addr", required_argument, NULL, OPT_ADDR4},
	    {"tun-addr6", required_argument, NULL, OPT_ADDR6},
	    {"no-tun-config", no_argument, NULL, OPT_NO_CONFIG},
	    {"no-offload", no_argument, NULL, OPT_NO_OFFLOAD},
	    {"vnet-hdr", no_argument, NULL, OPT_VNET_HDR},
	    {"tcp-rx", required_argument, NULL, OPT_TCP_RX},
	    {"mtu", required_argument, NULL, OPT_MTU},
	    {"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
	    {"max-half-open", required_argument, NULL, OPT_MAX_HALF},
	    {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
	    {"max-memory", required_argument, NULL, OPT_MAX_MEM},
	    {"host-rcvbuf", required_argument, NULL, OPT_HOST_RCVBUF},
	    {"udp-timeout", required_argument, NULL, OPT_UDP_T},
	    {"dns-timeout", required_argument, NULL, OPT_DNS_T},
	    {"icmp-timeout", required_argument, NULL, OPT_ICMP_T},
	    {"tcp-idle-timeout", required_argument, NULL, OPT_TCP_T},
	    {"listen", required_argument, NULL, OPT_LISTEN},
	    {"listen-public", no_argument, NULL, OPT_LISTEN_PUBLIC},
	    {"client-idle", required_argument, NULL, OPT_CLIENT_IDLE},
	    {"allow", required_argument, NULL, OPT_ALLOW},
	    {"deny", required_argument, NULL, OPT_DENY},
	    {"allow-loopback", no_argument, NULL, OPT_ALLOW_LOOPBACK},
	    {"fwmark", required_argument, NULL, OPT_FWMARK},
	    {"bind-interface", required_argument, NULL, OPT_BIND_IF},
	    {"upstream", required_argument, NULL, OPT_UPSTREAM},
	    {"route", required_argument, NULL, OPT_ROUTE},
	    {"udp-nat", required_argument, NULL, OPT_UDP_NAT},
	    {"log-file", required_argument, NULL, OPT_LOG_FILE},
	    {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    RUN_LONG_OPTIONS OBSERVE_LONG_OPTIONS{0},
	};
	int o;
	unsigned long long v;
	/* run: options end at CMD ("+"), whose own options are its own. */
	/* ':' first: getopt_long reports instead of printing, and tells a
	 * missing value (':') from an unknown option ('?'). */
	const char *shortopts = c->run_mode ? "+:vqhV" : ":vqhV";
	opterr = 0;
	while ((o = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		const char *bad = NULL;
		switch (o) {
		case OPT_TUN:
			c->tun_name = optarg;
			break;
		case OPT_TUN_FD:
			if (!parse_uint(optarg, INT_MAX, &v))
				bad = "--tun-fd";
			c->tun_fd = (int)v;
			break;
		case OPT_ADDR4:
			c->addr4 = optarg;
			c->addr4_given = true;
			break;
		case OPT_ADDR6:
			c->addr6 = optarg;
			c->addr6_given = true;
			break;
		case OPT_FWMARK: {
			uint64_t m = 0;
			if (!tool_parse_uint_hex(optarg, UINT32_MAX, &m) ||
			    m == 0)
				bad = "--fwmark (1..0xffffffff)";
			c->cfg.fwmark = (uint32_t)m;
			break;
		}
		case OPT_BIND_IF:
			if (!*optarg || strlen(optarg) > 15)
				bad = "--bind-interface (an interface name)";
			c->cfg.bind_interface = optarg;
			break;
		case OPT_UPSTREAM:
			c->cfg.upstream = optarg;
			break;
		case OPT_UDP_NAT:
			if (strcmp(optarg, "symmetric") == 0)
				c->cfg.udp_nat = TP_UDP_NAT_SYMMETRIC;
			else if (strcmp(optarg, "full-cone") == 0)
				c->cfg.udp_nat = TP_UDP_NAT_FULL_CONE;
			else
				bad = "--udp-nat (symmetric or full-cone)";
			break;
		case OPT_ROUTE:
			if (list_append(&c->routes, optarg) < 0)
				return -1;
			break;
		case OPT_NO_CONFIG:
			c->no_tun_config = true;
			break;
		case OPT_NO_OFFLOAD:
			c->no_offload = true;
			break;
		case OPT_VNET_HDR:
			c->vnet_hdr = true;
			break;
		case OPT_TCP_RX:
			if (strcmp(optarg, "auto") == 0)
				c->cfg.tcp_rx = TP_TCP_RX_AUTO;
			else if (strcmp(optarg, "peek") == 0)
				c->cfg.tcp_rx = TP_TCP_RX_PEEK;
			else if (strcmp(optarg, "copy") == 0)
				c->cfg.tcp_rx = TP_TCP_RX_COPY;
			else
				bad = "--tcp-rx (auto, peek or copy)";
			break;
		case OPT_MTU:
			if (!parse_uint(optarg, 65535, &v) || v < 1280)
				bad = "--mtu (1280..65535)";
			c->cfg.mtu = (uint32_t)v;
			break;
		case OPT_MAX_FLOWS:
			if (!parse_uint(optarg, 1u << 20, &v) || v == 0)
				bad = "--max-flows (1..1048576)";
			c->cfg.max_flows = (uint32_t)v;
			break;
		case OPT_MAX_HALF:
			if (!parse_uint(optarg, UINT32_MAX, &v) || v == 0)
				bad = "--max-half-open";
			c->cfg.max_tcp_half_open = (uint32_t)v;
			break;
		case OPT_MAX_CONNS:
			if (!parse_uint(optarg, UINT32_MAX, &v) || v == 0)
				bad = "--max-conns";
			c->cfg.max_tcp_established = (uint32_t)v;
			break;
		case OPT_MAX_MEM:
			if (!parse_uint(optarg, UINT64_MAX, &v) || v == 0)
				bad = "--max-memory";
			c->cfg.max_memory = v;
			break;
		case OPT_HOST_RCVBUF:
			if (strcmp(optarg, "auto") == 0)
				v = TP_RCVBUF_AUTO;
			else if (!parse_uint(optarg, UINT32_MAX - 1, &v) ||
				 v < 4096)
				bad = "--host-rcvbuf (4K or more, or auto)";
			c->cfg.tcp_host_rcvbuf = (uint32_t)v;
			break;
		case OPT_UDP_T:
		case OPT_DNS_T:
		case OPT_ICMP_T:
		case OPT_TCP_T:
			if (!parse_uint(optarg, UINT32_MAX / 1000, &v) ||
			    v == 0) {
				bad = "timeout (seconds, > 0)";
				break;
			}
			*(o == OPT_UDP_T    ? &c->cfg.udp_timeout_ms
			  : o == OPT_DNS_T  ? &c->cfg.udp_dns_timeout_ms
			  : o == OPT_ICMP_T ? &c->cfg.icmp_timeout_ms
					    : &c->cfg.tcp_idle_timeout_ms) =
			    (uint32_t)(v * 1000);
			break;
		case OPT_LISTEN:
			if (tools_listen_spec(optarg, c->listen,
					      sizeof(c->listen)) < 0)
				return -1;
			c->cfg.listen_udp = c->listen;
			break;
		case OPT_LISTEN_PUBLIC:
			c->cfg.listen_public = 1;
			break;
		case OPT_CLIENT_IDLE: {
			uint64_t us;
			if (!tool_parse_duration(optarg, 1000000, &us) ||
			    us < 1000 || us / 1000 > UINT32_MAX)
				bad = "--client-idle (e.g. 5s, 500ms)";
			else
				c->cfg.dev_client_idle_ms =
				    (uint32_t)(us / 1000);
			break;
		}
		case OPT_ALLOW:
		case OPT_DENY: {
			char err[256];
			if (tp_policy_validate(optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "tunproxy: --%s: %s\n",
					o == OPT_ALLOW ? "allow" : "deny", err);
				return -1;
			}
			if (list_append(o == OPT_ALLOW ? &c->allow : &c->deny,
					optarg) < 0)
				return -1;
			break;
		}
		case OPT_LOG_FILE:
			if (!*optarg)
				bad = "--log-file (a file name)";
			c->log_file = optarg;
			break;
		case OPT_ALLOW_LOOPBACK:
			if (list_append(&c->allow, "127.0.0.0/8,::1/128") < 0)
				return -1;
			break;
		case 'V':
			tools_print_version();
			exit(0);
		case 'v':
		case 'q':
		case 'h':
		case '?':
		case ':':
			if (tools_common_opt("tunproxy", o, argv, &c->verbosity,
					     usage) < 0)
				return -1;
			break;
		default: {
			int r = observe_parse_opt(&c->obs, o, optarg);
			if (r <= 0) {
				if (r < 0)
					return -1;
				break;
			}
			r = run_parse_opt(&c->run, o, optarg, c->run_mode);
			if (r == 0)
				break;
			if (r > 0)
				tools_option_error("tunproxy", '?', argv);
			return -1;
		}
		}
		if (bad) {
			fprintf(stderr,
				"tunproxy: invalid value for %s: '%s'\n", bad,
				optarg);
			return -1;
		}
	}
	/* The device addresses are checked now, not when the TUN is
	 * configured: nothing is created for a command line that cannot
	 * work. */
	if (!tools_cidr_ok(c->addr4, 4)) {
		fprintf(stderr,
			"tunproxy: invalid value for --tun-addr: '%s' (an IPv4 "
			"address/prefix, e.g. 10.0.0.8/24)\n",
			c->addr4);
		return -1;
	}
	if (!tools_cidr_ok(c->addr6, 6)) {
		fprintf(
		    stderr,
		    "tunproxy: invalid value for --tun-addr6: '%s' (an IPv6 "
		    "address/prefix, e.g. fdaa::8/64)\n",
		    c->addr6);
		return -1;
	}
	if (c->tun_fd >= 0 && check_tun_fd(c->tun_fd) < 0)
		return -1;
	if (c->run_mode) {
		c->cfg.allow = c->allow;
		c->cfg.deny = c->deny;
		c->cfg.routes = c->routes;
		c->run_argi = optind;
		return 0;
	}
	if (tools_no_operands("tunproxy", argc, argv) < 0)
		return -1;
	c->cfg.allow = c->allow;
	c->cfg.deny = c->deny;
	c->cfg.routes = c->routes;
	/* The TUN's own prefixes are refused as destinations (a loop, see
	 * tp_config.tun_prefixes) when we know them: we configure the
	 * device, or they were given. */
	bool ours = c->tun_name && !c->no_tun_config;
	if (ours || c->addr4_given || c->addr6_given) {
		snprintf(c->tun_prefixes, sizeof(c->tun_prefixes), "%s,%s",
			 ours || c->addr4_given ? c->addr4 : "",
			 ours || c->addr6_given ? c->addr6 : "");
		char err[256];
		if (tp_policy_validate(c->tun_prefixes, err, sizeof(err)) < 0) {
			fprintf(stderr,
				"tunproxy: --tun-addr/--tun-addr6: %s\n", err);
			return -1;
		}
		c->cfg.tun_prefixes = c->tun_prefixes;
	}
	if (!c->tun_name && c->tun_fd < 0 && !c->cfg.listen_udp &&
	    tools_listen_from_env(c->listen, sizeof(c->listen)))
		c->cfg.listen_udp = c->listen;
	if (!c->tun_name && c->tun_fd < 0 && !c->cfg.listen_udp) {
		fprintf(stderr, "tunproxy: give --tun NAME, --tun-fd N or "
				"--listen udp:HOST:PORT (see --help)\n");
		return -1;
	}
	int sources = (c->tun_name != NULL) + (c->tun_fd >= 0) +
		      (c->cfg.listen_udp != NULL);
	if (sources > 1) {
		fprintf(stderr, "tunproxy: --tun, --tun-fd and --listen "
				"exclude each other\n");
		return -1;
	}
	return 0;
}

static void print_counters(struct tp *tp)
{
	uint64_t v[TP_CTR__COUNT];
	size_t n = tp_get_counters(tp, v, TP_CTR__COUNT);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "counter %s %llu\n",
			tp_counter_name((unsigned)i), (unsigned long long)v[i]);
	uint64_t d[64];
	size_t nd = tp_get_drop_reasons(tp, d, 64);
	for (size_t i = 1; i < nd; i++)
		fprintf(stderr, "drop %s %llu\n",
			tp_drop_reason_name((unsigned)i),
			(unsigned long long)d[i]);
	fprintf(stderr, "counters end\n");
	fflush(stderr);
}

/* Every flow holds a host socket: take all the fds the hard limit allows
 * (the soft limit is often 1024, far below --max-flows), and say what we
 * got; the engine then budgets its flows by it (src/core/admit.c). */
static void raise_fd_limit(uint32_t log_level)
{
	struct rlimit rl;
	char msg[160];
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		snprintf(msg, sizeof(msg), "open-file limit unknown: %s",
			 strerror(errno));
		log_line(NULL, TP_LOG_WARN, msg);
		return;
	}
	rlim_t was = rl.rlim_cur;
	rlim_t want = toolos_nofile_max(rl.rlim_max);
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			snprintf(msg, sizeof(msg),
				 "open-file limit stays %llu: raising it to "
				 "the hard limit %llu failed: %s",
				 (unsigned long long)was,
				 (unsigned long long)want, strerror(errno));
			log_line(NULL, TP_LOG_WARN, msg);
			return;
		}
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		snprintf(msg, sizeof(msg), "open-file limit: unlimited");
	else if (rl.rlim_cur == was)
		snprintf(msg, sizeof(msg),
			 "open-file limit %llu (the hard limit)",
			 (unsigned long long)was);
	else
		snprintf(msg, sizeof(msg),
			 "open-file limit raised from %llu to the hard limit "
			 "%llu",
			 (unsigned long long)was,
			 (unsigned long long)rl.rlim_cur);
	if (log_level >= TP_LOG_INFO)
		log_line(NULL, TP_LOG_INFO, msg);
}

/* SIGHUP: re-open the --log-file (logrotate's postrotate, systemd's
 * ExecReload); the old file keeps what was written before. */
static void reopen_log(void)
{
	char msg[300];
	int rc = logline_reopen();
	if (rc > 0)
		log_line(NULL, TP_LOG_INFO, "SIGHUP: log file re-opened");
	else if (rc == 0)
		log_line(NULL, TP_LOG_INFO,
			 "SIGHUP: no --log-file to re-open; ignored");
	else {
		snprintf(msg, sizeof(msg),
			 "SIGHUP: cannot re-open the log file: %s; logging "
			 "on to the old one",
			 strerror(-rc));
		log_line(NULL, TP_LOG_WARN, msg);
	}
}

int main(int argc, char **argv)
{
	int sub = tools_dispatch(argc, argv);
	if (sub < 0)
		sub = observe_client_main(argc, argv);
	if (sub >= 0)
		return sub;
	struct cli c = {
	    .tun_fd = -1, .addr4 = "10.0.0.8/24", .addr6 = "fdaa::8/64"};
	tp_config_init(&c.cfg);
	if (argc > 1 && strcmp(argv[1], "run") == 0) {
		c.run_mode = true;
		argc--, argv++;
	}
	if (parse_args(argc, argv, &c) < 0) {
		tools_try_help(NULL);
		free(c.allow);
		free(c.deny);
		free(c.routes);
		return 2;
	}
	if (c.run_mode && (c.tun_name || c.tun_fd >= 0)) {
		fprintf(
		    stderr,
		    "tunproxy: run makes its own TUN: drop --tun/--tun-fd\n");
		tools_try_help(NULL);
		free(c.allow);
		free(c.deny);
		free(c.routes);
		return 2;
	}
	if (c.log_file) {
		int lrc = logline_open(c.log_file);
		if (lrc < 0) {
			fprintf(stderr, "tunproxy: --log-file %s: %s\n",
				c.log_file, strerror(-lrc));
			free(c.allow);
			free(c.deny);
			free(c.routes);
			return 1;
		}
	}
	c.cfg.log = log_line;
	c.cfg.log_level = c.verbosity < 0    ? TP_LOG_ERROR
			  : c.verbosity == 0 ? TP_LOG_WARN
			  : c.verbosity == 1 ? TP_LOG_INFO
			  : c.verbosity == 2 ? TP_LOG_DEBUG
					     : TP_LOG_TRACE;

	raise_fd_limit(c.cfg.log_level);

	/* Block the signals before any thread starts so only sigwait sees
	 * them. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (c.run_mode) {
		struct run_args ra = {.cfg = &c.cfg,
				      .opts = &c.run,
				      .addr4 = c.addr4,
				      .addr6 = c.addr6,
				      .no_offload = c.no_offload,
				      .verbosity = c.verbosity,
				      .argc = argc - c.run_argi,
				      .argv = argv + c.run_argi,
				      .print_counters = print_counters,
				      .obs = &c.obs};
		observe_attach(&c.obs, &c.cfg);
		int code = run_main(&ra);
		free(c.allow);
		free(c.deny);
		free(c.routes);
		return code;
	}
	struct pcap_tap *pcap = NULL;
	if (c.run.pcap) {
		pcap = pcap_tap_open(c.run.pcap, "tunproxy: outbound from the "
						 "app, inbound to the app");
		if (!pcap)
			return 1;
		pcap_tap_attach(pcap, &c.cfg);
	}

	int fd = c.tun_fd;
	if (c.tun_name) {
		char name[16];
		fd = c.no_offload ? tp_tun_open(c.tun_name, name)
				  : tp_tun_open_offload(c.tun_name, name);
		if (fd == -TP_EINVAL || fd == -TP_ESYS) {
			/* A kernel without these offloads: the plain device
			 * works, one packet per segment. */
			log_line(NULL, TP_LOG_WARN,
				 "TUN offloads refused; continuing without "
				 "them (--no-offload)");
			c.no_offload = true;
			fd = tp_tun_open(c.tun_name, name);
		}
		if (fd < 0) {
			fprintf(stderr, "tunproxy: cannot open TUN '%s': %s\n",
				c.tun_name, tp_strerror(fd));
			return 1;
		}
		if (!c.no_tun_config) {
			int rc = tp_tun_configure(name, c.cfg.mtu, c.addr4,
						  c.addr6, log_line, NULL);
			if (rc < 0) {
				fprintf(stderr,
					"tunproxy: cannot configure '%s': %s\n",
					name, tp_strerror(rc));
				close(fd);
				return 1;
			}
		}
		log_line(NULL, TP_LOG_INFO, "TUN device ready");
	}
	c.cfg.tun_fd = fd;
	if ((c.tun_name && !c.no_offload) || c.vnet_hdr)
		c.cfg.framing = TP_FRAMING_VNET_HDR;

	observe_attach(&c.obs, &c.cfg);
	struct tp *tp;
	int rc = tp_create(&c.cfg, &tp);
	/* The policy lists were read by tp_create. */
	free(c.allow);
	free(c.deny);
	free(c.routes);
	c.allow = c.deny = NULL;
	c.routes = NULL;
	if (rc < 0) {
		if (c.tun_name || c.tun_fd < 0)
			fprintf(stderr, "tunproxy: cannot start: %s\n",
				tp_strerror(rc));
		else
			fprintf(stderr,
				"tunproxy: cannot start with --tun-fd %d: %s\n",
				c.tun_fd, tp_strerror(rc));
		if (c.tun_name)
			close(fd);
		return 1;
	}
	if (observe_start(&c.obs, tp) < 0) {
		tp_destroy(tp);
		return 1;
	}
	struct signal_waiter sw = {.tp = tp, .sigs = sigs};
	pthread_t sig_thread;
	if (pthread_create(&sig_thread, NULL, wait_for_signals, &sw) != 0) {
		fprintf(stderr, "tunproxy: cannot start the signal thread\n");
		observe_stop(&c.obs);
		tp_destroy(tp);
		return 1;
	}
	if (c.verbosity >= 1) {
		char msg[64];
		snprintf(msg, sizeof(msg), "running (pid %d)", (int)getpid());
		log_line(NULL, TP_LOG_INFO, msg);
	}

	int exit_code = 0;
	rc = tp_run(tp);
	if (rc < 0) {
		fprintf(stderr, "tunproxy: engine stopped: %s\n",
			tp_strerror(rc));
		exit_code = 1;
	}
	/* The engine stopped on its own (a fatal error): the signal thread
	 * still waits; a SIGTERM of its own ends it. */
	if (!__atomic_load_n(&sw.done, __ATOMIC_ACQUIRE))
		pthread_kill(sig_thread, SIGTERM);
	pthread_join(sig_thread, NULL);
	observe_stop(&c.obs);
	tp_stop(tp);
	print_counters(tp);
	tp_destroy(tp);
	pcap_tap_close(pcap);
	if (c.tun_name)
		close(fd);
	return exit_code;
}
