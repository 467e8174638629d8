// `concord run`, `concord deck` and `concord summary`: decks in, runs and their files out.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "concord/core/error.hpp"
#include "concord/driver/run.hpp"
#include "concord/io/checkpoint.hpp"
#include "concord/io/deck.hpp"
#include "concord/io/trajectory.hpp"

namespace concord::app {
namespace {

template <class... Args>
void print(fmt::string_view format, const Args&... args) {
  fmt::vprint(format, fmt::make_format_args(args...));
}

}  // namespace

Command add_run_command(CLI::App& app) {
  auto options = std::make_shared<driver::RunOptions>();
  auto* cmd = app.add_subcommand("run", "Run an input deck (collective: launch with mpiexec / srun for several ranks)");
  cmd->add_option("deck", options->deck, "the deck (YAML, or XML by its .xml extension)")->required();
  cmd->add_option("--set", options->overrides,
                  "override one deck value, e.g. --set concord/algorithm/step_size=0.1 (repeatable)")
      ->type_name("PATH=VALUE");
  cmd->add_option("--restart", options->restart, "continue from this checkpoint (bit-identically, any rank count)");
  cmd->add_flag("--new-trajectory", options->new_trajectory,
                "with --restart: start a new trajectory file at the checkpoint's iteration instead of continuing the "
                "run's (needed when that trajectory is missing or does not reach the checkpoint)");
  cmd->add_flag("--check", options->check_only,
                "validate the deck (and the checkpoint against it) and print the validated deck; run nothing");
  cmd->footer(
      "Exit status: 0 completed; 2 bad input (nothing run); 3 diverged (NaN/Inf; last good checkpoint kept); "
      "75 interrupted by SIGTERM/SIGINT (checkpoint written: continue with --restart).");
  return [options] { return driver::run(*options, MPI_COMM_WORLD); };
}

Command add_deck_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("deck", "Deck parameters: the reference (docs/deck-reference.md), or a validated deck");
  auto reference = std::make_shared<bool>(false);
  auto deck = std::make_shared<std::string>();
  auto overrides = std::make_shared<std::vector<std::string>>();
  cmd->add_flag("--reference", *reference, "print the deck reference (Markdown) generated from the declarations");
  auto list = std::make_shared<bool>(false);
  cmd->add_flag("--list", *list, "list the algorithms, problems and data sources with their parameters");
  cmd->add_option("deck", *deck, "a deck to validate; prints it with every default filled in");
  cmd->add_option("--set", *overrides, "override one deck value (as for concord run)")->type_name("PATH=VALUE");
  return [=] {
    if (*reference) {
      std::fputs(io::deck_reference_markdown().c_str(), stdout);
      return 0;
    }
    if (*list) {
      std::fputs(io::catalog_listing().c_str(), stdout);
      return 0;
    }
    if (deck->empty()) throw InputError("concord deck: give --reference, --list or a DECK to validate");
    auto raw = io::read_deck_file(*deck);
    for (const auto& o : *overrides) io::apply_override(raw, o);
    std::fputs(io::validate_deck(raw).yaml().c_str(), stdout);
    return 0;
  };
}

namespace {

/// What `concord summary` shows of one file: a trajectory (its last record) or a checkpoint.
struct SummaryRow {
  std::string file, kind, algorithm, topology;
  int agents = 0, dimension = 0;
  std::int64_t iteration = 0, records = 0;
  std::map<std::string, double> last;  ///< trajectories: the last record's metrics
};

/// The algorithm with its variant or period, without the step size: "dsgd (atc)", "psgd",
/// "gossip_pga (H = 4)" (algorithm->describe() is "<that>, step size <schedule>").
std::string algorithm_of(const io::FileAttributes& attributes) {
  const auto it = attributes.text.find("algorithm");
  if (it == attributes.text.end()) return "?";
  return it->second.substr(0, it->second.find(", step size "));
}

std::string text_of(const io::FileAttributes& attributes, const std::string& key) {
  const auto it = attributes.text.find(key);
  return it == attributes.text.end() ? std::string("?") : it->second;
}

/// A trajectory, else a checkpoint; InputError (the trajectory reader's message) when neither.
SummaryRow summarise(const std::string& file) {
  SummaryRow row;
  row.file = file;
  try {
    const auto t = io::read_trajectory(file);
    row.kind = "trajectory";
    row.algorithm = algorithm_of(t.attributes);
    row.topology = text_of(t.attributes, "topology");
    row.agents = t.agents;
    row.dimension = t.dimension;
    row.records = static_cast<std::int64_t>(t.iteration.size());
    row.iteration = t.iteration.empty() ? 0 : t.iteration.back();
    for (const auto& [column, values] : t.columns)
      if (!values.empty()) row.last[column] = values.back();
    return row;
  } catch (const InputError& not_a_trajectory) {
    io::CheckpointHeader h;
    try {
      h = io::read_checkpoint_header(file);
    } catch (const InputError&) {
      throw not_a_trajectory;
    }
    row.kind = "checkpoint";
    row.algorithm = algorithm_of(h.attributes);
    row.topology = text_of(h.attributes, "topology");
    row.agents = h.agents;
    row.dimension = h.dimension;
    row.iteration = h.iteration;
    return row;
  }
}

nlohmann::json to_json(const SummaryRow& r) {
  nlohmann::json last = nlohmann::json::object();
  for (const auto& [column, value] : r.last) last[column] = std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
  nlohmann::json j = {{"file", r.file},           {"kind", r.kind},       {"algorithm", r.algorithm},
                      {"topology", r.topology},   {"agents", r.agents},   {"dimension", r.dimension},
                      {"iteration", r.iteration}};
  if (r.kind == "trajectory") {
    j["records"] = r.records;
    j["last"] = std::move(last);
  }
  return j;
}

}  // namespace

Command add_summary_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "summary", "One line per file: a trajectory's run and last record, or a checkpoint's run and iteration");
  auto files = std::make_shared<std::vector<std::string>>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("files", *files, "trajectory and checkpoint files written by concord run")->required();
  cmd->add_flag("--json", *json, "print a JSON array, one object per file");
  cmd->footer("A file that is neither a trajectory nor a checkpoint gets one line on stderr; the others are "
              "summarised, and the exit status is then 2.");
  return [files, json] {
    std::vector<SummaryRow> rows;
    int unreadable = 0;
    for (const auto& f : *files) {
      try {
        rows.push_back(summarise(f));
      } catch (const InputError& e) {
        std::fprintf(stderr, "concord: summary: skipped %s\n", e.what());
        ++unreadable;
      }
    }
    if (*json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& r : rows) out.push_back(to_json(r));
      std::fputs((out.dump(2) + "\n").c_str(), stdout);
    } else {
      std::size_t width = 4, algorithm_width = 9;
      for (const auto& r : rows) width = std::max(width, r.file.size());
      for (const auto& r : rows) algorithm_width = std::max(algorithm_width, r.algorithm.size());
      print("{:<{}}  {:<10} {:<{}} {:<22} {:>6} {:>7}  {:>11} {:>11} {:>11} {:>8}\n", "file", width, "kind",
            "algorithm", algorithm_width, "topology", "agents", "iter", "consensus", "loss", "dist to x*", "accuracy");
      for (const auto& r : rows) {
        auto last = [&](const std::string& column) {
          auto it = r.last.find(column);
          return it == r.last.end() || std::isnan(it->second) ? std::string("-") : fmt::format("{:.3e}", it->second);
        };
        std::string accuracy = "-";
        for (const char* column : {"test_accuracy", "accuracy"})
          if (auto it = r.last.find(column); accuracy == "-" && it != r.last.end() && !std::isnan(it->second))
            accuracy = fmt::format("{:.4f}", it->second);
        print("{:<{}}  {:<10} {:<{}} {:<22} {:>6} {:>7}  {:>11} {:>11} {:>11} {:>8}\n", r.file, width, r.kind,
              r.algorithm, algorithm_width, r.topology, r.agents, r.iteration, last("consensus_error"), last("loss"),
              last("distance_to_solution"), accuracy);
      }
    }
    std::fflush(stdout);
    if (unreadable > 0) {
      std::fprintf(stderr, "concord: error: summary: %d of %zu files are neither trajectories nor checkpoints\n",
                   unreadable, files->size());
      return 2;
    }
    return 0;
  };
}

}  // namespace concord::app
