/* SPDX-License-Identifier: MIT */
/* fuzz_names_http.c - libFuzzer entry point; the harness is fz_http_run() in
 * fuzz/harness_names.c, shared with tests/unit/test_fuzz_regressions.c. */
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_http_run(data, size);
	return 0;
}
