#pragma once
/// \file kernels.hpp
/// The Mixer's two kernels, shared with the exchanges built on its plans (compressed.hpp):
/// packing the rows a plan sends, and mixing a subset of rows from the owned rows and a receive
/// buffer. Buffer layout and summation order: plan.hpp.
#include <cstdint>

#include "concord/core/agent_layout.hpp"
#include "concord/core/spaces.hpp"
#include "concord/mixing/mixer.hpp"
#include "concord/mixing/plan.hpp"
#include "concord/topology/weight_matrix.hpp"

namespace concord::mixing::detail {

using Buffer = Kokkos::View<double*, MemorySpace>;

/// Packs the rows of `in` (owned rows x w values) that `plan` sends into `send`, as vector slot
/// [vc, vc + w) of rows of vd values each (vd = V * d for V fused vectors of dimension d).
void launch_pack(const ExecutionSpace& exec, const MixingPlan& plan, const AgentMatrix& in, const Buffer& send,
                 std::int64_t vd, std::int64_t vc);

/// out = W in for the interior (no halo entry) or the boundary rows of `plan`; halo values are
/// read from `recv` at slot vc of rows of vd values (the receive layout of plan.hpp).
void launch_mix(const ExecutionSpace& exec, const MixingPlan& plan, bool interior, const AgentMatrix& in,
                const AgentMatrix& out, const Buffer& recv, std::int64_t vd, std::int64_t vc);

/// The circulant kernel of a plan's matrix (CirculantStep, mixer.hpp), or none.
CirculantStep find_circulant(const topology::WeightMatrix& w, const AgentLayout& layout);
/// out = W in for every row, with step's kernel (interior and boundary at once: one rank).
void launch_circulant(const ExecutionSpace& exec, const CirculantStep& step, const AgentMatrix& in,
                      const AgentMatrix& out);

}  // namespace concord::mixing::detail
