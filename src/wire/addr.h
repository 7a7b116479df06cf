/* SPDX-License-Identifier: MIT */
/* addr.h - one address type for both families.
 *
 * An IPv4 address is stored as a v4-mapped IPv6 address (::ffff:a.b.c.d) so
 * flow keys, hashing and comparisons need no family switch. The family of a
 * packet is carried next to its addresses, never guessed from them.
 */
#ifndef TP_WIRE_ADDR_H
#define TP_WIRE_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct wire_addr {
	uint8_t b[16];
};

/* Stores the 4 network-order bytes at v4 as a v4-mapped address. */
static inline void wire_addr_from4(struct wire_addr *a, const uint8_t v4[4])
{
	memset(a->b, 0, 10);
	a->b[10] = 0xff;
	a->b[11] = 0xff;
	memcpy(a->b + 12, v4, 4);
}

static inline void wire_addr_from6(struct wire_addr *a, const uint8_t v6[16])
{
	memcpy(a->b, v6, 16);
}

/* The 4 IPv4 bytes of a v4-mapped address. */
static inline const uint8_t *wire_addr_v4(const struct wire_addr *a)
{
	return a->b + 12;
}

static inline bool wire_addr_eq(const struct wire_addr *x,
				const struct wire_addr *y)
{
	return memcmp(x->b, y->b, 16) == 0;
}

static inline bool wire_addr_is_v4mapped(const struct wire_addr *a)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0,    0,
					   0, 0, 0, 0, 0xff, 0xff};
	return memcmp(a->b, prefix, 12) == 0;
}

/* Writes a printable form (dotted quad for family 4, RFC 5952 for 6) into
 * out, which must hold at least WIRE_ADDR_STRLEN bytes; returns out. */
#define WIRE_ADDR_STRLEN 46
char *wire_addr_str(uint8_t family, const struct wire_addr *a, char *out);

#endif
