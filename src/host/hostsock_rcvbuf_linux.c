/* SPDX-License-Identifier: MIT */
/* hostsock_rcvbuf_linux.c - the bound on a host TCP socket's receive
 * buffer.
 *
 * Host data the app has not acknowledged stays in the kernel socket
 * (tcprx.h), and so does whatever the host sends beyond it. With the
 * kernel's autotuning each socket may grow to net.ipv4.tcp_rmem's maximum
 * (32 MiB on some kernels), and an app that stops acknowledging keeps it
 * all pinned. SO_RCVBUF fixes the buffer instead: the kernel doubles the
 * value it is given and charges each queued buffer's true size (payload
 * and overhead) against the result, so passing half of d->tcp_rcvbuf
 * bounds the socket's queued memory by d->tcp_rcvbuf. Setting it turns
 * autotuning off, so the value must cover the bandwidth-delay product of
 * the path to the host plus that of the path to the app (the bytes in
 * flight to the app are held here too): docs/robustness.md has the
 * arithmetic and the measurements behind the default.
 *
 * SO_RCVBUFFORCE passes net.core.rmem_max with CAP_NET_ADMIN (which a
 * proxy that made its TUN usually has); without it SO_RCVBUF is capped
 * there. The first socket's actual size is read back, and a cap is logged
 * once with the setting to raise.
 */
#include <stdint.h>
#include <sys/socket.h>

#include "host/driver.h"

void hostsock_tcp_rcvbuf(struct driver *d, int fd)
{
	if (d->tcp_rcvbuf == TP_RCVBUF_AUTO)
		return;
	uint32_t want = d->tcp_rcvbuf < 4096 ? 4096 : d->tcp_rcvbuf;
	int half = (int)(want / 2);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &half, sizeof(half)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &half,
				 sizeof(half));
	if (d->rcvbuf_checked)
		return;
	d->rcvbuf_checked = true;
	int got = 0;
	socklen_t gl = sizeof(got);
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl) == 0 &&
	    (uint32_t)got < want)
		driver_log(d, TP_LOG_WARN,
			   "host TCP receive buffers are %d bytes, not the %u "
			   "asked (no CAP_NET_ADMIN: capped at 2 x "
			   "net.core.rmem_max): downloads over long paths "
			   "may be slower; raise net.core.rmem_max, or "
			   "choose the kernel's autotuning (--host-rcvbuf "
			   "auto, tcp_host_rcvbuf TP_RCVBUF_AUTO)",
			   got, want);
}
