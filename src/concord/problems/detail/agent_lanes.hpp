#pragma once
/// \file agent_lanes.hpp
/// The MLP's minibatch gradient with the agents in the lanes of the host's vectors: a group of
/// V agents (8 with AVX-512, 4 with AVX2) runs one network pass together, lane l of every vector
/// holding agent a0 + l. Each product is a register-blocked tile loop over vectors (the "compact"
/// batched layout of small-matrix libraries), reading the parameters where the AgentMatrix keeps
/// them -- x(a, c) at x[a + n c]: the V agents of one coordinate are one vector -- and writing the
/// gradient, or the local step, where the AgentMatrix keeps it. No transposes to and from
/// agent-major copies, which cost the per-agent BLAS pass two passes over the state.
///
/// A rank's agents beyond whole groups run one at a time, each product's vectors then holding
/// consecutive outputs (a GEMM micro-kernel's register blocking) with the same arithmetic.
///
/// Used by Mlp for its minibatch gradient on the host when lanes_take(batch, features) (every
/// agent draws the same number of samples); the other passes -- full batch, evaluation -- keep
/// the per-agent BLAS products of dense.hpp. perf/RESULTS.md ("Fourth round") has the figures.
///
/// Determinism: every output of every product is one FMA chain over its terms in order, and every
/// other operation is elementwise, whichever lane, vector or kernel computes it. An agent's
/// gradient is therefore the same bits for any number of ranks, agents per rank and threads, and
/// for each of the kernels (AVX-512, AVX2, scalar: every CONCORD_HOST_ISA cap); across CPUs, up
/// to the C library's exp, log and tanh. It may differ in its last bits from the per-agent BLAS
/// pass, whose sums OpenBLAS orders its own way.
#include <cstdint>

namespace concord::problems::detail {

/// One lanes pass of the MLP (mlp.hpp's parameter layout; units and deltas in scratch).
struct LaneMlpPass {
  // The network: layers weight layers, width[0 .. layers], W_l at weights[l] (its biases after
  // it), layer l's outputs at column units[l] of the U activation columns.
  int layers = 0;
  const int* width = nullptr;
  const std::int64_t* weights = nullptr;
  const std::int64_t* units = nullptr;
  int U = 0;
  bool relu = true;
  // The samples: row s of X at X + s ldx (F features), labels[s]; agent a's slots are
  // offsets[a] .. offsets[a] + m, with samples sample[slot].
  const double* X = nullptr;
  std::int64_t ldx = 0;
  /// agent_major.hpp's host_gather_transposed(): rows of X gathered feature-major.
  void (*gather)(const double* X, std::int64_t ldx, const std::int64_t* rows, std::int64_t m, int F,
                 double* out) = nullptr;
  int F = 0, classes = 0;
  const int* labels = nullptr;
  const std::int64_t* sample = nullptr;
  const std::int64_t* offsets = nullptr;
  std::int64_t m = 0;
  // The state: x(a, c) at x[a + nx c], out(a, c) at out[a + nout c] (the gradient, or with `step`
  // the point x - gamma g).
  const double* x = nullptr;
  std::int64_t nx = 0;
  double* out = nullptr;
  std::int64_t nout = 0;
  std::int64_t d = 0;
  double l2 = 0.0;
  bool step = false;
  double gamma = 0.0;
};

/// Runs agents a0 .. a0 + width - 1 in the lanes of the kernel's vectors, with `scratch` of
/// lane_scratch_size values.
using LaneMlpGroup = void (*)(const LaneMlpPass& pass, int a0, double* scratch);
/// Runs one agent, its vectors across the outputs of each product (the agents beyond whole
/// groups), on its parameters x[c] into out[c] (contiguous rows, not pass.x and pass.out); the
/// same bits as in a group.
using LaneMlpAgent = void (*)(const LaneMlpPass& pass, int agent, const double* x, double* out, double* scratch);

/// The widest kernels core/detail/host_isa.hpp allows: width 8 (AVX-512), 4 (AVX2 with FMA) or
/// 1 (scalars; CPUs without them, or the sse2 cap). Every width gives the same bits. Chosen on
/// the host.
struct LaneKernels {
  int width = 0;
  LaneMlpGroup group = nullptr;
  LaneMlpAgent agent = nullptr;
};
LaneKernels host_lane_kernels();

/// The largest minibatch the lanes pass takes, and the most values (batch x features) of one
/// agent's gathered minibatch. Beyond them each agent's products are large enough for the BLAS's
/// own blocking, and a group's gathered samples (batch x features x width values, per thread)
/// outgrow the caches, then memory. Neither depends on the width: the choice, and so the bits,
/// is the same under every cap.
constexpr std::int64_t kLaneBatchLimit = 64;
constexpr std::int64_t kLaneValuesLimit = std::int64_t{1} << 20;

/// True when the lanes pass takes a minibatch of `batch` samples of `features` values.
constexpr bool lanes_take(std::int64_t batch, std::int64_t features) {
  return batch > 0 && batch <= kLaneBatchLimit && batch * features <= kLaneValuesLimit;
}

/// Scratch values one work item needs (a group or one agent), a multiple of 8.
std::int64_t lane_scratch_size(int width, std::int64_t m, int F, int U);

}  // namespace concord::problems::detail
