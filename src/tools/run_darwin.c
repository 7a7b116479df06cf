/* SPDX-License-Identifier: MIT */
/* run_darwin.c - `tunproxy run` on macOS: not available.
 *
 * run puts CMD in a network namespace of its own whose only way out is a
 * TUN (run_linux.c, run_ns_linux.c). macOS has no network namespaces, so
 * there is no way to give one command, and nothing else, a tunnel: the
 * development loop there is device, tee, proxy and capture
 * (docs/devloop.md).
 */
#include <stdio.h>

#include "run.h"

int run_main(const struct run_args *a)
{
	(void)a;
	fprintf(stderr,
		"tunproxy: 'tunproxy run' needs Linux network namespaces and "
		"is not available on macOS.\n"
		"  Use the development loop instead: tunproxy tee, tunproxy "
		"--listen udp:..., tunproxy capture and tunproxy device "
		"(docs/devloop.md).\n");
	return 1;
}
