/// \file test_base_graphs.cpp
/// Tests of the Base-(k+1) graphs (hyper_hypercube, simple_base, base) against the definitions and the
/// round-count table of docs/topologies.md, section "Base-(k+1) graphs".
#include "concord/topology/base_graphs.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "concord/core/error.hpp"

namespace concord::topology {

constexpr int kMaxAgents = 200;
constexpr int kMaxDegree = 5;

/// The dense n x n product W(p-1) ... W(0) of one period (row-major), computed as P <- W(r) P from the
/// identity with the sparse rounds: O(n^2 nnz-per-row) per round, no dense GEMM.
static std::vector<double> period_product(const std::vector<WeightMatrix>& rounds) {
  const int n = rounds.front().size();
  const auto un = static_cast<std::size_t>(n);
  std::vector<double> p(un * un, 0.0);
  for (std::size_t i = 0; i < un; ++i) p[i * un + i] = 1.0;
  std::vector<double> next(un * un);
  for (const WeightMatrix& w : rounds) {
    std::fill(next.begin(), next.end(), 0.0);
    for (int i = 0; i < n; ++i) {
      double* out = next.data() + static_cast<std::size_t>(i) * un;
      const auto cols = w.row_cols(i);
      const auto weights = w.row_weights(i);
      for (std::size_t e = 0; e < cols.size(); ++e) {
        const double* in = p.data() + static_cast<std::size_t>(cols[e]) * un;
        for (std::size_t c = 0; c < un; ++c) out[c] += weights[e] * in[c];
      }
    }
    std::swap(p, next);
  }
  return p;
}

/// Largest |P(i, j) - 1/n| over the period product P.
static double distance_to_average(const std::vector<WeightMatrix>& rounds) {
  const double target = 1.0 / rounds.front().size();
  double err = 0.0;
  for (double v : period_product(rounds)) err = std::max(err, std::abs(v - target));
  return err;
}

/// Checks every round of a Base-(k+1)-family topology on n agents: size n, doubly stochastic, non-negative,
/// symmetric, at most k neighbors per agent; and the period product equals J = (1/n) 1 1^T.
static void expect_finite_time_consensus(const std::vector<WeightMatrix>& rounds, int n, int k,
                                         const std::string& label) {
  ASSERT_FALSE(rounds.empty()) << label;
  for (std::size_t r = 0; r < rounds.size(); ++r) {
    const WeightMatrix& w = rounds[r];
    ASSERT_EQ(w.size(), n) << label << " round " << r;
    EXPECT_LE(w.stochasticity_error(), 1e-12) << label << " round " << r;
    EXPECT_GE(w.min_weight(), 0.0) << label << " round " << r;
    EXPECT_LE(w.asymmetry(), 1e-15) << label << " round " << r;
    int degree = 0;
    for (int i = 0; i < n; ++i) degree = std::max(degree, w.degree(i));
    EXPECT_LE(degree, k) << label << " round " << r;
  }
  EXPECT_LE(distance_to_average(rounds), 1e-12) << label;
}

static std::string label(const char* name, int n, int k) {
  return std::string(name) + "(n=" + std::to_string(n) + ", k=" + std::to_string(k) + ")";
}

/// Independent reference for hyper_hypercube_defined: the largest prime factor of n (1 for n = 1).
static int largest_prime_factor(int n) {
  int largest = 1;
  for (int f = 2; f <= n / f; ++f)
    while (n % f == 0) {
      largest = f;
      n /= f;
    }
  return std::max(largest, n);
}

/// Expects W(i, j) = 1/|g| for i, j in the same group g of `groups`, 0 otherwise.
static void expect_cliques(const WeightMatrix& w, const std::vector<std::vector<int>>& groups,
                           const std::string& what) {
  const int n = w.size();
  std::vector<int> group_of(static_cast<std::size_t>(n), -1);
  for (std::size_t g = 0; g < groups.size(); ++g)
    for (int i : groups[g]) group_of[static_cast<std::size_t>(i)] = static_cast<int>(g);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      const int g = group_of[static_cast<std::size_t>(i)];
      const double expected = g == group_of[static_cast<std::size_t>(j)]
                                  ? 1.0 / static_cast<double>(groups[static_cast<std::size_t>(g)].size())
                                  : 0.0;
      EXPECT_DOUBLE_EQ(w(i, j), expected) << what << " entry (" << i << ", " << j << ")";
    }
}

/// |SBG(n, k)| by (B): |HHC(n, k)| where HHC is defined, else 2 p_0 + 1 + [a_0 >= 2] with
/// n = a_0 b^{p_0} + (lower digits) in base b = k + 1.
static int simple_base_period(int n, int k) {
  if (hyper_hypercube_defined(n, k)) return hyper_hypercube(n, k).period();
  const int b = k + 1;
  int p0 = 0;
  int power = 1;
  while (power <= n / b) {
    power *= b;
    ++p0;
  }
  const int a0 = n / power;
  return 2 * p0 + 1 + (a0 >= 2 ? 1 : 0);
}

TEST(BaseGraphs, SimpleBaseForEverySmallN) {
  for (int k = 1; k <= kMaxDegree; ++k)
    for (int n = 1; n <= kMaxAgents; ++n) {
      const std::vector<WeightMatrix> rounds = simple_base_rounds(n, k);
      EXPECT_EQ(rounds.size(), static_cast<std::size_t>(simple_base_period(n, k))) << label("simple_base", n, k);
      expect_finite_time_consensus(rounds, n, k, label("simple_base", n, k));
    }
}

TEST(BaseGraphs, BaseForEverySmallN) {
  for (int k = 1; k <= kMaxDegree; ++k)
    for (int n = 1; n <= kMaxAgents; ++n) {
      // (C): the shorter of SBG(n) and SBG(n_rest) then HHC(n_pow); n_rest keeps the prime factors > k + 1.
      int n_rest = n;
      for (int f = 2; f <= k + 1; ++f)
        while (n_rest % f == 0) n_rest /= f;
      const int simple = simple_base_period(n, k);
      const int composed = simple_base_period(n_rest, k) + hyper_hypercube(n / n_rest, k).period();
      const std::vector<WeightMatrix> rounds = base_rounds(n, k);
      EXPECT_EQ(rounds.size(), static_cast<std::size_t>(std::min(simple, composed))) << label("base", n, k);
      expect_finite_time_consensus(rounds, n, k, label("base", n, k));
    }
}

TEST(HyperHypercube, IsFiniteTimeConsensusWhereDefinedAndThrowsElsewhere) {
  for (int k = 1; k <= kMaxDegree; ++k)
    for (int n = 1; n <= kMaxAgents; ++n) {
      const bool defined = largest_prime_factor(n) <= k + 1;
      EXPECT_EQ(hyper_hypercube_defined(n, k), defined) << label("hyper_hypercube", n, k);
      if (defined)
        expect_finite_time_consensus(hyper_hypercube_rounds(n, k), n, k, label("hyper_hypercube", n, k));
      else
        EXPECT_THROW(hyper_hypercube(n, k), InputError) << label("hyper_hypercube", n, k);
    }
}

TEST(BaseGraphs, BaseRoundCountsMatchTheReferenceTable) {
  // |BG(n, k)| for k = 1..4, from docs/topologies.md.
  const std::vector<std::pair<int, std::vector<int>>> table = {
      {2, {1, 1, 1, 1}},  {3, {3, 1, 1, 1}},  {4, {2, 2, 1, 1}},    {5, {5, 3, 3, 1}},   {6, {4, 2, 2, 2}},
      {7, {5, 4, 3, 3}},  {8, {3, 3, 2, 2}},  {9, {7, 2, 2, 2}},    {12, {5, 3, 2, 2}},  {16, {4, 4, 2, 2}},
      {25, {9, 6, 5, 2}}, {64, {6, 6, 3, 3}}, {127, {13, 9, 7, 7}}, {128, {7, 7, 4, 4}},
  };
  for (const auto& [n, counts] : table)
    for (int k = 1; k <= 4; ++k)
      EXPECT_EQ(base(n, k).period(), counts[static_cast<std::size_t>(k - 1)]) << label("base", n, k);
}

TEST(BaseGraphs, SingleAgentIsOneIdentityRound) {
  for (int k = 1; k <= kMaxDegree; ++k) {
    for (const Topology& t : {hyper_hypercube(1, k), simple_base(1, k), base(1, k)}) {
      ASSERT_EQ(t.period(), 1) << t.description();
      EXPECT_EQ(t.round(0), WeightMatrix::identity(1)) << t.description();
    }
  }
}

TEST(BaseGraphs, NamesAndDescriptions) {
  const Topology h = hyper_hypercube(12, 2);
  EXPECT_EQ(h.name(), "hyper_hypercube");
  EXPECT_EQ(h.description(), "hyper_hypercube(n=12, k=2)");
  const Topology s = simple_base(12, 2);
  EXPECT_EQ(s.name(), "simple_base");
  EXPECT_EQ(s.description(), "simple_base(n=12, k=2)");
  const Topology b = base(12, 2);
  EXPECT_EQ(b.name(), "base");
  EXPECT_EQ(b.description(), "base(n=12, k=2)");
  EXPECT_EQ(b.agents(), 12);
}

TEST(HyperHypercube, WorkedCase12With2) {
  const std::vector<WeightMatrix> rounds = hyper_hypercube_rounds(12, 2);
  ASSERT_EQ(rounds.size(), 3u);
  expect_cliques(rounds[0], {{0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, 9}, {10, 11}}, "round 0 (stride 1)");
  expect_cliques(rounds[1], {{0, 2}, {1, 3}, {4, 6}, {5, 7}, {8, 10}, {9, 11}}, "round 1 (stride 2)");
  expect_cliques(rounds[2], {{0, 4, 8}, {1, 5, 9}, {2, 6, 10}, {3, 7, 11}}, "round 2 (stride 4)");
}

TEST(HyperHypercube, DegreeOneOnPowersOfTwoIsTheOnePeerHypercube) {
  for (int p = 1; p <= 8; ++p) {
    const int n = 1 << p;
    const std::vector<WeightMatrix> rounds = hyper_hypercube_rounds(n, 1);
    ASSERT_EQ(rounds.size(), static_cast<std::size_t>(p)) << "n=" << n;
    for (int r = 0; r < p; ++r) {
      std::vector<std::vector<int>> pairs;
      for (int i = 0; i < n; ++i)
        if (i < (i ^ (1 << r))) pairs.push_back({i, i ^ (1 << r)});
      expect_cliques(rounds[static_cast<std::size_t>(r)], pairs,
                     "n=" + std::to_string(n) + " round " + std::to_string(r));
    }
  }
}

/// The message of the InputError thrown by f(), or "" (and a test failure) when none is thrown.
template <typename F>
static std::string input_error_message(F f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no InputError thrown";
  return {};
}

TEST(BaseGraphs, InvalidParametersThrowInputError) {
  EXPECT_THROW(hyper_hypercube(14, 2), InputError);
  EXPECT_THROW(hyper_hypercube_rounds(14, 2), InputError);
  const std::string what = input_error_message([] { hyper_hypercube(14, 2); });
  EXPECT_NE(what.find("n=14"), std::string::npos) << what;
  EXPECT_NE(what.find("k+1 = 3"), std::string::npos) << what;
  EXPECT_NE(what.find("prime factor 7"), std::string::npos) << what;
  for (const auto& [n, k] : std::vector<std::pair<int, int>>{{0, 2}, {-3, 2}, {12, 0}, {12, -1}, {0, 0}}) {
    EXPECT_THROW(hyper_hypercube(n, k), InputError) << "n=" << n << " k=" << k;
    EXPECT_THROW(simple_base(n, k), InputError) << "n=" << n << " k=" << k;
    EXPECT_THROW(base(n, k), InputError) << "n=" << n << " k=" << k;
    EXPECT_THROW(simple_base_rounds(n, k), InputError) << "n=" << n << " k=" << k;
    EXPECT_THROW(base_rounds(n, k), InputError) << "n=" << n << " k=" << k;
    EXPECT_FALSE(hyper_hypercube_defined(n, k)) << "n=" << n << " k=" << k;
  }
  EXPECT_NE(input_error_message([] { base(0, 2); }).find("n (number of agents) must be >= 1"), std::string::npos);
  EXPECT_NE(input_error_message([] { base(5, 0); }).find("k (maximum degree) must be >= 1"), std::string::npos);
}

}  // namespace concord::topology
