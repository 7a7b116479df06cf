/* run_dns.h - the resolver `tunproxy run` gives CMD (run_dns.c). */
#ifndef TP_TOOLS_RUN_DNS_H
#define TP_TOOLS_RUN_DNS_H

#include <stddef.h>

struct run_dns {
	char redirect[128]; /* tp_config.dns_redirect: "10.0.0.1,fdaa::1" */
	char upstream[80];  /* tp_config.dns_upstream */
	char resolv[2048];  /* CMD's /etc/resolv.conf */
};

/* Fills d: the resolver addresses are the first host of each TUN prefix
 * (the next one if that is the TUN's own address); the upstream is
 * `upstream` (--dns) or else the first nameserver of host_resolv (the
 * host's /etc/resolv.conf, read in the original namespace; 127.0.0.1 if
 * it names none, as the C library would use). CMD's resolv.conf names the
 * resolver addresses and keeps the host file's search and options lines.
 * Returns 0, or -1 with a message printed. */
int run_dns_prepare(struct run_dns *d, const char *addr4, const char *addr6,
		    const char *upstream, const char *host_resolv);

#endif
