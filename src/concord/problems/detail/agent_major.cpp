#include "concord/problems/detail/agent_major.hpp"

namespace concord::problems::detail {
namespace {

using Policy = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>;

/// Coordinates per work item of the transposing kernels: a tile of (agents x kTile) stays in L1
/// for the agent counts of a rank. On a GPU the kernels take one coordinate per thread.
constexpr std::int64_t kTile = host_execution ? 64 : 1;

std::int64_t tiles(std::int64_t d) { return (d + kTile - 1) / kTile; }

/// Host transpose of coordinates [c0, c1): out[a * ld_out + c] = in[c * ld_in + a] for a < agents
/// (in: one row of `agents` values per coordinate, i.e. an AgentMatrix's storage; out: one row per
/// agent) or, with `to_agents` false, the other way round. Blocks of 8 x 8 values: 8 cache lines
/// read, 8 written, the transpose in registers.
void host_transpose(const double* __restrict in, std::int64_t ld_in, double* __restrict out, std::int64_t ld_out,
                    std::int64_t agents, std::int64_t c0, std::int64_t c1, bool to_agents) {
  constexpr int B = 8;
  for (std::int64_t cb = c0; cb < c1; cb += B) {
    const std::int64_t nc = c1 - cb < B ? c1 - cb : B;
    for (std::int64_t ab = 0; ab < agents; ab += B) {
      const std::int64_t na = agents - ab < B ? agents - ab : B;
      if (nc == B && na == B) {
        double block[B][B];
        if (to_agents) {
          for (int c = 0; c < B; ++c)
            for (int a = 0; a < B; ++a) block[a][c] = in[(cb + c) * ld_in + ab + a];
          for (int a = 0; a < B; ++a)
            for (int c = 0; c < B; ++c) out[(ab + a) * ld_out + cb + c] = block[a][c];
        } else {
          for (int a = 0; a < B; ++a)
            for (int c = 0; c < B; ++c) block[c][a] = in[(ab + a) * ld_in + cb + c];
          for (int c = 0; c < B; ++c)
            for (int a = 0; a < B; ++a) out[(cb + c) * ld_out + ab + a] = block[c][a];
        }
      } else if (to_agents) {
        for (std::int64_t c = cb; c < cb + nc; ++c)
          for (std::int64_t a = ab; a < ab + na; ++a) out[a * ld_out + c] = in[c * ld_in + a];
      } else {
        for (std::int64_t c = cb; c < cb + nc; ++c)
          for (std::int64_t a = ab; a < ab + na; ++a) out[c * ld_out + a] = in[a * ld_in + c];
      }
    }
  }
}

/// host_transpose over all d coordinates, tiles of kTile coordinates spread over the host threads.
void host_transpose_tiles(const ExecutionSpace& exec, const double* in, std::int64_t ld_in, double* out,
                          std::int64_t ld_out, std::int64_t agents, std::int64_t d, bool to_agents) {
  Kokkos::parallel_for(
      to_agents ? "concord::Problem::to_agent_major" : "concord::Problem::from_agent_major", host_items(exec, tiles(d)),
      [=](std::int64_t t) {
        const std::int64_t c0 = t * kTile, c1 = c0 + kTile < d ? c0 + kTile : d;
        host_transpose(in, ld_in, out, ld_out, agents, c0, c1, to_agents);
      });
}

}  // namespace

void to_agent_major(const ExecutionSpace& exec, const AgentMatrix& x, const AgentRows& rows) {
  const std::int64_t agents = static_cast<std::int64_t>(x.extent(0)), d = static_cast<std::int64_t>(x.extent(1));
  if constexpr (host_execution) {
    host_transpose_tiles(exec, x.data(), static_cast<std::int64_t>(x.stride(1)), rows.data(),
                         static_cast<std::int64_t>(rows.stride(0)), agents, d, true);
    return;
  }
  Kokkos::parallel_for(
      "concord::Problem::to_agent_major", Policy(exec, 0, tiles(d)), KOKKOS_LAMBDA(std::int64_t t) {
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
      "concord::Problem::from_agent_major", Policy(exec, 0, tiles(d)), KOKKOS_LAMBDA(std::int64_t t) {
        const std::int64_t c0 = t * kTile, c1 = c0 + kTile < d ? c0 + kTile : d;
        for (std::int64_t c = c0; c < c1; ++c)
          for (std::int64_t a = 0; a < agents; ++a) g(a, first + c) = rows(a, c);
      });
}

void loss_rows(const ExecutionSpace& exec, const CoordinateVector& point, const CoordinateMask& penalised, double l2,
               const SlotOffsets& offsets, const Kokkos::View<double*, MemorySpace>& loss,
               const Kokkos::View<double*, MemorySpace>& correct, const AgentMatrix& out, int d) {
  const std::int64_t agents = static_cast<std::int64_t>(out.extent(0));
  Kokkos::parallel_for(
      "concord::Problem::loss_rows", Policy(exec, 0, agents), KOKKOS_LAMBDA(std::int64_t a) {
        const std::int64_t lo = offsets(a), hi = offsets(a + 1);
        double l = 0.0, ok = 0.0;
        for (std::int64_t slot = lo; slot < hi; ++slot) l += loss(slot), ok += correct(slot);
        double penalty = 0.0;
        if (l2 > 0)
          for (int c = 0; c < d; ++c)
            if (penalised(c) != 0) penalty += point(c) * point(c);
        out(a, d) = l / static_cast<double>(hi - lo) + 0.5 * l2 * penalty;
        out(a, d + 1) = ok;
        out(a, d + 2) = static_cast<double>(hi - lo);
      });
}

}  // namespace concord::problems::detail
