#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check_symbols.sh CC LIBTUNPROXY.a LIBTUNPROXY.so: the library an app
# links exports one namespace (cmake/library.cmake):
#   - every global symbol defined in the archive and every dynamic symbol
#     the shared library defines starts with tp_
#   - the shared library's SONAME is libtunproxy.so.0
#   - the archive is position-independent: it links whole into a shared
#     object (a JNI .so, a framework), which non-PIC code refuses to do
set -u
cc=$1 ar=$2 so=$3
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bad=$(nm -g --defined-only "$ar" | awk 'NF == 3 && $3 !~ /^tp_/ {print $3}')
if [ -n "$bad" ]; then
	echo "FAIL: $ar defines globals outside tp_*:" $bad
	fail=1
fi
n=$(nm -g --defined-only "$ar" | awk 'NF == 3' | wc -l)
[ "$n" -ge 20 ] || { echo "FAIL: $ar exports only $n symbols"; fail=1; }

bad=$(nm -D --defined-only "$so" | awk 'NF == 3 && $3 !~ /^tp_/ {print $3}')
if [ -n "$bad" ]; then
	echo "FAIL: $so exports names outside tp_*:" $bad
	fail=1
fi
soname=$(objdump -p "$so" | awk '$1 == "SONAME" {print $2}')
[ "$soname" = libtunproxy.so.0 ] || { echo "FAIL: SONAME '$soname'"; fail=1; }

if ! "$cc" -shared -o "$tmp/whole.so" -Wl,--whole-archive "$ar" \
	-Wl,--no-whole-archive -lpthread 2>"$tmp/err"; then
	echo "FAIL: $ar does not link into a shared object (not PIC?):"
	head -n 5 "$tmp/err"
	fail=1
fi
[ $fail = 0 ] && echo "ok: $(basename "$ar") and $(basename "$so") export only tp_* ($n symbols), SONAME $soname, PIC"
exit $fail
