/* SPDX-License-Identifier: MIT */
/* run_dns.c - the resolver of `tunproxy run` (run_dns.h).
 *
 * CMD asks an address inside its TUN's prefix; the engine's DNS redirect
 * (host/dns_redirect.h) carries each query, UDP or TCP, to the host's own
 * resolver. Reading the host's resolv.conf here, in the original mount
 * namespace, is what makes a loopback stub (systemd-resolved's
 * 127.0.0.53) usable from inside.
 */
#include "run_dns.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool_util.h"

/* The index-th address of the prefix cidr that is neither the network,
 * (IPv4) the broadcast address, nor the TUN's own address: 10.0.0.1,
 * 10.0.0.2, ... for 10.0.0.8/24. out gets the printable address. */
static int resolver_addr(const char *cidr, int af, unsigned index, char *out,
			 size_t cap)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", cidr);
	char *slash = strchr(buf, '/');
	unsigned max = af == AF_INET ? 32 : 128, plen = max;
	if (slash) {
		uint64_t v;
		*slash = '\0';
		if (!tool_parse_uint(slash + 1, max, &v))
			return -1;
		plen = (unsigned)v;
	}
	uint8_t a[16], own[16];
	size_t n = af == AF_INET ? 4 : 16;
	if (inet_pton(af, buf, own) != 1 || plen > max - 2)
		return -1;
	/* Host numbers counted in the low 32 bits (plenty for a few). */
	unsigned host_bits = max - plen > 31 ? 31 : max - plen;
	uint32_t hosts = (1u << host_bits) - (af == AF_INET ? 1u : 0u);
	for (uint32_t h = 1; h < hosts; h++) {
		memcpy(a, own, n);
		for (unsigned bit = plen; bit < max; bit++)
			a[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
		uint32_t low = (uint32_t)a[n - 4] << 24 |
			       (uint32_t)a[n - 3] << 16 |
			       (uint32_t)a[n - 2] << 8 | a[n - 1];
		low += h;
		a[n - 4] = (uint8_t)(low >> 24),
		      a[n - 3] = (uint8_t)(low >> 16);
		a[n - 2] = (uint8_t)(low >> 8), a[n - 1] = (uint8_t)low;
		if (memcmp(a, own, n) == 0)
			continue;
		if (index-- == 0)
			return inet_ntop(af, a, out, (socklen_t)cap) ? 0 : -1;
	}
	return -1;
}

/* Formats a nameserver for tp_config.dns_upstream ("[v6]" for IPv6,
 * dropping a %zone, which the redirect does not carry). */
static void upstream_of(const char *ns, char *out, size_t cap)
{
	char host[64];
	snprintf(host, sizeof(host), "%s", ns);
	host[strcspn(host, "%")] = '\0';
	if (strchr(host, ':'))
		snprintf(out, cap, "[%s]", host);
	else
		snprintf(out, cap, "%s", host);
}

static void append(char *buf, size_t cap, const char *s)
{
	size_t have = strlen(buf);
	if (have < cap)
		snprintf(buf + have, cap - have, "%s", s);
}

/* A --dns value as tp_config.dns_upstream wants it: "A", "A:P",
 * "[A6]:P" as given; a bare IPv6 address bracketed. */
static void upstream_arg(const char *arg, char *out, size_t cap)
{
	const char *colon = strchr(arg, ':');
	if (arg[0] == '[' || !colon || !strchr(colon + 1, ':'))
		snprintf(out, cap, "%s", arg);
	else
		upstream_of(arg, out, cap);
}

int run_dns_prepare(struct run_dns *d, const char *addr4, const char *addr6,
		    const char *upstream, const char *host_resolv)
{
	memset(d, 0, sizeof(*d));
	/* The upstreams: --dns, or the host's nameservers (the first
	 * RUN_DNS_MAX, as many as the C library uses). */
	char ups[RUN_DNS_MAX][80];
	unsigned k = 0;
	char keep[1024] = ""; /* the host's search and options lines */
	if (upstream)
		upstream_arg(upstream, ups[k++], sizeof(ups[0]));
	FILE *f = host_resolv ? fopen(host_resolv, "re") : NULL;
	char line[512];
	while (f && fgets(line, sizeof(line), f)) {
		char *p = line;
		while (isspace((unsigned char)*p))
			p++;
		char word[16] = "", val[256] = "";
		if (sscanf(p, "%15s %255s", word, val) < 1)
			continue;
		if (strcmp(word, "nameserver") == 0) {
			if (!upstream && k < RUN_DNS_MAX && *val)
				upstream_of(val, ups[k++], sizeof(ups[0]));
		} else if (strcmp(word, "search") == 0 ||
			   strcmp(word, "domain") == 0 ||
			   strcmp(word, "options") == 0) {
			append(keep, sizeof(keep), p);
			if (!strchr(p, '\n'))
				append(keep, sizeof(keep), "\n");
		}
	}
	if (f)
		fclose(f);
	if (k == 0) /* none named: the C library's default */
		snprintf(ups[k++], sizeof(ups[0]), "127.0.0.1");

	/* CMD's resolvers: one IPv4 address per upstream, in order, so the
	 * C library's own failover between nameservers still happens; one
	 * IPv6 address for the first. */
	snprintf(d->resolv, sizeof(d->resolv),
		 "# tunproxy run: answered by tunproxy, which forwards to "
		 "the host's resolver\n");
	unsigned n4 = 0;
	for (unsigned i = 0; addr4 && i < k; i++) {
		char r[64];
		if (resolver_addr(addr4, AF_INET, i, r, sizeof(r)) < 0)
			break;
		append(d->redirect, sizeof(d->redirect), n4 ? "," : "");
		append(d->redirect, sizeof(d->redirect), r);
		append(d->upstream, sizeof(d->upstream), n4 ? "," : "");
		append(d->upstream, sizeof(d->upstream), ups[i]);
		append(d->resolv, sizeof(d->resolv), "nameserver ");
		append(d->resolv, sizeof(d->resolv), r);
		append(d->resolv, sizeof(d->resolv), "\n");
		n4++;
	}
	if (addr4 && n4 == 0) {
		fprintf(stderr, "tunproxy: run: no resolver address in %s\n",
			addr4);
		return -1;
	}
	char r6[64];
	if (addr6 && resolver_addr(addr6, AF_INET6, 0, r6, sizeof(r6)) == 0) {
		append(d->redirect, sizeof(d->redirect), n4 ? "," : "");
		append(d->redirect, sizeof(d->redirect), r6);
		append(d->upstream, sizeof(d->upstream), n4 ? "," : "");
		append(d->upstream, sizeof(d->upstream), ups[0]);
		append(d->resolv, sizeof(d->resolv), "nameserver ");
		append(d->resolv, sizeof(d->resolv), r6);
		append(d->resolv, sizeof(d->resolv), "\n");
	}
	append(d->resolv, sizeof(d->resolv), keep);
	return 0;
}
