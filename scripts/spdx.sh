#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/spdx.sh [--check]: give every source file of the tree an SPDX
# licence identifier (https://spdx.org/licenses/), the one mechanical way.
#   (no argument)  prepend the line to every source file that lacks one
#                  (after a "#!" line, so scripts still run)
#   --check        change nothing; list the files that lack one and exit 1
#                  if there are any (ctest unit.spdx)
# Source files: C and Objective-C, headers, Swift, module maps, shell and
# Python scripts, CMake files, and the CI entry point. The list comes from
# git when the tree is a git checkout, else from find (a release tarball).
set -u
cd "$(dirname "$0")/.." || exit 2
ID="SPDX-License-Identifier: MIT"
check=0
[ "${1:-}" = --check ] && check=1

list_files() {
	local pats=('*.c' '*.h' '*.m' '*.swift' '*.modulemap' '*.sh' '*.py' '*.cmake'
		'CMakeLists.txt' '*.cmake.in' '*.pc.in' '.ci/run')
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		local p args=()
		for p in "${pats[@]}"; do args+=("$p" "**/$p"); done
		git ls-files -- "${args[@]}" | sort -u
	else
		find . -path ./build\* -prune -o -type f \( -name '*.c' -o -name '*.h' \
			-o -name '*.m' -o -name '*.swift' -o -name '*.modulemap' -o -name '*.sh' \
			-o -name '*.py' -o -name '*.cmake' -o -name CMakeLists.txt \
			-o -name '*.cmake.in' -o -name '*.pc.in' -o -path ./.ci/run \) -print |
			sed 's|^\./||' | sort
	fi
}

# comment FILE: the identifier as a comment in FILE's language.
comment() {
	case $1 in
	*.c | *.h) echo "/* $ID */" ;;
	*.m | *.swift | *.modulemap) echo "// $ID" ;;
	*) echo "# $ID" ;;
	esac
}

missing=0
while IFS= read -r f; do
	[ -f "$f" ] || continue
	head -n 5 "$f" | grep -q 'SPDX-License-Identifier:' && continue
	if [ $check = 1 ]; then
		echo "no SPDX-License-Identifier: $f"
		missing=$((missing + 1))
		continue
	fi
	line=$(comment "$f")
	tmp=$(mktemp)
	if head -n 1 "$f" | grep -q '^#!'; then
		{ head -n 1 "$f"; echo "$line"; tail -n +2 "$f"; } >"$tmp"
	else
		{ echo "$line"; cat "$f"; } >"$tmp"
	fi
	cat "$tmp" >"$f" # keeps the file's mode (scripts stay executable)
	rm -f "$tmp"
done < <(list_files)

if [ $check = 1 ] && [ $missing -gt 0 ]; then
	echo "spdx: $missing source file(s) lack an SPDX identifier; run scripts/spdx.sh" >&2
	exit 1
fi
exit 0
