#pragma once
/// \file agent_major.hpp
/// Moves per-agent rows between an AgentMatrix (LayoutLeft: the agents of one coordinate
/// contiguous, the order mixing needs) and an agent-major copy (LayoutRight: one agent's
/// parameters contiguous, the order the BLAS products need). Both kernels walk tiles of
/// coordinates, so every cache line of either matrix is loaded once. Also the pieces both problems
/// share around their products: the host work items, the gradient's last step, the loss rows.
#include <algorithm>
#include <cstddef>
#include <string>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "concord/core/detail/agent_major.hpp"
#include "concord/core/spaces.hpp"
#include "concord/problems/detail/agent_lanes.hpp"

namespace concord::problems {
struct AgentData;
}

namespace concord::problems::detail {

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

/// True when x holds one agent whose coordinates are contiguous (x.data()[c] = x(0, c)): the BLAS
/// path then reads and writes it in place, without the agent-major copies.
inline bool single_contiguous_row(const AgentMatrix& x) { return x.extent(0) == 1 && x.stride(1) == 1; }

// The transposes and host work items live in core/detail (the compressed exchange uses them too).
using concord::detail::AgentRows;
using concord::detail::from_agent_major;
using concord::detail::host_items;
using concord::detail::to_agent_major;

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

/// Host scratch, one block of `values` doubles per host thread, taken by a work item for the agent
/// (or group of agents) it runs: the rows the BLAS pass gathers, the lanes pass's operands. Every
/// item a thread runs writes the same block, which stays in L2, instead of a fresh slice of a
/// buffer of every item (cold lines read from memory only to be overwritten). Blocks start on
/// cache lines when `values` is a multiple of 8.
class ThreadScratch {
 public:
  using HostExecution = Kokkos::DefaultHostExecutionSpace;
  ThreadScratch() = default;
  ThreadScratch(std::int64_t values, const std::string& label)
      : block_(values),
        values_(Kokkos::view_alloc(Kokkos::WithoutInitializing, label), static_cast<std::int64_t>(token_.size()) * values) {}
  /// The calling thread's block, held until the Block is destroyed.
  class Block {
   public:
    explicit Block(const ThreadScratch& s) : s_(s), id_(s.token_.acquire()) {}
    ~Block() { s_.token_.release(id_); }
    Block(const Block&) = delete;
    Block& operator=(const Block&) = delete;
    double* data() const { return s_.values_.data() + static_cast<std::int64_t>(id_) * s_.block_; }

   private:
    const ThreadScratch& s_;
    int id_;
  };

 private:
  Kokkos::Experimental::UniqueToken<HostExecution> token_;
  std::int64_t block_ = 0;
  Kokkos::View<double*, Kokkos::HostSpace> values_;
};

/// One agent's m rows for the BLAS products, with their leading dimension: its samples in place
/// (X + lo ldx) when the slots are, otherwise the samples of its slots lo .. lo + m gathered into
/// rows (room for m rows of F values). Host only.
inline std::pair<const double*, std::int64_t> agent_rows(const double* X, std::int64_t ldx, int F,
                                                         const std::int64_t* sample, std::int64_t lo, std::int64_t m,
                                                         bool gathered, double* rows) {
  if (!gathered) return {X + lo * ldx, ldx};
  for (std::int64_t i = 0; i < m; ++i) std::copy_n(X + sample[lo + i] * ldx, F, rows + i * F);
  return {rows, F};
}

/// out[j * m + i] = X[rows[i] * ldx + j] for i < m, j < F: m scattered sample rows gathered
/// feature-major (F x m). The MLP's BLAS pass gathers its sampled rows this way (an evaluation
/// subset, a batch above the lanes pass's limit): with the long dimension F outermost OpenBLAS's
/// small-matrix kernels take the outer-product form (perf/RESULTS.md, "Third round"); the linear
/// models, whose gradient product loses more there than their forward product gains, keep their
/// rows. The agent-lanes kernels gather into their lanes with it (m = the lane count). Values
/// are moved, never combined. Host only.
using GatherTransposed = void (*)(const double* X, std::int64_t ldx, const std::int64_t* rows, std::int64_t m, int F,
                                  double* out);
/// The AVX2 gather (eight rows at a time, 4 x 4 register transposes) where
/// core/detail/host_isa.hpp allows it, a portable one otherwise; chosen on the host, outside
/// the kernels.
GatherTransposed host_gather_transposed();

/// Coordinates [begin, end) of a parameter vector (e.g. the weights the L2 term applies to).
struct CoordinateRange {
  std::int64_t begin = 0, end = 0;
};

/// The L2 term of one agent's gradient, in place on the host: G[c] += l2 W[c] on the penalised
/// ranges (the weights). The products have already given G the mean over the agent's samples
/// (their residuals or output deltas are scaled by 1/m before the last product, m values per
/// output instead of a pass over all d coordinates).
inline void add_l2_term(double* G, const double* W, const CoordinateRange* penalised, std::size_t ranges, double l2) {
  if (l2 == 0.0) return;
  for (std::size_t r = 0; r < ranges; ++r)
    for (std::int64_t c = penalised[r].begin; c < penalised[r].end; ++c) G[c] += l2 * W[c];
}

/// G <- W - gamma G over d values, one rounding per product and per difference (the bits of the
/// gradient followed by the step).
using StepKernel = void (*)(double* G, const double* W, std::int64_t d, double gamma);
/// The AVX2 step where core/detail/host_isa.hpp allows it (the SSE2 loop was 5% of the MLP deck's
/// step), a portable loop otherwise; chosen on the host, outside the kernels.
StepKernel host_step_kernel();

/// The end of each agent's gradient G at its parameters W, in place while both are in cache: the
/// L2 term on the penalised ranges, then with a `step` (Problem::gradient_step) G <- W - step G,
/// which spares the step's pass over g after the transpose. Made once per pass, on the host.
class GradientClose {
 public:
  GradientClose(const std::vector<CoordinateRange>& penalised, double l2, std::optional<double> step)
      : penalised_(penalised.data()), ranges_(penalised.size()), l2_(l2), step_(step), kernel_(host_step_kernel()) {}
  void operator()(double* G, const double* W, std::int64_t d) const {
    add_l2_term(G, W, penalised_, ranges_, l2_);
    if (step_) kernel_(G, W, d, *step_);
  }

 private:
  const CoordinateRange* penalised_;
  std::size_t ranges_;
  double l2_;
  std::optional<double> step_;
  StepKernel kernel_;
};

/// What the problems' host paths keep besides their own Views: the coordinates the L2 term
/// applies to (the device mask for the shared loss-row kernel, the host ranges for the BLAS pass;
/// the mask is made from the ranges) and the BLAS pass's buffers.
struct BlasWork {
  CoordinateMask penalised;
  std::vector<CoordinateRange> penalised_ranges;
  AgentRows agent_params, agent_sums;
  ThreadScratch gather;
  /// The lanes pass (agent_lanes.hpp) and its scratch, when prepare_lanes found a kernel, and
  /// what every pass reads besides the state (filled once by the problem).
  LaneKernels lanes;
  ThreadScratch lane_scratch;
  LaneMlpPass lane_pass;

  /// The penalised coordinates from their ranges (labels "<prefix>penalised").
  void set_penalised(std::vector<CoordinateRange> ranges, std::int64_t d, const std::string& prefix);
  /// The BLAS path's set-up, once in a problem's constructor: checks every extent the BLAS gets
  /// (row lengths, sample counts), makes the BLAS single-threaded and allocates the agent-major
  /// copies (agents x d) and the gather scratch for `widest` rows of `features` values (none when
  /// widest is 0). UsageError on a device build.
  void prepare_blas(std::initializer_list<const AgentData*> sets, int agents, std::int64_t d, int features,
                    std::int64_t widest, const std::string& prefix);
  /// The lanes pass's set-up for a minibatch of `batch` samples: the widest kernels
  /// host_lane_kernels() allows and their scratch (label "<prefix>lane_scratch"). Leaves `lanes`
  /// empty -- the per-agent BLAS pass serves -- unless lanes_take(batch, features). The singles of the lanes pass use agent_params and agent_sums (prepare_blas).
  void prepare_lanes(std::int64_t batch, int features, int units, const std::string& prefix);
};

/// The evaluation's trailing columns (problem.hpp): out(a, d) = mean of agent a's slot losses +
/// (l2 / 2) sum of point(c)^2 over the penalised coordinates, out(a, d + 1) = its correct slots,
/// out(a, d + 2) = its slots.
void loss_rows(const ExecutionSpace& exec, const CoordinateVector& point, const CoordinateMask& penalised, double l2,
               const SlotOffsets& offsets, const Kokkos::View<double*, MemorySpace>& loss,
               const Kokkos::View<double*, MemorySpace>& correct, const AgentMatrix& out, int d);

}  // namespace concord::problems::detail
