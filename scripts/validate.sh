#!/usr/bin/env bash
# Reproduces the founding lecture from Concord's own runs (docs/validation.md): builds Concord if
# needed (scripts/build.sh, without the quick-start), then runs every item of the validation suite
# (docs/validation/validate.py): decks, HDF5 outputs, figures in docs/validation/figures and
# measured figures in docs/validation/results. Idempotent; runs go to build/validation.
#   scripts/validate.sh [ITEM...] [--quick]     items: consensus rho finite_time heterogeneity
#                                               transient speedup fashion_mnist communication
# --quick: small sizes, everything under build/validation-quick (what the test suite runs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD_DIR=${BUILD_DIR:-build}
mkdir -p "$BUILD_DIR"
scripts/build.sh --no-quickstart >"$BUILD_DIR/validate-build.log" 2>&1 \
  || { tail -n 40 "$BUILD_DIR/validate-build.log" >&2; echo "validate: build failed (log: $BUILD_DIR/validate-build.log)" >&2; exit 1; }
export HYDRA_IFACE=${HYDRA_IFACE:-lo} OMP_PROC_BIND=${OMP_PROC_BIND:-false} PYTHONDONTWRITEBYTECODE=1
# Debian's interpreter: it has python3-h5py and python3-matplotlib (another python3 on PATH may not).
exec /usr/bin/python3 docs/validation/validate.py --concord "$BUILD_DIR/bin/concord" "$@"
