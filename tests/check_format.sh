#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check_format.sh SOURCE_DIR: every tracked C file (src, include, tests,
# fuzz, examples, bench) is as clang-format formats it with the root
# .clang-format; lists the ones that are not. Exit 77 (skipped) without
# clang-format. Fix with: clang-format -i FILE.
set -u
cd "$1" || exit 2
command -v clang-format >/dev/null || { echo "clang-format not installed: skipped"; exit 77; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	files=$(git ls-files -- '*.c' '*.h')
else
	files=$(find src include tests fuzz examples bench -name '*.[ch]' 2>/dev/null)
fi
# One clang-format run over all files; its diagnostics name the files.
# shellcheck disable=SC2086 # one word per file
bad=$(clang-format --dry-run --Werror $files 2>&1 | sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error:.*/\1/p' |
	sort -u | tr '\n' ' ')
if [ -n "$bad" ]; then
	echo "not clang-formatted (clang-format -i): $bad"
	exit 1
fi
echo "ok: $(echo "$files" | wc -w) C files clang-formatted"
