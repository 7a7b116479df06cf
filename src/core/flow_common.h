/* SPDX-License-Identifier: MIT */
/* flow_common.h - the header every flow type starts with (see flow.h). */
#ifndef TP_CORE_FLOW_COMMON_H
#define TP_CORE_FLOW_COMMON_H

#include <stdint.h>

#include "wire/addr.h"

enum flow_type { FLOW_FREE = 0, FLOW_UDP, FLOW_ICMP, FLOW_TCP };

/* The app-side 5-tuple. src is the app, dst the destination it asked for. */
struct flow_key {
	struct wire_addr src, dst;
	uint16_t sport, dport;
	uint8_t family, proto;
};

#define FLOW_NONE UINT32_MAX

struct flow_common {
	struct flow_key key;
	uint8_t type;		/* enum flow_type */
	uint8_t closing : 1;	/* queued for the sweep */
	uint8_t in_pending : 1; /* queued on the tx-resume list */
	uint8_t reset : 1;	/* close the host socket with RST */
	uint16_t gen;		/* generation of this slot */
	int32_t sock;		/* host socket id, -1 if none */
	uint32_t hash_next;	/* next slot in the bucket chain */
	uint32_t heap_pos;	/* position in the timer heap, FLOW_NONE */
	uint32_t close_next;	/* closing list link */
	uint32_t pending_next;	/* tx-resume list link */
	uint64_t deadline;	/* when the timer fires, if heap_pos set */
	uint64_t last_active;	/* time of last traffic either way */
};

#endif
