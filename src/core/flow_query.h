/* SPDX-License-Identifier: MIT */
/* flow_query.h - read-only questions the driver may ask about a flow.
 *
 * The host ops name a flow only by its handle. A driver layer that needs
 * the app's side of the tuple (the egress hook reports it, a full-cone
 * UDP mapping is keyed by it) asks here, from inside a host op or later
 * on the engine thread.
 */
#ifndef TP_CORE_FLOW_QUERY_H
#define TP_CORE_FLOW_QUERY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/flow_common.h"

struct core_engine;

/* Copies the app-side tuple of the flow named by handle into *out.
 * Returns false if the handle is stale (the flow is gone). */
bool core_flow_key(struct core_engine *e, uint32_t handle,
		   struct flow_key *out);

#endif
