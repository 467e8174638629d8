#include "concord/mixing/plan.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace concord::mixing {

namespace {

template <class T>
Kokkos::View<T*, MemorySpace> to_device(const std::string& label, const std::vector<T>& host) {
  Kokkos::View<T*, MemorySpace> v(Kokkos::view_alloc(Kokkos::WithoutInitializing, "concord::MixingPlan::" + label),
                                  host.size());
  auto mirror = Kokkos::create_mirror_view(Kokkos::WithoutInitializing, v);
  std::copy(host.begin(), host.end(), mirror.data());
  Kokkos::deep_copy(v, mirror);
  return v;
}

/// Receive block index of halo row h.
int block_of(const std::vector<comm::PeerBlock>& blocks, std::int64_t h) {
  auto it = std::upper_bound(blocks.begin(), blocks.end(), h,
                             [](std::int64_t row, const comm::PeerBlock& b) { return row < b.first_row; });
  return static_cast<int>(it - blocks.begin()) - 1;
}

/// The owned rows as a local CSR over [owned | halo] columns, and their split into interior rows
/// (no halo entry) and boundary rows, both ascending.
struct LocalRows {
  std::vector<std::int64_t> offsets{0};
  std::vector<int> columns;
  std::vector<double> weights;
  std::vector<int> interior, boundary;
};

/// The local CSR of the owned rows of `w`, entries in ascending global column order (halo agent j
/// at column owned + its index in the sorted `halo_agents`).
LocalRows local_rows(const topology::WeightMatrix& w, const AgentLayout& layout, const std::vector<int>& halo_agents) {
  const int first = layout.local_first(), owned = layout.local_count();
  auto halo_index = [&](int j) {
    return static_cast<int>(std::lower_bound(halo_agents.begin(), halo_agents.end(), j) - halo_agents.begin());
  };
  LocalRows local;
  for (int il = 0; il < owned; ++il) {
    const auto cols = w.row_cols(first + il);
    const auto ws = w.row_weights(first + il);
    bool touches_halo = false;
    for (std::size_t e = 0; e < cols.size(); ++e) {
      const bool local_column = layout.is_local(cols[e]);
      touches_halo |= !local_column;
      local.columns.push_back(local_column ? cols[e] - first : owned + halo_index(cols[e]));
      local.weights.push_back(ws[e]);
    }
    local.offsets.push_back(static_cast<std::int64_t>(local.columns.size()));
    (touches_halo ? local.boundary : local.interior).push_back(il);
  }
  return local;
}

/// Cuts row sets of a LocalRows into the row blocks of the host kernels (see RowBlock), appending
/// the blocks' sources and weights to `sources` and `weights`, which all its blocks index.
class BlockBuilder {
 public:
  /// `variable`: the weights will change (no block is marked uniform).
  BlockBuilder(const LocalRows& local, int owned, const std::vector<comm::PeerBlock>& recvs, bool variable)
      : local_(local), owned_(owned), recvs_(recvs), variable_(variable) {}

  /// The row blocks of `rows` (ascending local rows), longest first; their sources and weights appended.
  std::vector<RowBlock> blocks_of(const std::vector<int>& rows) {
    std::vector<RowBlock> blocks;
    std::size_t open = 0;  // rows[open, i) form the open block
    for (std::size_t i = 0; i < rows.size(); ++i)
      if (!continues_block(rows[open], rows[i], static_cast<int>(i - open))) open = close_block(rows, open, i, blocks);
    close_block(rows, open, rows.size(), blocks);
    // Longest first: the long blocks stream through a chunk's columns in address order, the
    // short ones (single rows at wrap-arounds, strided) then find them in cache.
    std::stable_sort(blocks.begin(), blocks.end(),
                     [](const RowBlock& x, const RowBlock& y) { return x.length > y.length; });
    return blocks;
  }

  std::vector<BlockSource> sources;
  std::vector<double> weights;
  std::vector<std::int64_t> weight_entries;  ///< the local CSR entry of every weight

 private:
  /// Where local column `column` is read from: an owned row, or a row of a receive block.
  BlockSource source_of(int column) const {
    if (column < owned_) return BlockSource{-1, column};
    const int h = column - owned_;
    const int q = block_of(recvs_, h);
    return BlockSource{q, h - static_cast<int>(recvs_[q].first_row)};
  }

  /// Whether `row` can be row t of the block headed by `head`: t > 0, consecutive rows, the same
  /// entry count, and each entry reading the row t places after the head's entry in the same source.
  bool continues_block(int head, int row, int t) const {
    const auto& offsets = local_.offsets;
    bool extend = t > 0 && row == head + t && offsets[row + 1] - offsets[row] == offsets[head + 1] - offsets[head];
    for (std::int64_t k = 0; extend && k < offsets[row + 1] - offsets[row]; ++k) {
      const BlockSource a = source_of(local_.columns[offsets[row] + k]);
      const BlockSource h = source_of(local_.columns[offsets[head] + k]);
      extend = a.source == h.source && a.row == h.row + t;
    }
    return extend;
  }

  /// Appends the block of rows[open, end) (none when empty) to `blocks`, its sources and its
  /// weights (entry-major); returns `end`, where the next block opens.
  std::size_t close_block(const std::vector<int>& rows, std::size_t open, std::size_t end,
                          std::vector<RowBlock>& blocks) {
    if (end == open) return end;
    const auto& offsets = local_.offsets;
    const auto& w = local_.weights;
    const int head = rows[open], length = static_cast<int>(end - open);
    const int entries = static_cast<int>(offsets[head + 1] - offsets[head]);
    bool uniform = !variable_;
    for (std::size_t m = open; m < end; ++m)
      for (int k = 0; k < entries; ++k) uniform &= w[offsets[rows[m]] + k] == w[offsets[head] + k];
    blocks.push_back({head, length, entries, static_cast<int>(sources.size()), static_cast<int>(weights.size()),
                      uniform ? 1 : 0});
    for (int k = 0; k < entries; ++k) sources.push_back(source_of(local_.columns[offsets[head] + k]));
    for (int k = 0; k < entries; ++k)
      for (std::size_t m = open; m < end; ++m) {
        weights.push_back(w[offsets[rows[m]] + k]);
        weight_entries.push_back(offsets[rows[m]] + k);
      }
    return end;
  }

  const LocalRows& local_;
  int owned_;
  const std::vector<comm::PeerBlock>& recvs_;
  bool variable_;
};

/// Per-row tables of the exchange (see PlanViews): halo rows' and sent rows' blocks, and the
/// receive blocks.
struct ExchangeTables {
  std::vector<std::int64_t> halo_first, halo_rows;
  std::vector<int> halo_position;
  std::vector<std::int64_t> recv_first, recv_rows;
  std::vector<std::int64_t> send_first, send_rows_of_block;
  std::vector<int> send_position;
};

/// The exchange tables of `pattern` with `halo` halo rows.
ExchangeTables exchange_tables(const comm::ExchangePattern& pattern, int halo) {
  ExchangeTables t;
  t.halo_first.resize(halo);
  t.halo_rows.resize(halo);
  t.halo_position.resize(halo);
  for (int h = 0; h < halo; ++h) {
    const auto& b = pattern.recvs[block_of(pattern.recvs, h)];
    t.halo_first[h] = b.first_row;
    t.halo_rows[h] = b.rows;
    t.halo_position[h] = h - static_cast<int>(b.first_row);
  }
  for (const auto& b : pattern.recvs) {
    t.recv_first.push_back(b.first_row);
    t.recv_rows.push_back(b.rows);
  }
  for (const auto& b : pattern.sends)
    for (std::int64_t s = 0; s < b.rows; ++s) {
      t.send_first.push_back(b.first_row);
      t.send_rows_of_block.push_back(b.rows);
      t.send_position.push_back(static_cast<int>(s));
    }
  return t;
}

/// Whether the sends are all `owned` rows, in order, to a single peer.
bool single_peer_in_order(const comm::ExchangePattern& pattern, const std::vector<int>& send_rows, int owned) {
  bool in_order = pattern.sends.size() == 1 && pattern.sends.front().rows == owned;
  for (std::size_t s = 0; in_order && s < send_rows.size(); ++s) in_order = send_rows[s] == static_cast<int>(s);
  return in_order;
}

/// The device copies of a plan's host tables.
PlanViews upload(const LocalRows& local, const std::vector<RowBlock>& interior_blocks,
                 const std::vector<RowBlock>& boundary_blocks, const BlockBuilder& blocks,
                 const ExchangeTables& exchange, const std::vector<int>& send_rows) {
  PlanViews views;
  views.row_offsets = to_device("row_offsets", local.offsets);
  views.columns = to_device("columns", local.columns);
  views.weights = to_device("weights", local.weights);
  views.halo_block_first = to_device("halo_block_first", exchange.halo_first);
  views.halo_block_rows = to_device("halo_block_rows", exchange.halo_rows);
  views.halo_position = to_device("halo_position", exchange.halo_position);
  views.interior_rows = to_device("interior_rows", local.interior);
  views.boundary_rows = to_device("boundary_rows", local.boundary);
  views.interior_blocks = to_device("interior_blocks", interior_blocks);
  views.boundary_blocks = to_device("boundary_blocks", boundary_blocks);
  views.block_sources = to_device("block_sources", blocks.sources);
  views.block_weights = to_device("block_weights", blocks.weights);
  views.recv_block_first = to_device("recv_block_first", exchange.recv_first);
  views.recv_block_rows = to_device("recv_block_rows", exchange.recv_rows);
  views.send_local_row = to_device("send_local_row", send_rows);
  views.send_block_first = to_device("send_block_first", exchange.send_first);
  views.send_block_rows = to_device("send_block_rows", exchange.send_rows_of_block);
  views.send_position = to_device("send_position", exchange.send_position);
  return views;
}

}  // namespace

MixingPlan::MixingPlan(const topology::WeightMatrix& w, const AgentLayout& layout, bool variable_weights)
    : variable_weights_(variable_weights) {
  if (w.size() != layout.agents())
    throw std::logic_error("concord::MixingPlan: matrix size " + std::to_string(w.size()) + " != agents " +
                           std::to_string(layout.agents()));
  owned_ = layout.local_count();
  collect_halo(w, layout);
  const std::vector<int> send_rows = collect_sends(w, layout);

  // Local CSR over [owned | halo], then the row blocks of the host kernels: the interior's, then
  // the boundary's, their sources and weights in one table.
  const LocalRows local = local_rows(w, layout, halo_agents_);
  BlockBuilder blocks(local, owned_, pattern_.recvs, variable_weights_);
  const std::vector<RowBlock> interior_blocks = blocks.blocks_of(local.interior);
  const std::vector<RowBlock> boundary_blocks = blocks.blocks_of(local.boundary);

  sends_all_rows_in_order_ = single_peer_in_order(pattern_, send_rows, owned_);
  views_ = upload(local, interior_blocks, boundary_blocks, blocks, exchange_tables(pattern_, halo_), send_rows);
  owned_entries_ = local.weights.size();
  if (variable_weights_) {
    entry_of_block_weight_ = blocks.weight_entries;
    host_weights_ = Kokkos::View<double*, Kokkos::HostSpace>("concord::MixingPlan::host_weights", owned_entries_);
    host_block_weights_ =
        Kokkos::View<double*, Kokkos::HostSpace>("concord::MixingPlan::host_block_weights", blocks.weights.size());
  }
}

void MixingPlan::set_weights(const ExecutionSpace& exec, std::span<const double> values) {
  if (!variable_weights_) throw std::logic_error("concord::MixingPlan::set_weights: the plan has fixed weights");
  if (values.size() != owned_entries_)
    throw std::logic_error("concord::MixingPlan::set_weights: " + std::to_string(values.size()) + " values for " +
                           std::to_string(owned_entries_) + " entries");
  // The local CSR keeps the owned rows' entries in their global order: entry e is values[e].
  std::copy(values.begin(), values.end(), host_weights_.data());
  for (std::size_t b = 0; b < entry_of_block_weight_.size(); ++b)
    host_block_weights_(b) = values[static_cast<std::size_t>(entry_of_block_weight_[b])];
  Kokkos::deep_copy(exec, views_.weights, host_weights_);
  Kokkos::deep_copy(exec, views_.block_weights, host_block_weights_);
}

void MixingPlan::collect_halo(const topology::WeightMatrix& w, const AgentLayout& layout) {
  const int first = layout.local_first();
  // Halo: every non-local column of an owned row. Sorting by global id groups them by owner rank
  // (blocks are contiguous in id), ascending inside each group.
  for (int il = 0; il < owned_; ++il) {
    const auto cols = w.row_cols(first + il);
    max_row_entries_ = std::max(max_row_entries_, static_cast<int>(cols.size()));
    for (int j : cols)
      if (!layout.is_local(j)) halo_agents_.push_back(j);
  }
  std::sort(halo_agents_.begin(), halo_agents_.end());
  halo_agents_.erase(std::unique(halo_agents_.begin(), halo_agents_.end()), halo_agents_.end());
  halo_ = static_cast<int>(halo_agents_.size());
  for (int h = 0; h < halo_; ++h) {
    const int owner = layout.owner(halo_agents_[h]);
    if (pattern_.recvs.empty() || pattern_.recvs.back().rank != owner) pattern_.recvs.push_back({owner, h, 0});
    ++pattern_.recvs.back().rows;
  }
}

std::vector<int> MixingPlan::collect_sends(const topology::WeightMatrix& w, const AgentLayout& layout) {
  const int first = layout.local_first();
  const int me = layout.rank();
  // Sends: the owned rows that rows of each other rank read (W may be non-symmetric, so look at
  // the peers' rows, which every rank holds).
  std::vector<int> send_rows;
  for (int q = 0; q < layout.ranks(); ++q) {
    if (q == me) continue;
    std::vector<int> needed;
    for (int r = layout.first(q); r < layout.first(q) + layout.count(q); ++r)
      for (int j : w.row_cols(r))
        if (layout.is_local(j)) needed.push_back(j - first);
    if (needed.empty()) continue;
    std::sort(needed.begin(), needed.end());
    needed.erase(std::unique(needed.begin(), needed.end()), needed.end());
    pattern_.sends.push_back({q, static_cast<std::int64_t>(send_rows.size()), static_cast<std::int64_t>(needed.size())});
    send_rows.insert(send_rows.end(), needed.begin(), needed.end());
  }
  return send_rows;
}

}  // namespace concord::mixing
