/* SPDX-License-Identifier: MIT */
/* impair.h - a seeded, deterministic network impairment stage.
 *
 * What netem does on a qdisc, done in userspace in one direction of a
 * packet path (the device simulator and the tee each hold one per
 * direction): loss, duplication, reordering, delay with jitter and bit
 * corruption. Spec syntax (comma-separated, any order):
 *
 *   loss=2%,dup=1%,reorder=10%,hold=1ms,delay=5ms,jitter=1ms,
 *   corrupt=0.1%,limit=1000,seed=1
 *
 * Sans-I/O: every call takes the time, nothing reads a clock; a packet
 * offered is copied into one of `limit` preallocated slots (no malloc per
 * packet) and taken back out when due.
 */
#ifndef TP_TOOLS_IMPAIR_H
#define TP_TOOLS_IMPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct impair_spec {
	uint32_t loss_ppm; /* parts per million */
	uint32_t dup_ppm;
	uint32_t reorder_ppm;
	uint32_t corrupt_ppm;
	uint64_t delay_us;
	uint64_t jitter_us; /* uniform in [-jitter, +jitter] */
	uint64_t hold_us;   /* extra delay of a reordered packet */
	uint32_t limit;	    /* packets held at once */
	uint64_t seed;
};

#define IMPAIR_DEFAULT_LIMIT   1000
#define IMPAIR_DEFAULT_HOLD_US 1000

/* Sets the defaults: no impairment, limit 1000, hold 1 ms, seed 1. */
void impair_spec_init(struct impair_spec *s);

/* Parses a spec string into s (starting from s's current values).
 * Returns 0, or -1 with a message in err. */
int impair_spec_parse(const char *str, struct impair_spec *s, char *err,
		      size_t cap);

/* True if the spec changes anything (otherwise bypass the stage). */
bool impair_spec_active(const struct impair_spec *s);

/* The spec as text, for logs ("loss=2%,dup=1%,seed=1"). */
void impair_spec_format(const struct impair_spec *s, char *buf, size_t cap);

struct impair;

/* A stage for packets of at most slot_size bytes. stream makes
 * independent random sequences for stages sharing a seed (e.g. one per
 * direction). NULL if out of memory. */
struct impair *impair_create(const struct impair_spec *s, uint32_t slot_size,
			     uint64_t stream);
void impair_destroy(struct impair *im);

enum impair_verdict {
	IMPAIR_QUEUED,	/* held (once, or twice if duplicated) until due */
	IMPAIR_DROPPED, /* lost on purpose, or no free slot (counted) */
	IMPAIR_BYPASS,	/* larger than a slot: the caller sends it as is */
};

/* Offers one packet at time now (microseconds). The bytes are copied. */
enum impair_verdict impair_push(struct impair *im, const uint8_t *pkt,
				size_t len, uint64_t now);

struct impair_pkt {
	const uint8_t *data;
	size_t len;
};

/* Up to max packets due at now, in release order. They stay valid until
 * the next impair_take (pushing in between does not reuse them). */
size_t impair_take(struct impair *im, uint64_t now, struct impair_pkt *out,
		   size_t max);

/* When the next held packet is due, or UINT64_MAX if none is held. */
uint64_t impair_next_due(const struct impair *im);

#define IMPAIR_STATS(X)                                                        \
	X(in, "packets offered")                                               \
	X(out, "packets released (duplicates included)")                       \
	X(lost, "packets dropped by the loss rate")                            \
	X(duplicated, "packets sent twice")                                    \
	X(reordered, "packets held back so later ones overtake them")          \
	X(corrupted, "packets with one bit flipped")                           \
	X(queue_full, "packets dropped: limit reached")                        \
	X(oversize, "packets passed unimpaired: larger than a slot")

struct impair_stats {
#define IMPAIR_X_FIELD(name, desc) uint64_t name;
	IMPAIR_STATS(IMPAIR_X_FIELD)
#undef IMPAIR_X_FIELD
};

const struct impair_stats *impair_get_stats(const struct impair *im);

/* Prints the stats as "counter PREFIXNAME VALUE" lines (nothing if im is
 * NULL: no stage). */
void impair_print_stats(const struct impair *im, const char *prefix, FILE *f);

#endif
