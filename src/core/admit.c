/* SPDX-License-Identifier: MIT */
/* admit.c - admission by file descriptors (see admit.h).
 *
 * Theory of operation
 * - A flood of new UDP or ICMP flows (one host socket each) would take
 *   every fd long before max_flows (65536 by default, while processes get
 *   1024 to a few tens of thousands of fds): then the next DNS query, ping
 *   or TCP connect would be refused. So datagram flows are held to a
 *   budget the open-file limit leaves after two reserves:
 *     process  16 + limit/32  the TUN, poller, wake-up, raw sockets, stdio,
 *                             and an embedding app's own files;
 *     TCP      limit/4        connections, which are never evicted to make
 *                             room, so datagram flows must leave them fds.
 *   At the budget, the least recently active datagram flow gives way (as
 *   for a full table, flow.c); a datagram flow is re-created by the app's
 *   next datagram, so the cost of eviction is one lost reply at worst.
 * - The reserves are estimates: other code in the process opens files too.
 *   So when socket() still fails with EMFILE or ENFILE, the engine ends the
 *   least recently active datagram flow and tries once more, for TCP as for
 *   UDP and ICMP. Only when no datagram flow is left to end is the new flow
 *   refused (flows_refused_socket, see dgram.c and tcp.c).
 * - The limit is read once, by the driver, when the engine is created: a
 *   later setrlimit() is not seen (docs/embedding.md).
 * Guarded by unit.test_admit (the budget, the eviction on EMFILE) and
 * e2e.test_flood_fds (floods under a low fd limit).
 */
#include "core/admit.h"

#include <errno.h>

#include "core/core.h"

void admit_budget(uint64_t fd_limit, uint32_t max_flows,
		  struct admit_budget *out)
{
	memset(out, 0, sizeof(*out));
	out->flows = out->dgram = max_flows ? max_flows : 1;
	if (fd_limit == 0 || fd_limit > UINT32_MAX)
		return;
	uint32_t l = (uint32_t)fd_limit;
	out->fd_limit = l;
	out->proc_reserve = 16 + l / 32;
	out->tcp_reserve = l / 4;
	uint32_t flows = l > out->proc_reserve ? l - out->proc_reserve : 1;
	uint32_t dgram =
	    flows > out->tcp_reserve ? flows - out->tcp_reserve : 1;
	if (flows < out->flows)
		out->flows = flows;
	if (dgram < out->dgram)
		out->dgram = dgram;
}

bool admit_out_of_fds(int err)
{
	return err == EMFILE || err == ENFILE;
}

bool admit_make_room(struct core_engine *e, int err, const union flow *keep)
{
	if (!admit_out_of_fds(err))
		return false;
	return flow_evict_datagram(e, keep);
}

bool admit_dgram(struct core_engine *e, const struct flow_key *key)
{
	/* No limit known: only max_flows bounds them (flow_alloc). */
	if (!e->fd_limit || flow_dgram_count(e->flows) < e->max_dgram)
		return true;
	if (flow_evict_datagram(e, NULL) &&
	    flow_dgram_count(e->flows) < e->max_dgram)
		return true;
	CTR_INC(e, flows_refused_limit);
	core_log_refusal(e, CORE_REFUSE_LIMIT, key,
			 "%u UDP/ICMP flows open, the most the open-file "
			 "limit of %u leaves them (raise it: ulimit -n)",
			 flow_dgram_count(e->flows), e->fd_limit);
	return false;
}
