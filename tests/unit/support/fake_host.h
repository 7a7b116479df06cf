/* SPDX-License-Identifier: MIT */
/* fake_host.h - the one fake driver: a struct core_host_ops without a
 * syscall, shared by the cmocka unit tests and the fuzz harnesses
 * (fuzz/harness_router.c, fuzz/harness_devio.c; fuzz/build.sh compiles
 * this file). It uses neither cmocka nor the fuzz harness: what a test
 * wants checked, it hooks in (on_misuse, on_tcp_send, on_tcp_connect).
 *
 * Sockets are slots of a fixed table with deterministic ids (from
 * FAKE_SOCK_BASE, handed out round robin), every call is counted, and the
 * test decides what the "host" does:
 *   - opens (tcp_connect, udp_open, icmp_open) succeed with a new socket
 *     unless fail_next_open (fake_host_fail_next_open) scripted an error;
 *   - a TCP socket has a receive stream (bytes the host sent, pushed with
 *     fake_host_rx_push, ended with fake_host_rx_eof) that peek/discard/recv
 *     read, and a send side that takes at most tx_space bytes
 *     (fake_host_set_tx_space; unlimited by default, 0 makes send return
 *     -EAGAIN) and records what the core wrote (tx, tx_len);
 *   - a datagram socket has a queue of datagrams to receive
 *     (fake_host_dgram_push) and records every datagram sent;
 *   - fake_host_set_error() / fake_host_push_error() queue the errors
 *     sock_error() reports; rx_err / send_err make peek/recv or send fail.
 *
 * A closed socket keeps its slot for inspection (closed, reset, tx...)
 * unless reuse_closed is set, as fds are reused; even then a closed id is
 * given out again only after every other free id, so a call on a socket
 * the core closed is caught as such instead of landing on another flow's.
 *
 * The core's side of the host-ops contract (host_ops.h) is checked on
 * every call: a call on a socket that is not open, a second close, a
 * TCP-only call on a datagram socket, a discard of bytes never received,
 * a send after shutdown_wr, a negative iov count or an unknown family is
 * counted in misuses and reported to on_misuse (by default it aborts with
 * the message; the fuzz harnesses fail the run there, tcp_harness.c fails
 * the test); a hook that returns lets the call fail as a
 * kernel would (-EBADF, -EPIPE, -EINVAL). Every iov the core passes is
 * touched at both ends, so ASan sees one that points outside its buffer.
 *
 * Fuzz runs execute millions of times, so what a run holds stays bounded
 * however long it is:
 *   - fake_host_rx_push(..., NULL, len) appends len bytes of a virtual
 *     stream, byte k being fake_host_stream_byte(k): it costs no memory
 *     and what reaches the app can be checked byte for byte;
 *   - a datagram to receive is held only until the core reads it, and
 *     max_dgrams bounds the queue as a socket buffer would;
 *   - keep_sent (true after fake_host_init) keeps the bytes and datagrams
 *     the core sends; the fuzz harnesses turn it off and look at TCP bytes
 *     through on_tcp_send instead.
 * Whatever is still held, fake_host_free gives back.
 */
#ifndef TP_TEST_FAKE_HOST_H
#define TP_TEST_FAKE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/host_ops.h"

#define FAKE_MAX_SOCKS 64
#define FAKE_SOCK_BASE 3
#define FAKE_MAX_ERRS  4 /* errors queued for sock_error, per socket */

enum fake_kind { FAKE_TCP = 1, FAKE_UDP, FAKE_ICMP };

/* Byte k of a virtual host stream: a hash of k, so a byte out of place
 * shows, and any offset is computed without state. */
static inline uint8_t fake_host_stream_byte(uint32_t k)
{
	k ^= k >> 9;
	k *= 0x9e3779b1u;
	return (uint8_t)(k >> 24);
}

/* A datagram, to receive or sent by the core (kept while keep_sent); one
 * malloc'd block, so a test reading the queue itself frees it with
 * free(). */
struct fake_dgram {
	struct fake_dgram *next;
	size_t len;
	uint8_t data[];
};

struct fake_sock {
	bool used; /* the slot was handed out (it may be closed since) */
	bool closed, reset, shut_wr;
	uint8_t kind; /* enum fake_kind */
	uint32_t flow;
	uint8_t family;
	struct wire_addr dst;
	uint16_t port;

	bool want_rd, want_wr;
	int want_calls;

	/* TCP stream from the host: rx_len bytes not yet consumed, in rx[]
	 * or, while rx is NULL, virtual (fake_host_stream_byte(rx_discarded
	 * + i)). */
	uint8_t *rx;
	size_t rx_len, rx_cap;
	size_t rx_discarded; /* total bytes discarded/consumed */
	bool rx_eof;
	int rx_err; /* negative errno for peek/recv, 0: none */
	int peek_calls, discard_calls;

	/* TCP stream to the host: tx_len bytes sent, in tx[] if keep_sent. */
	uint8_t *tx;
	size_t tx_len, tx_cap;
	size_t tx_space; /* bytes send() will still take; SIZE_MAX: any */
	int send_err;	 /* negative errno for send, 0: none */
	int send_calls;

	/* Datagrams. */
	struct fake_dgram *dq_head, *dq_tail;	  /* to receive */
	struct fake_dgram *sent_head, *sent_tail; /* if keep_sent */
	int sent_count;

	/* Errors sock_error() reports, oldest first. */
	struct core_sock_error err[FAKE_MAX_ERRS];
	unsigned err_n;
};

struct fake_host {
	struct fake_sock socks[FAKE_MAX_SOCKS];
	unsigned next;	     /* where the search for a free slot starts */
	int fail_next_open;  /* negative errno for the next open, 0: none */
	bool reuse_closed;   /* closed sockets free their slot, as fds do
			       (default: kept for inspection) */
	bool keep_sent;	     /* keep what the core sends (default: true) */
	unsigned max_dgrams; /* datagrams a socket queues to receive, 0: any */
	int connects, udp_opens, icmp_opens, closes, shutdowns;
	int last_sock;	     /* id of the last socket opened, -1: none */
	unsigned open_count; /* sockets open (used and not closed) */
	unsigned misuses;    /* broken host-ops contract, see above */

	/* Hooks, called with hook_ctx; all optional but on_misuse, which
	 * fake_host_init sets to print and abort(). */
	void (*on_misuse)(void *ctx, const char *what);
	/* Bytes the core sends on a TCP socket, before tx_len counts them. */
	void (*on_tcp_send)(void *ctx, struct fake_sock *s, const uint8_t *p,
			    size_t n);
	/* A TCP socket was opened (from inside the core's tcp_connect). */
	void (*on_tcp_connect)(void *ctx, struct fake_sock *s);
	void *hook_ctx;
};

extern const struct core_host_ops fake_host_ops;

void fake_host_init(struct fake_host *h);
void fake_host_free(struct fake_host *h);

/* The socket with id sock (open or closed), or NULL. */
struct fake_sock *fake_host_sock(struct fake_host *h, int sock);
int fake_host_id(const struct fake_host *h, const struct fake_sock *s);

static inline bool fake_sock_open(const struct fake_sock *s)
{
	return s->used && !s->closed;
}

/* The k-th open socket (k taken modulo their number) whose kind is in the
 * mask (1u << FAKE_TCP ...), or NULL if there is none. */
struct fake_sock *fake_host_pick(struct fake_host *h, unsigned k,
				 unsigned mask);

void fake_host_fail_next_open(struct fake_host *h, int neg_errno);

/* TCP receive stream. data NULL: len bytes of the virtual stream. */
void fake_host_rx_push(struct fake_host *h, int sock, const void *data,
		       size_t len);
void fake_host_rx_eof(struct fake_host *h, int sock);
void fake_host_set_rx_error(struct fake_host *h, int sock, int neg_errno);

/* TCP send side. SIZE_MAX: unlimited. */
void fake_host_set_tx_space(struct fake_host *h, int sock, size_t space);
void fake_host_set_send_error(struct fake_host *h, int sock, int neg_errno);

/* Datagrams to receive: a copy of data, or (made) len bytes made from
 * seed, an ICMP socket's starting with type and code 0 as a ping socket
 * returns an echo reply. False when max_dgrams are queued (the datagram is
 * dropped, as by a full socket buffer). */
bool fake_host_dgram_push(struct fake_host *h, int sock, const void *data,
			  size_t len);
bool fake_host_dgram_push_made(struct fake_host *h, int sock, uint16_t len,
			       uint8_t seed, uint8_t type);
/* The n-th datagram sent on sock (0 = oldest), or NULL. */
const struct fake_dgram *fake_host_dgram_sent(struct fake_host *h, int sock,
					      int n);

/* Errors reported by sock_error(): set replaces what is queued, push
 * appends (dropped when FAKE_MAX_ERRS are queued). */
void fake_host_set_error(struct fake_host *h, int sock,
			 const struct core_sock_error *err);
void fake_host_push_error(struct fake_host *h, int sock,
			  const struct core_sock_error *err);
void fake_host_set_errno(struct fake_host *h, int sock, int err);

#endif
