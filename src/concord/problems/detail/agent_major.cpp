#include "concord/problems/detail/agent_major.hpp"
#include "concord/core/detail/host_isa.hpp"
#include "concord/core/detail/transpose_4x4.hpp"
#include "concord/core/error.hpp"
#include "concord/problems/agent_data.hpp"
#include "concord/problems/detail/dense.hpp"
#include "concord/problems/problem.hpp"



namespace concord::problems::detail {
namespace {

/// out[j * m + i] = X[rows[i] * ldx + j] for i in [i0, m), every j (the portable gather, and the
/// last rows of the AVX2 one).
void gather_transposed_rows(const double* X, std::int64_t ldx, const std::int64_t* rows, std::int64_t i0,
                            std::int64_t m, int F, double* out) {
  for (std::int64_t i = i0; i < m; ++i) {
    const double* r = X + rows[i] * ldx;
    for (int j = 0; j < F; ++j) out[static_cast<std::int64_t>(j) * m + i] = r[j];
  }
}

void gather_transposed_portable(const double* X, std::int64_t ldx, const std::int64_t* rows, std::int64_t m, int F,
                                double* out) {
  gather_transposed_rows(X, ldx, rows, 0, m, F, out);
}

#ifdef CONCORD_TRANSPOSE_4X4
using concord::detail::transpose_4x4;

/// Rows in groups of G (8, then 4), read as G streams at once -- more misses in flight than one
/// row after another: 0.42 ms for 16 agents x 32 rows of the Fashion-MNIST set, 0.48 ms with
/// groups of 4, 0.41-0.44 ms for memcpy of the rows -- and transposed in 4 x 4 register blocks.
template <int G>
__attribute__((target("avx2"))) std::int64_t gather_groups_avx2(const double* X, std::int64_t ldx,
                                                                const std::int64_t* rows, std::int64_t i,
                                                                std::int64_t m, int F, double* out) {
  for (; i + G <= m; i += G) {
    const double* r[G];
    for (int q = 0; q < G; ++q) r[q] = X + rows[i + q] * ldx;
    int j = 0;
    for (; j + 4 <= F; j += 4)
      for (int q = 0; q < G; q += 4)
        transpose_4x4(r[q], r[q + 1], r[q + 2], r[q + 3], j, out + static_cast<std::int64_t>(j) * m + i + q, m);
    for (; j < F; ++j)
      for (int q = 0; q < G; ++q) out[static_cast<std::int64_t>(j) * m + i + q] = r[q][j];
  }
  return i;
}

__attribute__((target("avx2"))) void gather_transposed_avx2(const double* X, std::int64_t ldx,
                                                            const std::int64_t* rows, std::int64_t m, int F,
                                                            double* out) {
  std::int64_t i = gather_groups_avx2<8>(X, ldx, rows, 0, m, F, out);
  i = gather_groups_avx2<4>(X, ldx, rows, i, m, F, out);
  gather_transposed_rows(X, ldx, rows, i, m, F, out);
}
#endif

void step_portable(double* G, const double* W, std::int64_t d, double gamma) {
  for (std::int64_t c = 0; c < d; ++c) G[c] = W[c] - gamma * G[c];
}

#ifdef CONCORD_TRANSPOSE_4X4  // (the guard of every AVX2 kernel of this file)
/// Rounds as the portable loop and the two-pass form do: apart in the portable build (no FMA),
/// contracted into one FMA by GCC alike everywhere in a CONCORD_NATIVE build with FMA.
__attribute__((target("avx2"))) void step_avx2(double* G, const double* W, std::int64_t d, double gamma) {
  const __m256d g = _mm256_set1_pd(gamma);
  std::int64_t c = 0;
  for (; c + 8 <= d; c += 8) {
    const __m256d a = _mm256_sub_pd(_mm256_loadu_pd(W + c), _mm256_mul_pd(g, _mm256_loadu_pd(G + c)));
    const __m256d b = _mm256_sub_pd(_mm256_loadu_pd(W + c + 4), _mm256_mul_pd(g, _mm256_loadu_pd(G + c + 4)));
    _mm256_storeu_pd(G + c, a);
    _mm256_storeu_pd(G + c + 4, b);
  }
  for (; c < d; ++c) G[c] = W[c] - gamma * G[c];
}
#endif

}  // namespace

StepKernel host_step_kernel() {
#ifdef CONCORD_TRANSPOSE_4X4
  if (concord::detail::host_isa_allows(concord::detail::HostIsa::avx2)) return step_avx2;
#endif
  return step_portable;
}

GatherTransposed host_gather_transposed() {
#ifdef CONCORD_TRANSPOSE_4X4
  if (concord::detail::host_isa_allows(concord::detail::HostIsa::avx2)) return gather_transposed_avx2;
#endif
  return gather_transposed_portable;
}

using Policy = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>;
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
        const EvaluationColumns col{d};
        out(a, col.loss()) = l / static_cast<double>(hi - lo) + 0.5 * l2 * penalty;
        out(a, col.correct()) = ok;
        out(a, col.samples()) = static_cast<double>(hi - lo);
      });
}

void BlasWork::set_penalised(std::vector<CoordinateRange> ranges, std::int64_t d, const std::string& prefix) {
  penalised_ranges = std::move(ranges);
  penalised = CoordinateMask(Kokkos::view_alloc(std::string(prefix + "penalised")), d);
  auto mask = Kokkos::create_mirror_view(penalised);
  Kokkos::deep_copy(mask, 0);
  for (const auto& r : penalised_ranges)
    for (std::int64_t c = r.begin; c < r.end; ++c) mask(c) = 1;
  Kokkos::deep_copy(penalised, mask);
}

void BlasWork::prepare_blas(std::initializer_list<const AgentData*> sets, int agents, std::int64_t d, int features,
                            std::int64_t widest, const std::string& prefix) {
  if (!host_execution) throw UsageError(prefix + " KernelPath::blas needs host memory (use portable)");
  use_single_threaded_blas();
  for (const AgentData* set : sets)
    if (set != nullptr) {
      check_blas_extent(static_cast<std::int64_t>(set->x.stride(0)), "the row length of the samples");
      for (int a = 0; a < set->local_agents; ++a) check_blas_extent(set->samples_of(a), "an agent's sample count");
    }
  const auto alloc = [&](const char* what) { return Kokkos::view_alloc(Kokkos::WithoutInitializing, prefix + what); };
  agent_params = AgentRows(alloc("agent_params"), agents, d);
  agent_sums = AgentRows(alloc("agent_sums"), agents, d);
  if (widest > 0) gather = ThreadScratch(widest * features, prefix + "gathered_rows");
}

void BlasWork::prepare_lanes(std::int64_t batch, int features, int units, const std::string& prefix) {
  lanes = lanes_take(batch, features) ? host_lane_kernels() : LaneKernels{};
  if (lanes.width > 0)
    lane_scratch = ThreadScratch(lane_scratch_size(lanes.width, batch, features, units), prefix + "lane_scratch");
}

}  // namespace concord::problems::detail
