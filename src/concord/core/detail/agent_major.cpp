// Transposes between an AgentMatrix (LayoutLeft) and agent-major rows (LayoutRight).
#include "concord/core/detail/agent_major.hpp"
#include "concord/core/detail/host_isa.hpp"
#include "concord/core/detail/transpose_4x4.hpp"

namespace concord::detail {
namespace {

using Policy = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>;

/// Coordinates per work item of the transposing kernels: a tile of (agents x kTile) stays in L1
/// for the agent counts of a rank. On a GPU the kernels take one coordinate per thread.
constexpr std::int64_t kTile = host_execution ? 64 : 1;

std::int64_t tiles(std::int64_t d) { return (d + kTile - 1) / kTile; }

/// out[i * ld_out + j] = in[j * ld_in + i] for i in [i0, i1), j in [j0, j1), one value at a time
/// (the edges of the blocked kernels below).
void transpose_scalar(const double* __restrict in, std::int64_t ld_in, double* __restrict out, std::int64_t ld_out,
                      std::int64_t i0, std::int64_t i1, std::int64_t j0, std::int64_t j1) {
  for (std::int64_t i = i0; i < i1; ++i)
    for (std::int64_t j = j0; j < j1; ++j) out[i * ld_out + j] = in[j * ld_in + i];
}

/// The same transpose in blocks of 8 x 8 values (8 cache lines read, 8 written), portable x86-64.
void transpose_portable(const double* __restrict in, std::int64_t ld_in, double* __restrict out, std::int64_t ld_out,
                        std::int64_t i0, std::int64_t i1, std::int64_t j0, std::int64_t j1) {
  constexpr int B = 8;
  std::int64_t i = i0;
  for (; i + B <= i1; i += B) {
    std::int64_t j = j0;
    for (; j + B <= j1; j += B) {
      double block[B][B];
      for (int jj = 0; jj < B; ++jj)
        for (int ii = 0; ii < B; ++ii) block[ii][jj] = in[(j + jj) * ld_in + i + ii];
      for (int ii = 0; ii < B; ++ii)
        for (int jj = 0; jj < B; ++jj) out[(i + ii) * ld_out + j + jj] = block[ii][jj];
    }
    transpose_scalar(in, ld_in, out, ld_out, i, i + B, j, j1);
  }
  transpose_scalar(in, ld_in, out, ld_out, i, i1, j0, j1);
}

#ifdef CONCORD_TRANSPOSE_4X4
/// The same transpose in AVX2 blocks of 4 x 4 (transpose_4x4.hpp): copy speed, where the portable
/// kernel's scalar moves ran at 0.4 of it (16 agents x 25,450 coordinates, perf/RESULTS.md).
/// Values are moved, never combined: the result is the same bits on every path.
__attribute__((target("avx2"))) void transpose_avx2(const double* __restrict in, std::int64_t ld_in,
                                                    double* __restrict out, std::int64_t ld_out, std::int64_t i0,
                                                    std::int64_t i1, std::int64_t j0, std::int64_t j1) {
  std::int64_t i = i0;
  for (; i + 4 <= i1; i += 4) {
    std::int64_t j = j0;
    for (; j + 4 <= j1; j += 4) {
      const double* row = in + j * ld_in;
      transpose_4x4(row, row + ld_in, row + 2 * ld_in, row + 3 * ld_in, i, out + i * ld_out + j, ld_out);
    }
    transpose_scalar(in, ld_in, out, ld_out, i, i + 4, j, j1);
  }
  transpose_scalar(in, ld_in, out, ld_out, i, i1, j0, j1);
}
#endif

/// out[i * ld_out + j] = in[j * ld_in + i] over [i0, i1) x [j0, j1).
using Transpose = void (*)(const double*, std::int64_t, double*, std::int64_t, std::int64_t, std::int64_t,
                           std::int64_t, std::int64_t);

/// The AVX2 kernel where core/detail/host_isa.hpp allows it, the portable one otherwise (chosen
/// on the host, outside the kernels: a bad CONCORD_HOST_ISA throws from here).
Transpose host_transpose() {
#ifdef CONCORD_TRANSPOSE_4X4
  if (host_isa_allows(HostIsa::avx2)) return transpose_avx2;
#endif
  return transpose_portable;
}

}  // namespace

void host_transpose_tiles(const ExecutionSpace& exec, const double* in, std::int64_t ld_in, double* out,
                          std::int64_t ld_out, std::int64_t agents, std::int64_t d, bool to_agents) {
  const Transpose transpose = host_transpose();
  Kokkos::parallel_for(
      to_agents ? "concord::detail::to_agent_major" : "concord::detail::from_agent_major", host_items(exec, tiles(d)),
      [=](std::int64_t t) {
        const std::int64_t c0 = t * kTile, c1 = c0 + kTile < d ? c0 + kTile : d;
        // in holds one row per coordinate (to_agents) or one row per agent; out the other order.
        if (to_agents)
          transpose(in, ld_in, out, ld_out, 0, agents, c0, c1);
        else
          transpose(in, ld_in, out, ld_out, c0, c1, 0, agents);
      });
}

void to_agent_major(const ExecutionSpace& exec, const AgentMatrix& x, const AgentRows& rows) {
  const std::int64_t agents = static_cast<std::int64_t>(x.extent(0)), d = static_cast<std::int64_t>(x.extent(1));
  if constexpr (host_execution) {
    host_transpose_tiles(exec, x.data(), static_cast<std::int64_t>(x.stride(1)), rows.data(),
                         static_cast<std::int64_t>(rows.stride(0)), agents, d, true);
    return;
  }
  Kokkos::parallel_for(
      "concord::detail::to_agent_major", Policy(exec, 0, tiles(d)), KOKKOS_LAMBDA(std::int64_t t) {
        const std::int64_t c0 = t * kTile, c1 = c0 + kTile < d ? c0 + kTile : d;
        for (std::int64_t a = 0; a < agents; ++a)
          for (std::int64_t c = c0; c < c1; ++c) rows(a, c) = x(a, c);
      });
}

void from_agent_major(const ExecutionSpace& exec, const AgentRows& rows, const AgentMatrix& g, int first) {
  const std::int64_t agents = static_cast<std::int64_t>(rows.extent(0)), d = static_cast<std::int64_t>(rows.extent(1));
  if constexpr (host_execution) {
    const std::int64_t ld_out = static_cast<std::int64_t>(g.stride(1));
    host_transpose_tiles(exec, rows.data(), static_cast<std::int64_t>(rows.stride(0)),
                         g.data() + static_cast<std::int64_t>(first) * ld_out, ld_out, agents, d, false);
    return;
  }
  Kokkos::parallel_for(
      "concord::detail::from_agent_major", Policy(exec, 0, tiles(d)), KOKKOS_LAMBDA(std::int64_t t) {
        const std::int64_t c0 = t * kTile, c1 = c0 + kTile < d ? c0 + kTile : d;
        for (std::int64_t c = c0; c < c1; ++c)
          for (std::int64_t a = 0; a < agents; ++a) g(a, first + c) = rows(a, c);
      });
}

}  // namespace concord::detail
