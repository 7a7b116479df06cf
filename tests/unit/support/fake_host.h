/* SPDX-License-Identifier: MIT */
/* fake_host.h - a scripted struct core_host_ops for unit tests.
 *
 * Stands in for the driver: sockets are slots in an array (ids from
 * FAKE_SOCK_BASE), every call is counted, and the test decides what the
 * "host" does:
 *   - opens (tcp_connect, udp_open, icmp_open) succeed with a new socket
 *     unless fake_host_fail_next_open() scripted an error;
 *   - a TCP socket has a receive stream (bytes the host sent, pushed with
 *     fake_host_rx_push, ended with fake_host_rx_eof) that peek/discard/recv
 *     read, and a send side that records what the core wrote (tx, tx_len)
 *     and takes at most tx_space bytes (fake_host_set_tx_space; unlimited by
 *     default, 0 makes send return -EAGAIN);
 *   - a datagram socket has a queue of datagrams to receive
 *     (fake_host_dgram_push) and records every datagram sent;
 *   - fake_host_set_error() queues the error sock_error() reports next;
 *     fake_host_set_rx_error() makes peek/recv fail.
 * Buffers are plain malloc'd test memory, freed by fake_host_free.
 */
#ifndef TP_TEST_FAKE_HOST_H
#define TP_TEST_FAKE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/host_ops.h"

#define FAKE_MAX_SOCKS 64
#define FAKE_SOCK_BASE 3

enum fake_kind { FAKE_TCP = 1, FAKE_UDP, FAKE_ICMP };

struct fake_dgram {
	struct fake_dgram *next;
	size_t len;
	uint8_t data[];
};

struct fake_sock {
	bool used;
	bool closed, reset, shut_wr;
	uint8_t kind; /* enum fake_kind */
	uint32_t flow;
	uint8_t family;
	struct wire_addr dst;
	uint16_t port;

	bool want_rd, want_wr;
	int want_calls;

	/* TCP stream from the host: rx[0..rx_len) not yet discarded. */
	uint8_t *rx;
	size_t rx_len, rx_cap;
	size_t rx_discarded; /* total bytes discarded/consumed */
	bool rx_eof;
	int rx_err; /* negative errno for peek/recv, 0: none */
	int peek_calls, discard_calls;

	/* TCP stream to the host. */
	uint8_t *tx;
	size_t tx_len, tx_cap;
	size_t tx_space; /* bytes send() will still take */
	int send_err;	 /* negative errno for send, 0: none */
	int send_calls;

	/* Datagrams. */
	struct fake_dgram *dq_head, *dq_tail; /* to receive */
	struct fake_dgram *sent_head, *sent_tail;
	int sent_count;

	/* Error sock_error() reports next. */
	bool has_err;
	struct core_sock_error err;
};

struct fake_host {
	struct fake_sock socks[FAKE_MAX_SOCKS];
	int fail_next_open; /* negative errno for the next open, 0: none */
	bool reuse_closed;  /* closed sockets free their slot, as fds do
			       (default: kept for inspection) */
	int connects, udp_opens, icmp_opens, closes, shutdowns;
	int last_sock; /* id of the last socket opened, -1: none */
};

extern const struct core_host_ops fake_host_ops;

void fake_host_init(struct fake_host *h);
void fake_host_free(struct fake_host *h);

/* The socket with id sock, or NULL. */
struct fake_sock *fake_host_sock(struct fake_host *h, int sock);

void fake_host_fail_next_open(struct fake_host *h, int neg_errno);

/* TCP receive stream. */
void fake_host_rx_push(struct fake_host *h, int sock, const void *data,
		       size_t len);
void fake_host_rx_eof(struct fake_host *h, int sock);
void fake_host_set_rx_error(struct fake_host *h, int sock, int neg_errno);

/* TCP send side. SIZE_MAX: unlimited. */
void fake_host_set_tx_space(struct fake_host *h, int sock, size_t space);
void fake_host_set_send_error(struct fake_host *h, int sock, int neg_errno);

/* Datagrams. */
void fake_host_dgram_push(struct fake_host *h, int sock, const void *data,
			  size_t len);
/* The n-th datagram sent on sock (0 = oldest), or NULL. */
const struct fake_dgram *fake_host_dgram_sent(struct fake_host *h, int sock,
					      int n);

/* Errors reported by sock_error(). */
void fake_host_set_error(struct fake_host *h, int sock,
			 const struct core_sock_error *err);
void fake_host_set_errno(struct fake_host *h, int sock, int err);

#endif
