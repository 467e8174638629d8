#include "concord/problems/synthetic.hpp"

#include <fmt/format.h>

#include <cmath>

#include "concord/core/error.hpp"
#include "concord/core/random.hpp"

namespace concord::problems {
namespace {

// Keys of the data streams (stream_purpose::data): fixed, part of reproducibility.
constexpr std::uint64_t key_solution = 0xffffffff00000001ULL;  // x*
constexpr std::uint64_t key_shift = 0xffffffff00000002ULL;     // u_i, per agent
constexpr std::uint64_t key_centres = 0xffffffff00000003ULL;   // class centres

void positive(const char* what, double value) {
  if (!(value > 0)) throw InputError(fmt::format("synthetic data: {} must be > 0, got {}", what, value));
}

}  // namespace

AssignedSamples synthetic_least_squares(const LeastSquaresSpec& spec, const AgentLayout& layout, std::uint64_t seed) {
  positive("samples_per_agent", spec.samples_per_agent);
  positive("dimension", spec.dimension);
  if (!(spec.heterogeneity >= 0) || !std::isfinite(spec.heterogeneity))
    throw InputError(fmt::format("synthetic data: heterogeneity must be >= 0, got {}", spec.heterogeneity));
  if (!(spec.noise >= 0) || !std::isfinite(spec.noise))
    throw InputError(fmt::format("synthetic data: noise must be >= 0, got {}", spec.noise));
  const int d = spec.dimension, m = spec.samples_per_agent;
  std::vector<double> solution(static_cast<std::size_t>(d));
  RandomStream global(seed, stream_purpose::data, key_solution);
  for (double& v : solution) v = global.normal();

  AssignedSamples out;
  auto& set = out.set;
  set.name = "synthetic least squares";
  set.features = d;
  set.samples = static_cast<std::int64_t>(layout.local_count()) * m;
  set.x.resize(static_cast<std::size_t>(set.samples) * d);
  set.targets.resize(static_cast<std::size_t>(set.samples));
  out.samples_of.resize(static_cast<std::size_t>(layout.agents()));
  std::vector<double> local_solution(static_cast<std::size_t>(d));
  std::int64_t row = 0;
  for (int a = layout.local_first(); a < layout.local_first() + layout.local_count(); ++a) {
    RandomStream shift(seed, stream_purpose::data, key_shift, static_cast<std::uint64_t>(a));
    for (int j = 0; j < d; ++j)
      local_solution[static_cast<std::size_t>(j)] = solution[static_cast<std::size_t>(j)] + spec.heterogeneity * shift.normal();
    for (int r = 0; r < m; ++r, ++row) {
      RandomStream rng = agent_stream(seed, stream_purpose::data, static_cast<std::uint64_t>(a), static_cast<std::uint64_t>(r));
      double* x = set.x.data() + row * d;
      double b = 0.0;
      for (int j = 0; j < d; ++j) {
        x[j] = rng.normal();
        b += x[j] * local_solution[static_cast<std::size_t>(j)];
      }
      set.targets[static_cast<std::size_t>(row)] = b + spec.noise * rng.normal();
      out.samples_of[static_cast<std::size_t>(a)].push_back(row);
    }
  }
  return out;
}

data::SampleSet synthetic_classification(const ClassificationSpec& spec, std::uint64_t seed) {
  positive("samples", spec.samples);
  positive("features", spec.features);
  if (spec.classes < 2) throw InputError(fmt::format("synthetic data: classes must be >= 2, got {}", spec.classes));
  positive("separation", spec.separation);
  const int F = spec.features, c = spec.classes;
  std::vector<double> centres(static_cast<std::size_t>(c) * F);
  RandomStream centre_rng(seed, stream_purpose::data, key_centres);
  const double scale = spec.separation / std::sqrt(2.0 * F);  // expected centre distance = separation
  for (double& v : centres) v = scale * centre_rng.normal();
  data::SampleSet set;
  set.name = "synthetic classification";
  set.features = F;
  set.classes = c;
  set.samples = spec.samples;
  set.x.resize(static_cast<std::size_t>(spec.samples) * F);
  set.labels.resize(static_cast<std::size_t>(spec.samples));
  for (std::int64_t s = 0; s < spec.samples; ++s) {
    RandomStream rng(seed, stream_purpose::data, static_cast<std::uint64_t>(s));
    const int y = static_cast<int>(rng.uniform_int(0, c - 1));
    set.labels[static_cast<std::size_t>(s)] = y;
    for (int j = 0; j < F; ++j)
      set.x[static_cast<std::size_t>(s) * F + j] = centres[static_cast<std::size_t>(y) * F + j] + rng.normal();
  }
  return set;
}

}  // namespace concord::problems
