/* SPDX-License-Identifier: MIT */
/* names.c - DNS, TLS SNI and HTTP Host learners (see names.h).
 *
 * Every read is checked against the end of the input first; DNS name
 * compression pointers are followed at most DNS_MAX_JUMPS times, so a
 * pointer loop ends. Nothing here allocates.
 */
#include "wire/names.h"

#include <stdbool.h>
#include <string.h>

#include "wire/bytes.h"

static int host_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

size_t wire_name_clean(const uint8_t *name, size_t len, char *out)
{
	if (len && name[len - 1] == '.')
		len--;
	if (len == 0 || len > WIRE_NAME_MAX || name[0] == '.' ||
	    name[len - 1] == '.')
		return 0; /* an empty label first or last ("x..") */
	for (size_t i = 0; i < len; i++) {
		uint8_t c = name[i];
		if (!host_char(c) || (c == '.' && name[i - 1] == '.'))
			return 0;
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	out[len] = '\0';
	return len;
}

/* --- TLS ClientHello (RFC 8446 4.1.2, RFC 6066 3) --- */

/* A cursor over [p, end): every take checks the room first. */
struct cur {
	const uint8_t *p, *end;
	int bad;
};

static size_t cur_left(const struct cur *c)
{
	return c->bad ? 0 : (size_t)(c->end - c->p);
}

static const uint8_t *take(struct cur *c, size_t n)
{
	if (c->bad || cur_left(c) < n) {
		c->bad = 1;
		return NULL;
	}
	const uint8_t *r = c->p;
	c->p += n;
	return r;
}

static uint32_t take_n(struct cur *c, int bytes)
{
	const uint8_t *b = take(c, (size_t)bytes);
	uint32_t v = 0;
	for (int i = 0; b && i < bytes; i++)
		v = v << 8 | b[i];
	return v;
}

/* Ends c n bytes on, or leaves it where it ends if fewer arrived (a
 * record may be longer than what arrived: parse what is there). */
static void cur_clip(struct cur *c, size_t n)
{
	if (cur_left(c) > n)
		c->end = c->p + n;
}

/* Reads a length prefix of lbytes bytes and clips c to the vector it
 * announces. False if the prefix is not there. */
static bool open_vec(struct cur *c, int lbytes)
{
	uint32_t n = take_n(c, lbytes);
	if (c->bad)
		return false;
	cur_clip(c, n);
	return true;
}

/* Skips a vector with a length prefix of lbytes bytes. */
static void skip_vec(struct cur *c, int lbytes)
{
	take(c, take_n(c, lbytes));
}

size_t wire_tls_sni(const uint8_t *p, size_t len, char *out)
{
	/* TLSPlaintext: handshake(22), version, length; then the Handshake
	 * header: client_hello(1), 24-bit length. The record may be longer
	 * than what arrived: parse what is there. */
	struct cur c = {p, p + len, 0};
	if (take_n(&c, 1) != 22 || (take_n(&c, 1) != 3))
		return 0;
	take(&c, 1); /* minor version */
	uint32_t rlen = take_n(&c, 2);
	if (c.bad || rlen < 4 || rlen > (1u << 14) + 256)
		return 0;
	cur_clip(&c, rlen);
	if (take_n(&c, 1) != 1)
		return 0;
	uint32_t hlen = take_n(&c, 3);
	if (c.bad || hlen < 38)
		return 0;
	cur_clip(&c, hlen);
	take(&c, 2 + 32);     /* legacy_version, random */
	skip_vec(&c, 1);      /* legacy_session_id */
	skip_vec(&c, 2);      /* cipher_suites */
	skip_vec(&c, 1);      /* legacy_compression_methods */
	if (!open_vec(&c, 2)) /* extensions */
		return 0;
	while (!c.bad && cur_left(&c) >= 4) {
		uint32_t type = take_n(&c, 2);
		uint32_t xlen = take_n(&c, 2);
		if (type != 0) {
			take(&c, xlen);
			continue;
		}
		/* ServerNameList: a 2-byte length, then entries of
		 * name_type(1) and a 2-byte-length host_name. */
		struct cur x = c;
		cur_clip(&x, xlen);
		if (!open_vec(&x, 2))
			return 0;
		while (!x.bad && cur_left(&x) >= 3) {
			uint32_t nt = take_n(&x, 1);
			uint32_t nl = take_n(&x, 2);
			const uint8_t *name = take(&x, nl);
			if (name && nt == 0)
				return wire_name_clean(name, nl, out);
		}
		return 0;
	}
	return 0;
}

/* --- HTTP/1.x Host (RFC 9112 3.2, RFC 9110 7.2) --- */

static const char *const http_methods[] = {
    "GET ",	"POST ",  "HEAD ",    "PUT ",	"DELETE ",
    "OPTIONS ", "PATCH ", "CONNECT ", "TRACE ",
};

static int is_method(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < sizeof(http_methods) / sizeof(*http_methods);
	     i++) {
		size_t n = strlen(http_methods[i]);
		if (len >= n && memcmp(p, http_methods[i], n) == 0)
			return 1;
	}
	return 0;
}

static int lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

size_t wire_http_host(const uint8_t *p, size_t len, char *out)
{
	if (!is_method(p, len))
		return 0;
	/* Header lines follow the request line; the first empty line ends
	 * them. Only complete lines (ending in LF) are read. */
	size_t i = 0;
	while (i < len && p[i] != '\n')
		i++;
	while (++i < len) {
		size_t s = i;
		while (i < len && p[i] != '\n')
			i++;
		if (i >= len)
			return 0; /* the line is cut: not complete */
		size_t e = i;	  /* p[e] == '\n' */
		if (e > s && p[e - 1] == '\r')
			e--;
		if (e == s)
			return 0; /* end of the header section */
		static const char h[] = "host:";
		if (e - s < 5)
			continue;
		int match = 1;
		for (size_t k = 0; k < 5 && match; k++)
			match = lower(p[s + k]) == (uint8_t)h[k];
		if (!match)
			continue;
		s += 5;
		while (s < e && (p[s] == ' ' || p[s] == '\t'))
			s++;
		while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t'))
			e--;
		if (s < e && p[s] == '[') /* an IPv6 literal: no name */
			return 0;
		size_t n = s;
		while (n < e && p[n] != ':')
			n++;
		return wire_name_clean(p + s, n - s, out);
	}
	return 0;
}

/* --- DNS responses (RFC 1035 4.1) --- */

#define DNS_MAX_JUMPS 16
#define DNS_MAX_CHAIN 8
#define DNS_MAX_CALLS 64

/* Reads the (possibly compressed) name at *off into text (dotted, as
 * sent; at most 255 bytes + NUL) and moves *off past it. Returns the
 * text length, or -1 for a bad or looping name. */
static int dns_name(const uint8_t *m, size_t len, size_t *off, char *text)
{
	size_t pos = *off, n = 0;
	int jumps = 0;
	int moved = 0;
	for (;;) {
		if (pos >= len)
			return -1;
		uint8_t l = m[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len || ++jumps > DNS_MAX_JUMPS)
				return -1;
			if (!moved) {
				*off = pos + 2;
				moved = 1;
			}
			pos = (size_t)(l & 0x3f) << 8 | m[pos + 1];
			continue;
		}
		if (l & 0xc0)
			return -1; /* RFC 6891's extended labels: not here */
		if (l == 0) {
			if (!moved)
				*off = pos + 1;
			text[n] = '\0';
			return (int)n;
		}
		if (pos + 1 + l > len || n + l + 1 > 255)
			return -1;
		if (n)
			text[n++] = '.';
		for (size_t k = 0; k < l; k++) {
			uint8_t c = m[pos + 1 + k];
			if (c == '.' || c == 0)
				return -1;
			text[n++] = (char)lower(c);
		}
		pos += 1u + l;
	}
}

static int name_in(char chain[][256], int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(chain[i], name) == 0)
			return i;
	return -1;
}

int wire_dns_answers(const uint8_t *m, size_t len,
		     void (*fn)(void *ctx, const char *qname,
				const struct wire_dns_addr *a),
		     void *ctx)
{
	if (len < 12)
		return -1;
	uint16_t flags = wire_get16(m + 2);
	uint16_t qd = wire_get16(m + 4), an = wire_get16(m + 6);
	/* A response (QR), not truncated (TC), RCODE 0, one question. */
	if (!(flags & 0x8000) || (flags & 0x0200) || (flags & 0x000f) ||
	    qd != 1)
		return -1;
	size_t off = 12;
	char chain[DNS_MAX_CHAIN][256];
	uint32_t chain_ttl[DNS_MAX_CHAIN];
	if (dns_name(m, len, &off, chain[0]) < 0 || off + 4 > len)
		return -1;
	char qname[WIRE_NAME_MAX + 1];
	if (!wire_name_clean((const uint8_t *)chain[0], strlen(chain[0]),
			     qname))
		return -1;
	off += 4; /* QTYPE, QCLASS */
	chain_ttl[0] = UINT32_MAX;
	int nchain = 1, calls = 0;
	char owner[256], target[256];
	/* CNAMEs normally come before the records they lead to (RFC 1034
	 * 4.3.2 step 3a); one that comes later is not followed. */
	for (unsigned i = 0; i < an && calls < DNS_MAX_CALLS; i++) {
		if (dns_name(m, len, &off, owner) < 0 || off + 10 > len)
			return calls ? calls : -1;
		uint16_t type = wire_get16(m + off),
			 cls = wire_get16(m + off + 2);
		uint32_t ttl = wire_get32(m + off + 4);
		uint16_t rdlen = wire_get16(m + off + 8);
		off += 10;
		if (off + rdlen > len)
			return calls ? calls : -1;
		size_t rd = off;
		off += rdlen;
		if (ttl > 0x7fffffffu) /* RFC 2181 8: treat as zero */
			ttl = 0;
		int at = name_in(chain, nchain, owner);
		if (cls != 1 || at < 0)
			continue;
		uint32_t t = chain_ttl[at] < ttl ? chain_ttl[at] : ttl;
		if (type == 5 && nchain < DNS_MAX_CHAIN) { /* CNAME */
			size_t roff = rd;
			if (dns_name(m, rd + rdlen, &roff, target) < 0)
				continue;
			if (name_in(chain, nchain, target) >= 0)
				continue; /* a loop */
			memcpy(chain[nchain], target, strlen(target) + 1);
			chain_ttl[nchain++] = t;
		} else if ((type == 1 && rdlen == 4) ||
			   (type == 28 && rdlen == 16)) {
			struct wire_dns_addr a = {.family = type == 1 ? 4 : 6,
						  .ttl = t};
			memcpy(a.addr, m + rd, rdlen);
			fn(ctx, qname, &a);
			calls++;
		}
	}
	return calls;
}
