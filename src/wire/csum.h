/* SPDX-License-Identifier: MIT */
/* csum.h - the Internet checksum (RFC 1071), incremental update (RFC 1624),
 * and the pseudo-headers of IPv4 (RFC 768/793) and IPv6 (RFC 8200 8.1).
 *
 * Sums are carried unfolded in a uint32_t so partial sums over several
 * buffers (header, then payload) can be chained; wire_csum_fold() turns the
 * running sum into the 16-bit one's-complement value to store in a header.
 * All values are in network byte order as they appear on the wire.
 */
#ifndef TP_WIRE_CSUM_H
#define TP_WIRE_CSUM_H

#include <stddef.h>
#include <stdint.h>

#include "wire/addr.h"

/* Adds len bytes at data to the running sum (data need not be aligned;
 * an odd trailing byte is padded with zero as RFC 1071 says). Chaining
 * requires every buffer but the last to have an even length. */
uint32_t wire_csum_add(uint32_t sum, const void *data, size_t len);

/* Folds a running sum to 16 bits and complements it: the value to put in a
 * checksum field (returned in network byte order, ready to memcpy). */
uint16_t wire_csum_fold(uint32_t sum);

/* The pseudo-header sum for an upper-layer packet of l4_len bytes with
 * protocol proto between src and dst of the given family (4 or 6). */
uint32_t wire_csum_pseudo(uint8_t family, const struct wire_addr *src,
			  const struct wire_addr *dst, uint8_t proto,
			  uint32_t l4_len);

/* RFC 1624 eqn. 3: the new checksum after a 16-bit field changes from
 * old_val to new_val, all in network byte order. */
uint16_t wire_csum_update16(uint16_t csum, uint16_t old_val, uint16_t new_val);

/* The same for a field of len bytes (even) changing from old to new. */
uint16_t wire_csum_update(uint16_t csum, const void *old_bytes,
			  const void *new_bytes, size_t len);

#endif
