/* SPDX-License-Identifier: MIT */
/* os_log.h - one log line through the embedder's callback (tp_config.log)
 * for the layers above the core: the driver (driver_log) and the dev
 * transport. The core has its own (src/core/log.c: it may not include
 * this layer, and it rate-limits). */
#ifndef TP_OS_OS_LOG_H
#define TP_OS_OS_LOG_H

#include <stdarg.h>
#include <stdint.h>

#include "tunproxy.h"

/* Formats fmt into a line of at most 255 bytes (longer is cut) and
 * passes it to fn(ctx, level, line) when fn is set and level <= max
 * (tp_config.log_level). */
void os_vlog(tp_log_fn fn, void *ctx, uint32_t max, enum tp_log_level level,
	     const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

#endif
