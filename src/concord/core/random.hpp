#pragma once
/// \file random.hpp
/// Counter-based random streams keyed by integers, never by MPI rank.
///
/// Usable in host code and inside Kokkos kernels (every member is a KOKKOS_INLINE_FUNCTION): a
/// kernel builds the stream of (seed, purpose, agent, iteration) on the fly, so the draws of an
/// agent do not depend on which rank or thread holds it.
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
///
///   // Inside a kernel: the stream of agent a at iteration k.
///   auto s = concord::agent_stream(seed, concord::stream_purpose::sampling, a, k);
///   std::int64_t sample = s.uniform_int(0, samples - 1);
/// \endcode
#include <Kokkos_Core.hpp>
#include <cstdint>

namespace concord {

/// The seed of a run when none is given: `concord/seed` in decks, `--seed` of `concord topology`
/// and `concord compare`, and make_topology's default — one value, so that a topology analysed on
/// the command line is the one a run with the default seed uses.
inline constexpr std::uint64_t default_seed = 1;

/// Stable purpose tags: keep values unchanged, they are part of reproducibility.
namespace stream_purpose {
inline constexpr std::uint64_t topology = 1;
inline constexpr std::uint64_t data = 2;
inline constexpr std::uint64_t sampling = 3;
inline constexpr std::uint64_t initial = 4;
inline constexpr std::uint64_t partition = 5;
inline constexpr std::uint64_t evaluation = 6;
inline constexpr std::uint64_t compression = 7;
inline constexpr std::uint64_t asynchrony = 8;  ///< async_dsgd / async_gossip: which agents are active per tick
}  // namespace stream_purpose

/// SplitMix64 finaliser: a bijective 64-bit mixer.
KOKKOS_INLINE_FUNCTION constexpr std::uint64_t mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class RandomStream {
 public:
  KOKKOS_INLINE_FUNCTION constexpr explicit RandomStream(std::uint64_t seed, std::uint64_t k1 = 0, std::uint64_t k2 = 0,
                                  std::uint64_t k3 = 0)
      : key_(mix64(mix64(mix64(mix64(seed) ^ k1) ^ k2) ^ k3)) {}

  /// Next raw 64-bit value (the stream is the sequence mix64(key + c * golden), c = 0, 1, ...).
  KOKKOS_INLINE_FUNCTION constexpr std::uint64_t next() { return mix64(key_ + 0x632be59bd9b4e019ULL * counter_++); }

  /// Uniform double in [0, 1) with 53 random bits.
  KOKKOS_INLINE_FUNCTION constexpr double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Uniform integer in [lo, hi] (inclusive), unbiased (rejection sampling).
  KOKKOS_INLINE_FUNCTION constexpr std::int64_t uniform_int(std::int64_t lo, std::int64_t hi) {
    // In unsigned arithmetic: hi - lo overflows int64 for wide ranges (the same bits, no UB).
    const std::uint64_t range = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) + 1;  // 0: 2^64
    if (range == 0) return static_cast<std::int64_t>(next());
    const std::uint64_t limit = (~std::uint64_t{0}) - ((~std::uint64_t{0}) % range);
    std::uint64_t r;
    do {
      r = next();
    } while (r >= limit);
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + r % range);  // modulo 2^64, no overflow
  }

  /// Standard normal draw (Box-Muller from two uniforms; the second value is discarded so every
  /// draw consumes exactly two counters). Host and device agree up to the last bits of log/cos.
  KOKKOS_INLINE_FUNCTION double normal() {
    const double u1 = 1.0 - uniform();  // in (0, 1]
    const double u2 = uniform();
    return Kokkos::sqrt(-2.0 * Kokkos::log(u1)) * Kokkos::cos(6.283185307179586 * u2);
  }

  KOKKOS_INLINE_FUNCTION constexpr std::uint64_t draws() const { return counter_; }

 private:
  std::uint64_t key_;
  std::uint64_t counter_ = 0;
};

/// The stream of one agent at one iteration for one purpose: the facility every later layer uses
/// for per-agent randomness (minibatch sampling, noise, initial models). Keyed by global agent id,
/// never by rank, so a run is the same for any number of ranks.
KOKKOS_INLINE_FUNCTION constexpr RandomStream agent_stream(std::uint64_t seed, std::uint64_t purpose,
                                                           std::uint64_t agent, std::uint64_t iteration) {
  return RandomStream(seed, purpose, agent, iteration);
}

}  // namespace concord
