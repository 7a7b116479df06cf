/* SPDX-License-Identifier: MIT */
/* driver.h - the I/O side: one thread's event loop around the core.
 *
 * The driver owns every fd: the TUN (through a tunconn), the host sockets
 * the core asked for (a table indexed by the small socket ids the core
 * sees), the poller and a wake-up fd (os.h). It implements the core's host
 * ops with non-blocking system calls (hostsock_linux.c, icmp_raw_linux.c)
 * and runs the loop: wait for readiness or the core's next deadline, feed
 * packets, socket events and timers to the core, and write the core's
 * transmit ring to the TUN after each step.
 */
#ifndef TP_HOST_DRIVER_H
#define TP_HOST_DRIVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/engine.h"
#include "host/dns_redirect.h"
#include "host/flowreq.h"
#include "host/poller.h"
#include "io/tunconn.h"
#include "os/os.h"

/* Poller tags: kind in the top 8 bits, a generation in the next 24, an
 * index in the low 32. The generation tells an event for a socket closed
 * earlier in the same batch from one for the socket that reused its id. */
enum { TAG_TUN = 1, TAG_WAKE, TAG_SOCK, TAG_RAW4, TAG_RAW6 };
#define DRV_TAG_GEN(kind, gen, idx)                                            \
	((uint64_t)(kind) << 56 | (uint64_t)((gen)&0xffffffu) << 32 |          \
	 (uint32_t)(idx))
#define DRV_TAG(kind, idx) DRV_TAG_GEN(kind, 0, idx)

enum hsock_kind { HS_FREE = 0, HS_UDP, HS_TCP, HS_PING, HS_RAW };

/* One host socket. Raw-ICMP flows share the driver's raw socket: their fd
 * is -1 and a reply waits in stash until the core reads it. */
struct hsock {
	int fd;
	uint32_t flow; /* core flow handle events go to */
	uint8_t kind;  /* enum hsock_kind */
	uint8_t family;
	uint8_t want;		/* POLLER_IN/OUT currently registered */
	uint8_t deferred : 1;	/* on the deferred-event list */
	uint8_t corked : 1;	/* TCP: last send had MSG_MORE, not pushed */
	uint8_t rx_full : 1;	/* TCP (tcprx_copy.c): a peek found no room */
	uint8_t rx_mode : 2;	/* TCP: enum tcprx_mode (tcprx_backend.h) */
	uint8_t peek_set : 1;	/* TCP: the kernel's peek offset was set */
	uint8_t ringless : 1;	/* TCP (tcprx_copy.c): served without a ring */
	uint8_t udp_single : 1; /* UDP: read one datagram at a time */
	uint8_t udp_no_gso : 1; /* UDP: the path refused a GSO send */
	uint8_t udp_learn : 4;	/* UDP: datagrams read one at a time */
	uint8_t udp_rcvbuf : 1; /* UDP: receive buffer raised (bulk flow) */
	uint32_t gen;		/* bumped each time the id is reused */
	int pending_err;	/* error to report before any other (errno) */
	uint32_t peek_off;	/* TCP: the kernel's SO_PEEK_OFF as we set it */
	struct tcprx_ring *rx;	/* TCP (tcprx_copy.c): bytes not yet ACKed */
	uint32_t defer_next;	/* deferred list link (index + 1) */
	uint16_t raw_id;	/* raw ICMP: identifier we send with */
	uint16_t rx_epoch;	/* TCP (tcprx_copy.c): last active epoch + 1 */
	uint16_t stash_len;
	uint8_t *stash;	 /* raw ICMP: one reply waiting, or NULL */
	uint8_t dst[16]; /* raw ICMP: destination (v4-mapped for v4) */
};

/* Packets read from the TUN per batch. */
#define DRV_TUN_BATCH 64

struct driver {
	struct core_engine *core;
	struct poller *poller;
	struct tunconn *tun;
	struct os_wake wake; /* tp_stop's wake-up (os.h) */
	int stop_requested;  /* atomic */
	int fatal;	     /* negative TP_E* once the TUN fails */
	tp_log_fn log;
	void *log_ctx;
	uint32_t log_level;

	struct hsock *socks;
	uint32_t nsocks, high, nfree;
	uint32_t *free_stack;
	uint32_t defer_head, defer_tail;

	int raw_fd[2]; /* [0] IPv4, [1] IPv6; -1 if not open */
	uint16_t raw_next_id;
	uint32_t *raw_by_id[2]; /* identifier -> socket index + 1 */
	bool ping_warned;
	bool batch_more;      /* more app packets follow in this TUN batch */
	uint16_t in_gso_size; /* the app packet being fed is a UDP super-
				 packet of datagrams this long (USO), or 0 */
	/* Drain before you write (driver.c): TUN packets this pass may still
	 * write, and whether the ring kept some for the next pass. */
	uint32_t tx_budget;
	bool tx_backlog;
	/* UDP batching (udpbatch_linux.c; NULL elsewhere) and its figures
	 * for the udp_* counters (any thread reads: relaxed atomics). */
	struct udpbatch *ub;
	struct udp_stats {
		uint64_t tx_batched, gso_sends, gso_segments, gso_refused;
		uint64_t send_errors, rx_batched, rx_mmsg_calls, rx_truncated;
		uint64_t gso_trains;
	} udp_stats;
	/* TCP sockets to push when the batch ends (at most one per packet
	 * of a batch), with their generation in case one is closed and its
	 * id reused meanwhile. */
	uint32_t ncork;
	uint32_t cork_id[DRV_TUN_BATCH], cork_gen[DRV_TUN_BATCH];
	uint64_t tun_tx_dropped;
	void *tcprx;	    /* tcprx_copy.c's driver-wide state */
	uint8_t tcprx_mode; /* enum tcprx_mode: the engine's choice */
	bool tcprx_warned;  /* the fallback was logged */
	/* Receive-path figures for the tcp_rx_* counters (read by any
	 * thread: updated with atomics). */
	struct tcprx_stats {
		uint64_t userspace, fallbacks, rings_refused, ringless;
		uint64_t ring_bytes;
	} tcprx_stats;
	uint32_t tun_session; /* the tunconn's session we serve */
	/* Applied to every host socket (hostsock_apply_options). */
	uint32_t fwmark;	   /* SO_MARK, 0: none */
	char bind_if[16];	   /* interface name, "": none */
	unsigned bind_ifindex;	   /* its index (Darwin's IP_BOUND_IF) */
	uint32_t log_level_req;	   /* atomic: tp_set_log_level's request + 1 */
	struct core_host_ops ops;  /* what the core calls: the
					     platform's, maybe wrapped */
	struct dns_redirect *dnsr; /* tp_config.dns_redirect, or NULL */
	void (*tap)(void *, const uint8_t *, size_t, int); /* tp_config.tap */
	void *tap_ctx;
	/* Host TCP receive buffer in bytes of kernel memory, TP_RCVBUF_AUTO:
	 * autotuning (hostsock_rcvbuf_linux.c); its cap was checked once. */
	uint32_t tcp_rcvbuf;
	bool rcvbuf_checked;
	struct egress *egress; /* hook, routes, upstream (egress.h), or NULL */
	struct cone *cone; /* full-cone UDP mappings (udp_cone.h), or NULL */
	struct flowreq flowreq; /* tp_flows from other threads (flowreq.h) */
};

/* tcp_host_rcvbuf when the config leaves it 0 (docs/robustness.md). */
#define DRV_TCP_RCVBUF_DEFAULT (8u << 20)

/* Creates a driver around an engine built from cfg. tun is taken over. */
struct driver *driver_create(const struct tp_config *cfg, struct tunconn *tun,
			     int *err);
void driver_destroy(struct driver *d);

/* Runs until driver_stop or a fatal error; returns 0 or -TP_E*. */
int driver_run(struct driver *d);

/* One pass: waits at most timeout_ms for readiness, then does all the work
 * that is due. Returns 1 to go on, 0 when stopped, or -TP_E*. */
int driver_step(struct driver *d, int timeout_ms);

/* Milliseconds until the core's next deadline (-1: none). */
int driver_next_timeout_ms(struct driver *d);

/* Safe from any thread and from a signal handler. */
void driver_stop(struct driver *d);

/* Asks for a new log level, applied by the loop before its next step.
 * Safe from any thread. */
void driver_set_log_level(struct driver *d, uint32_t level);

/* Host ops (the table and what every OS shares: hostsock.c; what differs:
 * hostsock_linux.c, hostsock_darwin.c). */
extern const struct core_host_ops driver_host_ops;
int driver_sock_alloc(struct driver *d, int fd, uint32_t flow,
		      enum hsock_kind kind, uint8_t family);
void driver_sock_free(struct driver *d, int id);
socklen_t hostsock_sockaddr(uint8_t family, const struct wire_addr *a,
			    uint16_t port, struct sockaddr_storage *ss);
/* Takes cfg's fwmark and bind_interface, checks that the OS accepts them
 * on a socket (once, so a missing privilege stops the start instead of
 * refusing every flow) and logs them. Returns 0 or -TP_E* (logged). */
int hostsock_options_init(struct driver *d, const struct tp_config *cfg);
/* Applies them to a new host socket fd. Returns 0 or -errno. */
int hostsock_apply_options(struct driver *d, int fd, uint8_t family);
/* Registers fd and returns its id, or closes it and returns -errno. */
int hostsock_register(struct driver *d, int fd, uint32_t flow,
		      enum hsock_kind kind, uint8_t family, uint32_t want);

/* Registers a TCP socket whose connect() was just started (edge-triggered,
 * watching for writability); connect_err, the errno of a connect that
 * failed at once (0 if it is in progress), is delivered as a deferred
 * error event so the core sees one path for every outcome. Returns the
 * socket id or -errno (fd closed). */
int hostsock_register_connecting(struct driver *d, int fd, uint32_t flow,
				 uint8_t family, int connect_err);
/* The udp_open, icmp_open and tcp_connect host ops (hostsock.c). The
 * ops table is hostsock.c's too; send, recv and sock_error move the data
 * the way each OS can (hostsock_linux.c, hostsock_darwin.c). */
long hostsock_send(void *ctx, int sock, const struct core_iov *iov, int iovcnt);
long hostsock_recv(void *ctx, int sock, const struct core_iov *iov, int iovcnt,
		   size_t *full_len);
int hostsock_sock_error(void *ctx, int sock, struct core_sock_error *out);
int hostsock_udp_open(void *ctx, uint32_t flow, uint8_t family,
		      const struct wire_addr *dst, uint16_t dport);
int hostsock_icmp_open(void *ctx, uint32_t flow, uint8_t family,
		       const struct wire_addr *dst);
int hostsock_tcp_connect(void *ctx, uint32_t flow, uint8_t family,
			 const struct wire_addr *dst, uint16_t dport);
/* Per OS (hostsock_linux.c, hostsock_darwin.c): a socket of type and
 * proto for family, non-blocking, close-on-exec and never raising SIGPIPE
 * (the fd, or -errno); and what a datagram socket needs before it
 * connects so that ICMP errors reach sock_error(). */
int hostsock_os_socket(uint8_t family, int type, int proto);
void hostsock_os_dgram_ready(int fd, uint8_t family);
/* The want, close and shutdown_wr host ops. */
void hostsock_want(void *ctx, int sock, bool readable, bool writable);
void hostsock_close(void *ctx, int sock, bool reset);
int hostsock_shutdown_wr(void *ctx, int sock);
/* Bounds a new TCP socket's receive buffer to d->tcp_rcvbuf (before
 * connect: the window scale is chosen from it). hostsock_rcvbuf_linux.c;
 * Darwin leaves the kernel's autotuning (hostsock_darwin.c). */
void hostsock_tcp_rcvbuf(struct driver *d, int fd);
void driver_defer_event(struct driver *d, int id);

/* UDP batching (udpbatch_linux.c; Darwin: none, stubs that send and read
 * one datagram a call). init allocates
 * and probes (0 or -TP_ENOMEM); send queues a datagram while the TUN
 * batch goes on (bytes, or -EOPNOTSUPP: send it now yourself); flush
 * sends what is queued (end of a TUN batch, before a close); recv is the
 * recv_batch host op; learn notes a datagram read alone. */
int udpbatch_init(struct driver *d);
void udpbatch_free(struct driver *d);
long udpbatch_send(struct driver *d, int sock, const struct core_iov *iov,
		   int iovcnt);
void udpbatch_flush(struct driver *d);
long udpbatch_recv(void *ctx, int sock, struct core_dgram *m, int n);
void udpbatch_learn(struct driver *d, int sock, size_t full, size_t room);
void hostsock_udp_counters(const struct driver *d, uint64_t *vals, size_t n);
void driver_push_corked(struct driver *d);
void driver_log(struct driver *d, enum tp_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Raw ICMP fallback (icmp_raw_linux.c; hostsock_darwin.c has none). */
int driver_raw_open(struct driver *d, uint32_t flow, uint8_t family,
		    const uint8_t dst[16]);
long driver_raw_send(struct driver *d, struct hsock *s, const uint8_t *msg,
		     size_t len);
void driver_raw_readable(struct driver *d, int which);
void driver_raw_close(struct driver *d, struct hsock *s);

#endif
