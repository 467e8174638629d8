#include "concord/problems/agent_data.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "concord/core/error.hpp"
#include "concord/core/random.hpp"
#include "concord/core/rows.hpp"
#include "concord/problems/problem.hpp"

namespace concord::problems {

AgentData::AgentData(const data::SampleSet& set, const std::vector<std::vector<std::int64_t>>& samples_of,
                     const AgentLayout& layout, const std::string& label)
    : local_agents(layout.local_count()),
      first_agent(layout.local_first()),
      features(set.features),
      classes(set.classes) {
  if (static_cast<int>(samples_of.size()) != layout.agents())
    throw UsageError(fmt::format("concord::problems::AgentData: {} sample lists for {} agents",
                                            samples_of.size(), layout.agents()));
  host_offsets.assign(static_cast<std::size_t>(local_agents) + 1, 0);
  for (int a = 0; a < local_agents; ++a) {
    const auto& rows = samples_of[static_cast<std::size_t>(first_agent + a)];
    if (rows.empty())
      throw InputError(fmt::format("data '{}': agent {} holds no sample (every agent needs at least one)", set.name,
                                   first_agent + a));
    host_offsets[static_cast<std::size_t>(a) + 1] = host_offsets[static_cast<std::size_t>(a)] +
                                                    static_cast<std::int64_t>(rows.size());
  }
  samples = host_offsets.back();

  const std::string prefix = "concord::AgentData::" + label + "::";
  x = decltype(x)(Kokkos::view_alloc(Kokkos::WithoutInitializing, prefix + "features"), samples, features);
  offsets = IndexVector(Kokkos::view_alloc(Kokkos::WithoutInitializing, prefix + "offsets"), local_agents + 1);
  auto hx = Kokkos::create_mirror_view(Kokkos::WithoutInitializing, x);
  auto ho = Kokkos::create_mirror_view(Kokkos::WithoutInitializing, offsets);
  const bool regression = set.task() == data::Task::regression;
  Kokkos::View<double*, HostSpace> ht;
  Kokkos::View<int*, HostSpace> hl;
  if (regression) {
    targets = decltype(targets)(Kokkos::view_alloc(Kokkos::WithoutInitializing, prefix + "targets"), samples);
    ht = Kokkos::create_mirror_view(Kokkos::WithoutInitializing, targets);
  } else {
    labels = decltype(labels)(Kokkos::view_alloc(Kokkos::WithoutInitializing, prefix + "labels"), samples);
    hl = Kokkos::create_mirror_view(Kokkos::WithoutInitializing, labels);
  }
  std::int64_t s = 0;
  for (int a = 0; a < local_agents; ++a) {
    ho(a) = host_offsets[static_cast<std::size_t>(a)];
    for (std::int64_t row : samples_of[static_cast<std::size_t>(first_agent + a)]) {
      if (row < 0 || row >= set.samples)
        throw UsageError(fmt::format("concord::problems::AgentData: sample {} out of range", row));
      const double* src = set.row(row);
      for (int j = 0; j < features; ++j) hx(s, j) = src[j];
      if (regression) ht(s) = set.targets[static_cast<std::size_t>(row)];
      else hl(s) = set.labels[static_cast<std::size_t>(row)];
      ++s;
    }
  }
  ho(local_agents) = samples;
  Kokkos::deep_copy(x, hx);
  Kokkos::deep_copy(offsets, ho);
  if (regression) Kokkos::deep_copy(targets, ht);
  else Kokkos::deep_copy(labels, hl);
}

BatchSampler::BatchSampler(const AgentData& data, int batch, std::uint64_t seed)
    : batch_(batch), seed_(seed), first_agent_(data.first_agent), data_offsets_(data.offsets) {
  if (batch < 0) throw InputError(fmt::format("batch_size must be >= 0 (0 = full local gradient), got {}", batch));
  in_place_ = batch == 0;
  const int agents = data.local_agents;
  const std::int64_t slots = batch == 0 ? data.samples : static_cast<std::int64_t>(agents) * batch;
  slot_offsets_ = IndexVector(Kokkos::view_alloc(std::string("concord::BatchSampler::slot_offsets")), agents + 1);
  slot_sample_ = IndexVector(Kokkos::view_alloc(std::string("concord::BatchSampler::slot_sample")), slots);
  slot_agent_ = Kokkos::View<int*, MemorySpace>(Kokkos::view_alloc(std::string("concord::BatchSampler::slot_agent")), slots);
  auto so = Kokkos::create_mirror_view(slot_offsets_);
  auto ss = Kokkos::create_mirror_view(slot_sample_);
  auto sa = Kokkos::create_mirror_view(slot_agent_);
  for (int a = 0; a <= agents; ++a)
    so(a) = batch == 0 ? data.host_offsets[static_cast<std::size_t>(a)] : static_cast<std::int64_t>(a) * batch;
  for (int a = 0; a < agents; ++a) widest_agent_ = std::max(widest_agent_, so(a + 1) - so(a));
  for (int a = 0; a < agents; ++a)
    for (std::int64_t slot = so(a); slot < so(a + 1); ++slot) {
      sa(slot) = a;
      ss(slot) = batch == 0 ? slot : data.host_offsets[static_cast<std::size_t>(a)];
    }
  Kokkos::deep_copy(slot_offsets_, so);
  Kokkos::deep_copy(slot_sample_, ss);
  Kokkos::deep_copy(slot_agent_, sa);
}

BatchSampler BatchSampler::subset(const AgentData& data, std::int64_t per_agent, std::uint64_t seed) {
  if (per_agent < 0) throw InputError(fmt::format("evaluation_samples must be >= 0 (0 = all samples), got {}", per_agent));
  BatchSampler s(data, 0, seed);
  if (per_agent == 0) return s;
  const int agents = data.local_agents;
  std::vector<std::int64_t> offsets{0}, chosen;
  for (int a = 0; a < agents; ++a) {
    const std::int64_t lo = data.host_offsets[static_cast<std::size_t>(a)], m = data.samples_of(a);
    if (m <= per_agent) {
      for (std::int64_t i = 0; i < m; ++i) chosen.push_back(lo + i);
    } else {
      // Partial Fisher-Yates over the agent's sample indices: the first per_agent of a uniform permutation.
      std::vector<std::int64_t> order(static_cast<std::size_t>(m));
      for (std::int64_t i = 0; i < m; ++i) order[static_cast<std::size_t>(i)] = i;
      RandomStream rng(seed, stream_purpose::evaluation, static_cast<std::uint64_t>(data.first_agent + a), 0);
      for (std::int64_t i = 0; i < per_agent; ++i)
        std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(rng.uniform_int(i, m - 1))]);
      std::sort(order.begin(), order.begin() + per_agent);
      for (std::int64_t i = 0; i < per_agent; ++i) chosen.push_back(lo + order[static_cast<std::size_t>(i)]);
    }
    offsets.push_back(static_cast<std::int64_t>(chosen.size()));
  }
  s.in_place_ = static_cast<std::int64_t>(chosen.size()) == data.samples;
  const std::int64_t slots = static_cast<std::int64_t>(chosen.size());
  s.slot_offsets_ = IndexVector(Kokkos::view_alloc(std::string("concord::BatchSampler::slot_offsets")), agents + 1);
  s.slot_sample_ = IndexVector(Kokkos::view_alloc(std::string("concord::BatchSampler::slot_sample")), slots);
  s.slot_agent_ = Kokkos::View<int*, MemorySpace>(Kokkos::view_alloc(std::string("concord::BatchSampler::slot_agent")), slots);
  auto so = Kokkos::create_mirror_view(s.slot_offsets_);
  auto ss = Kokkos::create_mirror_view(s.slot_sample_);
  auto sa = Kokkos::create_mirror_view(s.slot_agent_);
  for (int a = 0; a <= agents; ++a) so(a) = offsets[static_cast<std::size_t>(a)];
  s.widest_agent_ = 0;
  for (int a = 0; a < agents; ++a) s.widest_agent_ = std::max(s.widest_agent_, so(a + 1) - so(a));
  for (int a = 0; a < agents; ++a)
    for (std::int64_t slot = so(a); slot < so(a + 1); ++slot) {
      sa(slot) = a;
      ss(slot) = chosen[static_cast<std::size_t>(slot)];
    }
  Kokkos::deep_copy(s.slot_offsets_, so);
  Kokkos::deep_copy(s.slot_sample_, ss);
  Kokkos::deep_copy(s.slot_agent_, sa);
  return s;
}

void BatchSampler::draw(const ExecutionSpace& exec, std::int64_t iteration) {
  if (batch_ == 0) return;
  auto offsets = data_offsets_;
  auto sample = slot_sample_;
  const int batch = batch_;
  const std::uint64_t seed = seed_;
  const int first = first_agent_;
  Kokkos::parallel_for(
      "concord::BatchSampler::draw", Kokkos::RangePolicy<ExecutionSpace>(exec, 0, static_cast<int>(offsets.extent(0)) - 1),
      KOKKOS_LAMBDA(int a) {
        auto rng = agent_stream(seed, stream_purpose::sampling, static_cast<std::uint64_t>(first + a),
                                static_cast<std::uint64_t>(iteration));
        const std::int64_t lo = offsets(a), hi = offsets(a + 1) - 1;
        for (int b = 0; b < batch; ++b) sample(static_cast<std::int64_t>(a) * batch + b) = rng.uniform_int(lo, hi);
      });
}

void Problem::initial_point(const ExecutionSpace& exec, const AgentMatrix& x) const {
  Kokkos::deep_copy(exec, x, 0.0);
}

void Problem::check_gradient_step(const AgentMatrix& x, const AgentMatrix& work, const AgentMatrix& out,
                                  const char* who) {
  if (work.extent(0) != x.extent(0) || work.extent(1) != x.extent(1) || out.extent(0) != x.extent(0) ||
      out.extent(1) != x.extent(1))
    throw UsageError(fmt::format("{}::gradient_step: x, work and out must have the same extents", who));
  if (out.data() == x.data() || work.data() == x.data() || work.data() == out.data())
    throw UsageError(fmt::format("{}::gradient_step: x, work and out must be three distinct matrices", who));
}

void Problem::gradient_step(const ExecutionSpace& exec, const AgentMatrix& x, double gamma, const AgentMatrix& work,
                            const AgentMatrix& out, std::int64_t iteration) {
  check_gradient_step(x, work, out, "concord::problems::Problem");
  gradient(exec, x, work, iteration);
  row_entries(exec, "concord::Problem::gradient_step", out,
              KOKKOS_LAMBDA(std::int64_t a, std::int64_t c) { out(a, c) = x(a, c) - gamma * work(a, c); });
}

}  // namespace concord::problems
