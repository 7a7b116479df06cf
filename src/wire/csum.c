/* SPDX-License-Identifier: MIT */
/* csum.c - the Internet checksum (RFC 1071) and its incremental update
 * (RFC 1624), with the IPv4 (RFC 768, RFC 9293 3.1) and IPv6 (RFC 8200 8.1)
 * pseudo-headers.
 *
 * Model: the one's-complement sum is independent of byte order (RFC 1071
 * 2(B)), so words are summed as they load from memory, in host order, and
 * the folded result is already in network order when stored back with
 * memcpy. The running sum is therefore opaque: only wire_csum_add,
 * wire_csum_pseudo and wire_csum_fold give it meaning. Internally a 64-bit
 * accumulator takes 32-bit loads (deferred carries, RFC 1071 2(C)); it is
 * folded with end-around carry back to 32 bits between calls so a chain of
 * any length cannot overflow.
 */
#include "wire/csum.h"

#include <string.h>

#include "wire/bytes.h"

/* Folds a 64-bit partial sum to 32 bits with end-around carry. */
static uint32_t csum_fold32(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

/* Folds a 32-bit partial sum to 16 bits with end-around carry. */
static uint16_t csum_fold16(uint32_t s)
{
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	return (uint16_t)s;
}

/* Adds len bytes at data to sum; see csum.h. */
uint32_t wire_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t s = sum;

	/* Two halves of a 32-bit load sum, after folding, to the same value
	 * as the two 16-bit loads would, on either byte order. */
	while (len >= 4) {
		uint32_t w;
		memcpy(&w, p, 4);
		s += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;
		memcpy(&w, p, 2);
		s += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		/* RFC 1071 4.1: the odd byte is the high-order (first) byte
		 * of a word whose second byte is zero. */
		uint8_t pad[2] = {p[0], 0};
		uint16_t w;
		memcpy(&w, pad, 2);
		s += w;
	}
	return csum_fold32(s);
}

/* Folds and complements a running sum; see csum.h. */
uint16_t wire_csum_fold(uint32_t sum)
{
	return (uint16_t)~csum_fold16(sum);
}

/* Sums the pseudo-header of an upper-layer packet; see csum.h. */
uint32_t wire_csum_pseudo(uint8_t family, const struct wire_addr *src,
			  const struct wire_addr *dst, uint8_t proto,
			  uint32_t l4_len)
{
	uint8_t ph[40];

	if (family == 4) {
		/* RFC 768: src, dst, zero, protocol, UDP/TCP length. */
		memcpy(ph, wire_addr_v4(src), 4);
		memcpy(ph + 4, wire_addr_v4(dst), 4);
		ph[8] = 0;
		ph[9] = proto;
		wire_put16(ph + 10, (uint16_t)l4_len);
		return wire_csum_add(0, ph, 12);
	}
	/* RFC 8200 8.1: src, dst, 32-bit length, 3 zero bytes, next header. */
	memcpy(ph, src->b, 16);
	memcpy(ph + 16, dst->b, 16);
	wire_put32(ph + 32, l4_len);
	ph[36] = ph[37] = ph[38] = 0;
	ph[39] = proto;
	return wire_csum_add(0, ph, 40);
}

/* RFC 1624 eqn. 3 for one 16-bit field; see csum.h. */
uint16_t wire_csum_update16(uint16_t csum, uint16_t old_val, uint16_t new_val)
{
	/* HC' = ~(~HC + ~m + m') */
	uint32_t s = (uint32_t)(uint16_t)~csum + (uint16_t)~old_val + new_val;
	return (uint16_t)~csum_fold16(s);
}

/* RFC 1624 eqn. 3 over a field of len bytes; see csum.h. */
uint16_t wire_csum_update(uint16_t csum, const void *old_bytes,
			  const void *new_bytes, size_t len)
{
	const uint8_t *o = old_bytes, *n = new_bytes;
	uint64_t s = (uint16_t)~csum;

	for (size_t i = 0; i + 1 < len; i += 2) {
		uint16_t ow, nw;
		memcpy(&ow, o + i, 2);
		memcpy(&nw, n + i, 2);
		s += (uint16_t)~ow;
		s += nw;
	}
	return (uint16_t)~csum_fold16(csum_fold32(s));
}
