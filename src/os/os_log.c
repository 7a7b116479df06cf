/* SPDX-License-Identifier: MIT */
/* os_log.c - a log line through the embedder's callback (see os_log.h). */
#include "os/os_log.h"

#include <stdio.h>

void os_vlog(tp_log_fn fn, void *ctx, uint32_t max, enum tp_log_level level,
	     const char *fmt, va_list ap)
{
	if (!fn || (uint32_t)level > max)
		return;
	char line[256];
	vsnprintf(line, sizeof(line), fmt, ap);
	fn(ctx, level, line);
}
