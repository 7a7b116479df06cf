/* SPDX-License-Identifier: MIT */
/* tunconn_callback.c - packets handed in and out by the embedding app.
 *
 * This is how an iOS NEPacketTunnelProvider feeds the engine: packets read
 * from packetFlow are passed to tp_input() on whatever thread the app has,
 * copied into a bounded queue of MTU-sized slots, and the engine's thread
 * is woken through a wake-up fd (os/os.h: an eventfd on Linux, a pipe on
 * Darwin). When the queue is full tp_input() accepts
 * fewer packets than offered: that is the backpressure signal, and nothing
 * grows. Outgoing packets are handed to the app's output callback in one
 * batch per engine pass, pointing into the engine's transmit ring.
 */
#include "io/tunconn.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "os/os.h"

#define CB_BATCH 64

struct tunconn_cb {
	struct tunconn base;
	tp_output_fn output;
	void *ctx;
	struct os_wake wake;
	pthread_mutex_t lock;
	uint8_t *slots;
	size_t *lens;
	size_t slot_size;
	uint32_t cap, head, count;
	uint32_t taken; /* slots lent to the engine by the last read */
};

static int cb_read_batch(struct tunconn *t, struct tun_pkt *pkts, int max)
{
	struct tunconn_cb *c = (struct tunconn_cb *)t;
	int rc = os_wake_drain(&c->wake);
	if (rc < 0)
		return rc;
	if (max > CB_BATCH)
		max = CB_BATCH;
	pthread_mutex_lock(&c->lock);
	/* Release what the previous batch lent, then lend the next slots.
	 * Slots are reused only after release, so the engine can read the
	 * packets without holding the lock. */
	c->head = (c->head + c->taken) % c->cap;
	c->count -= c->taken;
	uint32_t n = c->count < (uint32_t)max ? c->count : (uint32_t)max;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t idx = (c->head + i) % c->cap;
		pkts[i].data = c->slots + (size_t)idx * c->slot_size;
		pkts[i].len = c->lens[idx];
		pkts[i].flags = 0;
		pkts[i].gso_size = 0;
	}
	c->taken = n;
	bool more = c->count > n;
	pthread_mutex_unlock(&c->lock);
	t->drained = !more;
	if (more)
		os_wake_signal(&c->wake);
	return (int)n;
}

static int cb_write_batch(struct tunconn *t, struct core_tx_pkt *pkts, int n,
			  uint64_t *dropped)
{
	struct tunconn_cb *c = (struct tunconn_cb *)t;
	const uint8_t *ptr[CB_BATCH];
	size_t len[CB_BATCH];
	uint8_t fam[CB_BATCH];
	if (n > CB_BATCH)
		n = CB_BATCH;
	for (int i = 0; i < n; i++) {
		ptr[i] = pkts[i].data;
		len[i] = pkts[i].len;
		fam[i] = pkts[i].family;
	}
	if (c->output)
		c->output(c->ctx, ptr, len, fam, (size_t)n);
	else
		*dropped += (uint64_t)n;
	return n;
}

static int cb_fd(const struct tunconn *t)
{
	return ((const struct tunconn_cb *)t)->wake.rfd;
}

static void cb_close(struct tunconn *t)
{
	struct tunconn_cb *c = (struct tunconn_cb *)t;
	os_wake_close(&c->wake);
	pthread_mutex_destroy(&c->lock);
	free(c->slots);
	free(c->lens);
	free(c);
}

static const struct tunconn_ops cb_ops = {
    .read_batch = cb_read_batch,
    .write_batch = cb_write_batch,
    .fd = cb_fd,
    .close = cb_close,
};

struct tunconn *tunconn_callback_create(tp_output_fn output, void *ctx,
					uint32_t mtu, uint32_t queue_len)
{
	struct tunconn_cb *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->base.ops = &cb_ops;
	c->output = output;
	c->ctx = ctx;
	c->cap = queue_len;
	c->slot_size = mtu;
	int wrc = os_wake_open(&c->wake);
	c->slots = malloc((size_t)queue_len * mtu);
	c->lens = calloc(queue_len, sizeof(*c->lens));
	if (wrc < 0 || !c->slots || !c->lens) {
		os_wake_close(&c->wake);
		free(c->slots);
		free(c->lens);
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	return &c->base;
}

int tunconn_callback_input(struct tunconn *t, const uint8_t *const *pkts,
			   const size_t *lens, size_t n)
{
	struct tunconn_cb *c = (struct tunconn_cb *)t;
	for (size_t i = 0; i < n; i++)
		if (!pkts || !pkts[i] || lens[i] == 0 || lens[i] > c->slot_size)
			return -EINVAL;
	pthread_mutex_lock(&c->lock);
	/* Wake the engine only if it has nothing unread; otherwise its
	 * last read already re-armed the wake-up. */
	bool was_empty = c->count == c->taken;
	size_t k = 0;
	while (k < n && c->count < c->cap) {
		uint32_t idx = (c->head + c->count) % c->cap;
		memcpy(c->slots + (size_t)idx * c->slot_size, pkts[k], lens[k]);
		c->lens[idx] = lens[k];
		c->count++;
		k++;
	}
	pthread_mutex_unlock(&c->lock);
	if (k > 0 && was_empty)
		os_wake_signal(&c->wake);
	return (int)k;
}
