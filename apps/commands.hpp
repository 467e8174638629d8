#pragma once
// Subcommands of the `concord` executable. Each registers its options on the CLI11 app and
// returns the function that runs it on rank 0.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace concord::app {

using Command = std::function<int()>;

/// `concord topology NAME --agents N [--param K=V]... [--seed S] [--json | --dot]`, `--list`.
Command add_topology_command(CLI::App& app);
/// `concord compare --agents N SPEC...`: one table row per topology (SPEC = NAME[:K=V[:K=V...]]).
Command add_compare_command(CLI::App& app);
/// `concord run DECK [--set PATH=VALUE]... [--restart CHECKPOINT] [--check]` (runs on every rank).
Command add_run_command(CLI::App& app);
/// `concord deck --reference` | `concord deck --list` | `concord deck DECK [--set PATH=VALUE]...`.
Command add_deck_command(CLI::App& app);
/// `concord summary FILE...`: one line per trajectory.
Command add_summary_command(CLI::App& app);
/// `concord NAME ARGS...` runs `python3 -m concord.NAME ARGS...` of the Python package shipped with
/// Concord (python/concord): plot (figures of trajectories and studies) and study (scaling studies).
Command add_python_command(CLI::App& app, const std::string& name, const std::string& description);

}  // namespace concord::app
