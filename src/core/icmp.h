/* SPDX-License-Identifier: MIT */
/* icmp.h - ICMP/ICMPv6 echo flows through ping (or raw) sockets: what
 * echo does its own way (dgram.h does the rest). */
#ifndef TP_CORE_ICMP_H
#define TP_CORE_ICMP_H

#include "core/dgram.h"

extern const struct dgram_proto icmp_dgram;

#endif
