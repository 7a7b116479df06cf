/* SPDX-License-Identifier: MIT */
/* mem.c - budgeted allocation for the core (see mem.h). */
#include "core/mem.h"

#include <stdlib.h>

void *core_mem_alloc(struct core_mem *m, size_t n)
{
	if (!core_mem_can(m, n)) {
		m->refused++;
		return NULL;
	}
	void *p = calloc(1, n);
	if (!p) {
		m->refused++;
		return NULL;
	}
	m->used += n;
	if (m->used > m->peak)
		m->peak = m->used;
	return p;
}

void core_mem_free(struct core_mem *m, void *p, size_t n)
{
	if (!p)
		return;
	m->used -= n;
	free(p);
}

int core_mem_charge(struct core_mem *m, size_t n)
{
	if (!core_mem_can(m, n)) {
		m->refused++;
		return -1;
	}
	m->used += n;
	if (m->used > m->peak)
		m->peak = m->used;
	return 0;
}

void core_mem_uncharge(struct core_mem *m, size_t n)
{
	m->used -= n;
}
