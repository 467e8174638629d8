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

  // Runs for the host kernels, entry slot by entry slot.
  std::vector<double> run_weights;
  auto make_runs = [&](const std::vector<int>& rows) {
    std::vector<Run> runs;
    for (int k = 0; k < max_row_entries_; ++k) {
      const std::size_t slot_begin = runs.size();
      for (int il : rows) {
        const std::int64_t e = offsets[il] + k;
        if (e >= offsets[il + 1]) continue;
        int source = -1, source_row = columns[e];
        if (columns[e] >= owned_) {
          const int h = columns[e] - owned_;
          source = block_of(pattern_.recvs, h);
          source_row = h - static_cast<int>(pattern_.recvs[source].first_row);
        }
        if (runs.size() > slot_begin) {
          Run& last = runs.back();
          if (last.row + last.length == il && last.source == source && last.source_row + last.length == source_row) {
            ++last.length;
            run_weights.push_back(weights[e]);
            continue;
          }
        }
        runs.push_back({il, 1, source, source_row, static_cast<int>(run_weights.size()), k == 0 ? 1 : 0});
        run_weights.push_back(weights[e]);
      }
    }
    return runs;
  };
  const std::vector<Run> interior_runs = make_runs(interior);
  const std::vector<Run> boundary_runs = make_runs(boundary);

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
  views_.interior_runs = to_device("interior_runs", interior_runs);
  views_.boundary_runs = to_device("boundary_runs", boundary_runs);
  views_.run_weights = to_device("run_weights", run_weights);
  views_.recv_block_first = to_device("recv_block_first", recv_first);
  views_.recv_block_rows = to_device("recv_block_rows", recv_rows);
  views_.send_local_row = to_device("send_local_row", send_rows);
  views_.send_block_first = to_device("send_block_first", send_first);
  views_.send_block_rows = to_device("send_block_rows", send_rows_of_block);
  views_.send_position = to_device("send_position", send_position);
}

}  // namespace concord::mixing
