/* SPDX-License-Identifier: MIT */
/* reasm.c - IPv4 and IPv6 fragment reassembly (see reasm.h).
 *
 * Model: a fixed table of max_datagrams slots, allocated at creation and
 * searched linearly (the table is small). A slot is keyed by family, source,
 * destination and id, plus the protocol for IPv4 (RFC 791 3.2); not for
 * IPv6, where only the first fragment's Next Header counts (RFC 8200 4.5).
 * Each datagram owns one contiguous buffer: a front area big enough for the
 * headers the first fragment brings (60 bytes for IPv4, REASM_IP6_FRONT for
 * IPv6), then the data at its final offset, so completion needs no copy:
 * the headers are patched in place and the caller gets a pointer into the
 * buffer. The buffer grows by doubling while the end is unknown and is
 * sized exactly once the last fragment has been seen. A bitmap with one bit
 * per 8-byte block records what has arrived; every fragment but the last
 * starts and ends on a block boundary (the parser checks), so the bitmap
 * finds overlaps exactly.
 *
 * Bounds: max_bytes counts the buffers allocated for datagrams in progress
 * (the real memory, at least the fragment data held, so a fragment far out
 * cannot reserve memory it is not charged for); max_datagrams bounds the
 * slots. A fragment that would pass either bound, or that core_mem refuses,
 * is dropped with its whole datagram, which could no longer complete. The
 * whole reassembled packet must fit in 65535 bytes (RFC 791; for IPv6 this
 * is 40 bytes stricter than RFC 8200 4.5, as struct wire_packet's lengths
 * are 16 bits).
 *
 * Overlaps abandon the datagram (RFC 5722; done for IPv4 too). Exact
 * duplicates, the same range as one fragment already held with the same
 * bytes, are ignored (RFC 8200 4.5 permits this) and counted; a second
 * bitmap of the blocks where fragments began tells them from overlaps. Conflicting ends (two different last
 * fragments, data past the end) abandon the datagram.
 *
 * Timers: each datagram expires timeout_us after its first fragment
 * (RFC 791 3.2, RFC 8200 4.5); expiry is a scan of the small table from
 * reasm_expire, which reasm_add also runs first. No ICMP Time Exceeded is
 * sent: the app is on the other side of a TUN and will retry.
 */
#include "core/reasm.h"

#include <string.h>

#include "wire/hdr.h"

/* Front room for IPv6 headers kept from the first fragment: the fixed
 * header and up to 216 bytes of unfragmentable extension headers. A first
 * fragment with more is refused. */
#define REASM_IP6_FRONT	 256u
#define REASM_IP4_FRONT	 60u
#define REASM_MAX_PACKET 65535u
/* Smallest data area allocated, to avoid regrowing for small datagrams. */
#define REASM_MIN_CAP 2048u
/* One bit per 8-byte block of a 65535-byte datagram. */
#define REASM_MAP_BYTES (65536u / 8 / 8)

struct reasm_dgram {
	bool used;
	bool have_first; /* the offset-0 fragment arrived */
	bool have_last;	 /* the fragment without MF arrived */
	uint8_t family;
	uint8_t proto;	 /* IPv4 key part; 0 for IPv6 */
	uint8_t nh;	 /* IPv6: Next Header of the first fragment */
	uint16_t hlen;	 /* header bytes kept in front of the data */
	uint16_t nh_off; /* IPv6: where nh goes in the kept headers */
	uint32_t id;
	struct wire_addr src, dst;
	uint64_t deadline;
	uint8_t *buf; /* front + cap bytes */
	size_t front;
	size_t cap;	 /* data bytes the buffer holds */
	size_t total;	 /* data length, once have_last */
	size_t max_end;	 /* highest data end seen */
	size_t received; /* data bytes held (no overlaps, so exact) */
	uint8_t map[REASM_MAP_BYTES];	 /* blocks that arrived */
	uint8_t starts[REASM_MAP_BYTES]; /* blocks a fragment began at */
};

struct reasm {
	struct core_mem *mem;
	size_t max_bytes;
	size_t used_bytes; /* buffers of datagrams in progress */
	unsigned max_dgrams;
	uint64_t timeout;
	struct reasm_stats stats;
	uint8_t *done; /* completed buffer lent to the caller */
	size_t done_size;
	struct reasm_dgram *d;
};

/* Creates a reassembler; see reasm.h. */
struct reasm *reasm_create(struct core_mem *mem, size_t max_bytes,
			   unsigned max_datagrams, uint64_t timeout_us)
{
	struct reasm *r = core_mem_alloc(mem, sizeof(*r));
	if (!r)
		return NULL;
	r->mem = mem;
	r->max_bytes = max_bytes;
	r->max_dgrams = max_datagrams;
	r->timeout = timeout_us;
	if (max_datagrams) {
		r->d = core_mem_alloc(mem, sizeof(*r->d) * max_datagrams);
		if (!r->d) {
			core_mem_free(mem, r, sizeof(*r));
			return NULL;
		}
	}
	return r;
}

/* Frees the buffer lent to the caller by the last REASM_DONE. */
static void reasm_release_done(struct reasm *r)
{
	core_mem_free(r->mem, r->done, r->done_size);
	r->done = NULL;
	r->done_size = 0;
}

/* Frees a datagram's buffer and its slot. */
static void reasm_drop_dgram(struct reasm *r, struct reasm_dgram *d)
{
	if (d->buf) {
		core_mem_free(r->mem, d->buf, d->front + d->cap);
		r->used_bytes -= d->front + d->cap;
	}
	d->used = false;
	d->buf = NULL;
}

/* Frees everything; see reasm.h. */
void reasm_destroy(struct reasm *r)
{
	if (!r)
		return;
	reasm_release_done(r);
	for (unsigned i = 0; i < r->max_dgrams; i++)
		if (r->d[i].used)
			reasm_drop_dgram(r, &r->d[i]);
	core_mem_free(r->mem, r->d, sizeof(*r->d) * r->max_dgrams);
	core_mem_free(r->mem, r, sizeof(*r));
}

/* Drops timed-out datagrams; see reasm.h. */
void reasm_expire(struct reasm *r, uint64_t now_us)
{
	reasm_release_done(r);
	for (unsigned i = 0; i < r->max_dgrams; i++) {
		struct reasm_dgram *d = &r->d[i];
		if (d->used && now_us >= d->deadline) {
			reasm_drop_dgram(r, d);
			r->stats.timed_out++;
		}
	}
}

/* The earliest deadline; see reasm.h. */
uint64_t reasm_next_deadline(const struct reasm *r)
{
	uint64_t t = UINT64_MAX;

	for (unsigned i = 0; i < r->max_dgrams; i++)
		if (r->d[i].used && r->d[i].deadline < t)
			t = r->d[i].deadline;
	return t;
}

/* The counters; see reasm.h. */
const struct reasm_stats *reasm_stats(const struct reasm *r)
{
	return &r->stats;
}

/* The datagram in progress with the earliest deadline, other than keep. */
static struct reasm_dgram *reasm_oldest(struct reasm *r,
					const struct reasm_dgram *keep)
{
	struct reasm_dgram *old = NULL;
	for (unsigned i = 0; i < r->max_dgrams; i++) {
		struct reasm_dgram *d = &r->d[i];
		if (d->used && d != keep &&
		    (!old || d->deadline < old->deadline))
			old = d;
	}
	return old;
}

/* The slot of pkt's datagram or a new one (evicting the oldest when the
 * table is full), or NULL if the table has no slots at all. */
static struct reasm_dgram *
reasm_lookup(struct reasm *r, const struct wire_packet *pkt, uint64_t now)
{
	uint8_t proto = pkt->family == 4 ? pkt->proto : 0;
	struct reasm_dgram *free_slot = NULL;

	for (unsigned i = 0; i < r->max_dgrams; i++) {
		struct reasm_dgram *d = &r->d[i];
		if (!d->used) {
			if (!free_slot)
				free_slot = d;
			continue;
		}
		if (d->family == pkt->family && d->id == pkt->frag_id &&
		    d->proto == proto && wire_addr_eq(&d->src, &pkt->src) &&
		    wire_addr_eq(&d->dst, &pkt->dst))
			return d;
	}
	if (!free_slot) {
		/* Full: the oldest datagram gives way. Lost or junk fragments
		 * must not lock out every later datagram until they time
		 * out; a datagram still arriving is the youngest. */
		free_slot = reasm_oldest(r, NULL);
		if (!free_slot)
			return NULL;
		reasm_drop_dgram(r, free_slot);
		r->stats.evicted++;
	}
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = true;
	free_slot->family = pkt->family;
	free_slot->proto = proto;
	free_slot->id = pkt->frag_id;
	free_slot->src = pkt->src;
	free_slot->dst = pkt->dst;
	free_slot->front = pkt->family == 4 ? REASM_IP4_FRONT : REASM_IP6_FRONT;
	free_slot->deadline =
	    now > UINT64_MAX - r->timeout ? UINT64_MAX : now + r->timeout;
	return free_slot;
}

/* Makes d's buffer hold data up to end; false if a bound refuses. */
static bool reasm_grow(struct reasm *r, struct reasm_dgram *d, size_t end)
{
	if (d->cap >= end)
		return true;

	size_t cap;
	if (d->have_last) {
		cap = d->total;
	} else {
		cap = d->cap * 2 > end ? d->cap * 2 : end;
		if (cap < REASM_MIN_CAP)
			cap = REASM_MIN_CAP;
		if (cap > REASM_MAX_PACKET)
			cap = REASM_MAX_PACKET;
	}
	size_t old = d->buf ? d->front + d->cap : 0;
	/* Out of bytes: older datagrams give way, as for slots. */
	struct reasm_dgram *victim;
	while (r->used_bytes - old + d->front + end > r->max_bytes &&
	       (victim = reasm_oldest(r, d)) != NULL) {
		reasm_drop_dgram(r, victim);
		r->stats.evicted++;
	}
	size_t others = r->used_bytes - old;
	/* Prefer room to grow, but settle for exactly what is needed. */
	if (others + d->front + cap > r->max_bytes)
		cap = end;
	if (others + d->front + cap > r->max_bytes)
		return false;

	uint8_t *nb = core_mem_alloc(r->mem, d->front + cap);
	if (!nb)
		return false;
	if (d->buf) {
		memcpy(nb, d->buf, old);
		core_mem_free(r->mem, d->buf, old);
	}
	d->buf = nb;
	d->cap = cap;
	r->used_bytes = others + d->front + cap;
	return true;
}

/* Bit b of a block map. */
static bool reasm_bit(const uint8_t *map, size_t b)
{
	return map[b / 8] & 1u << (b % 8);
}

/* True if any 8-byte block of [off, end) has arrived. */
static bool reasm_seen(const struct reasm_dgram *d, size_t off, size_t end)
{
	for (size_t b = off / 8; b < (end + 7) / 8; b++)
		if (reasm_bit(d->map, b))
			return true;
	return false;
}

/* True if exactly [off, end) arrived before as one fragment: every block
 * is there, one fragment began at off, none began inside, and the next
 * block (if any arrived) began another. Only the last fragment can end
 * inside a block, and the callers checked its end against the total. */
static bool reasm_same_range(const struct reasm_dgram *d, size_t off,
			     size_t end)
{
	size_t first = off / 8, past = (end + 7) / 8;

	if (!reasm_bit(d->starts, first))
		return false;
	for (size_t b = first; b < past; b++)
		if (!reasm_bit(d->map, b) ||
		    (b > first && reasm_bit(d->starts, b)))
			return false;
	return past >= REASM_MAP_BYTES * 8 || !reasm_bit(d->map, past) ||
	       reasm_bit(d->starts, past);
}

/* Marks the blocks of [off, end) as arrived in one fragment. */
static void reasm_mark(struct reasm_dgram *d, size_t off, size_t end)
{
	d->starts[off / 64] |= (uint8_t)(1u << (off / 8 % 8));
	for (size_t b = off / 8; b < (end + 7) / 8; b++)
		d->map[b / 8] |= (uint8_t)(1u << (b % 8));
}

/* Patches the kept headers for the whole datagram and lends the buffer to
 * the caller. */
static void reasm_finish(struct reasm *r, struct reasm_dgram *d,
			 const uint8_t **out, size_t *out_len)
{
	uint8_t *h = d->buf + d->front - d->hlen;

	if (d->family == 4) {
		/* RFC 791 3.2: total length recomputed, offset and MF
		 * cleared, header checksum redone. */
		wire_ip4_total_len_set(h, (uint16_t)(d->hlen + d->total));
		wire_ip4_frag_field_set(h, 0);
		wire_ip4_fill_csum(h);
	} else {
		/* RFC 8200 4.5: the Fragment header is gone, its Next Header
		 * goes to the header before it, and the payload length
		 * counts the unfragmentable headers and the data. */
		h[d->nh_off] = d->nh;
		wire_ip6_payload_len_set(
		    h, (uint16_t)(d->hlen - WIRE_IP6_HDR_LEN + d->total));
	}
	*out = h;
	*out_len = d->hlen + d->total;

	r->done = d->buf;
	r->done_size = d->front + d->cap;
	r->used_bytes -= r->done_size;
	d->buf = NULL;
	d->used = false;
	r->stats.completed++;
}

/* Adds one fragment; see reasm.h. */
enum reasm_result reasm_add(struct reasm *r, const struct wire_packet *pkt,
			    uint64_t now_us, const uint8_t **out,
			    size_t *out_len)
{
	reasm_expire(r, now_us);

	size_t off = pkt->frag_offset, len = pkt->payload_len;
	size_t end = off + len;
	size_t min_hdr = pkt->family == 4 ? WIRE_IP4_HDR_LEN : WIRE_IP6_HDR_LEN;
	bool more = pkt->more_fragments;

	/* The parser checks these; the reassembler does not rely on it. */
	if (!pkt->is_fragment || (pkt->family != 4 && pkt->family != 6) ||
	    len == 0 || off % 8 || (more && len % 8) ||
	    end + min_hdr > REASM_MAX_PACKET) {
		r->stats.dropped_bad++;
		return REASM_DROPPED;
	}

	struct reasm_dgram *d = reasm_lookup(r, pkt, now_us);
	if (!d) {
		r->stats.dropped_full++;
		return REASM_DROPPED;
	}

	/* Conflicting ends: RFC 8200 4.5 and RFC 791 give one end only. */
	bool bad;
	if (more)
		bad = d->have_last && end > d->total;
	else
		bad = (d->have_last && end != d->total) || d->max_end > end;
	size_t hdr = d->have_first ? d->hlen : min_hdr;
	if (off == 0 && !d->have_first) {
		hdr = pkt->family == 4 ? pkt->l3_hdr_len : pkt->frag_hdr_off;
		if (hdr > d->front || hdr < min_hdr ||
		    (pkt->family == 6 && pkt->frag_nh_off >= hdr))
			bad = true;
	}
	size_t max_end = end > d->max_end ? end : d->max_end;
	if (hdr + max_end > REASM_MAX_PACKET)
		bad = true;

	if (!bad && reasm_seen(d, off, end)) {
		/* An exact duplicate changes nothing (RFC 8200 4.5 allows
		 * dropping it alone); anything else that touches data
		 * already held is an overlap (RFC 5722). */
		if ((more || d->have_last) && reasm_same_range(d, off, end) &&
		    memcmp(d->buf + d->front + off, pkt->payload, len) == 0) {
			r->stats.duplicates++;
			return REASM_HELD;
		}
		bad = true;
	}
	if (bad) {
		reasm_drop_dgram(r, d);
		r->stats.dropped_bad++;
		return REASM_DROPPED;
	}
	if (!more) {
		d->have_last = true;
		d->total = end;
	}
	if (!reasm_grow(r, d, d->have_last ? d->total : end)) {
		reasm_drop_dgram(r, d);
		r->stats.dropped_full++;
		return REASM_DROPPED;
	}

	memcpy(d->buf + d->front + off, pkt->payload, len);
	reasm_mark(d, off, end);
	d->received += len;
	d->max_end = max_end;
	if (off == 0) {
		d->have_first = true;
		d->hlen = (uint16_t)hdr;
		memcpy(d->buf + d->front - hdr, pkt->l3, hdr);
		if (pkt->family == 6) {
			d->nh = pkt->proto;
			d->nh_off = pkt->frag_nh_off;
		}
	}

	if (d->have_first && d->have_last && d->received == d->total) {
		reasm_finish(r, d, out, out_len);
		return REASM_DONE;
	}
	return REASM_HELD;
}
