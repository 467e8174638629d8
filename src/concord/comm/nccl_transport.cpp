// NCCL transport: grouped ncclSend/ncclRecv and ncclAllReduce on the execution space's CUDA
// stream, with no host synchronisation. Compiled in the CUDA flavour with CONCORD_ENABLE_NCCL=ON.
#include "concord/config.hpp"

#if CONCORD_HAVE_NCCL
#include <fmt/format.h>
#include <nccl.h>

#include <stdexcept>

#include "concord/comm/communicator.hpp"
#include "concord/comm/errors.hpp"
#include "concord/comm/transport.hpp"

namespace concord::comm {

namespace {

#define CONCORD_NCCL(call) ::concord::comm::check_nccl(static_cast<int>(call), #call)

/// A move-only NCCL communicator over the ranks of an MPI communicator (one GPU per rank).
class NcclTransport final : public Transport {
 public:
  explicit NcclTransport(MPI_Comm parent) : mpi_(parent) {
    ncclUniqueId id;
    if (mpi_.rank() == 0) CONCORD_NCCL(ncclGetUniqueId(&id));
    CONCORD_MPI(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, mpi_.get()));
    CONCORD_NCCL(ncclCommInitRank(&comm_, mpi_.size(), id, mpi_.rank()));
  }
  ~NcclTransport() override {
    if (comm_ != nullptr) ncclCommDestroy(comm_);
  }
  NcclTransport(const NcclTransport&) = delete;
  NcclTransport& operator=(const NcclTransport&) = delete;

  TransportKind kind() const override { return TransportKind::nccl; }
  std::string describe() const override { return fmt::format("nccl ({} ranks, stream-ordered)", mpi_.size()); }
  int rank() const override { return mpi_.rank(); }
  int size() const override { return mpi_.size(); }
  MPI_Comm communicator() const override { return mpi_.get(); }
  void reserve(std::size_t, std::size_t, std::size_t) override {}

  void post_receives(const ExecutionSpace&, const ExchangePattern& pattern, std::size_t values_per_row,
                     double* recv) override {
    if (in_flight_) throw std::logic_error("concord::NcclTransport: an exchange is already in flight");
    in_flight_ = true;
    pattern_ = &pattern;
    values_per_row_ = values_per_row;
    recv_ = recv;
  }

  void post_sends(const ExecutionSpace& exec, const ExchangePattern&, std::size_t, const double* send) override {
    // Sends and receives of one exchange form one group, enqueued on exec's stream after the
    // pack kernels: no fence.
    cudaStream_t stream = exec.cuda_stream();
    CONCORD_NCCL(ncclGroupStart());
    for (const PeerBlock& b : pattern_->recvs)
      CONCORD_NCCL(ncclRecv(recv_ + b.first_row * values_per_row_, b.rows * values_per_row_, ncclDouble, b.rank,
                            comm_, stream));
    for (const PeerBlock& b : pattern_->sends)
      CONCORD_NCCL(ncclSend(send + b.first_row * values_per_row_, b.rows * values_per_row_, ncclDouble, b.rank,
                            comm_, stream));
    CONCORD_NCCL(ncclGroupEnd());
  }

  void wait(const ExecutionSpace&) override { in_flight_ = false; }  // stream-ordered

  void allreduce(const ExecutionSpace& exec, double* data, std::size_t count, ReduceOp op) override {
    CONCORD_NCCL(ncclAllReduce(data, data, count, ncclDouble, op == ReduceOp::sum ? ncclSum : ncclMax, comm_,
                               exec.cuda_stream()));
  }

 private:
  Communicator mpi_;
  ncclComm_t comm_ = nullptr;
  const ExchangePattern* pattern_ = nullptr;
  std::size_t values_per_row_ = 0;
  double* recv_ = nullptr;
};

}  // namespace

std::shared_ptr<Transport> make_nccl_transport(MPI_Comm comm) { return std::make_shared<NcclTransport>(comm); }

}  // namespace concord::comm
#endif
