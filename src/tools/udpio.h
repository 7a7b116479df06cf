/* SPDX-License-Identifier: MIT */
/* udpio.h - the tools use the library's batched datagram I/O (one file per
 * OS: src/io/udpio_linux.c, src/io/udpio_darwin.c). */
#include "io/udpio.h"
