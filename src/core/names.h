/* SPDX-License-Identifier: MIT */
/* names.h - the host names flows are known by (see names.c). */
#ifndef TP_CORE_NAMES_H
#define TP_CORE_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "wire/addr.h"

struct core_engine;

/* A shared, reference-counted name (the DNS cache and each flow that
 * carries it hold one reference each). */
struct names_str {
	uint32_t refs;
	uint16_t len;
	char s[]; /* len bytes and a NUL */
};

struct names; /* the DNS cache */

/* DNS cache entries: 4-way sets, allocated at the first DNS answer. */
#define NAMES_SETS 256u
#define NAMES_WAYS 4u

void names_destroy(struct core_engine *e);

/* Drops the entries expired at now; frees the cache when none is left
 * (O(entries): for tests and idle moments, not per packet). */
void names_expire(struct core_engine *e, uint64_t now);

/* Learns the addresses a DNS response (the UDP payload, from the
 * server) gives for the name asked. Entries live for the record's TTL
 * plus NAMES_GRACE_US. Bounded: at most NAMES_SETS * NAMES_WAYS entries;
 * a full set gives up the entry closest to expiry. */
void names_learn_dns(struct core_engine *e, const uint8_t *msg, size_t len);

/* The name the DNS cache has for family/addr, with a new reference (drop
 * it with names_put), or NULL. */
struct names_str *names_lookup(struct core_engine *e, uint8_t family,
			       const struct wire_addr *a);

/* A new name of len bytes (already cleaned, wire_name_clean), one
 * reference; NULL if the budget refuses. */
struct names_str *names_make(struct core_engine *e, const char *s, size_t len);

void names_put(struct core_engine *e, struct names_str *n);

/* The grace past a record's TTL: resolvers and apps cache answers for a
 * while, and a connection made a little after the TTL still has its name. */
#define NAMES_GRACE_US (120ull * 1000000ull)

#endif
