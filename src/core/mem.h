/* SPDX-License-Identifier: MIT */
/* mem.h - the memory budget every core allocation goes through.
 *
 * The core allocates only at flow creation and at rare buffering events,
 * never per packet. Each allocation is charged against one budget (the
 * config's max_memory); past it the allocation fails and is counted, and
 * the caller refuses the flow or shrinks its window. Sizes are passed back
 * on free so the accounting needs no per-block header.
 */
#ifndef TP_CORE_MEM_H
#define TP_CORE_MEM_H

#include <stddef.h>
#include <stdint.h>

struct core_mem {
	size_t used;	  /* bytes currently charged */
	size_t peak;	  /* highest value of used */
	size_t budget;	  /* 0: unlimited */
	uint64_t refused; /* allocations refused by the budget or malloc */
};

/* Zeroed memory of n bytes charged to m, or NULL (counted in m->refused). */
void *core_mem_alloc(struct core_mem *m, size_t n);

/* Returns n bytes at p (as allocated with the same n) to m. NULL is a no-op. */
void core_mem_free(struct core_mem *m, void *p, size_t n);

/* Charges (or returns) n bytes of memory that was reserved up front but is
 * used only now, such as a slot of the flow table. Returns 0 or -1 when the
 * budget refuses (counted). */
int core_mem_charge(struct core_mem *m, size_t n);
void core_mem_uncharge(struct core_mem *m, size_t n);

/* True if n more bytes fit in the budget. */
static inline int core_mem_can(const struct core_mem *m, size_t n)
{
	return m->budget == 0 || m->used + n <= m->budget;
}

#endif
