/* SPDX-License-Identifier: MIT */
/* embed.c - embedding tunproxy the way an iOS or Android app does, on
 * Linux, with nothing but the public header.
 *
 * The app owns the packet source: here a Linux TUN device standing in for
 * NEPacketTunnelFlow. One thread reads it in batches, the way
 * packetFlow.readPackets hands the app an array of packets, and gives each
 * batch to the engine with tp_input (callback mode). The engine runs on its
 * own thread (tp_start) and hands its packets back in batches to the
 * output callback, which writes them to the TUN, the way
 * packetFlow.writePackets(_:withProtocols:) would. The main thread only
 * waits for signals: SIGINT/SIGTERM stop, SIGUSR1 prints the counters in
 * the format of the tunproxy command ("counter NAME VALUE", "counters
 * end"), so tests/e2e/lib.sh can drive this program like tunproxy.
 *
 * Backpressure: when tp_input takes fewer packets than offered, the reader
 * offers the rest again after a short pause, a few times, then drops them
 * (the app's TCP retransmits). A packetFlow app does the same.
 *
 * The egress hook (--mark, --refuse-port): the engine calls it for every
 * host socket before it connects. An Android app calls
 * VpnService.protect(fd) there (through JNI) so its own sockets do not
 * loop back into its VPN; here it sets SO_MARK, which a policy rule (or
 * a test's nft counter) can see, and refuses sockets to one port, which
 * the app then sees as a refused connection (RST).
 *
 *   embed [--tun NAME] [--no-tun-config] [--addr CIDR] [--addr6 CIDR]
 *         [--mtu N] [--max-memory BYTES[K|M]] [--allow LIST]
 *         [--mark N] [--refuse-port PORT] [--upstream URL] [-v|-q]
 *
 * Built by CMake as examples/embed; run it as root (it creates the TUN).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tunproxy.h"

#define BATCH	 64 /* packets per tp_input, like one readPackets */
#define RETRIES	 50 /* backpressure: offers of the rest before dropping */
#define RETRY_US 200

struct app {
	uint32_t mark;	      /* --mark: SO_MARK for every host socket */
	uint32_t refuse_port; /* --refuse-port: refuse sockets to it */
	uint64_t hooked;      /* atomic: sockets the hook saw */
	int tun;
	uint32_t mtu;
	struct tp *tp;
	int stop;			  /* atomic: the reader ends */
	uint64_t in_dropped, out_dropped; /* atomic */
	int verbosity;
};

static const char *const level_names[] = {"error", "warn", "info", "debug",
					  "trace"};

static void on_log(void *ctx, enum tp_log_level level, const char *msg)
{
	fprintf(stderr, "embed: %s: %s\n",
		(unsigned)level < 5 ? level_names[level] : "?", msg);
}

/* The output callback: the engine's batch goes to the TUN, as
 * packetFlow.writePackets would take it. The buffers are the engine's and
 * valid only now; write() copies them. families[] would become the
 * protocol numbers (AF_INET, AF_INET6) for writePackets; a TUN needs none. */
static void on_output(void *ctx, const uint8_t *const *pkts, const size_t *lens,
		      const uint8_t *families, size_t n)
{
	struct app *a = ctx;
	for (size_t i = 0; i < n; i++) {
		ssize_t w;
		do {
			w = write(a->tun, pkts[i], lens[i]);
		} while (w < 0 && errno == EINTR);
		if (w < 0) /* TUN queue full: a lossy link, TCP recovers */
			__atomic_add_fetch(&a->out_dropped, 1,
					   __ATOMIC_RELAXED);
	}
}

/* The egress hook, on the engine's thread, for every host socket before
 * it connects. The fd stays the engine's. On Android this is the place
 * for VpnService.protect(fd) (a JNI call on an attached thread); on
 * Apple platforms, setsockopt(IP_BOUND_IF) to the uplink's index. */
static int on_egress(void *ctx, int fd, const struct tp_egress_info *info)
{
	struct app *a = ctx;
	__atomic_add_fetch(&a->hooked, 1, __ATOMIC_RELAXED);
	if (a->refuse_port && info->route != TP_EGRESS_SHARED &&
	    info->dst_port == a->refuse_port)
		return -1; /* the app sees a refused connection */
#ifdef SO_MARK
	if (a->mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &a->mark,
				  sizeof(a->mark)) < 0) {
		perror("embed: SO_MARK");
		return -1; /* unmarked, it would take the wrong route */
	}
#else
	(void)fd;
#endif
	return 0;
}

/* Gives one batch to the engine, retrying on backpressure. Returns false
 * once the engine is stopped. */
static bool offer(struct app *a, const uint8_t *const *pkts, const size_t *lens,
		  size_t n)
{
	size_t done = 0;
	for (int tries = 0; done < n; tries++) {
		int k = tp_input(a->tp, pkts + done, lens + done, n - done);
		if (k == -TP_ESTATE)
			return false;
		if (k < 0) {
			/* -TP_EINVAL: a packet we should not have passed
			 * (cannot happen with a TUN's reads). Drop them. */
			fprintf(stderr, "embed: tp_input: %s\n",
				tp_strerror(k));
			break;
		}
		done += (size_t)k;
		if (done == n)
			break;
		if (tries == RETRIES) {
			__atomic_add_fetch(&a->in_dropped, n - done,
					   __ATOMIC_RELAXED);
			break;
		}
		usleep(RETRY_US);
	}
	return true;
}

/* The reader thread: a batch is whatever the TUN has ready, up to BATCH
 * packets, read without blocking after poll said it is readable. */
static void *reader(void *arg)
{
	struct app *a = arg;
	uint8_t *bufs = malloc((size_t)BATCH * a->mtu);
	const uint8_t *pkts[BATCH];
	size_t lens[BATCH];
	if (!bufs) {
		fprintf(stderr, "embed: out of memory\n");
		return NULL;
	}
	while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd pfd = {.fd = a->tun, .events = POLLIN};
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		size_t n = 0;
		while (n < BATCH) {
			uint8_t *b = bufs + n * a->mtu;
			ssize_t r = read(a->tun, b, a->mtu);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			pkts[n] = b;
			lens[n] = (size_t)r;
			n++;
		}
		if (n && !offer(a, pkts, lens, n))
			break;
	}
	free(bufs);
	return NULL;
}

static void dump_counters(struct tp *tp)
{
	uint64_t v[TP_CTR__COUNT];
	size_t n = tp_get_counters(tp, v, TP_CTR__COUNT);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "counter %s %llu\n",
			tp_counter_name((unsigned)i), (unsigned long long)v[i]);
	uint64_t d[64];
	size_t nd = tp_get_drop_reasons(tp, d, 64);
	for (size_t i = 0; i < nd; i++)
		fprintf(stderr, "drop %s %llu\n",
			tp_drop_reason_name((unsigned)i),
			(unsigned long long)d[i]);
	fprintf(stderr, "counters end\n");
}

static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end == 'K' || *end == 'k')
		v <<= 10;
	else if (*end == 'M' || *end == 'm')
		v <<= 20;
	return v;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: embed [--tun NAME] [--no-tun-config] [--addr CIDR] "
		"[--addr6 CIDR]\n"
		"             [--mtu N] [--max-memory BYTES[K|M]] "
		"[--allow LIST]\n"
		"             [--mark N] [--refuse-port PORT] [--upstream URL] "
		"[-v|-q]\n");
}

int main(int argc, char **argv)
{
	const char *name = "tp0", *addr4 = "10.0.0.8/24", *addr6 = "fdaa::8/64";
	bool configure = true;
	struct app a = {.tun = -1, .mtu = 1500, .verbosity = 1};
	struct tp_config cfg;
	tp_config_init(&cfg);
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "--no-tun-config")) {
			configure = false;
		} else if (!strcmp(o, "-v")) {
			a.verbosity++;
		} else if (!strcmp(o, "-q")) {
			a.verbosity = 0;
		} else if (v && !strcmp(o, "--tun")) {
			name = v, i++;
		} else if (v && !strcmp(o, "--addr")) {
			addr4 = v, i++;
		} else if (v && !strcmp(o, "--addr6")) {
			addr6 = v, i++;
		} else if (v && !strcmp(o, "--mtu")) {
			a.mtu = (uint32_t)strtoul(v, NULL, 10), i++;
		} else if (v && !strcmp(o, "--max-memory")) {
			cfg.max_memory = parse_size(v), i++;
		} else if (v && !strcmp(o, "--allow")) {
			cfg.allow = v, i++;
		} else if (v && !strcmp(o, "--mark")) {
			a.mark = (uint32_t)strtoul(v, NULL, 0), i++;
		} else if (v && !strcmp(o, "--refuse-port")) {
			a.refuse_port = (uint32_t)strtoul(v, NULL, 10), i++;
		} else if (v && !strcmp(o, "--upstream")) {
			cfg.upstream = v, i++;
		} else {
			usage();
			return 2;
		}
	}

	/* Every flow holds one host socket: allow as many fds as the hard
	 * limit does (an iOS app starts with a soft limit of 256). */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	/* Signals are taken by sigwait on the main thread only: block them
	 * before any thread starts. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	char actual[16];
	a.tun = tp_tun_open(name, actual);
	if (a.tun < 0) {
		fprintf(stderr, "embed: cannot open TUN %s: %s\n", name,
			tp_strerror(a.tun));
		return 1;
	}
	if (configure) {
		int rc =
		    tp_tun_configure(actual, a.mtu, addr4, addr6, on_log, NULL);
		if (rc < 0) {
			fprintf(stderr, "embed: cannot configure %s: %s\n",
				actual, tp_strerror(rc));
			close(a.tun);
			return 1;
		}
	}

	/* Callback mode: no tun_fd; the app moves the packets. */
	cfg.mtu = a.mtu;
	cfg.output = on_output;
	cfg.output_ctx = &a;
	cfg.log = on_log;
	cfg.log_level = (uint32_t)(a.verbosity > 4 ? 4 : a.verbosity);
	if (a.mark || a.refuse_port) {
		cfg.egress_hook = on_egress;
		cfg.egress_ctx = &a;
	}
	int rc = tp_create(&cfg, &a.tp);
	if (rc == 0)
		rc = tp_start(a.tp);
	if (rc < 0) {
		fprintf(stderr, "embed: cannot start the engine: %s\n",
			tp_strerror(rc));
		tp_destroy(a.tp);
		close(a.tun);
		return 1;
	}
	pthread_t rd;
	if (pthread_create(&rd, NULL, reader, &a) != 0) {
		fprintf(stderr, "embed: cannot start the reader thread\n");
		tp_destroy(a.tp);
		close(a.tun);
		return 1;
	}
	if (a.verbosity)
		fprintf(stderr, "embed: %s up, engine in callback mode\n",
			actual);

	for (;;) {
		int sig;
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGUSR1) {
			dump_counters(a.tp);
			continue;
		}
		break;
	}

	/* Order matters: stop the engine (the reader then gets TP_ESTATE),
	 * let the reader go, and only then destroy: tp_destroy must be the
	 * last call on the engine. */
	tp_stop(a.tp);
	__atomic_store_n(&a.stop, 1, __ATOMIC_RELEASE);
	pthread_join(rd, NULL);
	rc = tp_status(a.tp);
	tp_destroy(a.tp);
	close(a.tun);
	if (a.verbosity)
		fprintf(stderr,
			"embed: stopped (input dropped %llu, output dropped "
			"%llu, egress hook calls %llu)\n",
			(unsigned long long)a.in_dropped,
			(unsigned long long)a.out_dropped,
			(unsigned long long)a.hooked);
	return rc == 0 ? 0 : 1;
}
