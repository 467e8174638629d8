#include "concord/topology/registry.hpp"

#include <cmath>
#include <functional>
#include <limits>

#include "concord/core/error.hpp"
#include "concord/core/format.hpp"
#include "concord/core/text.hpp"
#include "concord/topology/base_graphs.hpp"
#include "concord/topology/directed.hpp"
#include "concord/topology/equitopo.hpp"
#include "concord/topology/generators.hpp"
#include "concord/topology/random_rounds.hpp"
#include "concord/topology/user_matrix.hpp"

namespace concord::topology {
namespace {

/// Typed access to KEY=VALUE parameters; defaults come from the catalogue entry.
class Parameters {
 public:
  Parameters(const TopologyInfo& info, int agents, const std::map<std::string, std::string>& values)
      : info_(info), agents_(agents), values_(values) {
    for (const auto& [key, value] : values_) {
      bool known = false;
      for (const auto& p : info_.parameters) known = known || p.key == key;
      if (!known) fail(key, value, "unknown parameter; " + allowed_keys());
    }
  }

  int agents() const { return agents_; }

  bool given(const std::string& key) const { return values_.count(key) != 0; }

  std::string raw(const std::string& key) const {
    if (auto it = values_.find(key); it != values_.end()) return it->second;
    const auto& p = spec(key);
    if (p.default_value.empty())
      throw InputError(info_.name + ": parameter '" + key + "' is required (" + p.help + "); pass --param " + key +
                       "=VALUE");
    return p.default_value;
  }

  long long integer(const std::string& key, long long min, long long max = std::numeric_limits<int>::max()) const {
    const std::string v = raw(key);
    const auto x = parse_integer(v);
    if (!x) fail(key, v, "expected an integer");
    if (*x < min || *x > max) fail(key, v, "out of range: allowed " + range(min, max));
    return *x;
  }

  double real(const std::string& key, double lo, double hi, bool lo_open) const {
    const std::string v = raw(key);
    const auto x = parse_real(v);
    if (!x) fail(key, v, "expected a real number");
    if ((lo_open ? *x <= lo : *x < lo) || *x > hi)
      fail(key, v, "out of range: allowed " + std::string(lo_open ? "(" : "[") + shortest(lo) + ", " + shortest(hi) + "]");
    return *x;
  }

  /// "1,2,3" or "[1, 2, 3]" (concord::split_list: "1 3" is refused, never read as 13).
  std::vector<int> int_list(const std::string& key, long long min, long long max) const {
    const std::string v = raw(key);
    const auto list = split_list(v);
    if (!list.error.empty() || list.items.empty())
      fail(key, v, "not a list of integers: " + (list.error.empty() ? std::string("the list is empty") : list.error));
    std::vector<int> out;
    for (const auto& item : list.items) {
      const auto x = parse_integer(item);
      if (!x) fail(key, v, "entry '" + item + "' is not an integer; expected a comma-separated list of integers, e.g. 1,3,7");
      if (*x < min || *x > max) fail(key, v, "entry " + item + " out of range: allowed " + range(min, max));
      out.push_back(static_cast<int>(*x));
    }
    return out;
  }

  [[noreturn]] void fail(const std::string& key, const std::string& value, const std::string& why) const {
    throw InputError(info_.name + ": parameter " + key + "=" + value + ": " + why);
  }

 private:
  static std::string range(long long lo, long long hi) {
    return hi == std::numeric_limits<int>::max() ? ">= " + std::to_string(lo)
                                                 : std::to_string(lo) + ".." + std::to_string(hi);
  }
  const ParameterInfo& spec(const std::string& key) const {
    for (const auto& p : info_.parameters)
      if (p.key == key) return p;
    throw std::logic_error("concord::topology::Parameters: '" + key + "' missing from the catalogue of " + info_.name);
  }
  std::string allowed_keys() const {
    if (info_.parameters.empty()) return info_.name + " takes no parameters";
    std::string s = "allowed: ";
    for (std::size_t i = 0; i < info_.parameters.size(); ++i) s += (i ? ", " : "") + info_.parameters[i].key;
    return s;
  }

  const TopologyInfo& info_;
  int agents_;
  const std::map<std::string, std::string>& values_;
};

using Factory = std::function<Topology(const Parameters&, std::uint64_t seed)>;
struct Entry {
  TopologyInfo info;
  Factory make;
};

const ParameterInfo kWeights{"weights", "word", "metropolis_hastings",
                             "weight rule: metropolis_hastings, max_degree or uniform (regular graphs only)"};

/// rows x cols for a grid or torus: given values, or the most square factorisation of n.
std::pair<int, int> lattice_shape(const Parameters& p, const char* name) {
  const int n = p.agents();
  if (!p.given("rows") && !p.given("cols")) {
    int rows = static_cast<int>(std::sqrt(static_cast<double>(n)));
    while (rows > 1 && n % rows != 0) --rows;
    return {rows, n / rows};
  }
  const int rows = p.given("rows") ? static_cast<int>(p.integer("rows", 1)) : n / static_cast<int>(p.integer("cols", 1));
  const int cols = p.given("cols") ? static_cast<int>(p.integer("cols", 1)) : n / rows;
  if (static_cast<long long>(rows) * cols != n)
    throw InputError(std::string(name) + ": rows x cols = " + std::to_string(rows) + " x " + std::to_string(cols) +
                     " does not equal the number of agents " + std::to_string(n) +
                     "; choose rows and cols whose product is n");
  return {rows, cols};
}

/// EquiTopo hops: an explicit list, or M hops drawn from the seed.
std::vector<int> equi_hops(const Parameters& p, std::uint64_t seed) {
  const int n = p.agents();
  if (n < 2) throw InputError("EquiTopo graphs need at least 2 agents, got " + std::to_string(n));
  if (p.given("hops")) {
    if (p.given("M")) p.fail("M", p.raw("M"), "give either hops or M, not both");
    return p.int_list("hops", 1, n - 1);
  }
  const std::string m = p.raw("M");
  const int count = m == "auto" ? default_equitopo_hop_count(n) : static_cast<int>(p.integer("M", 1, 1 << 20));
  return draw_equitopo_hops(n, count, seed);
}

/// EquiDyn hop pool: "complete" (empty) or a list.
std::vector<int> dyn_hops(const Parameters& p) {
  const int n = p.agents();
  if (n < 2) throw InputError("EquiTopo graphs need at least 2 agents, got " + std::to_string(n));
  if (p.raw("hops") == "complete") return {};
  return p.int_list("hops", 1, n - 1);
}

const std::vector<Entry>& entries() {
  static const std::vector<Entry> table = [] {
    std::vector<Entry> t;
    const ParameterInfo rows{"rows", "int", "auto", "rows of the 2D layout (default: the most square factorisation)"};
    const ParameterInfo cols{"cols", "int", "auto", "columns of the 2D layout (rows x cols = agents)"};
    const ParameterInfo k{"k", "int", "1", "maximum degree k >= 1 (the graph uses cliques of size up to k+1)"};
    const ParameterInfo hops{"hops", "int list", "none", "explicit hops a_m in 1..n-1, comma-separated (instead of M)"};
    const ParameterInfo m{"M", "int", "auto", "number of hops drawn from the seed (auto: floor(8 ln(2n/0.1)/(3*0.5^2)))"};
    const ParameterInfo eta{"eta", "real", "0.5", "mixing step eta in (0, 1]: W = (1-eta) I + eta B"};
    const ParameterInfo dhops{"hops", "int list", "complete",
                              "hop pool: 'complete' (any of 1..n-1) or a comma-separated list"};
    const ParameterInfo rounds{"rounds", "int", "32", "length of the drawn periodic schedule"};

    t.push_back({{"ring", "ring: W(i,i-1) = W(i,i) = W(i,i+1) = 1/3", "any n >= 1", false, false, {}},
                 [](const Parameters& p, std::uint64_t) { return ring(p.agents()); }});
    t.push_back({{"grid", "2D grid without wrap-around, rows x cols", "rows x cols = n", false, false, {rows, cols, kWeights}},
                 [](const Parameters& p, std::uint64_t) {
                   auto [r, c] = lattice_shape(p, "grid");
                   return grid(r, c, parse_weight_rule(p.raw("weights")));
                 }});
    t.push_back({{"torus", "2D torus (grid with wrap-around), rows x cols", "rows x cols = n", false, false,
                  {rows, cols, kWeights}},
                 [](const Parameters& p, std::uint64_t) {
                   auto [r, c] = lattice_shape(p, "torus");
                   return torus(r, c, parse_weight_rule(p.raw("weights")));
                 }});
    t.push_back({{"erdos_renyi", "Erdos-Renyi G(n, p), re-drawn until connected", "any n >= 1", false, true,
                  {{"p", "real", "0.5", "edge probability in (0, 1]"}, kWeights}},
                 [](const Parameters& p, std::uint64_t seed) {
                   return erdos_renyi(p.agents(), p.real("p", 0.0, 1.0, true), seed, parse_weight_rule(p.raw("weights")));
                 }});
    t.push_back({{"geometric", "random geometric graph in the unit square, re-drawn until connected", "any n >= 1",
                  false, true, {{"radius", "real", "", "connection radius in (0, sqrt(2)]"}, kWeights}},
                 [](const Parameters& p, std::uint64_t seed) {
                   return geometric(p.agents(), p.real("radius", 0.0, std::sqrt(2.0), true), seed,
                                    parse_weight_rule(p.raw("weights")));
                 }});
    t.push_back({{"exponential", "static exponential graph: i receives from i + b^m, weights 1/(tau+1)", "any n >= 1",
                  false, false, {{"base", "int", "2", "base b >= 2 of the hops b^0, b^1, ... < n"}}},
                 [](const Parameters& p, std::uint64_t) {
                   return exponential(p.agents(), static_cast<int>(p.integer("base", 2)));
                 }});
    t.push_back({{"one_peer_exponential", "one-peer exponential graph: round k, i receives from i + 2^k, weights 1/2",
                  "any n >= 1 (finite-time when n is a power of 2)", true, false, {}},
                 [](const Parameters& p, std::uint64_t) { return one_peer_exponential(p.agents()); }});
    t.push_back({{"one_peer_hypercube", "one-peer hypercube: round k pairs i with i XOR 2^k, weights 1/2",
                  "n a power of 2", true, false, {}},
                 [](const Parameters& p, std::uint64_t) { return one_peer_hypercube(p.agents()); }});
    t.push_back({{"hyper_hypercube", "k-peer hyper-hypercube HHC(n, k): cliques along mixed-radix digits",
                  "every prime factor of n <= k+1", true, false, {k}},
                 [](const Parameters& p, std::uint64_t) {
                   return hyper_hypercube(p.agents(), static_cast<int>(p.integer("k", 1)));
                 }});
    t.push_back({{"simple_base", "simple Base-(k+1) graph SBG(n, k): finite-time consensus, degree <= k",
                  "any n >= 1", true, false, {k}},
                 [](const Parameters& p, std::uint64_t) {
                   return simple_base(p.agents(), static_cast<int>(p.integer("k", 1)));
                 }});
    t.push_back({{"base", "Base-(k+1) graph BG(n, k): finite-time consensus, degree <= k, fewest rounds",
                  "any n >= 1", true, false, {k}},
                 [](const Parameters& p, std::uint64_t) { return base(p.agents(), static_cast<int>(p.integer("k", 1))); }});
    t.push_back({{"equi_static", "D-EquiStatic: W = (1/M) sum_m B(a_m), directed", "n >= 2", false, true, {hops, m}},
                 [](const Parameters& p, std::uint64_t seed) { return equi_static(p.agents(), equi_hops(p, seed)); }});
    t.push_back({{"u_equi_static", "U-EquiStatic: W = (1/2M) sum_m (B(a_m) + B(a_m)^T), symmetric", "n >= 2", false,
                  true, {hops, m}},
                 [](const Parameters& p, std::uint64_t seed) { return u_equi_static(p.agents(), equi_hops(p, seed)); }});
    t.push_back({{"od_equi_dyn", "OD-EquiDyn: one peer per round, W = (1-eta) I + eta B(a), a drawn per round",
                  "n >= 2", true, true, {eta, dhops, rounds}},
                 [](const Parameters& p, std::uint64_t seed) {
                   return od_equi_dyn(p.agents(), dyn_hops(p), p.real("eta", 0.0, 1.0, true),
                                      static_cast<int>(p.integer("rounds", 1, 1 << 20)), seed);
                 }});
    t.push_back({{"ou_equi_dyn", "OU-EquiDyn: undirected one-peer matching per round, mixed with eta", "n >= 2", true,
                  true, {eta, dhops, rounds}},
                 [](const Parameters& p, std::uint64_t seed) {
                   return ou_equi_dyn(p.agents(), dyn_hops(p), p.real("eta", 0.0, 1.0, true),
                                      static_cast<int>(p.integer("rounds", 1, 1 << 20)), seed);
                 }});
    t.push_back({{"random_one_peer_exponential",
                  "one peer, drawn every iteration: hop 2^t, t uniform in [0, ceil(log2 n)), W = (I + P_{2^t})/2",
                  "any n >= 1 (pool: the rounds of one_peer_exponential)", true, true, {}},
                 [](const Parameters& p, std::uint64_t seed) { return random_one_peer_exponential(p.agents(), seed); }});
    t.push_back({{"equidyn", "EquiDyn (OD, complete): shift a uniform in 1..n-1 drawn every iteration, W = (1-eta) I + eta B(a)",
                  "n >= 2", true, true, {eta}},
                 [](const Parameters& p, std::uint64_t seed) {
                   return equidyn(p.agents(), p.real("eta", 0.0, 1.0, true), seed);
                 }});
    t.push_back({{"random_matching",
                  "randomized pairwise gossip: a random matching drawn every iteration, matched pairs average",
                  "any n >= 1 (base=ring: n >= 3)", true, true,
                  {{"base", "word", "complete", "graph the matchings are drawn on: complete or ring"}}},
                 [](const Parameters& p, std::uint64_t seed) {
                   const std::string base = p.raw("base");
                   if (base != "complete" && base != "ring") p.fail("base", base, "allowed: complete, ring");
                   return random_matching(p.agents(), base == "ring" ? MatchingBase::ring : MatchingBase::complete,
                                          seed);
                 }});
    t.push_back({{"star", "star around agent 0 (parameter-server picture), Metropolis-Hastings weights", "any n >= 1",
                  false, false, {}},
                 [](const Parameters& p, std::uint64_t) { return star(p.agents()); }});
    t.push_back({{"complete", "complete graph, W = (1/n) 1 1^T (DSGD becomes parallel SGD)", "any n >= 1", false, false,
                  {}},
                 [](const Parameters& p, std::uint64_t) { return complete(p.agents()); }});
    t.push_back({{"directed_random",
                  "random strongly connected digraph: ring j -> j+1 plus out_degree random out-neighbours, "
                  "column-stochastic W(i,j) = 1/(out_deg(j)+1) (push-sum; not doubly stochastic)",
                  "n >= out_degree + 2 (out_degree = 0: any n >= 1)", false, true,
                  {{"out_degree", "int", "2", "random out-neighbours per agent besides the ring successor, >= 0"}}},
                 [](const Parameters& p, std::uint64_t seed) {
                   return directed_random(p.agents(), static_cast<int>(p.integer("out_degree", 0)), seed);
                 }});
    t.push_back({{"file", "user-supplied W from a MatrixMarket (.mtx) or HDF5 (.h5) file, validated",
                  "n = the matrix size", false, false,
                  {{"path", "path", "", "the matrix file"}, {"tolerance", "real", "1e-12",
                                                             "allowed |row/column sum - 1|"}}},
                 [](const Parameters& p, std::uint64_t) {
                   return user_matrix_topology(read_weight_matrix_file(p.raw("path")), p.raw("path"), p.agents(),
                                               p.real("tolerance", 0.0, 0.5, false));
                 }});
    return t;
  }();
  return table;
}

/// The entry named `name`; InputError listing the valid names otherwise.
const Entry& find_entry(std::string_view name) {
  for (const auto& e : entries())
    if (e.info.name == name) return e;
  std::string names;
  for (const auto& e : entries()) names += (names.empty() ? "" : ", ") + e.info.name;
  throw InputError("unknown topology '" + std::string(name) + "'; allowed: " + names);
}

}  // namespace

const std::vector<TopologyInfo>& topology_catalog() {
  static const std::vector<TopologyInfo> infos = [] {
    std::vector<TopologyInfo> v;
    for (const auto& e : entries()) v.push_back(e.info);
    return v;
  }();
  return infos;
}

const TopologyInfo& topology_info(std::string_view name) { return find_entry(name).info; }

Topology make_topology(std::string_view name, int agents, const std::map<std::string, std::string>& params,
                       std::uint64_t seed) {
  const Entry& entry = find_entry(name);
  if (agents < 1) throw InputError(entry.info.name + ": agents must be >= 1, got " + std::to_string(agents));
  return entry.make(Parameters(entry.info, agents, params), seed);
}

}  // namespace concord::topology
