/* SPDX-License-Identifier: MIT */
/* tun_vnet.h - the virtio-net header of a Linux TUN opened with
 * IFF_VNET_HDR, and GSO super-packets built from runs of TCP segments.
 *
 * With the header on and the offloads granted (TUNSETOFFLOAD: TUN_F_CSUM,
 * TUN_F_TSO4, TUN_F_TSO6), each read returns one packet behind a 10-byte
 * header that may say "checksum left partial" (the kernel vouches for the
 * data) and "TCP super-packet of up to 64 KB, cut at gso_size" (the app's
 * TCP handed the device one segment where it would have sent up to 44).
 * Writes go the other way: consecutive full-size segments of one TCP
 * connection, which the engine builds one per slot, leave as one
 * super-packet, so the kernel runs the app's receive path once per 64 KB
 * instead of once per segment.
 *
 * Pure functions over packet bytes (no I/O): tunconn_fd.c does the reads
 * and writev()s. Header fields are in host byte order (legacy virtio,
 * which TUN uses unless told otherwise).
 */
#ifndef TP_IO_TUN_VNET_H
#define TP_IO_TUN_VNET_H

#include <stddef.h>
#include <stdint.h>

#include "core/engine.h"

#define VNET_HDR_LEN 10

enum {
	VNET_F_NEEDS_CSUM = 1, /* checksum partial: csum_start/offset */
	VNET_F_DATA_VALID = 2  /* checksum already verified */
};

enum {
	VNET_GSO_NONE = 0,
	VNET_GSO_TCPV4 = 1,
	VNET_GSO_TCPV6 = 4,
	VNET_GSO_UDP_L4 = 5, /* USO: UDP datagrams cut at gso_size */
	VNET_GSO_ECN = 0x80
};

struct vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

void vnet_hdr_read(const uint8_t *p, struct vnet_hdr *h);
void vnet_hdr_write(uint8_t *p, const struct vnet_hdr *h);

/**
 * vnet_gso_run() - how many packets, from the first, go as one
 * @pkts:	outgoing packets (the engine's, as built: full checksums)
 * @n:		how many (>= 1)
 *
 * Counts the leading packets that are segments of one TCP connection,
 * back to back in sequence, all with the first's payload size but the
 * last (which may be shorter and may carry PSH or FIN), the same header
 * bytes otherwise, and at most 65535 bytes together, headers included
 * (IPv6 too). Returns at least 1.
 */
int vnet_gso_run(const struct core_tx_pkt *pkts, int n);

/**
 * vnet_gso_merge() - turn the first packet's header into the run's
 * @pkts:	the run (k >= 2 packets from vnet_gso_run); pkts[0]'s IP
 *		length, IPv4 header checksum, TCP flags and TCP checksum
 *		are rewritten in place
 * @k:		its length
 * @h:		filled: the virtio-net header to write before it
 *
 * Returns the length of the IP and TCP headers: the other packets of the
 * run contribute only the bytes after that.
 */
size_t vnet_gso_merge(struct core_tx_pkt *pkts, int k, struct vnet_hdr *h);

/**
 * vnet_uso_run() - how many UDP datagrams, from the first, go as one
 * @pkts:	outgoing packets (the engine's, as built)
 * @n:		how many (>= 1)
 *
 * Counts the leading packets that are unfragmented UDP datagrams of one
 * flow (same addresses, ports and other header bytes), all with the
 * first's payload size but the last (which may be shorter), at most
 * VNET_USO_SEGS of them and 64 KB together: what the receiving kernel
 * cuts back into the same datagrams (UDP segmentation offload, Linux 6.2
 * TUN_F_USO4/USO6). Returns at least 1.
 */
#define VNET_USO_SEGS 64
int vnet_uso_run(const struct core_tx_pkt *pkts, int n);

/**
 * vnet_uso_merge() - the UDP counterpart of vnet_gso_merge: pkts[0]'s IP
 * length, IPv4 header checksum, UDP length and checksum (left partial)
 * are rewritten for the whole run. Returns the IP + UDP header length.
 */
size_t vnet_uso_merge(struct core_tx_pkt *pkts, int k, struct vnet_hdr *h);

#endif
