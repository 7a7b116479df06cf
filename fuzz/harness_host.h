/* SPDX-License-Identifier: MIT */
/* harness_host.h - a deterministic fake driver for the router fuzz target.
 *
 * Implements struct core_host_ops without a syscall, like
 * tests/unit/support/fake_host.c, but built to run millions of times and
 * to check the core's side of the host-ops contract (host_ops.h):
 *   - sockets are slots of a fixed table; a closed id is reused only after
 *     the other free ids (round robin), so a call on a socket the core has
 *     closed is caught as such instead of landing on another flow's socket;
 *   - every call on a socket that is not open, a second close, a TCP-only
 *     call on a datagram socket, a discard of bytes never received, or a
 *     send after shutdown_wr fails the run (fz_fail);
 *   - every iov the core passes is touched at both ends, so ASan sees one
 *     that points outside its buffer.
 * A TCP socket's receive stream is virtual: byte k is fz_pat_host(k), so
 * the stream costs no memory and what the core sends the app can be
 * checked byte for byte. Bytes the core sends on a TCP socket go to the
 * on_tcp_send hook (the router harness checks them against the app's
 * pattern); on_tcp_connect tells it a TCP socket was opened.
 */
#ifndef TP_FUZZ_HARNESS_HOST_H
#define TP_FUZZ_HARNESS_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/host_ops.h"

#define FZ_MAX_SOCKS  48
#define FZ_SOCK_BASE  3
#define FZ_MAX_DGRAMS 8
#define FZ_MAX_ERRS   4

enum fz_kind { FZ_FREE = 0, FZ_TCP, FZ_UDP, FZ_ICMP };

/* The stream patterns: byte k of the host's TCP stream, and the byte the
 * app sends at TCP sequence number s (any connection, any tuple). */
static inline uint8_t fz_pat_host(uint32_t k)
{
	k ^= k >> 9;
	k *= 0x9e3779b1u;
	return (uint8_t)(k >> 24);
}

static inline uint8_t fz_pat_app(uint32_t s)
{
	return fz_pat_host(s ^ 0x5a5a5a5au);
}

struct fz_dgram {
	uint16_t len;
	uint8_t seed;
	uint8_t type; /* ICMP sockets: the message type (echo reply...) */
};

struct fz_sock {
	uint8_t kind; /* enum fz_kind; FZ_FREE: not open */
	uint8_t family;
	uint32_t flow; /* handle events are reported under */
	struct wire_addr dst;
	uint16_t port;
	bool want_rd, want_wr;

	/* TCP receive stream: bytes [rx_base, rx_end) are unconsumed. */
	uint64_t rx_base, rx_end;
	bool rx_eof;
	int rx_err; /* negative errno for peek/recv, 0: none */

	/* TCP send side. */
	uint64_t tx_total; /* bytes the core sent */
	uint64_t tx_space; /* bytes send() still takes; UINT64_MAX: any */
	int send_err;	   /* negative errno for send, 0: none */
	bool shut_wr;
	/* Set by the router harness: the app sequence number of the first
	 * byte sent here (from the app's SYN), so sent bytes can be checked. */
	bool tx_base_known, tx_unchecked;
	uint32_t tx_base;
	int tuple; /* the harness's tuple index, -1: unknown */

	/* Datagrams waiting to be received. */
	struct fz_dgram dq[FZ_MAX_DGRAMS];
	unsigned dq_n;

	/* Errors sock_error() reports, oldest first. */
	struct core_sock_error err[FZ_MAX_ERRS];
	unsigned err_n;
};

struct fz_host {
	struct fz_sock socks[FZ_MAX_SOCKS];
	unsigned next;	    /* where the search for a free slot starts */
	int fail_next_open; /* negative errno for the next open, 0: none */
	unsigned open_count;
	uint64_t calls;
	void (*on_tcp_send)(void *ctx, struct fz_sock *s, const uint8_t *p,
			    size_t n);
	void (*on_tcp_connect)(void *ctx, struct fz_sock *s);
	void *hook_ctx;
};

extern const struct core_host_ops fz_host_ops;

void fz_host_init(struct fz_host *h);

/* The open socket with this id, or NULL. */
struct fz_sock *fz_host_sock(struct fz_host *h, int id);
int fz_host_id(const struct fz_host *h, const struct fz_sock *s);

/* The k-th open socket (k taken modulo their number) whose kind is in the
 * mask (1 << FZ_TCP ...), or NULL if there is none. */
struct fz_sock *fz_host_pick(struct fz_host *h, unsigned k, unsigned mask);

void fz_host_push_dgram(struct fz_sock *s, uint16_t len, uint8_t seed,
			uint8_t type);
void fz_host_push_error(struct fz_sock *s, const struct core_sock_error *e);

#endif
