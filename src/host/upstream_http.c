/* SPDX-License-Identifier: MIT */
/* upstream_http.c - HTTP CONNECT (RFC 9110 9.3.6) for the upstream proxy,
 * with basic authentication (RFC 7617), built and parsed without I/O
 * (upstream.h).
 *
 * The request names the destination by address (an IPv6 one in
 * brackets, RFC 3986 3.2.2). Any 2xx answer means the tunnel is open
 * (RFC 9110 15.3); the head ends with an empty line, and every byte after
 * it is the destination's.
 */
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>

#include "host/upstream.h"

size_t upstream_base64(char *out, size_t cap, const uint8_t *in, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t need = (n + 2) / 3 * 4;
	if (need + 1 > cap)
		return 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

size_t http_connect_request(char *buf, size_t cap, uint8_t family,
			    const struct wire_addr *addr, uint16_t port,
			    const char *basic)
{
	char a[INET6_ADDRSTRLEN + 2], host[INET6_ADDRSTRLEN];
	if (family == 4) {
		inet_ntop(AF_INET, wire_addr_v4(addr), host, sizeof(host));
		snprintf(a, sizeof(a), "%s", host);
	} else {
		inet_ntop(AF_INET6, addr->b, host, sizeof(host));
		snprintf(a, sizeof(a), "[%s]", host);
	}
	int n = snprintf(
	    buf, cap, "CONNECT %s:%u HTTP/1.1\r\nHost: %s:%u\r\n%s%s%s\r\n", a,
	    port, a, port, basic ? "Proxy-Authorization: Basic " : "",
	    basic ? basic : "", basic ? "\r\n" : "");
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

int http_parse_response(const uint8_t *buf, size_t len, unsigned *status)
{
	/* RFC 9112 4: "HTTP/1.x SSS reason". Check the start as soon as it
	 * is there, so a non-HTTP answer fails without waiting. */
	static const char ver[] = "HTTP/1.";
	size_t vl = sizeof(ver) - 1;
	if (memcmp(buf, ver, len < vl ? len : vl) != 0)
		return -1;
	const uint8_t *end = NULL;
	for (size_t i = 0; i + 3 < len; i++) {
		if (buf[i] == '\r' && buf[i + 1] == '\n' &&
		    buf[i + 2] == '\r' && buf[i + 3] == '\n') {
			end = buf + i + 4;
			break;
		}
	}
	if (!end)
		return 0;
	if (len < vl + 5 || buf[vl + 1] != ' ')
		return -1;
	unsigned s = 0;
	for (size_t i = vl + 2; i < vl + 5; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
		s = s * 10 + (unsigned)(buf[i] - '0');
	}
	*status = s;
	return (int)(end - buf);
}
