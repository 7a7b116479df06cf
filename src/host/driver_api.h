/* SPDX-License-Identifier: MIT */
/* driver_api.h - what the public API (src/api/tp.c) needs of the driver
 * and of the layers below it, as calls: the API does not read the
 * driver's fields nor include the core (docs/architecture.md, layers;
 * unit.layers checks the includes).
 */
#ifndef TP_HOST_DRIVER_API_H
#define TP_HOST_DRIVER_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct driver;

/* True once the driver was asked to stop (any thread). */
bool driver_stopping(struct driver *d);

/* Callback mode: queues n packets from the app (any thread). Returns how
 * many were taken, or -1 if the driver's tunconn is not the callback
 * backend. */
int driver_input(struct driver *d, const uint8_t *const *pkts,
		 const size_t *lens, size_t n);

/* The fd an app's run loop polls (tp_fd). */
int driver_fd(struct driver *d);

/* The TP_COUNTERS values (at most n, any thread): the core's, the
 * driver's and the tunconn's and receive paths' shares added in. Returns
 * how many were written. */
size_t driver_counters(struct driver *d, uint64_t *vals, size_t n);

/* The per-reason drop counters (tp_get_drop_reasons) and their names
 * (NULL past the last). */
size_t driver_drop_reasons(struct driver *d, uint64_t *vals, size_t n);
const char *driver_drop_reason_name(unsigned i);

/* Checks a destination policy list (tp_policy_validate): the number of
 * rules, or -1 with a message in err. */
int driver_policy_validate(const char *list, char *err, size_t errcap);

#endif
