#include "concord/driver/build_info.hpp"

#include <mpi.h>

#include <Kokkos_Core.hpp>

#include "concord/comm/communicator.hpp"
#include "concord/config.hpp"
#include "concord/core/detail/hdf5.hpp"
#include "concord/core/detail/host_isa.hpp"
#include "concord/git_revision.hpp"
#include "concord/io/teuchos_version.hpp"
#include "concord/problems/detail/agent_lanes.hpp"
#include "concord/problems/detail/dense.hpp"
#include "concord/problems/problem.hpp"

namespace concord::driver {
namespace {

std::string execution_spaces() {
  std::string s;
  auto add = [&](const char* name) { s += (s.empty() ? "" : ", ") + std::string(name); };
#ifdef KOKKOS_ENABLE_SERIAL
  add("Serial");
#endif
#ifdef KOKKOS_ENABLE_OPENMP
  add("OpenMP");
#endif
#ifdef KOKKOS_ENABLE_THREADS
  add("Threads");
#endif
#ifdef KOKKOS_ENABLE_CUDA
  add("Cuda");
#endif
#ifdef KOKKOS_ENABLE_HIP
  add("HIP");
#endif
  return s + " (default: " + Kokkos::DefaultExecutionSpace::name() + ")";
}

std::string mpi_version() {
  std::string s = comm::library_version();
  if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.pop_back();
  const auto [major, minor] = comm::standard_version();
  return s + " (MPI " + std::to_string(major) + "." + std::to_string(minor) + ")";
}

/// Which kernels compute the problems: "; problem kernels: ..." for the BLAS line.
std::string problem_kernels() {
  if (problems::default_kernel_path != problems::KernelPath::blas) return "; problem kernels: portable Kokkos kernels";
  const int lanes = problems::detail::host_lane_kernels().width;
  return "; problem kernels: BLAS products, one agent per thread; MLP minibatches on agent lanes, " +
         std::to_string(lanes) + (lanes == 1 ? " agent" : " agents") + " per vector";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> build_info() {
  const int ranks = comm::size(MPI_COMM_WORLD);
  return {
      {"Concord", std::string(CONCORD_VERSION) + " (git " + CONCORD_GIT_REVISION + ", " + CONCORD_BUILD_TYPE + ", " +
                      CONCORD_CXX_COMPILER + ")"},
      {"Kokkos", std::to_string(KOKKOS_VERSION_MAJOR) + "." + std::to_string(KOKKOS_VERSION_MINOR) + "." +
                     std::to_string(KOKKOS_VERSION_PATCH)},
      {"Execution spaces", execution_spaces()},
      {"MPI", mpi_version()},
      {"MPI ranks", std::to_string(ranks)},
      {"HDF5", concord::detail::hdf5::library_version()},
      {"Teuchos", io::teuchos_version()},
      {"BLAS", problems::detail::blas_description() + problem_kernels()},
      {"CUDA", CONCORD_HAVE_CUDA ? "enabled" : "disabled"},
      {"NCCL", CONCORD_HAVE_NCCL ? "enabled" : "disabled"},
      {"Host kernels", concord::detail::host_isa_description()},
      {"Native build", CONCORD_NATIVE ? std::string("yes (-march=native: ") + CONCORD_NATIVE_ARCH +
                                            "; runs only on CPUs with that instruction set)"
                                      : std::string("no (portable)")},
  };
}

}  // namespace concord::driver
