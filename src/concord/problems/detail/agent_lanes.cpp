#include "concord/problems/detail/agent_lanes.hpp"

#include <algorithm>
#include <cmath>

#include "concord/core/detail/host_isa.hpp"
#include "concord/problems/detail/losses.hpp"

// Captured before the target pragmas below, which define __FMA__ for their own code: whether
// Concord's sources are compiled with FMA, and so with `x - gamma * g` contracted into one FMA.
#if defined(__FMA__)
#define CONCORD_LANES_CONTRACTED 1
#endif

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define CONCORD_LANES_KERNELS 1

namespace concord::problems::detail {
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define CONCORD_LANES_AVX2 1
#define CONCORD_LANES_NAMESPACE lanes_avx2
#include "concord/problems/detail/agent_lanes_host.inc"
#undef CONCORD_LANES_NAMESPACE
#undef CONCORD_LANES_AVX2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f")
#define CONCORD_LANES_AVX512 1
#define CONCORD_LANES_NAMESPACE lanes_avx512
#include "concord/problems/detail/agent_lanes_host.inc"
#undef CONCORD_LANES_NAMESPACE
#undef CONCORD_LANES_AVX512
#pragma GCC pop_options
}  // namespace concord::problems::detail
#endif

namespace concord::problems::detail {

LaneKernels host_lane_kernels() {
#ifdef CONCORD_LANES_KERNELS
  using concord::detail::HostIsa;
  if (concord::detail::host_isa_allows(HostIsa::avx512)) return {lanes_avx512::V, lanes_avx512::mlp_group};
  // AVX2 without FMA (no such x86-64 CPU is common) keeps the per-agent BLAS pass.
  if (concord::detail::host_isa_allows(HostIsa::avx2) && __builtin_cpu_supports("fma"))
    return {lanes_avx2::V, lanes_avx2::mlp_group};
#endif
  return {};
}

std::int64_t lane_scratch_size(int width, std::int64_t m, int F, int U, std::int64_t d) {
  const std::int64_t values = width * (m * F + 2 * m * U + 2 * d);
  return (values + 7) / 8 * 8;  // whole cache lines, so that every thread's block starts on one
}

}  // namespace concord::problems::detail
