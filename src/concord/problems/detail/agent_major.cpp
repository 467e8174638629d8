#include "concord/problems/detail/agent_major.hpp"
#include "concord/core/error.hpp"
#include "concord/problems/agent_data.hpp"
#include "concord/problems/detail/dense.hpp"
#include "concord/problems/problem.hpp"


namespace concord::problems::detail {

using Policy = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>;
void loss_rows(const ExecutionSpace& exec, const CoordinateVector& point, const CoordinateMask& penalised, double l2,
               const SlotOffsets& offsets, const Kokkos::View<double*, MemorySpace>& loss,
               const Kokkos::View<double*, MemorySpace>& correct, const AgentMatrix& out, int d) {
  const std::int64_t agents = static_cast<std::int64_t>(out.extent(0));
  Kokkos::parallel_for(
      "concord::Problem::loss_rows", Policy(exec, 0, agents), KOKKOS_LAMBDA(std::int64_t a) {
        const std::int64_t lo = offsets(a), hi = offsets(a + 1);
        double l = 0.0, ok = 0.0;
        for (std::int64_t slot = lo; slot < hi; ++slot) l += loss(slot), ok += correct(slot);
        double penalty = 0.0;
        if (l2 > 0)
          for (int c = 0; c < d; ++c)
            if (penalised(c) != 0) penalty += point(c) * point(c);
        const EvaluationColumns col{d};
        out(a, col.loss()) = l / static_cast<double>(hi - lo) + 0.5 * l2 * penalty;
        out(a, col.correct()) = ok;
        out(a, col.samples()) = static_cast<double>(hi - lo);
      });
}

void BlasWork::set_penalised(std::vector<CoordinateRange> ranges, std::int64_t d, const std::string& prefix) {
  penalised_ranges = std::move(ranges);
  penalised = CoordinateMask(Kokkos::view_alloc(std::string(prefix + "penalised")), d);
  auto mask = Kokkos::create_mirror_view(penalised);
  Kokkos::deep_copy(mask, 0);
  for (const auto& r : penalised_ranges)
    for (std::int64_t c = r.begin; c < r.end; ++c) mask(c) = 1;
  Kokkos::deep_copy(penalised, mask);
}

void BlasWork::prepare_blas(std::initializer_list<const AgentData*> sets, int agents, std::int64_t d, int features,
                            std::int64_t widest, const std::string& prefix) {
  if (!host_execution) throw UsageError(prefix + " KernelPath::blas needs host memory (use portable)");
  use_single_threaded_blas();
  for (const AgentData* set : sets)
    if (set != nullptr) {
      check_blas_extent(static_cast<std::int64_t>(set->x.stride(0)), "the row length of the samples");
      for (int a = 0; a < set->local_agents; ++a) check_blas_extent(set->samples_of(a), "an agent's sample count");
    }
  const auto alloc = [&](const char* what) { return Kokkos::view_alloc(Kokkos::WithoutInitializing, prefix + what); };
  agent_params = AgentRows(alloc("agent_params"), agents, d);
  agent_sums = AgentRows(alloc("agent_sums"), agents, d);
  if (widest > 0) gather = GatherScratch(widest, features, prefix + "gathered_rows");
}

}  // namespace concord::problems::detail
