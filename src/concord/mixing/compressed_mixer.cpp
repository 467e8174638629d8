#include "concord/mixing/compressed_mixer.hpp"

#include <fmt/format.h>

#include <Kokkos_Profiling_ScopedRegion.hpp>
#include <algorithm>
#include <string>

#include "concord/core/detail/agent_major.hpp"
#include "concord/core/error.hpp"
#include "concord/mixing/detail/kernels.hpp"

namespace concord::mixing {

namespace {
using Policy = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>;
}

void CompressedMixer::require_static(const topology::Topology& topology, std::string_view who) {
  if (!topology.is_static())
    throw InputError(fmt::format("{} needs a static topology (it keeps W x_hat incrementally), but '{}' changes "
                                 "every iteration",
                                 who, topology.name()));
}

CompressedMixer::CompressedMixer(const Mixer& mixer, const Compressor& compressor)
    : mixer_(mixer), compressor_(compressor) {
  require_static(mixer.topology(), "compressed gossip");
  if (compressor.dimension != mixer.dimension())
    throw UsageError(fmt::format("concord::CompressedMixer: compressor of dimension {} for a mixer of dimension {}",
                                 compressor.dimension, mixer.dimension()));
  const MixingPlan& plan = mixer.plan(0);
  const auto owned = static_cast<std::size_t>(mixer.layout().local_count());
  const auto words = static_cast<std::size_t>(compressor.words);
  const auto d = static_cast<std::size_t>(compressor.dimension);
  const auto send_rows = static_cast<std::size_t>(plan.pattern().send_rows());
  const auto recv_rows = static_cast<std::size_t>(plan.pattern().recv_rows());
  using Kokkos::view_alloc;
  using Kokkos::WithoutInitializing;
  words_ = AgentMatrix(view_alloc(WithoutInitializing, "concord::CompressedMixer::words"), owned, words);
  rows_v_ = decltype(rows_v_)(view_alloc(WithoutInitializing, "concord::CompressedMixer::rows_v"), owned, d);
  rows_q_ = decltype(rows_q_)(view_alloc(WithoutInitializing, "concord::CompressedMixer::rows_q"), owned, d);
  rows_words_ = decltype(rows_words_)(view_alloc(WithoutInitializing, "concord::CompressedMixer::rows_words"), owned, words);
  send_ = decltype(send_)(view_alloc(WithoutInitializing, "concord::CompressedMixer::send"), send_rows * words);
  recv_ = decltype(recv_)(view_alloc(WithoutInitializing, "concord::CompressedMixer::recv"), recv_rows * words);
  decoded_ = decltype(decoded_)(view_alloc(WithoutInitializing, "concord::CompressedMixer::decoded"), recv_rows * d);
  const auto& halo = plan.halo_agents();
  halo_agents_ = decltype(halo_agents_)(view_alloc(WithoutInitializing, "concord::CompressedMixer::halo_agents"), halo.size());
  Kokkos::deep_copy(halo_agents_, Kokkos::View<const int*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                                      halo.data(), halo.size()));
  mixer.transport().reserve(send_.extent(0), recv_.extent(0), 0);
}

void CompressedMixer::apply(const ExecutionSpace& exec, std::int64_t k, const AgentMatrix& v, const AgentMatrix& q,
                            const AgentMatrix& wq) {
  static const std::string region_name = "concord::CompressedMixer::apply";
  Kokkos::Profiling::ScopedRegion region(region_name);
  const MixingPlan& plan = mixer_.plan(k);
  const auto rows = static_cast<std::size_t>(mixer_.layout().local_count());
  const auto d = static_cast<std::size_t>(compressor_.dimension);
  for (const AgentMatrix* m : {&v, &q, &wq})
    if (m->extent(0) != rows || m->extent(1) != d)
      throw UsageError(fmt::format("concord::CompressedMixer: a {} x {} matrix, expected {} x {}", m->extent(0),
                                   m->extent(1), rows, d));
  if (wq.data() == v.data() || wq.data() == q.data())
    throw UsageError("concord::CompressedMixer: wq must alias neither v nor q");

  const Compressor c = compressor_;
  const std::int64_t first = mixer_.layout().local_first();
  const std::int64_t W = c.words;
  const auto& pattern = plan.pattern();
  if (!pattern.empty()) mixer_.transport().post_receives(exec, pattern, static_cast<std::size_t>(W), recv_.data());
  {  // Encode agent-major rows (stride 1), then put q and the words back in the AgentMatrix layout.
    concord::detail::to_agent_major(exec, v, rows_v_);
    const auto rv = rows_v_;
    const auto rq = rows_q_;
    const auto rw = rows_words_;
    Kokkos::parallel_for(
        "concord::CompressedMixer::encode", Policy(exec, 0, static_cast<std::int64_t>(rows)),
        KOKKOS_LAMBDA(std::int64_t a) { c.encode(first + a, k, &rv(a, 0), 1, &rw(a, 0), 1, &rq(a, 0), 1); });
    concord::detail::from_agent_major(exec, rows_q_, q, 0);
    concord::detail::from_agent_major(exec, rows_words_, words_, 0);
  }
  if (!pattern.empty()) {
    detail::launch_pack(exec, plan, words_, send_, W, 0);
    mixer_.transport().post_sends(exec, pattern, static_cast<std::size_t>(W), send_.data());
  }
  const std::int64_t dd = c.dimension;
  detail::launch_mix(exec, plan, true, q, wq, decoded_, dd, 0);
  if (pattern.empty()) return;
  mixer_.transport().wait(exec);
  const auto& p = plan.views();
  const auto first_row = p.halo_block_first;
  const auto block_rows = p.halo_block_rows;
  const auto position = p.halo_position;
  const auto agents = halo_agents_;
  const double* recv = recv_.data();
  double* decoded = decoded_.data();
  Kokkos::parallel_for(
      "concord::CompressedMixer::decode", Policy(exec, 0, static_cast<std::int64_t>(halo_agents_.extent(0))),
      KOKKOS_LAMBDA(std::int64_t h) {
        const std::int64_t f = first_row(h), m = block_rows(h), r = position(h);
        c.decode(agents(h), k, recv + f * W + r, m, decoded + f * dd + r, m);
      });
  detail::launch_mix(exec, plan, false, q, wq, decoded_, dd, 0);
}

}  // namespace concord::mixing
