/* SPDX-License-Identifier: MIT */
/* tx.h - the ring of outgoing packets between the core and the TUN.
 *
 * A fixed number of fixed-size slots (MTU plus headroom for the driver's
 * framing: a utun header, a virtio-net header), allocated once. Producers
 * build packets in place in the next free slots; the driver writes the
 * ready ones and frees them. When the ring is full, producers stop (TCP
 * waits to be resumed, UDP drops and counts) instead of allocating.
 */
#ifndef TP_CORE_TX_H
#define TP_CORE_TX_H

#include <stddef.h>
#include <stdint.h>

#include "core/mem.h"

struct tx_ring;

struct tx_ring *tx_ring_create(struct core_mem *mem, uint32_t slots,
			       uint32_t slot_size, uint32_t headroom);
void tx_ring_destroy(struct tx_ring *r);

/* Number of free slots. */
uint32_t tx_free(const struct tx_ring *r);

/* Bytes a packet may have in one slot (MTU). */
uint32_t tx_slot_cap(const struct tx_ring *r);

/* Where the k-th free slot's packet starts (k < tx_free), without taking
 * it: a producer may fill several slots before committing them in order. */
uint8_t *tx_slot(struct tx_ring *r, uint32_t k);

/* Makes the first free slot ready with a packet of len bytes. */
void tx_commit(struct tx_ring *r, size_t len, uint8_t family);

/* Ready packets, oldest first (see core_tx_peek). */
uint32_t tx_ready(const struct tx_ring *r);
void tx_ready_get(struct tx_ring *r, uint32_t k, uint8_t **data, size_t *len,
		  uint8_t *family);
void tx_release(struct tx_ring *r, uint32_t n);

#endif
