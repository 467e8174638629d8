#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a working Concord: installs the dependencies
# (scripts/setup-deps.sh, cached outside the clone), configures and builds into build/, then runs
# the quick-start. Idempotent: a second run reuses every cache and rebuilds only what changed.
#   scripts/build.sh [--no-quickstart] [extra CMake arguments...]
# Environment: BUILD_DIR (default build, or build-native with CONCORD_NATIVE), CMAKE_BUILD_TYPE (default
# Release), CONCORD_WERROR (1: warnings are errors, as in CI), CONCORD_NATIVE (1: Concord's sources with
# -march=native, not portable), CONCORD_CACHE, Kokkos_ROOT, TeuchosParameterList_ROOT (see setup-deps.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

QUICKSTART=1 CMAKE_EXTRA=()
for a in "$@"; do
  case "$a" in
    --no-quickstart) QUICKSTART=0 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) CMAKE_EXTRA+=("$a") ;;
  esac
done
# A native build goes to its own folder: the portable build/ stays what it was.
case "${CONCORD_NATIVE:-OFF}" in
  1|ON|on|On|TRUE|true|YES|yes|Y|y) CONCORD_NATIVE=ON; BUILD_DIR=${BUILD_DIR:-build-native} ;;
  *) CONCORD_NATIVE=OFF; BUILD_DIR=${BUILD_DIR:-build} ;;
esac

# The last line of setup-deps is the CMake arguments that select the installed dependencies.
DEPS=$(scripts/setup-deps.sh | tail -n 1)

# shellcheck disable=SC2086  # DEPS is a list of -D arguments without spaces
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}" -DCONCORD_WERROR="${CONCORD_WERROR:-OFF}" \
  -DCONCORD_NATIVE="$CONCORD_NATIVE" $DEPS "${CMAKE_EXTRA[@]}" \
  >"$BUILD_DIR.configure.log" 2>&1 || { cat "$BUILD_DIR.configure.log" >&2; echo "build: configure failed" >&2; exit 1; }
cmake --build "$BUILD_DIR" -j "$(nproc)"
echo "[build] built $BUILD_DIR/bin/concord"

if [ "$QUICKSTART" = 1 ]; then
  echo "[build] quick-start: inputs/quickstart.sh"
  CONCORD="$BUILD_DIR/bin/concord" inputs/quickstart.sh
fi
