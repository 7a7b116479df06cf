/* SPDX-License-Identifier: MIT */
/* tun_darwin.c - the TUN helpers of tunproxy.h on macOS and iOS.
 *
 * On Apple platforms the system owns the utun device: a Network Extension
 * gets its packets through NEPacketTunnelFlow (callback mode) or the utun
 * fd behind it (fd mode with TP_FRAMING_UTUN), and configures addresses
 * and routes with NEPacketTunnelNetworkSettings. tunproxy therefore
 * creates and configures nothing here; both helpers say so.
 */
#include "io/tunconn.h"
#include "tunproxy.h"

int tp_tun_open(const char *name, char actual_name[16])
{
	if (actual_name)
		actual_name[0] = '\0';
	return -TP_ENOTUN;
}

int tp_tun_open_offload(const char *name, char actual_name[16])
{
	return tp_tun_open(name, actual_name);
}

int tp_tun_configure(const char *name, uint32_t mtu, const char *ip4_cidr,
		     const char *ip6_cidr, tp_log_fn log, void *log_ctx)
{
	if (log)
		log(log_ctx, TP_LOG_ERROR,
		    "tp_tun_configure: not available on Apple platforms "
		    "(use NEPacketTunnelNetworkSettings)");
	return -TP_ENOTUN;
}

bool tun_try_uso(int fd)
{
	(void)fd;
	return false; /* utun has no virtio-net header */
}
