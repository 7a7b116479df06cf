/* SPDX-License-Identifier: MIT */
/* ref_csum.h - the tests' bytewise reference for the Internet checksum
 * (RFC 1071): slow and obvious, so the optimised wire/csum.c is checked
 * against something that cannot share its bugs. */
#ifndef TP_TEST_REF_CSUM_H
#define TP_TEST_REF_CSUM_H
#include <stddef.h>
#include <stdint.h>

/* s plus the one's-complement sum of the big-endian 16-bit words of p (an
 * odd last byte padded with zero), folded to 16 bits. */
static inline uint32_t ref_sum(uint32_t s, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i += 2)
		s += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}
#endif
