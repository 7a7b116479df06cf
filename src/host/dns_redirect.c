/* SPDX-License-Identifier: MIT */
/* dns_redirect.c - the DNS forwarder's address rewrite (dns_redirect.h).
 *
 * Only the destination of the host socket changes; the flow keeps the
 * tuple the app used, so UDP answers and the TCP stream go back from the
 * resolver address the app asked (RFC 1035 4.2.1: a client matches an
 * answer by its source address and port).
 */
#include "host/dns_redirect.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/driver.h"

static int parse_addr(const char *s, uint8_t *family, struct wire_addr *a)
{
	uint8_t b[16];
	if (inet_pton(AF_INET, s, b) == 1) {
		*family = 4;
		wire_addr_from4(a, b);
		return 0;
	}
	if (inet_pton(AF_INET6, s, b) == 1) {
		*family = 6;
		wire_addr_from6(a, b);
		return 0;
	}
	return -1;
}

/* One upstream: "A", "A:P" (IPv4), "[A6]:P", "[A6]" or a bare IPv6
 * address, s[0..len). */
static int parse_upstream(struct dns_upstream *u, const char *s, size_t len)
{
	char one[80], host[64];
	const char *port = NULL;
	size_t n;
	if (len >= sizeof(one))
		return -1;
	memcpy(one, s, len);
	one[len] = '\0';
	s = one;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || (end[1] && end[1] != ':'))
			return -1;
		n = (size_t)(end - s - 1);
		if (n >= sizeof(host))
			return -1;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (end[1])
			port = end + 2;
	} else {
		const char *colon = strchr(s, ':');
		/* More than one colon: a bare IPv6 address. */
		if (colon && !strchr(colon + 1, ':')) {
			n = (size_t)(colon - s);
			port = colon + 1;
		} else {
			n = strlen(s);
		}
		if (n >= sizeof(host))
			return -1;
		memcpy(host, s, n);
		host[n] = '\0';
	}
	u->port = 53;
	if (port) {
		char *end;
		unsigned long p = strtoul(port, &end, 10);
		if (!*port || *end || p == 0 || p > 65535)
			return -1;
		u->port = (uint16_t)p;
	}
	return parse_addr(host, &u->family, &u->addr);
}

int dns_redirect_parse(struct dns_redirect *r, const char *from,
		       const char *upstream, char *err, size_t errcap)
{
	memset(r, 0, sizeof(*r));
	const char *p = from;
	while (p && *p) {
		size_t len = strcspn(p, ", ");
		char one[64];
		if (len) {
			if (len >= sizeof(one) || r->n == DNS_REDIRECT_MAX)
				goto bad_from;
			memcpy(one, p, len);
			one[len] = '\0';
			if (parse_addr(one, &r->from_family[r->n],
				       &r->from[r->n]) < 0)
				goto bad_from;
			r->n++;
		}
		p += len;
		p += strspn(p, ", ");
	}
	if (!r->n)
		goto bad_from;
	unsigned nup = 0;
	p = upstream;
	while (p && *p) {
		size_t len = strcspn(p, ", ");
		if (len) {
			if (nup == r->n ||
			    parse_upstream(&r->up[nup], p, len) < 0)
				goto bad_up;
			nup++;
		}
		p += len;
		p += strspn(p, ", ");
	}
	if (nup == 1)
		for (unsigned i = 1; i < r->n; i++)
			r->up[i] = r->up[0];
	else if (nup != r->n)
		goto bad_up;
	return 0;
bad_from:
	snprintf(err, errcap, "bad DNS redirect list '%s'", from ? from : "");
	return -1;
bad_up:
	snprintf(err, errcap,
		 "bad DNS upstream '%s' (one address, or one per redirected "
		 "address)",
		 upstream ? upstream : "(none)");
	return -1;
}

int dns_redirect_apply(const struct dns_redirect *r, uint8_t *family,
		       struct wire_addr *dst, uint16_t *dport)
{
	if (*dport != 53)
		return 0;
	for (unsigned i = 0; i < r->n; i++) {
		if (r->from_family[i] == *family &&
		    wire_addr_eq(&r->from[i], dst)) {
			*family = r->up[i].family;
			*dst = r->up[i].addr;
			*dport = r->up[i].port;
			return 1;
		}
	}
	return 0;
}

static int redir_udp_open(void *ctx, uint32_t flow, uint8_t family,
			  const struct wire_addr *dst, uint16_t dport)
{
	struct driver *d = ctx;
	struct wire_addr a = *dst;
	if (d->dnsr && dns_redirect_apply(d->dnsr, &family, &a, &dport))
		driver_log(d, TP_LOG_DEBUG,
			   "dns: UDP query forwarded upstream");
	return driver_host_ops.udp_open(ctx, flow, family, &a, dport);
}

static int redir_tcp_connect(void *ctx, uint32_t flow, uint8_t family,
			     const struct wire_addr *dst, uint16_t dport)
{
	struct driver *d = ctx;
	struct wire_addr a = *dst;
	if (d->dnsr && dns_redirect_apply(d->dnsr, &family, &a, &dport))
		driver_log(d, TP_LOG_DEBUG,
			   "dns: TCP query forwarded upstream");
	return driver_host_ops.tcp_connect(ctx, flow, family, &a, dport);
}

void dns_redirect_wrap_ops(struct core_host_ops *ops)
{
	ops->udp_open = redir_udp_open;
	ops->tcp_connect = redir_tcp_connect;
}
