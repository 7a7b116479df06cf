/* SPDX-License-Identifier: MIT */
/* flowreq.h - tp_flows across threads, and the host side's TCP_INFO.
 *
 * tp_flows may be called from any thread while another drives the
 * engine. The caller posts a request (its buffer) under a mutex, wakes
 * the loop through the wake-up fd and waits on a condition variable with
 * a timeout; the driving thread serves it at its next step
 * (flowreq_serve), filling the buffer while holding the mutex, so a
 * caller that timed out and left can never be written to afterwards. When
 * no thread drives the engine, or the caller is the driving thread (a
 * callback), the request is served at once on the caller's thread.
 */
#ifndef TP_HOST_FLOWREQ_H
#define TP_HOST_FLOWREQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "tunproxy.h"

struct driver;

struct flowreq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int pending; /* atomic: a request waits (the loop checks it) */
	bool busy;   /* a caller owns the slot */
	bool done;
	void *out;
	size_t cap, stride, result;
	pthread_t driver_thread; /* valid while driving is set */
	int driving;		 /* atomic */
};

int flowreq_init(struct flowreq *r);
void flowreq_destroy(struct flowreq *r);

/* The driving thread, at the start of each step. */
void flowreq_serve(struct driver *d);

/* Marks the calling thread as the one driving (on) or not (off). */
void flowreq_driving(struct driver *d, bool on);

/* tp_flows's body (see tunproxy.h); try_drive takes the engine when no
 * one drives it (tp.c's drive_begin), release gives it back. */
int flowreq_call(struct driver *d, void *out, size_t cap, size_t stride,
		 int timeout_ms, bool (*try_drive)(void *),
		 void (*release)(void *), void *arg);

/* The tcp_info host op (hostsock_info_linux.c; -ENOTSUP elsewhere). */
int hostsock_tcp_info(void *ctx, int sock, struct tp_tcp_side *out);

#endif
