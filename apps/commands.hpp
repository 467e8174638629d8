#pragma once
// Subcommands of the `concord` executable. Each registers its options on the CLI11 app and
// returns the function that runs it on rank 0.
#include <CLI/CLI.hpp>
#include <functional>

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
/// `concord plot FILE... [--y COLUMN]... [--x iteration|time|bytes] [--output FIG]`: python3 -m concord.plot.
Command add_plot_command(CLI::App& app);

}  // namespace concord::app
