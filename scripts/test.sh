#!/usr/bin/env bash
# Builds Concord if needed (scripts/build.sh, without the quick-start) and runs the whole test
# suite with ctest: unit tests, MPI tests at 1, 2 and 4 ranks, CLI tests, the installed-package
# consumer and the benchmark smoke test. Extra arguments go to ctest (e.g. -L mpi, -R ring).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD_DIR=${BUILD_DIR:-build}
scripts/build.sh --no-quickstart
# 2 cores: MPI tests declare PROCESSORS, so ctest never oversubscribes beyond what they ask.
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" "$@"
