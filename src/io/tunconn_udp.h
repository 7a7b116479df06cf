/* SPDX-License-Identifier: MIT */
/* tunconn_udp.h - the UDP dev transport: IP packets as UDP datagrams.
 *
 * The tunconn backend behind `tunproxy --listen udp:HOST:PORT` and
 * tp_config.listen_udp (see tunconn_udp.c for the model). Apart from the
 * constructor, it is driven through the generic struct tunconn_ops.
 */
#ifndef TP_IO_TUNCONN_UDP_H
#define TP_IO_TUNCONN_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/tunconn.h"
#include "tunproxy.h"

struct tunconn_udp_opts {
	const char *listen;	 /* "HOST:PORT" or "[V6]:PORT"; port 0: any */
	bool allow_public;	 /* allow wildcard and non-loopback addresses */
	uint32_t client_idle_ms; /* session ownership lapses after this */
	tp_log_fn log;		 /* may be NULL */
	void *log_ctx;
	uint32_t log_level;
	/* The clock for the idle rule, in microseconds; NULL: the monotonic
	 * clock. Tests pass a fake one. */
	uint64_t (*clock_us)(void *ctx);
	void *clock_ctx;
};

/* Binds the socket and returns the backend, or NULL with *err set to a
 * negative TP_E* code (the reason is also logged): TP_EINVAL for a bad or
 * non-loopback address without allow_public, TP_EBUSY when the address is
 * in use, TP_EPERM, TP_ENOMEM or TP_ESYS. */
struct tunconn *tunconn_udp_create(const struct tunconn_udp_opts *o, int *err);

#endif
