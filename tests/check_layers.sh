#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check_layers.sh SOURCE_DIR: the layers of docs/architecture.md, checked
# on the includes (unit.core_purity checks the core's calls; this checks
# what every layer may include of the project's own headers):
#   wire   wire
#   core   core wire
#   os     os                     (the OS helpers below host, io, tools)
#   io     io os core wire    (core_tx_pkt, CORE_IN_*: the engine.h types)
#   host   host io os core wire   (the driver sits on all of them)
#   api    api host io wire       (never the core: host/driver_api.h;
#                                 wire/: the version nibble of tp_input)
#   tools  io os wire             (io/udpio.h, the UDP batch I/O the
#                                 dev transport shares; os/os_addr.h and
#                                 os/os_clock.h, the addresses and clock;
#                                 wire/: packet formats, no OS, for the
#                                 capture filter)
# include/tunproxy.h (and the generated tp_version.h) may be included by
# every layer. A quoted include without a directory must name a file of
# the includer's own directory.
set -u
cd "$1/src" || exit 2
declare -A may=(
	[wire]="wire" [core]="core wire" [os]="os" [io]="io os core wire"
	[host]="host io os core wire" [api]="api host io wire" [tools]="io os wire"
)
fail=0
for layer in "${!may[@]}"; do
	[ -d "$layer" ] || continue
	for f in "$layer"/*.[ch]; do
		[ -f "$f" ] || continue
		while IFS= read -r inc; do
			case $inc in
			tunproxy.h | tp_version.h) continue ;;
			*/*)
				dir=${inc%%/*}
				case " ${may[$layer]} " in
				*" $dir "*) ;;
				*)
					echo "FAIL: src/$f includes \"$inc\": $layer may include only: ${may[$layer]:-its own headers}"
					fail=1
					;;
				esac
				;;
			*)
				[ -f "$layer/$inc" ] || {
					echo "FAIL: src/$f includes \"$inc\", not a file of src/$layer"
					fail=1
				}
				;;
			esac
		done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
	done
done
for d in */; do
	d=${d%/}
	[ -n "${may[$d]+x}" ] || { echo "FAIL: src/$d is no layer of check_layers.sh (add it, and to docs/architecture.md)"; fail=1; }
done
[ $fail = 0 ] && echo "ok: every include of src/ respects the layers (wire, core, os, io, host, api, tools)"
exit $fail
