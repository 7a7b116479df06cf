/* SPDX-License-Identifier: MIT */
/* names.h - reading the host name an app asked for out of its traffic.
 *
 * Three learners, each a pure parser over untrusted bytes that copies at
 * most one name out and never reads past len (fuzz/harness_names.c):
 *   - DNS responses (RFC 1035 4.1): the A/AAAA records that answer the
 *     question, directly or through a chain of CNAMEs (RFC 1034 3.6.2),
 *     each reported with the question's name and the smallest TTL along
 *     its chain;
 *   - the TLS ClientHello's server_name extension (RFC 8446 4.1.2,
 *     RFC 6066 3), also from a ClientHello cut short by the segment it
 *     came in (the name is usually in the first extension);
 *   - the Host header of a plain HTTP/1.x request (RFC 9112 3.2).
 * A name is accepted only if it looks like a host name: 1..253 bytes of
 * letters, digits, '-', '_' and '.', stored lower-case. Anything else
 * (control bytes, quotes, spaces) is refused, so a name is safe to print
 * in a log line or a JSON string as it is.
 */
#ifndef TP_WIRE_NAMES_H
#define TP_WIRE_NAMES_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_NAME_MAX 253 /* RFC 1035 2.3.4, as text without the root */

/* Checks name (len bytes) as a host name and copies it lower-case into out
 * (WIRE_NAME_MAX + 1 bytes), NUL-terminated, without a trailing dot.
 * Returns the length, or 0 if it is not a host name. */
size_t wire_name_clean(const uint8_t *name, size_t len, char *out);

/* The server_name of a TLS ClientHello record starting at p (as the first
 * bytes of a TCP stream). Returns the name's length (copied into out,
 * WIRE_NAME_MAX + 1 bytes) or 0: not a ClientHello, no SNI, or the SNI is
 * beyond len. */
size_t wire_tls_sni(const uint8_t *p, size_t len, char *out);

/* The Host of an HTTP/1.x request starting at p, without the port.
 * Returns the length copied into out or 0 (not a request, or no complete
 * Host header line within len). */
size_t wire_http_host(const uint8_t *p, size_t len, char *out);

/* One address learned from a DNS response. */
struct wire_dns_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t addr[16];
	uint32_t ttl; /* seconds, the smallest along the CNAME chain */
};

/* Reads a DNS response message (UDP payload). For each A/AAAA record that
 * answers the question calls fn(ctx, qname, &addr), qname being the
 * question's name, cleaned as above. At most 64 calls. Returns the number
 * of calls, or -1 if the message is not a usable response (a query,
 * truncated, an error code, no question, a bad name). */
int wire_dns_answers(const uint8_t *p, size_t len,
		     void (*fn)(void *ctx, const char *qname,
				const struct wire_dns_addr *a),
		     void *ctx);

#endif
