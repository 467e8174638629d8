#pragma once
/// \file reproducible_sum.hpp
/// Sums over all agents, bit-identical for any number of ranks.
///
/// An MPI allreduce adds the ranks' partial sums in an order that depends on the number of ranks,
/// so its last bits change with P. Concord's determinism contract (a run is a function of the
/// deck alone) covers everything that feeds the model (PSGD's averaged gradient, Gossip-PGA's and
/// local SGD's global averages) and the reported metrics, so those sums go through this class.
///
/// Method (exact integer accumulation, cf. ReproBLAS' binning): for each column c,
///   1. M = max over all agents of |rows(a, c)| (an allreduce of maxima: exact, order-free);
///   2. every value is cut into two integer "slices" relative to 2^e > M:
///        x = (t1 2^-B + t2 2^-2B + r) 2^e,  t1, t2 integers with |t| < 2^B,
///      with B = 52 - ceil(log2 n), so a sum of n slices stays below 2^52 and is *exact* in double
///      arithmetic in any order (the remainder r, below 2^-2B M, is dropped);
///   3. the slice sums are allreduced (exact, hence order-free) and recombined with one rounding.
/// The result differs from the exact sum by at most one rounding plus n 2^-2B M (for n = 1024,
/// 2^-74 M): as accurate as a naive sum, and the same bits for every P. A non-finite input makes
/// the result NaN. Cost: two allreduces of (1 + 2) x width doubles instead of one of width.
///
/// \code
///   concord::mixing::ReproducibleSum sum(transport, layout, /*width=*/d);
///   sum.sum(exec, gradients, total);     // total(c) = sum over all n agents of gradients(a, c)
///   sum.average(exec, x, mean);          // mean = total / n
/// \endcode
#include <memory>

#include "concord/comm/transport.hpp"
#include "concord/core/agent_layout.hpp"
#include "concord/core/spaces.hpp"

namespace concord::mixing {

class ReproducibleSum {
 public:
  /// Buffers for up to `width` columns are allocated here, once.
  ReproducibleSum(std::shared_ptr<comm::Transport> transport, const AgentLayout& layout, int width);

  int width() const { return width_; }

  /// total(c) = sum over all agents of rows(a, c) for c < rows.extent(1) (<= width). `rows` is
  /// (local agents x columns). Enqueued on exec; an MPI transport fences exec twice.
  void sum(const ExecutionSpace& exec, const AgentMatrix& rows, const CoordinateVector& total);
  /// mean = sum / n.
  void average(const ExecutionSpace& exec, const AgentMatrix& rows, const CoordinateVector& mean);

  /// out = factor * sum (public only because CUDA's extended lambdas may not live in private members).
  void reduce(const ExecutionSpace& exec, const AgentMatrix& rows, const CoordinateVector& out, double factor);

 private:

  std::shared_ptr<comm::Transport> transport_;
  AgentLayout layout_;
  int width_;
  int bits_;                                  // B
  Kokkos::View<double*, MemorySpace> bound_;  // M per column
  Kokkos::View<double*, MemorySpace> slices_; // 2 x width slice sums
};

}  // namespace concord::mixing
