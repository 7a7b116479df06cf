/* tcp_conn.h - per-connection TCP state (embedded in union flow).
 * Owned by the TCP module; see tcp.c for the theory of operation. */
#ifndef TP_CORE_TCP_CONN_H
#define TP_CORE_TCP_CONN_H

#include <stdint.h>

#include "core/flow_common.h"

struct tcp_conn {
	struct flow_common c;
	uint8_t state;
};

#endif
