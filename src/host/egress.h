/* SPDX-License-Identifier: MIT */
/* egress.h - how a flow leaves the proxy host: the embedder's socket hook,
 * the per-destination rules (route.h) and the upstream proxy handshakes.
 *
 * egress_wrap_ops puts this layer in front of the driver's host ops:
 * udp_open, icmp_open and tcp_connect first look up the flow's route
 * (direct, upstream or block), note what the socket is for, and then call
 * the ops they wrap; hostsock_apply_options (every OS) calls
 * egress_socket_hook on each socket it prepares, which runs the
 * embedder's hook with the flow's tuple.
 *
 * An upstream TCP flow is, to the core, a connect that completes late:
 * its host socket connects to the proxy, and this layer takes the
 * socket's events (egress_sock_event, before the core sees them) to run
 * the SOCKS5 or HTTP CONNECT handshake. Only when the proxy says the
 * destination is connected does the core get the writable event that
 * makes it answer the app's SYN; a refusal or an unreachable proxy is
 * reported as the connect's error (RST, or ICMP for "unreachable"
 * replies), each counted (upstream_*). A proxy that accepts and never
 * answers is covered by the core's connect timeout.
 */
#ifndef TP_HOST_EGRESS_H
#define TP_HOST_EGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/host_ops.h"
#include "tunproxy.h"

struct driver;

/* Sets up the layer from cfg (hook, upstream, routes) if any of them is
 * set; d->egress stays NULL otherwise. Returns 0 or -TP_E* (logged). */
int egress_init(struct driver *d, const struct tp_config *cfg);
void egress_free(struct driver *d);

/* Puts the layer in front of ops (when d->egress is set). */
void egress_wrap_ops(struct driver *d, struct core_host_ops *ops);

/* Runs the hook on fd, a socket shared by the flows of one app address
 * and port (a full-cone mapping, first opened for flow). Returns 0 or
 * -errno. */
int egress_prepare_shared(struct driver *d, int fd, uint8_t family,
			  uint32_t flow);

/* Runs the embedder's hook on a new host socket fd of the given family.
 * Returns 0, or -EPERM if the hook refused it (counted). */
int egress_socket_hook(struct driver *d, int fd, uint8_t family);

/* Socket id's poller events: returns true if this layer consumed them (a
 * handshake in progress), false if they are the core's. */
bool egress_sock_event(struct driver *d, uint32_t id, uint32_t events,
		       uint64_t now);

/* Adds this layer's counters into vals (indexed by enum tp_counter). */
void egress_counters(struct driver *d, uint64_t *vals, size_t n);

#endif
