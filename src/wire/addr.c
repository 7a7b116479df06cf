/* SPDX-License-Identifier: MIT */
/* addr.c - printable addresses.
 *
 * IPv4 is printed as a dotted quad (RFC 791). IPv6 follows RFC 5952:
 * lower-case hex without leading zeros (4.1, 4.3), the longest run of two or
 * more zero groups (the first on a tie) shortened to "::" (4.2), and
 * v4-mapped addresses in mixed notation "::ffff:192.0.2.1" (5).
 */
#include "wire/addr.h"

/* Writes the decimal form of v at p; returns the end. */
static char *addr_put_dec(char *p, unsigned v)
{
	if (v >= 100)
		*p++ = (char)('0' + v / 100);
	if (v >= 10)
		*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

/* Writes a dotted quad of the 4 bytes at v4 at p; returns the end. */
static char *addr_put_quad(char *p, const uint8_t *v4)
{
	for (int i = 0; i < 4; i++) {
		if (i)
			*p++ = '.';
		p = addr_put_dec(p, v4[i]);
	}
	return p;
}

/* Writes v in hex without leading zeros at p; returns the end. */
static char *addr_put_hex(char *p, unsigned v)
{
	static const char digits[] = "0123456789abcdef";
	int shift = 12;

	while (shift > 0 && !(v >> shift & 0xf))
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		*p++ = digits[v >> shift & 0xf];
	return p;
}

/* Formats a for printing; see addr.h. */
char *wire_addr_str(uint8_t family, const struct wire_addr *a, char *out)
{
	char *p = out;

	if (family == 4) {
		*addr_put_quad(p, wire_addr_v4(a)) = '\0';
		return out;
	}

	unsigned g[8];
	for (int i = 0; i < 8; i++)
		g[i] = (unsigned)a->b[2 * i] << 8 | a->b[2 * i + 1];

	/* RFC 5952 4.2.2/4.2.3: the longest run of zero groups, at least 2. */
	int best = -1, best_len = 1;
	for (int i = 0; i < 8;) {
		if (g[i]) {
			i++;
			continue;
		}
		int j = i;
		while (j < 8 && !g[j])
			j++;
		if (j - i > best_len) {
			best = i;
			best_len = j - i;
		}
		i = j;
	}

	/* RFC 5952 5: six groups before the IPv4 part, so ::ffff:a.b.c.d. */
	int groups = wire_addr_is_v4mapped(a) ? 6 : 8;
	if (groups == 6)
		best_len = best == 0 ? 5 : best_len;

	for (int i = 0; i < groups;) {
		if (i == best) {
			*p++ = ':';
			*p++ = ':';
			i += best_len;
			continue;
		}
		if (i && i != best + best_len)
			*p++ = ':';
		p = addr_put_hex(p, g[i]);
		i++;
	}
	if (groups == 6) {
		if (p[-1] != ':')
			*p++ = ':';
		p = addr_put_quad(p, wire_addr_v4(a));
	}
	*p = '\0';
	return out;
}
