#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds tunproxy twice and runs every test in both builds:
#   build/       normal build, warnings are errors
#   build-asan/  ASan + UBSan (leaks detected, first error aborts)
#   build-tsan/  ThreadSanitizer: only the API unit tests and test_embed.sh
#                (see its block below; TP_SKIP_TSAN=1 skips it)
#   build-clang/ the library and the command with clang -Werror, no tests
#                (TP_SKIP_CLANG=1 skips it)
# Unit tests and the end-to-end tests (network namespaces: run as root) run
# through CTest; its summary is printed for each build. Exits non-zero if
# anything failed. Installs what it needs with apt-get on Debian 12.
#
# Environment: JOBS (parallel build jobs, default: CPUs), TP_SKIP_ASAN=1
# (only the normal build), CTEST_ARGS (extra ctest arguments, e.g. "-L unit"),
# FUZZ_SECONDS (seconds per fuzz target, default 20; 0 skips fuzzing).
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

# Build tools, cmocka, and the real peers the e2e tests talk to. npm fetches
# Zig's C compiler for the macOS cross-build (scripts/cross-apple.sh, ctest
# unit.apple_cross: pinned, integrity-checked, cached in build/apple-cross).
PKGS="build-essential cmake pkg-config libcmocka-dev iproute2 procps util-linux
  python3 python3-scapy dnsmasq-base bind9-dnsutils socat iputils-ping
  netcat-openbsd nginx-light curl iperf3 nftables tshark valgrind clang
  libclang-rt-14-dev llvm npm file clang-format groff-base man-db"
# Upstream proxies for the egress tests (test_upstream_*).
PKGS="$PKGS dante-server microsocks tinyproxy"

install_deps() {
	local missing="" p
	for p in $PKGS; do
		# npm may come with a Node.js from elsewhere (e.g. NodeSource's
		# nodejs package carries its own npm and conflicts with
		# Debian's): a working command is enough.
		[ "$p" = npm ] && command -v npm >/dev/null 2>&1 && continue
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "test.sh: missing packages:$missing (run as root to install them)" >&2
		return 0
	fi
	echo "test.sh: installing$missing"
	# Packages must not start their daemons (nginx, iperf3) on this host:
	# the tests start their own inside namespaces.
	local policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		policy=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086 # one word per package
	{ apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } \
		>/tmp/tunproxy-apt.log 2>&1
	local rc=$?
	[ -n "$policy" ] && rm -f /usr/sbin/policy-rc.d
	if [ $rc != 0 ]; then
		tail -n 20 /tmp/tunproxy-apt.log >&2
		echo "test.sh: apt-get failed (log: /tmp/tunproxy-apt.log)" >&2
		exit 1
	fi
}

# build DIR CMAKE-ARGS...: configure and build, or exit.
build() {
	local dir=$1
	shift
	echo "== configure and build $dir ($*)"
	cmake -S "$ROOT" -B "$ROOT/$dir" -DTP_WERROR=ON "$@" >"$ROOT/$dir.configure.log" 2>&1 ||
		{ cat "$ROOT/$dir.configure.log"; echo "test.sh: cmake failed for $dir" >&2; exit 1; }
	rm -f "$ROOT/$dir.configure.log"
	cmake --build "$ROOT/$dir" -j "$JOBS" >"$ROOT/$dir/build.log" 2>&1 ||
		{ grep -E -B2 -A8 'error|Error' "$ROOT/$dir/build.log" | tail -n 60
		  echo "test.sh: build failed for $dir (log: $dir/build.log)" >&2; exit 1; }
}

TOTAL_PASS=0
TOTAL_FAIL=0
TOTAL_SKIP=0

# run_tests DIR: run CTest in DIR (it prints its summary), add its counts to
# the totals; returns its status.
run_tests() {
	local dir=$1 rc log total failed skipped
	log="$ROOT/$dir/ctest-output.log"
	echo "== ctest in $dir"
	# shellcheck disable=SC2086
	(cd "$ROOT/$dir" && ctest --output-on-failure ${CTEST_ARGS:-}) 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -n 1)
	failed=$(sed -n 's/.* \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -n 1)
	skipped=$(grep -c '(Skipped)$' "$log")
	if [ -z "$total" ]; then
		# No summary line: ctest itself failed (or found no tests).
		TOTAL_FAIL=$((TOTAL_FAIL + 1))
		[ "$rc" = 0 ] && rc=1
	else
		TOTAL_FAIL=$((TOTAL_FAIL + failed))
		TOTAL_SKIP=$((TOTAL_SKIP + skipped))
		TOTAL_PASS=$((TOTAL_PASS + total - failed - skipped))
	fi
	return "$rc"
}

install_deps
[ "$(id -u)" = 0 ] || echo "test.sh: not root: the end-to-end tests will be skipped" >&2

build build
fail=0
run_tests build || fail=1

if [ "${TP_SKIP_ASAN:-0}" != 1 ]; then
	build build-asan -DTP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	# The receive-path variants run in full in the normal tree; under the
	# sanitizers one of each kind is enough (the ring's code is the same
	# for every test; unit.test_tcprx covers its corners): this keeps the
	# suite well under 30 minutes.
	ASAN_SKIP='^e2e\.test_tcp_(curl|many|halfclose|reset|refused|impaired|impaired_reorder)\.copy$'
	ASAN_SKIP="$ASAN_SKIP|^e2e\.test_(exhaustion|memory_budget|tcp_rcvbuf)\.copy$"
	ASAN_SKIP="$ASAN_SKIP|^e2e\.test_tcp_(many|impaired)\.nopeek$|^e2e\.test_tcp_rx_budget\.(2M|8M)$"
	CTEST_ARGS="${CTEST_ARGS:-} -E $ASAN_SKIP" run_tests build-asan || fail=1
fi

# ---- clang (issue 14) ---------------------------------------------------------
# The library, the command and the examples built with clang, warnings as
# errors, so the -DTP_WERROR build stays clean under gcc and clang. No tests
# are built there (the gcc trees run them): about a minute. TP_SKIP_CLANG=1
# skips it.
if [ "${TP_SKIP_CLANG:-0}" != 1 ]; then
	echo "== configure and build build-clang (clang -Werror, no tests)"
	if cmake -S "$ROOT" -B "$ROOT/build-clang" -DCMAKE_C_COMPILER=clang -DTP_WERROR=ON \
		-DTP_TESTS=OFF >"$ROOT/build-clang.configure.log" 2>&1 &&
		cmake --build "$ROOT/build-clang" -j "$JOBS" >"$ROOT/build-clang/build.log" 2>&1; then
		rm -f "$ROOT/build-clang.configure.log"
		echo "build-clang: clean"
		TOTAL_PASS=$((TOTAL_PASS + 1))
	else
		grep -E -B2 -A8 'error|warning' "$ROOT/build-clang.configure.log" \
			"$ROOT/build-clang/build.log" 2>/dev/null | tail -n 60
		echo "test.sh: clang build failed (log: build-clang/build.log)" >&2
		TOTAL_FAIL=$((TOTAL_FAIL + 1))
		fail=1
	fi
fi

# Fuzzing (fuzz/run.sh, owned with fuzz/): each libFuzzer target runs for
# FUZZ_SECONDS (default 20) from the committed seed corpus; a crash, leak or
# broken invariant fails the run. FUZZ_SECONDS=0 skips the step.
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
if [ "$FUZZ_SECONDS" != 0 ]; then
	echo "== fuzz: every target for $FUZZ_SECONDS s (fuzz/run.sh)"
	if bash "$ROOT/fuzz/run.sh" "$FUZZ_SECONDS"; then
		echo "fuzz: passed"
	else
		echo "fuzz: FAILED (inputs in build-fuzz/artifacts/)"
		fail=1
	fi
else
	echo "fuzz: skipped (FUZZ_SECONDS=0)"
fi

# ---- ThreadSanitizer (issue 7, embedding) ----------------------------------
# A third tree, build-tsan: TP_TSAN=ON, and TP_TCPRX_COPY=ON so the host->app
# TCP path Darwin uses (userspace rings instead of SO_PEEK_OFF) runs here too.
# Only what the thread rules concern is built and run: the public-API unit
# tests (unit.test_api*) and the embedding example end to end
# (e2e.test_embed), each bounded by a timeout. TP_SKIP_TSAN=1 skips it.
if [ "${TP_SKIP_TSAN:-0}" != 1 ]; then
	echo "== configure and build build-tsan (API tests and examples/embed only)"
	if cmake -S "$ROOT" -B "$ROOT/build-tsan" -DTP_WERROR=ON -DTP_TSAN=ON \
		-DTP_TCPRX_COPY=ON -DCMAKE_BUILD_TYPE=Debug >"$ROOT/build-tsan.configure.log" 2>&1 &&
		cmake --build "$ROOT/build-tsan" -j "$JOBS" --target test_api test_api_threads \
			test_api_input test_api_lifecycle test_api_flows embed >"$ROOT/build-tsan/build.log" 2>&1; then
		rm -f "$ROOT/build-tsan.configure.log"
		TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
			CTEST_ARGS="${CTEST_ARGS:-} --timeout 300 -R ^(unit\.test_api|e2e\.test_embed$)" \
			run_tests build-tsan || fail=1
	else
		tail -n 40 "$ROOT/build-tsan.configure.log" "$ROOT/build-tsan/build.log" 2>/dev/null
		echo "test.sh: build failed for build-tsan" >&2
		TOTAL_FAIL=$((TOTAL_FAIL + 1))
		fail=1
	fi
fi
# ---- end of the ThreadSanitizer block ----------------------------------------

# One closing line over all builds (each ctest printed its own summary).
[ $fail = 0 ] || echo "test.sh: SOME TESTS FAILED (see above)"
echo "total: $TOTAL_PASS passed, $TOTAL_FAIL failed, $TOTAL_SKIP skipped"
exit $fail
