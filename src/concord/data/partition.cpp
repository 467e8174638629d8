#include "concord/data/partition.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>

#include "concord/core/error.hpp"
#include "concord/core/format.hpp"
#include "concord/core/random.hpp"

namespace concord::data {
namespace {

using Lists = std::vector<std::vector<std::int64_t>>;

// Second keys of the partition streams (part of reproducibility: keep the values).
constexpr std::uint64_t key_iid = 1;
constexpr std::uint64_t key_label_sorted = 2;
constexpr std::uint64_t key_dirichlet_shuffle = 3;
constexpr std::uint64_t key_dirichlet_shares = 4;

/// Fisher-Yates shuffle driven by `rng`.
void shuffle(std::vector<std::int64_t>& v, RandomStream& rng) {
  for (std::int64_t i = static_cast<std::int64_t>(v.size()) - 1; i > 0; --i) {
    const std::int64_t j = rng.uniform_int(0, i);
    std::swap(v[static_cast<std::size_t>(i)], v[static_cast<std::size_t>(j)]);
  }
}

/// log of a Gamma(shape, 1) draw: Marsaglia-Tsang for shape >= 1, and for shape < 1 the boost
/// Gamma(shape) = Gamma(shape + 1) * U^(1/shape), kept in log space so tiny shapes do not underflow.
double log_gamma_draw(double shape, RandomStream& rng) {
  if (shape < 1.0) {
    const double u = 1.0 - rng.uniform();  // (0, 1]
    return log_gamma_draw(shape + 1.0, rng) + std::log(u) / shape;
  }
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    const double x = rng.normal();
    double v = 1.0 + c * x;
    if (v <= 0.0) continue;
    v = v * v * v;
    const double u = 1.0 - rng.uniform();  // (0, 1]
    const double x2 = x * x;
    if (u < 1.0 - 0.0331 * x2 * x2) return std::log(d * v);
    if (std::log(u) < 0.5 * x2 + d * (1.0 - v + std::log(v))) return std::log(d * v);
  }
}

/// Contiguous equal shares of `order`: the first m mod n agents get one more.
Lists equal_shares(const std::vector<std::int64_t>& order, int agents) {
  Lists out(static_cast<std::size_t>(agents));
  const auto m = static_cast<std::int64_t>(order.size());
  const std::int64_t base = m / agents, extra = m % agents;
  std::int64_t pos = 0;
  for (int a = 0; a < agents; ++a) {
    const std::int64_t size = base + (a < extra ? 1 : 0);
    out[static_cast<std::size_t>(a)].assign(order.begin() + pos, order.begin() + pos + size);
    pos += size;
  }
  return out;
}

std::vector<std::int64_t> identity(std::int64_t m) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(m));
  std::iota(v.begin(), v.end(), std::int64_t{0});
  return v;
}

void require_labels(const SampleSet& set, PartitionKind kind) {
  if (set.classes <= 0)
    throw InputError(fmt::format("partition '{}' needs class labels, but data set '{}' is regression data; allowed for "
                                 "regression: iid (or an /owner column)",
                                 to_string(kind), set.name));
  if (set.labels.size() != static_cast<std::size_t>(set.samples))
    throw InputError(fmt::format("data set '{}': {} labels for {} samples (expected one label per sample)", set.name,
                                 set.labels.size(), set.samples));
  for (std::size_t s = 0; s < set.labels.size(); ++s)
    if (set.labels[s] < 0 || set.labels[s] >= set.classes)
      throw InputError(fmt::format("data set '{}': sample {} has label {}, outside the allowed classes 0..{}", set.name, s,
                                   set.labels[s], set.classes - 1));
}

Lists by_owner(const SampleSet& set, int agents) {
  if (set.owner.size() != static_cast<std::size_t>(set.samples))
    throw InputError(fmt::format("data set '{}': {} owners for {} samples (expected one agent per sample)", set.name,
                                 set.owner.size(), set.samples));
  Lists out(static_cast<std::size_t>(agents));
  for (std::size_t s = 0; s < set.owner.size(); ++s) {
    const int a = set.owner[s];
    if (a < 0 || a >= agents)
      throw InputError(fmt::format("data set '{}': sample {} has owner {}, but there are {} agents (allowed: 0..{})",
                                   set.name, s, a, agents, agents - 1));
    out[static_cast<std::size_t>(a)].push_back(static_cast<std::int64_t>(s));
  }
  for (int a = 0; a < agents; ++a)
    if (out[static_cast<std::size_t>(a)].empty())
      throw InputError(fmt::format("data set '{}': agent {} owns no sample in the owner column; every agent of the {} "
                                   "needs at least one sample",
                                   set.name, a, agents));
  return out;
}

Lists dirichlet(const SampleSet& set, int agents, double alpha, std::uint64_t seed) {
  const auto n = static_cast<std::size_t>(agents);
  std::vector<std::vector<std::int64_t>> of_class(static_cast<std::size_t>(set.classes));
  for (std::size_t s = 0; s < set.labels.size(); ++s)
    of_class[static_cast<std::size_t>(set.labels[s])].push_back(static_cast<std::int64_t>(s));

  Lists out(n);
  std::vector<double> logw(n);
  for (std::size_t c = 0; c < of_class.size(); ++c) {
    auto& members = of_class[c];
    if (members.empty()) continue;
    RandomStream order_rng(seed, stream_purpose::partition, key_dirichlet_shuffle, c);
    shuffle(members, order_rng);

    // Proportions ~ Dirichlet(alpha, ..., alpha): normalised Gamma(alpha) draws (in log space).
    RandomStream share_rng(seed, stream_purpose::partition, key_dirichlet_shares, c);
    for (auto& l : logw) l = log_gamma_draw(alpha, share_rng);
    const double top = *std::max_element(logw.begin(), logw.end());
    double total = 0;
    for (auto& l : logw) total += (l = std::exp(l - top));  // the largest weight is 1: total >= 1

    // Cut the shuffled members at the rounded cumulative proportions.
    const auto count = static_cast<std::int64_t>(members.size());
    double cumulative = 0;
    std::int64_t begin = 0;
    for (std::size_t a = 0; a < n; ++a) {
      cumulative += logw[a];
      std::int64_t end = a + 1 == n ? count : std::llround(cumulative / total * static_cast<double>(count));
      end = std::clamp(end, begin, count);
      out[a].insert(out[a].end(), members.begin() + begin, members.begin() + end);
      begin = end;
    }
  }
  for (auto& l : out) std::sort(l.begin(), l.end());

  // Every agent gets at least one sample: an empty agent takes the largest sample index of the
  // largest agent (lowest agent number on ties). samples >= agents, so that agent has >= 2.
  for (std::size_t a = 0; a < n; ++a) {
    if (!out[a].empty()) continue;
    std::size_t donor = 0;
    for (std::size_t b = 1; b < n; ++b)
      if (out[b].size() > out[donor].size()) donor = b;
    out[a].push_back(out[donor].back());
    out[donor].pop_back();
  }
  return out;
}

}  // namespace

const parameters::Words<PartitionKind>& partition_kinds() {
  static const parameters::Words<PartitionKind> words{
      "partition",
      {{"iid", PartitionKind::iid}, {"label_sorted", PartitionKind::label_sorted}, {"dirichlet", PartitionKind::dirichlet}}};
  return words;
}

PartitionKind parse_partition_kind(const std::string& name) { return partition_kinds().parse(name); }

std::string to_string(PartitionKind kind) { return partition_kinds().name(kind); }

std::vector<std::vector<std::int64_t>> partition(const SampleSet& set, int agents, const PartitionSpec& spec,
                                                 std::uint64_t seed) {
  if (agents < 1) throw InputError(fmt::format("partition of data set '{}': {} agents; at least 1 is needed", set.name, agents));
  if (set.samples < agents)
    throw InputError(fmt::format("data set '{}' has {} samples but there are {} agents; every agent needs at least one "
                                 "sample (use at most {} agents or more data)",
                                 set.name, set.samples, agents, set.samples));
  if (!set.owner.empty()) return by_owner(set, agents);

  switch (spec.kind) {
    case PartitionKind::iid: {
      auto order = identity(set.samples);
      RandomStream rng(seed, stream_purpose::partition, key_iid);
      shuffle(order, rng);
      auto out = equal_shares(order, agents);
      for (auto& l : out) std::sort(l.begin(), l.end());
      return out;
    }
    case PartitionKind::label_sorted: {
      require_labels(set, spec.kind);
      auto order = identity(set.samples);
      RandomStream rng(seed, stream_purpose::partition, key_label_sorted);
      shuffle(order, rng);  // ties in the label order are shuffled
      std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
        return set.labels[static_cast<std::size_t>(a)] < set.labels[static_cast<std::size_t>(b)];
      });
      auto out = equal_shares(order, agents);
      for (auto& l : out) std::sort(l.begin(), l.end());
      return out;
    }
    case PartitionKind::dirichlet: {
      require_labels(set, spec.kind);
      if (!(spec.alpha > 0.0) || !std::isfinite(spec.alpha))
        throw InputError(fmt::format("partition 'dirichlet': alpha = {}; allowed: a finite number > 0 (small alpha: strong "
                                     "label skew)",
                                     shortest(spec.alpha)));
      return dirichlet(set, agents, spec.alpha, seed);
    }
  }
  throw InputError("unknown partition kind; allowed: iid, label_sorted, dirichlet");
}

}  // namespace concord::data
