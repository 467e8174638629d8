#include "concord/problems/detail/agent_major.hpp"

namespace concord::problems::detail {
namespace {

using Policy = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>;

/// Coordinates per work item of the transposing kernels: a tile of (agents x kTile) stays in L1
/// for the agent counts of a rank. On a GPU the kernels take one coordinate per thread.
constexpr std::int64_t kTile = host_execution ? 64 : 1;

std::int64_t tiles(std::int64_t d) { return (d + kTile - 1) / kTile; }

}  // namespace

void to_agent_major(const ExecutionSpace& exec, const AgentMatrix& x, const AgentRows& rows) {
  const std::int64_t agents = static_cast<std::int64_t>(x.extent(0)), d = static_cast<std::int64_t>(x.extent(1));
  Kokkos::parallel_for(
      "concord::Problem::to_agent_major", Policy(exec, 0, tiles(d)), KOKKOS_LAMBDA(std::int64_t t) {
        const std::int64_t c0 = t * kTile, c1 = c0 + kTile < d ? c0 + kTile : d;
        for (std::int64_t a = 0; a < agents; ++a)
          for (std::int64_t c = c0; c < c1; ++c) rows(a, c) = x(a, c);
      });
}

void from_agent_major(const ExecutionSpace& exec, const AgentRows& rows, const AgentMatrix& g, int first) {
  const std::int64_t agents = static_cast<std::int64_t>(rows.extent(0)), d = static_cast<std::int64_t>(rows.extent(1));
  Kokkos::parallel_for(
      "concord::Problem::from_agent_major", Policy(exec, 0, tiles(d)), KOKKOS_LAMBDA(std::int64_t t) {
        const std::int64_t c0 = t * kTile, c1 = c0 + kTile < d ? c0 + kTile : d;
        for (std::int64_t c = c0; c < c1; ++c)
          for (std::int64_t a = 0; a < agents; ++a) g(a, first + c) = rows(a, c);
      });
}

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
        out(a, d) = l / static_cast<double>(hi - lo) + 0.5 * l2 * penalty;
        out(a, d + 1) = ok;
        out(a, d + 2) = static_cast<double>(hi - lo);
      });
}

}  // namespace concord::problems::detail
