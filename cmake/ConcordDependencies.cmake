# Finds Concord's dependencies and checks that they are the right ones (scripts/setup-deps.sh
# installs them; the README's "Set-up details" says which and why).

# --- Kokkos >= 4 (never Debian's libtrilinos-kokkos 3.4.1) ---------------------------------
find_package(Kokkos 4 CONFIG)
if(NOT Kokkos_FOUND)
  message(FATAL_ERROR "Concord needs Kokkos >= 4 (found none). Run scripts/setup-deps.sh, which builds Kokkos 5.0.2 "
                      "into a cache, or pass -DKokkos_ROOT=/path/to/kokkos-install.")
endif()
if(Kokkos_DIR MATCHES "^/usr/lib/x86_64-linux-gnu/cmake/Kokkos")
  message(FATAL_ERROR "Kokkos_DIR=${Kokkos_DIR} is Debian's Kokkos 3.4.1 (Serial only); pass -DKokkos_ROOT of "
                      "a Kokkos >= 4 build (scripts/setup-deps.sh makes one).")
endif()
kokkos_check(DEVICES CUDA RETURN_VALUE CONCORD_KOKKOS_HAS_CUDA)
if(CONCORD_ENABLE_CUDA AND NOT CONCORD_KOKKOS_HAS_CUDA)
  message(FATAL_ERROR "CONCORD_ENABLE_CUDA=ON but the Kokkos at ${Kokkos_DIR} has no CUDA backend; build one with "
                      "scripts/setup-deps.sh --cuda and pass its Kokkos_ROOT.")
endif()
if(CONCORD_KOKKOS_HAS_CUDA AND NOT CONCORD_ENABLE_CUDA)
  message(STATUS "Kokkos has CUDA enabled: building the CUDA flavour")
  set(CONCORD_ENABLE_CUDA ON CACHE BOOL "" FORCE)
endif()
if(CONCORD_ENABLE_CUDA)
  # fmt 9 turns its constexpr off under nvcc but keeps one constexpr function that needs it, which
  # g++ (nvcc's host compiler) rejects: keep constexpr on.
  add_compile_definitions(FMT_USE_CONSTEXPR=1)
  # Eigen's defaulted __host__ __device__ members: harmless, but thousands of lines of noise.
  # (C++ only: nvcc_wrapper compiles the C++ sources; C sources such as tests/io/fault_inject.c
  # go to the plain C compiler, which rejects -Xcudafe.)
  add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:SHELL:-Xcudafe --diag_suppress=20012>")
  # Concord calls Eigen on the host only: without EIGEN_NO_CUDA, Eigen's CUDA support makes its
  # std::complex helpers __host__ __device__, and nvcc warns (#20015) that they call constexpr
  # host functions, in every file that includes Eigen.
  add_compile_definitions(EIGEN_NO_CUDA)
endif()
if(CONCORD_ENABLE_NCCL AND NOT CONCORD_ENABLE_CUDA)
  message(FATAL_ERROR "CONCORD_ENABLE_NCCL=ON needs the CUDA flavour (CONCORD_ENABLE_CUDA=ON).")
endif()
message(STATUS "Kokkos ${Kokkos_VERSION} from ${Kokkos_DIR} (devices: ${Kokkos_DEVICES})")

# --- MPI: MPICH, selected explicitly ----------------------------------------------------------
if(NOT MPI_CXX_COMPILER AND EXISTS /usr/bin/mpicxx.mpich)
  set(MPI_C_COMPILER /usr/bin/mpicc.mpich CACHE FILEPATH "MPICH C wrapper")
  set(MPI_CXX_COMPILER /usr/bin/mpicxx.mpich CACHE FILEPATH "MPICH C++ wrapper")
  set(MPIEXEC_EXECUTABLE /usr/bin/mpiexec.mpich CACHE FILEPATH "MPICH launcher")
endif()
find_package(MPI REQUIRED COMPONENTS C CXX)
if(NOT MPI_C_LIBRARIES MATCHES "mpich")
  message(WARNING "The MPI library is not MPICH (${MPI_C_LIBRARIES}); Concord is tested with MPICH. "
                  "Select it with -DMPI_CXX_COMPILER=mpicxx.mpich -DMPIEXEC_EXECUTABLE=/usr/bin/mpiexec.mpich.")
endif()
# The MPI of this build, recorded in the installed package (ConcordConfig.cmake) so that a consumer
# gets the same one: absolute paths of the wrappers and the launcher (a wrapper given by name,
# -DMPI_CXX_COMPILER=mpicxx.mpich, is looked up on PATH; some CMake versions keep the bare name)
# and the real paths of the MPI libraries, which the consumer's MPI must match.
foreach(tool MPI_C_COMPILER MPI_CXX_COMPILER MPIEXEC_EXECUTABLE)
  set(CONCORD_${tool} "${${tool}}")
  if(CONCORD_${tool} AND NOT IS_ABSOLUTE "${CONCORD_${tool}}")
    unset(concord_tool_path)
    find_program(concord_tool_path NAMES "${CONCORD_${tool}}" NO_CACHE)
    if(NOT concord_tool_path)
      message(FATAL_ERROR "${tool}=${${tool}} is not on PATH; pass its absolute path.")
    endif()
    set(CONCORD_${tool} "${concord_tool_path}")
  endif()
endforeach()
set(CONCORD_MPI_LIBRARIES)
foreach(lib IN LISTS MPI_C_LIBRARIES)
  file(REAL_PATH "${lib}" lib)
  list(APPEND CONCORD_MPI_LIBRARIES "${lib}")
endforeach()

# --- parallel HDF5 (MPICH flavour) ------------------------------------------------------------
if(NOT HDF5_C_COMPILER_EXECUTABLE AND EXISTS /usr/bin/h5pcc.mpich)
  set(HDF5_C_COMPILER_EXECUTABLE /usr/bin/h5pcc.mpich CACHE FILEPATH "parallel HDF5 compiler wrapper")
endif()
set(HDF5_PREFER_PARALLEL TRUE)
find_package(HDF5 REQUIRED COMPONENTS C)
if(NOT HDF5_IS_PARALLEL)
  message(FATAL_ERROR "HDF5 ${HDF5_VERSION} at ${HDF5_C_INCLUDE_DIRS} is serial; Concord needs parallel HDF5 "
                      "(Debian: libhdf5-mpich-dev, selected with -DHDF5_C_COMPILER_EXECUTABLE=/usr/bin/h5pcc.mpich).")
endif()

# --- Teuchos ParameterList (serial build, no Kokkos) ------------------------------------------
find_package(TeuchosParameterList CONFIG)
if(NOT TeuchosParameterList_FOUND)
  message(FATAL_ERROR "Concord needs Teuchos ParameterList (found none). Run scripts/setup-deps.sh or pass "
                      "-DTeuchosParameterList_ROOT=/path/to/install.")
endif()

# --- OpenBLAS: the problems' dense products on the host (src/concord/problems/detail/dense.hpp) ---
# Debian's libopenblas-dev; the pthread flavour's headers declare the OpenBLAS extensions used
# (openblas_set_num_threads, openblas_get_corename).
find_path(OPENBLAS_INCLUDE_DIR cblas.h
  HINTS /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/aarch64-linux-gnu/openblas-pthread
  PATH_SUFFIXES openblas-pthread openblas NO_DEFAULT_PATH)
find_path(OPENBLAS_INCLUDE_DIR cblas.h PATH_SUFFIXES openblas-pthread openblas)
find_library(OPENBLAS_LIBRARY openblas)
if(NOT OPENBLAS_INCLUDE_DIR OR NOT OPENBLAS_LIBRARY)
  message(FATAL_ERROR "OpenBLAS not found (Debian: libopenblas-dev; or pass -DOPENBLAS_INCLUDE_DIR and "
                      "-DOPENBLAS_LIBRARY).")
endif()

# --- header-only and small libraries from Debian ----------------------------------------------
find_package(CLI11 CONFIG REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(fmt REQUIRED)
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
find_package(ZLIB REQUIRED)
find_path(SPECTRA_INCLUDE_DIR Spectra/SymEigsSolver.h)
if(NOT SPECTRA_INCLUDE_DIR)
  message(FATAL_ERROR "Spectra headers not found (Debian: libspectra-dev; or pass -DSPECTRA_INCLUDE_DIR).")
endif()

if(CONCORD_ENABLE_NCCL)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda/include)
  find_library(NCCL_LIBRARY nccl HINTS /usr/local/cuda/lib64 /usr/local/cuda/lib)
  if(NOT NCCL_INCLUDE_DIR OR NOT NCCL_LIBRARY)
    message(FATAL_ERROR "CONCORD_ENABLE_NCCL=ON but nccl.h / libnccl were not found; pass -DNCCL_INCLUDE_DIR and "
                        "-DNCCL_LIBRARY.")
  endif()
endif()

find_program(CONCORD_CCACHE ccache)
if(CONCORD_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CONCORD_CCACHE})
endif()
