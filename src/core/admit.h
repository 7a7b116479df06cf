/* SPDX-License-Identifier: MIT */
/* admit.h - admission by file descriptors (see admit.c).
 *
 * Every flow but a raw-ICMP one holds one host socket, so the process's
 * open-file limit, not max_flows, is usually what bounds the flows a
 * proxy can hold. The driver reads the limit (the core calls no OS) and
 * passes it in core_config.fd_limit; the core keeps datagram flows below
 * what that leaves after a reserve for TCP and the process, and answers a
 * host socket refused for want of fds by ending the least recently active
 * datagram flow and trying once more.
 */
#ifndef TP_CORE_ADMIT_H
#define TP_CORE_ADMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/flow_common.h"

/* What an open-file limit leaves for flows. */
struct admit_budget {
	uint32_t fd_limit;     /* the limit it was computed for, 0: none */
	uint32_t proc_reserve; /* fds kept for the process itself */
	uint32_t tcp_reserve;  /* fds only TCP connections may take */
	uint32_t flows;	       /* flows with a host socket, at most */
	uint32_t dgram;	       /* UDP and ICMP echo flows, at most */
};

/* The budget for an open-file limit (0: unknown or unlimited: then only
 * max_flows bounds anything). Pure; flows and dgram never exceed
 * max_flows and are at least 1. */
void admit_budget(uint64_t fd_limit, uint32_t max_flows,
		  struct admit_budget *out);

/* True for the errors that say the process or the system is out of fds:
 * EMFILE, ENFILE. */
bool admit_out_of_fds(int err);

struct core_engine;
union flow;

/* A host socket for keep's flow was refused with err (positive errno).
 * If that was for want of fds, ends the least recently active datagram
 * flow other than keep (its socket is closed at once) and returns true:
 * the caller tries the socket once more. False: nothing was freed. */
bool admit_make_room(struct core_engine *e, int err, const union flow *keep);

/* Before a new datagram flow for key: true if it may have a flow, after
 * ending the least recently active datagram flow when the datagram budget
 * is used up; false (counted in flows_refused_limit, logged) if no room
 * could be made. */
bool admit_dgram(struct core_engine *e, const struct flow_key *key);

#endif
