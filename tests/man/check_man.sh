#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check_man.sh TUNPROXY MANPAGE VERSION: the manual tunproxy(1) is in step
# with the program:
#   - every option that `--help` of the command and of each subcommand
#     (run, device, tee, capture) lists appears in the man page;
#   - the man page names the project version (the one --version prints);
#   - groff -ww and `man -l` render it without a warning.
set -u
bin=$1 page=$2 version=$3
fail=0
# The roff source with \- as - and font escapes dropped: options as typed.
text=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(lq\|\\(rq//g' "$page")

for sub in "" run device tee capture; do
	# shellcheck disable=SC2086 # no subcommand: no word
	help=$("$bin" $sub --help 2>&1) || { echo "FAIL: tunproxy $sub --help exits non-zero"; fail=1; }
	opts=$(printf '%s\n' "$help" | grep -oE '(^|[][ ,|(])(--[a-z][a-z0-9-]*|-[a-zA-Z])([] ,=|)]|$)' |
		sed -E 's/^[][ ,|(]//; s/[] ,=|)]$//' | sort -u)
	[ -n "$opts" ] || { echo "FAIL: no options found in tunproxy $sub --help"; fail=1; }
	for o in $opts; do
		if ! printf '%s\n' "$text" | grep -qE -- "(^|[^a-z0-9-])$o([^a-z0-9-]|\$)"; then
			echo "FAIL: tunproxy ${sub:+$sub }--help lists $o, the man page does not"
			fail=1
		fi
	done
done

grep -q "tunproxy $version" "$page" || { echo "FAIL: the man page does not say tunproxy $version"; fail=1; }

warn=$(groff -ww -z -man "$page" 2>&1)
[ -z "$warn" ] || { echo "FAIL: groff -ww warns:"; echo "$warn"; fail=1; }
if command -v man >/dev/null; then
	warn=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
	[ -z "$warn" ] || { echo "FAIL: man -l warns:"; echo "$warn"; fail=1; }
fi
[ $fail = 0 ] && echo "ok: every --help option of tunproxy and its subcommands is in $(basename "$page"); it renders cleanly"
exit $fail
