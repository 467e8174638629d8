#pragma once
/// \file rows.hpp
/// Whole-row operations on an AgentMatrix shared by the layers (one kernel each, labelled by the
/// caller).
#include <cstdint>

#include "concord/core/spaces.hpp"

namespace concord {

/// x(a, c) = v(c) for every local agent a: the same vector in every row (e.g. the average model
/// broadcast to the agents, or the common point an evaluation reads per agent).
inline void broadcast_rows(const ExecutionSpace& exec, const char* label, const CoordinateVector& v, const AgentMatrix& x) {
  const std::int64_t agents = static_cast<std::int64_t>(x.extent(0));
  const std::int64_t d = static_cast<std::int64_t>(x.extent(1));
  Kokkos::parallel_for(label, Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(exec, 0, agents * d),
                       KOKKOS_LAMBDA(std::int64_t t) { x(t % agents, t / agents) = v(t / agents); });
}

}  // namespace concord
