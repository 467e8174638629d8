// Asynchronous gossip simulated in ticks of virtual time (async_dsgd, async_gossip): the
// trajectories are the same for any number of ranks and restart exactly, the synchronous limit is
// DSGD (cta) and gossip bit for bit, the agents are active as the model says (fractions, slow
// agents, bounded staleness), async_gossip reaches consensus, and async_dsgd with one slow agent
// reaches x* in less virtual time than synchronous DSGD, which waits for the slow agent.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <cstdio>
#include <tuple>

#include "algorithm_support.hpp"

using namespace concord_test;

namespace {

RunSpec async_spec(const std::string& algorithm, double gamma, int agents = 11) {
  RunSpec spec;
  spec.agents = agents;
  spec.data = {20, 5, 1.0, 0.1};  // heterogeneous: every agent has its own minimiser
  spec.algorithm = algorithm_options(algorithm, gamma);
  spec.algorithm.activation = 0.6;
  spec.algorithm.slow_agents = {3};
  spec.algorithm.max_staleness = 5;
  return spec;
}

/// Which agents changed their model (any coordinate, bitwise) between two gathers.
std::vector<bool> changed(const std::vector<double>& before, const std::vector<double>& after, int n, int d) {
  std::vector<bool> on(static_cast<std::size_t>(n), false);
  for (int a = 0; a < n; ++a)
    for (int c = 0; c < d; ++c)
      if (bits_of(before[a * d + c]) != bits_of(after[a * d + c])) on[a] = true;
  return on;
}

/// The activity model of docs/algorithms.md, on the host, from the draws: every agent at tick k.
struct ModelActivity {
  ModelActivity(const concord::algorithms::AlgorithmOptions& o, int n) : o(o), idle(n, 0), q(n, o.activation) {
    for (int a : o.slow_agents) q[a] = o.activation / o.slowdown;
  }
  std::vector<bool> tick(std::int64_t k) {
    std::vector<bool> on(idle.size());
    for (std::size_t a = 0; a < idle.size(); ++a) {
      auto s = concord::agent_stream(o.seed, concord::stream_purpose::asynchrony, a, static_cast<std::uint64_t>(k));
      const double u = s.uniform();
      on[a] = idle[a] >= o.max_staleness || u < q[a];
      idle[a] = on[a] ? 0 : idle[a] + 1;
    }
    return on;
  }
  concord::algorithms::AlgorithmOptions o;
  std::vector<std::int64_t> idle;
  std::vector<double> q;
};

/// Steps async_gossip tick by tick, observes which agents change (the state is re-randomised
/// every 40 ticks so that the models never settle), checks it against the model and bytes_sent,
/// and returns per agent: the fraction of ticks active and the longest run of inactive ticks.
void observe(const concord::algorithms::AlgorithmOptions& o, int n, int d, std::int64_t ticks,
             std::vector<double>& fraction, std::vector<int>& longest) {
  RunSpec spec;
  spec.agents = n;
  spec.data = {20, d, 1.0, 0.1};
  spec.algorithm = o;
  spec.everything_here = true;
  LeastSquaresRun run(spec);
  ModelActivity model(o, n);
  std::vector<int> active(n, 0), run_length(n, 0);
  longest.assign(n, 0);
  const auto state = run.algorithm->state();
  for (std::int64_t k = 0; k < ticks; ++k) {
    if (k % 40 == 0) {
      const auto fresh = initial_state(run.layout, d, 100 + k);
      for (const auto& [name, view] : state) Kokkos::deep_copy(view, fresh);  // x = p: a restored state
    }
    const auto before = run.models();
    run.algorithm->step(run.exec, k);
    const auto on = changed(before, run.models(), n, d);
    ASSERT_EQ(on, model.tick(k)) << "tick " << k;
    int count = 0;
    for (int a = 0; a < n; ++a) {
      count += on[a] ? 1 : 0;
      active[a] += on[a] ? 1 : 0;
      run_length[a] = on[a] ? 0 : run_length[a] + 1;
      longest[a] = std::max(longest[a], run_length[a]);
    }
    ASSERT_DOUBLE_EQ(run.algorithm->bytes_sent(k), 8.0 * d * 2 * count / n) << "tick " << k;  // ring: 2 neighbours
  }
  fraction.resize(n);
  for (int a = 0; a < n; ++a) fraction[a] = static_cast<double>(active[a]) / static_cast<double>(ticks);
}

/// The mean over `agents` of the fractions, and the binomial standard deviation of that mean.
std::pair<double, double> mean_of(const std::vector<double>& fraction, const std::vector<int>& agents, double p,
                                  std::int64_t ticks) {
  double mean = 0.0;
  for (int a : agents) mean += fraction[a] / agents.size();
  return {mean, std::sqrt(p * (1.0 - p) / (static_cast<double>(ticks) * agents.size()))};
}

}  // namespace

TEST(AsyncGossip, TrajectoriesAreBitIdenticalForAnyNumberOfRanksAndRestartExactly) {
  for (const std::string name : {"async_dsgd", "async_gossip"}) {
    auto spec = async_spec(name, 0.05);
    spec.batch = 4;
    LeastSquaresRun here(spec);
    LeastSquaresRun resumed(spec);
    LeastSquaresRun half(spec);
    spec.everything_here = true;
    LeastSquaresRun alone(spec);
    const auto x0 = initial_state(here.layout, 5, 7), x0_alone = initial_state(alone.layout, 5, 7);
    for (auto* r : {&here, &resumed, &half}) r->algorithm->initialize(r->exec, x0);
    alone.algorithm->initialize(alone.exec, x0_alone);
    here.run(0, 25);
    alone.run(0, 25);
    ASSERT_TRUE(bit_identical(here.models(), alone.models())) << name;
    // Restart: a fresh algorithm given the state of tick 12 continues bit for bit (its idle
    // counters are replayed from the draws).
    half.run(0, 12);
    const auto from = half.algorithm->state(), to = resumed.algorithm->state();
    ASSERT_EQ(from.size(), 2u);
    ASSERT_EQ(from.size(), to.size());
    for (std::size_t s = 0; s < from.size(); ++s) Kokkos::deep_copy(to[s].second, from[s].second);
    resumed.run(12, 25);
    EXPECT_TRUE(bit_identical(here.models(), resumed.models())) << name;
    // The bytes: the same actual counts whatever the history of calls.
    EXPECT_DOUBLE_EQ(here.algorithm->bytes_through(25), resumed.algorithm->bytes_through(25)) << name;
  }
}

TEST(AsyncGossip, TheSynchronousLimitIsDsgdCtaAndGossip) {
  for (const auto& [name, sync] : {std::pair<std::string, std::string>{"async_dsgd", "dsgd"}, {"async_gossip", "gossip"}}) {
    auto spec = async_spec(name, 0.05, 9);
    spec.batch = 3;
    spec.algorithm.activation = 1.0;
    spec.algorithm.max_staleness = 0;
    LeastSquaresRun async(spec);
    spec.algorithm = algorithm_options(sync, 0.05, "cta");
    LeastSquaresRun dsgd(spec);
    const auto x0 = initial_state(async.layout, 5, 3);
    async.algorithm->initialize(async.exec, x0);
    dsgd.algorithm->initialize(dsgd.exec, x0);
    async.run(0, 30);
    dsgd.run(0, 30);
    EXPECT_TRUE(bit_identical(async.models(), dsgd.models())) << name;
    EXPECT_DOUBLE_EQ(async.algorithm->bytes_through(30), dsgd.algorithm->bytes_through(30)) << name;
  }
  // max_staleness 0 alone (activation 0.3) is synchronous too.
  auto spec = async_spec("async_dsgd", 0.05, 9);
  spec.algorithm.max_staleness = 0;
  LeastSquaresRun async(spec);
  spec.algorithm = algorithm_options("dsgd", 0.05, "cta");
  LeastSquaresRun dsgd(spec);
  async.run(0, 20);
  dsgd.run(0, 20);
  EXPECT_TRUE(bit_identical(async.models(), dsgd.models()));
}

TEST(AsyncGossip, AgentsAreActiveAsTheModelSays) {
  const int n = 16, d = 3;
  const std::int64_t ticks = 3000;
  const std::vector<int> slow = {5, 12}, fast = {0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 13, 14, 15};
  auto o = algorithm_options("async_gossip", 1.0);
  o.activation = 0.5;
  o.slow_agents = slow;
  o.slowdown = 4.0;
  std::vector<double> fraction;
  std::vector<int> longest;

  // Staleness practically unbounded: the fractions are activation and activation / slowdown.
  o.max_staleness = 1000;
  observe(o, n, d, ticks, fraction, longest);
  auto [f, fs] = mean_of(fraction, fast, 0.5, ticks);
  auto [s, ss] = mean_of(fraction, slow, 0.125, ticks);
  if (world_rank() == 0) std::printf("[ async ] unbounded staleness: active fraction fast %.4f (0.5), slow %.4f (0.125)\n", f, s);
  EXPECT_NEAR(f, 0.5, 5 * fs);
  EXPECT_NEAR(s, 0.125, 5 * ss);

  // max_staleness m = 8: nobody is inactive more than 8 ticks in a row, and the fraction is that
  // of a renewal process whose gaps are min(geometric, m + 1): q / (1 - (1 - q)^(m + 1)).
  o.max_staleness = 8;
  observe(o, n, d, ticks, fraction, longest);
  for (int a = 0; a < n; ++a) EXPECT_LE(longest[a], 8) << "agent " << a;
  for (int a : slow) EXPECT_EQ(longest[a], 8) << "slow agent " << a << " should have been forced at least once";
  const auto renewal = [](double q) { return q / (1.0 - std::pow(1.0 - q, 9)); };
  std::tie(f, fs) = mean_of(fraction, fast, renewal(0.5), ticks);
  std::tie(s, ss) = mean_of(fraction, slow, renewal(0.125), ticks);
  if (world_rank() == 0)
    std::printf("[ async ] max_staleness 8: active fraction fast %.4f (%.4f), slow %.4f (%.4f)\n", f, renewal(0.5), s,
                renewal(0.125));
  EXPECT_NEAR(f, renewal(0.5), 5 * fs);
  EXPECT_NEAR(s, renewal(0.125), 5 * ss);
}

TEST(AsyncGossip, GossipReachesConsensusOnARing) {
  auto spec = async_spec("async_gossip", 1.0, 8);
  spec.algorithm.activation = 0.5;
  spec.algorithm.slow_agents = {2};
  spec.algorithm.max_staleness = 8;
  LeastSquaresRun run(spec);
  run.algorithm->initialize(run.exec, initial_state(run.layout, 5, 11));
  const double start = run.measure(0).consensus_error;
  run.run(0, 1500);
  const double end = run.measure(1500).consensus_error;
  if (world_rank() == 0) std::printf("[ async ] async_gossip ring n = 8: consensus error %.3g -> %.3g\n", start, end);
  EXPECT_GT(start, 1e-2);
  EXPECT_LT(end, 1e-20);
}

TEST(AsyncGossip, OneSlowAgentCostsAsyncDsgdLessVirtualTimeThanSynchronousDsgd) {
  const double gamma = 0.1, slowdown = 4.0;
  auto spec = async_spec("async_dsgd", gamma, 8);
  spec.algorithm.activation = 1.0;  // fast agents: one gradient per time unit
  spec.algorithm.slow_agents = {0};
  spec.algorithm.slowdown = slowdown;  // the slow agent: one per 4 units (on average)
  spec.algorithm.max_staleness = 8;
  LeastSquaresRun async(spec);
  spec.algorithm = algorithm_options("dsgd", gamma, "cta");
  LeastSquaresRun sync(spec);  // every iteration waits for the slow agent: 4 units
  const double start = sync.measure(0).distance_to_solution;
  const double target = 0.05 * start;  // 1.4 x the distance both settle at (below)
  const auto first_below = [&](LeastSquaresRun& r, std::int64_t limit) -> std::int64_t {
    for (std::int64_t k = 0; k < limit; ++k) {
      if (r.measure(k).distance_to_solution < target) return k;
      r.algorithm->step(r.exec, k);
    }
    return -1;
  };
  const std::int64_t ticks = first_below(async, 4000), iterations = first_below(sync, 1000);
  ASSERT_GE(ticks, 0);
  ASSERT_GE(iterations, 0);
  if (world_rank() == 0)
    std::printf("[ async ] ||x - x*|| from %.4g to %.4g: async_dsgd %lld ticks = %lld time units; synchronous dsgd "
                "(cta) %lld iterations x %.0f = %.0f time units (ratio %.2f)\n",
                start, target, static_cast<long long>(ticks), static_cast<long long>(ticks),
                static_cast<long long>(iterations), slowdown, slowdown * iterations,
                slowdown * iterations / static_cast<double>(ticks));
  EXPECT_LT(static_cast<double>(ticks), slowdown * static_cast<double>(iterations));
  // Both settle at the same point: a fixed point of the asynchronous update (every active agent
  // leaves x unchanged, p = x) is one of DSGD (cta), whose heterogeneity bias remains.
  async.run(ticks, 3000);
  sync.run(iterations, 750);
  const double async_end = async.measure(3000).distance_to_solution, sync_end = sync.measure(750).distance_to_solution;
  if (world_rank() == 0) std::printf("[ async ] settled: async_dsgd %.10g, dsgd %.10g\n", async_end, sync_end);
  EXPECT_NEAR(async_end, sync_end, 1e-8 * sync_end);
  EXPECT_LT(target, 1.5 * sync_end);
}

TEST(AsyncGossip, RefusesSlowAgentsThatDoNotExist) {
  auto spec = async_spec("async_dsgd", 0.05, 8);
  spec.algorithm.slow_agents = {2, 8};
  const std::string m = message_of([&] { LeastSquaresRun run(spec); });
  EXPECT_NE(m.find("slow_agents lists agent 8, but there are 8 agents"), std::string::npos) << m;
}
