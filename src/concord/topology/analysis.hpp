#pragma once
/// \file analysis.hpp
/// Spectral analysis of mixing matrices and topologies (host only).
///
/// The consensus rate is the lecture's rho = ||W - J||_2 with J = (1/n) 1 1^T (the largest
/// singular value; some codes call 1 - rho the "spectral gap"). For a time-varying topology the
/// rate of one whole period is ||W(p-1) ... W(0) - J||_2, and finite-time consensus means that
/// product equals J.
///
/// Up to `AnalysisOptions::dense_limit` agents everything is computed densely (Eigen's symmetric
/// eigensolver on (W - J) or (W - J)^T (W - J)); beyond it by Lanczos iterations (Spectra) on
/// the sparse operators, so analysing 100k agents needs O(nnz) memory.
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "concord/topology/topology.hpp"

namespace concord::topology {

/// Which sums of a non-negative W equal 1. Doubly-stochastic W (rows and columns) is what the
/// classic algorithms (dsgd, gradient_tracking, exact_diffusion, d2, gossip_pga, gossip) need;
/// column-stochastic W (each sender j splits its mass: sum_i W(i, j) = 1) is what push-sum runs on
/// over directed graphs; row-stochastic W (sum_j W(i, j) = 1) averages but drifts off the mean.
enum class Stochasticity { doubly, row, column, none };

/// "doubly", "row", "column", "none".
std::string_view to_string(Stochasticity s);
/// Non-negative weights and every row sum / column sum within `tolerance` of 1 (doubly when both,
/// none when neither or when a weight is negative).
Stochasticity stochasticity(const WeightMatrix& w, double tolerance = 1e-12);
/// The weakest over all rounds (row in one round and column in another: none).
Stochasticity stochasticity(const Topology& t, double tolerance = 1e-12);
/// Whether `have` meets `needed` (doubly meets row and column; none is met by anything).
bool satisfies(Stochasticity have, Stochasticity needed);
/// InputError unless stochasticity(t) meets `needed`, naming the algorithm, the topology, what its
/// weights are and what is needed, e.g. "algorithm 'dsgd' needs doubly-stochastic weights, but
/// topology 'directed_random' is column-stochastic only; on directed graphs use push_sum_sgd or
/// push_pull".
void require_stochasticity(const Topology& t, Stochasticity needed, std::string_view algorithm);

struct AnalysisOptions {
  int dense_limit = 512;              ///< largest n analysed densely (Lanczos beyond: see perf/RESULTS.md)
  double finite_time_tolerance = 1e-12;  ///< max |P - J| entry (or estimate) counted as exact
  double lanczos_tolerance = 1e-12;   ///< relative tolerance of iterative norms
};

struct RoundReport {
  double rho = 0.0;                 ///< ||W(r) - J||_2
  int max_degree = 0;               ///< most agents one agent receives from, self excluded
  std::size_t nonzeros = 0;         ///< stored entries, diagonal included
  double stochasticity_error = 0.0; ///< max |row or column sum - 1|
  double min_weight = 0.0;
  bool symmetric = false;           ///< W == W^T exactly
};

struct TopologyReport {
  std::string name;
  std::string description;
  int agents = 0;
  int period = 0;
  std::vector<RoundReport> rounds;
  double period_rho = 0.0;        ///< ||W(p-1)...W(0) - J||_2
  double period_deviation = 0.0;  ///< max |(W(p-1)...W(0) - J)(i, j)| (or a probe estimate when iterative)
  bool finite_time = false;       ///< period product == J within the tolerance
  int max_degree = 0;             ///< max over rounds
  bool doubly_stochastic = false; ///< every round, non-negative, sums within 1e-12
  /// The weakest over the rounds (tolerance 1e-12); doubly_stochastic == (stochasticity == doubly).
  /// When not doubly, x <- W x does not converge to the average: rho and the period rate are then
  /// distances to J, not rates of convergence to the average.
  Stochasticity stochasticity = Stochasticity::none;
  bool symmetric = false;         ///< every round
  bool connected = false;         ///< union of the rounds' patterns
  /// "periodic", "drawn" or "reweighted" (topology.hpp). For a drawn or reweighted topology the
  /// rounds are the pool members (the pattern with E[W] when reweighted), period_rho,
  /// period_deviation are NaN and finite_time false: there is no period; mean_square_rate is its rate.
  std::string schedule = "periodic";
  /// lambda_2(E[W^T W]) (see mean_square_rate); NaN for periodic topologies or n > dense_limit.
  double mean_square_rate = std::numeric_limits<double>::quiet_NaN();
  std::string method;             ///< "dense" or "lanczos"
};

/// rho = ||W - J||_2.
double consensus_rate(const WeightMatrix& w, const AnalysisOptions& opt = {});
/// ||W(p-1)...W(0) - J||_2.
double period_rate(const Topology& t, const AnalysisOptions& opt = {});
/// Dense row-major product W(p-1)...W(0) (n x n; for n up to a few thousand).
std::vector<double> period_product(const Topology& t);
/// The smallest eigenvalue of a symmetric W (e.g. D2's condition lambda_min(W) > -1/3): Eigen's
/// dense solver up to `opt.dense_limit` agents, Lanczos on I - W beyond (its largest eigenvalue
/// is 1 - lambda_min(W)), so any n is checked in O(nnz) memory. std::logic_error for a W that
/// is not symmetric; NaN if Lanczos does not converge.
double smallest_eigenvalue(const WeightMatrix& w, const AnalysisOptions& opt = {});
/// The mean-square consensus rate lambda_2(E[W^T W]) = ||E[W^T W] - J||_2 of a drawn or
/// reweighted topology (for doubly-stochastic W drawn independently every iteration,
/// E||x^{k+1} - xbar||^2 <= lambda_2(E[W^T W]) ||x^k - xbar||^2). The expectation is over the
/// uniform pool draw (the mean of W_r^T W_r over rounds(); for a periodic topology: a uniformly
/// random round, not the period's rate) or the WeightDraw's expected_gram(). Dense: NaN when
/// n > opt.dense_limit.
double mean_square_rate(const Topology& t, const AnalysisOptions& opt = {});
/// Everything above in one pass.
TopologyReport analyze(const Topology& t, const AnalysisOptions& opt = {});

}  // namespace concord::topology
