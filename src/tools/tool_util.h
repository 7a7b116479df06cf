/* SPDX-License-Identifier: MIT */
/* tool_util.h - small helpers shared by the tunproxy subcommands (device,
 * tee, capture): logging to stderr, the wall clock, socket addresses, value
 * parsing, signals delivered through a pipe, and the counter dump format.
 *
 * The tools are programs, not the library: they may print and keep a
 * little process-wide state (the log level, the signal pipe).
 */
#ifndef TP_TOOLS_TOOL_UTIL_H
#define TP_TOOLS_TOOL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "os/os_addr.h"
#include "os/os_clock.h"

/* Logging: "TIME tunproxy-NAME LEVEL: message" on stderr (logline.h: an
 * ISO-8601 time, none under journald). Levels are enum tp_log_level;
 * lines above tool_log_level are not printed. */
extern const char *tool_name;
extern int tool_log_level;
void tool_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The level for -q (-1) and -v counts (0: warnings, 1: info, ...). */
int tool_level_from_verbosity(int verbosity);

/* The monotonic clock is the library's (os_clock_us), so are printing,
 * comparing and classifying socket addresses (os_addr_str, os_addr_equal,
 * os_addr_loopback): one copy of each for the library and the tools. */
uint64_t tool_realtime_ns(void); /* wall clock, for capture timestamps */

/* A socket address with its length. */
struct tool_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Parses "PORT", "HOST:PORT" or "[IPV6]:PORT" (HOST may be a name) with
 * os_addr_parse: a bare PORT gets default_host (NULL: refused). Returns 0,
 * or -1 with a message in err. */
int tool_addr_parse(const char *spec, const char *default_host,
		    struct tool_addr *out, char *err, size_t cap);

/* A non-blocking UDP socket with large buffers, bound to bind_to (NULL:
 * any port) and connected to peer (NULL: not connected); at least one is
 * given. Returns the fd or -errno. */
int tool_udp_socket(const struct tool_addr *bind_to,
		    const struct tool_addr *peer);

/* Values, the one parser of the CLI and the tools (tests/unit/
 * test_tool_parse.c): decimal digits only, no sign, no blank, no base
 * prefix, refused above max or on overflow.
 *   tool_parse_uint      a plain unsigned integer ("8081");
 *   tool_parse_uint_hex  the same, or hexadecimal after "0x" ("0x1f",
 *                        as firewall marks are often written);
 *   tool_parse_size      the same with an optional K/M/G suffix (powers of
 *                        2: "4M" is 4194304);
 *   tool_parse_duration  "250ms", "2s", "100us", "1.5s" (a bare number is
 *                        bare_unit_us microseconds), at most 1e7 units;
 *   tool_parse_ppm       a percentage "2%", "0.5%" in parts per million.
 * Each returns false, leaving *out alone, when s is not such a value. */
bool tool_parse_uint(const char *s, uint64_t max, uint64_t *out);
bool tool_parse_uint_hex(const char *s, uint64_t max, uint64_t *out);
bool tool_parse_size(const char *s, uint64_t max, uint64_t *out);
bool tool_parse_duration(const char *s, uint64_t bare_unit_us, uint64_t *us);
bool tool_parse_ppm(const char *s, uint32_t *ppm);

/* Signals: SIGINT, SIGTERM, SIGHUP and SIGUSR1 are caught and written to a
 * pipe whose read end is returned (poll it). SIGPIPE is ignored. */
int tool_signals_init(void);
/* The next caught signal number, or 0 if none is pending. */
int tool_signal_take(void);

/* The main loop of a tool whose step(obj, timeout_ms) polls its fds and
 * the signal pipe: returns < 0 on failure, 0 after a pass, 1 when the
 * signal pipe is readable. SIGUSR1 calls dump(obj, stderr); SIGINT,
 * SIGTERM and SIGHUP stop. dump runs once more at the end. Returns 0
 * after a stop signal, 1 after a failed step. */
int tool_run(int (*step)(void *obj, int timeout_ms),
	     void (*dump)(const void *obj, FILE *f), void *obj);

/* The counter dump format shared with the proxy: "counter NAME VALUE"
 * lines, then "counters end". */
void tool_counter(FILE *f, const char *name, uint64_t v);
void tool_counters_end(FILE *f);

#endif
