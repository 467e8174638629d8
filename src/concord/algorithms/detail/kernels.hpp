#pragma once
/// \file kernels.hpp
/// The element-wise kernels the algorithms share: every algorithm is a handful of them around the
/// problem's gradient and the Mixer / ReproducibleSum.
#include <cstdint>

#include "concord/core/spaces.hpp"

namespace concord::algorithms::detail {

using Flat = Kokkos::View<double*, MemorySpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
using Policy = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>;

/// The contiguous storage of an AgentMatrix as one vector (every matrix here is allocated whole).
inline Flat flat(const AgentMatrix& m) { return Flat(m.data(), m.span()); }

/// f(i) over every entry of matrices of the same extents as `like`.
template <class F>
void entries(const ExecutionSpace& exec, const char* label, const AgentMatrix& like, F f) {
  Kokkos::parallel_for(label, Policy(exec, 0, static_cast<std::int64_t>(like.span())), f);
}

}  // namespace concord::algorithms::detail
