#pragma once
/// \file transport.hpp
/// Transports move the rows of a halo exchange between ranks and reduce vectors over ranks.
///
/// An exchange is described by an `ExchangePattern`: the blocks of rows this rank sends to and
/// receives from each peer rank, as offsets in a send and a receive buffer. A row is a fixed
/// number of doubles (`values_per_row`, e.g. dimension x vectors), so one pattern serves every
/// dimension and any number of fused vectors. One exchange is in flight per transport:
/// \code
///   transport.post_receives(exec, pattern, values_per_row, recv.data());  // before packing
///   ... launch the pack kernels on exec ...
///   transport.post_sends(exec, pattern, values_per_row, send.data());     // MPI fences exec here
///   ... launch kernels that do not need the halo ...
///   transport.wait(exec);   // afterwards, kernels launched on exec see the received rows
/// \endcode
///
/// Kinds:
///  - `in_process`: a single rank (P = 1); no messages, allreduce is the identity.
///  - `mpi`: point-to-point MPI_Irecv/MPI_Isend + MPI_Waitall on a Concord-owned communicator.
///    Buffers in device memory are staged through host buffers unless `gpu_aware` is set (then
///    device pointers go to MPI directly, which needs a GPU-aware MPI). `post_sends` fences the
///    execution space so the packed data is complete; nothing else synchronises the host.
///  - `nccl`: grouped ncclSend/ncclRecv and ncclAllReduce on the execution space's CUDA stream;
///    no host synchronisation at all (CUDA flavour with CONCORD_ENABLE_NCCL only).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <mpi.h>

#include "concord/core/parameters.hpp"
#include "concord/core/spaces.hpp"

namespace concord::comm {

/// Rows exchanged with one peer: [first_row, first_row + rows) of the send or receive buffer.
struct PeerBlock {
  int rank = 0;
  std::int64_t first_row = 0;
  std::int64_t rows = 0;
  bool operator==(const PeerBlock&) const = default;
};

struct ExchangePattern {
  std::vector<PeerBlock> sends;  ///< ascending peer rank, consecutive blocks
  std::vector<PeerBlock> recvs;  ///< ascending peer rank, consecutive blocks
  std::int64_t send_rows() const { return sends.empty() ? 0 : sends.back().first_row + sends.back().rows; }
  std::int64_t recv_rows() const { return recvs.empty() ? 0 : recvs.back().first_row + recvs.back().rows; }
  bool empty() const { return sends.empty() && recvs.empty(); }
};

enum class TransportKind { automatic, in_process, mpi, nccl };

/// Element-wise reductions the transports provide.
enum class ReduceOp { sum, max };

/// The kinds' names ("automatic", "in_process", "mpi", "nccl"): one table for printing and parsing.
const parameters::Words<TransportKind>& transport_kinds();
std::string_view to_string(TransportKind kind);
/// Parses the names above; throws `InputError` naming the allowed values otherwise.
TransportKind parse_transport_kind(std::string_view name);

struct TransportOptions {
  TransportKind kind = TransportKind::automatic;
  /// MPI with device buffers: hand device pointers to MPI (true) or stage through the host.
  bool gpu_aware = false;
};

/// The deck parameters of concord/parallel that configure a transport (transport, gpu_aware),
/// bound to TransportOptions. A deck chooses automatic, mpi or nccl: in_process is what
/// automatic picks for one rank.
const std::vector<parameters::Bound<TransportOptions>>& transport_parameters();

class Transport {
 public:
  virtual ~Transport() = default;
  virtual TransportKind kind() const = 0;
  /// A one-line description, e.g. "mpi (host buffers)", for reports.
  virtual std::string describe() const = 0;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// The transport's ranks as an MPI communicator (MPI_COMM_SELF for in_process), e.g. for a
  /// StampedExchange over the same ranks. Owned by the transport: duplicate it, do not free it.
  virtual MPI_Comm communicator() const = 0;

  /// Announces the largest exchange (in doubles) and reduction this transport will carry, so that
  /// any staging buffers are allocated here, once, and never inside the iteration loop.
  virtual void reserve(std::size_t send_values, std::size_t recv_values, std::size_t reduce_values) = 0;

  /// Starts receiving the `recvs` blocks of `pattern` into `recv` (device memory of MemorySpace).
  virtual void post_receives(const ExecutionSpace& exec, const ExchangePattern& pattern,
                             std::size_t values_per_row, double* recv) = 0;
  /// Sends the `sends` blocks of `send`, packed by kernels already launched on `exec`.
  virtual void post_sends(const ExecutionSpace& exec, const ExchangePattern& pattern, std::size_t values_per_row,
                          const double* send) = 0;
  /// Completes the exchange: kernels launched on `exec` afterwards see the received rows.
  virtual void wait(const ExecutionSpace& exec) = 0;
  bool in_flight() const { return in_flight_; }

  /// In-place reduction over ranks of `count` doubles at `data` (MemorySpace), ordered on `exec`.
  /// The result is the same on every rank; for a fixed number of ranks it is deterministic, but
  /// a sum is not bit-identical across rank counts (the reduction order differs): use
  /// `mixing::ReproducibleSum` where it must be.
  virtual void allreduce(const ExecutionSpace& exec, double* data, std::size_t count, ReduceOp op) = 0;
  void allreduce_sum(const ExecutionSpace& exec, double* data, std::size_t count) {
    allreduce(exec, data, count, ReduceOp::sum);
  }
  void allreduce_max(const ExecutionSpace& exec, double* data, std::size_t count) {
    allreduce(exec, data, count, ReduceOp::max);
  }

 protected:
  bool in_flight_ = false;
};

/// The transport of `options.kind` over the ranks of `comm` (duplicated: Concord's messages
/// never match the caller's). `automatic` picks in_process for one rank, NCCL in a CUDA build
/// with NCCL, MPI otherwise. Throws `InputError` for a kind this build or rank count cannot do.
std::shared_ptr<Transport> make_transport(MPI_Comm comm, const TransportOptions& options = {});

}  // namespace concord::comm
