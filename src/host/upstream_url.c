/* SPDX-License-Identifier: MIT */
/* upstream_url.c - tp_config.upstream: "socks5://[USER:PASS@]HOST:PORT" or
 * "http://[USER:PASS@]HOST:PORT" (upstream.h).
 *
 * The userinfo may be %-encoded (RFC 3986 2.1) so a password can hold ':'
 * or '@'. A host name is resolved once, here, with getaddrinfo: the
 * engine's loop never blocks on a resolver, and an upstream that moves
 * needs a restart.
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "host/upstream.h"
#include "os/os_addr.h"
#include "wire/hex.h"

/* Copies s[0..len) into out (cap bytes) %-decoded. Returns 0 or -1. */
static int pct_decode(char *out, size_t cap, const char *s, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= len)
				return -1;
			h = wire_hex_digit(s[i + 1]);
			l = wire_hex_digit(s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = (char)(h << 4 | l);
			i += 2;
		}
		if (c == '\0' || o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

static int resolve(struct upstream_cfg *u)
{
	uint8_t b[16];
	if (inet_pton(AF_INET, u->host, b) == 1) {
		u->family = 4;
		wire_addr_from4(&u->addr, b);
		return 0;
	}
	if (inet_pton(AF_INET6, u->host, b) == 1) {
		u->family = 6;
		wire_addr_from6(&u->addr, b);
		return 0;
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	if (getaddrinfo(u->host, NULL, &hints, &res) != 0 || !res)
		return -1;
	int rc = -1;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			u->family = 4;
			wire_addr_from4(&u->addr,
					(const uint8_t *)&(
					    (struct sockaddr_in *)ai->ai_addr)
					    ->sin_addr);
			rc = 0;
			break;
		}
		if (ai->ai_family == AF_INET6) {
			u->family = 6;
			wire_addr_from6(&u->addr,
					((struct sockaddr_in6 *)ai->ai_addr)
					    ->sin6_addr.s6_addr);
			rc = 0;
			break;
		}
	}
	freeaddrinfo(res);
	return rc;
}

int upstream_parse(struct upstream_cfg *u, const char *url, char *err,
		   size_t errcap)
{
	memset(u, 0, sizeof(*u));
	const char *p;
	if (strncmp(url, "socks5://", 9) == 0) {
		u->kind = UPSTREAM_SOCKS5;
		p = url + 9;
	} else if (strncmp(url, "http://", 7) == 0) {
		u->kind = UPSTREAM_HTTP;
		p = url + 7;
	} else {
		snprintf(err, errcap,
			 "upstream '%s': want socks5://[USER:PASS@]HOST:PORT "
			 "or http://[USER:PASS@]HOST:PORT",
			 url);
		return -1;
	}
	const char *at = strrchr(p, '@');
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if (!colon ||
		    pct_decode(u->user, sizeof(u->user), p,
			       (size_t)(colon - p)) < 0 ||
		    pct_decode(u->pass, sizeof(u->pass), colon + 1,
			       (size_t)(at - colon - 1)) < 0 ||
		    !u->user[0] || strlen(u->user) > 255 ||
		    strlen(u->pass) > 255) {
			snprintf(err, errcap,
				 "upstream: bad USER:PASS (each 1..255 bytes, "
				 "%%-encoded)");
			return -1;
		}
		u->has_auth = 1;
		p = at + 1;
	}
	/* The authority's host and port, split as every HOST:PORT option is
	 * (os_addr.h); a port of 0 cannot be connected to. */
	char why[128];
	if (os_addr_split(p, NULL, u->host, sizeof(u->host), &u->port, why,
			  sizeof(why)) < 0 ||
	    u->port == 0)
		goto bad_host;
	if (resolve(u) < 0) {
		snprintf(err, errcap, "upstream: cannot resolve '%s'", u->host);
		return -1;
	}
	return 0;
bad_host:
	snprintf(err, errcap,
		 "upstream: want HOST:PORT or [IPV6]:PORT after the scheme "
		 "(port 1..65535)");
	return -1;
}
