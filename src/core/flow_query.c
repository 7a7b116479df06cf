/* SPDX-License-Identifier: MIT */
/* flow_query.c - read-only questions about a flow (flow_query.h). */
#include "core/flow_query.h"

#include "core/core.h"
#include "core/flow.h"

bool core_flow_key(struct core_engine *e, uint32_t handle, struct flow_key *out)
{
	/* flow_from_handle also refuses a closing flow; a flow that is
	 * still being set up (its host socket being opened) is found. */
	union flow *f = flow_from_handle(e->flows, handle);
	if (!f)
		return false;
	*out = f->c.key;
	return true;
}
