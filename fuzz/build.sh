#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets into build-fuzz/ with clang, ASan and UBSan:
#   fuzz_packet_parse fuzz_tcp_opts fuzz_reasm fuzz_router
#   fuzz_devtransport fuzz_vnet fuzz_capture fuzz_names_dns fuzz_names_sni
#   fuzz_names_http
# The sans-I/O code (src/wire, src/core), the packet sources in front of it
# (src/io: the UDP dev transport, the TUN fd with virtio-net headers; the
# src/os helpers they use: addresses, clock, log lines), the capture's
# reader (src/tools: mirror stream, filter, pcapng), the shared harnesses
# (fuzz/harness_*.c) and the fake host they share with the unit tests
# (tests/unit/support/fake_host.c, which needs no cmocka) are compiled
# once with coverage instrumentation, then linked with each target's entry
# point. Installs clang and its sanitizer runtime with apt-get (Debian 12)
# when they are missing and we are root.
#
# Environment: CC (default clang), JOBS (parallel compiles, default: CPUs),
# FUZZ_BUILD (output directory, default build-fuzz), FUZZ_CFLAGS (added to
# the flags, e.g. coverage: see docs/robustness.md).
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=${FUZZ_BUILD:-$ROOT/build-fuzz}
CC=${CC:-clang}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
TARGETS="packet_parse tcp_opts reasm router devtransport vnet capture names_dns
  names_sni names_http"

have_fuzzer() {
	command -v "$CC" >/dev/null 2>&1 || return 1
	echo 'int LLVMFuzzerTestOneInput(const char *d, long n){return 0;}' |
		"$CC" -x c -fsanitize=fuzzer,address,undefined -o /dev/null - \
			>/dev/null 2>&1
}

if ! have_fuzzer; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "fuzz/build.sh: installing clang and libclang-rt-14-dev"
		export DEBIAN_FRONTEND=noninteractive
		{ apt-get update -qq &&
			apt-get install -y -qq --no-install-recommends clang \
				libclang-rt-14-dev; } >/tmp/tunproxy-fuzz-apt.log 2>&1 ||
			{ tail -n 20 /tmp/tunproxy-fuzz-apt.log >&2; exit 1; }
	fi
	have_fuzzer || {
		echo "fuzz/build.sh: $CC cannot build libFuzzer targets" \
			"(install clang and libclang-rt-14-dev)" >&2
		exit 1
	}
fi

CFLAGS="-std=gnu17 -g -O1 -fno-omit-frame-pointer -Wall -Wextra
  -Wno-unused-parameter -fno-strict-aliasing
  -fsanitize=address,undefined -fno-sanitize-recover=undefined
  -I$ROOT/src -I$ROOT/include -I$ROOT/fuzz -I$ROOT/src/tools
  -I$ROOT/tests/unit ${FUZZ_CFLAGS:-}"

rm -rf "$OUT/obj"
mkdir -p "$OUT/obj"
SRCS=$(ls "$ROOT"/src/wire/*.c "$ROOT"/src/core/*.c "$ROOT"/fuzz/harness_*.c \
	"$ROOT"/src/io/tunconn_udp.c "$ROOT"/src/io/tunconn_fd.c \
	"$ROOT"/src/io/tun_vnet.c "$ROOT"/src/io/tun_linux.c \
	"$ROOT"/src/io/udpio_linux.c "$ROOT"/src/os/os_addr.c \
	"$ROOT"/src/os/os_clock.c "$ROOT"/src/os/os_log.c \
	"$ROOT"/src/tools/logline.c \
	"$ROOT"/src/tools/toolos_linux.c \
	"$ROOT"/src/tools/capture_stream.c "$ROOT"/src/tools/capture_filter.c \
	"$ROOT"/src/tools/mirror.c "$ROOT"/src/tools/pcapng.c \
	"$ROOT"/src/tools/tool_util.c "$ROOT"/tests/unit/support/fake_host.c)
export CC CFLAGS OUT
# One object per source, compiled in parallel; names keep their directory
# so src/core/x.c and fuzz/x.c cannot collide.
# shellcheck disable=SC2016 # expanded by the inner shell
printf '%s\n' $SRCS | xargs -P "$JOBS" -I{} sh -c '
	src={}; rel=${src#'"$ROOT"'/}; obj="$OUT/obj/$(echo "$rel" | tr / _).o"
	# shellcheck disable=SC2086
	$CC $CFLAGS -fsanitize=fuzzer-no-link -c "$src" -o "$obj" || exit 255'
OBJS=$(ls "$OUT"/obj/*.o)

for t in $TARGETS; do
	# shellcheck disable=SC2086 # word splitting of flags and objects
	$CC $CFLAGS -fsanitize=fuzzer "$ROOT/fuzz/fuzz_$t.c" $OBJS \
		-o "$OUT/fuzz_$t"
done
echo "fuzz/build.sh: built $(for t in $TARGETS; do printf 'fuzz_%s ' "$t"; done)in $OUT"
