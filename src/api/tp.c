/* SPDX-License-Identifier: MIT */
/* tp.c - the public API (include/tunproxy.h) on top of the driver.
 *
 * A struct tp is a copy of the config, a driver (which owns the engine and
 * the packet I/O backend) and, for tp_start, a thread. Nothing is global.
 *
 * Thread rules are enforced where they can be: `driving` is taken with a
 * compare-and-swap by tp_run, tp_process and tp_start (for its thread's
 * whole life), so a second driver gets TP_ESTATE instead of racing the
 * first inside the core. The calls allowed from any thread touch only
 * atomics (the stop flag, counters, the log-level request) or the
 * callback backend's locked queue.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "host/driver.h"
#include "host/driver_api.h"
#include "host/flowreq.h"
#include "io/tunconn.h"
#include "io/tunconn_udp.h"
#include "wire/hdr.h"
#include "tp_version.h"
#include "tunproxy.h"

struct tp {
	struct tp_config cfg;
	struct driver *drv;
	pthread_t thread;
	bool thread_started;
	bool udp; /* the UDP dev transport (cfg.listen_udp) */
	int thread_rc;
	int driving; /* atomic: a thread runs the loop (see the top) */
};

static const char *const error_names[] = {
    [TP_OK] = "success",
    [TP_EINVAL] = "invalid argument or config field",
    [TP_ENOMEM] = "out of memory (or over max_memory)",
    [TP_EPERM] = "permission denied: run as root or with CAP_NET_ADMIN",
    [TP_ENOTUN] = "no TUN device: on Linux load the tun module (modprobe "
		  "tun); on macOS and iOS the system owns utun (use its fd, "
		  "callback mode or --listen udp:...)",
    [TP_EBUSY] = "name or address already in use",
    [TP_ESYS] = "system call failed (see the log)",
    [TP_ESTATE] = "not allowed in the engine's current state",
    [TP_EAGAIN] = "engine busy: try again later",
    [TP_EVERSION] = "config from a newer library version",
};

const char *tp_version(int *api)
{
	if (api)
		*api = TP_API_VERSION;
	return TP_VERSION_STRING;
}

const char *tp_strerror(int err)
{
	unsigned e = (unsigned)(err < 0 ? -err : err);
	if (e < sizeof(error_names) / sizeof(error_names[0]) && error_names[e])
		return error_names[e];
	return "unknown error";
}

void tp_config_init(struct tp_config *c)
{
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->version = TP_API_VERSION;
	c->tun_fd = -1;
	c->mtu = 1500;
	c->log_level = TP_LOG_WARN;
	c->dev_client_idle_ms = 5000;
}

int tp_policy_validate(const char *list, char *err, size_t errcap)
{
	int n = driver_policy_validate(list, err, errcap);
	return n < 0 ? -TP_EINVAL : n;
}

/* The callback-mode input queue: 256 packets, fewer at large MTUs so its
 * slots (one MTU each, allocated at creation, outside max_memory) stay
 * within 4 MiB: 375 KiB at MTU 1500, 64 slots at 65535. */
#define CALLBACK_QUEUE_LEN   256u
#define CALLBACK_QUEUE_BYTES (4u << 20)

static uint32_t callback_queue_len(uint32_t mtu)
{
	uint32_t n = CALLBACK_QUEUE_BYTES / mtu;
	return n > CALLBACK_QUEUE_LEN ? CALLBACK_QUEUE_LEN : n < 64 ? 64 : n;
}

int tp_create(const struct tp_config *c, struct tp **out)
{
	if (!c || !out)
		return -TP_EINVAL;
	*out = NULL;
	if (c->version > TP_API_VERSION || c->size > sizeof(struct tp_config))
		return -TP_EVERSION;
	if (c->size < offsetof(struct tp_config, tcp_idle_timeout_ms))
		return -TP_EINVAL;
	struct tp *tp = calloc(1, sizeof(*tp));
	if (!tp)
		return -TP_ENOMEM;
	/* A config from an older caller is shorter: the rest keeps its
	 * defaults. */
	tp_config_init(&tp->cfg);
	memcpy(&tp->cfg, c, c->size);
	tp->cfg.size = sizeof(tp->cfg);
	if (tp->cfg.mtu == 0)
		tp->cfg.mtu = 1500;
	if (tp->cfg.dev_client_idle_ms == 0)
		tp->cfg.dev_client_idle_ms = 5000;
	tp->udp = tp->cfg.listen_udp != NULL;
	if (tp->cfg.mtu < 1280 || tp->cfg.mtu > 65535 ||
	    tp->cfg.framing > TP_FRAMING_VNET_HDR ||
	    tp->cfg.tcp_rx > TP_TCP_RX_COPY ||
	    (tp->udp && tp->cfg.tun_fd >= 0) ||
	    (!tp->udp && tp->cfg.tun_fd < 0 && !tp->cfg.output)) {
		free(tp);
		return -TP_EINVAL;
	}
	int err = 0;
	struct tunconn *tun;
	if (tp->udp) {
		struct tunconn_udp_opts uo = {
		    .listen = tp->cfg.listen_udp,
		    .allow_public = tp->cfg.listen_public != 0,
		    .client_idle_ms = tp->cfg.dev_client_idle_ms,
		    .log = tp->cfg.log,
		    .log_ctx = tp->cfg.log_ctx,
		    .log_level = tp->cfg.log_level,
		};
		tun = tunconn_udp_create(&uo, &err);
		/* Read only here: the caller's string need not outlive us. */
		tp->cfg.listen_udp = NULL;
	} else if (tp->cfg.tun_fd >= 0) {
		tun = tunconn_fd_create(tp->cfg.tun_fd, tp->cfg.framing,
					tp->cfg.mtu);
		err = -TP_EINVAL;
	} else {
		tun = tunconn_callback_create(tp->cfg.output,
					      tp->cfg.output_ctx, tp->cfg.mtu,
					      callback_queue_len(tp->cfg.mtu));
		err = -TP_ENOMEM;
	}
	if (!tun) {
		free(tp);
		return err;
	}
	tp->drv = driver_create(&tp->cfg, tun, &err);
	/* Read only during creation, like listen_udp. */
	tp->cfg.allow = tp->cfg.deny = tp->cfg.tun_prefixes = NULL;
	tp->cfg.bind_interface = NULL;
	if (!tp->drv) {
		free(tp);
		return err ? err : -TP_ENOMEM;
	}
	*out = tp;
	return 0;
}

static bool drive_begin(struct tp *tp)
{
	int idle = 0;
	return __atomic_compare_exchange_n(&tp->driving, &idle, 1, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static void drive_end(struct tp *tp)
{
	__atomic_store_n(&tp->driving, 0, __ATOMIC_RELEASE);
}

int tp_run(struct tp *tp)
{
	if (!tp)
		return -TP_EINVAL;
	if (!drive_begin(tp))
		return -TP_ESTATE;
	int rc = driver_run(tp->drv);
	drive_end(tp);
	return rc;
}

static void *run_thread(void *arg)
{
	struct tp *tp = arg;
	__atomic_store_n(&tp->thread_rc, driver_run(tp->drv), __ATOMIC_RELEASE);
	return NULL;
}

int tp_start(struct tp *tp)
{
	if (!tp)
		return -TP_EINVAL;
	if (tp->thread_started || !drive_begin(tp))
		return -TP_ESTATE;
	/* `driving` stays taken until tp_destroy joins the thread. */
	if (pthread_create(&tp->thread, NULL, run_thread, tp) != 0) {
		drive_end(tp);
		return -TP_ESYS;
	}
	tp->thread_started = true;
	return 0;
}

int tp_status(struct tp *tp)
{
	return tp ? __atomic_load_n(&tp->thread_rc, __ATOMIC_ACQUIRE)
		  : -TP_EINVAL;
}

int tp_stop(struct tp *tp)
{
	if (tp)
		driver_stop(tp->drv);
	return 0;
}

void tp_destroy(struct tp *tp)
{
	if (!tp)
		return;
	if (tp->thread_started) {
		driver_stop(tp->drv);
		pthread_join(tp->thread, NULL);
	}
	driver_destroy(tp->drv);
	free(tp);
}

/* The whole batch is checked before any packet is queued, so an error
 * means none was taken. */
static bool batch_ok(const struct tp *tp, const uint8_t *const *pkts,
		     const size_t *lens, size_t n)
{
	if (!pkts || !lens)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!pkts[i] || lens[i] == 0 || lens[i] > tp->cfg.mtu)
			return false;
		unsigned v = wire_ip_version(pkts[i]);
		if (v != 4 && v != 6)
			return false;
	}
	return true;
}

int tp_input(struct tp *tp, const uint8_t *const *pkts, const size_t *lens,
	     size_t n)
{
	if (!tp)
		return -TP_EINVAL;
	if (tp->cfg.tun_fd >= 0 || tp->udp || driver_stopping(tp->drv))
		return -TP_ESTATE;
	if (n == 0)
		return 0;
	if (!batch_ok(tp, pkts, lens, n))
		return -TP_EINVAL;
	/* The count is returned as an int; the queue is far smaller. */
	if (n > INT_MAX)
		n = INT_MAX;
	int k = driver_input(tp->drv, pkts, lens, n);
	return k < 0 ? -TP_EINVAL : k;
}

int tp_fd(struct tp *tp)
{
	return tp ? driver_fd(tp->drv) : -TP_EINVAL;
}

int tp_process(struct tp *tp)
{
	if (!tp)
		return -TP_EINVAL;
	if (!drive_begin(tp))
		return -TP_ESTATE;
	int rc = driver_step(tp->drv, 0);
	drive_end(tp);
	return rc;
}

int tp_set_log_level(struct tp *tp, enum tp_log_level level)
{
	if (!tp || (unsigned)level > TP_LOG_TRACE)
		return -TP_EINVAL;
	driver_set_log_level(tp->drv, (uint32_t)level);
	return 0;
}

int tp_next_timeout_ms(struct tp *tp)
{
	return tp ? driver_next_timeout_ms(tp->drv) : -1;
}

#define X_NAME(name, desc) #name,
#define X_DESC(name, desc) desc,
static const char *const counter_names[] = {TP_COUNTERS(X_NAME)};
static const char *const counter_descs[] = {TP_COUNTERS(X_DESC)};

const char *tp_counter_name(unsigned i)
{
	return i < TP_CTR__COUNT ? counter_names[i] : NULL;
}

const char *tp_counter_desc(unsigned i)
{
	return i < TP_CTR__COUNT ? counter_descs[i] : NULL;
}

size_t tp_get_counters(struct tp *tp, uint64_t *vals, size_t n)
{
	if (!tp || !vals)
		return 0;
	return driver_counters(tp->drv, vals, n);
}

const char *tp_drop_reason_name(unsigned i)
{
	return driver_drop_reason_name(i);
}

size_t tp_get_drop_reasons(struct tp *tp, uint64_t *vals, size_t n)
{
	if (!tp || !vals)
		return 0;
	return driver_drop_reasons(tp->drv, vals, n);
}

/* --- tp_flows: the flow list (flowreq.c serves it across threads) --- */

/* The first version of struct tp_flow_info: a caller must know at least
 * this much of it. */
#define FLOW_INFO_MIN_SIZE sizeof(struct tp_flow_info)

static bool flows_try_drive(void *arg)
{
	return drive_begin(arg);
}

static void flows_release(void *arg)
{
	drive_end(arg);
}

int tp_flows(struct tp *tp, struct tp_flow_info *out, size_t cap,
	     size_t info_size, int timeout_ms)
{
	if (!tp || (!out && cap) || info_size < FLOW_INFO_MIN_SIZE)
		return -TP_EINVAL;
	return flowreq_call(tp->drv, out, cap, info_size, timeout_ms,
			    flows_try_drive, flows_release, tp);
}
