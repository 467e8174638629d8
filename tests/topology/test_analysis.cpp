// The analysis itself: dense and Lanczos paths agree, period rates compose rounds in the right
// order, and the report's flags mean what they say.
#include <gtest/gtest.h>

#include <cmath>

#include "concord/topology/analysis.hpp"
#include "concord/topology/generators.hpp"
#include "concord/topology/registry.hpp"

using namespace concord::topology;

TEST(Analysis, LanczosAgreesWithDense) {
  AnalysisOptions iterative;
  iterative.dense_limit = 0;
  for (const char* name : {"ring", "exponential", "torus", "one_peer_exponential", "od_equi_dyn", "base"}) {
    for (int n : {24, 50}) {
      const auto t = make_topology(name, n, {}, 3);
      for (const auto& w : t.rounds()) EXPECT_NEAR(consensus_rate(w, iterative), consensus_rate(w), 1e-8) << name;
      EXPECT_NEAR(period_rate(t, iterative), period_rate(t), 1e-8) << name << " n=" << n;
    }
  }
  // Finite-time topologies: the iterative path recognises the zero operator.
  const auto hc = one_peer_hypercube(64);
  EXPECT_LE(period_rate(hc, iterative), 1e-12);
  EXPECT_TRUE(analyze(hc, iterative).finite_time);
}

// lambda_min(W) (D2's condition): the Metropolis ring's closed form 1/3 + 2/3 cos(2 pi floor(n/2) / n),
// densely and by Lanczos on I - W, and the two paths agree on other symmetric graphs.
TEST(Analysis, SmallestEigenvalue) {
  AnalysisOptions iterative;
  iterative.dense_limit = 0;
  const double pi = 3.14159265358979323846;
  for (int n : {9, 10, 25, 600}) {
    const auto w = make_topology("ring", n, {}, 1).round(0);
    const double exact = 1.0 / 3.0 + 2.0 / 3.0 * std::cos(2.0 * pi * (n / 2) / n);
    EXPECT_NEAR(smallest_eigenvalue(w), exact, 1e-10) << "ring n=" << n;
    EXPECT_NEAR(smallest_eigenvalue(w, iterative), exact, 1e-8) << "ring n=" << n << " (Lanczos)";
  }
  for (const char* name : {"torus", "complete", "star"}) {
    const auto w = make_topology(name, 36, {}, 1).round(0);
    EXPECT_NEAR(smallest_eigenvalue(w, iterative), smallest_eigenvalue(w), 1e-8) << name;
  }
  EXPECT_THROW(smallest_eigenvalue(make_topology("exponential", 8, {}, 1).round(0)), std::logic_error);
}

TEST(Analysis, PeriodProductOrder) {
  // W(1) W(0) != W(0) W(1) for one-peer exponential with n = 3: the product must apply round 0 first.
  const auto t = one_peer_exponential(3);
  const auto p = period_product(t);
  const auto& w0 = t.round(0);
  const auto& w1 = t.round(1);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      double expected = 0.0;
      for (int k = 0; k < 3; ++k) expected += w1(i, k) * w0(k, j);
      EXPECT_DOUBLE_EQ(p[i * 3 + j], expected);
    }
}

TEST(Analysis, ReportFlags) {
  const auto r = analyze(make_topology("exponential", 16, {}));
  EXPECT_EQ(r.period, 1);
  EXPECT_EQ(r.max_degree, 4);  // every agent receives from i + 1, 2, 4, 8
  EXPECT_TRUE(r.doubly_stochastic);
  EXPECT_FALSE(r.symmetric);
  EXPECT_TRUE(r.connected);
  EXPECT_FALSE(r.finite_time);
  EXPECT_NEAR(r.period_rho, 0.6, 1e-12);
  const auto b = analyze(make_topology("base", 12, {{"k", "2"}}));
  EXPECT_TRUE(b.finite_time);
  EXPECT_TRUE(b.symmetric);
  EXPECT_LE(b.max_degree, 2);
  EXPECT_LE(b.period_rho, 1e-12);
  const auto c = analyze(complete(5));
  EXPECT_TRUE(c.finite_time);
}
