// The Mixer's exchange machinery: fused multi-vector exchanges, the start/finish split, uneven
// blocks, agents whose neighbours all live on other ranks, consistent send/receive patterns, and
// the errors for bad layouts and arguments.
#include <gtest/gtest.h>
#include <mpi.h>

#include <array>
#include <set>
#include <string>

#include "concord/mixing/mixer.hpp"
#include "concord/mixing/plan.hpp"
#include "mixing_support.hpp"

using namespace concord_test;
using concord::AgentLayout;
using concord::AgentMatrix;

namespace {

constexpr double kTolerance = 1e-13;

struct Named {
  const char* name;
  int n;
  std::map<std::string, std::string> params;
};

concord::topology::Topology build(const Named& c) { return concord::topology::make_topology(c.name, c.n, c.params, 9); }

std::string label(const Named& c) { return std::string(c.name) + "(n=" + std::to_string(c.n) + ")"; }

/// z(a, c) = 2 x(a, c) + 1 (unrelated work launched between start and finish).
struct Unrelated {
  AgentMatrix::const_type x;
  AgentMatrix z;
  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t t) const {
    const std::int64_t rows = static_cast<std::int64_t>(x.extent(0));
    z(t % rows, t / rows) = 2.0 * x(t % rows, t / rows) + 1.0;
  }
};

}  // namespace

// Fused vectors share one exchange and give exactly the bits of separate applies (and of the
// single-process fused run).
TEST(MixerExchange, FusedVectorsEqualSeparateAppliesBitForBit) {
  const Named cases[] = {{"ring", 13, {}},
                         {"star", 12, {}},
                         {"exponential", 16, {}},
                         {"od_equi_dyn", 12, {{"rounds", "5"}}},
                         {"base", 13, {{"k", "2"}}},
                         {"erdos_renyi", 10, {{"p", "0.4"}}}};
  auto transport = concord::comm::make_transport(MPI_COMM_WORLD);
  const concord::ExecutionSpace exec;
  for (const auto& c : cases) {
    const auto t = build(c);
    const auto layout = AgentLayout::over(c.n, MPI_COMM_WORLD);
    for (int d : {1, 3}) {
      concord::mixing::Mixer mixer(t, layout, transport, d, /*max_vectors=*/3);
      SelfMixer self(t, d, 3);
      const int rows = layout.local_count();
      const std::array<AgentMatrix, 3> in{initial_state(layout, d, 1), initial_state(layout, d, 2),
                                          initial_state(layout, d, 3)};
      const std::array<AgentMatrix, 3> self_in{initial_state(self.layout, d, 1), initial_state(self.layout, d, 2),
                                               initial_state(self.layout, d, 3)};
      for (std::int64_t k = 0; k <= t.period(); ++k) {
        for (std::size_t vectors : {2u, 3u}) {
          std::array<AgentMatrix, 3> fused, separate, self_out;
          for (std::size_t v = 0; v < vectors; ++v) {
            fused[v] = AgentMatrix("fused", rows, d);
            separate[v] = AgentMatrix("separate", rows, d);
            self_out[v] = AgentMatrix("self", c.n, d);
          }
          mixer.apply(exec, k, std::span<const AgentMatrix>(in.data(), vectors),
                      std::span<const AgentMatrix>(fused.data(), vectors));
          for (std::size_t v = 0; v < vectors; ++v) mixer.apply(exec, k, in[v], separate[v]);
          self.mixer.apply(exec, k, std::span<const AgentMatrix>(self_in.data(), vectors),
                           std::span<const AgentMatrix>(self_out.data(), vectors));
          for (std::size_t v = 0; v < vectors; ++v) {
            EXPECT_TRUE(bit_identical(local_rows(fused[v]), local_rows(separate[v])))
                << label(c) << " d=" << d << " k=" << k << " vectors=" << vectors << " v=" << v;
            EXPECT_TRUE(bit_identical(gather_rows(layout, fused[v]), local_rows(self_out[v])))
                << label(c) << " d=" << d << " k=" << k << " vectors=" << vectors << " v=" << v << " vs one process";
          }
        }
      }
    }
  }
}

// start(); other kernels and host work; finish() gives the bits of apply().
TEST(MixerExchange, SplitPhaseWithWorkInBetweenEqualsApply) {
  const Named cases[] = {{"ring", 10, {}}, {"star", 7, {}}, {"one_peer_exponential", 12, {}}, {"grid", 12, {}}};
  auto transport = concord::comm::make_transport(MPI_COMM_WORLD);
  const concord::ExecutionSpace exec;
  for (const auto& c : cases) {
    const auto t = build(c);
    const auto layout = AgentLayout::over(c.n, MPI_COMM_WORLD);
    const int d = 3, rows = layout.local_count();
    concord::mixing::Mixer mixer(t, layout, transport, d);
    const AgentMatrix x = initial_state(layout, d, 5), g = initial_state(layout, d, 6);
    for (std::int64_t k = 0; k < t.period() + 1; ++k) {
      AgentMatrix y_apply("y_apply", rows, d), y_split("y_split", rows, d), z("z", rows, d);
      AgentMatrix h_apply("h_apply", rows, d), h_split("h_split", rows, d);
      mixer.apply(exec, k, x, y_apply);
      mixer.apply(exec, k, g, h_apply);

      const std::array<AgentMatrix, 2> in{x, g}, out{y_split, h_split};
      mixer.start(exec, k, std::span<const AgentMatrix>(in.data(), 1), std::span<const AgentMatrix>(out.data(), 1));
      EXPECT_TRUE(mixer.in_flight());
      Kokkos::parallel_for("unrelated", Kokkos::RangePolicy<concord::ExecutionSpace>(exec, 0, std::int64_t{rows} * d),
                           Unrelated{x, z});
      volatile double host_work = 0.0;
      for (int i = 0; i < 10000; ++i) host_work = host_work + 1e-3 * i;
      mixer.finish(exec);
      EXPECT_FALSE(mixer.in_flight());
      EXPECT_TRUE(bit_identical(local_rows(y_split), local_rows(y_apply))) << label(c) << " k=" << k;

      // Fused, split.
      AgentMatrix y2("y2", rows, d);
      const std::array<AgentMatrix, 2> out2{y2, h_split};
      mixer.start(exec, k, in, out2);
      Kokkos::parallel_for("unrelated", Kokkos::RangePolicy<concord::ExecutionSpace>(exec, 0, std::int64_t{rows} * d),
                           Unrelated{g, z});
      mixer.finish(exec);
      EXPECT_TRUE(bit_identical(local_rows(y2), local_rows(y_apply))) << label(c) << " k=" << k << " fused";
      EXPECT_TRUE(bit_identical(local_rows(h_split), local_rows(h_apply))) << label(c) << " k=" << k << " fused";
      // The unrelated kernel did its work too.
      const auto zr = local_rows(z), gr = local_rows(g);
      for (std::size_t i = 0; i < zr.size(); ++i) EXPECT_EQ(zr[i], 2.0 * gr[i] + 1.0);
    }
  }
}

// Blocks of unequal size (n not divisible by P) and d = 1 or 5, many steps.
TEST(MixerExchange, AgentCountsNotDivisibleByRanks) {
  auto transport = concord::comm::make_transport(MPI_COMM_WORLD);
  for (int n : {7, 10, 13}) {
    const Named cases[] = {{"ring", n, {}},
                           {"star", n, {}},
                           {"exponential", n, {}},
                           {"erdos_renyi", n, {{"p", "0.4"}}},
                           {"base", n, {}},
                           {"one_peer_exponential", n, {}},
                           {"u_equi_static", n, {{"M", "3"}}},
                           {"ou_equi_dyn", n, {{"rounds", "4"}}}};
    const auto layout = AgentLayout::over(n, MPI_COMM_WORLD);
    for (const auto& c : cases) {
      const auto t = build(c);
      for (int d : {1, 5}) {
        concord::mixing::Mixer mixer(t, layout, transport, d);
        SelfMixer self(t, d);
        const int steps = 2 * t.period() + 1;
        const auto dist = gather_rows(layout, run_steps(mixer, initial_state(layout, d, 8), 0, steps));
        const auto single = local_rows(run_steps(self.mixer, initial_state(self.layout, d, 8), 0, steps));
        const auto expected = dense_reference(t, initial_rows(n, d, 8), d, 0, steps);
        EXPECT_LE(max_abs_diff(dist, expected), kTolerance) << label(c) << " d=" << d;
        EXPECT_TRUE(bit_identical(dist, single)) << label(c) << " d=" << d;
      }
    }
  }
}

// n = 4: with P = 4 every rank holds one agent and every neighbour is remote (ring), or agent 0
// reads from three other ranks (star).
TEST(MixerExchange, AgentsWhoseNeighboursAreAllRemote) {
  auto transport = concord::comm::make_transport(MPI_COMM_WORLD);
  const int p = world_size(), rank = world_rank();
  for (const char* name : {"ring", "star", "complete"}) {
    const auto t = concord::topology::make_topology(name, 4, {}, 0);
    const auto layout = AgentLayout::over(4, MPI_COMM_WORLD);
    concord::mixing::Mixer mixer(t, layout, transport, 2);
    const auto& plan = mixer.plan(0);
    if (p == 4) {
      EXPECT_EQ(plan.owned_rows(), 1);
      EXPECT_EQ(plan.interior_count(), 0) << name;
      EXPECT_EQ(plan.boundary_count(), 1) << name;
      const int expected_halo = std::string(name) == "ring" ? 2 : (std::string(name) == "star" && rank != 0 ? 1 : 3);
      EXPECT_EQ(plan.halo_rows(), expected_halo) << name << " rank " << rank;
    }
    for (int h = 0; h < plan.halo_rows(); ++h) EXPECT_FALSE(layout.is_local(plan.halo_agents()[h]));
    for (int d : {1, 2}) {
      concord::mixing::Mixer m(t, layout, transport, d);
      SelfMixer self(t, d);
      for (int steps : {1, 7}) {
        const auto dist = gather_rows(layout, run_steps(m, initial_state(layout, d, 4), 0, steps));
        const auto single = local_rows(run_steps(self.mixer, initial_state(self.layout, d, 4), 0, steps));
        EXPECT_LE(max_abs_diff(dist, dense_reference(t, initial_rows(4, d, 4), d, 0, steps)), kTolerance) << name;
        EXPECT_TRUE(bit_identical(dist, single)) << name << " d=" << d << " steps=" << steps;
      }
    }
  }
}

// What a rank sends to q is exactly what q expects from it, for every round of every topology.
TEST(MixerExchange, SendAndReceivePatternsAgreeAcrossRanks) {
  const int p = world_size(), rank = world_rank();
  auto transport = concord::comm::make_transport(MPI_COMM_WORLD);
  const auto cases = catalogue_cases({13, 16}, nullptr);
  for (const auto& tc : cases) {
    const auto layout = AgentLayout::over(tc.n, MPI_COMM_WORLD);
    concord::mixing::Mixer mixer(tc.topology, layout, transport, 1);
    for (int r = 0; r < tc.topology.period(); ++r) {
      const auto& plan = mixer.plan(r);
      const auto& w = tc.topology.round(r);
      std::vector<long long> send_rows(static_cast<std::size_t>(p), 0), recv_rows(static_cast<std::size_t>(p), 0),
          expected_recv(static_cast<std::size_t>(p), 0);
      for (const auto& b : plan.pattern().sends) send_rows[static_cast<std::size_t>(b.rank)] = b.rows;
      for (const auto& b : plan.pattern().recvs) recv_rows[static_cast<std::size_t>(b.rank)] = b.rows;
      MPI_Alltoall(send_rows.data(), 1, MPI_LONG_LONG, expected_recv.data(), 1, MPI_LONG_LONG, MPI_COMM_WORLD);
      EXPECT_EQ(recv_rows, expected_recv) << tc.label() << " round " << r;
      EXPECT_EQ(send_rows[static_cast<std::size_t>(rank)], 0);
      // The halo is exactly the set of remote columns of the owned rows.
      std::set<int> remote;
      for (int i = layout.local_first(); i < layout.local_first() + layout.local_count(); ++i)
        for (int j : w.row_cols(i))
          if (!layout.is_local(j)) remote.insert(j);
      EXPECT_EQ(std::vector<int>(remote.begin(), remote.end()), plan.halo_agents()) << tc.label() << " round " << r;
      EXPECT_EQ(plan.pattern().recv_rows(), plan.halo_rows());
      EXPECT_EQ(plan.interior_count() + plan.boundary_count(), layout.local_count());
    }
  }
}

// A layout that would leave a rank without agents is refused with a clear message.
TEST(MixerExchange, RankWithoutAgentsIsRefused) {
  for (int r = 0; r < 4; ++r) {
    const std::string msg = message_of([&] { AgentLayout(3, 4, r); });
    EXPECT_THROW(AgentLayout(3, 4, r), concord::InputError);
    EXPECT_NE(msg.find("3 agents"), std::string::npos) << msg;
    EXPECT_NE(msg.find("4 MPI ranks"), std::string::npos) << msg;
  }
  const int p = world_size();
  if (p > 1) {
    EXPECT_THROW(AgentLayout::over(p - 1, MPI_COMM_WORLD), concord::InputError);
  }
  EXPECT_THROW(AgentLayout(0, 1, 0), concord::InputError);
  EXPECT_THROW(AgentLayout(5, 2, 2), concord::InputError);
  EXPECT_THROW(AgentLayout(5, 0, 0), concord::InputError);
}

TEST(MixerExchange, MixerRejectsBadArguments) {
  auto transport = concord::comm::make_transport(MPI_COMM_WORLD);
  const auto t = concord::topology::make_topology("ring", 12, {}, 0);
  const auto layout = AgentLayout::over(12, MPI_COMM_WORLD);
  const int rows = layout.local_count(), d = 3;
  concord::mixing::Mixer mixer(t, layout, transport, d, 2);
  const concord::ExecutionSpace exec;
  AgentMatrix x = initial_state(layout, d, 1), y("y", rows, d), g = initial_state(layout, d, 2), h("h", rows, d);
  AgentMatrix too_many_rows("bad", rows + 1, d), too_few_columns("bad", rows, d - 1);

  using Span = std::span<const AgentMatrix>;
  EXPECT_THROW(mixer.apply(exec, 0, too_many_rows, y), concord::UsageError);
  EXPECT_THROW(mixer.apply(exec, 0, x, too_many_rows), concord::UsageError);
  EXPECT_THROW(mixer.apply(exec, 0, too_few_columns, y), concord::UsageError);
  EXPECT_NE(message_of([&] { mixer.apply(exec, 0, x, too_few_columns); }).find("local agents x dimension"),
            std::string::npos);
  EXPECT_THROW(mixer.apply(exec, 0, x, x), concord::UsageError);
  EXPECT_NE(message_of([&] { mixer.apply(exec, 0, x, x); }).find("alias"), std::string::npos);
  {
    const std::array<AgentMatrix, 2> in{x, g}, out{h, x};  // out[1] aliases in[0]
    EXPECT_THROW(mixer.apply(exec, 0, Span(in), Span(out)), concord::UsageError);
  }
  {
    AgentMatrix e("e", rows, d), f("f", rows, d);
    const std::array<AgentMatrix, 3> in{x, g, e}, out{y, h, f};
    EXPECT_THROW(mixer.apply(exec, 0, Span(in), Span(out)), concord::UsageError);
    EXPECT_THROW(mixer.apply(exec, 0, Span(in.data(), 2), Span(out.data(), 1)), concord::UsageError);
    EXPECT_THROW(mixer.apply(exec, 0, Span(), Span()), concord::UsageError);
  }
  EXPECT_THROW(mixer.apply(exec, -1, x, y), concord::UsageError);
  EXPECT_FALSE(mixer.in_flight());

  // Split-phase misuse.
  EXPECT_THROW(mixer.finish(exec), std::logic_error);
  mixer.start(exec, 0, Span(&x, 1), Span(&y, 1));
  EXPECT_THROW(mixer.start(exec, 1, Span(&g, 1), Span(&h, 1)), std::logic_error);
  mixer.finish(exec);

  // After the rejections the mixer still works and agrees with a fresh one.
  mixer.apply(exec, 0, x, y);
  concord::mixing::Mixer fresh(t, layout, transport, d, 2);
  fresh.apply(exec, 0, x, h);
  EXPECT_TRUE(bit_identical(local_rows(y), local_rows(h)));

  // Construction errors.
  const auto t13 = concord::topology::make_topology("ring", 13, {}, 0);
  EXPECT_THROW(concord::mixing::Mixer(t13, layout, transport, d), concord::InputError);
  const std::string msg = message_of([&] { concord::mixing::Mixer(t13, layout, transport, d); });
  EXPECT_NE(msg.find("13 agents"), std::string::npos) << msg;
  EXPECT_NE(msg.find("12"), std::string::npos) << msg;
  EXPECT_THROW(concord::mixing::Mixer(t, layout, transport, 0), concord::InputError);
  EXPECT_THROW(concord::mixing::Mixer(t, layout, transport, d, 0), concord::InputError);
  EXPECT_THROW(concord::mixing::Mixer(t, layout, nullptr, d), std::logic_error);
  // A layout over more ranks than the transport spans.
  const int p = world_size();
  EXPECT_THROW(concord::mixing::Mixer(t, AgentLayout(12, p + 1, 0), transport, d), concord::InputError);
  if (p > 1) {
    EXPECT_THROW(concord::mixing::Mixer(t, layout, concord::comm::make_transport(MPI_COMM_SELF), d),
                 concord::InputError);
  }
}
