#include "concord/topology/analysis.hpp"

#include <Eigen/Dense>
#include <Spectra/SymEigsSolver.h>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <span>
#include <stdexcept>

#include "concord/core/error.hpp"
#include "concord/core/random.hpp"
#include "concord/topology/graph.hpp"

namespace concord::topology {
namespace {

using DenseMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// In place: rows of `p` (row-major n x n) <- W * p, using the sparse rows of W.
void left_multiply(const WeightMatrix& w, std::vector<double>& p, std::vector<double>& scratch) {
  const auto n = static_cast<std::size_t>(w.size());
  scratch.assign(n * n, 0.0);
  for (int i = 0; i < w.size(); ++i) {
    double* out = scratch.data() + static_cast<std::size_t>(i) * n;
    auto cols = w.row_cols(i);
    auto vals = w.row_weights(i);
    for (std::size_t k = 0; k < cols.size(); ++k) {
      const double* in = p.data() + static_cast<std::size_t>(cols[k]) * n;
      for (std::size_t c = 0; c < n; ++c) out[c] += vals[k] * in[c];
    }
  }
  p.swap(scratch);
}

/// ||A||_2 of a dense square A (symmetric: max |eigenvalue|; otherwise sqrt(max eig(A^T A))).
double dense_norm2(const DenseMatrix& a, bool symmetric) {
  if (symmetric) {
    Eigen::SelfAdjointEigenSolver<DenseMatrix> es(a, Eigen::EigenvaluesOnly);
    return es.eigenvalues().cwiseAbs().maxCoeff();
  }
  DenseMatrix ata = a.transpose() * a;
  Eigen::SelfAdjointEigenSolver<DenseMatrix> es(ata, Eigen::EigenvaluesOnly);
  return std::sqrt(std::max(0.0, es.eigenvalues().maxCoeff()));
}

DenseMatrix minus_average(std::vector<double> p, int n) {
  DenseMatrix a = Eigen::Map<DenseMatrix>(p.data(), n, n);
  a.array() -= 1.0 / n;
  return a;
}

/// The operator x -> (W(p-1)...W(0) - J) x and its transpose, on vectors of length n.
struct PeriodOperator {
  const std::vector<WeightMatrix>* rounds;
  mutable std::vector<double> tmp;

  void apply(const double* x, double* y, bool transpose) const {
    const int n = rounds->front().size();
    std::vector<double> cur(x, x + n);
    tmp.resize(static_cast<std::size_t>(n));
    const double mean = std::accumulate(cur.begin(), cur.end(), 0.0) / n;
    const std::size_t p = rounds->size();
    for (std::size_t r = 0; r < p; ++r) {
      const auto& w = (*rounds)[transpose ? p - 1 - r : r];
      if (transpose) w.apply_transpose(cur, tmp);
      else w.apply(cur, tmp);
      cur.swap(tmp);
    }
    for (int i = 0; i < n; ++i) y[i] = cur[i] - mean;
  }
};

/// Spectra operator for A^T A (or A for symmetric A).
struct NormalOperator {
  using Scalar = double;
  PeriodOperator op;
  bool symmetric;
  int n;
  mutable std::vector<double> mid;
  int rows() const { return n; }
  void perform_op(const double* x, double* y) const {
    if (symmetric) return op.apply(x, y, false);
    mid.resize(static_cast<std::size_t>(n));
    op.apply(x, mid.data(), false);
    op.apply(mid.data(), y, true);
  }
};

double lanczos_norm2(const std::vector<WeightMatrix>& rounds, bool symmetric, const AnalysisOptions& opt) {
  const int n = rounds.front().size();
  NormalOperator A{PeriodOperator{&rounds, {}}, symmetric, n, {}};
  // Probe first: an (almost) zero operator defeats Lanczos' relative convergence test.
  double probe = 0.0;
  {
    RandomStream rng(12345, 99);
    std::vector<double> x(n), y(n);
    for (int t = 0; t < 3; ++t) {
      for (auto& v : x) v = rng.uniform() - 0.5;
      A.op.apply(x.data(), y.data(), false);
      double nx = 0, ny = 0;
      for (int i = 0; i < n; ++i) nx += x[i] * x[i], ny += y[i] * y[i];
      probe = std::max(probe, std::sqrt(ny / nx));
    }
  }
  if (probe <= opt.finite_time_tolerance) return probe;
  const int ncv = std::min(n, 40);
  const Spectra::SortRule rule = symmetric ? Spectra::SortRule::LargestMagn : Spectra::SortRule::LargestAlge;
  Spectra::SymEigsSolver<NormalOperator> eigs(A, 1, ncv);
  eigs.init();
  eigs.compute(rule, 5000, opt.lanczos_tolerance, rule);
  if (eigs.info() != Spectra::CompInfo::Successful) return std::nan("");
  const double lambda = eigs.eigenvalues()[0];
  return symmetric ? std::abs(lambda) : std::sqrt(std::max(0.0, lambda));
}

constexpr unsigned kRows = 1u, kColumns = 2u;

unsigned stochastic_bits(Stochasticity s) {
  switch (s) {
    case Stochasticity::doubly: return kRows | kColumns;
    case Stochasticity::row: return kRows;
    case Stochasticity::column: return kColumns;
    case Stochasticity::none: return 0u;
  }
  return 0u;
}

Stochasticity from_bits(unsigned bits) {
  if (bits == (kRows | kColumns)) return Stochasticity::doubly;
  if (bits == kRows) return Stochasticity::row;
  if (bits == kColumns) return Stochasticity::column;
  return Stochasticity::none;
}

/// "doubly-stochastic", "row-stochastic", ... for messages.
std::string stochastic_words(Stochasticity s) {
  return s == Stochasticity::none ? "neither row- nor column-stochastic" : std::string(to_string(s)) + "-stochastic";
}

}  // namespace

std::string_view to_string(Stochasticity s) {
  switch (s) {
    case Stochasticity::doubly: return "doubly";
    case Stochasticity::row: return "row";
    case Stochasticity::column: return "column";
    case Stochasticity::none: return "none";
  }
  return "none";
}

Stochasticity stochasticity(const WeightMatrix& w, double tolerance) {
  const int n = w.size();
  if (n == 0 || w.min_weight() < 0.0) return Stochasticity::none;
  std::vector<double> colsum(static_cast<std::size_t>(n), 0.0);
  double row_error = 0.0, column_error = 0.0;
  for (int i = 0; i < n; ++i) {
    double rowsum = 0.0;
    auto cols = w.row_cols(i);
    auto vals = w.row_weights(i);
    for (std::size_t k = 0; k < cols.size(); ++k) {
      rowsum += vals[k];
      colsum[static_cast<std::size_t>(cols[k])] += vals[k];
    }
    row_error = std::max(row_error, std::abs(rowsum - 1.0));
  }
  for (double c : colsum) column_error = std::max(column_error, std::abs(c - 1.0));
  return from_bits((row_error <= tolerance ? kRows : 0u) | (column_error <= tolerance ? kColumns : 0u));
}

Stochasticity stochasticity(const Topology& t, double tolerance) {
  if (t.rounds().empty()) return Stochasticity::none;
  unsigned bits = kRows | kColumns;
  for (const auto& w : t.rounds()) bits &= stochastic_bits(stochasticity(w, tolerance));
  return from_bits(bits);
}

bool satisfies(Stochasticity have, Stochasticity needed) {
  const unsigned need = stochastic_bits(needed);
  return (stochastic_bits(have) & need) == need;
}

void require_stochasticity(const Topology& t, Stochasticity needed, std::string_view algorithm) {
  const Stochasticity have = stochasticity(t);
  if (satisfies(have, needed)) return;
  std::string msg = "algorithm '" + std::string(algorithm) + "' needs " + stochastic_words(needed) +
                    " weights, but topology '" + t.name() + "' is " + stochastic_words(have) +
                    (have == Stochasticity::none ? "" : " only");
  if (have == Stochasticity::none)
    msg += " (its weights must be >= 0 with every row or every column summing to 1 within 1e-12)";
  else if (needed == Stochasticity::doubly && have == Stochasticity::column)
    msg += "; on directed graphs use push_sum_sgd or push_pull";
  else if (needed == Stochasticity::doubly)
    msg += "; use a doubly-stochastic topology (concord topology --list)";
  throw InputError(msg);
}

double smallest_eigenvalue(const WeightMatrix& w, const AnalysisOptions& opt) {
  if (!w.is_symmetric()) throw std::logic_error("concord::topology::smallest_eigenvalue: W is not symmetric");
  const int n = w.size();
  if (n <= opt.dense_limit) {
    DenseMatrix a = DenseMatrix::Zero(n, n);
    for (int i = 0; i < n; ++i) {
      auto cols = w.row_cols(i);
      auto vals = w.row_weights(i);
      for (std::size_t k = 0; k < cols.size(); ++k) a(i, cols[k]) += vals[k];
    }
    return Eigen::SelfAdjointEigenSolver<DenseMatrix>(a, Eigen::EigenvaluesOnly).eigenvalues().minCoeff();
  }
  // I - W is symmetric with eigenvalues 1 - lambda(W) in [0, 2]: its largest one converges fast.
  struct IdentityMinusW {
    using Scalar = double;
    const WeightMatrix* w;
    int n;
    int rows() const { return n; }
    int cols() const { return n; }
    void perform_op(const double* x, double* y) const {
      w->apply(std::span<const double>(x, static_cast<std::size_t>(n)), std::span<double>(y, static_cast<std::size_t>(n)));
      for (int i = 0; i < n; ++i) y[i] = x[i] - y[i];
    }
  };
  IdentityMinusW op{&w, n};
  Spectra::SymEigsSolver<IdentityMinusW> eigs(op, 1, std::min(n, 40));
  eigs.init();
  eigs.compute(Spectra::SortRule::LargestAlge, 5000, opt.lanczos_tolerance, Spectra::SortRule::LargestAlge);
  if (eigs.info() != Spectra::CompInfo::Successful) return std::nan("");
  return 1.0 - eigs.eigenvalues()[0];
}

std::vector<double> period_product(const Topology& t) {
  const auto n = static_cast<std::size_t>(t.agents());
  std::vector<double> p(n * n, 0.0), scratch;
  for (std::size_t i = 0; i < n; ++i) p[i * n + i] = 1.0;
  for (const auto& w : t.rounds()) left_multiply(w, p, scratch);
  return p;
}

double consensus_rate(const WeightMatrix& w, const AnalysisOptions& opt) {
  const int n = w.size();
  const bool symmetric = w.is_symmetric();
  if (n <= opt.dense_limit) {
    DenseMatrix a = DenseMatrix::Constant(n, n, -1.0 / n);
    for (int i = 0; i < n; ++i) {
      auto cols = w.row_cols(i);
      auto vals = w.row_weights(i);
      for (std::size_t k = 0; k < cols.size(); ++k) a(i, cols[k]) += vals[k];
    }
    return dense_norm2(a, symmetric);
  }
  return lanczos_norm2(std::vector<WeightMatrix>{w}, symmetric, opt);
}

double period_rate(const Topology& t, const AnalysisOptions& opt) {
  if (t.is_static()) return consensus_rate(t.round(0), opt);
  if (t.agents() <= opt.dense_limit) return dense_norm2(minus_average(period_product(t), t.agents()), false);
  return lanczos_norm2(t.rounds(), false, opt);
}

double mean_square_rate(const Topology& t, const AnalysisOptions& opt) {
  const int n = t.agents();
  if (n > opt.dense_limit) return std::numeric_limits<double>::quiet_NaN();
  DenseMatrix g = DenseMatrix::Zero(n, n);
  auto add_gram = [&](const WeightMatrix& w, double scale) {  // g += scale W^T W, row by row of W
    for (int i = 0; i < n; ++i) {
      auto cols = w.row_cols(i);
      auto vals = w.row_weights(i);
      for (std::size_t a = 0; a < cols.size(); ++a)
        for (std::size_t b = 0; b < cols.size(); ++b) g(cols[a], cols[b]) += scale * vals[a] * vals[b];
    }
  };
  if (const WeightDraw* draw = t.weight_draw()) {
    const WeightMatrix e = draw->expected_gram();
    for (int i = 0; i < n; ++i) {
      auto cols = e.row_cols(i);
      auto vals = e.row_weights(i);
      for (std::size_t a = 0; a < cols.size(); ++a) g(i, cols[a]) += vals[a];
    }
  } else {
    for (const auto& w : t.rounds()) add_gram(w, 1.0 / t.period());
  }
  g.array() -= 1.0 / n;
  // E[W^T W] is symmetric positive semi-definite with E[W^T W] 1 = 1 (doubly-stochastic W): the
  // largest eigenvalue of E[W^T W] - J is its largest on the complement of 1, lambda_2.
  DenseMatrix sym = 0.5 * (g + g.transpose());
  Eigen::SelfAdjointEigenSolver<DenseMatrix> es(sym, Eigen::EigenvaluesOnly);
  return std::max(0.0, es.eigenvalues().maxCoeff());
}

TopologyReport analyze(const Topology& t, const AnalysisOptions& opt) {
  TopologyReport r;
  r.name = t.name();
  r.description = t.description();
  r.agents = t.agents();
  r.period = t.period();
  r.schedule = schedule_name(t.schedule());
  // A large drawn pool (equidyn: n - 1 members) is analysed member by member with Lanczos
  // (O(nnz) each) rather than a dense solve per member.
  AnalysisOptions member_opt = opt;
  if (t.schedule() == Schedule::drawn && t.period() > 32 && t.agents() > 64) member_opt.dense_limit = 0;
  r.symmetric = true;
  for (const auto& w : t.rounds()) {
    RoundReport rr;
    rr.rho = consensus_rate(w, member_opt);
    rr.max_degree = w.max_degree();
    rr.nonzeros = w.nonzeros();
    rr.stochasticity_error = w.stochasticity_error();
    rr.min_weight = w.min_weight();
    rr.symmetric = w.is_symmetric();
    r.max_degree = std::max(r.max_degree, rr.max_degree);
    r.symmetric = r.symmetric && rr.symmetric;
    r.rounds.push_back(rr);
  }
  r.stochasticity = stochasticity(t);
  r.doubly_stochastic = r.stochasticity == Stochasticity::doubly;
  r.connected = pattern_connected(t.rounds());
  const int n = t.agents();
  if (t.is_drawn() && !t.is_static()) {  // no period: the mean-square rate instead
    r.method = n <= opt.dense_limit ? "dense" : "lanczos";
    r.period_rho = r.period_deviation = std::numeric_limits<double>::quiet_NaN();
    r.finite_time = false;
    r.mean_square_rate = mean_square_rate(t, opt);
    return r;
  }
  if (n <= opt.dense_limit) {
    r.method = "dense";
    DenseMatrix a = minus_average(period_product(t), n);
    r.period_deviation = a.cwiseAbs().maxCoeff();
    r.period_rho = t.is_static() ? r.rounds.front().rho : dense_norm2(a, false);
  } else {
    r.method = "lanczos";
    r.period_rho = t.is_static() ? r.rounds.front().rho : lanczos_norm2(t.rounds(), false, opt);
    r.period_deviation = r.period_rho;  // an upper bound of the largest entry
  }
  r.finite_time = r.period_deviation <= opt.finite_time_tolerance;
  return r;
}

}  // namespace concord::topology
