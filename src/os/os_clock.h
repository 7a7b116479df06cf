/* SPDX-License-Identifier: MIT */
/* os_clock.h - the monotonic clock in microseconds, the time base of the
 * driver's loop, the dev transport's session rule and the tools (one
 * function where each had its own copy; plain POSIX, every OS). The core
 * never reads it: its callers pass `now` in. */
#ifndef TP_OS_OS_CLOCK_H
#define TP_OS_OS_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in microseconds: never goes back, counts from an
 * unspecified start (only differences mean anything). */
uint64_t os_clock_us(void);

#endif
