#include "concord/problems/detail/agent_lanes.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "concord/core/detail/host_isa.hpp"
#include "concord/problems/detail/losses.hpp"

// Captured before the target pragmas below, which define __FMA__ for their own code: whether
// Concord's sources are compiled with FMA, and so with `x - gamma * g` contracted into one FMA.
#if defined(__FMA__)
#define CONCORD_LANES_CONTRACTED 1
#endif

// Device builds (nvcc compiles this file too) never run the host paths: no kernels there.
#if !defined(__CUDACC__)
#define CONCORD_LANES_HOST 1

namespace concord::problems::detail {

#define CONCORD_LANES_NAMESPACE lanes_scalar
#include "concord/problems/detail/agent_lanes_host.inc"
#undef CONCORD_LANES_NAMESPACE

}  // namespace concord::problems::detail
#endif

#if defined(CONCORD_LANES_HOST) && defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define CONCORD_LANES_VECTORS 1

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
#pragma GCC target("avx512f,fma")
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
#ifndef CONCORD_LANES_HOST
  return {};
#else
#ifdef CONCORD_LANES_VECTORS
  using concord::detail::HostIsa;
  // (AVX2 without FMA, which no common x86-64 CPU has, takes the scalar kernels.)
  if (__builtin_cpu_supports("fma")) {
    if (concord::detail::host_isa_allows(HostIsa::avx512))
      return {lanes_avx512::V, lanes_avx512::mlp_group, lanes_avx512::mlp_agent};
    if (concord::detail::host_isa_allows(HostIsa::avx2)) return {lanes_avx2::V, lanes_avx2::mlp_group, lanes_avx2::mlp_agent};
  }
#endif
  return {lanes_scalar::V, lanes_scalar::mlp_group, lanes_scalar::mlp_agent};
#endif
}

std::int64_t lane_scratch_size(int width, std::int64_t m, int F, int U) {
  const auto round_up = [&](std::int64_t n) { return (n + width - 1) / width * width; };
  const std::int64_t group = width * (m * F + 2 * m * U);  // mlp_group's Xc, H, D
  const std::int64_t mp = round_up(m);                     // mlp_agent's XT, XR, HT, DT, HR
  const std::int64_t agent = F * mp + m * round_up(F) + 2 * U * mp + m * (U + width);
  return (std::max(group, agent) + 7) / 8 * 8;  // whole cache lines: every thread's block starts on one
}

}  // namespace concord::problems::detail
