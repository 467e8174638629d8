#include "concord/comm/communicator.hpp"

#include <fmt/format.h>

#include <type_traits>
#include <utility>

#include "concord/comm/errors.hpp"
#include "concord/core/agent_layout.hpp"
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
  try {
    CONCORD_MPI(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
    CONCORD_MPI(MPI_Comm_rank(comm_, &rank_));
    CONCORD_MPI(MPI_Comm_size(comm_, &size_));
  } catch (...) {
    release();  // the destructor does not run for a constructor that throws
    throw;
  }
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

// ---------------------------------------------------------------------------------------------
// Checked collectives
// ---------------------------------------------------------------------------------------------

namespace {
template <class T>
MPI_Datatype datatype() {
  if constexpr (std::is_same_v<T, int>) return MPI_INT;
  else if constexpr (std::is_same_v<T, long>) return MPI_LONG;
  else if constexpr (std::is_same_v<T, long long>) return MPI_LONG_LONG;
  else if constexpr (std::is_same_v<T, unsigned>) return MPI_UNSIGNED;
  else if constexpr (std::is_same_v<T, unsigned long>) return MPI_UNSIGNED_LONG;
  else if constexpr (std::is_same_v<T, unsigned long long>) return MPI_UNSIGNED_LONG_LONG;
  else if constexpr (std::is_same_v<T, double>) return MPI_DOUBLE;
  else static_assert(!sizeof(T), "no MPI datatype for this type");
}

/// MPI counts are `int`.
int count_of(std::size_t n, const char* what) {
  if (n > static_cast<std::size_t>(INT_MAX))
    throw std::logic_error(fmt::format("{}: {} elements exceed MPI's int count", what, n));
  return static_cast<int>(n);
}

template <class T>
T allreduce(T value, MPI_Op op, MPI_Comm comm) {
  T result{};
  CONCORD_MPI(MPI_Allreduce(&value, &result, 1, datatype<T>(), op, comm));
  return result;
}

template <class T>
void allreduce(std::span<T> values, MPI_Op op, MPI_Comm comm) {
  CONCORD_MPI(MPI_Allreduce(MPI_IN_PLACE, values.data(), count_of(values.size(), "MPI_Allreduce"), datatype<T>(), op,
                            comm));
}
}  // namespace

bool finalized() {
  int done = 0;
  MPI_Finalized(&done);  // callable at any time, even before MPI_Init and after MPI_Finalize
  return done != 0;
}

std::string library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  CONCORD_MPI(MPI_Get_library_version(text, &length));
  return std::string(text, static_cast<std::size_t>(length));
}

std::pair<int, int> standard_version() {
  int major = 0, minor = 0;
  CONCORD_MPI(MPI_Get_version(&major, &minor));
  return {major, minor};
}

int rank(MPI_Comm comm) {
  int r = 0;
  CONCORD_MPI(MPI_Comm_rank(comm, &r));
  return r;
}

int size(MPI_Comm comm) {
  int p = 1;
  CONCORD_MPI(MPI_Comm_size(comm, &p));
  return p;
}

void barrier(MPI_Comm comm) { CONCORD_MPI(MPI_Barrier(comm)); }

template <MpiScalar T>
T allreduce_min(T value, MPI_Comm comm) {
  return allreduce(value, MPI_MIN, comm);
}
template <MpiScalar T>
T allreduce_max(T value, MPI_Comm comm) {
  return allreduce(value, MPI_MAX, comm);
}
template <MpiScalar T>
T allreduce_sum(T value, MPI_Comm comm) {
  return allreduce(value, MPI_SUM, comm);
}
template <MpiScalar T>
void allreduce_min(std::span<T> values, MPI_Comm comm) {
  allreduce(values, MPI_MIN, comm);
}
template <MpiScalar T>
void allreduce_max(std::span<T> values, MPI_Comm comm) {
  allreduce(values, MPI_MAX, comm);
}
template <MpiScalar T>
void allreduce_sum(std::span<T> values, MPI_Comm comm) {
  allreduce(values, MPI_SUM, comm);
}

ValueAndRank allreduce_maxloc(double value, MPI_Comm comm) {
  struct {
    double value;
    int rank;
  } mine{value, rank(comm)}, best{};
  CONCORD_MPI(MPI_Allreduce(&mine, &best, 1, MPI_DOUBLE_INT, MPI_MAXLOC, comm));
  return {best.value, best.rank};
}

template <MpiScalar T>
void broadcast(T& value, int root, MPI_Comm comm) {
  CONCORD_MPI(MPI_Bcast(&value, 1, datatype<T>(), root, comm));
}
template <MpiScalar T>
void broadcast(std::span<T> values, int root, MPI_Comm comm) {
  CONCORD_MPI(MPI_Bcast(values.data(), count_of(values.size(), "MPI_Bcast"), datatype<T>(), root, comm));
}

void broadcast(std::string& text, int root, MPI_Comm comm) {
  long long length = static_cast<long long>(text.size());
  CONCORD_MPI(MPI_Bcast(&length, 1, MPI_LONG_LONG, root, comm));
  text.resize(static_cast<std::size_t>(length));
  if (length > 0)
    CONCORD_MPI(MPI_Bcast(text.data(), count_of(static_cast<std::size_t>(length), "MPI_Bcast"), MPI_CHAR, root, comm));
}

int shared_memory_size(MPI_Comm comm) {
  MPI_Comm node = MPI_COMM_NULL;
  CONCORD_MPI(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  int ranks = 1;
  const int code = MPI_Comm_size(node, &ranks);
  MPI_Comm_free(&node);
  check_mpi(code, "MPI_Comm_size");
  return ranks;
}

#define CONCORD_COMM_INSTANTIATE(T)                                          \
  template T allreduce_min<T>(T, MPI_Comm);                                 \
  template T allreduce_max<T>(T, MPI_Comm);                                 \
  template T allreduce_sum<T>(T, MPI_Comm);                                 \
  template void allreduce_min<T>(std::span<T>, MPI_Comm);                   \
  template void allreduce_max<T>(std::span<T>, MPI_Comm);                   \
  template void allreduce_sum<T>(std::span<T>, MPI_Comm);                   \
  template void broadcast<T>(T&, int, MPI_Comm);                            \
  template void broadcast<T>(std::span<T>, int, MPI_Comm);
CONCORD_COMM_INSTANTIATE(int)
CONCORD_COMM_INSTANTIATE(long)
CONCORD_COMM_INSTANTIATE(long long)
CONCORD_COMM_INSTANTIATE(unsigned)
CONCORD_COMM_INSTANTIATE(unsigned long)
CONCORD_COMM_INSTANTIATE(unsigned long long)
CONCORD_COMM_INSTANTIATE(double)
#undef CONCORD_COMM_INSTANTIATE

// ---------------------------------------------------------------------------------------------
// Agreeing on errors
// ---------------------------------------------------------------------------------------------

void detail::agree_on_error(MPI_Comm comm, int kind, const std::string& message) {
  const int first = allreduce_min(kind != 0 ? rank(comm) : INT_MAX, comm);
  if (first == INT_MAX) return;
  broadcast(kind, first, comm);
  std::string text = message;
  broadcast(text, first, comm);
  if (kind == 1) throw InputError(text);
  if (kind == 3) throw std::logic_error(text);
  throw RuntimeError(text);
}

}  // namespace concord::comm

// The one MPI-dependent piece of core/agent_layout.hpp, here since core calls no MPI itself.
concord::AgentLayout concord::AgentLayout::over(int agents, MPI_Comm comm) {
  return AgentLayout(agents, comm::size(comm), comm::rank(comm));
}
