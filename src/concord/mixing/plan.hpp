#pragma once
/// \file plan.hpp
/// The persistent plan of one mixing round on one rank: everything `Mixer` needs to compute
/// X_out = W X_in for the rank's agents, built once from (W, layout) and reused every iteration.
///
/// Local index space: rows [0, owned) are the rank's own agents (ascending global id), rows
/// [owned, owned + halo) are the agents of other ranks that some owned row reads ("halo"),
/// grouped by owner rank (ascending) and ascending global id inside a group.
///
/// Exchange buffers: the rows sent to (received from) one peer form one contiguous block, so one
/// message per peer. Inside a block of m rows, for V fused vectors of dimension d, the value of
/// (vector v, coordinate c, row r) is at  block_first_row * V * d + (v * d + c) * m + r:
/// the block is "coordinate-major" like an AgentMatrix, so halo columns are contiguous too.
///
/// Summation order: every output row sums its entries in ascending *global* column id, the
/// self weight at its place; the same for any number of ranks, hence bit-identical results.
///
/// Variable weights (topologies whose weights are drawn every iteration, Schedule::reweighted):
/// a plan built with `variable_weights = true` keeps its pattern (halo, exchange, row blocks) and
/// takes new weights with `set_weights`; entries absent from W(k) get weight 0 and stay in the
/// sum at their place, so the order (and the bits, for any rank count) is unchanged.
#include <cstdint>
#include <span>
#include <vector>

#include "concord/comm/transport.hpp"
#include "concord/core/agent_layout.hpp"
#include "concord/core/spaces.hpp"
#include "concord/topology/weight_matrix.hpp"

namespace concord::mixing {

/// Host kernels work on row blocks: a maximal range of consecutive output rows [row, row +
/// length), all with `entries` entries, whose k-th entries (ascending global column) read
/// consecutive rows of one source, for every k. For one coordinate a block computes
///   y[t] = w_0[t] s_0[t] + w_1[t] s_1[t] + ... + w_{E-1}[t] s_{E-1}[t]   (left to right)
/// with the partial sum in a register: each row's additions in ascending global column order,
/// whatever the blocks look like on a given rank, hence the same bits for any number of ranks.
struct BlockSource {
  int source = -1;  ///< -1: the rank's own rows of X_in; q >= 0: the q-th receive block
  int row = 0;      ///< source row (in X_in, or within receive block q) of the block's first row
};
struct RowBlock {
  int row = 0, length = 0, entries = 0;
  int source = 0;   ///< the block's sources: [source, source + entries) in `block_sources`
  int weight = 0;   ///< weights in `block_weights`, entry-major: weight + k * length + t
  int uniform = 0;  ///< 1 when every row of the block has the same weights (entry by entry)
};

/// Device views of one plan (copied into kernels by value).
struct PlanViews {
  template <class T>
  using View = Kokkos::View<T*, MemorySpace>;
  // Local CSR over [owned | halo] columns (device kernels): entries in ascending global column.
  View<std::int64_t> row_offsets;
  View<int> columns;
  View<double> weights;
  // Halo row h (column owned + h): its receive block's first row, row count, and position.
  View<std::int64_t> halo_block_first;
  View<std::int64_t> halo_block_rows;
  View<int> halo_position;
  // Rows of the interior (no halo entry) and of the boundary, ascending.
  View<int> interior_rows, boundary_rows;
  // Host kernels: row blocks of the interior and of the boundary rows (longest first), their
  // sources and weights.
  View<RowBlock> interior_blocks, boundary_blocks;
  View<BlockSource> block_sources;
  View<double> block_weights;
  // Receive blocks (first row, rows), indexed by BlockSource::source.
  View<std::int64_t> recv_block_first, recv_block_rows;
  // Packing: local row of each sent row, and its block's first row / row count / position.
  View<int> send_local_row;
  View<std::int64_t> send_block_first, send_block_rows;
  View<int> send_position;
};

class MixingPlan {
 public:
  /// The plan of round matrix `w` for the rank `layout.rank()`. `w.size()` must equal
  /// `layout.agents()` (logic_error otherwise: the caller checked the user's input).
  /// `variable_weights`: the weights will be replaced by `set_weights` (every row block is then
  /// treated as non-uniform, so any weights are valid).
  MixingPlan(const topology::WeightMatrix& w, const AgentLayout& layout, bool variable_weights = false);

  int owned_rows() const { return owned_; }
  int halo_rows() const { return halo_; }
  /// Global agent id of halo row h (ascending within each peer block).
  const std::vector<int>& halo_agents() const { return halo_agents_; }
  const comm::ExchangePattern& pattern() const { return pattern_; }
  int interior_count() const { return static_cast<int>(views_.interior_rows.extent(0)); }
  int boundary_count() const { return static_cast<int>(views_.boundary_rows.extent(0)); }
  /// Largest number of entries in a row (self included).
  int max_row_entries() const { return max_row_entries_; }
  /// True when every owned row goes, in order, to a single peer: the send block of one vector then
  /// has exactly the layout of a contiguous AgentMatrix and can be sent without packing.
  bool sends_all_rows_in_order() const { return sends_all_rows_in_order_; }
  const PlanViews& views() const { return views_; }

  bool variable_weights() const { return variable_weights_; }
  /// Stored entries of the owned rows (self included): the length of `set_weights`' values.
  std::size_t owned_entries() const { return owned_entries_; }
  /// New weights for the pattern the plan was built from: values[e] is the weight of the e-th
  /// stored entry of the owned rows (ascending rows, ascending global columns inside a row), 0 for
  /// an entry absent from this iteration's matrix. Copied to the device views on `exec` (ordered
  /// with the kernels launched on it; `values` may be reused as soon as this returns). Allocates
  /// nothing. logic_error unless the plan was built with variable weights or on a size mismatch.
  void set_weights(const ExecutionSpace& exec, std::span<const double> values);

 private:
  /// The halo of the owned rows (halo_agents_, halo_) and its receive blocks (pattern_.recvs); max_row_entries_.
  void collect_halo(const topology::WeightMatrix& w, const AgentLayout& layout);
  /// The send blocks (pattern_.sends); returns the local row of each sent row, block after block.
  std::vector<int> collect_sends(const topology::WeightMatrix& w, const AgentLayout& layout);

  int owned_ = 0, halo_ = 0, max_row_entries_ = 0;
  bool sends_all_rows_in_order_ = false;
  bool variable_weights_ = false;
  std::size_t owned_entries_ = 0;
  // Variable weights: the local CSR entry of every block weight, and host staging copies.
  std::vector<std::int64_t> entry_of_block_weight_;
  Kokkos::View<double*, Kokkos::HostSpace> host_weights_, host_block_weights_;
  std::vector<int> halo_agents_;
  comm::ExchangePattern pattern_;
  PlanViews views_;
};

}  // namespace concord::mixing
