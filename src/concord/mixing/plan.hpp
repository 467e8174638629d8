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
#include <cstdint>
#include <vector>

#include "concord/comm/transport.hpp"
#include "concord/core/agent_layout.hpp"
#include "concord/core/spaces.hpp"
#include "concord/topology/weight_matrix.hpp"

namespace concord::mixing {

/// Host kernels work on runs: consecutive output rows whose k-th entry (in ascending column
/// order) reads consecutive rows of one source with its own weights. For each coordinate the run
/// is a contiguous multiply(-add) that vectorises. Runs are ordered by k, so each row sees its
/// entries in ascending global column order; `assign` marks k = 0 (y = w x, then y += w x).
/// The Mixer's host kernels regroup the runs into row blocks summed in registers, in the same
/// order (mixer.cpp).
struct Run {
  int row = 0;         ///< first output row (local)
  int length = 0;      ///< number of rows
  int source = -1;     ///< -1: the rank's own rows of X_in; q >= 0: the q-th receive block
  int source_row = 0;  ///< first source row (in X_in, or within receive block q)
  int weight = 0;      ///< offset of the run's weights in `run_weights`
  int assign = 0;      ///< 1 for the first entry of each row
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
  // Host kernels: runs of the interior and of the boundary rows, and their weights.
  View<Run> interior_runs, boundary_runs;
  View<double> run_weights;
  // Receive blocks (first row, rows), indexed by Run::source.
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
  MixingPlan(const topology::WeightMatrix& w, const AgentLayout& layout);

  int owned_rows() const { return owned_; }
  int halo_rows() const { return halo_; }
  /// Global agent id of halo row h (ascending within each peer block).
  const std::vector<int>& halo_agents() const { return halo_agents_; }
  const comm::ExchangePattern& pattern() const { return pattern_; }
  int interior_count() const { return static_cast<int>(views_.interior_rows.extent(0)); }
  int boundary_count() const { return static_cast<int>(views_.boundary_rows.extent(0)); }
  /// Largest number of entries in a row (self included).
  int max_row_entries() const { return max_row_entries_; }
  std::size_t run_count() const { return views_.interior_runs.extent(0) + views_.boundary_runs.extent(0); }
  const PlanViews& views() const { return views_; }

 private:
  int owned_ = 0, halo_ = 0, max_row_entries_ = 0;
  std::vector<int> halo_agents_;
  comm::ExchangePattern pattern_;
  PlanViews views_;
};

}  // namespace concord::mixing
