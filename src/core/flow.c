/* SPDX-License-Identifier: MIT */
/* flow.c - the flow table: slots, hash, handles, timer heap (see flow.h).
 *
 * Memory: the slot array, the bucket array and the heap are sized for
 * max_flows and allocated zeroed at creation; only what is used gets
 * touched (and so becomes resident), and each slot in use is charged to
 * the memory budget. Buckets and chain links store index + 1 so that
 * all-zero memory means "empty" and needs no initialising pass.
 *
 * Slots are handed out from a stack of freed ones first, then from the
 * high-water mark, so the used part of the table stays dense.
 */
#include "core/flow.h"

#include <stdlib.h>

#include "core/admit.h"
#include "core/core.h"
#include "core/flowinfo.h"

#define HANDLE_IDX_BITS 20u
#define HANDLE_IDX_MASK ((1u << HANDLE_IDX_BITS) - 1u)
#define HANDLE_GEN_MASK 0xfffu

struct flow_table {
	struct core_engine *e;
	const struct flow_ops *const *ops; /* per flow type (flow.h) */
	union flow *slots;
	struct flow_acct *acct; /* beside each slot (flowinfo.h) */
	uint32_t *buckets;	/* index + 1 of the first flow, 0: empty */
	uint32_t *heap;		/* slot indices ordered by deadline */
	uint32_t *free_stack;	/* freed slot indices below high_water */
	uint32_t max, nbuckets, count, high_water, nfree, heap_len;
	uint32_t *dgram; /* slot indices of the UDP and ICMP flows, dense */
	uint32_t ndgram; /* how many */
	uint64_t seed;
};

struct flow_table *flow_table_create(struct core_engine *e, uint32_t max,
				     const struct flow_ops *const *ops)
{
	if (max == 0 || max > HANDLE_IDX_MASK)
		return NULL;
	struct flow_table *t = core_mem_alloc(&e->mem, sizeof(*t));
	if (!t)
		return NULL;
	t->e = e;
	t->ops = ops;
	t->max = max;
	t->nbuckets = 1;
	while (t->nbuckets < max)
		t->nbuckets <<= 1;
	/* Reserved, not charged: pages become resident only when used, and
	 * each slot is charged when a flow takes it (flow_alloc). */
	t->slots = calloc(max, sizeof(union flow));
	t->acct = calloc(max, sizeof(struct flow_acct));
	t->buckets = calloc(t->nbuckets, sizeof(uint32_t));
	t->heap = calloc(max, sizeof(uint32_t));
	t->free_stack = calloc(max, sizeof(uint32_t));
	t->dgram = calloc(max, sizeof(uint32_t));
	if (!t->slots || !t->acct || !t->buckets || !t->heap ||
	    !t->free_stack || !t->dgram) {
		flow_table_destroy(t);
		return NULL;
	}
	t->seed = e->cfg.hash_seed;
	return t;
}

void flow_table_destroy(struct flow_table *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t->acct);
	free(t->buckets);
	free(t->heap);
	free(t->free_stack);
	free(t->dgram);
	core_mem_free(&t->e->mem, t, sizeof(*t));
}

static uint32_t idx_of(const struct flow_table *t, const union flow *f)
{
	return (uint32_t)(f - t->slots);
}

/* A seeded mix of the key (the seed comes from the driver's randomness so a
 * hostile app cannot aim all its flows at one bucket). */
static uint32_t key_hash(const struct flow_table *t, const struct flow_key *k)
{
	uint64_t h = t->seed ^ 0x9e3779b97f4a7c15ull;
	uint64_t w;
	for (int i = 0; i < 16; i += 8) {
		memcpy(&w, k->src.b + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
		memcpy(&w, k->dst.b + i, 8);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
		h ^= h >> 29;
	}
	w = (uint64_t)k->sport << 32 | (uint64_t)k->dport << 16 |
	    (uint64_t)k->proto << 8 | k->family;
	h = (h ^ w) * 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (uint32_t)h;
}

static bool key_eq(const struct flow_key *a, const struct flow_key *b)
{
	return a->sport == b->sport && a->dport == b->dport &&
	       a->proto == b->proto && a->family == b->family &&
	       wire_addr_eq(&a->src, &b->src) && wire_addr_eq(&a->dst, &b->dst);
}

union flow *flow_lookup(struct flow_table *t, const struct flow_key *key)
{
	uint32_t b = key_hash(t, key) & (t->nbuckets - 1);
	for (uint32_t i = t->buckets[b]; i; i = t->slots[i - 1].c.hash_next) {
		union flow *f = &t->slots[i - 1];
		if (key_eq(&f->c.key, key))
			return f;
	}
	return NULL;
}

static void hash_remove(struct flow_table *t, union flow *f)
{
	uint32_t b = key_hash(t, &f->c.key) & (t->nbuckets - 1);
	uint32_t want = idx_of(t, f) + 1;
	uint32_t *link = &t->buckets[b];
	while (*link) {
		if (*link == want) {
			*link = f->c.hash_next;
			return;
		}
		link = &t->slots[*link - 1].c.hash_next;
	}
}

#define EVICT_SAMPLES 64

static uint32_t rng_next(struct core_engine *e)
{
	/* xorshift64*: fast, and seeded from the driver's randomness. */
	uint64_t x = e->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	e->rng = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 32);
}

bool flow_is_datagram(const union flow *f)
{
	return f->c.type == FLOW_UDP || f->c.type == FLOW_ICMP;
}

static uint32_t *dgram_pos(union flow *f)
{
	return &f->dgram.dgram_pos;
}

/* Ends victim, chosen by one of the two below. */
static void evict(struct core_engine *e, union flow *victim)
{
	CTR_INC(e, flows_evicted);
	flowinfo_set_end(e, victim, TP_END_LIMIT);
	const struct flow_ops *ops = e->flows->ops[victim->c.type];
	if (ops && ops->evict)
		ops->evict(e, victim);
	else
		flow_close(e, victim, false);
	flow_sweep(e);
}

/* Samples EVICT_SAMPLES of n slots at random (slot list[r], or slot r
 * when list is NULL) and ends the least recently active live one other
 * than keep that pred (NULL: any) accepts. Returns true if one was. */
static bool evict_sampled(struct core_engine *e, const uint32_t *list,
			  uint32_t n, bool (*pred)(const union flow *f),
			  const union flow *keep)
{
	struct flow_table *t = e->flows;
	union flow *victim = NULL;
	for (int i = 0; i < EVICT_SAMPLES && n; i++) {
		uint32_t r = rng_next(e) % n;
		union flow *f = &t->slots[list ? list[r] : r];
		if (f->c.type == FLOW_FREE || f->c.closing || f == keep ||
		    (pred && !pred(f)))
			continue;
		if (!victim || f->c.last_active < victim->c.last_active)
			victim = f;
	}
	if (!victim)
		return false;
	evict(e, victim);
	return true;
}

bool flow_evict_datagram(struct core_engine *e, const union flow *keep)
{
	struct flow_table *t = e->flows;
	return evict_sampled(e, t->dgram, t->ndgram, NULL, keep);
}

bool flow_evict_oldest(struct core_engine *e, bool (*pred)(const union flow *f))
{
	return evict_sampled(e, NULL, e->flows->high_water, pred, NULL);
}

union flow *flow_alloc(struct core_engine *e, enum flow_type type,
		       const struct flow_key *key)
{
	struct flow_table *t = e->flows;
	bool dgram = type == FLOW_UDP || type == FLOW_ICMP;
	/* Datagram flows must leave fds for TCP and the process (admit.c). */
	if (dgram && !admit_dgram(e, key))
		return NULL;
	/* A full table first makes an old datagram flow give way: a flood
	 * of UDP or ping flows must not lock out the next DNS query or
	 * connection. TCP connections are never evicted for another flow.
	 * The memory budget is different: at the budget, new flows are
	 * refused (and TCP windows shrink), as the budget promises. */
	if (t->count >= t->max)
		flow_evict_datagram(e, NULL);
	if (t->count >= t->max) {
		CTR_INC(e, flows_refused_limit);
		core_log_refusal(e, CORE_REFUSE_LIMIT, key,
				 "%u flows open, the most max_flows allows "
				 "(raise it: --max-flows)",
				 t->max);
		flowinfo_refused(e, key, TP_END_LIMIT);
		return NULL;
	}
	if (!t->nfree && t->high_water >= t->max) {
		/* Every free slot is still linked on the tx-resume list
		 * (flow_sweep keeps it off the free stack); they become
		 * reusable when core_tx_resume walks the list. */
		CTR_INC(e, flows_refused_limit);
		return NULL;
	}
	if (core_mem_charge(&e->mem, flow_slot_bytes()) < 0) {
		CTR_INC(e, flows_refused_memory);
		flowinfo_refused(e, key, TP_END_LIMIT);
		core_log_refusal(e, CORE_REFUSE_MEMORY, key,
				 "%zu of max_memory's %zu bytes in use by %u "
				 "flows (raise it: --max-memory)",
				 e->mem.used, e->mem.budget, t->count);
		return NULL;
	}
	uint32_t idx = t->nfree ? t->free_stack[--t->nfree] : t->high_water++;
	union flow *f = &t->slots[idx];
	uint16_t gen = (uint16_t)((f->c.gen + 1u) & HANDLE_GEN_MASK);
	memset(f, 0, sizeof(*f));
	f->c.gen = gen;
	f->c.key = *key;
	f->c.type = (uint8_t)type;
	f->c.sock = -1;
	f->c.heap_pos = FLOW_NONE;
	f->c.last_active = e->now;
	uint32_t b = key_hash(t, key) & (t->nbuckets - 1);
	f->c.hash_next = t->buckets[b];
	t->buckets[b] = idx + 1;
	t->count++;
	if (dgram) {
		*dgram_pos(f) = t->ndgram;
		t->dgram[t->ndgram++] = idx;
	}
	CTR_SET(e, flows_open, t->count);
	CTR_INC(e, flows_created);
	memset(&t->acct[idx], 0, sizeof(t->acct[idx]));
	flowinfo_init(e, f, &t->acct[idx]);
	return f;
}

uint32_t flow_handle(const struct flow_table *t, const union flow *f)
{
	return (uint32_t)f->c.gen << HANDLE_IDX_BITS | idx_of(t, f);
}

union flow *flow_from_handle(struct flow_table *t, uint32_t handle)
{
	uint32_t idx = handle & HANDLE_IDX_MASK;
	if (idx >= t->high_water)
		return NULL;
	union flow *f = &t->slots[idx];
	if (f->c.type == FLOW_FREE || f->c.closing ||
	    f->c.gen != ((handle >> HANDLE_IDX_BITS) & HANDLE_GEN_MASK))
		return NULL;
	return f;
}

void flow_close(struct core_engine *e, union flow *f, bool reset)
{
	if (f->c.closing)
		return;
	f->c.closing = 1;
	f->c.reset = reset;
	f->c.close_next = e->closing_head;
	e->closing_head = idx_of(e->flows, f) + 1;
}

/* --- timer heap: a binary min-heap of slot indices by deadline --- */

static uint64_t heap_key(const struct flow_table *t, uint32_t pos)
{
	return t->slots[t->heap[pos]].c.deadline;
}

static void heap_place(struct flow_table *t, uint32_t pos, uint32_t idx)
{
	t->heap[pos] = idx;
	t->slots[idx].c.heap_pos = pos;
}

static void heap_up(struct flow_table *t, uint32_t pos)
{
	uint32_t idx = t->heap[pos];
	uint64_t d = t->slots[idx].c.deadline;
	while (pos > 0) {
		uint32_t parent = (pos - 1) / 2;
		if (heap_key(t, parent) <= d)
			break;
		heap_place(t, pos, t->heap[parent]);
		pos = parent;
	}
	heap_place(t, pos, idx);
}

static void heap_down(struct flow_table *t, uint32_t pos)
{
	uint32_t idx = t->heap[pos];
	uint64_t d = t->slots[idx].c.deadline;
	for (;;) {
		uint32_t child = 2 * pos + 1;
		if (child >= t->heap_len)
			break;
		if (child + 1 < t->heap_len &&
		    heap_key(t, child + 1) < heap_key(t, child))
			child++;
		if (heap_key(t, child) >= d)
			break;
		heap_place(t, pos, t->heap[child]);
		pos = child;
	}
	heap_place(t, pos, idx);
}

static void heap_remove(struct flow_table *t, union flow *f)
{
	uint32_t pos = f->c.heap_pos;
	if (pos == FLOW_NONE)
		return;
	f->c.heap_pos = FLOW_NONE;
	uint32_t last = t->heap[--t->heap_len];
	if (pos == t->heap_len)
		return;
	heap_place(t, pos, last);
	heap_up(t, pos);
	heap_down(t, t->slots[last].c.heap_pos);
}

void flow_timer_set(struct core_engine *e, union flow *f, uint64_t when)
{
	struct flow_table *t = e->flows;
	if (when == UINT64_MAX) {
		heap_remove(t, f);
		return;
	}
	f->c.deadline = when;
	if (f->c.heap_pos == FLOW_NONE) {
		f->c.heap_pos = t->heap_len;
		t->heap[t->heap_len++] = idx_of(t, f);
	}
	heap_up(t, f->c.heap_pos);
	heap_down(t, f->c.heap_pos);
}

uint64_t flow_timer_next(const struct flow_table *t)
{
	return t->heap_len ? heap_key(t, 0) : UINT64_MAX;
}

union flow *flow_timer_pop(struct flow_table *t, uint64_t now)
{
	if (!t->heap_len || heap_key(t, 0) > now)
		return NULL;
	union flow *f = &t->slots[t->heap[0]];
	heap_remove(t, f);
	return f;
}

/* --- deferred free --- */

void flow_sweep(struct core_engine *e)
{
	struct flow_table *t = e->flows;
	while (e->closing_head) {
		union flow *f = &t->slots[e->closing_head - 1];
		e->closing_head = f->c.close_next;
		flowinfo_release(e, f);
		const struct flow_ops *ops = t->ops[f->c.type];
		if (ops && ops->release)
			ops->release(e, f);
		if (f->c.sock >= 0)
			e->ops->close(e->ops_ctx, f->c.sock, f->c.reset);
		heap_remove(t, f);
		hash_remove(t, f);
		uint16_t gen = f->c.gen;
		bool pending = f->c.in_pending;
		if (flow_is_datagram(f)) {
			/* Off the dense list: the last entry takes its place. */
			uint32_t pos = *dgram_pos(f);
			uint32_t last = t->dgram[--t->ndgram];
			t->dgram[pos] = last;
			*dgram_pos(&t->slots[last]) = pos;
		}
		memset(f, 0, sizeof(*f));
		f->c.gen = gen;
		/* Still linked on the tx-resume list: the list walker skips
		 * free slots, and the slot is not reused until it is off. */
		f->c.in_pending = pending;
		f->c.type = FLOW_FREE;
		f->c.heap_pos = FLOW_NONE;
		if (!pending)
			t->free_stack[t->nfree++] = idx_of(t, f);
		t->count--;
		core_mem_uncharge(&e->mem, flow_slot_bytes());
	}
	CTR_SET(e, flows_open, t->count);
}

/* Called by the tx-resume walker when a freed slot leaves the list. */
void flow_slot_unpend(struct flow_table *t, union flow *f)
{
	f->c.in_pending = 0;
	if (f->c.type == FLOW_FREE)
		t->free_stack[t->nfree++] = idx_of(t, f);
}

union flow *flow_at(struct flow_table *t, uint32_t idx)
{
	return &t->slots[idx];
}

uint32_t flow_index(const struct flow_table *t, const union flow *f)
{
	return idx_of(t, f);
}

void flow_for_each(struct flow_table *t,
		   void (*fn)(struct core_engine *, union flow *),
		   struct core_engine *e)
{
	for (uint32_t i = 0; i < t->high_water; i++)
		if (t->slots[i].c.type != FLOW_FREE)
			fn(e, &t->slots[i]);
}

uint32_t flow_table_count(const struct flow_table *t)
{
	return t->count;
}

uint32_t flow_dgram_count(const struct flow_table *t)
{
	return t->ndgram;
}

struct flow_acct *flow_acct_of(struct flow_table *t, const union flow *f)
{
	return &t->acct[idx_of(t, f)];
}

uint32_t flow_table_high(const struct flow_table *t)
{
	return t->high_water;
}

size_t flow_slot_bytes(void)
{
	return sizeof(union flow) + sizeof(struct flow_acct);
}
