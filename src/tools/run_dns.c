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

/* The prefix's first host address, or the second if the first is the
 * TUN's own. out gets the printable address. */
static int resolver_addr(const char *cidr, int af, char *out, size_t cap)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", cidr);
	char *slash = strchr(buf, '/');
	unsigned max = af == AF_INET ? 32 : 128, plen = max;
	if (slash) {
		*slash = '\0';
		plen = (unsigned)atoi(slash + 1);
	}
	uint8_t a[16], own[16];
	size_t n = af == AF_INET ? 4 : 16;
	if (inet_pton(af, buf, a) != 1 || plen > max - 2)
		return -1;
	memcpy(own, a, n);
	for (unsigned bit = plen; bit < max; bit++)
		a[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	a[n - 1] |= 1;
	if (memcmp(a, own, n) == 0)
		a[n - 1] = (uint8_t)((a[n - 1] & ~3u) | 2u);
	return inet_ntop(af, a, out, (socklen_t)cap) ? 0 : -1;
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

int run_dns_prepare(struct run_dns *d, const char *addr4, const char *addr6,
		    const char *upstream, const char *host_resolv)
{
	memset(d, 0, sizeof(*d));
	char r4[64] = "", r6[64] = "";
	if (addr4 && resolver_addr(addr4, AF_INET, r4, sizeof(r4)) < 0) {
		fprintf(stderr, "tunproxy: run: no resolver address in %s\n",
			addr4);
		return -1;
	}
	if (addr6 && resolver_addr(addr6, AF_INET6, r6, sizeof(r6)) < 0)
		r6[0] = '\0';
	snprintf(d->redirect, sizeof(d->redirect), "%s%s%s", r4,
		 *r4 && *r6 ? "," : "", r6);
	snprintf(d->resolv, sizeof(d->resolv),
		 "# tunproxy run: answered by tunproxy, which forwards to "
		 "the host's resolver\n");
	if (*r4) {
		append(d->resolv, sizeof(d->resolv), "nameserver ");
		append(d->resolv, sizeof(d->resolv), r4);
		append(d->resolv, sizeof(d->resolv), "\n");
	}
	if (*r6) {
		append(d->resolv, sizeof(d->resolv), "nameserver ");
		append(d->resolv, sizeof(d->resolv), r6);
		append(d->resolv, sizeof(d->resolv), "\n");
	}
	bool have_up = false;
	if (upstream) {
		upstream_of(upstream, d->upstream, sizeof(d->upstream));
		/* "--dns 192.0.2.1:5353" and "--dns [::1]:53" keep their
		 * port. */
		if (upstream[0] == '[' ||
		    (strchr(upstream, ':') &&
		     !strchr(strchr(upstream, ':') + 1, ':')))
			snprintf(d->upstream, sizeof(d->upstream), "%s",
				 upstream);
		have_up = true;
	}
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
			if (!have_up && *val) {
				upstream_of(val, d->upstream,
					    sizeof(d->upstream));
				have_up = true;
			}
		} else if (strcmp(word, "search") == 0 ||
			   strcmp(word, "domain") == 0 ||
			   strcmp(word, "options") == 0) {
			append(d->resolv, sizeof(d->resolv), p);
			if (!strchr(p, '\n'))
				append(d->resolv, sizeof(d->resolv), "\n");
		}
	}
	if (f)
		fclose(f);
	if (!have_up)
		snprintf(d->upstream, sizeof(d->upstream), "127.0.0.1");
	return 0;
}
