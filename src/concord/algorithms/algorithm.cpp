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
}

void Algorithm::step(const ExecutionSpace& exec, std::int64_t k) {
  Kokkos::Profiling::ScopedRegion region(step_region_);
  advance(exec, k);
}

AgentMatrix Algorithm::allocate(const std::string& what) const {
  return AgentMatrix(Kokkos::view_alloc(std::string("concord::") + name_ + "::" + what), agents_, dimension_);
}

double Algorithm::gossip_bytes(std::int64_t k, double values_per_agent) const {
  const topology::Topology& t = mixer_.topology();
  // A reweighted topology's round(k) is the union pattern: count W(k)'s own entries (a host copy;
  // bytes are counted when records are written, not in the iteration loop).
  const topology::WeightMatrix drawn = t.schedule() == topology::Schedule::reweighted ? t.matrix(k) : topology::WeightMatrix();
  const topology::WeightMatrix& w = t.schedule() == topology::Schedule::reweighted ? drawn : t.round(k);
  std::int64_t sent = 0;  // off-diagonal entries: (receiver, sender) pairs
  for (int i = 0; i < w.size(); ++i) sent += w.degree(i);
  return 8.0 * values_per_agent * static_cast<double>(sent) / static_cast<double>(w.size());
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
