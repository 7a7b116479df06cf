/* SPDX-License-Identifier: MIT */
/* observe.c - the control socket, the metrics endpoint and the connection
 * log of the tunproxy command (see observe.h).
 *
 * One thread serves both listening sockets with poll(), one request at a
 * time: a request asks the engine for its flows (tp_flows, answered by
 * the engine's thread within a second) or its counters (lock-free), and
 * is answered in full before the next is read. Each client gets 2 s to
 * send its request line, so a stuck client cannot hold the others for
 * long. The control socket is a Unix socket created mode 0600 and every
 * connection's peer credentials (observe_peer_uid) must show this process's
 * uid: the flow list says what the user's apps talk to.
 */
#include "observe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "logline.h"
#include "tool_util.h"

bool observe_json_logs;

int observe_cloexec(int fd)
{
	if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

#define cloexec observe_cloexec

#define FLOWS_TIMEOUT_MS 1000
#define CLIENT_READ_MS	 2000

int observe_parse_opt(struct observe *o, int opt, const char *arg)
{
	switch (opt) {
	case OBS_OPT_CONTROL:
		o->control = arg;
		return 0;
	case OBS_OPT_METRICS:
		o->metrics = arg;
		return 0;
	case OBS_OPT_LOG_FLOWS:
		o->log_flows = true;
		return 0;
	case OBS_OPT_LOG_FORMAT:
		if (strcmp(arg, "json") == 0)
			observe_json_logs = true;
		else if (strcmp(arg, "text") == 0)
			observe_json_logs = false;
		else {
			fprintf(stderr,
				"tunproxy: --log-format wants text or json, "
				"got '%s'\n",
				arg);
			return -1;
		}
		return 0;
	}
	return 1;
}

/* --- formatting --- */

static const char *proto_str(uint8_t p)
{
	return p == 6 ? "tcp" : p == 17 ? "udp" : p == 1 ? "icmp" : "icmp6";
}

static const char *name_src_str(uint8_t s)
{
	static const char *const n[] = {"", "dns", "sni", "http"};
	return s < 4 ? n[s] : "?";
}

static const char *limit_str(uint8_t l)
{
	static const char *const n[] = {"", "app", "window", "cwnd", "memory"};
	return l < 5 ? n[l] : "?";
}

/* "10.0.0.8:4000" or "[fdaa::8]:4000". */
static void endpoint(uint8_t family, const uint8_t *a, uint16_t port, char *out,
		     size_t cap)
{
	char s[INET6_ADDRSTRLEN];
	inet_ntop(family == 4 ? AF_INET : AF_INET6, a, s, sizeof(s));
	snprintf(out, cap, family == 4 ? "%s:%u" : "[%s]:%u", s, port);
}

/* JSON string content; names and endpoints are already safe (names.h),
 * this is for the log messages. */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Formats into a memory stream, then one write where the log goes
 * (logline.c: stderr or --log-file). */
static void emit_line(void (*fmt)(FILE *, const void *, const void *),
		      const void *a, const void *b)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return;
	fmt(m, a, b);
	fclose(m);
	if (buf && len)
		logline_raw(buf, len);
	free(buf);
}

static void json_log_fmt(FILE *f, const void *level, const void *msg)
{
	static const char *const names[] = {"error", "warn", "info", "debug",
					    "trace"};
	int l = *(const int *)level;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(f, "{\"ts\":%lld.%03ld,\"level\":\"%s\",\"msg\":",
		(long long)ts.tv_sec, ts.tv_nsec / 1000000,
		l >= 0 && l < 5 ? names[l] : "trace");
	json_str(f, msg);
	fputs("}\n", f);
}

void observe_log_json(int level, const char *msg)
{
	emit_line(json_log_fmt, &level, msg);
}

static void json_side(FILE *f, const char *key, const struct tp_tcp_side *s)
{
	if (!s->valid) {
		fprintf(f, ",\"%s\":null", key);
		return;
	}
	fprintf(f,
		",\"%s\":{\"srtt_us\":%u,\"rttvar_us\":%u,\"min_rtt_us\":%u,"
		"\"mss\":%u,\"cwnd\":%u,\"ssthresh\":%u,\"in_flight\":%u,"
		"\"peer_window\":%u,\"retransmits\":%u,\"recovered\":%u,"
		"\"timeouts\":%u,\"limited\":\"%s\"}",
		key, s->srtt_us, s->rttvar_us, s->min_rtt_us, s->mss, s->cwnd,
		s->ssthresh, s->in_flight, s->peer_window, s->retransmits,
		s->recovered, s->timeouts, limit_str(s->limited));
}

/* One flow as a JSON object; extra (may be "") goes first inside it. */
static void json_flow(FILE *f, const struct tp_flow_info *x, const char *extra)
{
	char app[64], dst[64];
	endpoint(x->family, x->app_addr, x->app_port, app, sizeof(app));
	endpoint(x->family, x->dst_addr, x->dst_port, dst, sizeof(dst));
	fprintf(f,
		"{%s\"id\":%llu,\"proto\":\"%s\",\"app\":\"%s\",\"dst\":\"%s\","
		"\"name\":\"%s\",\"name_source\":\"%s\",\"state\":\"%s\","
		"\"end\":\"%s\",\"age_ms\":%llu,\"idle_ms\":%llu,"
		"\"bytes_from_app\":%llu,\"bytes_to_app\":%llu,"
		"\"packets_from_app\":%llu,\"packets_to_app\":%llu",
		extra, (unsigned long long)x->id, proto_str(x->proto), app, dst,
		x->name, name_src_str(x->name_source),
		tp_tcp_state_name(x->state), tp_flow_end_name(x->end),
		(unsigned long long)x->age_ms, (unsigned long long)x->idle_ms,
		(unsigned long long)x->bytes_from_app,
		(unsigned long long)x->bytes_to_app,
		(unsigned long long)x->packets_from_app,
		(unsigned long long)x->packets_to_app);
	if (x->proto == 6) {
		json_side(f, "app_side", &x->app_side);
		json_side(f, "host_side", &x->host_side);
	}
	fputc('}', f);
}

/* Most recently active first, then the busiest. */
static int by_activity(const void *pa, const void *pb)
{
	const struct tp_flow_info *a = pa, *b = pb;
	if (a->idle_ms != b->idle_ms)
		return a->idle_ms < b->idle_ms ? -1 : 1;
	uint64_t ta = a->bytes_from_app + a->bytes_to_app,
		 tb = b->bytes_from_app + b->bytes_to_app;
	return ta > tb ? -1 : ta < tb;
}

/* The flows, sorted; *n their count. NULL on error (printed to f). */
static struct tp_flow_info *get_flows(struct tp *tp, size_t *n, FILE *err)
{
	size_t cap = 64;
	struct tp_flow_info *v = calloc(cap, sizeof(*v));
	if (!v) {
		fprintf(err, "error: out of memory\n");
		return NULL;
	}
	for (int tries = 0; tries < 4; tries++) {
		int r = tp_flows(tp, v, cap, sizeof(*v), FLOWS_TIMEOUT_MS);
		if (r < 0) {
			fprintf(err, "error: %s\n", tp_strerror(r));
			free(v);
			return NULL;
		}
		if ((size_t)r <= cap) {
			*n = (size_t)r;
			qsort(v, *n, sizeof(*v), by_activity);
			return v;
		}
		cap = (size_t)r + 64; /* flows may open meanwhile */
		free(v);
		v = calloc(cap, sizeof(*v));
		if (!v) {
			fprintf(err, "error: out of memory\n");
			return NULL;
		}
	}
	free(v);
	fprintf(err, "error: the flow table keeps growing\n");
	return NULL;
}

static void human_bytes(uint64_t b, char *out, size_t cap)
{
	if (b < 10000)
		snprintf(out, cap, "%llu", (unsigned long long)b);
	else if (b < 10000000)
		snprintf(out, cap, "%lluK", (unsigned long long)(b >> 10));
	else
		snprintf(out, cap, "%lluM", (unsigned long long)(b >> 20));
}

int observe_write_flows(struct tp *tp, FILE *f, bool json)
{
	size_t n;
	struct tp_flow_info *v = get_flows(tp, &n, f);
	if (!v)
		return -1;
	if (json) {
		fputs("{\"flows\":[", f);
		for (size_t i = 0; i < n; i++) {
			if (i)
				fputc(',', f);
			json_flow(f, &v[i], "");
		}
		fputs("]}\n", f);
		free(v);
		return 0;
	}
	fprintf(f, "%-5s %-11s %-26s %-26s %7s %7s %7s %7s  %s\n", "Proto",
		"State", "App", "Destination", "Up", "Down", "Age", "Idle",
		"Name");
	for (size_t i = 0; i < n; i++) {
		const struct tp_flow_info *x = &v[i];
		char app[64], dst[64], up[16], down[16];
		endpoint(x->family, x->app_addr, x->app_port, app, sizeof(app));
		endpoint(x->family, x->dst_addr, x->dst_port, dst, sizeof(dst));
		human_bytes(x->bytes_from_app, up, sizeof(up));
		human_bytes(x->bytes_to_app, down, sizeof(down));
		fprintf(
		    f,
		    "%-5s %-11s %-26s %-26s %7s %7s %6.1fs %6.1fs  %s%s%s%s\n",
		    proto_str(x->proto),
		    x->state ? tp_tcp_state_name(x->state) : "-", app, dst, up,
		    down, (double)x->age_ms / 1000, (double)x->idle_ms / 1000,
		    x->name[0] ? x->name : "-", x->name[0] ? " (" : "",
		    name_src_str(x->name_source), x->name[0] ? ")" : "");
		/* The transport line, as ss -i prints it. */
		for (int side = 0; x->proto == 6 && side < 2; side++) {
			const struct tp_tcp_side *s =
			    side ? &x->host_side : &x->app_side;
			if (!s->valid)
				continue;
			fprintf(f,
				"\t %s: rtt:%.3f/%.3f mss:%u cwnd:%u "
				"ssthresh:%u in_flight:%u peer_wnd:%u "
				"retrans:%u recovered:%u timeouts:%u%s%s\n",
				side ? "host" : "app ",
				(double)s->srtt_us / 1000,
				(double)s->rttvar_us / 1000, s->mss, s->cwnd,
				s->ssthresh, s->in_flight, s->peer_window,
				s->retransmits, s->recovered, s->timeouts,
				s->limited ? " limited:" : "",
				limit_str(s->limited));
		}
	}
	free(v);
	return 0;
}

void observe_write_stats(struct tp *tp, FILE *f, bool json)
{
	uint64_t v[TP_CTR__COUNT];
	size_t n = tp_get_counters(tp, v, TP_CTR__COUNT);
	if (json)
		fputc('{', f);
	for (size_t i = 0; i < n; i++) {
		const char *name = tp_counter_name((unsigned)i);
		if (json)
			fprintf(f, "%s\"%s\":%llu", i ? "," : "", name,
				(unsigned long long)v[i]);
		else
			fprintf(f, "%-28s %llu\n", name,
				(unsigned long long)v[i]);
	}
	uint64_t d[64];
	size_t nd = tp_get_drop_reasons(tp, d, 64);
	if (json) {
		fputs(",\"drop_reasons\":{", f);
		for (size_t i = 1; i < nd; i++)
			fprintf(f, "%s\"%s\":%llu", i > 1 ? "," : "",
				tp_drop_reason_name((unsigned)i),
				(unsigned long long)d[i]);
		fputs("}}\n", f);
		return;
	}
	for (size_t i = 1; i < nd; i++)
		if (d[i])
			fprintf(f, "drop %-23s %llu\n",
				tp_drop_reason_name((unsigned)i),
				(unsigned long long)d[i]);
}

/* --- Prometheus text exposition (format 0.0.4) --- */

/* Counters that are levels, not running totals. */
static bool is_gauge(unsigned i)
{
	switch (i) {
	case TP_CTR_flows_open:
	case TP_CTR_udp_flows_open:
	case TP_CTR_icmp_flows_open:
	case TP_CTR_tcp_conns_open:
	case TP_CTR_tcp_half_open:
	case TP_CTR_mem_used:
	case TP_CTR_mem_peak:
	case TP_CTR_tcp_rx_userspace:
	case TP_CTR_tcp_rx_ring_bytes:
		return true;
	}
	return false;
}

/* Base units in the name (Prometheus naming: _bytes). */
static const char *unit_suffix(unsigned i)
{
	switch (i) {
	case TP_CTR_mem_used:
	case TP_CTR_mem_peak:
		return "_bytes";
	}
	return "";
}

void observe_write_metrics(struct tp *tp, FILE *f)
{
	uint64_t v[TP_CTR__COUNT];
	size_t n = tp_get_counters(tp, v, TP_CTR__COUNT);
	for (size_t i = 0; i < n; i++) {
		const char *name = tp_counter_name((unsigned)i);
		bool g = is_gauge((unsigned)i);
		char full[96];
		snprintf(full, sizeof(full), "tunproxy_%s%s%s", name,
			 unit_suffix((unsigned)i), g ? "" : "_total");
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", full,
			tp_counter_desc((unsigned)i), full,
			g ? "gauge" : "counter", full,
			(unsigned long long)v[i]);
	}
	uint64_t d[64];
	size_t nd = tp_get_drop_reasons(tp, d, 64);
	fputs("# HELP tunproxy_malformed_dropped_packets_total Packets dropped "
	      "as malformed, by reason.\n"
	      "# TYPE tunproxy_malformed_dropped_packets_total counter\n",
	      f);
	for (size_t i = 1; i < nd; i++)
		fprintf(
		    f,
		    "tunproxy_malformed_dropped_packets_total{reason=\"%s\"} "
		    "%llu\n",
		    tp_drop_reason_name((unsigned)i), (unsigned long long)d[i]);
	/* Per-protocol gauges from the flow list. */
	size_t nf;
	struct tp_flow_info *fl = get_flows(tp, &nf, stderr);
	if (!fl)
		return;
	static const uint8_t protos[4] = {6, 17, 1, 58};
	static const char *const pn[4] = {"tcp", "udp", "icmp", "icmp6"};
	uint64_t cnt[4] = {0}, up[4] = {0}, down[4] = {0};
	for (size_t i = 0; i < nf; i++)
		for (int k = 0; k < 4; k++)
			if (fl[i].proto == protos[k]) {
				cnt[k]++;
				up[k] += fl[i].bytes_from_app;
				down[k] += fl[i].bytes_to_app;
			}
	free(fl);
	fputs("# HELP tunproxy_open_flows Flows open now, by protocol.\n"
	      "# TYPE tunproxy_open_flows gauge\n",
	      f);
	for (int k = 0; k < 4; k++)
		fprintf(f, "tunproxy_open_flows{proto=\"%s\"} %llu\n", pn[k],
			(unsigned long long)cnt[k]);
	fputs("# HELP tunproxy_open_flow_bytes Payload bytes carried so far "
	      "by the flows open now, by protocol and direction.\n"
	      "# TYPE tunproxy_open_flow_bytes gauge\n",
	      f);
	for (int k = 0; k < 4; k++)
		fprintf(f,
			"tunproxy_open_flow_bytes{proto=\"%s\",direction="
			"\"from_app\"} %llu\n"
			"tunproxy_open_flow_bytes{proto=\"%s\",direction="
			"\"to_app\"} %llu\n",
			pn[k], (unsigned long long)up[k], pn[k],
			(unsigned long long)down[k]);
}

/* --- the connection log --- */

static void flow_end_fmt(FILE *f, const void *x, const void *unused)
{
	(void)unused;
	observe_write_flow_end(f, x, observe_json_logs);
}

static void flow_ended(void *ctx, const struct tp_flow_info *x)
{
	(void)ctx;
	emit_line(flow_end_fmt, x, NULL);
}

void observe_write_flow_end(FILE *out, const struct tp_flow_info *x, bool json)
{
	char app[64], dst[64];
	endpoint(x->family, x->app_addr, x->app_port, app, sizeof(app));
	endpoint(x->family, x->dst_addr, x->dst_port, dst, sizeof(dst));
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (json) {
		char extra[64];
		snprintf(extra, sizeof(extra),
			 "\"ts\":%lld.%03ld,\"event\":\"flow_end\",",
			 (long long)ts.tv_sec, ts.tv_nsec / 1000000);
		json_flow(out, x, extra);
		fputc('\n', out);
	} else {
		struct tm tm;
		char when[32];
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(out,
			"%s.%03ldZ tunproxy flow: %s %s -> %s name=%s%s%s "
			"end=%s duration=%.3fs from_app=%llu to_app=%llu "
			"packets=%llu/%llu\n",
			when, ts.tv_nsec / 1000000, proto_str(x->proto), app,
			dst, x->name[0] ? x->name : "-", x->name[0] ? "/" : "",
			name_src_str(x->name_source), tp_flow_end_name(x->end),
			(double)x->age_ms / 1000,
			(unsigned long long)x->bytes_from_app,
			(unsigned long long)x->bytes_to_app,
			(unsigned long long)x->packets_from_app,
			(unsigned long long)x->packets_to_app);
	}
}

void observe_attach(struct observe *o, struct tp_config *cfg)
{
	o->ctl_fd = o->met_fd = -1;
	o->stop_pipe[0] = o->stop_pipe[1] = -1;
	if (o->log_flows) {
		cfg->flow_end = flow_ended;
		cfg->flow_end_ctx = o;
	}
}

/* --- the server thread --- */

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "tunproxy: --control path too long: %s\n",
			path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = cloexec(socket(AF_UNIX, SOCK_STREAM, 0));
	if (fd < 0)
		return -1;
	/* A socket left by a process that died: replace it (only a
	 * socket: never unlink a file someone else put there). */
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	mode_t old = umask(0177); /* created 0600: owner only */
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || chmod(path, 0600) < 0 || listen(fd, 16) < 0) {
		fprintf(stderr, "tunproxy: --control %s: %s\n", path,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int listen_tcp(const char *spec)
{
	char host[128], err[320];
	uint16_t port;
	if (os_addr_split(spec, NULL, host, sizeof(host), &port, err,
			  sizeof(err)) < 0) {
		fprintf(stderr, "tunproxy: --metrics: %s\n", err);
		return -1;
	}
	/* A numeric address, no resolver; "localhost" is 127.0.0.1, where
	 * scrapers look, not ::1, which a resolver may list first. */
	const char *h = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t len;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, h, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, h, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		len = sizeof(*s6);
	} else {
		fprintf(stderr, "tunproxy: --metrics: bad address '%s'\n", h);
		return -1;
	}
	if (!os_addr_loopback(&ss))
		goto not_loopback;
	int fd = cloexec(socket(ss.ss_family, SOCK_STREAM, 0));
	int one = 1;
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 16) < 0) {
		fprintf(stderr, "tunproxy: --metrics %s: %s\n", spec,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
not_loopback:
	/* The counters and flow totals say what the apps do: loopback only,
	 * as the dev transport does without --listen-public. */
	fprintf(stderr,
		"tunproxy: --metrics %s: only a loopback address (127.0.0.0/8, "
		"::1)\n",
		spec);
	return -1;
}

/* Reads one request line with a deadline. Returns its length or -1. */
static int read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, CLIENT_READ_MS) <= 0)
			return -1;
		ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r <= 0)
			return n ? (int)n : -1;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "\n"))
			break;
	}
	buf[n] = '\0';
	return (int)n;
}

static void serve_control(struct observe *o, int fd)
{
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return;
	}
	/* The request is read first even from a peer about to be refused:
	 * closing a Unix socket with unread data resets it, and the peer
	 * would lose the answer. */
	char line[256];
	if (read_line(fd, line, sizeof(line)) < 0) {
		fclose(f);
		return;
	}
	uid_t uid = (uid_t)-1;
	if (observe_peer_uid(fd, &uid) < 0 || uid != getuid()) {
		fprintf(f,
			"error: permission denied: uid %u is not the owner\n",
			(unsigned)uid);
		fclose(f);
		return;
	}
	bool json = strstr(line, "json") != NULL;
	if (strncmp(line, "flows", 5) == 0)
		observe_write_flows(o->tp, f, json);
	else if (strncmp(line, "stats", 5) == 0)
		observe_write_stats(o->tp, f, json);
	else
		fprintf(f, "error: unknown command (flows, stats)\n");
	fclose(f);
}

static void serve_metrics(struct observe *o, int fd)
{
	char req[2048];
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return;
	}
	/* The request line is enough: GET /metrics. The headers are read
	 * (and ignored) up to the buffer. */
	if (read_line(fd, req, sizeof(req)) < 0) {
		fclose(f);
		return;
	}
	if (strncmp(req, "GET /metrics ", 13) != 0 &&
	    strncmp(req, "GET / ", 6) != 0) {
		fputs("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n"
		      "Connection: close\r\n\r\n",
		      f);
		fclose(f);
		return;
	}
	char *body = NULL;
	size_t blen = 0;
	FILE *m = open_memstream(&body, &blen);
	if (!m) {
		fclose(f);
		return;
	}
	observe_write_metrics(o->tp, m);
	fclose(m);
	fprintf(f,
		"HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; "
		"charset=utf-8\r\nContent-Length: %zu\r\nConnection: "
		"close\r\n\r\n",
		blen);
	fwrite(body, 1, blen, f);
	free(body);
	fclose(f);
}

static void *observe_thread(void *arg)
{
	struct observe *o = arg;
	for (;;) {
		struct pollfd p[3] = {{.fd = o->stop_pipe[0], .events = POLLIN},
				      {.fd = o->ctl_fd, .events = POLLIN},
				      {.fd = o->met_fd, .events = POLLIN}};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		for (int i = 1; i < 3; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			int c = cloexec(accept(p[i].fd, NULL, NULL));
			if (c < 0)
				continue;
			if (i == 1)
				serve_control(o, c);
			else
				serve_metrics(o, c);
		}
	}
	return NULL;
}

int observe_start(struct observe *o, struct tp *tp)
{
	o->tp = tp;
	if (!o->control && !o->metrics)
		return 0;
	if (o->control && (o->ctl_fd = listen_unix(o->control)) < 0)
		return -1;
	if (o->metrics && (o->met_fd = listen_tcp(o->metrics)) < 0)
		goto fail;
	if (pipe(o->stop_pipe) < 0 || cloexec(o->stop_pipe[0]) < 0 ||
	    cloexec(o->stop_pipe[1]) < 0)
		goto fail;
	pthread_t th;
	if (pthread_create(&th, NULL, observe_thread, o) != 0)
		goto fail;
	o->thread = th;
	o->thread_started = true;
	return 0;
fail:
	observe_stop(o);
	return -1;
}

void observe_stop(struct observe *o)
{
	if (o->thread_started) {
		ssize_t r = write(o->stop_pipe[1], "x", 1);
		(void)r;
		pthread_join(o->thread, NULL);
		o->thread_started = false;
	}
	for (int i = 0; i < 2; i++)
		if (o->stop_pipe[i] >= 0)
			close(o->stop_pipe[i]);
	o->stop_pipe[0] = o->stop_pipe[1] = -1;
	if (o->ctl_fd >= 0) {
		close(o->ctl_fd);
		unlink(o->control);
	}
	if (o->met_fd >= 0)
		close(o->met_fd);
	o->ctl_fd = o->met_fd = -1;
}
