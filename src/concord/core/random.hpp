#pragma once
/// \file random.hpp
/// Counter-based random streams keyed by integers, never by MPI rank.
///
/// A `RandomStream` is identified by a seed and up to three keys (for instance agent, iteration
/// and purpose); two streams with the same identity produce the same numbers on every rank,
/// platform and compiler. The distributions are Concord's own (not <random>'s, whose
/// algorithms differ between standard libraries), so draws are reproducible everywhere.
///
/// \code
///   concord::RandomStream rng(seed, /*purpose=*/concord::stream_purpose::topology);
///   int hop = rng.uniform_int(1, n - 1);  // inclusive bounds
///   double u = rng.uniform();             // in [0, 1)
/// \endcode
#include <cstdint>

namespace concord {

/// Stable purpose tags: keep values unchanged, they are part of reproducibility.
namespace stream_purpose {
inline constexpr std::uint64_t topology = 1;
inline constexpr std::uint64_t data = 2;
inline constexpr std::uint64_t sampling = 3;
inline constexpr std::uint64_t initial = 4;
}  // namespace stream_purpose

/// SplitMix64 finaliser: a bijective 64-bit mixer.
constexpr std::uint64_t mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class RandomStream {
 public:
  constexpr explicit RandomStream(std::uint64_t seed, std::uint64_t k1 = 0, std::uint64_t k2 = 0,
                                  std::uint64_t k3 = 0)
      : key_(mix64(mix64(mix64(mix64(seed) ^ k1) ^ k2) ^ k3)) {}

  /// Next raw 64-bit value (the stream is the sequence mix64(key + c * golden), c = 0, 1, ...).
  constexpr std::uint64_t next() { return mix64(key_ + 0x632be59bd9b4e019ULL * counter_++); }

  /// Uniform double in [0, 1) with 53 random bits.
  constexpr double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Uniform integer in [lo, hi] (inclusive), unbiased (rejection sampling).
  constexpr std::int64_t uniform_int(std::int64_t lo, std::int64_t hi) {
    const std::uint64_t range = static_cast<std::uint64_t>(hi - lo) + 1;  // 0 means 2^64
    if (range == 0) return static_cast<std::int64_t>(next());
    const std::uint64_t limit = (~std::uint64_t{0}) - ((~std::uint64_t{0}) % range);
    std::uint64_t r;
    do {
      r = next();
    } while (r >= limit);
    return lo + static_cast<std::int64_t>(r % range);
  }

  constexpr std::uint64_t draws() const { return counter_; }

 private:
  std::uint64_t key_;
  std::uint64_t counter_ = 0;
};

}  // namespace concord
