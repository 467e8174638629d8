#pragma once
/// \file agent_major.hpp
/// Moves per-agent rows between an AgentMatrix (LayoutLeft: the agents of one coordinate
/// contiguous, the order mixing needs) and an agent-major copy (LayoutRight: one agent's
/// parameters contiguous, the order the BLAS products need). Both kernels walk tiles of
/// coordinates, so every cache line of either matrix is loaded once. Also the pieces both problems
/// share around their products: the host work items, the gradient's last step, the loss rows.
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "concord/core/spaces.hpp"

namespace concord::problems::detail {

using AgentRows = Kokkos::View<double**, Kokkos::LayoutRight, MemorySpace>;
using SlotOffsets = Kokkos::View<std::int64_t*, MemorySpace>;
using CoordinateMask = Kokkos::View<unsigned char*, MemorySpace>;

/// Work items 0 .. n - 1 on the host threads, one agent each (dynamic: agents may hold different
/// numbers of samples), on `exec` when it is a host space.
inline auto host_agents(const ExecutionSpace& exec, int n) {
  using Dynamic = Kokkos::Schedule<Kokkos::Dynamic>;
  if constexpr (std::is_same_v<ExecutionSpace, Kokkos::DefaultHostExecutionSpace>)
    return Kokkos::RangePolicy<ExecutionSpace, Dynamic>(exec, 0, n).set_chunk_size(1);
  else
    return Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace, Dynamic>(0, n).set_chunk_size(1);
}

/// Work items 0 .. n - 1 on the host threads (static schedule), on `exec` when it is a host space.
inline auto host_items(const ExecutionSpace& exec, std::int64_t n) {
  using Index = Kokkos::IndexType<std::int64_t>;
  if constexpr (std::is_same_v<ExecutionSpace, Kokkos::DefaultHostExecutionSpace>)
    return Kokkos::RangePolicy<ExecutionSpace, Index>(exec, 0, n);
  else
    return Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace, Index>(0, n);
}

/// True when x holds one agent whose coordinates are contiguous (x.data()[c] = x(0, c)): the BLAS
/// path then reads and writes it in place, without the agent-major copies.
inline bool single_contiguous_row(const AgentMatrix& x) { return x.extent(0) == 1 && x.stride(1) == 1; }

/// rows(a, c) = x(a, c) for the first x.extent(1) coordinates.
void to_agent_major(const ExecutionSpace& exec, const AgentMatrix& x, const AgentRows& rows);

/// g(a, first + c) = rows(a, c) for c < rows.extent(1).
void from_agent_major(const ExecutionSpace& exec, const AgentRows& rows, const AgentMatrix& g, int first);

/// Where one BLAS pass reads each agent's parameters and writes its gradient sums (agent a at
/// params + a d, sums + a d): the AgentMatrix rows themselves when the rank holds one contiguous
/// agent, otherwise the agent-major copies (x copied in by the constructor, the sums copied out
/// to g by finish()). `g` empty: no gradient.
class AgentMajorPass {
 public:
  AgentMajorPass(const ExecutionSpace& exec, const AgentMatrix& x, const AgentMatrix& g, const AgentRows& x_copy,
                 const AgentRows& sums_copy)
      : direct_(single_contiguous_row(x) && (g.extent(0) == 0 || single_contiguous_row(g))), g_(g), sums_copy_(sums_copy) {
    if (!direct_) to_agent_major(exec, x, x_copy);
    params = direct_ ? x.data() : x_copy.data();
    sums = direct_ ? g.data() : sums_copy.data();
  }
  /// The gradient into g (a no-op without gradient or when the sums were written in place).
  void finish(const ExecutionSpace& exec) const {
    if (g_.extent(0) > 0 && !direct_) from_agent_major(exec, sums_copy_, g_, 0);
  }
  double* params = nullptr;
  double* sums = nullptr;

 private:
  bool direct_;
  AgentMatrix g_;
  AgentRows sums_copy_;
};

/// One agent's m rows for the BLAS products, with their leading dimension: its samples in place
/// (X + lo ldx) when the slots are, otherwise the samples of its slots lo .. lo + m gathered into
/// buffer (rows of F values, slot-indexed like the slots). Host only.
inline std::pair<const double*, std::int64_t> agent_rows(const double* X, std::int64_t ldx, int F,
                                                         const std::int64_t* sample, std::int64_t lo, std::int64_t m,
                                                         bool gathered, double* buffer) {
  if (!gathered) return {X + lo * ldx, ldx};
  double* rows = buffer + lo * F;
  for (std::int64_t i = 0; i < m; ++i)
    for (int j = 0; j < F; ++j) rows[i * F + j] = X[sample[lo + i] * ldx + j];
  return {rows, F};
}

/// Coordinates [begin, end) of a parameter vector (e.g. the weights the L2 term applies to).
struct CoordinateRange {
  std::int64_t begin = 0, end = 0;
};

/// One agent's gradient from its per-sample sums, in place on the host: G[c] = G[c] (1/m), then
/// G[c] += l2 W[c] on the penalised ranges (the weights): the mean over its m samples plus the L2
/// term. Contiguous loops that vectorise (a multiplication by 1/m, not a division).
inline void finish_agent_gradient(double* G, const double* W, const CoordinateRange* penalised, std::size_t ranges,
                                  std::int64_t d, std::int64_t m, double l2) {
  const double inverse = 1.0 / static_cast<double>(m);
  for (std::int64_t c = 0; c < d; ++c) G[c] *= inverse;
  if (l2 == 0.0) return;
  for (std::size_t r = 0; r < ranges; ++r)
    for (std::int64_t c = penalised[r].begin; c < penalised[r].end; ++c) G[c] += l2 * W[c];
}

/// The evaluation's trailing columns (problem.hpp): out(a, d) = mean of agent a's slot losses +
/// (l2 / 2) sum of point(c)^2 over the penalised coordinates, out(a, d + 1) = its correct slots,
/// out(a, d + 2) = its slots.
void loss_rows(const ExecutionSpace& exec, const CoordinateVector& point, const CoordinateMask& penalised, double l2,
               const SlotOffsets& offsets, const Kokkos::View<double*, MemorySpace>& loss,
               const Kokkos::View<double*, MemorySpace>& correct, const AgentMatrix& out, int d);

}  // namespace concord::problems::detail
