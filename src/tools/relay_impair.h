/* SPDX-License-Identifier: MIT */
/* relay_impair.h - the two impairment stages (up, down) of a relay tool
 * (device, tee): their options, their log line, creating them and the
 * poll timeout their held packets ask for. The stages themselves are
 * impair.h's.
 */
#ifndef TP_TOOLS_RELAY_IMPAIR_H
#define TP_TOOLS_RELAY_IMPAIR_H

#include <stdint.h>
#include <stdio.h>

#include "impair.h"

/* Parses an --impair* value into s; on error prints
 * "PROG: --impair: MESSAGE" to stderr and returns -1. */
int relay_impair_parse(const char *prog, const char *v, struct impair_spec *s);

/* Logs (info) "impairing PATH: SPEC" if s is active. */
void relay_impair_log(const struct impair_spec *s, const char *path);

/* Creates a stage for each active spec (the other stays NULL; stream 1
 * up, 2 down). Returns 0, or -ENOMEM (stages created so far are left in
 * *up / *down for the caller's destroy). */
int relay_impair_create(const struct impair_spec *up_spec,
			const struct impair_spec *down_spec, uint32_t slot_size,
			struct impair **up, struct impair **down);

/* The poll timeout for timeout_ms (-1: none) shortened to when the next
 * held packet of up or down (either may be NULL) is due, at most 60 s. */
int relay_impair_poll_timeout(const struct impair *up,
			      const struct impair *down, int timeout_ms);

/* The stages' stats ("impair_up_", "impair_down_"), then "counters end". */
void relay_impair_print_stats_end(const struct impair *up,
				  const struct impair *down, FILE *f);

#endif
