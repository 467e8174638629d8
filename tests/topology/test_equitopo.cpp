/// Tests of the EquiTopo family (src/concord/topology/equitopo.hpp) against independent dense
/// computations of the definitions in docs/topologies.md.
#include "concord/topology/equitopo.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "concord/core/error.hpp"
#include "concord/core/random.hpp"

namespace {

using concord::topology::Topology;
using concord::topology::WeightMatrix;
using Dense = std::vector<std::vector<double>>;

Dense zeros(int n) { return Dense(static_cast<std::size_t>(n), std::vector<double>(static_cast<std::size_t>(n), 0.0)); }

Dense to_dense(const WeightMatrix& w) {
  Dense d = zeros(w.size());
  for (int i = 0; i < w.size(); ++i)
    for (int j = 0; j < w.size(); ++j) d[i][j] = w(i, j);
  return d;
}

/// B(a) written out from the definition: 1/n on the diagonal, (n-1)/n at (i, (i + a) mod n).
Dense dense_basis(int n, int a) {
  Dense b = zeros(n);
  for (int i = 0; i < n; ++i) {
    b[i][i] = 1.0 / n;
    b[i][(i + a) % n] = (n - 1.0) / n;
  }
  return b;
}

Dense transpose(const Dense& a) {
  Dense t = zeros(static_cast<int>(a.size()));
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = 0; j < a.size(); ++j) t[j][i] = a[i][j];
  return t;
}

double max_abs_diff(const Dense& a, const Dense& b) {
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = 0; j < a.size(); ++j) m = std::max(m, std::abs(a[i][j] - b[i][j]));
  return m;
}

/// Eigenvalues of a symmetric matrix by cyclic Jacobi rotations (A <- P^T A P until diagonal).
std::vector<double> symmetric_eigenvalues(Dense a) {
  const int n = static_cast<int>(a.size());
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0.0;
    for (int p = 0; p < n; ++p)
      for (int q = p + 1; q < n; ++q) off += a[p][q] * a[p][q];
    if (off < 1e-30) break;
    for (int p = 0; p < n; ++p)
      for (int q = p + 1; q < n; ++q) {
        if (a[p][q] == 0.0) continue;
        const double theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
        const double t = (theta >= 0.0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0);
        const double s = t * c;
        for (int k = 0; k < n; ++k) {
          const double akp = a[k][p], akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (int k = 0; k < n; ++k) {
          const double apk = a[p][k], aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
      }
  }
  std::vector<double> eig(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) eig[i] = a[i][i];
  return eig;
}

/// The off-diagonal columns of row i.
std::vector<int> peers(const WeightMatrix& w, int i) {
  std::vector<int> p;
  for (int j : w.row_cols(i))
    if (j != i) p.push_back(j);
  return p;
}

/// The round-r hop and start as documented in equitopo.hpp: the first two draws of the round's stream.
std::pair<int, int> documented_round_draws(std::uint64_t seed, int r, int n) {
  concord::RandomStream rng(seed, concord::stream_purpose::topology, concord::topology::equitopo_stream::dynamic_round,
                            static_cast<std::uint64_t>(r));
  const int hop = static_cast<int>(rng.uniform_int(1, n - 1));
  const int start = static_cast<int>(rng.uniform_int(0, n - 1));
  return {hop, start};
}

/// `f` throws concord::InputError whose message contains `expected`.
void expect_input_error(const std::function<void()>& f, const std::string& expected) {
  try {
    f();
    ADD_FAILURE() << "no InputError; expected a message containing: " << expected;
  } catch (const concord::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << "message: " << e.what();
  }
}

}  // namespace

TEST(EquiTopo, BasisEntriesExactAndOnePeer) {
  for (auto [n, a] : std::vector<std::pair<int, int>>{{2, 1}, {5, 2}, {8, 3}, {8, 7}, {16, 8}}) {
    const WeightMatrix b = concord::topology::equitopo_basis(n, a);
    ASSERT_EQ(b.size(), n);
    EXPECT_EQ(max_abs_diff(to_dense(b), dense_basis(n, a)), 0.0) << "n=" << n << " a=" << a;
    EXPECT_LE(b.stochasticity_error(), 1e-15);
    EXPECT_GT(b.min_weight(), 0.0);
    // One peer per row, and the peers form a permutation (each agent receives from exactly one).
    std::set<int> targets;
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(peers(b, i), std::vector<int>{(i + a) % n});
      targets.insert((i + a) % n);
    }
    EXPECT_EQ(static_cast<int>(targets.size()), n);
  }
  // n = 2: B(1) is the exact average J.
  EXPECT_EQ(concord::topology::equitopo_basis(2, 1), WeightMatrix::average(2));
}

TEST(EquiTopo, DrawHopsFollowTheDocumentedStream) {
  const std::vector<int> hops = concord::topology::draw_equitopo_hops(16, 40, 42);
  ASSERT_EQ(hops.size(), 40u);
  concord::RandomStream rng(42, concord::stream_purpose::topology, concord::topology::equitopo_stream::static_hops, 0);
  for (int hop : hops) {
    EXPECT_EQ(hop, rng.uniform_int(1, 15));
    EXPECT_GE(hop, 1);
    EXPECT_LE(hop, 15);
  }
  EXPECT_EQ(concord::topology::draw_equitopo_hops(16, 40, 42), hops);
  EXPECT_NE(concord::topology::draw_equitopo_hops(16, 40, 43), hops);
  const std::vector<int> prefix = concord::topology::draw_equitopo_hops(16, 10, 42);
  EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), hops.begin()));
}

TEST(EquiTopo, DefaultHopCount) {
  // floor(8 ln(320) / 0.75) = floor(61.53) and floor(8 ln(20000) / 0.75) = floor(105.6).
  EXPECT_EQ(concord::topology::default_equitopo_hop_count(16), 61);
  EXPECT_EQ(concord::topology::default_equitopo_hop_count(1000, 0.1, 0.5), 105);
  // A loose eps gives a formula value below 1: at least one hop.
  EXPECT_EQ(concord::topology::default_equitopo_hop_count(16, 0.1, 10.0), 1);
}

TEST(EquiTopo, DEquiStaticIsTheAverageOfBasisMatrices) {
  const std::vector<std::pair<int, std::vector<int>>> cases = {
      {16, {3, 3, 5, 15, 8}},  // repeated hop 3 counts twice
      {7, {1}},
      {2, {1, 1}},
      {33, concord::topology::draw_equitopo_hops(33, 10, 3)},
  };
  for (const auto& [n, hops] : cases) {
    const Topology t = concord::topology::equi_static(n, hops);
    ASSERT_EQ(t.period(), 1);
    EXPECT_EQ(t.name(), "equi_static");
    const int M = static_cast<int>(hops.size());
    Dense expected = zeros(n);
    for (int a : hops) {
      const Dense b = dense_basis(n, a);
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) expected[i][j] += b[i][j] / M;
    }
    const WeightMatrix& w = t.round(0);
    EXPECT_LE(max_abs_diff(to_dense(w), expected), 1e-15) << t.description();
    EXPECT_LE(w.stochasticity_error(), 1e-14);
    const int distinct = static_cast<int>(std::set<int>(hops.begin(), hops.end()).size());
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(w.degree(i), distinct);
      EXPECT_LE(w.degree(i), M);
    }
  }
  EXPECT_EQ(concord::topology::equi_static(16, {3, 3, 5}).description(), "equi_static(n=16, M=3, hops=[3, 3, 5])");
}

TEST(EquiTopo, UEquiStaticIsSymmetricAverage) {
  const std::vector<std::pair<int, std::vector<int>>> cases = {
      {16, {3, 13, 8, 3}},  // 3 and 13 = 16 - 3 land on the same offsets; 8 = n/2 is its own mirror
      {9, {2, 5}},
      {33, concord::topology::draw_equitopo_hops(33, 10, 3)},
  };
  for (const auto& [n, hops] : cases) {
    const Topology t = concord::topology::u_equi_static(n, hops);
    EXPECT_EQ(t.name(), "u_equi_static");
    const int M = static_cast<int>(hops.size());
    Dense expected = zeros(n);
    for (int a : hops) {
      const Dense b = dense_basis(n, a);
      const Dense bt = transpose(b);
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) expected[i][j] += (b[i][j] + bt[i][j]) / (2.0 * M);
    }
    const WeightMatrix& w = t.round(0);
    EXPECT_LE(max_abs_diff(to_dense(w), expected), 1e-15) << t.description();
    EXPECT_EQ(w.asymmetry(), 0.0);
    EXPECT_LE(w.stochasticity_error(), 1e-14);
    EXPECT_GT(w.min_weight(), 0.0);
    EXPECT_LE(w.max_degree(), 2 * M);
  }
}

TEST(EquiTopo, OuMatchingHandWorkedCases) {
  using concord::topology::ou_equitopo_matching;
  // n=4, a=1, s=0: (0,1), (2,3). s=1: (1,2), (3,0).
  EXPECT_EQ(ou_equitopo_matching(4, 1, 0), (std::vector<int>{1, 0, 3, 2}));
  EXPECT_EQ(ou_equitopo_matching(4, 1, 1), (std::vector<int>{3, 2, 1, 0}));
  // n=5, a=2, s=0: (0,2), (1,3); 2, 3 taken; 4 -> 1 taken: 4 unmatched.
  EXPECT_EQ(ou_equitopo_matching(5, 2, 0), (std::vector<int>{2, 3, 0, 1, 4}));
  // n=5, a=2, s=3: (3,0), (4,1); 0, 1 taken; 2 -> 4 taken: 2 unmatched.
  EXPECT_EQ(ou_equitopo_matching(5, 2, 3), (std::vector<int>{3, 4, 2, 0, 1}));
  // n=5, a=1, s=0: (0,1), (2,3); 4 -> 0 taken: 4 unmatched.
  EXPECT_EQ(ou_equitopo_matching(5, 1, 0), (std::vector<int>{1, 0, 3, 2, 4}));
  // n=6, a=2, s=0: (0,2), (1,3); 4 -> 0 and 5 -> 1 taken: 4 and 5 unmatched.
  EXPECT_EQ(ou_equitopo_matching(6, 2, 0), (std::vector<int>{2, 3, 0, 1, 4, 5}));
  // n=6, a=3 = n/2, s=2: (2,5), (3,0), (4,1): a perfect matching.
  EXPECT_EQ(ou_equitopo_matching(6, 3, 2), (std::vector<int>{3, 4, 5, 0, 1, 2}));
  // n=2: the single pair.
  EXPECT_EQ(ou_equitopo_matching(2, 1, 1), (std::vector<int>{1, 0}));
}

TEST(EquiTopo, OuMatchingIsAMaximalHopMatching) {
  using concord::topology::ou_equitopo_matching;
  for (int n = 2; n <= 12; ++n)
    for (int a = 1; a < n; ++a)
      for (int s = 0; s < n; ++s) {
        const std::vector<int> p = ou_equitopo_matching(n, a, s);
        for (int i = 0; i < n; ++i) {
          ASSERT_EQ(p[p[i]], i) << "not an involution: n=" << n << " a=" << a << " s=" << s;
          if (p[i] == i) {
            // Left unmatched only because its hop target was already taken.
            EXPECT_NE(p[(i + a) % n], (i + a) % n) << "n=" << n << " a=" << a << " s=" << s << " i=" << i;
          } else {
            EXPECT_TRUE(p[i] == (i + a) % n || i == (p[i] + a) % n);
          }
        }
      }
}

TEST(EquiTopo, OdEquiDynRoundsAreOnePeerDoublyStochastic) {
  const int n = 16;
  const double eta = 0.5;
  const Topology t = concord::topology::od_equi_dyn(n, {}, eta, 32, 7);
  EXPECT_EQ(t.name(), "od_equi_dyn");
  EXPECT_EQ(t.description(), "od_equi_dyn(n=16, eta=0.5, hops=complete, rounds=32, seed=7)");
  ASSERT_EQ(t.period(), 32);
  for (int r = 0; r < t.period(); ++r) {
    const WeightMatrix& w = t.round(r);
    const int a = documented_round_draws(7, r, n).first;
    Dense expected = dense_basis(n, a);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) expected[i][j] = (i == j ? 1.0 - eta : 0.0) + eta * expected[i][j];
    EXPECT_LE(max_abs_diff(to_dense(w), expected), 1e-15) << "round " << r;
    EXPECT_LE(w.stochasticity_error(), 1e-15);
    for (int i = 0; i < n; ++i) EXPECT_EQ(peers(w, i), std::vector<int>{(i + a) % n});
  }

  // Given hops: every round uses one of them, and each is used.
  const std::vector<int> hops = {1, 5, 12};
  const Topology g = concord::topology::od_equi_dyn(n, hops, 1.0, 60, 11);
  EXPECT_EQ(g.description(), "od_equi_dyn(n=16, eta=1, hops=[1, 5, 12], rounds=60, seed=11)");
  std::set<int> used;
  for (const WeightMatrix& w : g.rounds()) {
    ASSERT_EQ(peers(w, 0).size(), 1u);
    used.insert(peers(w, 0).front());
    EXPECT_LE(w.stochasticity_error(), 1e-15);
  }
  EXPECT_EQ(used, std::set<int>(hops.begin(), hops.end()));
}

TEST(EquiTopo, OuEquiDynRoundsAreSymmetricMatchings) {
  for (int n : {15, 16}) {
    const double eta = 0.5;
    const double b = eta * (n - 1) / n;
    const Topology t = concord::topology::ou_equi_dyn(n, {}, eta, 32, 5);
    EXPECT_EQ(t.name(), "ou_equi_dyn");
    ASSERT_EQ(t.period(), 32);
    for (int r = 0; r < t.period(); ++r) {
      const WeightMatrix& w = t.round(r);
      EXPECT_EQ(w.asymmetry(), 0.0);
      EXPECT_LE(w.stochasticity_error(), 1e-15);
      EXPECT_LE(w.max_degree(), 1);
      const auto [a, s] = documented_round_draws(5, r, n);
      const std::vector<int> partner = concord::topology::ou_equitopo_matching(n, a, s);
      for (int i = 0; i < n; ++i) {
        if (partner[i] == i) {
          EXPECT_TRUE(peers(w, i).empty());
          EXPECT_EQ(w(i, i), 1.0);
        } else {
          EXPECT_EQ(peers(w, i), std::vector<int>{partner[i]});
          EXPECT_EQ(w(i, partner[i]), b);
          EXPECT_EQ(w(i, i), 1.0 - b);
        }
      }
    }
  }
  // Given hops: every pair is at one of the hop distances.
  const Topology g = concord::topology::ou_equi_dyn(10, {3}, 1.0, 8, 2);
  for (const WeightMatrix& w : g.rounds())
    for (int i = 0; i < 10; ++i)
      for (int j : peers(w, i)) EXPECT_TRUE(j == (i + 3) % 10 || i == (j + 3) % 10);
}

TEST(EquiTopo, DynamicSchedulesAreReproducible) {
  using concord::topology::od_equi_dyn;
  using concord::topology::ou_equi_dyn;
  for (auto make : {od_equi_dyn, ou_equi_dyn}) {
    const Topology t = make(16, {}, 0.5, 32, 7);
    EXPECT_EQ(make(16, {}, 0.5, 32, 7).rounds(), t.rounds());
    EXPECT_NE(make(16, {}, 0.5, 32, 8).rounds(), t.rounds());
    // Round r has its own stream: a shorter period is a prefix of a longer one.
    const Topology shorter = make(16, {}, 0.5, 8, 7);
    EXPECT_TRUE(std::equal(shorter.rounds().begin(), shorter.rounds().end(), t.rounds().begin()));
  }
}

TEST(EquiTopo, OdCompleteMeanSquareRate) {
  // ||E[W^T W] - J||_2 = (1-b)^2 + b^2 - 2b(1-b)/(n-1), b = eta (n-1)/n, where the expectation
  // is the exact average over the n-1 equally likely hops of the complete variant.
  for (int n : {8, 16})
    for (double eta : {0.5, 1.0}) {
      Dense e = zeros(n);
      for (int a = 1; a < n; ++a) {
        const Dense w = to_dense(concord::topology::od_equi_dyn(n, {a}, eta, 1, 0).round(0));
        for (int i = 0; i < n; ++i)
          for (int j = 0; j < n; ++j)
            for (int k = 0; k < n; ++k) e[i][j] += w[k][i] * w[k][j] / (n - 1);
      }
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) e[i][j] -= 1.0 / n;
      double rate = 0.0;
      for (double l : symmetric_eigenvalues(e)) rate = std::max(rate, std::abs(l));
      const double b = eta * (n - 1) / n;
      const double claim = (1 - b) * (1 - b) + b * b - 2 * b * (1 - b) / (n - 1);
      EXPECT_NEAR(rate, claim, 1e-12) << "n=" << n << " eta=" << eta;
      if (eta == 1.0) {
        EXPECT_NEAR(rate, 1.0 - 2.0 / n, 1e-12);  // the paper's remark: not n-independent at eta = 1
      }
    }
}

TEST(EquiTopo, InvalidParametersThrowInputError) {
  using namespace concord::topology;
  expect_input_error([] { equi_static(16, {3, 16}); },
                     "equi_static: hop 16 out of range for n=16: hops must be in 1..15");
  expect_input_error([] { u_equi_static(16, {0}); }, "u_equi_static: hop 0 out of range");
  expect_input_error([] { equi_static(16, {}); }, "equi_static: empty hop list");
  expect_input_error([] { u_equi_static(16, {}); }, "u_equi_static: empty hop list");
  expect_input_error([] { equi_static(1, {1}); }, "n >= 2");
  expect_input_error([] { od_equi_dyn(1, {}, 0.5, 4, 0); }, "n >= 2");
  expect_input_error([] { od_equi_dyn(16, {}, 1.5, 4, 0); },
                     "od_equi_dyn: eta=1.5 out of range: eta must be in (0, 1]");
  expect_input_error([] { ou_equi_dyn(16, {}, 0.0, 4, 0); }, "ou_equi_dyn: eta=0 out of range");
  expect_input_error([] { od_equi_dyn(16, {}, std::nan(""), 4, 0); }, "eta must be in (0, 1]");
  expect_input_error([] { od_equi_dyn(16, {}, 0.5, 0, 0); }, "rounds must be >= 1");
  expect_input_error([] { ou_equi_dyn(16, {17}, 0.5, 4, 0); }, "ou_equi_dyn: hop 17 out of range");
  expect_input_error([] { equitopo_basis(8, 8); }, "hops must be in 1..7");
  expect_input_error([] { equitopo_basis(1, 1); }, "n >= 2");
  expect_input_error([] { draw_equitopo_hops(16, 0, 1); }, "M must be >= 1");
  expect_input_error([] { draw_equitopo_hops(1, 4, 1); }, "n >= 2");
  expect_input_error([] { default_equitopo_hop_count(16, 0.0, 0.5); }, "p must be in (0, 1)");
  expect_input_error([] { default_equitopo_hop_count(16, 0.1, -1.0); }, "eps must be > 0");
  expect_input_error([] { default_equitopo_hop_count(16, 0.1, 1e-6); }, "too small");
  expect_input_error([] { ou_equitopo_matching(5, 2, 5); }, "start must be in 0..4");
  expect_input_error([] { ou_equitopo_matching(5, 5, 0); }, "hops must be in 1..4");
}
