#pragma once
/// \file compression.hpp
/// Compression operators for compressed gossip (CHOCO, Koloskova et al. 2019): what a row of
/// an exchange becomes on the wire.
///
/// A `Compressor` encodes one agent's row v (d values) into a fixed number of 64-bit words, the
/// only thing that travels, and gives the row q = C(v) its peers decode from those words, bit for
/// bit. The random choices (random_k's coordinates, qsgd's rounding) come from the stream of
/// (seed, agent, iteration), so the sender and every receiver agree without sending them, and a
/// run is the same for any number of ranks.
///
///   kind       words on the wire (per row)                 bytes            delta (below)
///   none       the d doubles                               8 d              1
///   fp32       d floats, two per word                      4 d              1 - 2^-48 (about)
///   bf16       d bfloat16 (round to nearest even from fp32) 2 d             1 - 2^-16 (about)
///   top_k      the k largest |v_c| and their indices       12 k             k / d
///   random_k   k consecutive coordinates (cyclically) from  8 k             k / d
///              a start drawn from the stream; values only
///   qsgd       ||v||_2, then sign + level per coordinate    8 + d(1+b)/8     1 / tau
///              (s levels, stochastic rounding, b = bits of s), rescaled by 1 / tau,
///              tau = 1 + min(d / s^2, sqrt(d) / s)
///   sign       ||v||_1 / d, then one sign bit per coordinate 8 + d/8         >= 1 / d
///
/// k = max(1, round(ratio * d)). delta is the operator's contraction: E ||C(v) - v||^2 <= (1 -
/// delta) ||v||^2, the quantity CHOCO's rate depends on (random_k keeps every coordinate with
/// probability k/d, which is all the bound needs; qsgd is rescaled so that it contracts).
///
/// \code
///   auto c = concord::mixing::make_compressor({CompressionKind::top_k, 0.01}, d, seed);
///   c.encode(agent, k, v, 1, words, 1, q, 1);  // words: c.words values; q = C(v)
///   c.decode(agent, k, words, 1, q2, 1);       // q2 == q bit for bit
/// \endcode
#include <Kokkos_BitManipulation.hpp>
#include <Kokkos_Core.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "concord/core/parameters.hpp"
#include "concord/core/random.hpp"

namespace concord::mixing {

enum class CompressionKind { none, top_k, random_k, qsgd, sign, fp32, bf16 };
/// The kinds' names: the deck's allowed words and the parser.
const parameters::Words<CompressionKind>& compression_kinds();

struct CompressionOptions {
  CompressionKind kind = CompressionKind::none;
  double ratio = 0.01;  ///< top_k, random_k: the fraction of coordinates kept
  int levels = 16;      ///< qsgd: s, the quantisation levels of |v_c| / ||v||
};

/// The deck parameters of concord/algorithm/compression (name, ratio, levels), bound to
/// CompressionOptions. The conditions read `condition_path`/name (e.g. "algorithm/compression").
std::vector<parameters::Bound<CompressionOptions>> compression_parameters(const std::string& condition_path);

/// One operator for rows of `dimension` values, copied into kernels by value.
struct Compressor {
  CompressionKind kind = CompressionKind::none;
  int dimension = 0;
  int kept = 0;           ///< top_k, random_k: k
  int levels = 0;         ///< qsgd: s
  int level_bits = 0;     ///< qsgd: bits of a level, the sign bit excluded
  double inverse_tau = 1.0;  ///< qsgd: the rescaling 1 / tau
  std::uint64_t seed = 0;
  int words = 0;            ///< 64-bit words per encoded row
  std::int64_t bytes = 0;   ///< payload bytes per row (what a real wire format carries)
  double delta = 1.0;       ///< contraction (see the file comment; sign: its lower bound 1/d)

  /// Encodes row `v` (d values at stride vs) of global agent `agent` at iteration `k` into
  /// `words` words at `w` (stride ws, as doubles holding the words' bits) and writes the decoded
  /// row q = C(v) at `q` (stride qs). Sequential over the row: one thread per row.
  KOKKOS_INLINE_FUNCTION void encode(std::int64_t agent, std::int64_t k, const double* v, std::int64_t vs, double* w,
                                     std::int64_t ws, double* q, std::int64_t qs) const;
  /// q = C(v) from the words of `encode` (the same bits as encode's q).
  KOKKOS_INLINE_FUNCTION void decode(std::int64_t agent, std::int64_t k, const double* w, std::int64_t ws, double* q,
                                     std::int64_t qs) const;

 private:
  KOKKOS_INLINE_FUNCTION static void put(double* w, std::int64_t ws, std::int64_t i, std::uint64_t u) {
    w[i * ws] = Kokkos::bit_cast<double>(u);
  }
  KOKKOS_INLINE_FUNCTION static std::uint64_t get(const double* w, std::int64_t ws, std::int64_t i) {
    return Kokkos::bit_cast<std::uint64_t>(w[i * ws]);
  }
  KOKKOS_INLINE_FUNCTION static std::uint64_t magnitude_key(double x) {
    return Kokkos::bit_cast<std::uint64_t>(x) & 0x7fffffffffffffffULL;  // monotone in |x| for non-NaN
  }
  KOKKOS_INLINE_FUNCTION std::int64_t random_start(std::int64_t agent, std::int64_t k) const {
    RandomStream s = agent_stream(seed, stream_purpose::compression, static_cast<std::uint64_t>(agent),
                                  static_cast<std::uint64_t>(k));
    return s.uniform_int(0, dimension - 1);
  }
  KOKKOS_INLINE_FUNCTION static std::uint16_t to_bf16(double x) {
    const std::uint32_t u = Kokkos::bit_cast<std::uint32_t>(static_cast<float>(x));
    if ((u & 0x7fffffffU) > 0x7f800000U) return static_cast<std::uint16_t>((u >> 16) | 0x40U);  // NaN stays NaN
    return static_cast<std::uint16_t>((u + 0x7fffU + ((u >> 16) & 1U)) >> 16);
  }
  KOKKOS_INLINE_FUNCTION static double from_bf16(std::uint64_t h) {
    return static_cast<double>(Kokkos::bit_cast<float>(static_cast<std::uint32_t>(h << 16)));
  }
};

/// The operator of `options` for rows of `dimension` values. InputError for a ratio outside
/// (0, 1] or levels outside [1, 2^20].
Compressor make_compressor(const CompressionOptions& options, int dimension, std::uint64_t seed);

/// One line for reports, e.g. "top_k (k = 8 of 784, 96 bytes per row instead of 6272)".
std::string describe(const Compressor& c);

// ---- implementation -----------------------------------------------------------------------------

KOKKOS_INLINE_FUNCTION void Compressor::encode(std::int64_t agent, std::int64_t k, const double* v, std::int64_t vs,
                                               double* w, std::int64_t ws, double* q, std::int64_t qs) const {
  const std::int64_t d = dimension;
  switch (kind) {
    case CompressionKind::none:
      for (std::int64_t c = 0; c < d; ++c) {
        w[c * ws] = v[c * vs];
        q[c * qs] = v[c * vs];
      }
      return;
    case CompressionKind::fp32:
      for (std::int64_t i = 0; i < words; ++i) {
        std::uint64_t u = 0;
        for (std::int64_t h = 0; h < 2 && 2 * i + h < d; ++h) {
          const float f = static_cast<float>(v[(2 * i + h) * vs]);
          u |= static_cast<std::uint64_t>(Kokkos::bit_cast<std::uint32_t>(f)) << (32 * h);
          q[(2 * i + h) * qs] = static_cast<double>(f);
        }
        put(w, ws, i, u);
      }
      return;
    case CompressionKind::bf16:
      for (std::int64_t i = 0; i < words; ++i) {
        std::uint64_t u = 0;
        for (std::int64_t h = 0; h < 4 && 4 * i + h < d; ++h) {
          const std::uint16_t b = to_bf16(v[(4 * i + h) * vs]);
          u |= static_cast<std::uint64_t>(b) << (16 * h);
          q[(4 * i + h) * qs] = from_bf16(b);
        }
        put(w, ws, i, u);
      }
      return;
    case CompressionKind::top_k: {
      // The k-th largest key by an 8-bit radix select from the top byte, then the keys above it
      // and the first `ties` equal to it in ascending index (deterministic tie-break).
      std::uint64_t prefix = 0, mask = 0;
      std::int64_t need = kept;
      for (int shift = 56; shift >= 0; shift -= 8) {
        int histogram[256] = {};
        for (std::int64_t c = 0; c < d; ++c) {
          const std::uint64_t key = magnitude_key(v[c * vs]);
          if ((key & mask) == prefix) ++histogram[(key >> shift) & 0xff];
        }
        int b = 255;
        for (; b > 0; --b) {
          if (histogram[b] >= need) break;
          need -= histogram[b];
        }
        prefix |= static_cast<std::uint64_t>(b) << shift;
        mask |= std::uint64_t{0xff} << shift;
      }
      std::int64_t t = 0, ties = need;
      std::uint64_t pair = 0;
      for (std::int64_t c = 0; c < d; ++c) {
        const std::uint64_t key = magnitude_key(v[c * vs]);
        const bool take = t < kept && (key > prefix || (key == prefix && ties > 0));
        if (take) {
          if (key == prefix) --ties;
          w[t * ws] = v[c * vs];
          pair |= static_cast<std::uint64_t>(c) << (32 * (t & 1));
          if (t & 1) {
            put(w, ws, kept + t / 2, pair);
            pair = 0;
          }
          ++t;
        }
        q[c * qs] = take ? v[c * vs] : 0.0;
      }
      if (t & 1) put(w, ws, kept + t / 2, pair);
      return;
    }
    case CompressionKind::random_k: {
      const std::int64_t start = random_start(agent, k);
      for (std::int64_t c = 0; c < d; ++c) q[c * qs] = 0.0;
      for (std::int64_t t = 0; t < kept; ++t) {
        const std::int64_t c = (start + t) % d;
        w[t * ws] = v[c * vs];
        q[c * qs] = v[c * vs];
      }
      return;
    }
    case CompressionKind::qsgd: {
      double sum = 0.0;
      for (std::int64_t c = 0; c < d; ++c) sum += v[c * vs] * v[c * vs];
      const double norm = Kokkos::sqrt(sum);
      put(w, ws, 0, Kokkos::bit_cast<std::uint64_t>(norm));
      const double unit = norm / levels * inverse_tau;
      RandomStream rng = agent_stream(seed, stream_purpose::compression, static_cast<std::uint64_t>(agent),
                                      static_cast<std::uint64_t>(k));
      const int width = 1 + level_bits;
      std::uint64_t word = 0;
      int used = 0;
      std::int64_t i = 1;
      for (std::int64_t c = 0; c < d; ++c) {
        const double x = v[c * vs];
        const double u = rng.uniform();  // one draw per coordinate, also when norm == 0
        std::uint64_t level = 0;
        if (norm > 0.0) {
          const double r = Kokkos::fabs(x) / norm * levels;
          const double l = Kokkos::floor(r);
          level = static_cast<std::uint64_t>(l) + (u < r - l ? 1 : 0);
          if (level > static_cast<std::uint64_t>(levels)) level = static_cast<std::uint64_t>(levels);
        }
        const std::uint64_t negative = (level != 0 && x < 0.0) ? 1 : 0;
        const std::uint64_t field = negative | (level << 1);
        q[c * qs] = negative ? -(static_cast<double>(level) * unit) : static_cast<double>(level) * unit;
        word |= field << used;
        if (used + width >= 64) {
          put(w, ws, i++, word);
          const int spill = used + width - 64;  // bits of `field` that did not fit
          word = spill > 0 ? field >> (width - spill) : 0;
          used = spill;
        } else {
          used += width;
        }
      }
      if (used > 0) put(w, ws, i, word);
      return;
    }
    case CompressionKind::sign: {
      double sum = 0.0;
      for (std::int64_t c = 0; c < d; ++c) sum += Kokkos::fabs(v[c * vs]);
      const double scale = sum / static_cast<double>(d);
      put(w, ws, 0, Kokkos::bit_cast<std::uint64_t>(scale));
      std::uint64_t word = 0;
      for (std::int64_t c = 0; c < d; ++c) {
        const bool negative = v[c * vs] < 0.0;
        word |= static_cast<std::uint64_t>(negative) << (c & 63);
        q[c * qs] = negative ? -scale : scale;
        if ((c & 63) == 63 || c == d - 1) {
          put(w, ws, 1 + c / 64, word);
          word = 0;
        }
      }
      return;
    }
  }
}

KOKKOS_INLINE_FUNCTION void Compressor::decode(std::int64_t agent, std::int64_t k, const double* w, std::int64_t ws,
                                               double* q, std::int64_t qs) const {
  const std::int64_t d = dimension;
  switch (kind) {
    case CompressionKind::none:
      for (std::int64_t c = 0; c < d; ++c) q[c * qs] = w[c * ws];
      return;
    case CompressionKind::fp32:
      for (std::int64_t c = 0; c < d; ++c) {
        const std::uint64_t u = get(w, ws, c / 2);
        q[c * qs] = static_cast<double>(Kokkos::bit_cast<float>(static_cast<std::uint32_t>(u >> (32 * (c & 1)))));
      }
      return;
    case CompressionKind::bf16:
      for (std::int64_t c = 0; c < d; ++c) q[c * qs] = from_bf16((get(w, ws, c / 4) >> (16 * (c & 3))) & 0xffffU);
      return;
    case CompressionKind::top_k:
      for (std::int64_t c = 0; c < d; ++c) q[c * qs] = 0.0;
      for (std::int64_t t = 0; t < kept; ++t) {
        const std::uint64_t c = (get(w, ws, kept + t / 2) >> (32 * (t & 1))) & 0xffffffffU;
        if (c < static_cast<std::uint64_t>(d)) q[static_cast<std::int64_t>(c) * qs] = w[t * ws];
      }
      return;
    case CompressionKind::random_k: {
      const std::int64_t start = random_start(agent, k);
      for (std::int64_t c = 0; c < d; ++c) q[c * qs] = 0.0;
      for (std::int64_t t = 0; t < kept; ++t) q[((start + t) % d) * qs] = w[t * ws];
      return;
    }
    case CompressionKind::qsgd: {
      const double norm = Kokkos::bit_cast<double>(get(w, ws, 0));
      const double unit = norm / levels * inverse_tau;
      const int width = 1 + level_bits;
      const std::uint64_t field_mask = (std::uint64_t{1} << width) - 1;
      std::int64_t bit = 0;
      for (std::int64_t c = 0; c < d; ++c, bit += width) {
        const std::int64_t i = 1 + bit / 64;
        const int offset = static_cast<int>(bit % 64);
        std::uint64_t field = get(w, ws, i) >> offset;
        if (offset + width > 64) field |= get(w, ws, i + 1) << (64 - offset);
        field &= field_mask;
        const std::uint64_t level = field >> 1;
        q[c * qs] = (field & 1) ? -(static_cast<double>(level) * unit) : static_cast<double>(level) * unit;
      }
      return;
    }
    case CompressionKind::sign: {
      const double scale = Kokkos::bit_cast<double>(get(w, ws, 0));
      for (std::int64_t c = 0; c < d; ++c) q[c * qs] = ((get(w, ws, 1 + c / 64) >> (c & 63)) & 1) ? -scale : scale;
      return;
    }
  }
}

}  // namespace concord::mixing
