// x*, the exact minimiser of least squares (LinearModel::compute_solution), on every rank count:
//  - against an independent host computation: the minimum-norm least-squares solution A~^+ b~ of
//    the stacked, weighted data (rows of agent i scaled by 1/sqrt(n m_i)), from a one-sided
//    Jacobi SVD written here; for under-determined data (fewer samples than unknowns), for
//    rank-deficient over-determined data (repeated columns), with unequal shares, with a bias
//    and with l2 (then the system is nonsingular);
//  - the numerical rank it reports and the problem description that says x* is the minimum-norm
//    solution;
//  - determinism: x* is bit-identical to that of one process holding every agent, whatever the
//    number of ranks and however the per-agent Gram entries are cut into reduction chunks;
//  - gradient tracking from x0 = 0 converges to that minimum-norm x* (its iterates stay in the
//    row space of A), with trajectories bit-identical to one process holding every agent.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "algorithm_support.hpp"
#include "concord/comm/transport.hpp"
#include "concord/data/partition.hpp"
#include "concord/problems/linear_model.hpp"
#include "concord/problems/synthetic.hpp"

using namespace concord_test;
using concord::AgentLayout;
namespace cp = concord::problems;

namespace {

struct Data {
  concord::data::SampleSet set;
  std::vector<std::vector<std::int64_t>> samples_of;  // per global agent
};

/// Synthetic least squares of every agent (generated for the one-process layout, identical on
/// every rank), optionally with feature `copy_to` overwritten by feature `copy_from`.
Data synthetic(int agents, int per_agent, int dimension, std::uint64_t seed, int copy_from = -1, int copy_to = -1) {
  cp::LeastSquaresSpec spec{per_agent, dimension, 1.0, 0.1};
  auto assigned = cp::synthetic_least_squares(spec, AgentLayout(agents, 1, 0), seed);
  Data d{std::move(assigned.set), std::move(assigned.samples_of)};
  if (copy_from >= 0)
    for (std::int64_t s = 0; s < d.set.samples; ++s)
      d.set.x[static_cast<std::size_t>(s * dimension + copy_to)] = d.set.x[static_cast<std::size_t>(s * dimension + copy_from)];
  return d;
}

/// The same samples dealt out iid in unequal shares (samples not a multiple of agents).
Data reshuffled(Data d, int agents, std::uint64_t seed) {
  d.samples_of = concord::data::partition(d.set, agents, concord::data::PartitionSpec{}, seed);
  return d;
}

struct Solved {
  std::vector<double> x;
  int rank = 0;
  std::string description;
};

Solved solve(const Data& data, int agents, MPI_Comm comm, bool bias, double l2, std::int64_t entries_in_flight = 0) {
  const AgentLayout layout = AgentLayout::over(agents, comm);
  auto transport = concord::comm::make_transport(comm);
  cp::LinearModelOptions options;
  options.bias = bias;
  options.l2 = l2;
  cp::LinearModel model(layout, cp::AgentData(data.set, data.samples_of, layout, "train"), std::nullopt, options,
                        "least_squares");
  model.compute_solution(concord::ExecutionSpace(), transport, entries_in_flight);
  return Solved{*model.solution(), model.solution_rank(), model.describe()};
}

/// Independent reference: the minimum-norm minimiser of (1/2) ||M x - r||^2 + (l2/2) ||w||^2 with
/// M the stacked rows a_s / sqrt(n m_i) (plus a column of ones with a bias) and r = b_s / sqrt(n m_i),
/// from a one-sided (Hestenes) Jacobi SVD of [M; sqrt(l2) I_F 0]: x = sum_j v_j (w_j . r) / sigma_j^2
/// over sigma_j > 1e-10 sigma_max, where M V = W = [w_j] with orthogonal columns.
struct Reference {
  std::vector<double> x;
  int rank = 0;
};

Reference reference(const Data& data, int agents, bool bias, double l2) {
  const int F = data.set.features, D = F + (bias ? 1 : 0);
  std::vector<std::vector<double>> rows;  // rows of the augmented matrix
  std::vector<double> rhs;
  for (int a = 0; a < agents; ++a) {
    const auto& mine = data.samples_of[static_cast<std::size_t>(a)];
    const double scale = 1.0 / std::sqrt(static_cast<double>(agents) * static_cast<double>(mine.size()));
    for (std::int64_t s : mine) {
      std::vector<double> row(static_cast<std::size_t>(D), scale);
      for (int j = 0; j < F; ++j) row[static_cast<std::size_t>(j)] = scale * data.set.x[static_cast<std::size_t>(s * F + j)];
      rows.push_back(row);
      rhs.push_back(scale * data.set.targets[static_cast<std::size_t>(s)]);
    }
  }
  if (l2 > 0)
    for (int j = 0; j < F; ++j) {
      std::vector<double> row(static_cast<std::size_t>(D), 0.0);
      row[static_cast<std::size_t>(j)] = std::sqrt(l2);
      rows.push_back(row);
      rhs.push_back(0.0);
    }
  const std::size_t N = rows.size();
  // Columns of W (initially M) and V (initially I), stored column by column.
  std::vector<std::vector<double>> W(static_cast<std::size_t>(D), std::vector<double>(N)), V(static_cast<std::size_t>(D), std::vector<double>(static_cast<std::size_t>(D), 0.0));
  for (int j = 0; j < D; ++j) {
    for (std::size_t s = 0; s < N; ++s) W[static_cast<std::size_t>(j)][s] = rows[s][static_cast<std::size_t>(j)];
    V[static_cast<std::size_t>(j)][static_cast<std::size_t>(j)] = 1.0;
  }
  auto dot = [](const std::vector<double>& u, const std::vector<double>& v) {
    double s = 0.0;
    for (std::size_t i = 0; i < u.size(); ++i) s += u[i] * v[i];
    return s;
  };
  for (int sweep = 0; sweep < 60; ++sweep) {
    bool rotated = false;
    for (int p = 0; p < D; ++p)
      for (int q = p + 1; q < D; ++q) {
        auto& wp = W[static_cast<std::size_t>(p)];
        auto& wq = W[static_cast<std::size_t>(q)];
        const double alpha = dot(wp, wp), beta = dot(wq, wq), gamma = dot(wp, wq);
        if (std::abs(gamma) <= 1e-15 * std::sqrt(alpha * beta) || gamma == 0.0) continue;
        rotated = true;
        const double zeta = (beta - alpha) / (2.0 * gamma);
        const double t = (zeta >= 0 ? 1.0 : -1.0) / (std::abs(zeta) + std::sqrt(1.0 + zeta * zeta));
        const double c = 1.0 / std::sqrt(1.0 + t * t), s = c * t;
        for (std::size_t i = 0; i < N; ++i) {
          const double u = wp[i], v = wq[i];
          wp[i] = c * u - s * v;
          wq[i] = s * u + c * v;
        }
        auto& vp = V[static_cast<std::size_t>(p)];
        auto& vq = V[static_cast<std::size_t>(q)];
        for (int i = 0; i < D; ++i) {
          const double u = vp[static_cast<std::size_t>(i)], v = vq[static_cast<std::size_t>(i)];
          vp[static_cast<std::size_t>(i)] = c * u - s * v;
          vq[static_cast<std::size_t>(i)] = s * u + c * v;
        }
      }
    if (!rotated) break;
  }
  std::vector<double> sigma2(static_cast<std::size_t>(D));
  for (int j = 0; j < D; ++j) sigma2[static_cast<std::size_t>(j)] = dot(W[static_cast<std::size_t>(j)], W[static_cast<std::size_t>(j)]);
  const double top = *std::max_element(sigma2.begin(), sigma2.end());
  Reference out;
  out.x.assign(static_cast<std::size_t>(D), 0.0);
  for (int j = 0; j < D; ++j) {
    if (!(sigma2[static_cast<std::size_t>(j)] > 1e-20 * top)) continue;  // sigma_j <= 1e-10 sigma_max
    ++out.rank;
    const double coefficient = dot(W[static_cast<std::size_t>(j)], rhs) / sigma2[static_cast<std::size_t>(j)];
    for (int i = 0; i < D; ++i) out.x[static_cast<std::size_t>(i)] += coefficient * V[static_cast<std::size_t>(j)][static_cast<std::size_t>(i)];
  }
  return out;
}

double max_abs_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

double norm(const std::vector<double>& a) {
  double s = 0.0;
  for (double v : a) s += v * v;
  return std::sqrt(s);
}

struct Case {
  std::string label;
  Data data;
  int agents;
  bool bias;
  double l2;
  int expected_rank;
};

std::vector<Case> cases() {
  std::vector<Case> c;
  // 4 agents x 5 samples in dimension 40: rank 20.
  c.push_back({"under-determined 4 x 5, d 40", synthetic(4, 5, 40, 11), 4, false, 0.0, 20});
  // Unequal shares (23 samples over 6 agents: 4, 4, 4, 4, 4, 3), with a bias: rank 23 of 50. An odd
  // number of features puts every other agent's rows at a different alignment, and differently
  // on each rank count.
  c.push_back({"under-determined, unequal shares, bias", reshuffled(synthetic(1, 23, 49, 12), 6, 5), 6, true, 0.0, 23});
  // Over-determined but rank-deficient: feature 3 repeats feature 1 (rank 9 of 10).
  c.push_back({"over-determined, repeated column", synthetic(6, 20, 10, 13, 1, 3), 6, false, 0.0, 9});
  // l2 > 0 makes the under-determined system nonsingular.
  c.push_back({"under-determined with l2", synthetic(4, 5, 40, 11), 4, false, 0.05, 40});
  // Full rank, several panels of the Gram matrix (d = 259: panels of 128, 128 and 3 columns).
  c.push_back({"full rank, d 259", synthetic(6, 50, 259, 14), 6, false, 0.0, 259});
  // Under-determined with several panels: rank 180 of 259.
  c.push_back({"under-determined, d 259", synthetic(6, 30, 259, 15), 6, false, 0.0, 180});
  return c;
}

}  // namespace

TEST(LeastSquaresSolution, IsTheMinimumNormMinimiserOfAnIndependentSvd) {
  for (const Case& c : cases()) {
    const Solved got = solve(c.data, c.agents, MPI_COMM_WORLD, c.bias, c.l2);
    const Reference want = reference(c.data, c.agents, c.bias, c.l2);
    ASSERT_EQ(got.x.size(), want.x.size()) << c.label;
    EXPECT_EQ(want.rank, c.expected_rank) << c.label << ": the reference's rank";
    EXPECT_EQ(got.rank, c.expected_rank) << c.label;
    const double error = max_abs_difference(got.x, want.x);
    EXPECT_LT(error, 1e-10 * std::max(1.0, norm(want.x))) << c.label << ": |x* - A^+ b|_max = " << error;
    const bool minimum_norm = got.description.find("x* is the minimum-norm minimiser") != std::string::npos;
    EXPECT_EQ(minimum_norm, c.expected_rank < static_cast<int>(want.x.size())) << c.label << ": " << got.description;
    if (minimum_norm)
      EXPECT_NE(got.description.find("rank " + std::to_string(c.expected_rank) + " of " + std::to_string(want.x.size())),
                std::string::npos)
          << got.description;
  }
}

TEST(LeastSquaresSolution, IsBitIdenticalForAnyNumberOfRanksAndReductionChunks) {
  for (const Case& c : cases()) {
    const Solved here = solve(c.data, c.agents, MPI_COMM_WORLD, c.bias, c.l2);
    const Solved alone = solve(c.data, c.agents, MPI_COMM_SELF, c.bias, c.l2);
    EXPECT_TRUE(bit_identical(here.x, alone.x)) << c.label;
    // One panel (128 columns of the Gram matrix) per reduction instead of one chunk.
    const Solved chunked = solve(c.data, c.agents, MPI_COMM_WORLD, c.bias, c.l2, 1);
    EXPECT_TRUE(bit_identical(here.x, chunked.x)) << c.label;
    std::uint64_t hash = 0;
    for (double v : here.x) hash = hash * 1000003u ^ bits_of(v);
    EXPECT_TRUE(same_on_all_ranks(hash)) << c.label;
  }
}

TEST(LeastSquaresSolution, GradientTrackingFromZeroReachesTheMinimumNormSolution) {
  RunSpec spec;
  spec.agents = 6;
  spec.topology = "ring";
  spec.data = {2, 40, 1.0, 0.1};  // 12 samples, 40 unknowns
  spec.algorithm = algorithm_options("gradient_tracking", 0.02);
  LeastSquaresRun run(spec);
  EXPECT_EQ(run.problem->solution_rank(), 12);
  // The reference x* of the same data, independently.
  const Data data = synthetic(spec.agents, 2, 40, spec.seed);
  const Reference want = reference(data, spec.agents, false, 0.0);
  EXPECT_LT(max_abs_difference(*run.problem->solution(), want.x), 1e-10 * std::max(1.0, norm(want.x)));

  spec.everything_here = true;
  LeastSquaresRun alone(spec);
  const auto start = run.measure(0);
  EXPECT_NEAR(start.distance_to_solution, norm(want.x), 1e-10 * norm(want.x));  // x0 = 0
  for (int k = 0; k < 1500; k += 500) {
    run.run(k, k + 500);
    alone.run(k, k + 500);
    ASSERT_TRUE(bit_identical(run.models(), alone.models())) << "k=" << k + 500;
  }
  const auto end = run.measure(1500), end_alone = alone.measure(1500);
  EXPECT_LT(end.distance_to_solution, 1e-11);
  EXPECT_LT(end.consensus_error, 1e-24);
  EXPECT_LT(end.grad_norm_sq, 1e-24);
  EXPECT_LT(end.loss, 1e-24);  // fewer samples than unknowns: the data are interpolated
  EXPECT_EQ(bits_of(end.distance_to_solution), bits_of(end_alone.distance_to_solution));
  // And the average model itself is the reference solution.
  const std::vector<double> models = run.models();
  const std::size_t d = want.x.size();
  std::vector<double> mean(d, 0.0);
  for (std::size_t i = 0; i < models.size(); ++i) mean[i % d] += models[i] / spec.agents;
  EXPECT_LT(max_abs_difference(mean, want.x), 1e-11);
}
