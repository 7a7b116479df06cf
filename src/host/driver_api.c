/* SPDX-License-Identifier: MIT */
/* driver_api.c - the driver's accessors for the public API (see
 * driver_api.h). Moved here from src/api/tp.c, which used to read the
 * driver's fields and call the core itself. */
#include "host/driver_api.h"

#include "core/core.h"
#include "core/policy.h"
#include "host/driver.h"
#include "host/egress.h"
#include "host/poller.h"
#include "host/tcprx.h"
#include "io/tunconn.h"
#include "wire/packet.h"

bool driver_stopping(struct driver *d)
{
	return __atomic_load_n(&d->stop_requested, __ATOMIC_ACQUIRE) != 0;
}

int driver_input(struct driver *d, const uint8_t *const *pkts,
		 const size_t *lens, size_t n)
{
	return tunconn_callback_input(d->tun, pkts, lens, n);
}

int driver_fd(struct driver *d)
{
	return poller_fd(d->poller);
}

/* Copies min(n, have) counters the engine thread updates atomically;
 * returns how many. */
static size_t load_counters(uint64_t *vals, size_t n, const uint64_t *src,
			    size_t have)
{
	if (n > have)
		n = have;
	for (size_t i = 0; i < n; i++)
		vals[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	return n;
}

size_t driver_counters(struct driver *d, uint64_t *vals, size_t n)
{
	n = load_counters(vals, n, core_counters(d->core), TP_CTR__COUNT);
	if (n > TP_CTR_tx_dropped)
		vals[TP_CTR_tx_dropped] +=
		    __atomic_load_n(&d->tun_tx_dropped, __ATOMIC_RELAXED);
	if (d->tun->ops->counters)
		d->tun->ops->counters(d->tun, vals, n);
	tcprx_counters(d, vals, n);
	egress_counters(d, vals, n);
	hostsock_udp_counters(d, vals, n);
	return n;
}

size_t driver_drop_reasons(struct driver *d, uint64_t *vals, size_t n)
{
	return load_counters(vals, n, core_drop_reasons(d->core),
			     WIRE_DROP__COUNT);
}

const char *driver_drop_reason_name(unsigned i)
{
	return i < WIRE_DROP__COUNT ? wire_drop_name((enum wire_drop)i) : NULL;
}

int driver_policy_validate(const char *list, char *err, size_t errcap)
{
	return policy_parse(list, POLICY_ALLOW, NULL, 0, err, errcap);
}
