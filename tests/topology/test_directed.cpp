// Directed topologies and stochasticity: directed_random is column-stochastic (not row), strongly
// connected and drawn from the seed; every other catalogue entry is doubly stochastic; the
// doubly-stochastic algorithms refuse a column-stochastic W with one clear message.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "topology_support.hpp"
#include "concord/algorithms/catalog.hpp"
#include "concord/core/error.hpp"
#include "concord/topology/analysis.hpp"
#include "concord/topology/directed.hpp"
#include "concord/topology/generators.hpp"
#include "concord/topology/registry.hpp"

using namespace concord::topology;

namespace {

using concord_test::error_of;

/// Agents reached from `start` following arcs j -> i (W(i, j) != 0), or backwards.
std::size_t reached(const WeightMatrix& w, int start, bool backwards) {
  const int n = w.size();
  std::vector<char> seen(static_cast<std::size_t>(n), 0);
  std::vector<int> queue{start};
  seen[static_cast<std::size_t>(start)] = 1;
  for (std::size_t h = 0; h < queue.size(); ++h)
    for (int other = 0; other < n; ++other) {
      const double weight = backwards ? w(queue[h], other) : w(other, queue[h]);
      if (weight != 0.0 && !seen[static_cast<std::size_t>(other)]) {
        seen[static_cast<std::size_t>(other)] = 1;
        queue.push_back(other);
      }
    }
  return queue.size();
}

std::vector<double> column_sums(const WeightMatrix& w) {
  std::vector<double> s(static_cast<std::size_t>(w.size()), 0.0);
  for (int i = 0; i < w.size(); ++i) {
    auto cols = w.row_cols(i);
    auto vals = w.row_weights(i);
    for (std::size_t k = 0; k < cols.size(); ++k) s[static_cast<std::size_t>(cols[k])] += vals[k];
  }
  return s;
}

}  // namespace

TEST(Stochasticity, Names) {
  EXPECT_EQ(to_string(Stochasticity::doubly), "doubly");
  EXPECT_EQ(to_string(Stochasticity::row), "row");
  EXPECT_EQ(to_string(Stochasticity::column), "column");
  EXPECT_EQ(to_string(Stochasticity::none), "none");
  EXPECT_TRUE(satisfies(Stochasticity::doubly, Stochasticity::column));
  EXPECT_TRUE(satisfies(Stochasticity::doubly, Stochasticity::row));
  EXPECT_TRUE(satisfies(Stochasticity::column, Stochasticity::column));
  EXPECT_FALSE(satisfies(Stochasticity::column, Stochasticity::doubly));
  EXPECT_FALSE(satisfies(Stochasticity::row, Stochasticity::column));
  EXPECT_FALSE(satisfies(Stochasticity::none, Stochasticity::row));
}

TEST(Stochasticity, OfMatrices) {
  MatrixBuilder col(2);  // columns sum to 1, rows to 1.5 and 0.5
  col.set(0, 0, 1.0);
  col.set(0, 1, 0.5);
  col.set(1, 1, 0.5);
  const auto c = std::move(col).build();
  EXPECT_EQ(stochasticity(c), Stochasticity::column);
  EXPECT_EQ(stochasticity(c.transpose()), Stochasticity::row);
  EXPECT_EQ(stochasticity(ring(5).round(0)), Stochasticity::doubly);
  MatrixBuilder neg(2);  // sums 1 everywhere, but a negative weight
  neg.set(0, 0, 1.5);
  neg.set(0, 1, -0.5);
  neg.set(1, 0, -0.5);
  neg.set(1, 1, 1.5);
  EXPECT_EQ(stochasticity(std::move(neg).build()), Stochasticity::none);
  MatrixBuilder off(2);  // row 0 and column 0 sum to 1 + 1e-9
  off.set(0, 0, 0.5 + 1e-9);
  off.set(0, 1, 0.5);
  off.set(1, 0, 0.5);
  off.set(1, 1, 0.5);
  const auto o = std::move(off).build();
  EXPECT_EQ(stochasticity(o), Stochasticity::none);
  EXPECT_EQ(stochasticity(o, 1e-8), Stochasticity::doubly);
  // A topology is as weak as its weakest round; row in one round and column in another is none.
  EXPECT_EQ(stochasticity(Topology("mixed", {ring(2).round(0), c})), Stochasticity::column);
  EXPECT_EQ(stochasticity(Topology("mixed", {c, c.transpose()})), Stochasticity::none);
}

TEST(Stochasticity, EveryOtherCatalogueTopologyIsDoubly) {
  for (const auto& info : topology_catalog()) {
    if (info.name == "file" || info.name == "directed_random") continue;
    std::map<std::string, std::string> params;
    if (info.name == "geometric") params["radius"] = "0.6";
    for (int n : {12, 16}) {
      Topology t;
      try {
        t = make_topology(info.name, n, params, 3);
      } catch (const concord::InputError&) {
        continue;  // not defined for this n
      }
      EXPECT_EQ(stochasticity(t), Stochasticity::doubly) << t.description();
      const auto r = analyze(t);
      EXPECT_EQ(r.stochasticity, Stochasticity::doubly) << t.description();
      EXPECT_TRUE(r.doubly_stochastic) << t.description();
    }
  }
}

TEST(DirectedRandom, ColumnStochasticNotRowStochastic) {
  const auto t = make_topology("directed_random", 16, {}, 1);
  EXPECT_EQ(t.name(), "directed_random");
  EXPECT_EQ(t.description(), "directed_random(n=16, out_degree=2, seed=1)");
  ASSERT_EQ(t.period(), 1);
  const auto& w = t.round(0);
  EXPECT_GE(w.min_weight(), 0.0);
  for (double s : column_sums(w)) EXPECT_NEAR(s, 1.0, 1e-15);
  bool rows_differ = false;
  for (int i = 0; i < w.size(); ++i) {
    double s = 0.0;
    for (double v : w.row_weights(i)) s += v;
    rows_differ = rows_differ || std::abs(s - 1.0) > 1e-3;
  }
  EXPECT_TRUE(rows_differ) << "every in-degree equal: row sums all 1";
  EXPECT_EQ(stochasticity(t), Stochasticity::column);
  // Agent j keeps 1/4 and sends 1/4 to j + 1 and to two further distinct agents.
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(w(j, j), 0.25);
    EXPECT_EQ(w((j + 1) % 16, j), 0.25);
    int out = 0;
    for (int i = 0; i < 16; ++i) out += (i != j && w(i, j) != 0.0);
    EXPECT_EQ(out, 3) << "agent " << j;
  }
  const auto r = analyze(t);
  EXPECT_EQ(r.stochasticity, Stochasticity::column);
  EXPECT_FALSE(r.doubly_stochastic);
  EXPECT_FALSE(r.symmetric);
  EXPECT_TRUE(r.connected);
  EXPECT_GT(r.period_rho, 0.0);
}

TEST(DirectedRandom, StronglyConnectedForEverySeed) {
  for (std::uint64_t seed : {1u, 2u, 3u, 17u})
    for (int n : {2, 5, 16, 33}) {
      const int d = std::min(2, n - 2);
      const auto w = directed_random(n, d, seed).round(0);
      for (int start : {0, n - 1}) {
        EXPECT_EQ(reached(w, start, false), static_cast<std::size_t>(n)) << "n=" << n << " seed=" << seed;
        EXPECT_EQ(reached(w, start, true), static_cast<std::size_t>(n)) << "n=" << n << " seed=" << seed;
      }
      EXPECT_TRUE(strongly_connected(w));
      EXPECT_TRUE(satisfies(stochasticity(w), Stochasticity::column));
    }
  // The helper sees direction: a directed path 0 -> 1 -> 2 is weakly but not strongly connected.
  MatrixBuilder b(3);
  b.set(0, 0, 0.5);
  b.set(1, 0, 0.5);
  b.set(1, 1, 0.5);
  b.set(2, 1, 0.5);
  b.set(2, 2, 1.0);
  EXPECT_FALSE(strongly_connected(std::move(b).build()));
}

TEST(DirectedRandom, DeterministicForASeedDifferentForAnother) {
  EXPECT_EQ(make_topology("directed_random", 16, {}, 5).round(0), make_topology("directed_random", 16, {}, 5).round(0));
  EXPECT_NE(make_topology("directed_random", 16, {}, 5).round(0), make_topology("directed_random", 16, {}, 6).round(0));
  EXPECT_EQ(make_topology("directed_random", 16, {{"out_degree", "4"}}).round(0).nonzeros(), 16u * 6u);
  // out_degree = 0: the directed ring, whose uniform weights are doubly stochastic.
  EXPECT_EQ(stochasticity(make_topology("directed_random", 7, {{"out_degree", "0"}})), Stochasticity::doubly);
  EXPECT_EQ(make_topology("directed_random", 1, {{"out_degree", "0"}}).round(0), WeightMatrix::identity(1));
}

TEST(DirectedRandom, ClearMessages) {
  EXPECT_NE(error_of([] { make_topology("directed_random", 3, {}); }).find("not defined for n=3 with out_degree=2"),
            std::string::npos);
  EXPECT_NE(error_of([] { make_topology("directed_random", 8, {{"out_degree", "-1"}}); })
                .find("directed_random: parameter out_degree=-1: out of range: allowed >= 0"),
            std::string::npos);
  EXPECT_NE(error_of([] { make_topology("directed_random", 8, {{"degree", "1"}}); }).find("allowed: out_degree"),
            std::string::npos);
}

TEST(Stochasticity, RequireStochasticityMessages) {
  const auto directed = make_topology("directed_random", 16, {});
  EXPECT_EQ(error_of([&] { require_stochasticity(directed, Stochasticity::doubly, "dsgd"); }),
            "algorithm 'dsgd' needs doubly-stochastic weights, but topology 'directed_random' is column-stochastic "
            "only; on directed graphs use push_sum_sgd or push_pull");
  EXPECT_NO_THROW(require_stochasticity(directed, Stochasticity::column, "push_sum_sgd"));
  EXPECT_NO_THROW(require_stochasticity(ring(6), Stochasticity::column, "push_sum_sgd"));
  EXPECT_NO_THROW(require_stochasticity(ring(6), Stochasticity::row, "push_pull"));
  EXPECT_NO_THROW(require_stochasticity(ring(6), Stochasticity::doubly, "dsgd"));
  const Topology rows("rows", {directed.round(0).transpose()});
  EXPECT_EQ(error_of([&] { require_stochasticity(rows, Stochasticity::column, "push_sum_sgd"); }),
            "algorithm 'push_sum_sgd' needs column-stochastic weights, but topology 'rows' is row-stochastic only");
  MatrixBuilder b(2);
  b.set(0, 0, 2.0);
  b.set(1, 1, 1.0);
  const Topology bad("bad", {std::move(b).build()});
  const std::string msg = error_of([&] { require_stochasticity(bad, Stochasticity::doubly, "gossip"); });
  EXPECT_EQ(msg.rfind("algorithm 'gossip' needs doubly-stochastic weights, but topology 'bad' is neither row- nor "
                      "column-stochastic",
                      0),
            0u)
      << msg;
}

// The doubly-stochastic algorithms refuse a directed topology before any data is read (the
// driver calls algorithms::check_topology right after building the topology); psgd and
// local_sgd never use W and accept it.
TEST(Stochasticity, DoublyStochasticAlgorithmsRefuseDirectedTopologies) {
  const auto directed = make_topology("directed_random", 16, {});
  for (const char* name : {"dsgd", "gradient_tracking", "exact_diffusion", "d2", "gossip_pga", "gossip"}) {
    concord::algorithms::AlgorithmOptions o;
    o.name = name;
    const std::string msg = error_of([&] { concord::algorithms::check_topology(o, directed); });
    EXPECT_EQ(msg.rfind(std::string("algorithm '") + name + "' needs doubly-stochastic weights, but topology "
                                                             "'directed_random' is column-stochastic only",
                        0),
              0u)
        << msg;
    EXPECT_NO_THROW(concord::algorithms::check_topology(o, make_topology("ring", 9, {}))) << name;
  }
  for (const char* name : {"psgd", "local_sgd"}) {
    concord::algorithms::AlgorithmOptions o;
    o.name = name;
    EXPECT_NO_THROW(concord::algorithms::check_topology(o, directed)) << name;
  }
}
