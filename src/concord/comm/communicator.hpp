#pragma once
/// \file communicator.hpp
/// A Concord-owned MPI communicator: an RAII duplicate of a parent communicator (so Concord's
/// messages never match a user's), with MPI_ERRORS_RETURN so every failure reaches
/// `check_mpi`. Move-only; freed in the destructor, which must run before MPI_Finalize.
/// \code
///   concord::comm::Communicator comm(MPI_COMM_WORLD);
///   int r = comm.rank(), p = comm.size();
/// \endcode
#include <mpi.h>

namespace concord::comm {

class Communicator {
 public:
  explicit Communicator(MPI_Comm parent = MPI_COMM_WORLD);
  ~Communicator();
  Communicator(Communicator&& other) noexcept;
  Communicator& operator=(Communicator&& other) noexcept;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  MPI_Comm get() const { return comm_; }
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  void release() noexcept;
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace concord::comm
