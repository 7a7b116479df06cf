/* SPDX-License-Identifier: MIT */
/* relay_impair.c - the up/down impairment stages of a relay tool (see
 * relay_impair.h). */
#include "relay_impair.h"

#include <errno.h>

#include "tool_util.h"
#include "tunproxy.h"

int relay_impair_parse(const char *prog, const char *v, struct impair_spec *s)
{
	char err[160];
	if (impair_spec_parse(v, s, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: --impair: %s\n", prog, err);
		return -1;
	}
	return 0;
}

void relay_impair_log(const struct impair_spec *s, const char *path)
{
	char is[256];
	if (!impair_spec_active(s))
		return;
	impair_spec_format(s, is, sizeof(is));
	tool_log(TP_LOG_INFO, "impairing %s: %s", path, is);
}

int relay_impair_create(const struct impair_spec *up_spec,
			const struct impair_spec *down_spec, uint32_t slot_size,
			struct impair **up, struct impair **down)
{
	if (impair_spec_active(up_spec) &&
	    !(*up = impair_create(up_spec, slot_size, 1)))
		return -ENOMEM;
	if (impair_spec_active(down_spec) &&
	    !(*down = impair_create(down_spec, slot_size, 2)))
		return -ENOMEM;
	return 0;
}

int relay_impair_poll_timeout(const struct impair *up,
			      const struct impair *down, int timeout_ms)
{
	uint64_t due = UINT64_MAX;
	if (up)
		due = impair_next_due(up);
	if (down && impair_next_due(down) < due)
		due = impair_next_due(down);
	if (due == UINT64_MAX)
		return timeout_ms;
	uint64_t now = os_clock_us();
	uint64_t ms = due <= now ? 0 : (due - now + 999) / 1000;
	if (timeout_ms >= 0 && (uint64_t)timeout_ms < ms)
		return timeout_ms;
	return (int)(ms > 60000 ? 60000 : ms);
}

void relay_impair_print_stats_end(const struct impair *up,
				  const struct impair *down, FILE *f)
{
	impair_print_stats(up, "impair_up_", f);
	impair_print_stats(down, "impair_down_", f);
	tool_counters_end(f);
}
