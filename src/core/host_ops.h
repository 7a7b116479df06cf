/* SPDX-License-Identifier: MIT */
/* host_ops.h - what the sans-I/O core asks of the driver.
 *
 * The core never calls the OS. When a flow needs a host socket, data sent
 * or received, or a socket closed, it calls one of these functions, which
 * the driver implements with non-blocking system calls (src/host/) and unit
 * tests implement with a fake. Every call returns at once: a TCP connect
 * only starts, and its outcome comes back later as a socket event
 * (core_sock_event). Sockets are named by small integers the driver picks;
 * the flow handle passed at open is what the driver reports events under.
 *
 * Return values: byte counts or socket ids >= 0, or a negative errno value
 * (-EAGAIN when the socket would block). <errno.h> is the only OS header
 * the core depends on, for those constants.
 */
#ifndef TP_CORE_HOST_OPS_H
#define TP_CORE_HOST_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tunproxy.h"
#include "wire/addr.h"

/* A buffer segment; the same shape as struct iovec so a driver may cast. */
struct core_iov {
	void *base;
	size_t len;
};

/* One datagram of a batch read (recv_batch): a buffer in, the bytes
 * stored out. */
struct core_dgram {
	struct core_iov iov;
	size_t len;
};

/* Where an asynchronous socket error came from and what it said. */
enum core_err_origin {
	CORE_ERR_LOCAL = 0, /* the host stack itself (err only) */
	CORE_ERR_ICMP4 = 1, /* an ICMP error from the network */
	CORE_ERR_ICMP6 = 2, /* an ICMPv6 error from the network */
};

struct core_sock_error {
	int err;		   /* positive errno, e.g. ECONNREFUSED */
	uint8_t origin;		   /* enum core_err_origin */
	uint8_t type;		   /* ICMP type when origin is ICMP */
	uint8_t code;		   /* ICMP code */
	uint32_t info;		   /* next-hop MTU for "too big" errors */
	struct wire_addr offender; /* who sent the ICMP error, if known */
};

/* Socket events reported to core_sock_event. */
enum {
	CORE_EV_READ = 1u,
	CORE_EV_WRITE = 2u,
	CORE_EV_ERROR = 4u,
	CORE_EV_HUP = 8u
};

struct core_host_ops {
	/* A connected UDP socket to dst:dport whose readability is reported
	 * under flow. Returns a socket id or -errno (-EMFILE etc.). */
	int (*udp_open)(void *ctx, uint32_t flow, uint8_t family,
			const struct wire_addr *dst, uint16_t dport);

	/* An ICMP echo socket to dst (a ping socket, or the driver's raw
	 * socket). Messages sent and received on it are ICMP messages
	 * (header + data) without an IP header; the driver may rewrite the
	 * identifier, and the core restores the app's on the way back. */
	int (*icmp_open)(void *ctx, uint32_t flow, uint8_t family,
			 const struct wire_addr *dst);

	/* Starts a non-blocking TCP connect to dst:dport. Success or failure
	 * comes back as CORE_EV_WRITE / CORE_EV_ERROR under flow; the core
	 * then calls sock_error() to learn which. */
	int (*tcp_connect)(void *ctx, uint32_t flow, uint8_t family,
			   const struct wire_addr *dst, uint16_t dport);

	/* Sends from iov (one datagram for UDP/ICMP; stream bytes for TCP).
	 * Returns bytes taken (TCP may take fewer) or -errno. */
	long (*send)(void *ctx, int sock, const struct core_iov *iov,
		     int iovcnt);

	/* Receives one datagram (UDP/ICMP) or stream bytes (TCP, consuming
	 * them) into iov. For datagrams *full_len is the datagram's real
	 * length (larger than the return value if iov was too small). Returns
	 * bytes stored, 0 at TCP end of stream, or -errno (-EAGAIN: nothing). */
	long (*recv)(void *ctx, int sock, const struct core_iov *iov,
		     int iovcnt, size_t *full_len);

	/* Optional (NULL: none). Receives up to n datagrams (UDP), one per
	 * m[i].iov, setting m[i].len. Never returns a truncated datagram:
	 * one that did not fit is dropped and counted by the driver. Returns
	 * how many (>= 1), -EAGAIN if none is waiting, -EOPNOTSUPP to say
	 * "read this socket with recv() now" (e.g. it may carry datagrams
	 * larger than the buffers), or another -errno as recv() would. */
	long (*recv_batch)(void *ctx, int sock, struct core_dgram *m, int n);

	/* TCP: copies received bytes starting `offset` bytes past the oldest
	 * unconsumed one into iov without consuming them (the data stays in
	 * the host socket until discard()). Returns bytes stored, 0 at end
	 * of stream with nothing at offset, or -errno. */
	long (*peek)(void *ctx, int sock, size_t offset,
		     const struct core_iov *iov, int iovcnt);

	/* TCP: consumes the n oldest received bytes (they were acknowledged
	 * by the app). Returns 0 or -errno. */
	int (*discard)(void *ctx, int sock, size_t n);

	/* TCP: shuts down the sending direction (our FIN to the host). */
	int (*shutdown_wr)(void *ctx, int sock);

	/* Reads and clears the socket's pending error into *out. Returns 1 if
	 * there was one, 0 if none, -errno on failure. */
	int (*sock_error)(void *ctx, int sock, struct core_sock_error *out);

	/* Asks for (or stops) readability and writability events. */
	void (*want)(void *ctx, int sock, bool readable, bool writable);

	/* Closes the socket; with reset set a TCP socket sends RST
	 * (SO_LINGER 0) instead of FIN. */
	void (*close)(void *ctx, int sock, bool reset);

	/* TCP: the host socket's own figures (Linux TCP_INFO) into *out
	 * (valid is set by the core). Returns 0, or -errno where the OS
	 * has none. May be NULL. */
	int (*tcp_info)(void *ctx, int sock, struct tp_tcp_side *out);
};

#endif
