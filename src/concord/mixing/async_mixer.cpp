#include "concord/mixing/async_mixer.hpp"

#include <fmt/format.h>

#include <Kokkos_Profiling_ScopedRegion.hpp>
#include <algorithm>
#include <string>

#include "concord/core/error.hpp"
#include "concord/mixing/detail/kernels.hpp"

namespace concord::mixing {

namespace {
using Unmanaged = Kokkos::View<double*, MemorySpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
using HostUnmanaged = Kokkos::View<double*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
}  // namespace

void AsyncMixer::require_static(const topology::Topology& topology, std::string_view who) {
  if (!topology.is_static())
    throw InputError(fmt::format("{} needs a static topology (its ranks mix copies of different ticks on one plan), "
                                 "but '{}' changes every iteration",
                                 who, topology.name()));
}

AsyncMixer::AsyncMixer(const Mixer& mixer, int max_staleness)
    : mixer_(mixer), max_staleness_(max_staleness) {
  require_static(mixer.topology(), "asynchronous gossip");
  if (max_staleness < 0)
    throw InputError(fmt::format("asynchronous gossip: max_staleness must be >= 0, not {}", max_staleness));
  const MixingPlan& plan = mixer.plan(0);
  const auto d = static_cast<std::size_t>(mixer.dimension());
  // Room for the messages of a neighbour up to max_staleness + 2 ticks ahead (at most 16).
  exchange_.emplace(mixer.transport().communicator(), plan.pattern(), d, std::clamp(max_staleness + 2, 4, 16));
  const auto recv = static_cast<std::size_t>(plan.pattern().recv_rows()) * d;
  const auto send = static_cast<std::size_t>(plan.pattern().send_rows()) * d;
  using Kokkos::view_alloc;
  using Kokkos::WithoutInitializing;
  if constexpr (host_execution) {
    halo_ = Unmanaged(const_cast<double*>(exchange_->halo()), recv);  // the kernels read the exchange's halo
  } else {
    halo_ = decltype(halo_)(view_alloc(WithoutInitializing, "concord::AsyncMixer::halo"), recv);
    pack_ = decltype(pack_)(view_alloc(WithoutInitializing, "concord::AsyncMixer::pack"), send);
  }
}

void AsyncMixer::prime(const ExecutionSpace& exec, std::int64_t k, const AgentMatrix& x) {
  exchange_->drain();  // nothing from before (a previous run segment) may be mistaken for tick k
  send(exec, k, x);
  exchange_->wait_for(k, k);
  last_ = k - 1;
  next_ = k;
  chosen_ = true;
}

bool AsyncMixer::updates_at(std::int64_t k) {
  if (!chosen_) {
    exchange_->take(k);
    next_ = std::clamp(exchange_->newest_arrived(), last_ + 1, last_ + 1 + max_staleness_);
    chosen_ = true;
  }
  return k >= next_;
}

void AsyncMixer::mix(const ExecutionSpace& exec, std::int64_t k, const AgentMatrix& x, const AgentMatrix& out) {
  static const std::string region_name = "concord::AsyncMixer::mix";
  Kokkos::Profiling::ScopedRegion region(region_name);
  const MixingPlan& plan = mixer_.plan(0);
  const std::int64_t d = mixer_.dimension();
  detail::launch_mix(exec, plan, true, x, out, halo_, d, 0);
  if (plan.pattern().recvs.empty()) return;
  exchange_->wait_for(k - max_staleness_, k);
  if constexpr (!host_execution)
    Kokkos::deep_copy(exec, halo_, HostUnmanaged(const_cast<double*>(exchange_->halo()), halo_.extent(0)));
  detail::launch_mix(exec, plan, false, x, out, halo_, d, 0);
}

void AsyncMixer::send(const ExecutionSpace& exec, std::int64_t stamp, const AgentMatrix& x) {
  const MixingPlan& plan = mixer_.plan(0);
  if (plan.pattern().sends.empty()) return;
  const std::int64_t d = mixer_.dimension();
  double* slot = exchange_->acquire_send(stamp - 1);
  const auto values = static_cast<std::size_t>(plan.pattern().send_rows() * d);
  if constexpr (host_execution) {
    detail::launch_pack(exec, plan, x, Unmanaged(slot, values), d, 0);
  } else {
    detail::launch_pack(exec, plan, x, pack_, d, 0);
    Kokkos::deep_copy(exec, HostUnmanaged(slot, values), pack_);
  }
  exec.fence("concord::AsyncMixer::send");  // the packed rows are complete before MPI reads them
  exchange_->send(stamp);
}

void AsyncMixer::publish(const ExecutionSpace& exec, std::int64_t k, const AgentMatrix& x) {
  static const std::string region_name = "concord::AsyncMixer::publish";
  Kokkos::Profiling::ScopedRegion region(region_name);
  send(exec, k + 1, x);
  ++updates_;
  last_ = k;
  next_ = k + 1;
  chosen_ = false;  // updates_at(k + 1) chooses, with what arrived by then
}

}  // namespace concord::mixing
