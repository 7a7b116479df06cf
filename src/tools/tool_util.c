/* SPDX-License-Identifier: MIT */
/* tool_util.c - helpers shared by the subcommands (see tool_util.h). */
#include "tool_util.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "logline.h"
#include "toolos.h"
#include "tunproxy.h"
#include "udpio.h"

const char *tool_name = "tunproxy";
int tool_log_level = TP_LOG_WARN;

void tool_log(int level, const char *fmt, ...)
{
	if (level > tool_log_level)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	logline_write(level, tool_name, line);
}

int tool_level_from_verbosity(int verbosity)
{
	if (verbosity < 0)
		return TP_LOG_ERROR;
	int l = TP_LOG_WARN + verbosity;
	return l > TP_LOG_TRACE ? TP_LOG_TRACE : l;
}

uint64_t tool_realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int tool_addr_parse(const char *spec, const char *default_host,
		    struct tool_addr *out, char *err, size_t cap)
{
	return os_addr_parse(spec, default_host, &out->ss, &out->len, err, cap);
}

int tool_udp_socket(const struct tool_addr *bind_to,
		    const struct tool_addr *peer)
{
	const struct tool_addr *any = bind_to ? bind_to : peer;
	if (!any)
		return -EINVAL;
	int family = any->ss.ss_family;
	int fd = udpio_socket(family); /* non-blocking, 4 MiB buffers */
	if (fd < 0)
		return fd;
	if (family == AF_INET6) {
		int off = 0;
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off,
				 sizeof(off));
	}
	if ((bind_to && bind(fd, (const struct sockaddr *)&bind_to->ss,
			     bind_to->len) < 0) ||
	    (peer &&
	     connect(fd, (const struct sockaddr *)&peer->ss, peer->len) < 0)) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* The value of c as a digit of base (10 or 16), or -1. */
static int digit(char c, unsigned base)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (base == 16 && c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (base == 16 && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The digits at *p (at least one; no sign, no blank) in base into *v,
 * advancing *p past them. strtoull would skip leading blanks and negate
 * "-1" into 2^64 - 1, so the digits are read here, with overflow checked
 * before each step. */
static bool parse_digits(const char **p, unsigned base, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	int d;
	if (digit(*s, base) < 0)
		return false;
	for (; (d = digit(*s, base)) >= 0; s++) {
		if (x > (UINT64_MAX - (unsigned)d) / base)
			return false;
		x = x * base + (unsigned)d;
	}
	*p = s;
	*v = x;
	return true;
}

bool tool_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v;
	if (!parse_digits(&s, 10, &v) || *s || v > max)
		return false;
	*out = v;
	return true;
}

bool tool_parse_uint_hex(const char *s, uint64_t max, uint64_t *out)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		uint64_t v;
		s += 2;
		if (!parse_digits(&s, 16, &v) || *s || v > max)
			return false;
		*out = v;
		return true;
	}
	return tool_parse_uint(s, max, out);
}

bool tool_parse_size(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v;
	if (!parse_digits(&s, 10, &v))
		return false;
	unsigned shift = 0;
	switch (*s) {
	case 'K':
	case 'k':
		shift = 10;
		break;
	case 'M':
	case 'm':
		shift = 20;
		break;
	case 'G':
	case 'g':
		shift = 30;
		break;
	default:
		break;
	}
	if (shift)
		s++;
	/* v << shift <= max exactly when v <= max >> shift. */
	if (*s || v > (max >> shift))
		return false;
	*out = v << shift;
	return true;
}

/* strtod on a plain decimal: a digit or ".digit" first, so no blank,
 * sign, "nan", "inf" or hex float gets through. Returns false if s does
 * not start like that or nothing was read; *end is where it stopped. */
static bool parse_decimal(const char *s, double *v, char **end)
{
	bool digit = (*s >= '0' && *s <= '9') ||
		     (*s == '.' && s[1] >= '0' && s[1] <= '9');
	if (!digit || (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')))
		return false;
	errno = 0;
	*v = strtod(s, end);
	return errno == 0 && *end != s;
}

bool tool_parse_duration(const char *s, uint64_t bare_unit_us, uint64_t *us)
{
	char *end;
	double v;
	if (!parse_decimal(s, &v, &end) || !(v <= 1e7))
		return false;
	double unit = (double)bare_unit_us;
	if (strcmp(end, "us") == 0)
		unit = 1;
	else if (strcmp(end, "ms") == 0)
		unit = 1e3;
	else if (strcmp(end, "s") == 0)
		unit = 1e6;
	else if (*end)
		return false;
	/* 1e7 s is 1e13 us: far inside uint64_t. */
	*us = (uint64_t)(v * unit + 0.5);
	return true;
}

bool tool_parse_ppm(const char *s, uint32_t *ppm)
{
	char *end;
	double v;
	if (!parse_decimal(s, &v, &end) || (*end && strcmp(end, "%") != 0) ||
	    !(v <= 100))
		return false;
	*ppm = (uint32_t)(v * 10000.0 + 0.5);
	return true;
}

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;
	(void)!write(sig_pipe[1], &b, 1);
	errno = saved;
}

int tool_signals_init(void)
{
	if (sig_pipe[0] < 0 && toolos_pipe(sig_pipe) < 0)
		return -errno;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return sig_pipe[0];
}

int tool_signal_take(void)
{
	unsigned char b;
	if (sig_pipe[0] < 0 || read(sig_pipe[0], &b, 1) != 1)
		return 0;
	return b;
}

int tool_run(int (*step)(void *obj, int timeout_ms),
	     void (*dump)(const void *obj, FILE *f), void *obj)
{
	int rc = 0;
	for (;;) {
		int r = step(obj, -1);
		if (r < 0) {
			rc = 1;
			break;
		}
		if (r == 0)
			continue;
		int sig = tool_signal_take();
		if (sig == SIGUSR1) {
			dump(obj, stderr);
			continue;
		}
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
			break;
	}
	dump(obj, stderr);
	return rc;
}

void tool_counter(FILE *f, const char *name, uint64_t v)
{
	fprintf(f, "counter %s %llu\n", name, (unsigned long long)v);
}

void tool_counters_end(FILE *f)
{
	fprintf(f, "counters end\n");
	fflush(f);
}
