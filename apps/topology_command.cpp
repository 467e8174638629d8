// `concord topology` and `concord compare`: build topologies from the catalogue and report
// their spectral properties as text, JSON or Graphviz.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "commands.hpp"
#include "concord/core/error.hpp"
#include "concord/core/random.hpp"
#include "concord/core/text.hpp"
#include "concord/topology/analysis.hpp"
#include "concord/topology/registry.hpp"

namespace concord::app {
namespace {

namespace topo = concord::topology;

/// fmt::print with a run-time format string: nvcc (the CUDA flavour compiles every file with it)
/// cannot evaluate fmt 9's consteval format-string checks.
template <class... Args>
void print(fmt::string_view format, const Args&... args) {
  fmt::vprint(format, fmt::make_format_args(args...));
}

std::string yes_no(bool b) { return b ? "yes" : "no"; }

void print_summary(const topo::TopologyReport& r, std::uint64_t seed, bool seeded) {
  print("topology           {}\n", r.description);
  print("agents             {}\n", r.agents);
  if (seeded) print("seed               {}\n", seed);
  if (r.schedule == "periodic") print("rounds (period)    {}\n", r.period);
  else if (r.schedule == "drawn") print("pool (drawn)       {} matrices, one drawn uniformly every iteration from (seed, k)\n", r.period);
  else print("reweighted         weights drawn every iteration from (seed, k) on one pattern (round 0: E[W])\n");
  print("max degree         {}\n", r.max_degree);
  print("doubly stochastic  {}\n", yes_no(r.doubly_stochastic));
  print("stochasticity      {}\n", std::string(topo::to_string(r.stochasticity)));
  print("symmetric          {}\n", yes_no(r.symmetric));
  print("connected (union)  {}\n", yes_no(r.connected));
  if (r.schedule != "periodic" && !std::isnan(r.mean_square_rate)) {
    print("mean-square rate   {:.12f}   (lambda_2(E[W^T W]): E||x^k - xbar||^2 <= rate^k ||x^0 - xbar||^2)\n",
          r.mean_square_rate);
  } else if (r.schedule != "periodic") {
    print("mean-square rate   not computed (n > dense limit)\n");
  } else if (r.period == 1) {
    print("rho = ||W - J||_2  {:.12f}\n", r.period_rho);
  } else {
    print("period rate        {:.12f}   (||W(p-1)...W(0) - J||_2)\n", r.period_rho);
    double mean = 0.0;
    for (const auto& rr : r.rounds) mean += rr.rho;
    print("mean rho per round {:.12f}\n", mean / r.period);
  }
  if (r.schedule == "periodic")
    print("finite-time        {}   ({} = {:.3e})\n", yes_no(r.finite_time),
        r.method == "dense" ? "max |product - J|" : "||product - J||_2", r.period_deviation);
  print("analysis           {}\n", r.method);
  if (!r.doubly_stochastic)
    print("note               W is {}: x <- W x does not converge to the average, so rho and the period rate\n"
          "                   are distances of W to J, not rates of consensus on the average (push-sum corrects\n"
          "                   a column-stochastic W with a weight vector; doubly-stochastic algorithms refuse it)\n",
          r.stochasticity == topo::Stochasticity::none ? std::string("neither row- nor column-stochastic")
                                                        : std::string(topo::to_string(r.stochasticity)) + "-stochastic only");
  const std::size_t shown = std::min<std::size_t>(r.rounds.size(), 64);
  print("\n{:>6} {:>16} {:>10} {:>12}\n", "round", "rho", "max deg", "nonzeros");
  for (std::size_t k = 0; k < shown; ++k)
    print("{:>6} {:>16.12f} {:>10} {:>12}\n", k, r.rounds[k].rho, r.rounds[k].max_degree, r.rounds[k].nonzeros);
  if (shown < r.rounds.size()) print("   ... {} more rounds (see --json)\n", r.rounds.size() - shown);
}

nlohmann::json to_json(const topo::Topology& t, const topo::TopologyReport& r, std::uint64_t seed) {
  nlohmann::json j;
  j["name"] = t.name();
  j["description"] = t.description();
  j["agents"] = t.agents();
  j["seed"] = seed;
  j["period"] = t.period();
  auto& rounds = j["rounds"] = nlohmann::json::array();
  for (const auto& w : t.rounds()) {
    nlohmann::json entries = nlohmann::json::array();
    for (int i = 0; i < w.size(); ++i) {
      auto cols = w.row_cols(i);
      auto vals = w.row_weights(i);
      for (std::size_t k = 0; k < cols.size(); ++k) entries.push_back({i, cols[k], vals[k]});
    }
    rounds.push_back({{"entries", std::move(entries)}});
  }
  auto& rho = j["rho"] = nlohmann::json::array();
  for (const auto& rr : r.rounds) rho.push_back(rr.rho);
  j["period_rho"] = r.period_rho;
  j["finite_time"] = r.finite_time;
  j["schedule"] = r.schedule;
  if (!std::isnan(r.mean_square_rate)) j["mean_square_rate"] = r.mean_square_rate;
  j["max_degree"] = r.max_degree;
  j["doubly_stochastic"] = r.doubly_stochastic;
  j["stochasticity"] = std::string(topo::to_string(r.stochasticity));
  j["symmetric"] = r.symmetric;
  j["connected"] = r.connected;
  j["convention"] = "W[i][j] is the weight agent i gives to agent j's value (x <- W x)";
  return j;
}

/// Graphviz of the union of all rounds. Undirected when every round is symmetric; otherwise an
/// arc j -> i for every W(i, j) != 0 (information flows from j to i).
void print_dot(const topo::Topology& t, bool symmetric) {
  std::set<std::pair<int, int>> edges;
  for (const auto& w : t.rounds())
    for (int i = 0; i < w.size(); ++i)
      for (int j : w.row_cols(i))
        if (i != j) edges.insert(symmetric ? std::pair{std::min(i, j), std::max(i, j)} : std::pair{j, i});
  const char* arrow = symmetric ? "--" : "->";
  print("{} \"{}\" {{\n", symmetric ? "graph" : "digraph", t.description());
  print("  node [shape=circle];\n");
  for (int i = 0; i < t.agents(); ++i) print("  {};\n", i);
  for (auto [a, b] : edges) {
    if (t.is_static()) print("  {} {} {} [label=\"{:.4g}\"];\n", a, arrow, b, t.round(0)(symmetric ? a : b, symmetric ? b : a));
    else print("  {} {} {};\n", a, arrow, b);
  }
  print("}}\n");
}

std::string default_text(const topo::ParameterInfo& p) {
  if (p.default_value.empty()) return " [required]";
  if (p.default_value == "none") return " [optional]";
  return " [default: " + p.default_value + "]";
}

void print_list() {
  for (const auto& info : topo::topology_catalog()) {
    print("{}{}{}\n    {}\n    defined for: {}\n", info.name, info.time_varying ? "  (time-varying)" : "",
          info.uses_seed ? "  (uses --seed)" : "", info.summary, info.validity);
    for (const auto& p : info.parameters) print("    --param {}=<{}>  {}{}\n", p.key, p.type, p.help, default_text(p));
  }
}

/// The catalogue as JSON: what `--list` prints, for scripts.
nlohmann::ordered_json catalog_json() {
  using json = nlohmann::ordered_json;
  json list = json::array();
  for (const auto& info : topo::topology_catalog()) {
    json params = json::array();
    for (const auto& p : info.parameters)
      params.push_back({{"key", p.key},
                        {"type", p.type},
                        {"required", p.default_value.empty()},
                        {"default", p.default_value.empty() || p.default_value == "none" ? json(nullptr)
                                                                                          : json(p.default_value)},
                        {"help", p.help}});
    list.push_back({{"name", info.name},
                    {"summary", info.summary},
                    {"defined_for", info.validity},
                    {"time_varying", info.time_varying},
                    {"uses_seed", info.uses_seed},
                    {"parameters", std::move(params)}});
  }
  return {{"default_seed", default_seed}, {"topologies", std::move(list)}};
}

/// One `concord compare` argument: NAME or NAME:KEY=VALUE[:KEY=VALUE...].
struct CompareSpec {
  std::string text, name;
  std::map<std::string, std::string> params;
};

CompareSpec parse_compare_spec(const std::string& text) {
  CompareSpec spec{text, text, {}};
  const auto colon = text.find(':');
  if (colon == std::string::npos) {
    topo::topology_info(spec.name);
    return spec;
  }
  spec.name = text.substr(0, colon);
  topo::topology_info(spec.name);  // an unknown name: refused before any row is printed
  std::vector<std::string> assignments;
  const std::string rest = text.substr(colon + 1);
  std::size_t start = 0;
  while (start <= rest.size()) {
    auto end = rest.find(':', start);
    if (end == std::string::npos) end = rest.size();
    assignments.push_back(rest.substr(start, end - start));
    start = end + 1;
  }
  spec.params = parse_assignments(assignments, "compare " + text);
  return spec;
}

}  // namespace

Command add_topology_command(CLI::App& app) {
  struct Options {
    std::string name;
    int agents = 0;
    std::vector<std::string> params;
    std::uint64_t seed = default_seed;
    bool json = false, dot = false, list = false;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("topology", "Build a topology and print its weights and spectral properties");
  cmd->add_option("name", opt->name, "topology name (see --list)");
  cmd->add_option("--agents,-n", opt->agents, "number of agents");
  cmd->add_option("--param,-p", opt->params, "topology parameter KEY=VALUE (repeatable)")->take_all();
  cmd->add_option("--seed", opt->seed, "seed of random constructions (the same default as concord/seed in decks)")
      ->default_val(default_seed);
  auto* json = cmd->add_flag("--json", opt->json, "print every weight and the analysis as JSON (with --list: the catalogue)");
  auto* dot = cmd->add_flag("--dot", opt->dot, "print the union of the rounds as a Graphviz graph");
  json->excludes(dot);
  cmd->add_flag("--list", opt->list, "list every topology with its parameters");
  return [opt] {
    if (opt->list) {
      if (opt->json) std::cout << catalog_json().dump(2) << "\n";
      else print_list();
      return 0;
    }
    if (opt->name.empty()) throw InputError("topology: give a topology NAME (see concord topology --list)");
    topo::topology_info(opt->name);  // unknown names fail before --agents is checked
    if (opt->agents < 1)
      throw InputError("topology " + opt->name + ": --agents N is required, N >= 1 (got " + std::to_string(opt->agents) + ")");
    const auto params = parse_assignments(opt->params, "--param");
    const auto t = topo::make_topology(opt->name, opt->agents, params, opt->seed);
    if (opt->dot) {
      print_dot(t, std::all_of(t.rounds().begin(), t.rounds().end(), [](const auto& w) { return w.is_symmetric(); }));
      return 0;
    }
    const auto report = topo::analyze(t);
    if (opt->json) std::cout << to_json(t, report, opt->seed).dump() << "\n";
    else print_summary(report, opt->seed, topo::topology_info(opt->name).uses_seed);
    return 0;
  };
}

Command add_compare_command(CLI::App& app) {
  struct Options {
    int agents = 0;
    std::vector<std::string> specs;
    std::uint64_t seed = default_seed;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("compare", "Compare topologies side by side: degree, rho, period rate, finite time");
  cmd->add_option("--agents,-n", opt->agents, "number of agents")->required()->check(CLI::PositiveNumber);
  cmd->add_option("--seed", opt->seed, "seed of random constructions (the same default as concord/seed in decks)")
      ->default_val(default_seed);
  cmd->add_option("topologies", opt->specs, "NAME or NAME:KEY=VALUE[:KEY=VALUE...]")->required();
  cmd->footer("A topology not defined for the number of agents (or with a parameter out of range for it) gets a row "
              "saying why; the other rows are printed, and the exit status is then 2.");
  return [opt] {
    // Every argument is read before any row: an unknown name or a malformed parameter stops here.
    std::vector<CompareSpec> specs;
    for (const auto& text : opt->specs) specs.push_back(parse_compare_spec(text));
    print("{} agents, seed {}\n\n", opt->agents, opt->seed);
    print("{:<34} {:>6} {:>7} {:>12} {:>12} {:>11}\n", "topology", "rounds", "max deg", "rho (max)", "period rate",
          "finite-time");
    print("{:-<34} {:->6} {:->7} {:->12} {:->12} {:->11}\n", "", "", "", "", "", "");
    int undefined = 0;
    for (const auto& spec : specs) {
      topo::Topology t;
      try {
        t = topo::make_topology(spec.name, opt->agents, spec.params, opt->seed);
      } catch (const InputError& e) {
        print("{:<34} undefined: {}\n", spec.text, e.what());
        ++undefined;
        continue;
      }
      const auto r = topo::analyze(t);
      double rho_max = 0.0;
      for (const auto& rr : r.rounds) rho_max = std::max(rho_max, rr.rho);
      print("{:<34} {:>6} {:>7} {:>12.6f} {:>12.3e} {:>11}\n", spec.text, r.period, r.max_degree, rho_max, r.period_rho,
            yes_no(r.finite_time));
    }
    if (undefined > 0) {
      std::cout.flush();
      std::fflush(stdout);
      std::cerr << "concord: error: compare: " << undefined << " of " << specs.size()
                << " topologies are not defined for " << opt->agents << " agents (see their rows)\n";
      return 2;
    }
    return 0;
  };
}

}  // namespace concord::app
