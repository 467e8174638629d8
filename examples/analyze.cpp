// Topology analysis with an installed Concord: the Base-(k+1) graph with k = 2 for 12 agents
// reaches the exact average after one period (finite-time consensus). Quoted by README.md.
// [analyze]
#include <concord/topology/analysis.hpp>
#include <concord/topology/registry.hpp>

// [analyze]
#include <concord/config.hpp>

#include <cstdio>

int main() {
  // [analyze]
  auto t = concord::topology::make_topology("base", 12, {{"k", "2"}});
  auto report = concord::topology::analyze(t);   // report.finite_time == true
  // [analyze]
  std::printf("Concord %s: %s, %d rounds, max degree %d, period rho %.3g, finite-time %s\n", CONCORD_VERSION,
              t.description().c_str(), t.period(), report.max_degree, report.period_rho,
              report.finite_time ? "yes" : "no");
  const bool ok = report.finite_time && report.period_rho < 1e-12 && report.doubly_stochastic && t.agents() == 12 &&
                  report.max_degree <= 2;
  if (!ok) std::fprintf(stderr, "analyze: base k=2 with 12 agents is not finite-time with degree <= 2\n");
  return ok ? 0 : 1;
}
