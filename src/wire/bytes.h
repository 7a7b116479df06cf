/* SPDX-License-Identifier: MIT */
/* bytes.h - big-endian (network order) loads and stores.
 *
 * The wire layer reads every multi-byte header field through these helpers
 * so it never depends on the host's byte order, on alignment, or on a
 * system networking header. They go byte by byte; compilers turn them into
 * one load and a byte swap.
 */
#ifndef TP_WIRE_BYTES_H
#define TP_WIRE_BYTES_H

#include <stdint.h>

/* The byte at p (for field tables that name every width alike). */
static inline uint8_t wire_get8(const uint8_t *p)
{
	return p[0];
}

/* The 16-bit big-endian value at p. */
static inline uint16_t wire_get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

/* The 32-bit big-endian value at p. */
static inline uint32_t wire_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void wire_put8(uint8_t *p, uint8_t v)
{
	p[0] = v;
}

/* Stores v at p in big-endian order. */
static inline void wire_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Stores v at p in big-endian order. */
static inline void wire_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
