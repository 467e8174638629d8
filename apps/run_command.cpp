// `concord run`, `concord deck` and `concord summary`: decks in, runs and their files out.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "commands.hpp"
#include "concord/core/error.hpp"
#include "concord/driver/run.hpp"
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
  cmd->add_option("deck", *deck, "a deck to validate; prints it with every default filled in");
  cmd->add_option("--set", *overrides, "override one deck value (as for concord run)")->type_name("PATH=VALUE");
  return [=] {
    if (*reference) {
      std::fputs(io::deck_reference_markdown().c_str(), stdout);
      return 0;
    }
    if (deck->empty()) throw InputError("concord deck: give --reference or a DECK to validate");
    auto raw = io::read_deck_file(*deck);
    for (const auto& o : *overrides) io::apply_override(raw, o);
    std::fputs(io::validate_deck(raw).yaml().c_str(), stdout);
    return 0;
  };
}

Command add_summary_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("summary", "One line per trajectory file: the run and its last record");
  auto files = std::make_shared<std::vector<std::string>>();
  cmd->add_option("files", *files, "trajectory files written by concord run")->required();
  return [files] {
    std::vector<io::Trajectory> runs;
    for (const auto& f : *files) runs.push_back(io::read_trajectory(f));
    std::size_t width = 4;
    for (const auto& f : *files) width = std::max(width, f.size());
    print("{:<{}}  {:<24} {:<22} {:>6} {:>7}  {:>11} {:>11} {:>11} {:>8}\n", "file", width, "algorithm", "topology",
          "agents", "iter", "consensus", "loss", "dist to x*", "accuracy");
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const auto& t = runs[i];
      auto text = [&](const std::string& key) {
        auto it = t.attributes.text.find(key);
        return it == t.attributes.text.end() ? std::string("?") : it->second;
      };
      auto last = [&](const std::string& column) {
        auto it = t.columns.find(column);
        if (it == t.columns.end() || it->second.empty() || std::isnan(it->second.back())) return std::string("-");
        return fmt::format("{:.3e}", it->second.back());
      };
      std::string algorithm = text("algorithm");
      algorithm = algorithm.substr(0, algorithm.find(' '));
      std::string accuracy = "-";
      if (auto it = t.columns.find("test_accuracy"); it != t.columns.end() && !it->second.empty())
        accuracy = fmt::format("{:.4f}", it->second.back());
      else if (auto it2 = t.columns.find("accuracy"); it2 != t.columns.end() && !it2->second.empty())
        accuracy = fmt::format("{:.4f}", it2->second.back());
      print("{:<{}}  {:<24} {:<22} {:>6} {:>7}  {:>11} {:>11} {:>11} {:>8}\n", (*files)[i], width, algorithm,
            text("topology"), t.agents, t.iteration.empty() ? 0 : t.iteration.back(), last("consensus_error"),
            last("loss"), last("distance_to_solution"), accuracy);
    }
    return 0;
  };
}

}  // namespace concord::app
