/* SPDX-License-Identifier: MIT */
/* fuzz_tcp_opts.c - libFuzzer entry point; the harness is fz_tcp_opts_run() in
 * fuzz/harness_*.c, shared with tests/unit/test_fuzz_regressions.c. */
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_tcp_opts_run(data, size);
	return 0;
}
