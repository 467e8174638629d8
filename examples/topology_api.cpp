// The topology API: builds the one-peer exponential graph for 8 agents by name and from its
// generator, steps a vector through W(0), W(1), W(2) and analyses the graph. One period reaches
// the exact average. Quoted by docs/topologies.md.
// [topology_api]
#include <concord/topology/registry.hpp>     // make_topology(name, n, {{"k", "2"}}, seed)
#include <concord/topology/generators.hpp>   // ring(n), exponential(n, base), one_peer_exponential(n), ...
#include <concord/topology/base_graphs.hpp>  // hyper_hypercube(n, k), simple_base(n, k), base(n, k)
#include <concord/topology/equitopo.hpp>     // equi_static(n, hops), od_equi_dyn(n, hops, eta, rounds, seed), ...
#include <concord/topology/analysis.hpp>     // consensus_rate(W), period_rate(t), analyze(t)

// [topology_api]
#include <cmath>
#include <numbers>
#include <cstdio>
#include <utility>
#include <vector>

int main() {
  int failures = 0;
  auto expect = [&failures](bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stderr, "topology_api: %s\n", what);
      ++failures;
    }
  };
  // [topology_api]
  const auto t = concord::topology::make_topology("one_peer_exponential", 8, {});
  std::vector<double> x = {8, 0, 0, 0, 0, 0, 0, 0}, y(8);   // one value per agent, average 1
  for (int k = 0; k < t.period(); ++k) {
    const auto& w = t.round(k);   // W(k mod p): CSR, w(i, j), w.row_cols(i), w.apply(x, y)
    w.apply(x, y);                // y = W(k) x: one gossip step
    std::swap(x, y);
  }
  const auto report = concord::topology::analyze(t);   // x is now {1, ..., 1}: finite-time consensus
  // [topology_api]
  for (double v : x) expect(v == 1.0, "one period of one_peer_exponential(8) does not give the exact average");
  expect(t.period() == 3, "one_peer_exponential(8) does not have 3 rounds");
  expect(report.finite_time && report.max_degree == 1, "one_peer_exponential(8) is not finite-time with one peer");

  // The generator builds the same matrices as the catalogue.
  const auto g = concord::topology::one_peer_exponential(8);
  for (int k = 0; k < t.period(); ++k)
    expect(g.round(k).columns() == t.round(k).columns() && g.round(k).weights() == t.round(k).weights(),
           "one_peer_exponential(8) differs from make_topology(\"one_peer_exponential\", 8)");
  // The ring's rho = ||W - J||_2 with weights 1/3 is (1 + 2 cos(2 pi / n)) / 3.
  const double ring_rho = concord::topology::consensus_rate(concord::topology::ring(8).round(0));
  expect(std::abs(ring_rho - (1 + 2 * std::cos(2 * std::numbers::pi / 8)) / 3) < 1e-12, "ring(8) has the wrong rho");
  // A time-varying EquiTopo graph and a Base-(k+1) graph.
  expect(concord::topology::period_rate(concord::topology::base(12, 2)) < 1e-12, "base(12, 2) is not finite-time");
  const auto dyn = concord::topology::od_equi_dyn(16, {1, 2, 4, 8}, 0.5, 8, /*seed=*/1);
  expect(dyn.period() == 8 && concord::topology::analyze(dyn).doubly_stochastic, "od_equi_dyn is not a valid schedule");

  std::printf("topology_api: %s, %d rounds, finite-time %s; ring(8) rho %.6f\n", t.description().c_str(), t.period(),
              report.finite_time ? "yes" : "no", ring_rho);
  return failures == 0 ? 0 : 1;
}
