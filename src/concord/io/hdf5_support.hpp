#pragma once
/// \file hdf5_support.hpp
/// Private to the io layer (trajectory.cpp, checkpoint.cpp): cmake/ConcordPackaging.cmake does
/// not install it, and no installed header includes it (it pulls in hdf5.h).
///
/// The collective steps of the parallel HDF5 files, built from the HDF5 layer
/// (core/detail/hdf5.hpp, which calls no MPI) and comm's checked collectives:
///  - `path_kind_on_rank0`: what is at a path, as rank 0 sees it, on every rank;
///  - `open_parallel`: opens a Concord file with MPI-IO, the same verdict on every rank;
///  - `transfer_rows`: collective read or write of each rank's block of agent rows, row-major
///    [agent][coordinate] in the file, from or into a LayoutLeft host matrix, in pieces.
/// Errors are agreed over the communicator with comm::on_every_rank, so every rank throws the
/// same error and none walks on into a collective call alone.
#include <mpi.h>

#include <span>
#include <string>
#include <vector>

#include "concord/comm/communicator.hpp"
#include "concord/core/detail/hdf5.hpp"
#include "concord/core/error.hpp"

namespace concord::io::detail {

namespace hdf5 = concord::detail::hdf5;

/// hdf5::path_kind on rank 0, broadcast: 0 nothing, 1 a regular file, 2 a directory, 3 something
/// else (or unknown). Collective.
inline int path_kind_on_rank0(const std::string& path, MPI_Comm comm) {
  int kind = comm::rank(comm) == 0 ? hdf5::path_kind(path) : 0;
  comm::broadcast(kind, 0, comm);
  return kind;
}

/// Collective: opens `path` with MPI-IO on `comm` (`flags`: H5F_ACC_RDONLY or H5F_ACC_RDWR). The
/// checks run on rank 0 and are broadcast; InputError on every rank when the file is unusable.
inline hdf5::Handle open_parallel(const std::string& path, MPI_Comm comm, unsigned flags, const std::string& noun) {
  int state[2] = {path_kind_on_rank0(path, comm), 0};
  if (comm::rank(comm) == 0 && state[0] == 1) state[1] = H5Fis_hdf5(path.c_str()) > 0;
  comm::broadcast(std::span<int>(state), 0, comm);
  const std::string problem = hdf5::unusable_file(path, noun, state[0], state[1] != 0);
  if (!problem.empty()) throw InputError(problem);
  hdf5::Handle file;
  comm::on_every_rank(comm, [&] { file = hdf5::open_parallel_file(path, comm, flags, noun); });
  return file;
}

/// Collective: this rank's rows [first, first + count) x dimension of `dataset` (dims [agents,
/// dimension], or [n, agents, dimension] at leading index `lead` when `lead` >= 0), written from
/// or read into `host` (count x dimension, LayoutLeft), row-major in the file. Done in pieces of
/// at most hdf5::transfer_piece_doubles per rank; ranks with fewer pieces (or no rows) select
/// nothing. Errors are agreed over `comm`.
inline void transfer_rows(bool write, MPI_Comm comm, hid_t dataset, hid_t dxpl, long long lead, int first, int count,
                          int dimension, const hdf5::HostMatrix& host, const std::string& what) {
  const long long pieces = comm::allreduce_max(hdf5::row_pieces(count, dimension), comm);
  std::vector<double> buffer;
  for (long long p = 0; p < pieces; ++p)
    comm::on_every_rank(comm, [&] {
      hdf5::transfer_row_piece(write, dataset, dxpl, lead, first, count, dimension, p, host, buffer, what);
    });
}

}  // namespace concord::io::detail
