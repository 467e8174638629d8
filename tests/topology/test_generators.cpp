// Properties of the classic generators against theory: the exponential-graph theorem, finite-time
// consensus of the one-peer graphs, exact weights of small cases, and weight rules.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "concord/core/error.hpp"
#include "concord/core/random.hpp"
#include "concord/topology/analysis.hpp"
#include "concord/topology/generators.hpp"

using namespace concord::topology;

namespace {

double max_period_deviation(const Topology& t) {
  const auto p = period_product(t);
  const double inv = 1.0 / t.agents();
  double dev = 0.0;
  for (double v : p) dev = std::max(dev, std::abs(v - inv));
  return dev;
}

void expect_valid_mixing(const Topology& t) {
  for (const auto& w : t.rounds()) {
    EXPECT_LE(w.stochasticity_error(), 1e-12) << t.description();
    EXPECT_GE(w.min_weight(), 0.0) << t.description();
  }
}

}  // namespace

TEST(Exponential, RhoTheoremForEveryEvenN) {
  // Ying et al. 2021 (the lecture's theorem): rho = 1 - 2/(tau+1) for even n, tau = ceil(log2 n).
  for (int n = 2; n <= 512; n += 2) {
    const double bound = 1.0 - 2.0 / (ceil_log2(n) + 1);
    EXPECT_NEAR(consensus_rate(exponential(n).round(0)), bound, 1e-10) << "n = " << n;
  }
}

TEST(Exponential, RhoBelowBoundForOddN) {
  for (int n = 3; n <= 511; n += 2) {
    const double bound = 1.0 - 2.0 / (ceil_log2(n) + 1);
    EXPECT_LT(consensus_rate(exponential(n).round(0)), bound - 1e-9) << "n = " << n;
  }
}

TEST(Exponential, HopsInExactArithmetic) {
  // A floating log misses 243 = 3^5 for n = 244.
  EXPECT_EQ(power_hops(244, 3), (std::vector<std::int64_t>{1, 3, 9, 27, 81, 243}));
  EXPECT_EQ(power_hops(243, 3), (std::vector<std::int64_t>{1, 3, 9, 27, 81}));
  EXPECT_EQ(power_hops(1, 2), std::vector<std::int64_t>{});
  EXPECT_EQ(power_hops(1025, 2).size(), 11u);
  const auto t = exponential(244, 3);
  EXPECT_DOUBLE_EQ(t.round(0)(0, 243), 1.0 / 7.0);
  expect_valid_mixing(t);
  EXPECT_THROW(exponential(10, 1), concord::InputError);
}

TEST(OnePeerExponential, FiniteTimeExactlyForPowersOfTwo) {
  for (int n = 2; n <= 1024; n *= 2) {
    const auto t = one_peer_exponential(n);
    EXPECT_EQ(t.period(), ceil_log2(n));
    expect_valid_mixing(t);
    EXPECT_LE(max_period_deviation(t), 1e-12) << "n = " << n;
  }
}

TEST(OnePeerExponential, NotFiniteTimeOtherwise) {
  for (int n = 3; n <= 100; ++n) {
    if ((n & (n - 1)) == 0) continue;
    const auto t = one_peer_exponential(n);
    expect_valid_mixing(t);
    EXPECT_GT(max_period_deviation(t), 1e-6) << "n = " << n;
    const double rate = period_rate(t);
    EXPECT_GT(rate, 1e-6) << "n = " << n;
    EXPECT_LT(rate, 1.0) << "n = " << n;
  }
}

TEST(OnePeerExponential, RoundsAreOnePeer) {
  const auto t = one_peer_exponential(12);
  for (int k = 0; k < t.period(); ++k) {
    const auto& w = t.round(k);
    for (int i = 0; i < 12; ++i) {
      EXPECT_EQ(w.degree(i), 1);
      EXPECT_DOUBLE_EQ(w(i, (i + (1 << k)) % 12), 0.5);
    }
  }
}

TEST(OnePeerHypercube, FiniteTimeAndPairs) {
  for (int n = 1; n <= 1024; n *= 2) {
    const auto t = one_peer_hypercube(n);
    expect_valid_mixing(t);
    EXPECT_LE(max_period_deviation(t), 1e-12);
    for (int k = 0; n > 1 && k < t.period(); ++k)
      for (int i = 0; i < n; ++i) EXPECT_DOUBLE_EQ(t.round(k)(i, i ^ (1 << k)), 0.5);
  }
  EXPECT_THROW(one_peer_hypercube(12), concord::InputError);
}

TEST(Ring, SpectrumMatchesCirculantFormula) {
  // W = (I + S + S^T)/3 has eigenvalues (1 + 2 cos(2 pi k/n))/3; rho is the largest |.| for k != 0.
  for (int n : {3, 4, 5, 8, 17, 64, 100}) {
    double expected = 0.0;
    for (int k = 1; k < n; ++k)
      expected = std::max(expected, std::abs(1.0 + 2.0 * std::cos(2.0 * std::numbers::pi * k / n)) / 3.0);
    EXPECT_NEAR(consensus_rate(ring(n).round(0)), expected, 1e-12) << "n = " << n;
  }
}

TEST(Ring, SmallCases) {
  EXPECT_DOUBLE_EQ(ring(1).round(0)(0, 0), 1.0);
  const auto w2 = ring(2).round(0);
  EXPECT_DOUBLE_EQ(w2(0, 1), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(w2(0, 0), 1.0 / 3.0);
}

TEST(GridTorus, MetropolisHastingsWeightsAndDegrees) {
  const auto g = grid(3, 4).round(0);
  // Corner 0 (degree 2) next to edge agent 1 (degree 3): 1/(1 + 3).
  EXPECT_DOUBLE_EQ(g(0, 1), 0.25);
  EXPECT_DOUBLE_EQ(g(0, 4), 0.25);
  EXPECT_DOUBLE_EQ(g(0, 0), 0.5);
  EXPECT_EQ(g.max_degree(), 4);
  const auto t = torus(4, 4).round(0);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(t.degree(i), 4);
    EXPECT_DOUBLE_EQ(t(i, i), 0.2);
  }
  // 4x4 torus with uniform 1/5: circulant in both directions, rho = (1 + 2 cos(pi/2) + 2) / 5 = 3/5.
  EXPECT_NEAR(consensus_rate(torus(4, 4, WeightRule::uniform).round(0)), 0.6, 1e-12);
  EXPECT_THROW(grid(3, 4, WeightRule::uniform), concord::InputError);
}

TEST(StarComplete, Weights) {
  const auto s = star(5).round(0);
  EXPECT_DOUBLE_EQ(s(0, 0), 0.2);
  EXPECT_DOUBLE_EQ(s(1, 0), 0.2);
  EXPECT_DOUBLE_EQ(s(1, 1), 0.8);
  // Star: eigenvalues of W - J are 0 and 1 - 1/n (leaves), so rho = 1 - 1/n.
  EXPECT_NEAR(consensus_rate(s), 0.8, 1e-12);
  EXPECT_NEAR(consensus_rate(complete(7).round(0)), 0.0, 1e-14);
}

TEST(RandomGraphs, ConnectedDoublyStochasticAndSeeded) {
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    for (auto rule : {WeightRule::metropolis_hastings, WeightRule::max_degree}) {
      const auto er = erdos_renyi(30, 0.15, seed, rule);
      expect_valid_mixing(er);
      EXPECT_EQ(er.round(0).asymmetry(), 0.0);
      EXPECT_TRUE(pattern_connected(er.rounds()));
      EXPECT_LT(consensus_rate(er.round(0)), 1.0);
      const auto geo = geometric(30, 0.35, seed, rule);
      expect_valid_mixing(geo);
      EXPECT_TRUE(pattern_connected(geo.rounds()));
    }
  }
  EXPECT_EQ(erdos_renyi(30, 0.2, 3).round(0), erdos_renyi(30, 0.2, 3).round(0));
  EXPECT_NE(erdos_renyi(30, 0.2, 3).round(0), erdos_renyi(30, 0.2, 4).round(0));
  EXPECT_THROW(erdos_renyi(50, 0.001, 1, WeightRule::metropolis_hastings, 20), concord::InputError);
  EXPECT_THROW(erdos_renyi(10, 1.5, 1), concord::InputError);
}

TEST(WeightRules, DoublyStochasticOnRandomGraphs) {
  concord::RandomStream rng(2024);
  for (int trial = 0; trial < 50; ++trial) {
    const int n = static_cast<int>(rng.uniform_int(2, 40));
    Graph g(n);
    for (int i = 0; i < n; ++i)
      for (int j = i + 1; j < n; ++j)
        if (rng.uniform() < 0.3) g.add_edge(i, j);
    for (auto rule : {WeightRule::metropolis_hastings, WeightRule::max_degree}) {
      const auto w = weight_matrix(g, rule);
      EXPECT_LE(w.stochasticity_error(), 1e-12);
      EXPECT_GE(w.min_weight(), 0.0);
      EXPECT_EQ(w.asymmetry(), 0.0);
      for (int i = 0; i < n; ++i)
        for (int j : g.neighbors(i)) {
          const double expected = rule == WeightRule::metropolis_hastings
                                      ? 1.0 / (1 + std::max(g.degree(i), g.degree(j)))
                                      : 1.0 / (1 + g.max_degree());
          EXPECT_DOUBLE_EQ(w(i, j), expected);
        }
    }
  }
  EXPECT_EQ(parse_weight_rule("mh"), WeightRule::metropolis_hastings);
  EXPECT_THROW(parse_weight_rule("laplacian"), concord::InputError);
}
