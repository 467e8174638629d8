#pragma once
/// \file rows.hpp
/// Whole-row operations on an AgentMatrix shared by the layers (one kernel each, labelled by the
/// caller).
#include <cstdint>

#include "concord/core/spaces.hpp"

namespace concord {

/// f(a, c) for every entry of x, agents the fast index as in the LayoutLeft storage (no index
/// division per entry). On the host a tile is whole columns, about 16 KiB, so that threads never
/// share a cache line; on a device Kokkos's default tiles put adjacent agents on adjacent threads.
template <class F>
void row_entries(const ExecutionSpace& exec, const char* label, const AgentMatrix& x, F f) {
  using Policy = Kokkos::MDRangePolicy<ExecutionSpace, Kokkos::Rank<2, Kokkos::Iterate::Left, Kokkos::Iterate::Left>,
                                       Kokkos::IndexType<std::int64_t>>;
  const std::int64_t agents = static_cast<std::int64_t>(x.extent(0)), d = static_cast<std::int64_t>(x.extent(1));
  if constexpr (host_execution) {
    const std::int64_t rows = agents > 0 ? agents : 1, columns = rows >= 2048 ? 1 : 2048 / rows;
    Kokkos::parallel_for(label, Policy(exec, {0, 0}, {agents, d}, {rows, columns}), f);
  } else {
    Kokkos::parallel_for(label, Policy(exec, {0, 0}, {agents, d}), f);
  }
}

/// x(a, c) = v(c) for every local agent a: the same vector in every row (e.g. the average model
/// broadcast to the agents, or the common point an evaluation reads per agent).
inline void broadcast_rows(const ExecutionSpace& exec, const char* label, const CoordinateVector& v, const AgentMatrix& x) {
  row_entries(exec, label, x, KOKKOS_LAMBDA(std::int64_t a, std::int64_t c) { x(a, c) = v(c); });
}

}  // namespace concord
