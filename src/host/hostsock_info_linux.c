/* SPDX-License-Identifier: MIT */
/* hostsock_info_linux.c - the host socket's TCP_INFO for tp_flows.
 *
 * The kernel's struct tcp_info (linux/tcp.h) only grows at its end, and
 * getsockopt says how much of it was filled: fields past that length stay
 * 0 (tcpi_snd_wnd needs Linux 5.4, the *_limited times 4.10).
 */
#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "host/driver.h"
#include "host/flowreq.h"

int hostsock_tcp_info(void *ctx, int sock, struct tp_tcp_side *out)
{
	struct driver *d = ctx;
	if (sock < 0 || (uint32_t)sock >= d->high ||
	    d->socks[sock].kind != HS_TCP || d->socks[sock].fd < 0)
		return -EBADF;
	struct tcp_info ti;
	memset(&ti, 0, sizeof(ti));
	socklen_t len = sizeof(ti);
	if (getsockopt(d->socks[sock].fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	uint32_t mss = ti.tcpi_snd_mss;
	out->srtt_us = ti.tcpi_rtt;
	out->rttvar_us = ti.tcpi_rttvar;
	out->min_rtt_us = ti.tcpi_min_rtt;
	out->mss = mss;
	out->cwnd = ti.tcpi_snd_cwnd * mss;
	out->ssthresh = ti.tcpi_snd_ssthresh >= 0x7fffffffu / (mss ? mss : 1)
			    ? UINT32_MAX
			    : ti.tcpi_snd_ssthresh * mss;
	/* RFC 6675's pipe, as tcp_packets_in_flight() counts it. */
	uint32_t pipe =
	    ti.tcpi_unacked - ti.tcpi_sacked - ti.tcpi_lost + ti.tcpi_retrans;
	out->in_flight =
	    pipe > ti.tcpi_unacked + ti.tcpi_retrans ? 0 : pipe * mss;
	out->peer_window = ti.tcpi_snd_wnd;
	out->retransmits = ti.tcpi_total_retrans;
	out->recovered = ti.tcpi_sacked;
	out->timeouts = ti.tcpi_backoff;
	/* The kernel times what held the sender back (its "chrono"s): the
	 * largest names the limit. */
	uint64_t busy = ti.tcpi_busy_time, rwnd = ti.tcpi_rwnd_limited,
		 sndbuf = ti.tcpi_sndbuf_limited;
	if (!busy && !rwnd && !sndbuf)
		out->limited = TP_LIMIT_NONE;
	else if (rwnd >= sndbuf && rwnd >= busy)
		out->limited = TP_LIMIT_WINDOW;
	else if (sndbuf >= busy)
		out->limited = TP_LIMIT_MEMORY;
	else
		out->limited =
		    pipe * mss + mss > out->cwnd ? TP_LIMIT_CWND : TP_LIMIT_APP;
	return 0;
}
