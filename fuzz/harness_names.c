/* SPDX-License-Identifier: MIT */
/* harness_names.c - fuzz harnesses for the name learners (wire/names.c).
 *
 * Input formats: the raw bytes, as they would arrive:
 *   fz_dns_run:   a DNS response message (the UDP payload from port 53);
 *   fz_sni_run:   the first bytes of a TCP stream (a TLS record);
 *   fz_http_run:  the first bytes of a TCP stream (an HTTP request).
 * The input is copied to a buffer of exactly its size, so ASan catches a
 * read past the end. Checks: a name is 1..253 bytes of [a-z0-9._-],
 * NUL-terminated where the length says, with no empty label; DNS calls
 * the callback at most 64 times and returns that count, each with an
 * address family of 4 or 6 and a TTL under 2^31.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "wire/names.h"

static void check_name(const char *s, size_t n)
{
	FZ_CHECK(n >= 1 && n <= WIRE_NAME_MAX, "name length %zu", n);
	FZ_CHECK(strlen(s) == n, "name length %zu, string %zu", n, strlen(s));
	FZ_CHECK(s[0] != '.' && s[n - 1] != '.' && !strstr(s, ".."),
		 "empty label in '%s'", s);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		FZ_CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			     c == '-' || c == '_' || c == '.',
			 "byte 0x%02x in a name", (unsigned)(unsigned char)c);
	}
}

static uint8_t *copy(const uint8_t *data, size_t size)
{
	uint8_t *b = malloc(size ? size : 1);
	if (!b)
		abort();
	memcpy(b, data, size);
	return b;
}

static void on_addr(void *ctx, const char *qname, const struct wire_dns_addr *a)
{
	int *calls = ctx;
	(*calls)++;
	check_name(qname, strlen(qname));
	FZ_CHECK(a->family == 4 || a->family == 6, "family %u", a->family);
	FZ_CHECK(a->ttl <= 0x7fffffffu, "ttl %u", a->ttl);
}

void fz_dns_run(const uint8_t *data, size_t size)
{
	uint8_t *b = copy(data, size);
	int calls = 0;
	int r = wire_dns_answers(b, size, on_addr, &calls);
	FZ_CHECK(calls <= 64, "%d callbacks", calls);
	FZ_CHECK(r == -1 ? calls == 0 : r == calls,
		 "returned %d after %d callbacks", r, calls);
	free(b);
}

void fz_sni_run(const uint8_t *data, size_t size)
{
	uint8_t *b = copy(data, size);
	char out[WIRE_NAME_MAX + 1];
	size_t n = wire_tls_sni(b, size, out);
	if (n)
		check_name(out, n);
	free(b);
}

void fz_http_run(const uint8_t *data, size_t size)
{
	uint8_t *b = copy(data, size);
	char out[WIRE_NAME_MAX + 1];
	size_t n = wire_http_host(b, size, out);
	if (n)
		check_name(out, n);
	free(b);
}
