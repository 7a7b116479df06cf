#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check_apple.sh ROOT WORKDIR: what can be checked of the Apple build on
# Linux, without an Apple SDK (CTest: unit.apple_module, unit.apple_sources).
#
#   module   include/module.modulemap: "@import TunProxy;" (module_check.m,
#            which touches every function of the API) compiles with
#            -fmodules for every target triple scripts/build-apple.sh
#            builds (its slices, through cmake/apple-toolchain.cmake, as
#            the real build derives them), freestanding (the public header needs only stddef.h
#            and stdint.h, which clang ships); the header also compiles
#            as C through the module and as C++. A negative control (a
#            module that does not exist) must fail, so the check cannot
#            pass vacuously.
#   cmake    CMakeLists.txt configured for CMAKE_SYSTEM_NAME=Darwin (with
#            the compiler checks skipped: no SDK) picks exactly the Darwin
#            files: poller_kqueue.c, *_darwin.c, tcprx_copy.c, and no
#            *_linux.c or poller_epoll.c, for the library and the tools
#            (tp_tools: run_darwin.c, toolos_darwin.c). (CMake's iOS
#            platform needs Xcode even to configure; it uses the same rule.)
#   sources  every file only Apple builds compile (src/**/*_darwin.c,
#            *_kqueue.c, and tcprx_copy.c, which Linux builds too with
#            TP_TCPRX_COPY=ON) passes clang -fsyntax-only -Wall -Wextra
#            -Werror against this machine's libc headers, with
#            tests/apple/shim/sys/event.h for kqueue and the one Darwin-only
#            constant (SO_NOSIGPIPE) defined on the command line. Then no
#            file of the Apple source list (CMakeLists.txt's rule: not
#            *_linux.c, *_epoll.c; library, tools and examples) may use a
#            Linux-only header or call, comments aside.
# scripts/cross-apple.sh (unit.apple_cross) goes further: it compiles and
# links all of it for macOS with Zig's bundled Apple headers.
# What this does not prove: that Apple's own headers accept these files,
# or anything about their behaviour on Darwin (docs/embedding.md).
set -u
ROOT=$1
WORK=$2
WHAT=${3:-all}
CLANG=${CLANG:-clang}
command -v "$CLANG" >/dev/null 2>&1 || { echo "SKIP: no clang"; exit 77; }
command -v gcc >/dev/null 2>&1 || { echo "SKIP: no gcc"; exit 77; }
mkdir -p "$WORK"
fail=0
say() { printf 'check_apple: %s\n' "$*"; }
bad() { say "FAIL: $*"; fail=1; }

# The target triples of scripts/build-apple.sh's slices, as
# cmake/apple-toolchain.cmake derives them (its default minimum versions).
build_apple_triples() {
	local IOS_MIN=14.0 MACOS_MIN=11.0 name platform arch min
	# shellcheck disable=SC2034 # read by the eval
	grep -E '^slice [a-z0-9_-]+ ' "$ROOT/scripts/build-apple.sh" |
		while read -r _ name platform arch min; do
			eval "min=$min"
			cmake -DTP_APPLE_PLATFORM="$platform" -DTP_APPLE_ARCH="$arch" \
				-DTP_APPLE_MIN="$min" -P "$ROOT/tests/apple/print_triple.cmake" 2>&1
		done
}

check_module() {
	local t triples
	triples=$(build_apple_triples)
	[ "$(wc -w <<<"$triples")" = 5 ] || bad "module: expected 5 slices in build-apple.sh, got: $triples"
	for t in $triples; do
		if "$CLANG" -target "$t" -ffreestanding -fmodules -fsyntax-only \
			-Wall -Wextra -Werror -Wno-unused-parameter \
			-fmodules-cache-path="$WORK/modcache-$t" \
			-I "$ROOT/include" -x objective-c "$ROOT/tests/apple/module_check.m" \
			2>"$WORK/module-$t.log"; then
			say "module: @import TunProxy ok for $t"
		else
			bad "module: @import TunProxy for $t:"
			cat "$WORK/module-$t.log"
		fi
	done
	printf '#include <tunproxy.h>\nint f(void);\nint f(void) { return TP_API_VERSION; }\n' \
		>"$WORK/include_check.c"
	"$CLANG" -fmodules -fsyntax-only -Wall -Werror -fmodules-cache-path="$WORK/modcache-c" \
		-I "$ROOT/include" "$WORK/include_check.c" ||
		bad "module: #include <tunproxy.h> through the module map (C)"
	"$CLANG" -x c++ -std=c++17 -fsyntax-only -Wall -Werror -I "$ROOT/include" \
		"$WORK/include_check.c" || bad "the public header as C++"
	printf '@import NoSuchModuleTP;\n' >"$WORK/negative.m"
	if "$CLANG" -fmodules -fsyntax-only -fmodules-cache-path="$WORK/modcache-neg" \
		-I "$ROOT/include" "$WORK/negative.m" 2>/dev/null; then
		bad "negative control: importing a missing module succeeded"
	fi
}

# The files the Apple build compiles (CMakeLists.txt picks them).
apple_sources() {
	find "$ROOT/src/wire" "$ROOT/src/core" "$ROOT/src/os" "$ROOT/src/host" "$ROOT/src/io" \
		"$ROOT/src/api" "$ROOT/src/tools" "$ROOT/examples" -name '*.c' |
		sort | grep -Ev '_(linux|epoll)\.c$'
}

# The code of a C file without its comments (gcc's preprocessor in
# "already preprocessed" mode: comments go, nothing is expanded) and
# without the text of its string literals (help texts name Linux calls).
strip_comments() {
	local out
	out=$(gcc -fpreprocessed -dD -E -P "$1" 2>/dev/null) && [ -n "$out" ] &&
		printf '%s\n' "$out" | sed -E 's/"([^"\\]|\\.)*"/""/g'
}

check_sources() {
	local f n=0 code
	# The library's Darwin files (the tools' use macOS-only headers such
	# as sys/kern_control.h: unit.apple_cross compiles them against Zig's
	# copy of Apple's headers instead).
	for f in $(find "$ROOT/src/host" "$ROOT/src/io" -name '*_darwin.c' -o -name '*_kqueue.c' |
		sort) "$ROOT/src/host/tcprx_copy.c" "$ROOT/src/host/tcprx.c"; do
		n=$((n + 1))
		if ! "$CLANG" -std=gnu17 -fsyntax-only -Wall -Wextra -Werror \
			-Wno-unused-parameter -DSO_NOSIGPIPE=0x1022 \
			-isystem "$ROOT/tests/apple/shim" -I "$ROOT/src" -I "$ROOT/include" \
			"$f"; then
			bad "syntax: ${f#"$ROOT"/}"
		fi
	done
	say "sources: $n Apple-only files pass clang -fsyntax-only -Werror"
	# Linux-only headers and calls, in code (comments stripped).
	local pat='linux/|sys/epoll\.h|sys/eventfd\.h|sys/random\.h|epoll_|eventfd|getrandom|SO_PEEK_OFF|MSG_MORE|MSG_NOSIGNAL|MSG_ERRQUEUE|IP_RECVERR|SOCK_NONBLOCK|SOCK_CLOEXEC|recvmmsg|sendmmsg|TUNSETIFF|accept4|pipe2'
	n=0
	for f in $(apple_sources); do
		n=$((n + 1))
		code=$(strip_comments "$f") || { bad "cannot read ${f#"$ROOT"/}"; continue; }
		if grep -nE "$pat" <<<"$code" >"$WORK/linux-only.txt"; then
			bad "Linux-only code in ${f#"$ROOT"/}:"
			cat "$WORK/linux-only.txt"
		fi
	done
	say "sources: none of the $n files of the Apple build uses a Linux-only call"
	# Control: the same scan does see the Linux files' calls.
	code=$(strip_comments "$ROOT/src/host/tcprx_peekoff_linux.c")
	grep -qE "$pat" <<<"$code" || bad "control: the scan missed SO_PEEK_OFF in tcprx_peekoff_linux.c"
}

check_cmake() {
	local dir="$WORK/cmake-darwin" list f
	rm -rf "$dir"
	if ! cmake -S "$ROOT" -B "$dir" -DCMAKE_SYSTEM_NAME=Darwin \
		-DCMAKE_C_COMPILER="$CLANG" -DCMAKE_C_COMPILER_WORKS=1 \
		-DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY -DTP_TESTS=OFF \
		-DCMAKE_C_FLAGS="-target arm64-apple-macos11.0" \
		-DCMAKE_THREAD_LIBS_INIT=-lpthread -DCMAKE_HAVE_THREADS_LIBRARY=1 \
		-DCMAKE_USE_PTHREADS_INIT=1 -DThreads_FOUND=TRUE >"$dir.log" 2>&1; then
		bad "cmake: configuring for Darwin failed:"
		tail -n 20 "$dir.log"
		return
	fi
	list=$(grep -o 'src/[a-z]*/[a-z0-9_]*\.c' "$dir/CMakeFiles/tunproxy_lib.dir/build.make" |
		sort -u)
	for f in src/host/poller_kqueue.c src/host/hostsock_darwin.c src/os/os_darwin.c \
		src/host/tcprx_copy.c src/io/tun_darwin.c src/io/tunconn_udp.c \
		src/io/udpio_darwin.c \
		src/host/tcprx.c src/host/tcprx_peekoff_darwin.c \
		src/host/hostsock.c src/host/driver.c src/api/tp.c; do
		grep -qx "$f" <<<"$list" || bad "cmake: the Darwin build lacks $f"
	done
	if grep -E '_linux\.c$|_epoll\.c$' <<<"$list"; then
		bad "cmake: the Darwin build compiles the Linux files above"
	fi
	say "cmake: the Darwin build picks $(wc -l <<<"$list") files, the Darwin ones"
	list=$(grep -o 'src/tools/[a-z0-9_]*\.c' "$dir/CMakeFiles/tp_tools.dir/build.make" |
		sort -u)
	for f in src/tools/run_darwin.c src/tools/toolos_darwin.c src/tools/tee.c \
		src/tools/device.c src/tools/capture.c; do
		grep -qx "$f" <<<"$list" || bad "cmake: the macOS tools lack $f"
	done
	if grep -E '_linux\.c$' <<<"$list"; then
		bad "cmake: the macOS tools compile the Linux files above"
	fi
}

case $WHAT in
module) check_module ;;
sources) check_sources ;;
cmake) check_cmake ;;
*) check_module; check_sources; check_cmake ;;
esac
exit $fail
