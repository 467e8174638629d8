#include "concord/comm/communicator.hpp"

#include <fmt/format.h>

#include <utility>

#include "concord/comm/errors.hpp"
#include "concord/core/error.hpp"

#include "concord/config.hpp"
#if CONCORD_HAVE_NCCL
#include <nccl.h>
#endif

namespace concord::comm {

namespace {
int world_rank() {
  int initialized = 0, finalized = 0, rank = -1;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}
}  // namespace

void check_mpi(int code, std::string_view operation) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  const std::string_view name = operation.substr(0, operation.find('('));
  throw RuntimeError(fmt::format("{} failed on rank {}: {} (MPI error code {})", name, world_rank(),
                                 std::string_view(text, static_cast<std::size_t>(length)), code));
}

void check_nccl(int code, std::string_view operation) {
  if (code == 0) return;  // ncclSuccess
  const std::string_view name = operation.substr(0, operation.find('('));
#if CONCORD_HAVE_NCCL
  const char* text = ncclGetErrorString(static_cast<ncclResult_t>(code));
#else
  const char* text = "NCCL error";
#endif
  throw RuntimeError(fmt::format("{} failed on rank {}: {} (NCCL error code {})", name, world_rank(), text, code));
}

Communicator::Communicator(MPI_Comm parent) {
  CONCORD_MPI(MPI_Comm_dup(parent, &comm_));
  CONCORD_MPI(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
  CONCORD_MPI(MPI_Comm_rank(comm_, &rank_));
  CONCORD_MPI(MPI_Comm_size(comm_, &size_));
}

Communicator::~Communicator() { release(); }

Communicator::Communicator(Communicator&& other) noexcept
    : comm_(std::exchange(other.comm_, MPI_COMM_NULL)), rank_(other.rank_), size_(other.size_) {}

Communicator& Communicator::operator=(Communicator&& other) noexcept {
  if (this != &other) {
    release();
    comm_ = std::exchange(other.comm_, MPI_COMM_NULL);
    rank_ = other.rank_;
    size_ = other.size_;
  }
  return *this;
}

void Communicator::release() noexcept {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (comm_ != MPI_COMM_NULL && !finalized) MPI_Comm_free(&comm_);
  comm_ = MPI_COMM_NULL;
}

}  // namespace concord::comm
