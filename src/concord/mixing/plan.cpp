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

}  // namespace

MixingPlan::MixingPlan(const topology::WeightMatrix& w, const AgentLayout& layout) {
  if (w.size() != layout.agents())
    throw std::logic_error("concord::MixingPlan: matrix size " + std::to_string(w.size()) + " != agents " +
                           std::to_string(layout.agents()));
  const int first = layout.local_first();
  owned_ = layout.local_count();
  const int me = layout.rank();

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
  auto halo_index = [&](int j) {
    return static_cast<int>(std::lower_bound(halo_agents_.begin(), halo_agents_.end(), j) - halo_agents_.begin());
  };

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

  // Local CSR over [owned | halo], entries in ascending global column order.
  std::vector<std::int64_t> offsets{0};
  std::vector<int> columns;
  std::vector<double> weights;
  std::vector<int> interior, boundary;
  for (int il = 0; il < owned_; ++il) {
    const auto cols = w.row_cols(first + il);
    const auto ws = w.row_weights(first + il);
    bool touches_halo = false;
    for (std::size_t e = 0; e < cols.size(); ++e) {
      const bool local = layout.is_local(cols[e]);
      touches_halo |= !local;
      columns.push_back(local ? cols[e] - first : owned_ + halo_index(cols[e]));
      weights.push_back(ws[e]);
    }
    offsets.push_back(static_cast<std::int64_t>(columns.size()));
    (touches_halo ? boundary : interior).push_back(il);
  }

  // Row blocks for the host kernels.
  std::vector<BlockSource> block_sources;
  std::vector<double> block_weights;
  auto source_of = [&](int column) {
    if (column < owned_) return BlockSource{-1, column};
    const int h = column - owned_;
    const int q = block_of(pattern_.recvs, h);
    return BlockSource{q, h - static_cast<int>(pattern_.recvs[q].first_row)};
  };
  auto make_blocks = [&](const std::vector<int>& rows) {
    std::vector<RowBlock> blocks;
    std::size_t open = 0;  // rows[open, i) form the open block
    auto close = [&](std::size_t end) {
      if (end == open) return;
      const int head = rows[open], length = static_cast<int>(end - open);
      const int entries = static_cast<int>(offsets[head + 1] - offsets[head]);
      bool uniform = true;
      for (std::size_t m = open; m < end; ++m)
        for (int k = 0; k < entries; ++k) uniform &= weights[offsets[rows[m]] + k] == weights[offsets[head] + k];
      blocks.push_back({head, length, entries, static_cast<int>(block_sources.size()),
                        static_cast<int>(block_weights.size()), uniform ? 1 : 0});
      for (int k = 0; k < entries; ++k) block_sources.push_back(source_of(columns[offsets[head] + k]));
      for (int k = 0; k < entries; ++k)
        for (std::size_t m = open; m < end; ++m) block_weights.push_back(weights[offsets[rows[m]] + k]);
      open = end;
    };
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const int head = rows[open], row = rows[i], t = static_cast<int>(i - open);
      bool extend = t > 0 && row == head + t && offsets[row + 1] - offsets[row] == offsets[head + 1] - offsets[head];
      for (std::int64_t k = 0; extend && k < offsets[row + 1] - offsets[row]; ++k) {
        const BlockSource a = source_of(columns[offsets[row] + k]), h = source_of(columns[offsets[head] + k]);
        extend = a.source == h.source && a.row == h.row + t;
      }
      if (!extend) close(i);
    }
    close(rows.size());
    // Longest first: the long blocks stream through a chunk's columns in address order, the
    // short ones (single rows at wrap-arounds, strided) then find them in cache.
    std::stable_sort(blocks.begin(), blocks.end(),
                     [](const RowBlock& x, const RowBlock& y) { return x.length > y.length; });
    return blocks;
  };
  const std::vector<RowBlock> interior_blocks = make_blocks(interior);
  const std::vector<RowBlock> boundary_blocks = make_blocks(boundary);

  sends_all_rows_in_order_ = pattern_.sends.size() == 1 && pattern_.sends.front().rows == owned_;
  for (std::size_t s = 0; sends_all_rows_in_order_ && s < send_rows.size(); ++s)
    sends_all_rows_in_order_ = send_rows[s] == static_cast<int>(s);

  std::vector<std::int64_t> halo_first(halo_), halo_rows(halo_);
  std::vector<int> halo_position(halo_);
  for (int h = 0; h < halo_; ++h) {
    const auto& b = pattern_.recvs[block_of(pattern_.recvs, h)];
    halo_first[h] = b.first_row;
    halo_rows[h] = b.rows;
    halo_position[h] = h - static_cast<int>(b.first_row);
  }
  std::vector<std::int64_t> recv_first, recv_rows;
  for (const auto& b : pattern_.recvs) {
    recv_first.push_back(b.first_row);
    recv_rows.push_back(b.rows);
  }
  std::vector<std::int64_t> send_first, send_rows_of_block;
  std::vector<int> send_position;
  for (const auto& b : pattern_.sends)
    for (std::int64_t s = 0; s < b.rows; ++s) {
      send_first.push_back(b.first_row);
      send_rows_of_block.push_back(b.rows);
      send_position.push_back(static_cast<int>(s));
    }

  views_.row_offsets = to_device("row_offsets", offsets);
  views_.columns = to_device("columns", columns);
  views_.weights = to_device("weights", weights);
  views_.halo_block_first = to_device("halo_block_first", halo_first);
  views_.halo_block_rows = to_device("halo_block_rows", halo_rows);
  views_.halo_position = to_device("halo_position", halo_position);
  views_.interior_rows = to_device("interior_rows", interior);
  views_.boundary_rows = to_device("boundary_rows", boundary);
  views_.interior_blocks = to_device("interior_blocks", interior_blocks);
  views_.boundary_blocks = to_device("boundary_blocks", boundary_blocks);
  views_.block_sources = to_device("block_sources", block_sources);
  views_.block_weights = to_device("block_weights", block_weights);
  views_.recv_block_first = to_device("recv_block_first", recv_first);
  views_.recv_block_rows = to_device("recv_block_rows", recv_rows);
  views_.send_local_row = to_device("send_local_row", send_rows);
  views_.send_block_first = to_device("send_block_first", send_first);
  views_.send_block_rows = to_device("send_block_rows", send_rows_of_block);
  views_.send_position = to_device("send_position", send_position);
}

}  // namespace concord::mixing
