/* SPDX-License-Identifier: MIT */
/* os_addr.c - "HOST:PORT" and socket addresses (see os_addr.h). */
#include "os/os_addr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* The port: decimal digits only, so strtoul's leading blanks, sign and
 * wrap-around ("-1" is ULONG_MAX) never get through. */
static bool parse_port(const char *s, uint16_t *port)
{
	uint32_t v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint32_t)(*s - '0');
		if (v > 65535)
			return false;
	}
	*port = (uint16_t)v;
	return true;
}

/* host = s[0..n) if it fits and is not empty. */
static bool take_host(char *host, size_t hcap, const char *s, size_t n)
{
	if (n == 0 || n >= hcap)
		return false;
	memcpy(host, s, n);
	host[n] = '\0';
	return true;
}

int os_addr_split(const char *spec, const char *default_host, char *host,
		  size_t hcap, uint16_t *port, char *err, size_t ecap)
{
	const char *p;
	if (!spec || !*spec) {
		snprintf(err, ecap, "empty address");
		return -1;
	}
	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');
		if (!end || end[1] != ':' ||
		    !take_host(host, hcap, spec + 1, (size_t)(end - spec - 1)))
			goto bad;
		p = end + 2;
	} else if (default_host && !strchr(spec, ':')) {
		if (!take_host(host, hcap, default_host, strlen(default_host)))
			goto bad;
		p = spec;
	} else {
		const char *colon = strchr(spec, ':');
		if (!colon || strrchr(spec, ':') != colon ||
		    !take_host(host, hcap, spec, (size_t)(colon - spec)))
			goto bad;
		p = colon + 1;
	}
	if (parse_port(p, port))
		return 0;
bad:
	snprintf(err, ecap,
		 "bad address '%s' (want %sHOST:PORT or [IPV6]:PORT)", spec,
		 default_host ? "PORT, " : "");
	return -1;
}

int os_addr_parse(const char *spec, const char *default_host,
		  struct sockaddr_storage *ss, socklen_t *len, char *err,
		  size_t ecap)
{
	char host[256], port[8];
	uint16_t pn;
	if (os_addr_split(spec, default_host, host, sizeof(host), &pn, err,
			  ecap) < 0)
		return -1;
	snprintf(port, sizeof(port), "%u", (unsigned)pn);
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0 || !ai) {
		snprintf(err, ecap, "cannot resolve '%s': %s", host,
			 gai_strerror(rc));
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = (socklen_t)ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

const char *os_addr_str(const struct sockaddr_storage *ss, char *buf,
			size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(buf, cap, "%s:%u", host, ntohs(a->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(buf, cap, "[%s]:%u", host, ntohs(a->sin6_port));
	} else {
		snprintf(buf, cap, "(none)");
	}
	return buf;
}

bool os_addr_equal(const struct sockaddr_storage *a,
		   const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)a;
		const struct sockaddr_in *y = (const struct sockaddr_in *)b;
		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return false;
}

bool os_addr_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family != AF_INET6)
		return false;
	const struct in6_addr *a6 =
	    &((const struct sockaddr_in6 *)ss)->sin6_addr;
	return IN6_IS_ADDR_LOOPBACK(a6) ||
	       (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
}
