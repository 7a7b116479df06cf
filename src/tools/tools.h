/* SPDX-License-Identifier: MIT */
/* tools.h - the subcommands of the tunproxy command (main.c dispatches).
 *
 *   tunproxy device   the device simulator (device.c)
 *   tunproxy tee      the traffic tee (tee_main.c, tee.c)
 *   tunproxy capture  the tee's capture client, writing pcapng (capture.c)
 *
 * Each takes argv with argv[0] being the subcommand's name and returns the
 * process exit code (0 ok, 1 runtime error, 2 bad usage).
 */
#ifndef TP_TOOLS_TOOLS_H
#define TP_TOOLS_TOOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

int device_main(int argc, char **argv);
int tee_main(int argc, char **argv);
int capture_main(int argc, char **argv);

/* If argv[1] names a subcommand, runs it and returns its exit code;
 * otherwise returns -1 (the proxy itself). */
int tools_dispatch(int argc, char **argv);

/* Prints "tunproxy VERSION (API N)" from tp_version() to stdout: the one
 * --version line of the command and every subcommand. */
void tools_print_version(void);

/* The command-line conventions of the command and every subcommand
 * (docs/tunproxy.1, EXIT STATUS): a usage error prints one line naming
 * the option or value, then tools_try_help's line, and exits 2.
 *   tools_option_error  getopt_long returned '?' (unknown option) or ':'
 *                       (missing value; the option string starts ':')
 *   tools_bad_value     option o (a letter or a long option's val in
 *                       opts) got arg; expect says what it takes (or NULL)
 *   tools_try_help      "Try 'tunproxy [SUB] --help'." */
struct option;
void tools_option_error(const char *prog, int o, char *const *argv);
void tools_bad_value(const char *prog, const struct option *opts, int o,
		     const char *arg, const char *expect);
void tools_try_help(const char *sub);

/* The getopt_long cases every command shares, for the
 * `case 'v': case 'q': case 'h': default:` arm of its switch: -v counts
 * *verbosity up, -q sets it to -1, -h prints usage(stdout) and exits 0;
 * anything else ('?', ':') is tools_option_error's line and -1. Returns 0
 * when handled. */
int tools_common_opt(const char *prog, int o, char *const *argv, int *verbosity,
		     void (*usage)(FILE *f));
/* After the options: -1 with "PROG: unexpected argument 'X'" printed if
 * an operand is left (argv[optind]), else 0. */
int tools_no_operands(const char *prog, int argc, char *const *argv);

/* True if cidr is an address of family 4 or 6 with an optional /prefix,
 * as tp_tun_configure takes it: checked before any device exists. */
bool tools_cidr_ok(const char *cidr, int family);

/* The proxy's --listen value "udp:HOST:PORT" as tp_config.listen_udp
 * wants it ("HOST:PORT"): the port defaults to the PORT environment
 * variable, then 8081; "udp" alone means 127.0.0.1. Returns 0, or -1 with
 * a message printed. */
int tools_listen_spec(const char *arg, char *out, size_t cap);

/* The design's way to start the proxy with no packet source given: with
 * PORT set, listen on udp 127.0.0.1:$PORT. Returns 1 and fills out if
 * PORT is set, 0 if not. */
int tools_listen_from_env(char *out, size_t cap);

#endif
