#include "concord/algorithms/metrics.hpp"

#include "concord/core/error.hpp"

#include <Kokkos_Profiling_ScopedRegion.hpp>
#include <stdexcept>
#include <string>

namespace concord::algorithms {

Metrics::Metrics(problems::Problem& problem, mixing::ReproducibleSum& reducer)
    : problem_(problem), reducer_(reducer), solution_(problem.solution()) {
  const int d = problem.dimension();
  if (reducer.width() < problem.evaluation_columns().width())
    throw UsageError("concord::algorithms::Metrics: the ReproducibleSum must be dimension + 3 wide");
  mean_ = CoordinateVector(Kokkos::view_alloc(std::string("concord::Metrics::mean")), d);
  totals_ = CoordinateVector(Kokkos::view_alloc(std::string("concord::Metrics::totals")), problem.evaluation_columns().width());
  host_totals_ = Kokkos::create_mirror_view(totals_);
  host_mean_ = Kokkos::create_mirror_view(mean_);
  rows_ = AgentMatrix(Kokkos::view_alloc(std::string("concord::Metrics::rows")), problem.layout().local_count(),
                      problem.evaluation_columns().width());
}

MetricValues Metrics::compute(const ExecutionSpace& exec, std::int64_t iteration, const AgentMatrix& x) {
  // Kokkos Tools region around the whole evaluation (a no-op without a tool).
  static const std::string region_name = "concord::Metrics::compute";
  Kokkos::Profiling::ScopedRegion region(region_name);
  using Policy = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>;
  const int d = problem_.dimension();
  const double n = problem_.layout().agents();
  MetricValues v;
  v.iteration = iteration;
  reducer_.average(exec, x, mean_);

  // Consensus: per-agent squared distance to the mean in column 0, summed reproducibly.
  auto mean = mean_;
  auto rows = rows_;
  Kokkos::parallel_for(
      "concord::Metrics::consensus", Policy(exec, 0, static_cast<std::int64_t>(x.extent(0))),
      KOKKOS_LAMBDA(std::int64_t a) {
        double s = 0.0;
        for (int c = 0; c < d; ++c) {
          const double e = x(a, c) - mean(c);
          s += e * e;
        }
        rows(a, 0) = s;
      });
  auto first = Kokkos::subview(rows_, Kokkos::ALL, std::pair<int, int>(0, 1));
  reducer_.sum(exec, AgentMatrix(first), totals_);
  auto host = host_totals_;
  Kokkos::deep_copy(exec, host, totals_);
  exec.fence("concord::Metrics::compute");
  v.consensus_error = host(0) / n;

  problem_.evaluate(exec, mean_, rows_, problems::Split::train);
  reducer_.sum(exec, rows_, totals_);
  Kokkos::deep_copy(exec, host, totals_);
  exec.fence("concord::Metrics::compute");
  double g2 = 0.0;
  for (int c = 0; c < d; ++c) g2 += (host(c) / n) * (host(c) / n);
  v.grad_norm_sq = g2;
  const problems::EvaluationColumns col = problem_.evaluation_columns();
  v.loss = host(col.loss()) / n;
  if (problem_.classification()) v.accuracy = host(col.correct()) / host(col.samples());

  if (problem_.has_test_set()) {
    problem_.evaluate(exec, mean_, rows_, problems::Split::test);
    reducer_.sum(exec, rows_, totals_);
    Kokkos::deep_copy(exec, host, totals_);
    exec.fence("concord::Metrics::compute");
    v.test_loss = host(col.loss()) / n;
    if (problem_.classification()) v.test_accuracy = host(col.correct()) / host(col.samples());
  }
  if (solution_) {
    auto xbar = host_mean_;
    Kokkos::deep_copy(exec, xbar, mean_);
    exec.fence("concord::Metrics::compute");
    double s = 0.0;
    for (int c = 0; c < d; ++c) {
      const double e = xbar(c) - (*solution_)[static_cast<std::size_t>(c)];
      s += e * e;
    }
    v.distance_to_solution = std::sqrt(s);
  }
  return v;
}

}  // namespace concord::algorithms
