#include "concord/comm/transport.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "concord/comm/communicator.hpp"
#include "concord/comm/errors.hpp"
#include "concord/config.hpp"
#include "concord/core/error.hpp"

namespace concord::comm {

#if CONCORD_HAVE_NCCL
// Defined in nccl_transport.cpp.
std::shared_ptr<Transport> make_nccl_transport(MPI_Comm comm);
#endif

const parameters::Words<TransportKind>& transport_kinds() {
  static const parameters::Words<TransportKind> words{"transport",
                                                       {{"automatic", TransportKind::automatic},
                                                        {"in_process", TransportKind::in_process},
                                                        {"mpi", TransportKind::mpi},
                                                        {"nccl", TransportKind::nccl}}};
  return words;
}

std::string_view to_string(TransportKind kind) { return transport_kinds().name(kind); }

TransportKind parse_transport_kind(std::string_view name) { return transport_kinds().parse(name); }

const std::vector<parameters::Bound<TransportOptions>>& transport_parameters() {
  static const parameters::Words<TransportKind> selectable{
      "transport",
      {{"automatic", TransportKind::automatic}, {"mpi", TransportKind::mpi}, {"nccl", TransportKind::nccl}}};
  static const std::vector<parameters::Bound<TransportOptions>> bound = {
      parameters::bind(&TransportOptions::kind, selectable,
                       parameters::word("transport", nullptr, {},
                                        "automatic: in-process for one rank, MPI otherwise; nccl: NCCL on the CUDA stream")),
      parameters::bind(&TransportOptions::gpu_aware,
                       parameters::boolean("gpu_aware", "MPI with device buffers: pass device pointers to MPI")),
  };
  return bound;
}

namespace {

/// One process holds every agent: nothing to send, sums over one rank are the identity.
class InProcessTransport final : public Transport {
 public:
  TransportKind kind() const override { return TransportKind::in_process; }
  std::string describe() const override { return "in_process (one rank, no messages)"; }
  int rank() const override { return 0; }
  int size() const override { return 1; }
  MPI_Comm communicator() const override { return MPI_COMM_SELF; }
  void reserve(std::size_t, std::size_t, std::size_t) override {}
  void post_receives(const ExecutionSpace&, const ExchangePattern& pattern, std::size_t, double*) override {
    if (!pattern.empty()) throw std::logic_error("concord::InProcessTransport: an exchange pattern with peers");
    in_flight_ = true;
  }
  void post_sends(const ExecutionSpace&, const ExchangePattern&, std::size_t, const double*) override {}
  void wait(const ExecutionSpace&) override { in_flight_ = false; }
  void allreduce(const ExecutionSpace&, double*, std::size_t, ReduceOp) override {}
};

/// Point-to-point MPI on a duplicated communicator, host buffers or staged device buffers.
class MpiTransport final : public Transport {
 public:
  MpiTransport(MPI_Comm parent, bool gpu_aware)
      : comm_(parent), stage_(!host_execution && !gpu_aware), requests_(2 * static_cast<std::size_t>(comm_.size())) {}

  TransportKind kind() const override { return TransportKind::mpi; }
  std::string describe() const override {
    return fmt::format("mpi ({}, {} ranks)",
                       host_execution ? "host buffers" : (stage_ ? "device buffers staged through the host"
                                                                 : "GPU-aware, device buffers"),
                       comm_.size());
  }
  int rank() const override { return comm_.rank(); }
  int size() const override { return comm_.size(); }
  MPI_Comm communicator() const override { return comm_.get(); }

  void reserve(std::size_t send_values, std::size_t recv_values, std::size_t reduce_values) override {
    if (!stage_) return;
    grow(host_send_, send_values, "concord::MpiTransport::host_send");
    grow(host_recv_, recv_values, "concord::MpiTransport::host_recv");
    grow(host_reduce_, reduce_values, "concord::MpiTransport::host_reduce");
  }

  void post_receives(const ExecutionSpace&, const ExchangePattern& pattern, std::size_t values_per_row,
                     double* recv) override {
    if (in_flight_) throw std::logic_error("concord::MpiTransport: an exchange is already in flight");
    in_flight_ = true;
    active_ = 0;
    recv_ = recv;
    recv_values_ = static_cast<std::size_t>(pattern.recv_rows()) * values_per_row;
    if (stage_ && recv_values_ > host_recv_.extent(0))
      throw std::logic_error("concord::MpiTransport: exchange larger than reserved");
    double* target = stage_ ? host_recv_.data() : recv;
    for (const PeerBlock& b : pattern.recvs) {
      CONCORD_MPI(MPI_Irecv(target + b.first_row * values_per_row, count(b.rows * values_per_row), MPI_DOUBLE, b.rank,
                            tag, comm_.get(), &requests_[active_++]));
    }
  }

  void post_sends(const ExecutionSpace& exec, const ExchangePattern& pattern, std::size_t values_per_row,
                  const double* send) override {
    if (pattern.sends.empty()) return;
    const std::size_t values = static_cast<std::size_t>(pattern.send_rows()) * values_per_row;
    const double* source = send;
    if (stage_) {
      if (values > host_send_.extent(0)) throw std::logic_error("concord::MpiTransport: exchange larger than reserved");
      Kokkos::deep_copy(exec, Kokkos::subview(host_send_, std::pair<std::size_t, std::size_t>(0, values)),
                        Unmanaged(send, values));
      source = host_send_.data();
    }
    // The packed rows (or their host copy) must be complete before MPI reads them.
    exec.fence("concord::MpiTransport::post_sends");
    for (const PeerBlock& b : pattern.sends) {
      CONCORD_MPI(MPI_Isend(source + b.first_row * values_per_row, count(b.rows * values_per_row), MPI_DOUBLE, b.rank,
                            tag, comm_.get(), &requests_[active_++]));
    }
  }

  void wait(const ExecutionSpace& exec) override {
    if (!in_flight_) throw std::logic_error("concord::MpiTransport::wait without an exchange in flight");
    CONCORD_MPI(MPI_Waitall(active_, requests_.data(), MPI_STATUSES_IGNORE));
    in_flight_ = false;
    active_ = 0;
    if (stage_ && recv_values_ > 0)
      Kokkos::deep_copy(exec, MutableUnmanaged(recv_, recv_values_),
                        Kokkos::subview(host_recv_, std::pair<std::size_t, std::size_t>(0, recv_values_)));
  }

  void allreduce(const ExecutionSpace& exec, double* data, std::size_t n, ReduceOp op) override {
    const MPI_Op mpi_op = op == ReduceOp::sum ? MPI_SUM : MPI_MAX;
    exec.fence("concord::MpiTransport::allreduce");
    if (!stage_) {
      CONCORD_MPI(MPI_Allreduce(MPI_IN_PLACE, data, count(n), MPI_DOUBLE, mpi_op, comm_.get()));
      return;
    }
    grow(host_reduce_, n, "concord::MpiTransport::host_reduce");  // no-op once reserved
    auto host = Kokkos::subview(host_reduce_, std::pair<std::size_t, std::size_t>(0, n));
    Kokkos::deep_copy(exec, host, Unmanaged(data, n));
    exec.fence("concord::MpiTransport::allreduce");
    CONCORD_MPI(MPI_Allreduce(MPI_IN_PLACE, host.data(), count(n), MPI_DOUBLE, mpi_op, comm_.get()));
    Kokkos::deep_copy(exec, MutableUnmanaged(data, n), host);
  }

 private:
  using HostBuffer = Kokkos::View<double*, HostSpace>;
  using Unmanaged = Kokkos::View<const double*, MemorySpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  using MutableUnmanaged = Kokkos::View<double*, MemorySpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  static constexpr int tag = 7301;

  static int count(std::int64_t values) {
    if (values > std::numeric_limits<int>::max())
      throw RuntimeError(fmt::format("an MPI message of {} doubles exceeds MPI's int count limit", values));
    return static_cast<int>(values);
  }
  static void grow(HostBuffer& b, std::size_t n, const char* label) {
    if (b.extent(0) < n) b = HostBuffer(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)), n);
  }

  Communicator comm_;
  bool stage_;
  std::vector<MPI_Request> requests_;
  int active_ = 0;
  double* recv_ = nullptr;
  std::size_t recv_values_ = 0;
  HostBuffer host_send_, host_recv_, host_reduce_;
};

}  // namespace

std::shared_ptr<Transport> make_transport(MPI_Comm comm, const TransportOptions& options) {
  int size = 1;
  CONCORD_MPI(MPI_Comm_size(comm, &size));
  TransportKind kind = options.kind;
  if (kind == TransportKind::automatic)
    kind = size == 1 ? TransportKind::in_process : (CONCORD_HAVE_NCCL ? TransportKind::nccl : TransportKind::mpi);
  switch (kind) {
    case TransportKind::in_process:
      if (size != 1)
        throw InputError(fmt::format("transport 'in_process' needs exactly one MPI rank (running on {}); use 'mpi'{}",
                                     size, CONCORD_HAVE_NCCL ? " or 'nccl'" : ""));
      return std::make_shared<InProcessTransport>();
    case TransportKind::mpi:
      return std::make_shared<MpiTransport>(comm, options.gpu_aware);
    case TransportKind::nccl:
#if CONCORD_HAVE_NCCL
      return make_nccl_transport(comm);
#else
      throw InputError("transport 'nccl' needs a CUDA build with CONCORD_ENABLE_NCCL=ON; this build has "
                       "in_process and mpi");
#endif
    case TransportKind::automatic: break;
  }
  throw std::logic_error("concord::make_transport: unhandled kind");
}

}  // namespace concord::comm
