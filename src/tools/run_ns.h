/* SPDX-License-Identifier: MIT */
/* run_ns.h - the namespace side of `tunproxy run` (run_ns_linux.c): in the
 * forked child, before CMD is executed. */
#ifndef TP_TOOLS_RUN_NS_H
#define TP_TOOLS_RUN_NS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct run_ns_req {
	const char *netns;	   /* --netns PATH|PID, or NULL: a new one */
	const char *addr4, *addr6; /* the TUN's addresses (CIDR) */
	uint32_t mtu;
	bool offload;	    /* try IFF_VNET_HDR first */
	const char *resolv; /* resolv.conf for CMD, or NULL: leave it */
	uid_t uid;	    /* the caller's, mapped into a new userns */
	gid_t gid;
};

/* Enters (or creates) the namespaces, creates and configures the TUN.
 * Returns its fd with *vnet set when it has the virtio-net header, or -1
 * with a message and a hint printed. Must run single-threaded. */
int run_ns_setup(const struct run_ns_req *r, bool *vnet);

#endif
