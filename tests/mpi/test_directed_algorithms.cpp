// Push-sum and push-pull on directed graphs whose weights are column- but not row-stochastic:
// push-sum reaches the exact average where x <- W x does not, push-pull reaches x* of
// heterogeneous least squares, both are bit-identical for any number of ranks and restart exactly
// from their state.
#include <gtest/gtest.h>

#include <cmath>

#include "algorithm_support.hpp"
#include "concord/topology/analysis.hpp"

using namespace concord_test;

namespace {

RunSpec directed_spec(const std::string& algorithm, double gamma, int agents = 12) {
  RunSpec spec;
  spec.agents = agents;
  spec.topology = "directed_random";
  spec.data = {20, 6, 1.0, 0.1};  // heterogeneous: every agent has its own minimiser
  spec.algorithm = algorithm_options(algorithm, gamma);
  return spec;
}

}  // namespace

TEST(PushSum, GossipReachesTheExactAverageWherePlainGossipDoesNot) {
  const int n = 12, d = 6;
  LeastSquaresRun run(directed_spec("push_sum_gossip", 1.0));
  ASSERT_EQ(concord::topology::stochasticity(run.topology), concord::topology::Stochasticity::column);
  run.algorithm->initialize(run.exec, initial_state(run.layout, d, 21));
  run.run(0, 400);
  const auto z = run.models();
  const auto x0 = initial_rows(n, d, 21);
  // x <- W x on the host from the same start: a consensus, but on a weighted average.
  std::vector<double> column(n), next(n);
  double plain_error = 0.0;
  for (int c = 0; c < d; ++c) {
    double mean = 0.0;
    for (int a = 0; a < n; ++a) mean += x0[a * d + c] / n;
    for (int a = 0; a < n; ++a) ASSERT_NEAR(z[a * d + c], mean, 1e-12) << "agent " << a << " coordinate " << c;
    for (int a = 0; a < n; ++a) column[a] = x0[a * d + c];
    for (int k = 0; k < 400; ++k) {
      run.topology.round(k).apply(column, next);
      std::swap(column, next);
    }
    for (int a = 0; a < n; ++a) plain_error = std::max(plain_error, std::fabs(column[a] - mean));
  }
  EXPECT_GT(plain_error, 1e-3) << "x <- W x should settle away from the average on this graph";
}

TEST(PushSum, SgdOnADoublyStochasticGraphIsDsgd) {
  auto spec = directed_spec("push_sum_sgd", 0.05, 9);
  spec.topology = "ring";
  spec.batch = 3;
  LeastSquaresRun push(spec);
  spec.algorithm = algorithm_options("dsgd", 0.05);
  LeastSquaresRun dsgd(spec);
  push.run(0, 30);
  dsgd.run(0, 30);
  EXPECT_TRUE(bit_identical(push.models(), dsgd.models()));  // w stays 1: z = u = DSGD's x
  EXPECT_DOUBLE_EQ(push.algorithm->bytes_sent(0), 8.0 * (6 + 1) * 2);  // d values and the weight, 2 neighbours
}

TEST(PushPull, ReachesTheMinimiserOfHeterogeneousLeastSquaresOnADirectedGraph) {
  LeastSquaresRun run(directed_spec("push_pull", 0.02));
  const double start = run.measure(0).distance_to_solution;
  run.run(0, 4000);
  const auto m = run.measure(4000);
  EXPECT_LT(m.distance_to_solution, 1e-10) << "from " << start;
  EXPECT_LT(m.consensus_error, 1e-20);
  // DSGD-like push-sum SGD keeps a heterogeneity bias with the same constant step.
  LeastSquaresRun sgp(directed_spec("push_sum_sgd", 0.02));
  sgp.run(0, 4000);
  EXPECT_GT(sgp.measure(4000).distance_to_solution, 1e-4);
}

TEST(PushSum, TrajectoriesAreBitIdenticalForAnyNumberOfRanksAndRestartExactly) {
  for (const std::string name : {"push_sum_sgd", "push_pull", "push_sum_gossip"}) {
    auto spec = directed_spec(name, 0.02, 11);
    spec.batch = 4;
    LeastSquaresRun here(spec);
    LeastSquaresRun resumed(spec);
    spec.everything_here = true;
    LeastSquaresRun alone(spec);
    here.run(0, 25);
    alone.run(0, 25);
    ASSERT_TRUE(bit_identical(here.models(), alone.models())) << name;
    // Restart: a fresh algorithm given the state of iteration 12 continues bit for bit.
    auto first_spec = directed_spec(name, 0.02, 11);
    first_spec.batch = 4;
    LeastSquaresRun half(first_spec);
    half.run(0, 12);
    const auto from = half.algorithm->state(), to = resumed.algorithm->state();
    ASSERT_EQ(from.size(), to.size());
    for (std::size_t s = 0; s < from.size(); ++s) Kokkos::deep_copy(to[s].second, from[s].second);
    resumed.run(12, 25);
    EXPECT_TRUE(bit_identical(here.models(), resumed.models())) << name;
  }
}

TEST(PushPull, RefusesTopologiesItCannotRunOn) {
  auto spec = directed_spec("push_pull", 0.02, 8);
  spec.topology = "random_one_peer_exponential";
  std::string m = message_of([&] { LeastSquaresRun run(spec); });
  EXPECT_NE(m.find("drawn anew"), std::string::npos) << m;
  spec = directed_spec("gradient_tracking", 0.02, 8);
  m = message_of([&] { LeastSquaresRun run(spec); });
  EXPECT_NE(m.find("push_pull"), std::string::npos) << m;
}
