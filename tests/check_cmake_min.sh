#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check_cmake_min.sh SOURCE_DIR: the build promises CMake 3.16
# (cmake_minimum_required in CMakeLists.txt, Ubuntu 20.04's version); this
# lists uses of what later CMake versions added, in every CMake file and in
# the scripts that call cmake or ctest. A list of known constructs, not a
# proof: when you use something new, add it here. A line that uses one
# under an explicit CMAKE_VERSION guard says so with "cmake-min-ok".
set -u
cd "$1" || exit 2
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	files=$(git ls-files -- 'CMakeLists.txt' '*/CMakeLists.txt' '*.cmake' '*.cmake.in' '*.sh')
else
	files=$(find . -name CMakeLists.txt -o -name '*.cmake' -o -name '*.cmake.in' -o -name '*.sh')
fi
# The Apple build files: an Apple build needs CMake 3.25 anyway
# (scripts/build-apple.sh says so); the 3.16 promise is for Linux and
# Android.
files=$(printf '%s\n' $files | grep -v -e '^cmake/apple-toolchain.cmake$' \
	-e '^scripts/build-apple.sh$' -e '^scripts/cross-apple.sh$')
# pattern @@ the version that added it
rules=(
	'find_(library|program|path|file|package)\(.*[[:space:]]REQUIRED.*\) @@ find_library/find_program ... REQUIRED: 3.18 (find_package REQUIRED is fine)'
	'cmake_path\( @@ cmake_path: 3.20'
	'cmake_language\( @@ cmake_language: 3.18'
	'-E (rm|create_hardlink|true|false)( |$) @@ cmake -E rm/create_hardlink/true/false: 3.17-3.19'
	'file\((REAL_PATH|CONFIGURE|ARCHIVE_CREATE|ARCHIVE_EXTRACT|CHMOD) @@ file(REAL_PATH/CONFIGURE/ARCHIVE_*/CHMOD): 3.18-3.19'
	'string\(JSON @@ string(JSON): 3.19'
	'IN ZIP_LISTS @@ foreach(IN ZIP_LISTS): 3.17'
	'(^|[^a-z_])block\( @@ block(): 3.25'
	'\$<(LINK_LIBRARY|LINK_GROUP|PATH|TARGET_RUNTIME_DLLS|LINK_LANG_AND_ID|DEVICE_LINK) @@ a generator expression newer than 3.16'
	'COMMAND_ERROR_IS_FATAL @@ execute_process(COMMAND_ERROR_IS_FATAL): 3.19'
	'ctest .*--test-dir @@ ctest --test-dir: 3.20'
	'C_STANDARD[[:space:]]+(1[78]|2[0-9]) @@ C_STANDARD 17: 3.21 (guard it by CMAKE_VERSION and mark the line cmake-min-ok)'
	'cmake_minimum_required\(VERSION 3\.(1[7-9]|2[0-9]) @@ cmake_minimum_required above 3.16'
)
fail=0
for r in "${rules[@]}"; do
	pat=${r%% @@ *} why=${r#* @@ }
	# shellcheck disable=SC2086 # one word per file
	hits=$(grep -nE -- "$pat" $files 2>/dev/null | grep -v 'find_package(' | grep -v -e '^tests/check_cmake_min.sh' -e 'cmake-min-ok' -E -e '^[^:]+:[0-9]+:[[:space:]]*#')
	if [ -n "$hits" ]; then
		echo "FAIL: $why"
		echo "$hits" | sed 's/^/  /'
		fail=1
	fi
done
[ $fail = 0 ] && echo "ok: nothing newer than CMake 3.16 found"
exit $fail
