/* SPDX-License-Identifier: MIT */
/* run_dns.h - the resolver `tunproxy run` gives CMD (run_dns.c). */
#ifndef TP_TOOLS_RUN_DNS_H
#define TP_TOOLS_RUN_DNS_H

#include <stddef.h>

/* Nameservers passed on: as many as the C library reads (MAXNS). */
#define RUN_DNS_MAX 3

struct run_dns {
	char redirect[256]; /* tp_config.dns_redirect: "10.0.0.1,fdaa::1" */
	char upstream[320]; /* tp_config.dns_upstream, one per address */
	char resolv[2048];  /* CMD's /etc/resolv.conf */
};

/* Fills d. The upstreams are `upstream` (--dns), or else the first
 * RUN_DNS_MAX nameservers of host_resolv (the host's /etc/resolv.conf,
 * read in the original namespace; 127.0.0.1 if it names none, as the C
 * library would use). Each gets a resolver address of its own in the
 * IPv4 prefix (10.0.0.1, 10.0.0.2, ...: the prefix's first hosts, never
 * the TUN's own address), in the same order, so CMD's C library fails
 * over between them as it would between the host's; the IPv6 prefix's
 * first host (fdaa::1) goes to the first upstream. CMD's resolv.conf
 * names those addresses and keeps the host file's search, domain and
 * options lines. Returns 0, or -1 with a message printed. */
int run_dns_prepare(struct run_dns *d, const char *addr4, const char *addr6,
		    const char *upstream, const char *host_resolv);

#endif
