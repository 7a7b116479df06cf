/* SPDX-License-Identifier: MIT */
/* route.c - the per-destination egress rules (route.h). */
#include "host/route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\n';
}

static int parse_action(const char *s, size_t len)
{
	if (len == 6 && !memcmp(s, "direct", 6))
		return ROUTE_DIRECT;
	if (len == 8 && !memcmp(s, "upstream", 8))
		return ROUTE_UPSTREAM;
	if (len == 5 && !memcmp(s, "block", 5))
		return ROUTE_BLOCK;
	return -1;
}

int route_parse(struct route_table *t, const char *list, char *err,
		size_t errcap)
{
	memset(t, 0, sizeof(*t));
	uint32_t cap = 0;
	for (const char *p = list; p && *p; p++)
		cap += *p == '=';
	if (!cap) {
		if (list && list[strspn(list, ", \t\n")]) {
			snprintf(err, errcap,
				 "route '%s': want CIDR[:PORT[-PORT]]="
				 "direct|upstream|block",
				 list);
			return -1;
		}
		return 0;
	}
	t->rules = calloc(cap, sizeof(*t->rules));
	t->action = calloc(cap, 1);
	if (!t->rules || !t->action) {
		route_free(t);
		snprintf(err, errcap, "routes: out of memory");
		return -1;
	}
	const char *p = list;
	while (*p) {
		while (*p && is_sep(*p))
			p++;
		if (!*p)
			break;
		size_t len = 0;
		while (p[len] && !is_sep(p[len]))
			len++;
		const char *eq = memchr(p, '=', len);
		char dst[128];
		size_t dl = eq ? (size_t)(eq - p) : 0;
		int act = eq ? parse_action(eq + 1, len - dl - 1) : -1;
		if (act < 0 || dl == 0 || dl >= sizeof(dst) || t->n == cap)
			goto bad;
		memcpy(dst, p, dl);
		dst[dl] = '\0';
		if (policy_parse(dst, POLICY_ALLOW, &t->rules[t->n], 1, NULL,
				 0) != 1)
			goto bad;
		t->action[t->n++] = (uint8_t)act;
		p += len;
		continue;
	bad:
		snprintf(err, errcap,
			 "route '%.*s': want CIDR[:PORT[-PORT]]="
			 "direct|upstream|block",
			 (int)(len > 100 ? 100 : len), p);
		route_free(t);
		return -1;
	}
	return (int)t->n;
}

void route_free(struct route_table *t)
{
	free(t->rules);
	free(t->action);
	memset(t, 0, sizeof(*t));
}

enum route_action route_lookup(const struct route_table *t,
			       const struct flow_key *k)
{
	if (!t->n)
		return ROUTE_NONE;
	const struct policy_rule *r = policy_match(t->rules, t->n, k);
	return r ? (enum route_action)t->action[r - t->rules] : ROUTE_NONE;
}
