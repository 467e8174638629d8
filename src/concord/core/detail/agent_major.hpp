#pragma once
/// \file agent_major.hpp
/// Moves per-agent rows between an AgentMatrix (LayoutLeft: the agents of one coordinate
/// contiguous, the order mixing needs) and an agent-major copy (LayoutRight: one agent's values
/// contiguous, the order the BLAS products and the per-row compression operators need). Both
/// kernels walk tiles of coordinates, so every cache line of either matrix is loaded once.
#include <cstdint>
#include <type_traits>

#include "concord/core/spaces.hpp"

namespace concord::detail {

using AgentRows = Kokkos::View<double**, Kokkos::LayoutRight, MemorySpace>;

/// Work items 0 .. n - 1 on the host threads (static schedule), on `exec` when it is a host space.
inline auto host_items(const ExecutionSpace& exec, std::int64_t n) {
  using Index = Kokkos::IndexType<std::int64_t>;
  if constexpr (std::is_same_v<ExecutionSpace, Kokkos::DefaultHostExecutionSpace>)
    return Kokkos::RangePolicy<ExecutionSpace, Index>(exec, 0, n);
  else
    return Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace, Index>(0, n);
}

/// rows(a, c) = x(a, c) for the first x.extent(1) coordinates.
void to_agent_major(const ExecutionSpace& exec, const AgentMatrix& x, const AgentRows& rows);

/// g(a, first + c) = rows(a, c) for c < rows.extent(1).
void from_agent_major(const ExecutionSpace& exec, const AgentRows& rows, const AgentMatrix& g, int first);

/// The host kernel of both, on raw host pointers: with `to_agents`, out[a ld_out + c] =
/// in[c ld_in + a] (coordinate rows in, agent rows out), otherwise out[c ld_out + a] =
/// in[a ld_in + c], for a < agents and c < d (offset the pointers to start at another agent).
void host_transpose_tiles(const ExecutionSpace& exec, const double* in, std::int64_t ld_in, double* out,
                          std::int64_t ld_out, std::int64_t agents, std::int64_t d, bool to_agents);

}  // namespace concord::detail
