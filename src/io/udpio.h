/* SPDX-License-Identifier: MIT */
/* udpio.h - batched UDP datagram I/O: the UDP dev transport
 * (tunconn_udp.c) and the tools (device, tee).
 *
 * One interface, one file per OS: udpio_linux.c uses recvmmsg/sendmmsg,
 * so a batch of datagrams costs one system call each way; udpio_darwin.c
 * loops over recvmsg/sendmsg (Darwin has no batched calls), one system
 * call per datagram with the same results. Sends never block: what the
 * socket buffer cannot take is dropped and counted, like a lossy link
 * (the app's TCP recovers).
 */
#ifndef TP_IO_UDPIO_H
#define TP_IO_UDPIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define UDPIO_BATCH 64

/* One datagram to receive: buf/cap are the caller's; recv fills len and
 * the sender's address. */
struct udpio_in {
	uint8_t *buf;
	size_t cap;
	size_t len;
	struct sockaddr_storage from;
	socklen_t from_len;
};

/* One datagram to send: to NULL sends to the connected peer. */
struct udpio_out {
	const uint8_t *data;
	size_t len;
	const struct sockaddr_storage *to;
	socklen_t to_len;
};

/* Receives up to n (<= UDPIO_BATCH) datagrams without blocking. Returns
 * how many, 0 if none is waiting, or -errno. A pending ICMP error on the
 * socket (e.g. ECONNREFUSED: the peer is not up yet) is consumed and
 * reported as 0. */
int udpio_recv(int fd, struct udpio_in *m, int n);

/* Sends n (<= UDPIO_BATCH) datagrams without blocking. Returns how many
 * the kernel took; the rest are dropped and *failed is increased by their
 * number. A fatal socket error (EBADF, ENOTSOCK) returns -errno. */
int udpio_send(int fd, const struct udpio_out *m, int n, uint64_t *failed);

/* A UDP socket of family (AF_INET, AF_INET6), non-blocking and
 * close-on-exec, its buffers raised towards UDPIO_SOCK_BUF as far as the
 * system lets it (on Linux past net.core.[rw]mem_max with CAP_NET_ADMIN).
 * Returns the fd or -errno. */
#define UDPIO_SOCK_BUF (4 << 20)
int udpio_socket(int family);

#endif
