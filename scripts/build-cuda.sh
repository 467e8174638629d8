#!/usr/bin/env bash
# Builds the CUDA flavour of Concord into build-cuda/: Kokkos 5.0.2 with CUDA (Hopper, sm_90) from
# scripts/setup-deps.sh --cuda, every translation unit through Kokkos' nvcc_wrapper. On a machine
# without a GPU this checks that everything compiles and links (against the CUDA stub libraries);
# run the tests on a GPU machine with:  ctest --test-dir build-cuda
#   scripts/build-cuda.sh [extra CMake arguments, e.g. -DCONCORD_ENABLE_NCCL=ON]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
export PATH=$CUDA_HOME/bin:$PATH
BUILD_DIR=${BUILD_DIR:-build-cuda}
# The last line of setup-deps is the CMake arguments of the CUDA flavour (Kokkos, nvcc_wrapper).
DEPS=$(scripts/setup-deps.sh --cuda | tail -n 1)
# shellcheck disable=SC2086
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}" \
  $DEPS "$@"
cmake --build "$BUILD_DIR" -j "$(nproc)"
echo "[build-cuda] built $BUILD_DIR (CUDA flavour) in $((SECONDS / 60)) min $((SECONDS % 60)) s"
