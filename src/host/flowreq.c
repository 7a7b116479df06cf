/* SPDX-License-Identifier: MIT */
/* flowreq.c - tp_flows served by the driving thread (see flowreq.h). */
#include "host/flowreq.h"

#include <errno.h>
#include <time.h>

#include "core/flowinfo.h"
#include "host/driver.h"
#include "os/os_clock.h"

int flowreq_init(struct flowreq *r)
{
	if (pthread_mutex_init(&r->mu, NULL) != 0)
		return -1;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
#ifndef __APPLE__
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
#endif
	int rc = pthread_cond_init(&r->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (rc != 0) {
		pthread_mutex_destroy(&r->mu);
		return -1;
	}
	return 0;
}

void flowreq_destroy(struct flowreq *r)
{
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
}

void flowreq_driving(struct driver *d, bool on)
{
	struct flowreq *r = &d->flowreq;
	/* Atomic: the loop sets it at every step while another thread may
	 * be reading the value of the step before. */
	if (on)
		__atomic_store_n(&r->driver_thread, pthread_self(),
				 __ATOMIC_RELAXED);
	__atomic_store_n(&r->driving, on, __ATOMIC_RELEASE);
}

void flowreq_serve(struct driver *d)
{
	struct flowreq *r = &d->flowreq;
	if (!__atomic_load_n(&r->pending, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&r->mu);
	if (r->pending && !r->done) {
		r->result = core_flows(d->core, os_clock_us(), r->out, r->cap,
				       r->stride);
		r->done = true;
		__atomic_store_n(&r->pending, 0, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
}

int flowreq_call(struct driver *d, void *out, size_t cap, size_t stride,
		 int timeout_ms, bool (*try_drive)(void *),
		 void (*release)(void *), void *arg)
{
	struct flowreq *r = &d->flowreq;
	if (__atomic_load_n(&r->driving, __ATOMIC_ACQUIRE) &&
	    pthread_equal(__atomic_load_n(&r->driver_thread, __ATOMIC_RELAXED),
			  pthread_self()))
		return (int)core_flows(d->core, os_clock_us(), out, cap,
				       stride);
	if (try_drive(arg)) {
		size_t n = core_flows(d->core, os_clock_us(), out, cap, stride);
		release(arg);
		return (int)n;
	}
	pthread_mutex_lock(&r->mu);
	if (r->busy) {
		pthread_mutex_unlock(&r->mu);
		return -TP_ESTATE;
	}
	r->busy = true;
	r->done = false;
	r->out = out;
	r->cap = cap;
	r->stride = stride;
	__atomic_store_n(&r->pending, 1, __ATOMIC_RELEASE);
	os_wake_signal(&d->wake);
	struct timespec until;
#ifdef __APPLE__
	clock_gettime(CLOCK_REALTIME, &until);
#else
	clock_gettime(CLOCK_MONOTONIC, &until);
#endif
	uint64_t ns = (uint64_t)until.tv_nsec +
		      (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000u;
	until.tv_sec += (time_t)(ns / 1000000000u);
	until.tv_nsec = (long)(ns % 1000000000u);
	int rc = 0;
	while (!r->done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&r->cv, &r->mu, &until);
	int ret;
	if (r->done) {
		ret = (int)r->result;
	} else {
		/* Withdrawn under the mutex: the loop can no longer write to
		 * the caller's buffer. */
		__atomic_store_n(&r->pending, 0, __ATOMIC_RELEASE);
		ret = -TP_EAGAIN;
	}
	r->busy = false;
	r->out = NULL;
	pthread_mutex_unlock(&r->mu);
	return ret;
}
