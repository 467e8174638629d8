// Compression operators, the compressed exchange and CHOCO-gossip / CHOCO-SGD: the operators do
// what they promise (checked against independent computations), senders and receivers decode the
// same bits, the exchange equals the dense product W q, results are bit-identical for any number
// of ranks, and CHOCO reaches the exact average at a linear rate for every operator.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "algorithm_support.hpp"
#include "concord/algorithms/catalog.hpp"
#include "concord/mixing/compressed_mixer.hpp"
#include "concord/mixing/compression.hpp"

using namespace concord_test;
using concord::mixing::CompressionKind;
using concord::mixing::CompressionOptions;
using concord::mixing::Compressor;

namespace {

const std::vector<CompressionOptions> all_operators = {
    {CompressionKind::none, 0.0, 0},      {CompressionKind::top_k, 0.1, 0}, {CompressionKind::random_k, 0.1, 0},
    {CompressionKind::qsgd, 0.0, 4},      {CompressionKind::sign, 0.0, 0},  {CompressionKind::fp32, 0.0, 0},
    {CompressionKind::bf16, 0.0, 0}};

std::string name_of(const CompressionOptions& o) { return concord::mixing::compression_kinds().name(o.kind); }

/// A row with ties, zeros and both signs.
std::vector<double> test_row(int d, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<double> v(static_cast<std::size_t>(d));
  for (auto& x : v) x = normal(rng);
  for (int c = 0; c < d; c += 7) v[static_cast<std::size_t>(c)] = 0.0;
  if (d > 10) v[3] = v[9] = -v[1];  // equal magnitudes: top_k's tie-break by index
  return v;
}

struct Encoded {
  std::vector<double> words, q;
};

Encoded encode(const Compressor& c, std::int64_t agent, std::int64_t k, const std::vector<double>& v) {
  Encoded e{std::vector<double>(static_cast<std::size_t>(c.words)), std::vector<double>(v.size())};
  c.encode(agent, k, v.data(), 1, e.words.data(), 1, e.q.data(), 1);
  return e;
}

std::vector<double> decode(const Compressor& c, std::int64_t agent, std::int64_t k, const std::vector<double>& words) {
  std::vector<double> q(static_cast<std::size_t>(c.dimension));
  c.decode(agent, k, words.data(), 1, q.data(), 1);
  return q;
}

double norm_sq(const std::vector<double>& v) { return std::inner_product(v.begin(), v.end(), v.begin(), 0.0); }

/// bfloat16 of a float by exhaustive neighbours: the nearest of the two bf16 values bracketing
/// f, ties to the even one (an independent statement of round-to-nearest-even).
double reference_bf16(double x) {
  const float f = static_cast<float>(x);
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  const std::uint32_t lo = u & 0xffff0000U, hi = lo + 0x10000U;
  float flo, fhi;
  std::memcpy(&flo, &lo, 4);
  std::memcpy(&fhi, &hi, 4);
  const double dlo = std::fabs(static_cast<double>(f) - flo), dhi = std::fabs(static_cast<double>(fhi) - f);
  if (dlo < dhi) return flo;
  if (dhi < dlo) return fhi;
  return ((lo >> 16) & 1U) == 0 ? flo : fhi;
}

}  // namespace

TEST(Compression, SendersAndReceiversDecodeTheSameBits) {
  for (const auto& o : all_operators)
    for (int d : {1, 2, 5, 63, 64, 65, 300}) {
      const Compressor c = concord::mixing::make_compressor(o, d, 42);
      EXPECT_LE(c.bytes, 8 * static_cast<std::int64_t>(c.words)) << name_of(o) << " d=" << d;
      EXPECT_GT(c.bytes, 8 * static_cast<std::int64_t>(c.words) - 8) << name_of(o) << " d=" << d;
      for (std::int64_t k : {0, 1, 17}) {
        const auto v = test_row(d, static_cast<std::uint64_t>(d * 31 + k));
        const auto e = encode(c, 5, k, v);
        const auto q = decode(c, 5, k, e.words);
        ASSERT_EQ(0, std::memcmp(q.data(), e.q.data(), q.size() * sizeof(double))) << name_of(o) << " d=" << d;
      }
    }
}

TEST(Compression, OperatorsAreWhatTheySay) {
  const int d = 300;
  const auto v = test_row(d, 7);
  std::vector<double> magnitude(v.size());
  for (std::size_t c = 0; c < v.size(); ++c) magnitude[c] = std::fabs(v[c]);
  double l1 = 0.0;
  for (double m : magnitude) l1 += m;
  for (const auto& o : all_operators) {
    const Compressor c = concord::mixing::make_compressor(o, d, 42);
    const auto q = encode(c, 3, 11, v).q;
    switch (o.kind) {
      case CompressionKind::none: EXPECT_EQ(q, v); break;
      case CompressionKind::fp32:
        for (int i = 0; i < d; ++i) EXPECT_EQ(q[i], static_cast<double>(static_cast<float>(v[i])));
        break;
      case CompressionKind::bf16:
        for (int i = 0; i < d; ++i) EXPECT_EQ(q[i], reference_bf16(v[i])) << i;
        break;
      case CompressionKind::top_k: {
        ASSERT_EQ(c.kept, 30);
        std::vector<int> order(d);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return magnitude[a] > magnitude[b]; });
        std::vector<double> expected(d, 0.0);
        for (int t = 0; t < c.kept; ++t) expected[order[t]] = v[order[t]];
        EXPECT_EQ(q, expected);
        EXPECT_LE(norm_sq(std::vector<double>{}), 0.0);
        break;
      }
      case CompressionKind::random_k: {
        int nonzero_run = 0, kept = 0;
        for (int i = 0; i < d; ++i)
          if (q[i] != 0.0) {
            ++kept;
            EXPECT_EQ(q[i], v[i]);
          }
        (void)nonzero_run;
        EXPECT_LE(kept, c.kept);  // zeros of v among the kept coordinates are zero in q too
        break;
      }
      case CompressionKind::sign:
        for (int i = 0; i < d; ++i) EXPECT_EQ(q[i], (v[i] < 0 ? -1.0 : 1.0) * (l1 / d)) << i;
        break;
      case CompressionKind::qsgd: {
        const double norm = std::sqrt(norm_sq(v));
        const double unit = norm / o.levels * c.inverse_tau;
        for (int i = 0; i < d; ++i) {
          const double level = std::fabs(q[i]) / unit;
          EXPECT_NEAR(level, std::round(level), 1e-9) << i;
          EXPECT_LE(std::round(level), o.levels);
          // Stochastic rounding between the two levels around |v_i| s / ||v||.
          EXPECT_LE(std::fabs(std::round(level) - magnitude[i] / norm * o.levels), 1.0 + 1e-12) << i;
          if (q[i] != 0.0) EXPECT_EQ(q[i] < 0, v[i] < 0) << i;
        }
        break;
      }
    }
  }
}

TEST(Compression, ContractionAndUnbiasedness) {
  const int d = 200, draws = 4000;
  const auto v = test_row(d, 9);
  const double vv = norm_sq(v);
  for (const auto& o : all_operators) {
    const Compressor c = concord::mixing::make_compressor(o, d, 42);
    std::vector<double> mean(d, 0.0);
    double error = 0.0;
    for (int k = 0; k < draws; ++k) {
      const auto q = encode(c, 1, k, v).q;
      double e = 0.0;
      for (int i = 0; i < d; ++i) {
        mean[i] += q[i] / draws;
        e += (q[i] - v[i]) * (q[i] - v[i]);
      }
      error += e / draws;
      // Deterministic operators contract on every draw.
      if (o.kind != CompressionKind::random_k && o.kind != CompressionKind::qsgd)
        ASSERT_LE(e, (1.0 - c.delta) * vv * (1 + 1e-12)) << name_of(o);
    }
    // E ||C(v) - v||^2 <= (1 - delta) ||v||^2 (random operators: their mean, 3% sampling margin).
    EXPECT_LE(error, (1.0 - c.delta) * vv * 1.03) << name_of(o);
    if (o.kind == CompressionKind::random_k) {  // every coordinate kept with probability k / d
      EXPECT_NEAR(error, (1.0 - c.delta) * vv, 0.03 * vv);
      for (int i = 0; i < d; ++i) EXPECT_NEAR(mean[i], v[i] * c.delta, 0.1 * std::fabs(v[i]) + 1e-12) << i;
    }
    if (o.kind == CompressionKind::qsgd)  // unbiased up to the rescaling: E q = v / tau
      for (int i = 0; i < d; ++i) EXPECT_NEAR(mean[i], v[i] * c.inverse_tau, 0.05 * std::sqrt(vv) / o.levels) << i;
  }
}

TEST(Compression, BadParametersAreRefused) {
  EXPECT_THROW(concord::mixing::make_compressor({CompressionKind::top_k, 0.0, 0}, 10, 1), concord::InputError);
  EXPECT_THROW(concord::mixing::make_compressor({CompressionKind::random_k, 1.5, 0}, 10, 1), concord::InputError);
  EXPECT_THROW(concord::mixing::make_compressor({CompressionKind::qsgd, 0.0, 0}, 10, 1), concord::InputError);
  EXPECT_EQ(concord::mixing::make_compressor({CompressionKind::top_k, 1e-9, 0}, 10, 1).kept, 1);
}

TEST(CompressedMixer, ExchangeEqualsTheDenseProductOnAnyNumberOfRanks) {
  const int n = 10, d = 37;
  for (const std::string topo : {"ring", "exponential"})
    for (const auto& o : all_operators) {
      const auto t = concord::topology::make_topology(topo, n, {}, 1);
      const Compressor c = concord::mixing::make_compressor(o, d, 5);
      std::vector<std::vector<double>> q_all, wq_all;
      for (MPI_Comm comm : {MPI_COMM_WORLD, MPI_COMM_SELF}) {
        const auto layout = concord::AgentLayout::over(n, comm);
        concord::mixing::Mixer mixer(t, layout, concord::comm::make_transport(comm), d);
        concord::mixing::CompressedMixer cm(mixer, c);
        const auto v = initial_state(layout, d, 3);
        concord::AgentMatrix q("q", layout.local_count(), d), wq("wq", layout.local_count(), d);
        cm.apply(concord::ExecutionSpace(), 4, v, q, wq);
        q_all.push_back(gather_rows(layout, q, comm));
        wq_all.push_back(gather_rows(layout, wq, comm));
      }
      const std::string label = name_of(o) + " on " + topo;
      EXPECT_TRUE(bit_identical(q_all[0], q_all[1])) << label;
      EXPECT_TRUE(bit_identical(wq_all[0], wq_all[1])) << label;
      // q row by row from the operator on the host, and W q by the matrix.
      const auto rows = initial_rows(n, d, 3);
      std::vector<double> q(static_cast<std::size_t>(n) * d), column(n), product(n);
      for (int a = 0; a < n; ++a) {
        std::vector<double> row(rows.begin() + a * d, rows.begin() + (a + 1) * d);
        const auto e = encode(c, a, 4, row);
        std::copy(e.q.begin(), e.q.end(), q.begin() + a * d);
      }
      EXPECT_TRUE(bit_identical(q, q_all[0])) << label;
      for (int col = 0; col < d; ++col) {
        for (int a = 0; a < n; ++a) column[a] = q[a * d + col];
        t.round(0).apply(column, product);
        for (int a = 0; a < n; ++a) EXPECT_NEAR(wq_all[0][a * d + col], product[a], 1e-15 * (1 + std::fabs(product[a])));
      }
    }
}

namespace {

RunSpec choco_spec(const std::string& name, CompressionOptions compression, double consensus_step, int agents = 8) {
  RunSpec spec;
  spec.agents = agents;
  spec.data = {20, 24, 1.0, 0.1};
  spec.algorithm = algorithm_options(name, 0.02);
  spec.algorithm.compression = compression;
  spec.algorithm.consensus_step = consensus_step;
  spec.algorithm.seed = 11;
  return spec;
}

}  // namespace

TEST(Choco, GossipReachesTheExactAverageLinearlyForEveryOperator) {
  // The consensus step of each operator (stronger compression needs a smaller one), and the
  // iterations after which the consensus error must be below 1e-24 of where it started.
  struct Case {
    CompressionOptions o;
    double step;
  };
  const std::vector<Case> cases = {{{CompressionKind::none, 0, 0}, 1.0},    {{CompressionKind::fp32, 0, 0}, 1.0},
                                   {{CompressionKind::bf16, 0, 0}, 1.0},    {{CompressionKind::top_k, 0.25, 0}, 0.4},
                                   {{CompressionKind::random_k, 0.25, 0}, 0.2}, {{CompressionKind::qsgd, 0, 4}, 0.5},
                                   {{CompressionKind::sign, 0, 0}, 0.3}};
  std::map<std::string, double> rates;
  for (const auto& c : cases) {
    LeastSquaresRun run(choco_spec("choco_gossip", c.o, c.step));
    const int d = run.problem->dimension();
    run.algorithm->initialize(run.exec, initial_state(run.layout, d, 17));
    const auto start = run.models();
    const double e0 = run.measure(0).consensus_error;
    std::vector<double> errors;
    int k = 0;
    for (; k < 3000 && (errors.empty() || errors.back() > 1e-26 * e0); k += 20) {
      run.run(k, k + 20);
      errors.push_back(run.measure(k + 20).consensus_error);
    }
    const std::string label = name_of(c.o);
    ASSERT_LE(errors.back(), 1e-24 * e0) << label << " after " << k << " iterations";
    // The average never moves (W doubly stochastic): every agent ends at the initial average.
    const auto end = run.models();
    const int n = run.layout.agents();
    for (int col = 0; col < d; ++col) {
      double mean = 0.0;
      for (int a = 0; a < n; ++a) mean += start[a * d + col] / n;
      for (int a = 0; a < n; ++a) ASSERT_NEAR(end[a * d + col], mean, 1e-11) << label;
    }
    rates[label] = std::pow(errors.back() / e0, 1.0 / k);
  }
  // Compression slows the rate: none fastest, the casts as fast, the sparsifiers slower.
  EXPECT_NEAR(rates["fp32"], rates["none"], 1e-3);
  EXPECT_GT(rates["top_k"], rates["none"]);
  EXPECT_GT(rates["random_k"], rates["top_k"]);
  EXPECT_GT(rates["sign"], rates["none"]);
}

TEST(Choco, SgdWithoutCompressionIsDsgd) {
  LeastSquaresRun choco(choco_spec("choco_sgd", {CompressionKind::none, 0, 0}, 1.0));
  auto dsgd_spec = choco_spec("dsgd", {}, 1.0);
  LeastSquaresRun dsgd(dsgd_spec);
  choco.run(0, 40);
  dsgd.run(0, 40);
  const auto a = choco.models(), b = dsgd.models();
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-12 * (1 + std::fabs(b[i])));
  // The traffic: d doubles to each of the ring's 2 neighbours.
  EXPECT_DOUBLE_EQ(choco.algorithm->bytes_sent(0), 8.0 * 24 * 2);
  EXPECT_DOUBLE_EQ(choco.algorithm->bytes_through(40), 40 * 8.0 * 24 * 2);
  EXPECT_DOUBLE_EQ(dsgd.algorithm->bytes_through(40), 40 * 8.0 * 24 * 2);
}

TEST(Choco, SgdTrajectoriesAreBitIdenticalForAnyNumberOfRanks) {
  for (const auto& o : all_operators)
    for (int batch : {0, 3}) {
      auto spec = choco_spec("choco_sgd", o, 0.3, 9);
      spec.batch = batch;
      LeastSquaresRun here(spec);
      spec.everything_here = true;
      LeastSquaresRun alone(spec);
      here.run(0, 15);
      alone.run(0, 15);
      ASSERT_TRUE(bit_identical(here.models(), alone.models())) << name_of(o) << " batch " << batch;
      // top_k at ratio 0.1 of d = 24: k = 2 values and indices, 24 bytes to each of 2 neighbours.
      if (o.kind == CompressionKind::top_k) EXPECT_DOUBLE_EQ(here.algorithm->bytes_sent(3), 24.0 * 2);
    }
}

TEST(Choco, RefusesWhatItCannotRunOn) {
  auto spec = choco_spec("choco_gossip", {CompressionKind::top_k, 0.1, 0}, 0.5);
  spec.topology = "one_peer_exponential";
  const std::string m = message_of([&] { LeastSquaresRun run(spec); });
  EXPECT_NE(m.find("static topology"), std::string::npos) << m;
}

TEST(Beer, ReachesTheSolutionWhereChocoSgdStallsAtItsBias) {
  // Heterogeneous least squares, full gradients: gradient tracking's fixed point is x* for every
  // agent, DSGD's (and CHOCO-SGD's) is off by the heterogeneity bias.
  struct Case {
    CompressionOptions o;
    double step;
  };
  const std::vector<Case> cases = {{{CompressionKind::none, 0, 0}, 1.0},
                                   {{CompressionKind::top_k, 0.3, 0}, 0.5},
                                   {{CompressionKind::qsgd, 0, 4}, 0.5},
                                   {{CompressionKind::bf16, 0, 0}, 1.0}};
  // Convergence does not depend on the rank count (BitIdenticalForAnyNumberOfRanks...): every
  // rank runs all agents in-process, which keeps the test fast at 4 ranks on 2 cores.
  for (const auto& c : cases) {
    auto spec = choco_spec("beer", c.o, c.step);
    spec.everything_here = true;
    LeastSquaresRun beer(spec);
    const double start = beer.measure(0).distance_to_solution;
    std::int64_t k = 0;
    for (; k < 8000 && beer.measure(k).distance_to_solution > 1e-10 * start; k += 200) {
      beer.run(k, k + 200);
      // v tracks the average gradient: mean_i v_i = mean_i g_i (g: each agent's latest gradient).
      const auto state = beer.algorithm->state();
      const auto v = gather_rows(beer.layout, state[1].second, beer.comm);
      const auto g = gather_rows(beer.layout, state[6].second, beer.comm);
      ASSERT_EQ(state[1].first, "v");
      ASSERT_EQ(state[6].first, "g");
      const int n = beer.layout.agents(), d = beer.problem->dimension();
      for (int col = 0; col < d; ++col) {
        double mv = 0.0, mg = 0.0, scale = 0.0;
        for (int a = 0; a < n; ++a) {
          mv += v[a * d + col] / n;
          mg += g[a * d + col] / n;
          scale = std::max(scale, std::fabs(g[a * d + col]));
        }
        ASSERT_NEAR(mv, mg, 1e-12 * (1.0 + scale)) << name_of(c.o) << " iteration " << k + 200;
      }
    }
    const double end = beer.measure(k).distance_to_solution;
    if (world_rank() == 0)
      std::printf("[ beer ] %s (consensus step %.1f): ||xbar - x*|| %.3g -> %.3g in %lld iterations\n",
                  name_of(c.o).c_str(), c.step, start, end, static_cast<long long>(k));
    EXPECT_LE(end, 1e-10 * start) << name_of(c.o);
  }
  // CHOCO-SGD with the same compression and steps stays at its bias.
  auto choco_only = choco_spec("choco_sgd", {CompressionKind::top_k, 0.3, 0}, 0.5);
  choco_only.everything_here = true;
  LeastSquaresRun choco(choco_only);
  choco.run(0, 4000);
  const double bias = choco.measure(4000).distance_to_solution;
  if (world_rank() == 0) std::printf("[ beer ] choco_sgd top_k 0.3: ||xbar - x*|| = %.3g after 4000 iterations\n", bias);
  EXPECT_GT(bias, 1e-3);
}

TEST(Beer, BitIdenticalForAnyNumberOfRanksAndAcrossARestart) {
  for (const auto& o : all_operators)
    for (int batch : {0, 3}) {
      auto spec = choco_spec("beer", o, 0.3, 9);
      spec.batch = batch;
      LeastSquaresRun here(spec);
      here.run(0, 20);
      // A restart: a fresh run given the state after 10 iterations continues identically.
      LeastSquaresRun first(spec), second(spec);
      first.run(0, 10);
      const auto from = first.algorithm->state(), to = second.algorithm->state();
      for (std::size_t s = 0; s < from.size(); ++s) Kokkos::deep_copy(to[s].second, from[s].second);
      second.run(10, 20);
      spec.everything_here = true;
      LeastSquaresRun alone(spec);
      alone.run(0, 20);
      ASSERT_TRUE(bit_identical(here.models(), alone.models())) << name_of(o) << " batch " << batch;
      ASSERT_TRUE(bit_identical(here.models(), second.models())) << name_of(o) << " batch " << batch << " restart";
      // top_k at ratio 0.1 of d = 24: k = 2 values and indices (24 bytes), twice, to each of 2 neighbours.
      if (o.kind == CompressionKind::top_k) EXPECT_DOUBLE_EQ(here.algorithm->bytes_sent(3), 2 * 24.0 * 2);
    }
}
