#!/usr/bin/env bash
# Installs Concord's dependencies on Debian 12 (bookworm), idempotently:
#   1. Debian packages: MPICH, parallel HDF5 (MPICH flavour), GoogleTest, Google Benchmark, CLI11,
#      nlohmann-json, fmt, Eigen, Spectra, ccache, ninja (needs root; skipped when all present);
#   2. Kokkos 5.0.2 (Serial + OpenMP) from Debian's source tarball, sha256 pinned;
#   3. Teuchos ParameterList (no MPI, no Kokkos) from bookworm's `trilinos` source package;
#   with --cuda, step 2 builds Kokkos 5.0.2 with CUDA (+ Serial, Hopper) through nvcc_wrapper instead
#   (compiles here; runs only on a machine with a GPU).
# Everything is built into a cache outside the clone, reused when complete:
#   ${CONCORD_CACHE:-$HOME/.cache/concord}/install/{kokkos-5.0.2-openmp,kokkos-5.0.2-cuda,teuchos-13.2}
# Kokkos_ROOT / TeuchosParameterList_ROOT set in the environment win: nothing is built for them.
# The last line printed is the CMake arguments that select what was installed (scripts/build.sh
# reads them through --print-cmake-args).
set -euo pipefail

usage() {
  cat <<USAGE
usage: scripts/setup-deps.sh [--cuda] [--no-apt] [--print-cmake-args] [--help]
  --cuda              the CUDA flavour: Kokkos with CUDA (needs nvcc >= 12.2 in CUDA_HOME), and CMake
                      arguments that build Concord with it (nvcc_wrapper, CONCORD_ENABLE_CUDA=ON)
  --no-apt            do not install Debian packages (report missing ones and stop)
  --print-cmake-args  print only the CMake arguments for an existing set-up (builds nothing)
environment: CONCORD_CACHE (cache folder), Kokkos_ROOT, TeuchosParameterList_ROOT,
             CONCORD_DEBIAN_MIRROR (Debian mirror URL; default: the one apt is configured with),
             CUDA_HOME (default /usr/local/cuda)
USAGE
}

WANT_CUDA=0 NO_APT=0 PRINT_ONLY=0
for a in "$@"; do
  case "$a" in
    --cuda) WANT_CUDA=1 ;;
    --no-apt) NO_APT=1 ;;
    --print-cmake-args) PRINT_ONLY=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "setup-deps: unknown option '$a'" >&2; usage >&2; exit 2 ;;
  esac
done

CACHE=${CONCORD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/concord}
KOKKOS_VERSION=5.0.2
KOKKOS_TARBALL=kokkos_${KOKKOS_VERSION}.orig.tar.gz
KOKKOS_SHA256=188817bb452ca805ee8701f1c5adbbb4fb83dc8d1c50624566a18a719ba0fa5e
TEUCHOS_VERSION=13.2
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
KOKKOS_PREFIX=$CACHE/install/kokkos-$KOKKOS_VERSION-openmp
KOKKOS_CUDA_PREFIX=$CACHE/install/kokkos-$KOKKOS_VERSION-cuda
TEUCHOS_PREFIX=$CACHE/install/teuchos-$TEUCHOS_VERSION
JOBS=$(nproc 2>/dev/null || echo 2)

log() { echo "[setup-deps] $*" >&2; }
die() { echo "setup-deps: error: $*" >&2; exit 1; }
trap 'echo "setup-deps: error: command failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

# The MPICH tools, selected explicitly (OpenMPI registers the plain names at a higher priority).
MPICH_ARGS="-DMPI_C_COMPILER=mpicc.mpich -DMPI_CXX_COMPILER=mpicxx.mpich -DMPIEXEC_EXECUTABLE=/usr/bin/mpiexec.mpich -DHDF5_C_COMPILER_EXECUTABLE=/usr/bin/h5pcc.mpich"

# The Kokkos of the requested flavour: Kokkos_ROOT if given, else the cached build.
if [ "$WANT_CUDA" = 1 ]; then KOKKOS=${Kokkos_ROOT:-$KOKKOS_CUDA_PREFIX}; else KOKKOS=${Kokkos_ROOT:-$KOKKOS_PREFIX}; fi

cmake_args() {
  local args="-DKokkos_ROOT=$KOKKOS -DTeuchosParameterList_ROOT=${TeuchosParameterList_ROOT:-$TEUCHOS_PREFIX} $MPICH_ARGS"
  [ "$WANT_CUDA" = 0 ] || args="$args -DCMAKE_CXX_COMPILER=$KOKKOS/bin/nvcc_wrapper -DCONCORD_ENABLE_CUDA=ON"
  echo "$args"
}
if [ "$PRINT_ONLY" = 1 ]; then cmake_args; exit 0; fi

# ---------------------------------------------------------------------------------------------
# 1. Debian packages
# ---------------------------------------------------------------------------------------------
PACKAGES=(build-essential cmake ninja-build ccache git curl ca-certificates xz-utils
  mpich libmpich-dev libhdf5-mpich-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev libfmt-dev
  libeigen3-dev libspectra-dev libopenblas-dev zlib1g-dev dataset-fashion-mnist python3
  python3-numpy python3-h5py python3-matplotlib slurm-wlm munge)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$NO_APT" = 1 ] || [ "$(id -u)" != 0 ]; then
    die "missing Debian packages: ${missing[*]}
  install them as root with:  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed: Debian's archive must be reachable"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install failed for: ${missing[*]}"
fi
for tool in mpicc.mpich mpicxx.mpich mpiexec.mpich h5pcc.mpich; do
  command -v "$tool" >/dev/null || die "$tool not found although MPICH/HDF5 packages are installed"
done

# The Debian mirror apt uses (for source tarballs): CONCORD_DEBIAN_MIRROR wins.
debian_mirror() {
  if [ -n "${CONCORD_DEBIAN_MIRROR:-}" ]; then echo "${CONCORD_DEBIAN_MIRROR%/}"; return; fi
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {print $2}' \
        | grep -v -- '-security' | head -n 1)
  [ -n "$uri" ] || uri=$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | awk '{print $2}' | grep -v -- '-security' | head -n 1)
  [ -n "$uri" ] || die "cannot find a Debian mirror in /etc/apt; set CONCORD_DEBIAN_MIRROR"
  echo "${uri%/}"
}

mkdir -p "$CACHE/downloads" "$CACHE/build" "$CACHE/install"

# ---------------------------------------------------------------------------------------------
# 2. Kokkos
# ---------------------------------------------------------------------------------------------
fetch_kokkos_tarball() {
  local f=$CACHE/downloads/$KOKKOS_TARBALL
  if [ -f "$f" ] && echo "$KOKKOS_SHA256  $f" | sha256sum -c --status; then echo "$f"; return; fi
  local url
  url="$(debian_mirror)/pool/main/k/kokkos/$KOKKOS_TARBALL"
  log "downloading $url"
  curl -fsSL --retry 3 -o "$f.part" "$url" || die "could not download the Kokkos $KOKKOS_VERSION source
  from $url.
  Provide an existing Kokkos >= 4 install instead:  Kokkos_ROOT=/path/to/kokkos scripts/setup-deps.sh"
  echo "$KOKKOS_SHA256  $f.part" | sha256sum -c --status \
    || die "checksum mismatch for $url (expected sha256 $KOKKOS_SHA256); the file was not kept"
  mv "$f.part" "$f"
  echo "$f"
}

# build_kokkos PREFIX FLAVOUR CMAKE_ARGS...
build_kokkos() {
  local prefix=$1 flavour=$2; shift 2
  if [ -f "$prefix/.concord-complete" ]; then log "Kokkos ($flavour) ready in $prefix"; return; fi
  local tarball src bld
  tarball=$(fetch_kokkos_tarball)
  src=$CACHE/build/kokkos-$KOKKOS_VERSION-src
  bld=$CACHE/build/kokkos-$KOKKOS_VERSION-$flavour
  if [ ! -f "$src/CMakeLists.txt" ]; then
    rm -rf "$src"; mkdir -p "$src"
    tar -xzf "$tarball" -C "$src" --strip-components=1
  fi
  rm -rf "$bld" "$prefix"
  log "building Kokkos $KOKKOS_VERSION ($flavour) into $prefix"
  cmake -S "$src" -B "$bld" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DCMAKE_CXX_STANDARD=20 -DCMAKE_CXX_EXTENSIONS=OFF -DBUILD_SHARED_LIBS=ON \
    -DKokkos_ENABLE_SERIAL=ON "$@" >"$bld.configure.log" 2>&1 \
    || die "Kokkos ($flavour) configure failed; see $bld.configure.log"
  cmake --build "$bld" -j "$JOBS" >"$bld.build.log" 2>&1 || die "Kokkos ($flavour) build failed; see $bld.build.log"
  cmake --install "$bld" >/dev/null || die "Kokkos ($flavour) install failed"
  touch "$prefix/.concord-complete"
  rm -rf "$bld"
}

if [ -n "${Kokkos_ROOT:-}" ]; then
  [ -d "$Kokkos_ROOT" ] || die "Kokkos_ROOT=$Kokkos_ROOT does not exist"
  log "using Kokkos from Kokkos_ROOT=$Kokkos_ROOT"
elif [ "$WANT_CUDA" = 1 ]; then
  [ -x "$CUDA_HOME/bin/nvcc" ] || die "--cuda needs nvcc: none at $CUDA_HOME/bin/nvcc (set CUDA_HOME)"
  # nvcc_wrapper comes with the Kokkos source that build_kokkos unpacks before configuring.
  PATH=$CUDA_HOME/bin:$PATH build_kokkos "$KOKKOS_CUDA_PREFIX" cuda \
    -DCMAKE_CXX_COMPILER="$CACHE/build/kokkos-$KOKKOS_VERSION-src/bin/nvcc_wrapper" \
    -DKokkos_ENABLE_CUDA=ON -DKokkos_ARCH_HOPPER90=ON
else
  build_kokkos "$KOKKOS_PREFIX" openmp -DCMAKE_CXX_COMPILER=g++ -DKokkos_ENABLE_OPENMP=ON
fi

# ---------------------------------------------------------------------------------------------
# 3. Teuchos ParameterList (serial, no Kokkos) from bookworm's trilinos source package
# ---------------------------------------------------------------------------------------------
fetch_trilinos_source() {
  # Private apt directories: /etc/apt is not touched.
  local A=$CACHE/apt-src
  mkdir -p "$A/etc" "$A/lists/partial" "$A/cache/archives/partial" "$CACHE/downloads/trilinos"
  echo "deb-src $(debian_mirror) bookworm main" >"$A/etc/bookworm-src.list"
  local opts=(-o Dir::State::Lists="$A/lists" -o Dir::Etc::SourceList=/dev/null
              -o Dir::Etc::SourceParts="$A/etc" -o Dir::Cache="$A/cache" -o APT::Sandbox::User=root)
  if ! ls "$CACHE"/downloads/trilinos/trilinos_*.orig.tar.* >/dev/null 2>&1; then
    log "downloading bookworm's trilinos source package (about 166 MB, once)"
    apt-get "${opts[@]}" update -qq || die "apt-get update of the private deb-src list failed"
    (cd "$CACHE/downloads/trilinos" && apt-get "${opts[@]}" source --download-only -qq trilinos/bookworm) \
      || die "could not fetch the trilinos source package with apt-get source.
  Provide an existing Teuchos install instead:  TeuchosParameterList_ROOT=/path scripts/setup-deps.sh"
  fi
  ls "$CACHE"/downloads/trilinos/trilinos_*.orig.tar.* | head -n 1
}

if [ -n "${TeuchosParameterList_ROOT:-}" ]; then
  [ -d "$TeuchosParameterList_ROOT" ] || die "TeuchosParameterList_ROOT=$TeuchosParameterList_ROOT does not exist"
  log "using Teuchos from TeuchosParameterList_ROOT=$TeuchosParameterList_ROOT"
elif [ -f "$TEUCHOS_PREFIX/.concord-complete" ]; then
  log "Teuchos ParameterList ready in $TEUCHOS_PREFIX"
else
  tarball=$(fetch_trilinos_source)
  src=$CACHE/build/trilinos-src bld=$CACHE/build/teuchos-build
  if [ ! -f "$src/.extracted" ]; then
    rm -rf "$src"; mkdir -p "$src"
    top=$( (tar -tf "$tarball" 2>/dev/null || true) | head -n 1 | cut -d/ -f1)
    log "extracting the Teuchos part of $tarball"
    tar -xf "$tarball" -C "$src" --strip-components=1 --wildcards \
      "$top/packages/teuchos" "$top/cmake" "$top/commonTools/build_stats" "$top/*.cmake" \
      "$top/CMakeLists.txt" "$top/README" "$top/LICENSE" "$top/Copyright.txt" "$top/RELEASE_NOTES" \
      || die "unexpected layout of $tarball"
    touch "$src/.extracted"
  fi
  rm -rf "$bld" "$TEUCHOS_PREFIX"
  log "building Teuchos ParameterList $TEUCHOS_VERSION into $TEUCHOS_PREFIX"
  cmake -S "$src" -B "$bld" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$TEUCHOS_PREFIX" \
    -DCMAKE_CXX_COMPILER=g++ -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_STANDARD=17 -DBUILD_SHARED_LIBS=ON \
    -DTPL_ENABLE_MPI=OFF -DTrilinos_ENABLE_Fortran=OFF -DTrilinos_ENABLE_Kokkos=OFF \
    -DTrilinos_ENABLE_ALL_OPTIONAL_PACKAGES=OFF -DTrilinos_ENABLE_ALL_FORWARD_DEP_PACKAGES=OFF \
    -DTrilinos_ENABLE_TeuchosParameterList=ON -DTrilinos_ASSERT_MISSING_PACKAGES=OFF \
    -DTrilinos_ENABLE_TESTS=OFF -DTrilinos_ENABLE_EXAMPLES=OFF >"$bld.configure.log" 2>&1 \
    || die "Teuchos configure failed; see $bld.configure.log"
  cmake --build "$bld" -j "$JOBS" >"$bld.build.log" 2>&1 || die "Teuchos build failed; see $bld.build.log"
  cmake --install "$bld" >/dev/null || die "Teuchos install failed"
  touch "$TEUCHOS_PREFIX/.concord-complete"
  rm -rf "$bld"
fi

log "dependencies ready (cache: $CACHE)"
cmake_args
