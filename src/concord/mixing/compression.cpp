#include "concord/mixing/compression.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "concord/core/error.hpp"

namespace concord::mixing {

const parameters::Words<CompressionKind>& compression_kinds() {
  static const parameters::Words<CompressionKind> words{"compression",
                                                        {{"none", CompressionKind::none},
                                                         {"top_k", CompressionKind::top_k},
                                                         {"random_k", CompressionKind::random_k},
                                                         {"qsgd", CompressionKind::qsgd},
                                                         {"sign", CompressionKind::sign},
                                                         {"fp32", CompressionKind::fp32},
                                                         {"bf16", CompressionKind::bf16}}};
  return words;
}

std::vector<parameters::Bound<CompressionOptions>> compression_parameters(const std::string& condition_path) {
  using namespace parameters;
  const std::string name = condition_path + "/name";
  return {
      bind(&CompressionOptions::kind, compression_kinds(),
           word("name", nullptr, {},
                "what travels: none (the doubles), top_k / random_k (k = ratio * d coordinates), qsgd (s-level "
                "stochastic quantisation), sign (scaled signs), fp32 / bf16 (low-precision casts); docs/algorithms.md")),
      bind(&CompressionOptions::ratio,
           with(real("ratio", "top_k, random_k: the fraction of the d coordinates kept, k = max(1, round(ratio d))", 0.0,
                     true, 1.0),
                when_in(name, {"top_k", "random_k"}))),
      bind(&CompressionOptions::levels,
           with(integer("levels", "qsgd: s, the levels of |v_c| / ||v||_2 (1 + ceil(log2(s + 1)) bits per coordinate)",
                        1, 1 << 20),
                when_in(name, {"qsgd"}))),
  };
}

Compressor make_compressor(const CompressionOptions& options, int dimension, std::uint64_t seed) {
  if (dimension < 1) throw InputError(fmt::format("compression: dimension must be >= 1 (got {})", dimension));
  Compressor c;
  c.kind = options.kind;
  c.dimension = dimension;
  c.seed = seed;
  const std::int64_t d = dimension;
  switch (options.kind) {
    case CompressionKind::none:
      c.words = dimension;
      c.bytes = 8 * d;
      break;
    case CompressionKind::fp32:
      c.words = static_cast<int>((d + 1) / 2);
      c.bytes = 4 * d;
      c.delta = 1.0 - std::ldexp(1.0, -48);
      break;
    case CompressionKind::bf16:
      c.words = static_cast<int>((d + 3) / 4);
      c.bytes = 2 * d;
      c.delta = 1.0 - std::ldexp(1.0, -16);
      break;
    case CompressionKind::top_k:
    case CompressionKind::random_k: {
      if (!(options.ratio > 0.0 && options.ratio <= 1.0))
        throw InputError(fmt::format("compression {}: ratio must be in (0, 1] (got {})",
                                     compression_kinds().name(options.kind), options.ratio));
      c.kept = static_cast<int>(std::clamp<double>(std::round(options.ratio * d), 1.0, static_cast<double>(d)));
      const bool top = options.kind == CompressionKind::top_k;
      c.words = top ? c.kept + (c.kept + 1) / 2 : c.kept;
      c.bytes = (top ? 12 : 8) * static_cast<std::int64_t>(c.kept);
      c.delta = static_cast<double>(c.kept) / static_cast<double>(d);
      break;
    }
    case CompressionKind::qsgd: {
      if (options.levels < 1 || options.levels > (1 << 20))
        throw InputError(fmt::format("compression qsgd: levels must be in [1, 1048576] (got {})", options.levels));
      c.levels = options.levels;
      while ((std::int64_t{1} << c.level_bits) < std::int64_t{options.levels} + 1) ++c.level_bits;
      const std::int64_t bits = d * (1 + c.level_bits);
      c.words = static_cast<int>(1 + (bits + 63) / 64);
      c.bytes = 8 + (bits + 7) / 8;
      const double s = options.levels;
      const double tau = 1.0 + std::min(static_cast<double>(d) / (s * s), std::sqrt(static_cast<double>(d)) / s);
      c.inverse_tau = 1.0 / tau;
      c.delta = 1.0 / tau;
      break;
    }
    case CompressionKind::sign:
      c.words = static_cast<int>(1 + (d + 63) / 64);
      c.bytes = 8 + (d + 7) / 8;
      c.delta = 1.0 / static_cast<double>(d);
      break;
  }
  return c;
}

std::string describe(const Compressor& c) {
  std::string what;  // the operator's own parameters, if any
  if (c.kind == CompressionKind::top_k || c.kind == CompressionKind::random_k)
    what = fmt::format("k = {} of {}, ", c.kept, c.dimension);
  else if (c.kind == CompressionKind::qsgd)
    what = fmt::format("s = {}, 1/tau = {:.4g}, ", c.levels, c.inverse_tau);
  return fmt::format("{} ({}{} bytes per row instead of {})", compression_kinds().name(c.kind), what, c.bytes,
                     8 * std::int64_t{c.dimension});
}

}  // namespace concord::mixing
