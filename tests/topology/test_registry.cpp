// The catalogue: every entry builds with its defaults, and bad input gets one clear message.
#include <gtest/gtest.h>

#include "concord/core/error.hpp"
#include "concord/topology/analysis.hpp"
#include "concord/topology/registry.hpp"

using namespace concord::topology;

namespace {

std::string error_of(const std::string& name, int n, const std::map<std::string, std::string>& p) {
  try {
    make_topology(name, n, p, 0);
  } catch (const concord::InputError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Registry, EveryTopologyBuildsWithDefaults) {
  for (const auto& info : topology_catalog()) {
    if (info.name == "file" || info.name == "geometric") continue;  // need a path / a radius
    const auto t = make_topology(info.name, 16, {}, 1);
    EXPECT_EQ(t.agents(), 16) << info.name;
    EXPECT_EQ(t.name(), info.name);
    EXPECT_EQ(!t.is_static(), info.time_varying) << info.name;
    // Directed entries are column-stochastic only (each sender splits its mass); the rest doubly.
    if (info.name.rfind("directed_", 0) == 0) {
      EXPECT_EQ(stochasticity(t), Stochasticity::column) << info.name;
      continue;
    }
    EXPECT_EQ(stochasticity(t), Stochasticity::doubly) << info.name;
    for (const auto& w : t.rounds()) EXPECT_LE(w.stochasticity_error(), 1e-12) << info.name;
  }
}

TEST(Registry, ClearMessages) {
  EXPECT_EQ(error_of("rign", 8, {}).rfind("unknown topology 'rign'; allowed: ring, grid", 0), 0u);
  EXPECT_NE(error_of("ring", 8, {{"k", "2"}}).find("ring: parameter k=2: unknown parameter; ring takes no parameters"),
            std::string::npos);
  EXPECT_NE(error_of("base", 8, {{"k", "two"}}).find("base: parameter k=two: expected an integer"), std::string::npos);
  EXPECT_NE(error_of("base", 8, {{"k", "0"}}).find("base: parameter k=0: out of range: allowed >= 1"),
            std::string::npos);
  EXPECT_NE(error_of("base", 8, {{"kk", "1"}}).find("allowed: k"), std::string::npos);
  EXPECT_NE(error_of("grid", 12, {{"rows", "5"}}).find("does not equal the number of agents 12"), std::string::npos);
  EXPECT_NE(error_of("geometric", 12, {}).find("parameter 'radius' is required"), std::string::npos);
  EXPECT_NE(error_of("one_peer_hypercube", 12, {}).find("power of two"), std::string::npos);
  EXPECT_NE(error_of("hyper_hypercube", 14, {{"k", "2"}}).find("prime factor"), std::string::npos);
  EXPECT_NE(error_of("od_equi_dyn", 12, {{"eta", "1.5"}}).find("eta=1.5: out of range: allowed (0, 1]"),
            std::string::npos);
  EXPECT_NE(error_of("equi_static", 12, {{"hops", "1,12"}}).find("entry 12 out of range: allowed 1..11"),
            std::string::npos);
  EXPECT_NE(error_of("equi_static", 12, {{"hops", "1,x"}}).find("comma-separated list"), std::string::npos);
  EXPECT_NE(error_of("erdos_renyi", 12, {{"weights", "foo"}}).find("unknown weight rule 'foo'"), std::string::npos);
  EXPECT_NE(error_of("ring", 0, {}).find("agents must be >= 1"), std::string::npos);
}

TEST(Registry, ParametersReachTheConstructions) {
  EXPECT_EQ(make_topology("grid", 12, {{"rows", "2"}}).description(), "grid(rows=2, cols=6, weights=metropolis_hastings)");
  EXPECT_EQ(make_topology("grid", 12, {}).description(), "grid(rows=3, cols=4, weights=metropolis_hastings)");
  EXPECT_EQ(make_topology("equi_static", 12, {{"hops", "[1, 5]"}}).round(0).degree(0), 2);
  EXPECT_EQ(make_topology("u_equi_static", 12, {{"M", "2"}}, 5).round(0),
            make_topology("u_equi_static", 12, {{"M", "2"}}, 5).round(0));
  EXPECT_EQ(make_topology("od_equi_dyn", 12, {{"rounds", "5"}}).period(), 5);
  EXPECT_EQ(make_topology("exponential", 27, {{"base", "3"}}).round(0).degree(0), 3);
}
