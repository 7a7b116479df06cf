/* SPDX-License-Identifier: MIT */
/* dns_redirect.h - the engine's DNS forwarder for `tunproxy run`.
 *
 * The app is told its resolver is an address inside the TUN's prefix
 * (10.0.0.1, fdaa::1). Flows to port 53 of such an address are ordinary
 * flows to the core (policy, timeouts and TCP all apply as usual); only
 * the host socket the driver opens for them is connected to the
 * upstream resolver instead. The core builds every packet back to the app
 * from the flow's own tuple, so the app sees the answers come from the
 * address it asked. This sits below the policy on purpose: the upstream
 * may be this host's loopback stub (127.0.0.53), which the app itself may
 * not reach.
 */
#ifndef TP_HOST_DNS_REDIRECT_H
#define TP_HOST_DNS_REDIRECT_H

#include <stdint.h>

#include "core/host_ops.h"
#include "wire/addr.h"

/* Up to glibc's three nameservers per family, and room to spare. */
#define DNS_REDIRECT_MAX 8

/* An upstream resolver. */
struct dns_upstream {
	uint8_t family;
	uint16_t port;
	struct wire_addr addr;
};

struct dns_redirect {
	uint8_t n; /* redirected addresses in from[] */
	uint8_t from_family[DNS_REDIRECT_MAX];
	struct wire_addr from[DNS_REDIRECT_MAX];
	struct dns_upstream up[DNS_REDIRECT_MAX]; /* from[i] goes to up[i] */
};

/* Parses tp_config.dns_redirect ("10.0.0.1,fdaa::1") and dns_upstream:
 * one upstream for every redirected address, or one per address in the
 * same order ("127.0.0.53", "192.0.2.1:5353,[::1]:53", "::1"). Returns 0,
 * or -1 with a message in err. */
int dns_redirect_parse(struct dns_redirect *r, const char *from,
		       const char *upstream, char *err, size_t errcap);

/* True if family/dst/dport is a redirected resolver address and port 53;
 * then *family, *dst and *dport are replaced by the upstream's. */
int dns_redirect_apply(const struct dns_redirect *r, uint8_t *family,
		       struct wire_addr *dst, uint16_t *dport);

/* Installs the redirect into ops (a copy of the driver's host ops): its
 * udp_open and tcp_connect consult the driver's dns_redirect first. */
void dns_redirect_wrap_ops(struct core_host_ops *ops);

#endif
