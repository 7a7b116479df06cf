/* SPDX-License-Identifier: MIT */
/* route.h - which way a new flow leaves: tp_config.routes, the
 * "CIDR[:PORT[-PORT]]=direct|upstream|block" rules (docs/tunproxy.md,
 * "Upstream proxies"). The prefixes and ports are the destination
 * policy's syntax, parsed and matched by policy.c, so the most specific
 * rule wins the same way (the longer prefix, then a rule with ports, the
 * narrower range first); of two equal rules the first one written wins.
 */
#ifndef TP_HOST_ROUTE_H
#define TP_HOST_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "core/policy.h"

enum route_action {
	ROUTE_NONE = 0, /* no rule matched */
	ROUTE_DIRECT,
	ROUTE_UPSTREAM,
	ROUTE_BLOCK,
};

struct route_table {
	struct policy_rule *rules;
	uint8_t *action; /* enum route_action, one per rule */
	uint32_t n;
};

/* Parses list into t (allocated; route_free releases it). NULL or empty
 * is an empty table. Returns the number of rules, or -1 with a message
 * naming the bad entry in err. */
int route_parse(struct route_table *t, const char *list, char *err,
		size_t errcap);
void route_free(struct route_table *t);

/* The action of the most specific rule matching k, or ROUTE_NONE. */
enum route_action route_lookup(const struct route_table *t,
			       const struct flow_key *k);

#endif
