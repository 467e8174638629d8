#pragma once
/// \file metrics.hpp
/// What a run reports, computed from every agent's model and reported identically on every rank.
///
///   consensus_error       (1/n) sum_i ||x_i - xbar||^2,  xbar = (1/n) sum_i x_i
///   loss                  f(xbar) = (1/n) sum_i f_i(xbar) over all agents' training data
///   grad_norm_sq          ||grad f(xbar)||^2
///   accuracy              correct predictions of xbar over all training samples (classifiers)
///   test_loss, test_accuracy   the same on the held-out set (when the problem has one)
///   distance_to_solution  ||xbar - x*|| when x* is known (least squares)
/// Every sum over agents goes through a ReproducibleSum: the values are bit-identical for any
/// number of ranks. Collective: every rank must call `compute`.
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "concord/core/spaces.hpp"
#include "concord/mixing/reproducible_sum.hpp"
#include "concord/problems/problem.hpp"

namespace concord::algorithms {

struct MetricValues {
  static constexpr double none = std::numeric_limits<double>::quiet_NaN();
  std::int64_t iteration = 0;
  double consensus_error = none;
  double loss = none;
  double grad_norm_sq = none;
  double accuracy = none;
  double test_loss = none;
  double test_accuracy = none;
  double distance_to_solution = none;
};

class Metrics {
 public:
  /// `reducer` must be at least dimension + 3 wide. Buffers allocated here.
  Metrics(problems::Problem& problem, mixing::ReproducibleSum& reducer);

  MetricValues compute(const ExecutionSpace& exec, std::int64_t iteration, const AgentMatrix& x);
  /// The average model of the last `compute` (device).
  const CoordinateVector& average() const { return mean_; }

 private:
  problems::Problem& problem_;
  mixing::ReproducibleSum& reducer_;
  std::optional<std::vector<double>> solution_;
  CoordinateVector mean_, totals_;
  AgentMatrix rows_;  // local agents x (d + 3)
  CoordinateVector::host_mirror_type host_totals_, host_mean_;
};

}  // namespace concord::algorithms
