/* SPDX-License-Identifier: MIT */
/* udp.h - UDP flows: what UDP does its own way (dgram.h does the rest). */
#ifndef TP_CORE_UDP_H
#define TP_CORE_UDP_H

#include "core/dgram.h"

extern const struct dgram_proto udp_dgram;

#endif
