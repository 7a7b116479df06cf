#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# build-apple.sh: libtunproxy for Apple platforms, as one XCFramework.
#
# Builds the static library (the public API, driver and core: tunproxy_lib,
# tp_core and tp_wire merged into one libtunproxy.a) with CMake for
#   ios           iOS devices          arm64                 iOS  >= IOS_MIN
#   ios-sim       iOS simulator        arm64 + x86_64 (lipo) iOS  >= IOS_MIN
#   macos         macOS                arm64 + x86_64 (lipo) macOS >= MACOS_MIN
# and combines them with xcodebuild -create-xcframework into
#   $OUT/TunProxy.xcframework
# whose Headers/TunProxy/ holds tunproxy.h and module.modulemap (module
# TunProxy: `import TunProxy` in Swift). The subdirectory keeps the module
# map from colliding with other libraries' in Xcode's shared include dir.
# CMakeLists.txt picks the Darwin files (poller_kqueue.c, *_darwin.c,
# tcprx_copy.c); only the library targets are built here (for the macOS
# command-line tools, build natively: docs/devloop.md, "On a Mac").
#
# Each slice is described by cmake/apple-toolchain.cmake (platform,
# architecture, minimum OS -> system name, SDK, target triple): the same
# file the CI cross-build uses with Zig's compiler (scripts/cross-apple.sh),
# so the two cannot drift apart.
#
# Needs macOS with Xcode (xcrun, xcodebuild, libtool, lipo) and CMake 3.25+.
# It cannot run on Linux; DRY_RUN=1 prints every command instead of running
# it, which works anywhere (see docs/embedding.md for what is verified).
#
# Environment: OUT (default build-apple/), IOS_MIN (14.0), MACOS_MIN (11.0),
# BUILD_TYPE (Release), JOBS, DRY_RUN=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=${OUT:-$ROOT/build-apple}
IOS_MIN=${IOS_MIN:-14.0}
MACOS_MIN=${MACOS_MIN:-11.0}
BUILD_TYPE=${BUILD_TYPE:-Release}
JOBS=${JOBS:-$(sysctl -n hw.ncpu 2>/dev/null || nproc 2>/dev/null || echo 4)}
DRY_RUN=${DRY_RUN:-0}

run() {
	if [ "$DRY_RUN" = 1 ]; then
		printf '+ %s\n' "$*"
	else
		"$@"
	fi
}

if [ "$DRY_RUN" != 1 ]; then
	if [ "$(uname -s)" != Darwin ]; then
		echo "build-apple.sh: needs macOS with Xcode (DRY_RUN=1 prints the commands)" >&2
		exit 1
	fi
	for tool in xcrun xcodebuild cmake; do
		command -v "$tool" >/dev/null || { echo "build-apple.sh: $tool not found" >&2; exit 1; }
	done
fi

# slice NAME PLATFORM ARCH MIN: one architecture of one platform, as a
# merged static library $OUT/NAME/libtunproxy.a. The toolchain file turns
# PLATFORM (macos, ios, ios-sim), ARCH and MIN into the SDK and the target
# triple, which carries the OS, the minimum version and "-simulator", so
# arm64 for devices and arm64 for the simulator cannot be confused.
slice() {
	local name=$1 platform=$2 arch=$3 min=$4 dir="$OUT/$1"
	echo "== $name ($platform $arch, minimum $min)"
	run cmake -S "$ROOT" -B "$dir" \
		-DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/apple-toolchain.cmake" \
		-DTP_APPLE_PLATFORM="$platform" \
		-DTP_APPLE_ARCH="$arch" \
		-DTP_APPLE_MIN="$min" \
		-DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
		-DTP_TESTS=OFF
	run cmake --build "$dir" -j "$JOBS" --target tunproxy_lib tp_core tp_wire
	# One archive with everything an app links.
	run xcrun libtool -static -no_warning_for_no_symbols -o "$dir/libtunproxy-all.a" \
		"$dir/libtunproxy.a" "$dir/libtp_core.a" "$dir/libtp_wire.a"
}

# fat NAME SLICES...: lipo the slices' libraries into $OUT/NAME.
fat() {
	local name=$1 s args=()
	shift
	for s in "$@"; do
		args+=("$OUT/$s/libtunproxy-all.a")
	done
	run mkdir -p "$OUT/$name"
	run xcrun lipo -create "${args[@]}" -output "$OUT/$name/libtunproxy.a"
}

run rm -rf "$OUT/TunProxy.xcframework" "$OUT/headers"
slice ios-arm64 ios arm64 "$IOS_MIN"
slice ios-sim-arm64 ios-sim arm64 "$IOS_MIN"
slice ios-sim-x86_64 ios-sim x86_64 "$IOS_MIN"
slice macos-arm64 macos arm64 "$MACOS_MIN"
slice macos-x86_64 macos x86_64 "$MACOS_MIN"
fat ios ios-arm64
fat ios-sim ios-sim-arm64 ios-sim-x86_64
fat macos macos-arm64 macos-x86_64

# Headers: the public header and the module map, nothing else.
run mkdir -p "$OUT/headers/TunProxy"
run cp "$ROOT/include/tunproxy.h" "$ROOT/include/module.modulemap" "$OUT/headers/TunProxy/"

run xcodebuild -create-xcframework \
	-library "$OUT/ios/libtunproxy.a" -headers "$OUT/headers" \
	-library "$OUT/ios-sim/libtunproxy.a" -headers "$OUT/headers" \
	-library "$OUT/macos/libtunproxy.a" -headers "$OUT/headers" \
	-output "$OUT/TunProxy.xcframework"
echo "build-apple.sh: $OUT/TunProxy.xcframework"
