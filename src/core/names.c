/* SPDX-License-Identifier: MIT */
/* names.c - the DNS cache that gives flows their names.
 *
 * The app resolves a name, then connects to the address it got. DNS
 * answers that cross the engine (UDP from a server's port 53: the
 * learner is wire_dns_answers) are kept as address -> name entries for
 * the records' TTL (plus a grace, NAMES_GRACE_US), so a flow created to
 * that address starts with the name (flow_alloc -> flowinfo). The TLS SNI
 * and HTTP Host learners (flowinfo.c) name a TCP flow from its first
 * bytes, and take precedence: one address often serves many names.
 *
 * Memory: the cache is NAMES_SETS x NAMES_WAYS entries (40 KiB), set
 * associative by a seeded hash of the address, allocated from the budget
 * at the first DNS answer; each distinct name is one reference-counted
 * string, also from the budget, shared by the entries and flows that use
 * it. A full set gives up the entry closest to its expiry, so a flood of
 * answers costs nothing more than the table. When the budget refuses,
 * names are simply not learned (flows still work).
 */
#include "core/names.h"

#include <string.h>

#include "core/core.h"
#include "wire/names.h"

struct names_entry {
	struct wire_addr addr;
	uint64_t expires; /* us; 0: empty */
	struct names_str *name;
	uint8_t family;
};

struct names {
	struct names_entry e[NAMES_SETS * NAMES_WAYS];
};

struct names_str *names_make(struct core_engine *e, const char *s, size_t len)
{
	struct names_str *n = core_mem_alloc(&e->mem, sizeof(*n) + len + 1);
	if (!n)
		return NULL;
	n->refs = 1;
	n->len = (uint16_t)len;
	memcpy(n->s, s, len);
	n->s[len] = '\0';
	return n;
}

void names_put(struct core_engine *e, struct names_str *n)
{
	if (n && --n->refs == 0)
		core_mem_free(&e->mem, n, sizeof(*n) + n->len + 1u);
}

static uint32_t addr_set(const struct core_engine *e, uint8_t family,
			 const struct wire_addr *a)
{
	uint64_t h = e->cfg.hash_seed ^ family, w;
	for (int i = 0; i < 16; i += 8) {
		memcpy(&w, a->b + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	/* A multiply carries low bits up only: finish with a full mix so
	 * the set depends on every byte (an IPv4 address is the last four
	 * of sixteen). test_names.test_cache_bounded counts the strings a
	 * flood leaves, which a poor spread would keep low. */
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)(h >> 32) % NAMES_SETS;
}

struct learn_ctx {
	struct core_engine *e;
	struct names_str *last; /* the qname's string, shared by its records */
};

static void learn_one(void *ctx, const char *qname,
		      const struct wire_dns_addr *a)
{
	struct learn_ctx *lc = ctx;
	struct core_engine *e = lc->e;
	struct wire_addr addr;
	if (a->family == 4)
		wire_addr_from4(&addr, a->addr);
	else
		wire_addr_from6(&addr, a->addr);
	if (!lc->last) {
		lc->last = names_make(e, qname, strlen(qname));
		if (!lc->last)
			return;
	}
	struct names_entry *set =
	    &e->names->e[addr_set(e, a->family, &addr) * NAMES_WAYS];
	struct names_entry *victim = &set[0];
	for (unsigned w = 0; w < NAMES_WAYS; w++) {
		struct names_entry *x = &set[w];
		if (x->expires && x->family == a->family &&
		    wire_addr_eq(&x->addr, &addr)) {
			victim = x; /* the same address: refresh it */
			break;
		}
		if (x->expires < victim->expires)
			victim = x; /* empty (0) or closer to expiry */
	}
	names_put(e, victim->name);
	victim->name = lc->last;
	lc->last->refs++;
	victim->addr = addr;
	victim->family = a->family;
	victim->expires = e->now + (uint64_t)a->ttl * 1000000u + NAMES_GRACE_US;
}

void names_learn_dns(struct core_engine *e, const uint8_t *msg, size_t len)
{
	if (!e->names) {
		e->names = core_mem_alloc(&e->mem, sizeof(*e->names));
		if (!e->names)
			return;
	}
	struct learn_ctx lc = {e, NULL};
	wire_dns_answers(msg, len, learn_one, &lc);
	names_put(e, lc.last); /* the entries hold their own references */
}

struct names_str *names_lookup(struct core_engine *e, uint8_t family,
			       const struct wire_addr *a)
{
	if (!e->names)
		return NULL;
	struct names_entry *set =
	    &e->names->e[addr_set(e, family, a) * NAMES_WAYS];
	for (unsigned w = 0; w < NAMES_WAYS; w++) {
		struct names_entry *x = &set[w];
		if (x->expires > e->now && x->family == family &&
		    wire_addr_eq(&x->addr, a)) {
			x->name->refs++;
			return x->name;
		}
	}
	return NULL;
}

void names_destroy(struct core_engine *e)
{
	if (!e->names)
		return;
	for (size_t i = 0; i < NAMES_SETS * NAMES_WAYS; i++)
		names_put(e, e->names->e[i].name);
	core_mem_free(&e->mem, e->names, sizeof(*e->names));
	e->names = NULL;
}

void names_expire(struct core_engine *e, uint64_t now)
{
	if (!e->names)
		return;
	bool any = false;
	for (size_t i = 0; i < NAMES_SETS * NAMES_WAYS; i++) {
		struct names_entry *x = &e->names->e[i];
		if (x->expires && x->expires <= now) {
			names_put(e, x->name);
			x->name = NULL;
			x->expires = 0;
		}
		any |= x->expires != 0;
	}
	if (!any)
		names_destroy(e);
}
