#pragma once
/// \file transpose_4x4.hpp
/// The 4 x 4 AVX2 register transpose that the host's transposing kernels share: the agent-major
/// copies (core/detail/agent_major.cpp) and the feature-major gather of minibatch rows
/// (problems/detail/agent_major.cpp). Defines CONCORD_TRANSPOSE_4X4 where it exists (x86-64 with
/// GCC, not in device compilation); the callers pick it at run time through host_isa.hpp.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define CONCORD_TRANSPOSE_4X4 1
#include <immintrin.h>

#include <cstdint>

namespace concord::detail {

/// o[q * ld] .. o[q * ld + 3] = r0[j + q], r1[j + q], r2[j + q], r3[j + q] for q = 0 .. 3: four
/// 32-byte loads, two unpacks and one lane permute per output row. Values are moved, never
/// combined. Inlined into the callers' AVX2 functions.
__attribute__((target("avx2"), always_inline)) inline void transpose_4x4(const double* r0, const double* r1,
                                                                        const double* r2, const double* r3,
                                                                        std::int64_t j, double* o, std::int64_t ld) {
  const __m256d a = _mm256_loadu_pd(r0 + j), b = _mm256_loadu_pd(r1 + j);
  const __m256d c = _mm256_loadu_pd(r2 + j), d = _mm256_loadu_pd(r3 + j);
  const __m256d t0 = _mm256_unpacklo_pd(a, b), t1 = _mm256_unpackhi_pd(a, b);
  const __m256d t2 = _mm256_unpacklo_pd(c, d), t3 = _mm256_unpackhi_pd(c, d);
  _mm256_storeu_pd(o, _mm256_permute2f128_pd(t0, t2, 0x20));
  _mm256_storeu_pd(o + ld, _mm256_permute2f128_pd(t1, t3, 0x20));
  _mm256_storeu_pd(o + 2 * ld, _mm256_permute2f128_pd(t0, t2, 0x31));
  _mm256_storeu_pd(o + 3 * ld, _mm256_permute2f128_pd(t1, t3, 0x31));
}

}  // namespace concord::detail
#endif
