/* SPDX-License-Identifier: MIT */
/* tx.c - the transmit ring (see tx.h).
 *
 * Slots are one contiguous allocation of slots * (headroom + slot_size)
 * bytes, made once. head indexes the oldest ready packet; ready slots run
 * from head for `ready` entries, and the free ones follow them.
 */
#include "core/tx.h"

#include <stdbool.h>

struct tx_ring {
	struct core_mem *mem;
	uint8_t *buf;
	size_t *lens;
	uint8_t *families;
	uint32_t slots, slot_size, headroom, stride;
	uint32_t head, ready;
	size_t alloc_size;
};

struct tx_ring *tx_ring_create(struct core_mem *mem, uint32_t slots,
			       uint32_t slot_size, uint32_t headroom)
{
	struct tx_ring *r = core_mem_alloc(mem, sizeof(*r));
	if (!r)
		return NULL;
	r->mem = mem;
	r->slots = slots;
	r->slot_size = slot_size;
	r->headroom = headroom;
	/* Keep every packet start 8-byte aligned so headers read cheaply. */
	r->stride = (headroom + slot_size + 7u) & ~7u;
	r->alloc_size = (size_t)slots * r->stride;
	r->buf = core_mem_alloc(mem, r->alloc_size);
	r->lens = core_mem_alloc(mem, slots * sizeof(*r->lens));
	r->families = core_mem_alloc(mem, slots);
	if (!r->buf || !r->lens || !r->families) {
		tx_ring_destroy(r);
		return NULL;
	}
	return r;
}

void tx_ring_destroy(struct tx_ring *r)
{
	if (!r)
		return;
	core_mem_free(r->mem, r->buf, r->alloc_size);
	core_mem_free(r->mem, r->lens, r->slots * sizeof(*r->lens));
	core_mem_free(r->mem, r->families, r->slots);
	core_mem_free(r->mem, r, sizeof(*r));
}

uint32_t tx_free(const struct tx_ring *r)
{
	return r->slots - r->ready;
}

uint32_t tx_slot_cap(const struct tx_ring *r)
{
	return r->slot_size;
}

static uint8_t *slot_at(struct tx_ring *r, uint32_t idx)
{
	return r->buf + (size_t)(idx % r->slots) * r->stride + r->headroom;
}

uint8_t *tx_slot(struct tx_ring *r, uint32_t k)
{
	return slot_at(r, r->head + r->ready + k);
}

void tx_commit(struct tx_ring *r, size_t len, uint8_t family)
{
	uint32_t idx = (r->head + r->ready) % r->slots;
	r->lens[idx] = len;
	r->families[idx] = family;
	r->ready++;
}

uint32_t tx_ready(const struct tx_ring *r)
{
	return r->ready;
}

void tx_ready_get(struct tx_ring *r, uint32_t k, uint8_t **data, size_t *len,
		  uint8_t *family)
{
	uint32_t idx = (r->head + k) % r->slots;
	*data = slot_at(r, idx);
	*len = r->lens[idx];
	*family = r->families[idx];
}

void tx_release(struct tx_ring *r, uint32_t n)
{
	if (n > r->ready)
		n = r->ready;
	r->head = (r->head + n) % r->slots;
	r->ready -= n;
}
