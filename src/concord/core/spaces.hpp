#pragma once
/// \file spaces.hpp
/// Kokkos spaces and the per-rank agent state type used throughout Concord.
///
/// Concord runs on Kokkos' default execution space (Serial, OpenMP or CUDA, fixed when Kokkos
/// is built). Per-rank state is an `AgentMatrix`: a View of extent (local agents, dimension) in
/// `LayoutLeft`, so the values of *one coordinate* for all local agents are contiguous. That
/// order was chosen by measurement (perf/RESULTS.md, "Memory order"): mixing reads, for each
/// coordinate, a short contiguous column of agent values and writes one, which the CPU streams
/// at near copy speed, whereas the agent-major order (`LayoutRight`) has one memory stream per
/// agent and ran 2-3x slower.
/// \code
///   concord::AgentMatrix x(Kokkos::view_alloc(exec, "concord::Example::x"), local_agents, dimension);
///   x(a, c) = 1.0;  // local agent a, coordinate c
/// \endcode
#include <Kokkos_Core.hpp>

namespace concord {

using ExecutionSpace = Kokkos::DefaultExecutionSpace;
using MemorySpace = ExecutionSpace::memory_space;
using HostSpace = Kokkos::HostSpace;

/// Per-rank agent state: (local agents x dimension), agents of one coordinate contiguous.
using AgentMatrix = Kokkos::View<double**, Kokkos::LayoutLeft, MemorySpace>;
/// A vector of one value per coordinate (an average over agents, a gradient of the mean).
using CoordinateVector = Kokkos::View<double*, MemorySpace>;

/// True where kernels run on the host (Serial, OpenMP): Concord then uses cache-friendly host
/// loop orders; on a GPU it uses one thread per (row, coordinate).
inline constexpr bool host_execution = Kokkos::SpaceAccessibility<HostSpace, MemorySpace>::accessible;

}  // namespace concord
