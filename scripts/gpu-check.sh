#!/usr/bin/env bash
# The CUDA flavour on a GPU machine: its tests and benchmarks, with a summary of figures and verdicts.
#
# The GPU machine has CUDA but no MPICH, HDF5 or Kokkos, so the build machine packs what the
# CUDA build needs into a bundle, which is carried to the GPU machine with the working tree:
#   scripts/gpu-check.sh --bundle    (build machine) builds build-cuda/ if missing (scripts/build-cuda.sh),
#                                    else brings it up to date, and writes gpu-bundle/ (git-ignored):
#                                    concord-gpu.tar.xz (stripped executables, libconcord.so and every
#                                    shared library they load but glibc and the CUDA driver, MPICH's
#                                    launcher, the Fashion-MNIST files) and MANIFEST.txt
#   scripts/gpu-check.sh             (GPU machine, repository root) unpacks the bundle, prints the GPU,
#                                    runs the gtest executables at 1 rank (MPI and I/O tests also at 2
#                                    ranks on the one GPU, with the bundled mpiexec), the benchmarks,
#                                    a PyTorch floor (cuBLAS fp64 products, copy bandwidth), a DSGD run
#                                    of 1,024 agents x d = 1e5, and prints a summary table
#   scripts/gpu-check.sh --dry-run   the same up to the first GPU use: unpacks, checks that every
#                                    bundled program finds its libraries and that mpiexec starts 2
#                                    ranks, prints the commands it would run (no GPU needed)
# Outputs (logs, JSON, summary) go to $OUT/gpu-check when OUT is set, else to the work folder.
# Environment: BUILD_DIR (build-cuda), GPU_BUNDLE (gpu-bundle), GPU_CHECK_WORK (work folder,
# default ${TMPDIR:-/tmp}/concord-gpu-check), GPU_CHECK_BUDGET (seconds for the whole run, 460),
# PYTHON (the interpreter with torch, default python3); for testing this script on a host build:
# GPU_CHECK_NO_BUILD=1 (bundle BUILD_DIR as it is), GPU_CHECK_ALLOW_HOST=1 (accept a non-CUDA build),
# GPU_CHECK_FORCE=1 (run everything even without a GPU).
# Exit status: 0 every test and target passed; 1 something failed; 2 usage or bundle error;
# 3 no GPU (without --dry-run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=${BUILD_DIR:-build-cuda}
GPU_BUNDLE=${GPU_BUNDLE:-gpu-bundle}
ARCHIVE=concord-gpu.tar.xz
WORK=${GPU_CHECK_WORK:-${TMPDIR:-/tmp}/concord-gpu-check}
BUDGET=${GPU_CHECK_BUDGET:-460}
PYTHON=${PYTHON:-python3}
MAX_BUNDLE_MIB=60

# What the bundle carries from $BUILD_DIR/bin.
TESTS=(concord_topology_tests concord_data_tests concord_deck_tests concord_io_tests concord_mpi_tests)
TESTS_NP2=(concord_mpi_tests concord_io_tests)
BENCHES=(concord_bench_algorithms concord_bench_mixing)
PROGRAMS=(concord "${TESTS[@]}" "${BENCHES[@]}")
FASHION=/usr/share/datasets/fashion-mnist

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}
log() { echo "[gpu-check] $*"; }
die() { echo "gpu-check: error: $*" >&2; exit 2; }

MODE=run
for a in "$@"; do
  case "$a" in
    --bundle) MODE=bundle ;;
    --dry-run) MODE=dry-run ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gpu-check: unknown option '$a'" >&2; usage >&2; exit 2 ;;
  esac
done

# =============================================================================================
# --bundle (build machine)
# =============================================================================================

# Shared libraries never bundled: glibc (the target's own must be used) and the CUDA driver
# (libcuda comes with the target's kernel driver). Everything else is bundled, libstdc++ and the
# CUDA runtime included, so the bundle does not depend on the target's versions of them.
SYSTEM_LIBS='^(linux-vdso\.so|linux-gate\.so|ld-linux[-.a-z0-9_]*\.so|libc\.so|libm\.so|libmvec\.so|libpthread\.so|libdl\.so|librt\.so|libresolv\.so|libutil\.so|libanl\.so|libnsl\.so|libcuda\.so|libnvidia-)'

# ldd's resolved dependencies of a file: "name path" lines; a dependency that is not found (other
# than the driver's libcuda, absent on a machine without a GPU) is an error.
deps_of() {
  local out
  out=$(ldd "$1" 2>&1) || die "ldd $1 failed: $out"
  if echo "$out" | grep 'not found' | grep -vqE '^\s*(libcuda\.so|libnvidia-)'; then
    die "unresolved libraries of $1:
$(echo "$out" | grep 'not found')"
  fi
  echo "$out" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}'
}

make_bundle() {
  command -v xz >/dev/null || die "--bundle needs xz (Debian: xz-utils)"
  if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    log "no $BUILD_DIR/: building the CUDA flavour first (scripts/build-cuda.sh; Kokkos-CUDA too if missing: long)"
    BUILD_DIR=$BUILD_DIR scripts/build-cuda.sh
  elif [ "${GPU_CHECK_NO_BUILD:-0}" != 1 ]; then
    log "bringing $BUILD_DIR up to date"
    local targets=(concord_app "${TESTS[@]}" "${BENCHES[@]}")
    cmake --build "$BUILD_DIR" -j "$(nproc)" --target "${targets[@]}"
  fi
  if ! grep -q '^CONCORD_ENABLE_CUDA:BOOL=ON' "$BUILD_DIR/CMakeCache.txt"; then
    [ "${GPU_CHECK_ALLOW_HOST:-0}" = 1 ] \
      || die "$BUILD_DIR is not a CUDA build (CONCORD_ENABLE_CUDA is not ON in its CMakeCache.txt)"
    log "warning: $BUILD_DIR is a host build (GPU_CHECK_ALLOW_HOST=1): a bundle for testing this script only"
  fi
  if grep -q '^CONCORD_ENABLE_NCCL:BOOL=ON' "$BUILD_DIR/CMakeCache.txt"; then
    die "$BUILD_DIR is built with NCCL: libnccl (over 200 MB) cannot be carried; bundle a build without it"
  fi

  local stage
  stage=$(mktemp -d "${TMPDIR:-/tmp}/concord-gpu-bundle.XXXXXX")
  STAGE=$stage
  trap 'rm -rf "$STAGE"' EXIT
  mkdir -p "$stage/bin" "$stage/lib"

  # Executables and libconcord, then every library any of them (or MPICH's launcher) loads.
  local p
  local -a elves=()
  for p in "${PROGRAMS[@]}"; do
    [ -x "$BUILD_DIR/bin/$p" ] || die "$BUILD_DIR/bin/$p is missing"
    cp "$BUILD_DIR/bin/$p" "$stage/bin/$p"
    elves+=("$BUILD_DIR/bin/$p")
  done
  cp -L "$BUILD_DIR/lib/libconcord.so" "$stage/lib/"
  local hydra
  for hydra in mpiexec.hydra hydra_pmi_proxy; do
    [ -x "/usr/bin/$hydra" ] || die "/usr/bin/$hydra not found (Debian: mpich)"
    cp "/usr/bin/$hydra" "$stage/bin/"
    elves+=("/usr/bin/$hydra")
  done
  # UCX (MPICH's transport) loads its transport modules from <libdir>/ucx next to libucs: the
  # cross-memory-attach one (same node) is taken; InfiniBand and RDMA-CM are of no use on one node.
  local cma=/usr/lib/x86_64-linux-gnu/ucx/libuct_cma.so.0
  if [ -e "$cma" ]; then
    mkdir -p "$stage/lib/ucx"
    cp -L "$cma" "$stage/lib/ucx/"
    elves+=("$cma")
  fi
  local name path
  declare -A seen=()
  for p in "${elves[@]}"; do
    while read -r name path; do
      [[ $name =~ $SYSTEM_LIBS ]] && continue
      [ -n "${seen[$name]:-}" ] && continue
      seen[$name]=1
      [ "$name" = libconcord.so ] && continue
      # GCC's runtime goes to lib/compat, used only when the target's own is older than needed
      # (this one needs the build machine's glibc, the rest of the bundle an older one).
      if [[ $name =~ ^(libstdc\+\+\.so|libgcc_s\.so) ]]; then
        mkdir -p "$stage/lib/compat"; cp -L "$path" "$stage/lib/compat/$name"
      else
        cp -L "$path" "$stage/lib/$name"
      fi
    done < <(deps_of "$p")
  done
  chmod -R u+w "$stage"
  find "$stage/bin" "$stage/lib" -type f -exec strip --strip-unneeded {} + 2>/dev/null || true

  # The glibc the bundle needs at least (the target's own glibc is used).
  # The glibc and libstdc++ versions the bundle needs at least (lib/compat left out).
  local glibc glibcxx
  glibc=$(find "$stage/bin" "$stage/lib" -path "$stage/lib/compat" -prune -o -type f -exec objdump -T {} + \
          2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sort -u -V | tail -n 1)
  glibcxx=$(find "$stage/bin" "$stage/lib" -path "$stage/lib/compat" -prune -o -type f -exec objdump -T {} + \
          2>/dev/null | grep -o 'GLIBCXX_[0-9][0-9.]*' | sort -u -V | tail -n 1)
  {
    echo "revision: $(git describe --always --dirty 2>/dev/null || echo unknown)"
    echo "made: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n) ($(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release 2>/dev/null))"
    echo "build: $BUILD_DIR ($(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD_DIR/CMakeCache.txt"))"
    echo "cuda: $("${CUDA_HOME:-/usr/local/cuda}/bin/nvcc" --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p')"
    echo "glibc needed: ${glibc#GLIBC_}"
    echo "libstdc++ needed: $glibcxx"
    echo "files (bytes after strip):"
    (cd "$stage" && find . -type f -printf '%s %p\n' | sort -k2)
  } >"$stage/MANIFEST.txt"

  mkdir -p "$GPU_BUNDLE"
  rm -rf "${GPU_BUNDLE:?}/$ARCHIVE" "${GPU_BUNDLE:?}/MANIFEST.txt" "${GPU_BUNDLE:?}/data"
  log "compressing (xz)"
  tar -C "$stage" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - . \
    | xz -T0 -6 >"$GPU_BUNDLE/$ARCHIVE.part"
  mv "$GPU_BUNDLE/$ARCHIVE.part" "$GPU_BUNDLE/$ARCHIVE"
  cp "$stage/MANIFEST.txt" "$GPU_BUNDLE/MANIFEST.txt"
  local bytes raw
  bytes=$(stat -c %s "$GPU_BUNDLE/$ARCHIVE")
  raw=$(du -sb "$stage" | cut -f1)
  echo "archive: $ARCHIVE $bytes bytes, sha256 $(sha256sum "$GPU_BUNDLE/$ARCHIVE" | cut -d' ' -f1)" \
    >>"$GPU_BUNDLE/MANIFEST.txt"
  log "wrote $GPU_BUNDLE/$ARCHIVE: $((bytes / 1048576)) MiB ($((raw / 1048576)) MiB unpacked, glibc >= ${glibc#GLIBC_})"
  if [ "$bytes" -gt $((MAX_BUNDLE_MIB * 1048576)) ]; then
    die "the bundle is over $MAX_BUNDLE_MIB MiB: too large to carry to the GPU machine"
  fi
  # The Fashion-MNIST files (already compressed) that two MPI tests read, when they fit; without
  # them those tests skip.
  local data
  data=$(du -sb "$FASHION" 2>/dev/null | cut -f1 || true)
  if [ -z "$data" ]; then
    log "warning: $FASHION not found: the Fashion-MNIST tests will skip on the GPU machine"
  elif [ $((bytes + data)) -le $((MAX_BUNDLE_MIB * 1048576)) ]; then
    mkdir -p "$GPU_BUNDLE/data"
    cp -r "$FASHION" "$GPU_BUNDLE/data/fashion-mnist"
    echo "data: fashion-mnist $data bytes" >>"$GPU_BUNDLE/MANIFEST.txt"
    bytes=$((bytes + data))
  else
    log "warning: no room for Fashion-MNIST ($((data / 1048576)) MiB): its tests will skip on the GPU machine"
  fi
  log "bundle: $GPU_BUNDLE/ $((bytes / 1048576)) MiB in all"
  log "on the GPU machine, from the repository root:  scripts/gpu-check.sh   (carry $GPU_BUNDLE)"
}

if [ "$MODE" = bundle ]; then
  make_bundle
  exit 0
fi

# =============================================================================================
# run / --dry-run (GPU machine)
# =============================================================================================
START=$(date +%s)
[ -f "$GPU_BUNDLE/$ARCHIVE" ] || die "no bundle at $GPU_BUNDLE/$ARCHIVE. Make it on the build machine with
  scripts/gpu-check.sh --bundle
and carry the folder $GPU_BUNDLE (git-ignored) to this machine with the working tree."

if [ -n "${OUT:-}" ]; then RESULTS=$OUT/gpu-check; else RESULTS=$WORK/results; fi
rm -rf "$WORK"
mkdir -p "$WORK/bundle" "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
exec > >(tee -a "$RESULTS/gpu-check.log") 2>&1
SUMMARY=$RESULTS/summary.tsv
printf 'item\tfigure\ttarget\tresult\n' >"$SUMMARY"
# table FILE: a tab-separated file as aligned columns.
table() {
  awk -F'\t' '{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR; if (NF > m) m = NF }
    END { for (r = 1; r <= n; r++) { line = ""; for (i = 1; i <= m; i++) line = line sprintf(i < m ? "%-" w[i] "s  " : "%s", cell[r, i]); print line } }' "$1"
}
# add ITEM FIGURE TARGET RESULT: one row of the summary.
add() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$SUMMARY"; }

log "bundle: $GPU_BUNDLE/$ARCHIVE ($(sed -n 's/^revision: //p' "$GPU_BUNDLE/MANIFEST.txt" 2>/dev/null || echo '?'))"
log "unpacking into $WORK/bundle"
if command -v xz >/dev/null; then
  xz -dc "$GPU_BUNDLE/$ARCHIVE" | tar -C "$WORK/bundle" -xf -
else
  "$PYTHON" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
    "$GPU_BUNDLE/$ARCHIVE" "$WORK/bundle"
fi
B=$WORK/bundle
# The bundle's programs run with its libraries; other programs (python, nvidia-smi) do not.
# GCC's runtime (lib/compat) only when this machine's libstdc++ lacks the version the bundle needs.
BLIB=$B/lib
cxx_need=$(sed -n 's/^libstdc++ needed: //p' "$B/MANIFEST.txt")
cxx_sys=$(/sbin/ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')
if [ -n "$cxx_sys" ] && [ -n "$cxx_need" ] && grep -aq "$cxx_need" "$cxx_sys"; then
  log "libstdc++: this machine's $cxx_sys has $cxx_need"
else
  BLIB=$B/lib:$B/lib/compat
  log "libstdc++: using the bundle's (this machine's ${cxx_sys:-none} lacks ${cxx_need:-?}; glibc >= 2.36 then)"
fi
# $B/bin on PATH too: mpiexec.hydra starts the hydra_pmi_proxy next to it.
bx() { env LD_LIBRARY_PATH="$BLIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" PATH="$B/bin:$PATH" HYDRA_IFACE=lo \
         OMP_NUM_THREADS=1 OMP_PROC_BIND=false "$@"; }

need=$(sed -n 's/^glibc needed: //p' "$B/MANIFEST.txt")
have=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
log "glibc: this machine ${have:-?}, the bundle needs >= ${need:-?}"
if [ -n "$need" ] && [ -n "$have" ] && [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n 1)" != "$need" ]; then
  log "warning: this machine's glibc $have is older than the bundle's $need: its programs may not start"
fi

# Every bundled program finds its libraries (libcuda excepted: the driver's, present only with a GPU).
missing=0
for f in "$B"/bin/* "$B"/lib/*.so* "$B"/lib/ucx/*; do
  if bx ldd "$f" 2>&1 | grep 'not found' | grep -vqE '^\s*libcuda\.so'; then
    log "missing libraries of ${f#"$B"/}:"; bx ldd "$f" | grep 'not found'; missing=1
  fi
done
for p in "${PROGRAMS[@]}" mpiexec.hydra hydra_pmi_proxy; do
  [ -x "$B/bin/$p" ] || { log "the bundle lacks bin/$p"; missing=1; }
done
if [ "$missing" = 0 ]; then add "bundle contents" "programs and libraries present" "all present" PASS
else add "bundle contents" "programs or libraries missing" "all present" FAIL; fi

# mpiexec (MPICH's hydra, bundled): 2 local ranks with the fork launcher.
MPIEXEC=("$B/bin/mpiexec.hydra" -launcher fork)
if bx timeout 30 "${MPIEXEC[@]}" -n 2 /bin/true >/dev/null 2>&1; then
  HAVE_MPIEXEC=1; log "bundled mpiexec starts 2 ranks"
else
  HAVE_MPIEXEC=0; log "warning: the bundled mpiexec does not work here: 1-rank tests run without it, 2-rank tests are skipped"
fi

# GPU present?
GPU=0
if command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then GPU=1; fi
if [ "$GPU" = 1 ]; then
  log "GPU:"
  nvidia-smi -L
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.memory,power.limit --format=csv
  nvidia-smi | tee "$RESULTS/nvidia-smi.txt"
else
  log "no GPU found (nvidia-smi missing or lists no GPU)"
fi

# --- the steps: each a command with a timeout bounded by what is left of the budget ---------------
remaining() { echo $((BUDGET - ($(date +%s) - START))); }
# step_timeout WANT: WANT seconds, or what is left of the budget when less; 0 when almost none is left.
step_timeout() {
  local left; left=$(remaining)
  if [ "$left" -lt 15 ]; then echo 0; elif [ "$left" -lt "$1" ]; then echo "$left"; else echo "$1"; fi
}
PLAN=()
# run_logged NAME WANT_SECONDS COMMAND...: runs the command with the bundle's libraries into
# $RESULTS/NAME.log; sets STATUS (exit status; 124 timed out; 125 skipped for time).
run_logged() {
  local name=$1 want=$2; shift 2
  if [ "$MODE" = dry-run ]; then PLAN+=("$name: $*"); STATUS=0; return; fi
  local t; t=$(step_timeout "$want")
  if [ "$t" = 0 ]; then log "$name: skipped (time budget of $BUDGET s spent)"; STATUS=125; return; fi
  log "$name (timeout $t s): $*"
  local t0=$SECONDS
  set +e
  bx timeout -k 10 "$t" "$@" >"$RESULTS/$name.log" 2>&1
  STATUS=$?
  set -e
  log "$name: exit $STATUS in $((SECONDS - t0)) s"
  tail -n 5 "$RESULTS/$name.log" | sed 's/^/    | /'
}

# gtest_row NAME: the summary row of a gtest run from its log and STATUS.
gtest_row() {
  local name=$1 f=$RESULTS/$1.log passed failed skipped verdict
  if [ "$MODE" = dry-run ]; then return; fi
  [ -f "$f" ] || : >"$f"
  passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$f" | tail -n 1)
  failed=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$f" | tail -n 1)
  skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$f" | tail -n 1)
  case "$STATUS" in
    0) verdict=PASS ;; 124|137) verdict=TIMEOUT ;; 125) verdict=SKIPPED ;; *) verdict=FAIL ;;
  esac
  add "test $name" "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped" "exit 0" "$verdict"
}

if [ "$GPU" = 0 ] && [ "$MODE" = run ] && [ "${GPU_CHECK_FORCE:-0}" != 1 ]; then
  add "GPU" "none found" "one GPU" FAIL
  log "stopping: this check needs a GPU (scripts/gpu-check.sh --dry-run checks the bundle without one)"
  table "$SUMMARY"
  exit 3
fi

# Fashion-MNIST where the tests look for it (only when it is not there already).
if [ -d "$GPU_BUNDLE/data/fashion-mnist" ] && [ ! -d "$FASHION" ] && [ "$MODE" = run ]; then
  if mkdir -p "$FASHION" 2>/dev/null && cp "$GPU_BUNDLE"/data/fashion-mnist/* "$FASHION"/; then
    log "installed the bundle's Fashion-MNIST files into $FASHION"
  else
    log "cannot write $FASHION: the Fashion-MNIST tests will skip"
  fi
fi

run_logged concord_info 30 "$B/bin/concord" info
[ "$MODE" = dry-run ] || cat "$RESULTS/concord_info.log"

# --- tests ---------------------------------------------------------------------------------------
cd "$WORK"
for t in "${TESTS[@]}"; do
  want=120; [ "$t" = concord_mpi_tests ] && want=200
  if [ "$HAVE_MPIEXEC" = 1 ]; then
    run_logged "$t.np1" "$want" "${MPIEXEC[@]}" -n 1 "$B/bin/$t" --gtest_color=no
  else
    run_logged "$t.np1" "$want" "$B/bin/$t" --gtest_color=no
  fi
  gtest_row "$t.np1"
done

# --- benchmarks ----------------------------------------------------------------------------------
# 1. Gradient and evaluation kernels (the default path on a device: the portable Kokkos kernels).
#    The benchmark's BLAS floor is host-only; the cuBLAS floor comes from PyTorch below.
run_logged bench_kernels 90 "$B/bin/concord_bench_algorithms" '--benchmark_filter=^(grad|eval)/' \
  --benchmark_min_time=0.2 --benchmark_out="$RESULTS/bench_kernels.json" --benchmark_out_format=json
KERNELS_STATUS=$STATUS
# 2. Algorithm steps at 64 agents x d = 1.6e6 (= the 1,024 x 1e5 values of the DSGD target) and the
#    reproducible average, against the copy kernel timed in the same loop.
run_logged bench_steps 90 "$B/bin/concord_bench_algorithms" --dims=1600000 \
  '--benchmark_filter=^(step/.*/quadratic/|reproducible_average/)' --benchmark_min_time=0.2 \
  --benchmark_out="$RESULTS/bench_steps.json" --benchmark_out_format=json
STEPS_STATUS=$STATUS
# 3. Mixing Y = W X at 64 agents x d = 1e6 and 4e6 against copies timed in the same loop.
run_logged bench_mixing 90 "$B/bin/concord_bench_mixing" --dims=1000000,4000000 \
  '--benchmark_filter=^(mix_vs_copy|exp_vs_ring|overhead)/' --benchmark_min_time=0.2 \
  --benchmark_out="$RESULTS/bench_mixing.json" --benchmark_out_format=json
MIXING_STATUS=$STATUS
# 4. DSGD (adapt-then-combine), 1,024 agents x d = 1e5 on a ring, through `concord run`: binary
#    logistic regression, one sample of 99,999 features (+ bias) per agent. (Least squares would
#    first solve for x*, a 1e5 x 1e5 Gram matrix: out of reach.)
cat >"$WORK/dsgd_1024.yaml" <<'DECK'
concord:
  seed: 1
  agents: 1024
  topology: { name: ring }
  problem:
    name: logistic_regression
    data: { source: synthetic, samples: 1024, features: 99999, classes: 2 }
  algorithm: { name: dsgd, step_size: 1.0e-6, iterations: 2000, batch_size: 0 }
  output: { file: dsgd_1024.h5, overwrite: true, log_every: 1000, progress_every: 1000, time_phases: false }
DECK
run_logged dsgd_run 150 "$B/bin/concord" run "$WORK/dsgd_1024.yaml"
DSGD_STATUS=$STATUS

# --- the floor: cuBLAS fp64 products on the benchmark's shapes, copy bandwidth, nominal HBM peak ---
cat >"$WORK/floor.py" <<'PY'
"""cuBLAS (torch.bmm, fp64) on the shapes of perf/bench_algorithms.cpp's BLAS floor (16 agents,
one batched product per agent product), device copy bandwidth, nominal HBM bandwidth."""
import json, subprocess, sys
import torch

def timed(f, reps=50):
    f(); torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); f(); b.record(); b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]  # ms, median

dev = torch.device("cuda")
g = torch.Generator(device=dev).manual_seed(1)
def r(*shape):
    return torch.rand(*shape, dtype=torch.float64, device=dev, generator=g) - 0.5

N = 16
def least_squares(m, d):
    A, w = r(N, m, d), r(N, d, 1)
    def f():
        h = torch.bmm(A, w)
        torch.bmm(A.transpose(1, 2), h)
    return f

def dense(m, widths):  # forward, backward deltas, weight gradients of a dense network
    A = r(N, m, widths[0])
    W = [r(N, widths[l + 1], widths[l]) for l in range(len(widths) - 1)]
    D = [r(N, m, widths[l + 1]) for l in range(len(widths) - 1)]
    def f():
        H, x = [], A
        for Wl in W:
            x = torch.bmm(x, Wl.transpose(1, 2)); H.append(x)
        for l in range(len(W) - 2, -1, -1):
            torch.bmm(D[l + 1], W[l + 1])
        for l in range(len(W)):
            torch.bmm(D[l].transpose(1, 2), A if l == 0 else H[l - 1])
    return f

out = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "floor_ms": {}}
F, C = 784, 10
cases = {"least_squares/1000/100": least_squares(1000, 100), "least_squares/1000/1000": least_squares(1000, 1000),
         "softmax/500/784": dense(500, [F, C]), "mlp/500/32": dense(32, [F, 32, C]), "mlp/500/0": dense(500, [F, 32, C])}
for name, f in cases.items():
    out["floor_ms"][name] = timed(f)

n = 1 << 27  # 1 GiB of doubles
x = torch.empty(n, dtype=torch.float64, device=dev).fill_(1.0)
y = torch.empty_like(x)
out["copy_GBps"] = 2 * 8 * n / (timed(lambda: y.copy_(x), 20) * 1e-3) / 1e9
p = torch.cuda.get_device_properties(0)
peak = None
clock, bus = getattr(p, "memory_clock_rate", None), getattr(p, "memory_bus_width", None)
if clock and bus:
    peak = 2 * clock * 1e3 * bus / 8 / 1e9
else:
    try:
        mhz = float(subprocess.run(["nvidia-smi", "--query-gpu=clocks.max.memory", "--format=csv,noheader,nounits"],
                                   capture_output=True, text=True).stdout.split()[0])
        bus = 5120 if "H100" in out["device"] or "H200" in out["device"] else None
        peak = 2 * mhz * 1e6 * bus / 8 / 1e9 if bus else None
    except Exception:
        peak = None
out["hbm_peak_GBps"] = peak
json.dump(out, open(sys.argv[1], "w"), indent=1)
print(json.dumps(out, indent=1))
PY
if [ "$MODE" = dry-run ]; then
  PLAN+=("floor: $PYTHON $WORK/floor.py $RESULTS/floor.json (PyTorch, cuBLAS fp64)")
else
  t=$(step_timeout 90)
  if [ "$t" != 0 ] && "$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    log "floor (timeout $t s): PyTorch fp64 products, copy bandwidth"
    set +e; timeout "$t" "$PYTHON" "$WORK/floor.py" "$RESULTS/floor.json" >"$RESULTS/floor.log" 2>&1; FLOOR_STATUS=$?; set -e
    tail -n 20 "$RESULTS/floor.log" | sed 's/^/    | /'
  else
    log "floor: no PyTorch with CUDA (or no time left): the kernel targets cannot be judged"
    FLOOR_STATUS=1
  fi
fi

# --- tests at 2 ranks (after the figures: they are the first thing dropped when time runs out) -----
for t in "${TESTS_NP2[@]}"; do
  if [ "$HAVE_MPIEXEC" = 1 ]; then
    run_logged "$t.np2" 150 "${MPIEXEC[@]}" -n 2 "$B/bin/$t" --gtest_color=no
    gtest_row "$t.np2"
  else
    add "test $t.np2" "no working mpiexec" "exit 0" SKIPPED
  fi
done

if [ "$MODE" = dry-run ]; then
  log "dry run: the bundle unpacks and its programs find their libraries; the run would be (budget $BUDGET s):"
  for p in "${PLAN[@]}"; do echo "  $p"; done
  table "$SUMMARY"
  if [ "$GPU" = 0 ]; then log "no GPU here: nothing was run on a device"; fi
  grep -q 'FAIL$' "$SUMMARY" && exit 1
  exit 0
fi

# --- figures and verdicts from the JSON outputs --------------------------------------------------
"$PYTHON" - "$RESULTS" "$SUMMARY" "$KERNELS_STATUS" "$STEPS_STATUS" "$MIXING_STATUS" "$DSGD_STATUS" \
  "${FLOOR_STATUS:-1}" <<'PY' || add "figures" "analysis failed (see gpu-check.log)" "" FAIL
import json, os, re, sys
res, summary = sys.argv[1], sys.argv[2]
kernels_st, steps_st, mixing_st, dsgd_st, floor_st = (int(s) for s in sys.argv[3:8])

def add(item, figure, target, result):
    with open(summary, "a") as f:
        f.write(f"{item}\t{figure}\t{target}\t{result}\n")

def bench(name):
    path = os.path.join(res, name)
    if not os.path.exists(path):
        return []
    try:
        return [b for b in json.load(open(path))["benchmarks"] if b.get("run_type", "iteration") == "iteration"]
    except (ValueError, KeyError):
        return []

floor = {}
if floor_st == 0 and os.path.exists(os.path.join(res, "floor.json")):
    floor = json.load(open(os.path.join(res, "floor.json")))
copy = floor.get("copy_GBps")
peak = floor.get("hbm_peak_GBps")
if copy:
    add("device copy bandwidth (torch)", f"{copy:.0f} GB/s" + (f" ({copy / peak:.0%} of nominal {peak:.0f})" if peak else ""),
        "reference", "INFO")

# 1. Kernels against the cuBLAS floor on the same shapes: floor / t >= 0.5.
kernels = bench("bench_kernels.json")
if not kernels:
    add("gradient kernels", f"no results (exit {kernels_st})", ">= 50% of cuBLAS", "FAIL")
for b in kernels:
    name = b["name"].split("/manual_time")[0]
    kind, shape = name.split("/", 1)
    t = b.get("t_ms")
    if b.get("error_occurred"):
        add(name, b.get("error_message", "error"), ">= 50% of cuBLAS", "FAIL")
        continue
    f = floor.get("floor_ms", {}).get(shape)
    gbps = b.get("GBps", 0.0)
    if f and t:
        ratio = f / t
        add(name, f"{t:.3f} ms, cuBLAS {f:.3f} ms: {ratio:.0%} ({gbps:.0f} GB/s)", ">= 50% of cuBLAS",
            "PASS" if ratio >= 0.5 else "FAIL")
    else:
        add(name, f"{t:.3f} ms ({gbps:.0f} GB/s)", ">= 50% of cuBLAS", "NO FLOOR")

# 2. Steps: bound_over_step (the step's bytes at the copy kernel's bandwidth / the step's time).
steps = bench("bench_steps.json")
if not steps:
    add("algorithm steps", f"no results (exit {steps_st})", "reported", "FAIL")
for b in steps:
    name = b["name"].split("/manual_time")[0]
    if "bound_over_step" in b:
        add(name, f"{b['t_step_ms']:.3f} ms, {b['bound_over_step']:.0%} of copy bandwidth "
            f"({b['copy_GBps']:.0f} GB/s)", "reported", "INFO")
    elif "bound_over_average" in b:
        add(name, f"{b['t_average_ms']:.3f} ms, {b['bound_over_average']:.0%} of its bound", "reported", "INFO")

# 3. Mixing against the copy kernel timed in the same loop: copy_over_mix >= 0.8.
mixing = bench("bench_mixing.json")
if not mixing:
    add("mixing", f"no results (exit {mixing_st})", ">= 80% of copy", "FAIL")
for b in mixing:
    name = b["name"].split("/manual_time")[0]
    if name.startswith("mix_vs_copy/"):
        r = b["copy_over_mix"]
        gbps = 16 * b["n"] * b["d"] / (b["t_mix_ms"] * 1e-3) / 1e9
        add(name, f"{b['t_mix_ms']:.3f} ms, {r:.0%} of the copy kernel, {b['deep_over_mix']:.0%} of deep_copy "
            f"({gbps:.0f} GB/s)", ">= 80% of copy", "PASS" if r >= 0.8 else "FAIL")
    elif name.startswith("exp_vs_ring/"):
        add(name, f"exp/ring {b['exp_over_ring']:.2f}", "reported", "INFO")
    elif name.startswith("overhead/"):
        add(name, f"{b['median_us']:.1f} us per apply", "reported", "INFO")

# 4. DSGD, 1,024 x 1e5: bytes per iteration (7 + m) V, V = 8 n d (read x, A, write g; descend:
#    read x, g, write w; mix: read w, write x), at the iteration rate of the last progress line.
text = open(os.path.join(res, "dsgd_run.log")).read() if os.path.exists(os.path.join(res, "dsgd_run.log")) else ""
rates = re.findall(r"\|\s*([0-9.]+) it/s", text)
ref = copy or peak
if dsgd_st == 0 and rates:
    rate = float(rates[-1])
    V = 8.0 * 1024 * 100000
    gbps = 8 * V * rate / 1e9
    figure = f"{rate:.0f} it/s, {gbps:.0f} GB/s (8 V per iteration)"
    if peak:
        figure += f", {gbps / peak:.0%} of nominal HBM"
    if copy:
        figure += f", {gbps / copy:.0%} of copy"
    if ref:
        add("DSGD 1024 x 1e5 (concord run)", figure, ">= 70% of HBM (copy, else nominal)",
            "PASS" if gbps >= 0.7 * ref else "FAIL")
    else:
        add("DSGD 1024 x 1e5 (concord run)", figure, ">= 70% of HBM", "NO FLOOR")
else:
    add("DSGD 1024 x 1e5 (concord run)", f"no rate (exit {dsgd_st})", ">= 70% of HBM", "FAIL")
PY

# --- summary -----------------------------------------------------------------------------------------
echo
log "summary ($(($(date +%s) - START)) s; outputs in $RESULTS):"
table "$SUMMARY" | tee "$RESULTS/summary.txt"
if grep -qE $'\t(FAIL|TIMEOUT|NO FLOOR)$' "$SUMMARY"; then
  log "result: FAILED ($(grep -cE $'\t(FAIL|TIMEOUT|NO FLOOR)$' "$SUMMARY") rows)"
  exit 1
fi
log "result: PASSED"
