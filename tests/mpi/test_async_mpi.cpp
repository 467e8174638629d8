// Asynchronous gossip over MPI (async_dsgd_mpi, async_gossip_mpi, mixing::AsyncMixer,
// comm::StampedExchange): with max_staleness 0 it is synchronous DSGD (cta) and gossip bit for
// bit, whatever the ranks' speeds; with staleness, a straggler rank and random delays on every
// rank it neither deadlocks nor loses a message (a drain leaves every rank holding its
// neighbours' current rows, so the next mix equals the synchronous Mixer's bit for bit, also for
// messages above MPI's eager limit); a slow rank skips ticks; async gossip reaches consensus inside
// the initial values' range and async DSGD reaches x*'s neighbourhood.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "algorithm_support.hpp"
#include "concord/mixing/async_mixer.hpp"

using namespace concord_test;

namespace {

/// A pseudo-random delay for (rank, tick): none for most ticks, up to `max_us` microseconds for
/// the others; a fixed function so that failures replay.
void random_delay(int rank, std::int64_t k, int max_us) {
  auto s = concord::agent_stream(99, concord::stream_purpose::asynchrony, static_cast<std::uint64_t>(rank),
                                 static_cast<std::uint64_t>(k));
  if (s.uniform() < 0.7) return;
  std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int>(s.uniform() * max_us)));
}

RunSpec spec_of(const std::string& algorithm, double gamma, int staleness) {
  RunSpec spec;
  spec.agents = 12;
  spec.data = {20, 6, 1.0, 0.1};  // heterogeneous least squares
  spec.algorithm = algorithm_options(algorithm, gamma, "cta");
  spec.algorithm.max_staleness = staleness;
  return spec;
}

}  // namespace

TEST(AsyncMpi, SynchronousLimitIsDsgdCtaAndGossipBitForBit) {
  for (const auto& [async, sync] : {std::pair{"async_dsgd_mpi", "dsgd"}, std::pair{"async_gossip_mpi", "gossip"}}) {
    for (const bool straggler : {false, true}) {
      auto spec = spec_of(async, 0.05, 0);
      if (straggler) {  // the last rank 3x slower: timing changes, the bits may not
        spec.algorithm.straggler_ranks = {world_size() - 1};
        spec.algorithm.straggler_slowdown = 3.0;
      }
      LeastSquaresRun a(spec);
      spec.algorithm = algorithm_options(sync, 0.05, "cta");
      LeastSquaresRun s(spec);
      a.algorithm->initialize(a.exec, initial_state(a.layout, 6, 5));
      s.algorithm->initialize(s.exec, initial_state(s.layout, 6, 5));
      for (std::int64_t k = 0; k < 90; ++k) {
        random_delay(world_rank(), k, 200);
        a.algorithm->step(a.exec, k);
        s.algorithm->step(s.exec, k);
        if ((k + 1) % 30 == 0) a.algorithm->synchronize(a.exec);
      }
      EXPECT_TRUE(all_ranks(bit_identical(a.models(), s.models()))) << async << " straggler " << straggler;
      EXPECT_NE(a.algorithm->activity().find("updates per rank 90 to 90 (ticks 90)"), std::string::npos)
          << a.algorithm->activity();
    }
  }
}

TEST(AsyncMpi, DrainLeavesEveryNeighboursCurrentRowsDespiteDelays) {
  // Dimension 3 (small messages) and 40,000 (320 kB rows: above MPI's eager limit, so a send
  // completes only once its receiver takes part).
  for (const int d : {3, 40000}) {
    for (const int staleness : {0, 2, 6}) {
      const int n = 10;
      MPI_Comm comm = MPI_COMM_WORLD;
      const auto layout = concord::AgentLayout::over(n, comm);
      auto transport = concord::comm::make_transport(comm);
      const auto topology = concord::topology::make_topology("exponential", n, {}, 1);
      concord::mixing::Mixer mixer(topology, layout, transport, d);
      concord::mixing::AsyncMixer am(mixer, staleness);
      concord::ExecutionSpace exec;
      concord::AgentMatrix x = initial_state(layout, d, 3);
      concord::AgentMatrix out("concord_test::out", layout.local_count(), d);
      concord::AgentMatrix reference("concord_test::reference", layout.local_count(), d);
      const std::int64_t ticks = d > 100 ? 24 : 120, every = ticks / 3;
      std::int64_t skipped = 0;
      am.prime(exec, 0, x);
      for (std::int64_t k = 0; k < ticks; ++k) {
        // The last rank is slow at every tick; the others sometimes.
        if (world_rank() == world_size() - 1 && world_size() > 1)
          std::this_thread::sleep_for(std::chrono::microseconds(d > 100 ? 3000 : 400));
        random_delay(world_rank(), k, d > 100 ? 2000 : 300);
        if (!am.updates_at(k)) {
          am.poll(k);
          ++skipped;
        } else {
          am.mix(exec, k, x, out);
          Kokkos::deep_copy(exec, x, out);
          am.publish(exec, k, x);
        }
        if ((k + 1) % every == 0) {
          am.drain();
          // Every rank now holds its neighbours' current rows: the next mix is the synchronous one.
          am.mix(exec, k + 1, x, out);
          mixer.apply(exec, k + 1, x, reference);
          exec.fence();
          EXPECT_TRUE(all_ranks(bit_identical(local_rows(out), local_rows(reference))))
              << "d " << d << " staleness " << staleness << " tick " << k + 1;
        }
      }
      const long long updates = am.updates();
      const long long fewest = concord::comm::allreduce_min(updates, comm);
      if (staleness == 0) EXPECT_EQ(fewest, ticks);  // synchronous: every rank at every tick
      if (world_rank() == 0 && world_size() > 1)
        std::printf("[ async ] d %d, max staleness %d: %lld of %lld ticks updated on the slowest rank\n", d,
                    staleness, fewest, static_cast<long long>(ticks));
      EXPECT_EQ(skipped + am.updates(), ticks);
    }
  }
}

TEST(AsyncMpi, GossipWithAStragglerReachesConsensusInsideTheInitialRange) {
  auto spec = spec_of("async_gossip_mpi", 1.0, 4);
  spec.agents = 8;
  spec.algorithm.straggler_ranks = {world_size() - 1};
  spec.algorithm.straggler_slowdown = 4.0;
  LeastSquaresRun run(spec);
  run.algorithm->initialize(run.exec, initial_state(run.layout, 6, 11));
  const auto initial = run.models();
  const double start = run.measure(0).consensus_error;
  for (std::int64_t k = 0; k < 1200; ++k) {
    run.algorithm->step(run.exec, k);
    if ((k + 1) % 300 == 0) run.algorithm->synchronize(run.exec);
  }
  const double end = run.measure(1200).consensus_error;
  const auto final_models = run.models();
  for (int c = 0; c < 6; ++c) {  // each coordinate ends inside the range its initial values span
    double lo = 1e300, hi = -1e300;
    for (int a = 0; a < spec.agents; ++a) {
      lo = std::min(lo, initial[a * 6 + c]);
      hi = std::max(hi, initial[a * 6 + c]);
    }
    for (int a = 0; a < spec.agents; ++a) {
      EXPECT_GE(final_models[a * 6 + c], lo);
      EXPECT_LE(final_models[a * 6 + c], hi);
    }
  }
  if (world_rank() == 0)
    std::printf("[ async ] async_gossip_mpi ring n = 8, straggler x4: consensus error %.3g -> %.3g; %s\n", start, end,
                run.algorithm->activity().c_str());
  EXPECT_GT(start, 1e-2);
  EXPECT_LT(end, 1e-20);
}

TEST(AsyncMpi, DsgdWithAStragglerReachesTheNeighbourhoodOfTheSolution) {
  const double gamma = 0.05;
  auto spec = spec_of("async_dsgd_mpi", gamma, 8);
  spec.algorithm.straggler_ranks = {world_size() - 1};
  spec.algorithm.straggler_slowdown = 4.0;
  LeastSquaresRun run(spec);
  auto sync_spec = spec_of("dsgd", gamma, 0);
  sync_spec.algorithm = algorithm_options("dsgd", gamma, "cta");
  LeastSquaresRun sync(sync_spec);
  const double start = run.measure(0).distance_to_solution;
  for (std::int64_t k = 0; k < 2000; ++k) {
    run.algorithm->step(run.exec, k);
    sync.algorithm->step(sync.exec, k);
    if ((k + 1) % 500 == 0) run.algorithm->synchronize(run.exec);
  }
  const double end = run.measure(2000).distance_to_solution, floor = sync.measure(2000).distance_to_solution;
  if (world_rank() == 0)
    std::printf("[ async ] async_dsgd_mpi, straggler x4: ||x - x*|| %.4g -> %.4g (synchronous dsgd: %.4g); %s\n",
                start, end, floor, run.algorithm->activity().c_str());
  EXPECT_LT(end, 0.05 * start);
  EXPECT_LT(end, 3.0 * floor + 1e-12);  // the fixed point moves with the ranks' update rates, not far
}

TEST(AsyncMpi, RefusesTimeVaryingTopologiesAndNegativeStaleness) {
  auto spec = spec_of("async_dsgd_mpi", 0.05, 2);
  spec.topology = "one_peer_exponential";
  const std::string msg = message_of([&] { LeastSquaresRun run(spec); });
  EXPECT_NE(msg.find("needs a static topology"), std::string::npos) << msg;
  spec.topology = "ring";
  spec.algorithm.max_staleness = -1;
  const std::string negative = message_of([&] { LeastSquaresRun run(spec); });
  EXPECT_NE(negative.find("max_staleness must be >= 0"), std::string::npos) << negative;
  spec.algorithm.max_staleness = 2;
  spec.algorithm.straggler_ranks = {world_size()};
  const std::string rank = message_of([&] { LeastSquaresRun run(spec); });
  EXPECT_NE(rank.find("straggler_ranks: rank"), std::string::npos) << rank;
}
