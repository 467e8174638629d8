#!/usr/bin/env bash
# Builds Concord with AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/ (g++,
# -fsanitize=address,undefined; Kokkos and Teuchos from scripts/setup-deps.sh's cache stay
# unsanitized) and runs the whole ctest suite there under both sanitizers, then prints a summary:
# tests in the suite, run, passed, excluded (each with its reason below), sanitizer reports, wall time.
#   scripts/sanitize.sh [--no-build] [extra ctest arguments, e.g. -R cli or -L mpi]
# Exit status 0 only when every test that ran passed and no sanitizer report was written.
# Environment: BUILD_DIR (default build-asan), CMAKE_BUILD_TYPE (default RelWithDebInfo),
# CONCORD_BUILD_LOCK (a file: the build step holds flock(1) on it, so that it never overlaps other
# builds sharing the machine), CONCORD_SANITIZE_LEAKS (0: leak checking off; default on, see below),
# ASAN_OPTIONS / UBSAN_OPTIONS / LSAN_OPTIONS (appended to the script's, so they win),
# and what scripts/build.sh honours (CONCORD_CACHE, Kokkos_ROOT, ...).
# Idempotent: a second run reuses the dependency cache, ccache and the build tree.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

BUILD=1 CTEST_EXTRA=()
for a in "$@"; do
  case "$a" in
    --no-build) BUILD=0 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) CTEST_EXTRA+=("$a") ;;
  esac
done
export BUILD_DIR=${BUILD_DIR:-build-asan}
export CMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo}
case "$BUILD_DIR" in /*) B=$BUILD_DIR ;; *) B=$ROOT/$BUILD_DIR ;; esac
SUPP=$ROOT/scripts/sanitizer-suppressions
log() { echo "[sanitize] $*"; }

# Instrumentation for Concord's C++ (library, executable, tests, benchmarks). CMake passes
# CMAKE_CXX_FLAGS to the link of C++ targets too, so they link the sanitizer runtimes; C targets
# (an LD_PRELOAD helper of the tests) stay uninstrumented. -fno-sanitize-recover: the first
# undefined behaviour ends the process with a non-zero status, as an ASan error does.
SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"

# Tests that cannot run under the sanitizers: "ctest name|reason". Everything else must pass.
EXCLUDED=(
  "fuzz_readers|its forked children cap their address space (RLIMIT_AS, 4 GiB), below ASan's shadow-memory reservation: every child dies at start-up with 'Failed to mmap'"
)

T0=$(date +%s)
if [ "$BUILD" = 1 ]; then
  build=(scripts/build.sh --no-quickstart "-DCMAKE_CXX_FLAGS=$SAN_FLAGS")
  if [ -n "${CONCORD_BUILD_LOCK:-}" ]; then
    log "waiting for the build lock $CONCORD_BUILD_LOCK"
    build=(flock "$CONCORD_BUILD_LOCK" "${build[@]}")
  fi
  log "building $BUILD_DIR ($CMAKE_BUILD_TYPE, $SAN_FLAGS)"
  "${build[@]}"
fi
[ -x "$B/bin/concord" ] || { echo "sanitize: $B/bin/concord missing: run without --no-build" >&2; exit 1; }
grep -q -- "-fsanitize=address" "$B/CMakeCache.txt" \
  || { echo "sanitize: $B is not a sanitizer build (CMAKE_CXX_FLAGS); use another BUILD_DIR" >&2; exit 1; }
T1=$(date +%s)

# AddressSanitizer and LeakSanitizer reports go to files of $REPORTS (as well as failing their
# process), so that a report from a process whose failure a test expects (a run that must exit
# non-zero) is not lost; the summary lists them. UndefinedBehaviorSanitizer reports stay on stderr
# (g++ 12's runtime loses them when UBSAN_OPTIONS sets log_path) and end their process.
REPORTS=$B/sanitizer-reports
rm -rf "$REPORTS"
mkdir -p "$REPORTS"

# Leak checking (LeakSanitizer, at the exit of every instrumented process) is on: every program of
# the suite initialises MPI (the gtest main, `concord`, the benchmarks, the examples), and MPICH's
# start-up allocations stay reachable until exit, so nothing of MPICH is reported here.
# lsan.supp, when present, lists the leaks of dependencies that are hidden (one reason per entry).
# CONCORD_SANITIZE_LEAKS=0 turns leak checking off (ASAN_OPTIONS=detect_leaks=0).
if [ "${CONCORD_SANITIZE_LEAKS:-1}" = 1 ]; then
  leaks="detect_leaks=1"
  lsan="print_suppressions=0"
  [ ! -f "$SUPP/lsan.supp" ] || lsan="$lsan:suppressions=$SUPP/lsan.supp"
  export LSAN_OPTIONS="$lsan${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
else
  leaks="detect_leaks=0"
fi
export ASAN_OPTIONS="$leaks:check_initialization_order=1:detect_stack_use_after_return=1:log_path=$REPORTS/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
ubsan="print_stacktrace=1:halt_on_error=1"
[ ! -f "$SUPP/ubsan.supp" ] || ubsan="$ubsan:suppressions=$SUPP/ubsan.supp"
export UBSAN_OPTIONS="$ubsan${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
# install_consumer configures and builds examples/ against the installed (sanitized) package: CMake
# takes a fresh build's initial flags from CXXFLAGS/LDFLAGS, so the examples are instrumented too.
export CXXFLAGS="$SAN_FLAGS" LDFLAGS="-fsanitize=address,undefined"
# slurm's interrupted deck (16000 samples per agent, 4000 iterations: 10-20 s on an idle machine)
# must end within the test's fixed 600 s per job; a quarter of the samples keeps it well inside
# that bound at ASan's speed, and the interruption still lands mid-run.
export CONCORD_SLURM_SAMPLES=${CONCORD_SLURM_SAMPLES:-4000}
log "ASAN_OPTIONS=$ASAN_OPTIONS"
log "UBSAN_OPTIONS=$UBSAN_OPTIONS"

exclude_args=() names=()
for e in "${EXCLUDED[@]}"; do names+=("${e%%|*}"); log "excluded: ${e%%|*} (${e#*|})"; done
if [ ${#names[@]} -gt 0 ]; then
  exclude_args=(-E "^($(IFS='|'; echo "${names[*]}"))\$")
fi

TOTAL=$(ctest --test-dir "$B" -N "${CTEST_EXTRA[@]}" | awk '/^Total Tests:/ {print $3}')
LOG=$B/sanitize-ctest.log
set +e
ctest --test-dir "$B" --output-on-failure -j "$(nproc)" "${exclude_args[@]}" "${CTEST_EXTRA[@]}" 2>&1 | tee "$LOG"
ctest_rc=${PIPESTATUS[0]}
set -e
T2=$(date +%s)

count() { grep -cE "Test +#[0-9]+: .* $1" "$LOG" || true; }
ran=$(grep -cE 'Test +#[0-9]+: ' "$LOG" || true)
passed=$(count 'Passed +[0-9.]+ sec')
skipped=$(count '\*\*\*Skipped')
failed=$((ran - passed - skipped))
reports=$(find "$REPORTS" -type f | wc -l)
for f in $(find "$REPORTS" -type f | sort | head -n 5); do
  echo "---- $f (first 40 lines)"
  head -n 40 "$f"
done

echo
log "summary ($(date -u '+%Y-%m-%d %H:%M UTC'), $(g++ -dumpfullversion 2>/dev/null | sed 's/^/g++ /'), $CMAKE_BUILD_TYPE)"
log "  tests selected: $TOTAL; run: $ran; passed: $passed; failed: $failed; skipped by the test itself: $skipped; excluded: ${#names[@]}${names[*]:+ (${names[*]})}"
log "  sanitizer reports: $reports$([ "$reports" = 0 ] || echo " (in $REPORTS)")"
log "  wall time: build $((T1 - T0)) s, tests $((T2 - T1)) s, total $((T2 - T0)) s"
[ "$ctest_rc" = 0 ] && [ "$failed" = 0 ] && [ "$reports" = 0 ]
