/* SPDX-License-Identifier: MIT */
/* hostsock_info_darwin.c - no TCP_INFO for tp_flows on Apple platforms
 * yet (TCP_CONNECTION_INFO would do): the host side is reported as not
 * valid. */
#include <errno.h>

#include "host/flowreq.h"

int hostsock_tcp_info(void *ctx, int sock, struct tp_tcp_side *out)
{
	(void)ctx;
	(void)sock;
	(void)out;
	return -ENOTSUP;
}
