// The Algorithm base class: state allocation, phase timing, the default description.
#include "concord/algorithms/algorithm.hpp"

#include <fmt/format.h>

#include <Kokkos_Profiling_ScopedRegion.hpp>

#include "concord/core/error.hpp"

namespace concord::algorithms {

const parameters::Words<Variant>& variants() {
  static const parameters::Words<Variant> words{"variant", {{"atc", Variant::atc}, {"cta", Variant::cta}}};
  return words;
}

Algorithm::Algorithm(std::string name, const AlgorithmOptions& options, Environment env)
    : name_(std::move(name)),
      options_(options),
      problem_(env.problem),
      mixer_(env.mixer),
      reducer_(env.reducer),
      agents_(env.problem.layout().local_count()),
      dimension_(env.problem.dimension()) {
  if (mixer_.dimension() != dimension_)
    throw UsageError(fmt::format("concord::algorithms: the mixer's dimension {} differs from the problem's {}",
                                            mixer_.dimension(), dimension_));
  if (reducer_.width() < dimension_)
    throw UsageError("concord::algorithms: the ReproducibleSum is narrower than the problem dimension");
  x_ = allocate("x");
  step_region_ = "concord::" + name_ + "::step";
  check_stragglers(options_, mixer_.layout().ranks());
  for (int r : options_.straggler_ranks) straggler_ = straggler_ || r == mixer_.layout().rank();
}

void check_stragglers(const AlgorithmOptions& options, int ranks) {
  for (int r : options.straggler_ranks)
    if (r < 0 || r >= ranks)
      throw InputError(fmt::format("concord/parallel/straggler_ranks: rank {} does not exist (this run has {} rank{}, "
                                   "ids 0 to {})",
                                   r, ranks, ranks == 1 ? "" : "s", ranks - 1));
  if (!(options.straggler_slowdown >= 1.0))
    throw InputError(fmt::format("concord/parallel/straggler_slowdown: must be >= 1, not {}", options.straggler_slowdown));
}

void Algorithm::step(const ExecutionSpace& exec, std::int64_t k) {
  Kokkos::Profiling::ScopedRegion region(step_region_);
  if (!straggler_) {
    advance(exec, k);
    return;
  }
  // A straggler: the step, then a spin for (slowdown - 1) x its time (counted as computation).
  exec.fence("concord::Algorithm::straggler");
  Kokkos::Timer timer;
  advance(exec, k);
  exec.fence("concord::Algorithm::straggler");
  const double busy = timer.seconds();
  const double until = busy * options_.straggler_slowdown;
  while (timer.seconds() < until) {
  }
  times_.compute += timer.seconds() - busy;
}

AgentMatrix Algorithm::allocate(const std::string& what) const {
  return AgentMatrix(Kokkos::view_alloc(std::string("concord::") + name_ + "::" + what), agents_, dimension_);
}

double Algorithm::gossip_bytes(std::int64_t k, double values_per_agent) const {
  // W(k)'s weights on its pattern (a reweighted topology's pattern is the union of every W(k)):
  // a message for every nonzero off-diagonal weight, i.e. every (receiver, sender) pair.
  const topology::Topology& t = mixer_.topology();
  const topology::WeightMatrix& pattern = t.round(k);
  const auto values = t.weights(k, round_values_, round_scratch_);
  std::int64_t sent = 0;
  for (int i = 0; i < pattern.size(); ++i) {
    const auto cols = pattern.row_cols(i);
    const auto first = static_cast<std::size_t>(pattern.row_offsets()[static_cast<std::size_t>(i)]);
    for (std::size_t e = 0; e < cols.size(); ++e) sent += cols[e] != i && values[first + e] != 0.0;
  }
  return 8.0 * values_per_agent * static_cast<double>(sent) / static_cast<double>(pattern.size());
}

double Algorithm::allreduce_bytes(double values_per_agent) const {
  const double n = mixer_.layout().agents();
  return 2.0 * 8.0 * values_per_agent * (n - 1.0) / n;
}

double Algorithm::bytes_through(std::int64_t k) const {
  if (k < bytes_k_) {
    bytes_k_ = 0;
    bytes_sum_ = 0.0;
  }
  for (; bytes_k_ < k; ++bytes_k_) bytes_sum_ += bytes_sent(bytes_k_);
  return bytes_sum_;
}

std::string Algorithm::describe() const { return name_ + ", step size " + options_.schedule.describe(); }

void Algorithm::begin(const ExecutionSpace& exec) {
  if (!options_.time_phases) return;
  exec.fence("concord::Algorithm::timing");
  timer_.reset();
}

void Algorithm::end(const ExecutionSpace& exec, double& bucket) {
  if (!options_.time_phases) return;
  exec.fence("concord::Algorithm::timing");
  bucket += timer_.seconds();
  timer_.reset();
}

}  // namespace concord::algorithms
