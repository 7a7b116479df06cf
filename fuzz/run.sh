#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the fuzz targets (fuzz/build.sh) and runs each for a while:
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60, all seven)
#
# Each target starts from a working corpus, build-fuzz/corpus/<target>/
# (kept between runs, so a corpus grows over many runs), with the committed
# seeds of fuzz/corpus/<target>/ copied in first. Prints one line per
# target with its executions and exits non-zero if any target found a crash,
# a leak or a timeout; the input is saved as build-fuzz/artifacts/
# <target>-crash-* and the target's log is build-fuzz/<target>.log.
#
# Environment: FUZZ_JOBS=N runs N fuzzing processes per target in parallel
# (libFuzzer -fork=N; default 1), FUZZ_ARGS adds libFuzzer flags,
# FUZZ_CORPUS overrides the working corpus root, and FUZZ_BUILD the build
# directory (default build-fuzz).
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
SECONDS_PER=${1:-60}
shift 2>/dev/null
TARGETS=${*:-packet_parse tcp_opts reasm router devtransport vnet capture names_dns names_sni names_http}
OUT=${FUZZ_BUILD:-$ROOT/build-fuzz}
CORPUS=${FUZZ_CORPUS:-$OUT/corpus}
JOBS=${FUZZ_JOBS:-1}

export FUZZ_BUILD=$OUT
bash "$ROOT/fuzz/build.sh" || { echo "fuzz: build failed" >&2; exit 1; }

# Inputs are programs or packets: a few KiB is plenty, and the router's
# runs stay short enough to execute thousands of times a second.
max_len() {
	case $1 in
	tcp_opts) echo 64 ;;
	router) echo 4096 ;;
	vnet | capture) echo 16384 ;;
	*) echo 4096 ;;
	esac
}

mkdir -p "$OUT/artifacts"
fail=0
for t in $TARGETS; do
	bin="$OUT/fuzz_$t"
	[ -x "$bin" ] || { echo "fuzz: no target fuzz_$t" >&2; fail=1; continue; }
	work="$CORPUS/fuzz_$t"
	mkdir -p "$work"
	cp -n "$ROOT/fuzz/corpus/fuzz_$t/"* "$work/" 2>/dev/null
	log="$OUT/fuzz_$t.log"
	par=""
	[ "$JOBS" -gt 1 ] && par="-fork=$JOBS"
	# shellcheck disable=SC2086 # FUZZ_ARGS and par are lists of flags
	(cd "$OUT" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$bin" -max_total_time="$SECONDS_PER" -print_final_stats=1 \
		-max_len="$(max_len "$t")" -timeout=20 -rss_limit_mb=2048 \
		-artifact_prefix="$OUT/artifacts/fuzz_$t-" $par ${FUZZ_ARGS:-} \
		"$work") >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ -z "$execs" ]; then
		# -fork prints no final stats: sum the last "#N" progress line.
		execs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
	fi
	units=$(find "$work" -type f | wc -l)
	if [ $rc = 0 ]; then
		printf 'fuzz_%s: ok, %s executions in %s s, corpus %s inputs\n' \
			"$t" "${execs:-?}" "$SECONDS_PER" "$units"
	else
		fail=1
		printf 'fuzz_%s: FAILED (exit %s) after %s executions; log %s\n' \
			"$t" "$rc" "${execs:-?}" "$log"
		grep -E 'invariant broken|ERROR:|SUMMARY:|Test unit written' "$log" | head -n 8
	fi
done
exit $fail
