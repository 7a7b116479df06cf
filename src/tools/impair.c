/* SPDX-License-Identifier: MIT */
/* impair.c - the impairment stage (model in impair.h).
 *
 * Each offered packet draws the same fixed set of random numbers from a
 * splitmix64 sequence (seed, stream), whatever their outcome, so a given
 * seed and packet sequence always gives the same losses, duplicates,
 * reorderings and delays: a failure seen once can be replayed.
 *
 * Per packet, in this order:
 *   loss     dropped with probability loss (like netem "loss random");
 *   corrupt  one random bit of the copy flipped;
 *   delay    due at now + delay + uniform(-jitter, +jitter), never before
 *            now; jitter alone reorders, as netem's does;
 *   reorder  with probability reorder the packet is held `hold` longer,
 *            so packets offered after it overtake it. (netem instead sends
 *            the reordered packet at once and delays the others, which
 *            needs a delay; holding works with delay 0 too.)
 *   dup      a second copy released right after the first.
 * Held packets sit in a binary heap ordered by (due time, arrival order),
 * so equal due times keep their order. At most `limit` packets are held;
 * beyond that packets are dropped and counted, never queued without bound.
 */
#include "impair.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool_util.h"

struct slot {
	uint64_t due;
	uint64_t seq;
	uint32_t len;
};

struct impair {
	struct impair_spec spec;
	uint32_t slot_size;
	uint64_t rng;
	uint64_t seq;
	uint8_t *data; /* limit * slot_size bytes */
	struct slot *slots;
	uint32_t *heap; /* slot indices, a min-heap on (due, seq) */
	uint32_t nheap;
	uint32_t *free; /* free slot indices (a stack) */
	uint32_t nfree;
	uint32_t *lent; /* slots handed out by the last take */
	uint32_t nlent;
	struct impair_stats st;
};

void impair_spec_init(struct impair_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->limit = IMPAIR_DEFAULT_LIMIT;
	s->hold_us = IMPAIR_DEFAULT_HOLD_US;
	s->seed = 1;
}

bool impair_spec_active(const struct impair_spec *s)
{
	return s->loss_ppm || s->dup_ppm || s->reorder_ppm || s->corrupt_ppm ||
	       s->delay_us || s->jitter_us;
}

int impair_spec_parse(const char *str, struct impair_spec *s, char *err,
		      size_t cap)
{
	char buf[512];
	if (snprintf(buf, sizeof(buf), "%s", str) >= (int)sizeof(buf)) {
		snprintf(err, cap, "impairment spec too long");
		return -1;
	}
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *val = strchr(tok, '=');
		if (!val) {
			snprintf(err, cap, "'%s': want NAME=VALUE", tok);
			return -1;
		}
		*val++ = 0;
		bool ok;
		uint64_t v = 0;
		if (strcmp(tok, "loss") == 0)
			ok = tool_parse_ppm(val, &s->loss_ppm);
		else if (strcmp(tok, "dup") == 0 ||
			 strcmp(tok, "duplicate") == 0)
			ok = tool_parse_ppm(val, &s->dup_ppm);
		else if (strcmp(tok, "reorder") == 0)
			ok = tool_parse_ppm(val, &s->reorder_ppm);
		else if (strcmp(tok, "corrupt") == 0)
			ok = tool_parse_ppm(val, &s->corrupt_ppm);
		else if (strcmp(tok, "delay") == 0)
			ok = tool_parse_duration(val, 1000, &s->delay_us);
		else if (strcmp(tok, "jitter") == 0)
			ok = tool_parse_duration(val, 1000, &s->jitter_us);
		else if (strcmp(tok, "hold") == 0)
			ok = tool_parse_duration(val, 1000, &s->hold_us);
		else if (strcmp(tok, "limit") == 0) {
			ok = tool_parse_size(val, 1u << 20, &v) && v > 0;
			s->limit = (uint32_t)v;
		} else if (strcmp(tok, "seed") == 0) {
			ok = tool_parse_size(val, UINT64_MAX, &v);
			s->seed = v;
		} else {
			snprintf(err, cap,
				 "unknown impairment '%s' (loss, dup, reorder, "
				 "hold, delay, jitter, corrupt, limit, seed)",
				 tok);
			return -1;
		}
		if (!ok) {
			snprintf(err, cap, "bad value for %s: '%s'", tok, val);
			return -1;
		}
	}
	return 0;
}

void impair_spec_format(const struct impair_spec *s, char *buf, size_t cap)
{
	snprintf(buf, cap,
		 "loss=%g%%,dup=%g%%,reorder=%g%%,hold=%lluus,delay=%lluus,"
		 "jitter=%lluus,corrupt=%g%%,limit=%u,seed=%llu",
		 s->loss_ppm / 1e4, s->dup_ppm / 1e4, s->reorder_ppm / 1e4,
		 (unsigned long long)s->hold_us,
		 (unsigned long long)s->delay_us,
		 (unsigned long long)s->jitter_us, s->corrupt_ppm / 1e4,
		 s->limit, (unsigned long long)s->seed);
}

/* splitmix64: tiny, fast, and good enough for test impairment. */
static uint64_t next_rand(struct impair *im)
{
	uint64_t z = (im->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* True with probability ppm / 1e6 for the random value r. */
static bool chance(uint64_t r, uint32_t ppm)
{
	return ((r >> 32) * 1000000u >> 32) < ppm;
}

struct impair *impair_create(const struct impair_spec *s, uint32_t slot_size,
			     uint64_t stream)
{
	struct impair *im = calloc(1, sizeof(*im));
	if (!im)
		return NULL;
	im->spec = *s;
	if (im->spec.limit == 0)
		im->spec.limit = IMPAIR_DEFAULT_LIMIT;
	im->slot_size = slot_size;
	im->rng = s->seed ^ (stream * 0xd1342543de82ef95ull);
	uint32_t n = im->spec.limit;
	im->data = malloc((size_t)n * slot_size);
	im->slots = calloc(n, sizeof(*im->slots));
	im->heap = calloc(n, sizeof(*im->heap));
	im->free = calloc(n, sizeof(*im->free));
	im->lent = calloc(n, sizeof(*im->lent));
	if (!im->data || !im->slots || !im->heap || !im->free || !im->lent) {
		impair_destroy(im);
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++)
		im->free[i] = n - 1 - i;
	im->nfree = n;
	return im;
}

void impair_destroy(struct impair *im)
{
	if (!im)
		return;
	free(im->data);
	free(im->slots);
	free(im->heap);
	free(im->free);
	free(im->lent);
	free(im);
}

static bool before(const struct impair *im, uint32_t a, uint32_t b)
{
	const struct slot *x = &im->slots[a], *y = &im->slots[b];
	return x->due < y->due || (x->due == y->due && x->seq < y->seq);
}

static void heap_push(struct impair *im, uint32_t idx)
{
	uint32_t i = im->nheap++;
	im->heap[i] = idx;
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (!before(im, im->heap[i], im->heap[p]))
			break;
		uint32_t t = im->heap[p];
		im->heap[p] = im->heap[i];
		im->heap[i] = t;
		i = p;
	}
}

static uint32_t heap_pop(struct impair *im)
{
	uint32_t top = im->heap[0];
	im->heap[0] = im->heap[--im->nheap];
	uint32_t i = 0;
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < im->nheap && before(im, im->heap[l], im->heap[m]))
			m = l;
		if (r < im->nheap && before(im, im->heap[r], im->heap[m]))
			m = r;
		if (m == i)
			break;
		uint32_t t = im->heap[m];
		im->heap[m] = im->heap[i];
		im->heap[i] = t;
		i = m;
	}
	return top;
}

/* Copies the packet into a free slot due at `due`; returns the slot or
 * -1 when all are in use. */
static int64_t hold(struct impair *im, const uint8_t *pkt, size_t len,
		    uint64_t due)
{
	if (im->nfree == 0) {
		im->st.queue_full++;
		return -1;
	}
	uint32_t idx = im->free[--im->nfree];
	memcpy(im->data + (size_t)idx * im->slot_size, pkt, len);
	im->slots[idx] =
	    (struct slot){.due = due, .seq = im->seq++, .len = (uint32_t)len};
	heap_push(im, idx);
	return idx;
}

enum impair_verdict impair_push(struct impair *im, const uint8_t *pkt,
				size_t len, uint64_t now)
{
	const struct impair_spec *s = &im->spec;
	/* Always the same draws per packet: outcomes stay reproducible. */
	uint64_t r_loss = next_rand(im), r_dup = next_rand(im);
	uint64_t r_reorder = next_rand(im), r_corrupt = next_rand(im);
	uint64_t r_jitter = next_rand(im), r_bit = next_rand(im);
	im->st.in++;
	if (len > im->slot_size) {
		im->st.oversize++;
		return IMPAIR_BYPASS;
	}
	if (chance(r_loss, s->loss_ppm)) {
		im->st.lost++;
		return IMPAIR_DROPPED;
	}
	uint64_t due = now + s->delay_us;
	if (s->jitter_us) {
		/* due + uniform(0, 2 * jitter) - jitter, not before now. */
		uint64_t base = due + r_jitter % (2 * s->jitter_us + 1);
		due = base >= now + s->jitter_us ? base - s->jitter_us : now;
	}
	if (chance(r_reorder, s->reorder_ppm)) {
		due += s->hold_us;
		im->st.reordered++;
	}
	int64_t idx = hold(im, pkt, len, due);
	if (idx < 0)
		return IMPAIR_DROPPED;
	if (len > 0 && chance(r_corrupt, s->corrupt_ppm)) {
		uint64_t bit = r_bit % ((uint64_t)len * 8);
		im->data[(size_t)idx * im->slot_size + bit / 8] ^=
		    (uint8_t)(1u << (bit % 8));
		im->st.corrupted++;
	}
	if (chance(r_dup, s->dup_ppm) && hold(im, pkt, len, due) >= 0)
		im->st.duplicated++;
	return IMPAIR_QUEUED;
}

size_t impair_take(struct impair *im, uint64_t now, struct impair_pkt *out,
		   size_t max)
{
	for (uint32_t i = 0; i < im->nlent; i++)
		im->free[im->nfree++] = im->lent[i];
	im->nlent = 0;
	size_t n = 0;
	while (n < max && im->nheap > 0 && im->slots[im->heap[0]].due <= now) {
		uint32_t idx = heap_pop(im);
		im->lent[im->nlent++] = idx;
		out[n].data = im->data + (size_t)idx * im->slot_size;
		out[n].len = im->slots[idx].len;
		n++;
	}
	im->st.out += n;
	return n;
}

uint64_t impair_next_due(const struct impair *im)
{
	return im->nheap ? im->slots[im->heap[0]].due : UINT64_MAX;
}

const struct impair_stats *impair_get_stats(const struct impair *im)
{
	return &im->st;
}

void impair_print_stats(const struct impair *im, const char *prefix, FILE *f)
{
	if (!im)
		return;
	char name[64];
#define IMPAIR_X_PRINT(field, desc)                                            \
	snprintf(name, sizeof(name), "%s%s", prefix, #field);                  \
	tool_counter(f, name, im->st.field);
	IMPAIR_STATS(IMPAIR_X_PRINT)
#undef IMPAIR_X_PRINT
}
