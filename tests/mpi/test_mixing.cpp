// Distributed mixing against independent references, for every topology of the catalogue:
//  - a dense host computation of W(k)...W(0) X built from WeightMatrix::operator() (1e-13);
//  - the same Mixer run on one rank with every agent and the in_process transport, which must be
//    bit-identical to the distributed result (hence P = 1, 2, 4 all agree bit for bit);
//  - consensus: the error decays at least as fast as rho^k, the mean is preserved, and
//    finite-time topologies reach the exact average after one period.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "concord/core/detail/host_isa.hpp"
#include "concord/mixing/detail/kernels.hpp"
#include "concord/mixing/mixer.hpp"
#include "concord/mixing/reproducible_sum.hpp"
#include "concord/topology/analysis.hpp"
#include "mixing_support.hpp"

using namespace concord_test;
using concord::AgentLayout;
using concord::AgentMatrix;

namespace {

constexpr double kTolerance = 1e-13;

/// Runs `steps` steps from k0 on the distributed layout and on the single-process reference and
/// checks both against the dense reference and against each other (bit for bit).
void check_steps(const TopologyCase& tc, concord::mixing::Mixer& mixer, SelfMixer& self, int d, std::uint64_t seed,
                 std::int64_t k0, int steps) {
  const auto& layout = mixer.layout();
  const AgentMatrix x = initial_state(layout, d, seed);
  const AgentMatrix x_self = initial_state(self.layout, d, seed);

  const std::vector<double> dist = gather_rows(layout, run_steps(mixer, x, k0, steps));
  const std::vector<double> single = local_rows(run_steps(self.mixer, x_self, k0, steps));
  const std::vector<double> expected = dense_reference(tc.topology, initial_rows(tc.n, d, seed), d, k0, steps);

  EXPECT_LE(max_abs_diff(dist, expected), kTolerance)
      << tc.label() << " d=" << d << " k0=" << k0 << " steps=" << steps << ": distributed vs dense";
  EXPECT_LE(max_abs_diff(single, expected), kTolerance)
      << tc.label() << " d=" << d << " k0=" << k0 << " steps=" << steps << ": single process vs dense";
  EXPECT_TRUE(bit_identical(dist, single))
      << tc.label() << " d=" << d << " k0=" << k0 << " steps=" << steps
      << ": distributed result differs from the single-process result (max diff " << max_abs_diff(dist, single)
      << ")";
}

/// The consensus error ||X - 1 mean(X)||_F of row-major rows (n x d), and the mean.
double consensus_error(const std::vector<double>& rows, int n, int d, std::vector<double>* mean_out = nullptr) {
  std::vector<double> mean(static_cast<std::size_t>(d), 0.0);
  for (int a = 0; a < n; ++a)
    for (int c = 0; c < d; ++c) mean[static_cast<std::size_t>(c)] += rows[static_cast<std::size_t>(a) * d + c];
  for (double& m : mean) m /= n;
  double s = 0.0;
  for (int a = 0; a < n; ++a)
    for (int c = 0; c < d; ++c) {
      const double e = rows[static_cast<std::size_t>(a) * d + c] - mean[static_cast<std::size_t>(c)];
      s += e * e;
    }
  if (mean_out) *mean_out = mean;
  return std::sqrt(s);
}

}  // namespace

TEST(Mixing, InitialStateIsAFunctionOfGlobalIdsOnly) {
  for (int n : {12, 13}) {
    const auto layout = AgentLayout::over(n, MPI_COMM_WORLD);
    const auto rows = gather_rows(layout, initial_state(layout, 3, 11));
    EXPECT_TRUE(bit_identical(rows, initial_rows(n, 3, 11))) << "n=" << n;
  }
}

// Every catalogue topology, n = 16 (power of two), 12 and 13 where valid, d = 3 and d = 1: one
// step (from k = 0 and from a later round) and 2 full periods + 1, against the dense product and
// bit for bit against one process.
TEST(Mixing, EveryCatalogueTopologyMatchesDenseReferenceAndSingleProcessBits) {
  std::vector<std::string> uncovered;
  const auto cases = catalogue_cases({16, 12, 13}, &uncovered);
  std::string missing;
  for (const auto& u : uncovered) missing += " " + u;
  EXPECT_TRUE(uncovered.empty()) << "catalogue entries valid for none of n = 16, 12, 13 (add a case):" << missing;
  std::set<std::string> names;
  for (const auto& c : cases) names.insert(c.name);
  for (const char* expected :
       {"ring", "grid", "torus", "erdos_renyi", "geometric", "exponential", "one_peer_exponential",
        "one_peer_hypercube", "hyper_hypercube", "simple_base", "base", "equi_static", "u_equi_static", "od_equi_dyn",
        "ou_equi_dyn", "star", "complete", "random_one_peer_exponential", "equidyn", "random_matching"})
    EXPECT_TRUE(names.count(expected)) << expected << " is not swept";

  auto transport = concord::comm::make_transport(MPI_COMM_WORLD);
  for (const auto& tc : cases) {
    const auto layout = AgentLayout::over(tc.n, MPI_COMM_WORLD);
    const int p = tc.topology.period();
    EXPECT_EQ(!tc.topology.is_static(), concord::topology::topology_info(tc.name).time_varying) << tc.label();
    for (int d : {3, 1}) {
      concord::mixing::Mixer mixer(tc.topology, layout, transport, d);
      SelfMixer self(tc.topology, d);
      ASSERT_EQ(mixer.period(), p);
      const std::uint64_t seed = 100 + static_cast<std::uint64_t>(d);
      check_steps(tc, mixer, self, d, seed, 0, 1);
      check_steps(tc, mixer, self, d, seed, p + 1, 1);  // round 1 mod p, reached through k >= p
      check_steps(tc, mixer, self, d, seed, 0, std::max(2 * p + 1, 5));
    }
  }
}

// The consensus error of a static topology decays at least like rho^k with rho = ||W - J||_2,
// and the mean is preserved (doubly stochastic W).
TEST(Mixing, StaticTopologiesConvergeAtLeastAtTheirConsensusRate) {
  struct Case {
    const char* name;
    int n;
    std::map<std::string, std::string> params;
  };
  const Case cases[] = {{"ring", 16, {}},
                        {"exponential", 16, {}},
                        {"torus", 16, {}},
                        {"u_equi_static", 16, {{"M", "2"}}},
                        {"erdos_renyi", 13, {{"p", "0.3"}}}};
  auto transport = concord::comm::make_transport(MPI_COMM_WORLD);
  constexpr int d = 4, iterations = 30;
  for (const auto& c : cases) {
    const auto t = concord::topology::make_topology(c.name, c.n, c.params, 5);
    ASSERT_TRUE(t.is_static());
    const double rho = concord::topology::consensus_rate(t.round(0));
    EXPECT_NEAR(rho, concord::topology::analyze(t).rounds.at(0).rho, 1e-14) << c.name;
    ASSERT_LT(rho, 1.0) << c.name;
    ASSERT_GT(rho, 0.0) << c.name;

    const auto layout = AgentLayout::over(c.n, MPI_COMM_WORLD);
    concord::mixing::Mixer mixer(t, layout, transport, d);
    AgentMatrix x = initial_state(layout, d, 21);
    AgentMatrix y("y", x.extent(0), x.extent(1));
    concord::CoordinateVector mean_dev("mean", d);
    concord::mixing::ReproducibleSum averager(transport, layout, d);

    std::vector<double> mean0;
    const double error0 = consensus_error(gather_rows(layout, x), c.n, d, &mean0);
    ASSERT_GT(error0, 0.1);
    for (int k = 1; k <= iterations; ++k) {
      mixer.apply(k - 1, x, y);
      std::swap(x, y);
      std::vector<double> mean;
      const double error = consensus_error(gather_rows(layout, x), c.n, d, &mean);
      EXPECT_LE(error / error0, std::pow(rho, k) * (1 + 1e-9) + 1e-14)
          << c.name << " k=" << k << " rho=" << rho << " error ratio " << error / error0;
      EXPECT_LE(max_abs_diff(mean, mean0), kTolerance) << c.name << " k=" << k << ": mean not preserved";

      averager.average(concord::ExecutionSpace(), x, mean_dev);
      auto mean_host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), mean_dev);
      for (int j = 0; j < d; ++j)
        EXPECT_NEAR(mean_host(j), mean[static_cast<std::size_t>(j)], kTolerance) << c.name << " k=" << k;
    }
  }
}

// Finite-time topologies: after exactly one period every agent holds the exact average.
TEST(Mixing, FiniteTimeTopologiesReachTheExactAverageAfterOnePeriod) {
  std::vector<TopologyCase> cases = catalogue_cases({16, 12, 13}, nullptr);
  cases.erase(std::remove_if(cases.begin(), cases.end(),
                             [](const TopologyCase& c) { return !concord::topology::analyze(c.topology).finite_time; }),
              cases.end());
  std::set<std::string> found;
  for (const auto& c : cases) found.insert(c.label());
  for (const char* expected : {"one_peer_exponential(n=16)", "one_peer_hypercube(n=16)", "base(n=12)",
                               "base(n=12, k=2)", "simple_base(n=13)", "hyper_hypercube(n=12, k=2)",
                               "complete(n=13)"})
    EXPECT_TRUE(found.count(expected)) << expected << " is not finite-time according to analyze()";

  auto transport = concord::comm::make_transport(MPI_COMM_WORLD);
  constexpr int d = 3;
  for (const auto& tc : cases) {
    const auto layout = AgentLayout::over(tc.n, MPI_COMM_WORLD);
    concord::mixing::Mixer mixer(tc.topology, layout, transport, d);
    const auto x0 = initial_rows(tc.n, d, 77);
    std::vector<double> mean;
    consensus_error(x0, tc.n, d, &mean);
    const auto rows = gather_rows(layout, run_steps(mixer, initial_state(layout, d, 77), 0, tc.topology.period()));
    double worst = 0.0;
    for (int a = 0; a < tc.n; ++a)
      for (int c = 0; c < d; ++c) {
        const double value = rows[static_cast<std::size_t>(a) * d + c];
        worst = std::max(worst, std::abs(value - mean[static_cast<std::size_t>(c)]));
      }
    EXPECT_LE(worst, kTolerance) << tc.label() << " period " << tc.topology.period();
  }
}

// One step of Mixer::apply equals WeightMatrix::apply (the CSR product, each row's entries in
// ascending column order) bit for bit, coordinate by coordinate: the host kernels' row blocks and
// coordinate chunks may regroup the work but not the additions. Covers the static exponential
// graph at n = 64 (rows wrapping at 6 hops) and widths that are no multiple of a chunk or vector.
TEST(Mixing, OneStepEqualsWeightMatrixApplyBitForBit) {
  struct Case {
    const char* name;
    int n;
    std::map<std::string, std::string> params;
  };
  // Besides the benchmark's graphs: the host kernels' edge cases. Rows not a multiple of the
  // vector width (67, 13, 63, 5) and blocks whose length leaves 2- and 1-wide pieces; rows whose
  // weights differ inside a block (grid, Metropolis-Hastings: degrees 2, 3 and 4); tiny graphs
  // with blocks of one or two rows (exponential n = 5); dense rows beyond one register pass
  // (erdos_renyi p = 0.4). d = 64 fills whole chunks, 37 and 2049 leave remainders.
  // One rank with n = 8 .. 64 agents, n a multiple of 8: the circulant kernel (AVX-512 CPUs),
  // octets whose rows wrap around at different entries among them (n = 24, 40).
  const Case cases[] = {{"exponential", 64, {}},
                        {"exponential", 8, {}},
                        {"exponential", 24, {}},
                        {"exponential", 40, {}},
                        {"ring", 8, {}},
                        {"ring", 16, {}},
                        {"exponential", 67, {}},
                        {"ring", 64, {}},
                        {"one_peer_exponential", 64, {}},
                        {"ring", 13, {}},
                        {"erdos_renyi", 16, {{"p", "0.4"}}},
                        {"grid", 63, {{"rows", "7"}, {"cols", "9"}}},
                        {"torus", 30, {{"rows", "5"}, {"cols", "6"}}},
                        {"exponential", 5, {}},
                        {"erdos_renyi", 23, {{"p", "0.15"}}},
                        // Drawn every iteration: pool members, and weights reloaded on one pattern.
                        {"random_one_peer_exponential", 64, {}},
                        {"equidyn", 13, {}},
                        {"random_matching", 16, {}},
                        {"random_matching", 13, {{"base", "ring"}}}};
  auto transport = concord::comm::make_transport(MPI_COMM_WORLD);
  for (const auto& c : cases) {
    const auto t = concord::topology::make_topology(c.name, c.n, c.params, 5);
    const auto layout = AgentLayout::over(c.n, MPI_COMM_WORLD);
    for (int d : {1, 37, 64, 2049}) {
      concord::mixing::Mixer mixer(t, layout, transport, d);
      const AgentMatrix x = initial_state(layout, d, 31);
      const std::vector<double> rows = initial_rows(c.n, d, 31);
      for (std::int64_t k = 0; k < (t.is_drawn() ? 3 : std::min(t.period(), 3)); ++k) {
        AgentMatrix y("y", layout.local_count(), d);
        mixer.apply(k, x, y);
        const std::vector<double> got = gather_rows(layout, y);
        std::vector<double> column(static_cast<std::size_t>(c.n)), mixed(static_cast<std::size_t>(c.n));
        std::vector<double> expected(rows.size());
        for (int coord = 0; coord < d; ++coord) {
          for (int a = 0; a < c.n; ++a) column[static_cast<std::size_t>(a)] = rows[static_cast<std::size_t>(a) * d + coord];
          t.matrix(k).apply(column, mixed);
          for (int a = 0; a < c.n; ++a) expected[static_cast<std::size_t>(a) * d + coord] = mixed[static_cast<std::size_t>(a)];
        }
        EXPECT_TRUE(bit_identical(got, expected))
            << c.name << " n=" << c.n << " d=" << d << " k=" << k << ": max diff " << max_abs_diff(got, expected);
      }
    }
  }
}

// The circulant kernel serves exactly the graphs it was made for: the static exponential graph
// (equal weights), one rank, n = 8 .. 64 a multiple of 8, AVX-512 CPUs.
TEST(Mixing, CirculantKernelServesTheExponentialGraphOnOneRank) {
  const auto layout_of = [](int n) { return AgentLayout::over(n, MPI_COMM_WORLD); };
  const bool avx512 =
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
      concord::detail::host_isa_allows(concord::detail::HostIsa::avx512) && concord::host_execution;  // CPU and cap
#else
      false;
#endif
  int ranks = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const auto has = [&](const char* name, int n, std::map<std::string, std::string> params = {}) {
    const auto t = concord::topology::make_topology(name, n, params, 5);
    return concord::mixing::detail::find_circulant(t.matrix(0), layout_of(n)).kernel != nullptr;
  };
  const bool expected = avx512 && ranks == 1;
  for (int n : {8, 16, 24, 32, 40, 48, 56, 64}) {
    EXPECT_EQ(has("exponential", n), expected) << "exponential n=" << n;
    EXPECT_FALSE(has("ring", n)) << "ring n=" << n;  // circulant, but faster with the row blocks
  }
  EXPECT_FALSE(has("exponential", 12));                            // not a multiple of 8
  EXPECT_FALSE(has("exponential", 72));                            // beyond 8 registers
  EXPECT_FALSE(has("exponential", 27, {{"base", "3"}}));           // not instantiated
  EXPECT_FALSE(has("exponential", 24, {{"base", "3"}}));
  EXPECT_FALSE(has("torus", 16, {{"rows", "4"}, {"cols", "4"}}));  // not circulant
  EXPECT_FALSE(has("complete", 16));                               // not instantiated
}

// Topologies drawn anew every iteration from (seed, k): many iterations, from k = 0 and from a
// late k (a restart), bit for bit against one process and against the dense product of
// Topology::matrix(k); n even and odd, random_matching on both bases.
TEST(Mixing, DrawnTopologiesAreBitIdenticalForAnyRankCount) {
  struct Case {
    const char* name;
    int n;
    std::map<std::string, std::string> params;
  };
  const Case cases[] = {{"random_one_peer_exponential", 16, {}}, {"random_one_peer_exponential", 13, {}},
                        {"equidyn", 16, {}},                     {"equidyn", 13, {{"eta", "1"}}},
                        {"random_matching", 16, {}},             {"random_matching", 13, {}},
                        {"random_matching", 12, {{"base", "ring"}}}};
  auto transport = concord::comm::make_transport(MPI_COMM_WORLD);
  for (const auto& c : cases) {
    TopologyCase tc{c.name, c.n, c.params, concord::topology::make_topology(c.name, c.n, c.params, 21)};
    ASSERT_TRUE(tc.topology.is_drawn()) << tc.label();
    const auto layout = AgentLayout::over(c.n, MPI_COMM_WORLD);
    for (int d : {3, 1}) {
      concord::mixing::Mixer mixer(tc.topology, layout, transport, d);
      SelfMixer self(tc.topology, d);
      check_steps(tc, mixer, self, d, 40 + static_cast<std::uint64_t>(d), 0, 40);
      check_steps(tc, mixer, self, d, 40 + static_cast<std::uint64_t>(d), 123456789, 7);
    }
  }
}
