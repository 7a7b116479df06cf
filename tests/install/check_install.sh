#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check_install.sh SOURCE_DIR BUILD_DIR CC [CFLAGS]: `cmake --install` into a
# temporary prefix puts every file of cmake/install.cmake in place, and an
# app builds against that prefix alone (examples/embed.c, as installed):
#   1. pkg-config --cflags --libs tunproxy    (the shared library)
#   2. pkg-config --static                    (the archive, -static link
#                                              of libtunproxy only)
#   3. find_package(tunproxy) -> tunproxy::tunproxy, in a fresh CMake
#      project
# Each program must run: `embed --bogus` prints its usage and exits 2, and
# the dynamic ones must resolve libtunproxy.so.0 from the prefix. CFLAGS
# (e.g. -fsanitize=address,undefined for a sanitizer tree) go to every
# compile and link of the app.
set -u
src=$1 build=$2 cc=$3 appflags=${4:-}
tmp=$(mktemp -d /tmp/tp-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
die() { echo "FAIL: $*"; fail=1; }

prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; echo "FAIL: cmake --install"; exit 1; }
libdir=$(cd "$prefix" && ls -d lib* | head -n 1)
libdir=$prefix/$libdir
[ -d "$libdir/pkgconfig" ] || libdir=$(dirname "$(find "$prefix" -name tunproxy.pc)")/..
for f in bin/tunproxy include/tunproxy.h share/man/man1/tunproxy.1 \
	share/doc/tunproxy/examples/tunproxy.service share/doc/tunproxy/examples/embed.c \
	share/doc/tunproxy/LICENSE; do
	[ -e "$prefix/$f" ] || die "not installed: $f"
done
for f in libtunproxy.a libtunproxy.so libtunproxy.so.0 pkgconfig/tunproxy.pc \
	cmake/tunproxy/tunproxy-config.cmake cmake/tunproxy/tunproxy-config-version.cmake; do
	[ -e "$libdir/$f" ] || die "not installed: LIBDIR/$f"
done
"$prefix/bin/tunproxy" --version | grep -q '^tunproxy [0-9]' || die "installed tunproxy --version"

# run_embed EXE: the program starts (its libraries resolve) and rejects
# a bad option with its usage and exit 2.
run_embed() {
	local rc
	LD_LIBRARY_PATH=$libdir "$1" --bogus >/dev/null 2>"$tmp/embed.err"
	rc=$?
	[ $rc = 2 ] || { die "$1 --bogus: exit $rc, want 2"; cat "$tmp/embed.err"; }
}
embed=$prefix/share/doc/tunproxy/examples/embed.c

export PKG_CONFIG_PATH=$libdir/pkgconfig
# shellcheck disable=SC2046 # one word per flag
if "$cc" $appflags -o "$tmp/embed-pc" "$embed" $(pkg-config --cflags --libs tunproxy) 2>"$tmp/err"; then
	run_embed "$tmp/embed-pc"
	LD_LIBRARY_PATH=$libdir ldd "$tmp/embed-pc" | grep -q "libtunproxy.so.0 => $libdir" ||
		die "pkg-config build does not use the installed libtunproxy.so.0"
else
	die "pkg-config build failed:"; cat "$tmp/err"
fi
# shellcheck disable=SC2046
if "$cc" $appflags -o "$tmp/embed-pc-static" "$embed" -Wl,-Bstatic \
	$(pkg-config --static --libs-only-l tunproxy | sed 's/-lpthread//') -Wl,-Bdynamic \
	$(pkg-config --cflags --libs-only-L tunproxy) -lpthread 2>"$tmp/err"; then
	run_embed "$tmp/embed-pc-static"
	ldd "$tmp/embed-pc-static" | grep -q libtunproxy && die "static build links libtunproxy.so"
else
	die "pkg-config --static build failed:"; cat "$tmp/err"
fi

mkdir -p "$tmp/app"
cp "$embed" "$tmp/app/embed.c"
cat >"$tmp/app/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.16)
project(embed_app C)
find_package(tunproxy 0.1 REQUIRED)
add_executable(embed embed.c)
target_link_libraries(embed PRIVATE tunproxy::tunproxy)
find_package(Threads REQUIRED)
target_link_libraries(embed PRIVATE Threads::Threads)
CM
if cmake -S "$tmp/app" -B "$tmp/app/build" -DCMAKE_C_COMPILER="$cc" \
	-DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$appflags" \
	-DCMAKE_EXE_LINKER_FLAGS="$appflags" >"$tmp/app.log" 2>&1 &&
	cmake --build "$tmp/app/build" >>"$tmp/app.log" 2>&1; then
	run_embed "$tmp/app/build/embed"
else
	die "find_package(tunproxy) build failed:"; tail -n 30 "$tmp/app.log"
fi
[ $fail = 0 ] && echo "ok: installed into a temporary prefix; embed.c built with pkg-config (shared, static) and find_package"
exit $fail
