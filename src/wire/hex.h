/* SPDX-License-Identifier: MIT */
/* hex.h - the value of a hexadecimal digit, for the text forms parsed on
 * both sides of the core: IPv6 groups in policy rules (core/policy.c,
 * RFC 4291 2.2) and %-encoded userinfo in upstream URLs
 * (host/upstream_url.c, RFC 3986 2.1). Pure: no locale, no libc. */
#ifndef TP_WIRE_HEX_H
#define TP_WIRE_HEX_H

/* 0..15 for '0'-'9', 'a'-'f', 'A'-'F'; -1 for anything else. */
static inline int wire_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
