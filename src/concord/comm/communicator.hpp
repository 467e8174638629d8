#pragma once
/// \file communicator.hpp
/// Concord's MPI, in one place: every MPI call of the library outside src/concord/comm/ goes
/// through this header, so that every return code is checked (comm/errors.hpp) and a failure
/// throws `concord::RuntimeError` naming the MPI function and the rank.
///
///  - `Communicator`: a Concord-owned communicator, an RAII duplicate of a parent communicator
///    (so Concord's messages never match a user's), with MPI_ERRORS_RETURN so every failure
///    reaches `check_mpi`. Move-only; freed in the destructor, which must run before
///    MPI_Finalize (it does nothing after it).
///  - checked collectives on any communicator (pass a `Communicator`'s `get()`):
///    `rank`, `size`, `barrier`, `allreduce_min/max/sum` of a scalar or in place over a span,
///    `allreduce_maxloc`, `broadcast` of a scalar, a span or a string, `shared_memory_size`;
///    and the process-wide `finalized`, `library_version`, `standard_version`.
///  - `on_every_rank`: runs a step on every rank and, when it threw on any rank, throws the first
///    failing rank's error on *every* rank, so that no rank walks on into a collective alone.
///
/// A communicator left at MPI's default handler (MPI_ERRORS_ARE_FATAL, e.g. MPI_COMM_WORLD)
/// aborts on an error before a code comes back; the checks then cost nothing.
/// \code
///   concord::comm::Communicator comm(MPI_COMM_WORLD);
///   int r = comm.rank(), p = comm.size();
///   const int first_bad = concord::comm::allreduce_min(mine, comm);
///   std::string text = ...;  // meaningful on rank 0
///   concord::comm::broadcast(text, /*root=*/0, comm);
/// \endcode
#include <mpi.h>

#include <climits>
#include <concepts>
#include <cstdint>
#include <exception>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "concord/core/error.hpp"

namespace concord::comm {

class Communicator {
 public:
  /// Duplicates `parent` (MPI_Comm_dup, checked) and owns the duplicate.
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

// ---------------------------------------------------------------------------------------------
// Checked collectives. Each throws concord::RuntimeError ("MPI_Bcast failed on rank 3: ...")
// when MPI returns an error. The typed ones exist for the MpiScalar types: int, long, long long,
// unsigned, unsigned long, unsigned long long and double (std::int64_t and std::uint64_t
// included); spans are of dynamic extent: pass std::span<int>(array), not std::span(array).
// ---------------------------------------------------------------------------------------------

/// The element types of the typed collectives (instantiated in communicator.cpp).
template <class T>
concept MpiScalar = std::same_as<T, int> || std::same_as<T, long> || std::same_as<T, long long> ||
                    std::same_as<T, unsigned> || std::same_as<T, unsigned long> ||
                    std::same_as<T, unsigned long long> || std::same_as<T, double>;

/// Whether MPI_Finalize has run (then nothing collective is possible any more). Never fails.
bool finalized();

/// MPI_Get_library_version's text: the library's own words, possibly several lines.
std::string library_version();
/// The version of the MPI standard the library implements, e.g. {4, 0} (MPI_Get_version).
std::pair<int, int> standard_version();

/// This process's rank in `comm`, and the number of ranks.
int rank(MPI_Comm comm);
int size(MPI_Comm comm);
/// MPI_Barrier.
void barrier(MPI_Comm comm);

/// The minimum, maximum or sum of `value` over the ranks of `comm`, on every rank.
template <MpiScalar T>
T allreduce_min(T value, MPI_Comm comm);
template <MpiScalar T>
T allreduce_max(T value, MPI_Comm comm);
template <MpiScalar T>
T allreduce_sum(T value, MPI_Comm comm);
/// Element-wise, in place over `values` (same length on every rank).
template <MpiScalar T>
void allreduce_min(std::span<T> values, MPI_Comm comm);
template <MpiScalar T>
void allreduce_max(std::span<T> values, MPI_Comm comm);
template <MpiScalar T>
void allreduce_sum(std::span<T> values, MPI_Comm comm);

/// The largest `value` over the ranks and the lowest rank holding it (MPI_MAXLOC).
struct ValueAndRank {
  double value = 0.0;
  int rank = 0;
};
ValueAndRank allreduce_maxloc(double value, MPI_Comm comm);

/// `value` (a span: its elements; same length on every rank) from rank `root` to every rank.
template <MpiScalar T>
void broadcast(T& value, int root, MPI_Comm comm);
template <MpiScalar T>
void broadcast(std::span<T> values, int root, MPI_Comm comm);
/// `text` from rank `root` to every rank, of any length (the size first, then the bytes).
void broadcast(std::string& text, int root, MPI_Comm comm);

/// How many ranks of `comm` share this process's node (MPI_Comm_split_type with
/// MPI_COMM_TYPE_SHARED; the split communicator is freed before returning). Collective.
int shared_memory_size(MPI_Comm comm);

// ---------------------------------------------------------------------------------------------
// Agreeing on errors
// ---------------------------------------------------------------------------------------------

namespace detail {
/// The collective half of on_every_rank: `kind` is 0 (no error), 1 InputError, 2 RuntimeError
/// or 3 std::logic_error. When some rank's kind is not 0, throws the lowest such rank's error
/// (same type, same message) on every rank.
void agree_on_error(MPI_Comm comm, int kind, const std::string& message);
}  // namespace detail

/// Runs `step` on every rank of `comm`. When it throws on some ranks, every rank throws the error
/// of the lowest failing rank (InputError, RuntimeError or std::logic_error, same message; any
/// other std::exception becomes a RuntimeError), so all ranks leave together. Costs one
/// allreduce (plus three broadcasts on failure).
template <class Step>
void on_every_rank(MPI_Comm comm, Step&& step) {
  int kind = 0;
  std::string message;
  try {
    step();
  } catch (const InputError& e) {
    kind = 1, message = e.what();
  } catch (const RuntimeError& e) {
    kind = 2, message = e.what();
  } catch (const std::logic_error& e) {
    kind = 3, message = e.what();
  } catch (const std::exception& e) {
    kind = 2, message = e.what();
  }
  detail::agree_on_error(comm, kind, message);
}

}  // namespace concord::comm
