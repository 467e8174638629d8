// AgentLayout (contiguous, balanced blocks) and the counter-based random streams (device draws
// equal host draws bit for bit; keyed by ids, not by rank).
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdint>
#include <limits>
#include <set>

#include "mixing_support.hpp"

using namespace concord_test;
using concord::AgentLayout;

TEST(AgentLayout, BlocksAreContiguousBalancedAndOwnedOnce) {
  for (int n = 1; n <= 40; ++n)
    for (int p = 1; p <= std::min(n, 17); ++p) {
      std::vector<int> owner_count(static_cast<std::size_t>(n), 0);
      for (int rank = 0; rank < p; ++rank) {
        const AgentLayout layout(n, p, rank);
        ASSERT_EQ(layout.agents(), n);
        ASSERT_EQ(layout.ranks(), p);
        ASSERT_EQ(layout.rank(), rank);
        EXPECT_EQ(layout.local_first(), layout.first(rank));
        EXPECT_EQ(layout.local_count(), layout.count(rank));
        for (int a = 0; a < n; ++a) {
          const bool mine = a >= layout.first(rank) && a < layout.first(rank) + layout.count(rank);
          EXPECT_EQ(layout.is_local(a), mine) << "n=" << n << " p=" << p << " rank=" << rank << " a=" << a;
          if (mine) ++owner_count[static_cast<std::size_t>(a)];
        }
        if (rank > 0) continue;
        // Rank-independent facts, checked once per (n, p).
        int min_count = n, max_count = 0;
        EXPECT_EQ(layout.first(0), 0);
        for (int r = 0; r < p; ++r) {
          const int c = layout.count(r);
          EXPECT_GE(c, 1) << "n=" << n << " p=" << p << " r=" << r;
          min_count = std::min(min_count, c);
          max_count = std::max(max_count, c);
          if (r + 1 < p) {
            EXPECT_EQ(layout.first(r + 1), layout.first(r) + c) << "n=" << n << " p=" << p;
          }
          if (r > 0) {
            EXPECT_LE(c, layout.count(r - 1)) << "larger blocks come first";
          }
          for (int a = layout.first(r); a < layout.first(r) + c; ++a)
            EXPECT_EQ(layout.owner(a), r) << "n=" << n << " p=" << p << " a=" << a;
        }
        EXPECT_EQ(layout.first(p - 1) + layout.count(p - 1), n);
        EXPECT_LE(max_count - min_count, 1) << "n=" << n << " p=" << p;
      }
      for (int a = 0; a < n; ++a)
        EXPECT_EQ(owner_count[static_cast<std::size_t>(a)], 1) << "n=" << n << " p=" << p << " agent " << a;
    }
  const AgentLayout example(10, 4, 1);
  EXPECT_EQ(example.first(1), 3);
  EXPECT_EQ(example.count(1), 3);
  EXPECT_EQ(example.owner(9), 3);
}

TEST(AgentLayout, OverWorldCoversEveryAgentOnce) {
  const int p = world_size(), rank = world_rank();
  for (int n : {4, 7, 10, 13, 16, 101}) {
    const auto layout = AgentLayout::over(n, MPI_COMM_WORLD);
    EXPECT_EQ(layout.ranks(), p);
    EXPECT_EQ(layout.rank(), rank);
    std::vector<int> mine(static_cast<std::size_t>(n), 0), total(static_cast<std::size_t>(n), 0);
    for (int a = layout.local_first(); a < layout.local_first() + layout.local_count(); ++a)
      mine[static_cast<std::size_t>(a)] = 1;
    MPI_Allreduce(mine.data(), total.data(), n, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    for (int a = 0; a < n; ++a) EXPECT_EQ(total[static_cast<std::size_t>(a)], 1) << "n=" << n << " agent " << a;
  }
}

namespace concord_test {

inline constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();
inline constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

/// Draws of the stream (seed, purpose, agent, iteration) for t = agent + agents * iteration.
struct DrawOnDevice {
  Kokkos::View<std::uint64_t**, concord::MemorySpace> raw;
  Kokkos::View<double*, concord::MemorySpace> uniform;
  Kokkos::View<std::int64_t**, concord::MemorySpace> ints;
  Kokkos::View<std::uint64_t*, concord::MemorySpace> draws;
  std::uint64_t seed, purpose;
  std::int64_t agents;
  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t t) const {
    auto s = concord::agent_stream(seed, purpose, static_cast<std::uint64_t>(t % agents),
                                   static_cast<std::uint64_t>(t / agents));
    for (std::size_t j = 0; j < raw.extent(1); ++j) raw(t, j) = s.next();
    uniform(t) = s.uniform();
    ints(t, 0) = s.uniform_int(-5, 17);
    ints(t, 1) = s.uniform_int(0, (std::int64_t{1} << 40) + 12345);
    ints(t, 2) = s.uniform_int(kInt64Min, kInt64Max);
    ints(t, 3) = s.uniform_int(7, 7);
    draws(t) = s.draws();
  }
};

}  // namespace concord_test

TEST(RandomStream, DeviceDrawsEqualHostDrawsBitForBit) {
  constexpr std::int64_t agents = 37, iterations = 11, total = agents * iterations;
  constexpr std::size_t raw_per = 4;
  for (std::uint64_t purpose : {concord::stream_purpose::sampling, concord::stream_purpose::data}) {
    DrawOnDevice f{Kokkos::View<std::uint64_t**, concord::MemorySpace>("raw", total, raw_per),
                   Kokkos::View<double*, concord::MemorySpace>("uniform", total),
                   Kokkos::View<std::int64_t**, concord::MemorySpace>("ints", total, 4),
                   Kokkos::View<std::uint64_t*, concord::MemorySpace>("draws", total),
                   2024,
                   purpose,
                   agents};
    Kokkos::parallel_for("concord_test::draw", Kokkos::RangePolicy<concord::ExecutionSpace>(0, total), f);
    Kokkos::fence();
    auto raw = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), f.raw);
    auto uniform = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), f.uniform);
    auto ints = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), f.ints);
    auto draws = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), f.draws);
    std::uint64_t hash = 0;
    int mismatches = 0;
    for (std::int64_t t = 0; t < total; ++t) {
      auto s = concord::agent_stream(2024, purpose, static_cast<std::uint64_t>(t % agents),
                                     static_cast<std::uint64_t>(t / agents));
      for (std::size_t j = 0; j < raw_per; ++j) mismatches += raw(t, j) != s.next();
      mismatches += bits_of(uniform(t)) != bits_of(s.uniform());
      mismatches += ints(t, 0) != s.uniform_int(-5, 17);
      mismatches += ints(t, 1) != s.uniform_int(0, (std::int64_t{1} << 40) + 12345);
      mismatches += ints(t, 2) != s.uniform_int(kInt64Min, kInt64Max);
      mismatches += ints(t, 3) != s.uniform_int(7, 7);
      mismatches += draws(t) != s.draws();
      EXPECT_GE(uniform(t), 0.0);
      EXPECT_LT(uniform(t), 1.0);
      EXPECT_GE(ints(t, 0), -5);
      EXPECT_LE(ints(t, 0), 17);
      EXPECT_EQ(ints(t, 3), 7);
      hash = concord::mix64(hash ^ raw(t, 0) ^ bits_of(uniform(t)));
    }
    EXPECT_EQ(mismatches, 0) << "purpose " << purpose;
    // Same numbers on every rank.
    EXPECT_TRUE(same_on_all_ranks(hash)) << "purpose " << purpose;
  }
}

TEST(RandomStream, DifferentKeysGiveDifferentStreams) {
  std::set<std::uint64_t> first_draws;
  std::size_t streams = 0;
  for (std::uint64_t purpose = 1; purpose <= 4; ++purpose)
    for (std::uint64_t agent = 0; agent < 40; ++agent)
      for (std::uint64_t iteration = 0; iteration < 25; ++iteration) {
        first_draws.insert(concord::agent_stream(99, purpose, agent, iteration).next());
        ++streams;
      }
  EXPECT_EQ(first_draws.size(), streams) << "two (purpose, agent, iteration) keys share a stream";
  // Key order and seed matter; the same identity repeats exactly.
  EXPECT_NE(concord::agent_stream(1, 2, 3, 4).next(), concord::agent_stream(1, 2, 4, 3).next());
  EXPECT_NE(concord::agent_stream(1, 2, 3, 4).next(), concord::agent_stream(2, 2, 3, 4).next());
  auto a = concord::agent_stream(5, 3, 8, 13), b = concord::agent_stream(5, 3, 8, 13);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next(), b.next());
  // Successive draws of one stream differ, and uniform() is roughly uniform.
  concord::RandomStream s(17, concord::stream_purpose::initial);
  double sum = 0.0;
  for (int i = 0; i < 20000; ++i) sum += s.uniform();
  EXPECT_NEAR(sum / 20000, 0.5, 0.01);
  concord::RandomStream t(17);
  std::set<std::uint64_t> successive;
  for (int i = 0; i < 1000; ++i) successive.insert(t.next());
  EXPECT_EQ(successive.size(), 1000u);
  EXPECT_EQ(t.draws(), 1000u);
  // Usable in constant expressions (hence identical on every compiler/target).
  constexpr std::uint64_t compile_time = concord::agent_stream(1, 2, 3, 4).next();
  EXPECT_EQ(compile_time, concord::agent_stream(1, 2, 3, 4).next());
}

TEST(RandomStream, StreamsOfOwnedAgentsDoNotDependOnTheRank) {
  // Each rank draws for the agents it owns (by global id); gathered, the draws equal the host
  // draws of every agent, for any number of ranks.
  constexpr int n = 13, d = 4;
  const auto layout = AgentLayout::over(n, MPI_COMM_WORLD);
  const auto rows = gather_rows(layout, initial_state(layout, d, 555));
  EXPECT_TRUE(bit_identical(rows, initial_rows(n, d, 555)));
  std::uint64_t h = 0;
  for (double v : rows) h = concord::mix64(h ^ bits_of(v));
  EXPECT_TRUE(same_on_all_ranks(h));
}
