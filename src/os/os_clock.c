/* SPDX-License-Identifier: MIT */
/* os_clock.c - the monotonic clock (see os_clock.h). */
#include "os/os_clock.h"

#include <time.h>

uint64_t os_clock_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
