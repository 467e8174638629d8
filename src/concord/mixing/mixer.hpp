#pragma once
/// \file mixer.hpp
/// The distributed mixing operator X <- W(k) X over the agents of every rank.
///
/// A `Mixer` holds one persistent `MixingPlan` per stored topology matrix (built once: the rounds
/// of a periodic topology, the pool of a drawn one, the union pattern of a reweighted one),
/// exchange buffers sized for the largest plan and `max_vectors` fused vectors (allocated once),
/// and a transport. Iteration k uses the plan of topology.round_index(k) (k mod period, or the
/// pool member drawn for k); for a reweighted topology (e.g. random_matching) start() first draws
/// W(k)'s weights on the host (WeightDraw::fill into buffers sized at construction) and loads
/// them into the single plan (MixingPlan::set_weights). Switching matrices allocates nothing,
/// creates no communicator and adds no fence.
///
/// One step, on each rank:
///   start(exec, k, in, out): post receives, pack the rows peers need, send (MPI fences exec
///                            once here), mix the interior rows (those with no halo entry)
///   finish(exec):            wait for the halo rows, mix the boundary rows
///   apply = start + finish
/// Between start and finish the caller may launch other work on exec (e.g. gradients) while
/// messages are in flight. All kernels are asynchronous on exec; nothing else fences.
///
/// Several vectors (e.g. x and y of gradient tracking) share one exchange: pass them together.
///
/// Determinism: every output row sums its entries in ascending global agent id, so for a given
/// backend the result is bit-identical for any number of ranks.
///
/// \code
///   auto transport = concord::comm::make_transport(MPI_COMM_WORLD);
///   concord::AgentLayout layout = concord::AgentLayout::over(n, MPI_COMM_WORLD);
///   concord::mixing::Mixer mixer(topology, layout, transport, /*dimension=*/d);
///   concord::AgentMatrix x(..., layout.local_count(), d), y(..., layout.local_count(), d);
///   mixer.apply(exec, k, x, y);                       // y = W(k) x
///   mixer.apply(exec, k, {{x, g}}, {{x2, g2}});       // x2 = W(k) x, g2 = W(k) g, one exchange
/// \endcode
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "concord/comm/transport.hpp"
#include "concord/core/agent_layout.hpp"
#include "concord/core/spaces.hpp"
#include "concord/mixing/plan.hpp"
#include "concord/topology/topology.hpp"

namespace concord::mixing {

namespace detail {
/// The circulant kernel of one plan (mixer_circulant.inc), when it has one: the static
/// exponential graph with all n <= 64 agents on one rank, n a multiple of 8, equal weights,
/// on a CPU with AVX-512F. kernel == nullptr: the plan takes the row-block kernels.
struct CirculantStep {
  /// y(:, c) = weight (sum of the row's hops of x(:, c)) for c in [c0, c1); x(i, c) = x[i + c ldx].
  using Kernel = void (*)(const double* x, std::int64_t ldx, double* y, std::int64_t ldy, double weight,
                          std::int64_t c0, std::int64_t c1);
  Kernel kernel = nullptr;
  double weight = 0.0;
};
}  // namespace detail


class Mixer {
 public:
  /// Builds the plans of every round of `topology` for this rank. Throws `InputError` when the
  /// topology's agent count differs from the layout's, or dimension / max_vectors < 1, or the
  /// transport's rank count differs from the layout's.
  Mixer(const topology::Topology& topology, const AgentLayout& layout, std::shared_ptr<comm::Transport> transport,
        int dimension, int max_vectors = 2);

  int dimension() const { return dimension_; }
  int max_vectors() const { return max_vectors_; }
  /// Number of plans (the topology's period(): rounds, pool members, or 1 for a reweighted one).
  int period() const { return static_cast<int>(plans_.size()); }
  const AgentLayout& layout() const { return layout_; }
  /// The topology the plans were built from (algorithms check their preconditions against it).
  const topology::Topology& topology() const { return topology_; }
  /// The plan of iteration k (topology.round_index(k)). For a reweighted topology its weights are
  /// those last loaded; use `prepare(exec, k)` to mix iteration k outside start().
  const MixingPlan& plan(std::int64_t k) const { return plans_[topology_.round_index(k)]; }
  /// The plan of iteration k with W(k)'s weights loaded (reweighted topologies: drawn on the host
  /// and copied on exec; otherwise just plan(k)). Allocates nothing. Not while a step is in flight.
  const MixingPlan& prepare(const ExecutionSpace& exec, std::int64_t k);
  comm::Transport& transport() const { return *transport_; }
  /// The transport, shared (e.g. for a second Mixer of another width on the same ranks).
  const std::shared_ptr<comm::Transport>& shared_transport() const { return transport_; }

  /// out = W(k) in. `in` and `out` are (local agents x dimension) and must not alias.
  void apply(const ExecutionSpace& exec, std::int64_t k, const AgentMatrix& in, const AgentMatrix& out);
  /// out[v] = W(k) in[v] for up to max_vectors vectors, one exchange.
  void apply(const ExecutionSpace& exec, std::int64_t k, std::span<const AgentMatrix> in,
             std::span<const AgentMatrix> out);
  void apply(std::int64_t k, const AgentMatrix& in, const AgentMatrix& out) { apply(ExecutionSpace(), k, in, out); }

  /// Split phase (see the file comment). One step may be in flight per Mixer; `in` and `out`
  /// must stay alive and unmodified until `finish`.
  void start(const ExecutionSpace& exec, std::int64_t k, std::span<const AgentMatrix> in,
             std::span<const AgentMatrix> out);
  void finish(const ExecutionSpace& exec);
  bool in_flight() const { return active_ != nullptr; }

 private:
  void check(std::span<const AgentMatrix> in, std::span<const AgentMatrix> out) const;

  topology::Topology topology_;
  AgentLayout layout_;
  std::shared_ptr<comm::Transport> transport_;
  int dimension_;
  int max_vectors_;
  std::vector<MixingPlan> plans_;
  std::vector<detail::CirculantStep> circulant_;  ///< per plan: its circulant kernel, if any
  // Reweighted topologies: W(k)'s weights of the owned rows, and the draw's scratch (sized once).
  std::vector<double> draw_values_;
  std::vector<int> draw_scratch_;
  Kokkos::View<double*, MemorySpace> send_buffer_, recv_buffer_;
  // The step in flight.
  const MixingPlan* active_ = nullptr;
  int vectors_ = 0;
  std::vector<AgentMatrix> in_, out_;
};

}  // namespace concord::mixing
