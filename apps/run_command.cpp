// `concord run`, `concord deck` and `concord summary`: decks in, runs and their files out.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "concord/core/error.hpp"
#include "concord/core/format.hpp"
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
/// Where a trajectory's time went, from its time columns (absent when output/time_phases was off):
/// time_compute and time_comm are per-iteration means between records, so the totals weight them by
/// the iterations between records; time_metrics is per record; time_elapsed the loop's wall time.
struct Timing {
  std::int64_t iterations = 0;       ///< from the first record to the last
  double compute = 0.0, comm = 0.0;  ///< seconds in total (maximum over ranks, record by record)
  double metrics = 0.0;              ///< seconds evaluating records
  double elapsed = std::nan("");     ///< time_elapsed of the last record (NaN in older files)
  double per_second() const { return elapsed > 0.0 ? static_cast<double>(iterations) / elapsed : std::nan(""); }
  double comm_share() const { return compute + comm > 0.0 ? comm / (compute + comm) : std::nan(""); }
};

struct SummaryRow {
  std::string file, kind, algorithm, topology;
  int agents = 0, dimension = 0, ranks = 0;
  std::int64_t iteration = 0, records = 0;
  std::map<std::string, double> last;  ///< trajectories: the last record's metrics
  std::optional<Timing> timing;        ///< trajectories with time columns
};

std::optional<Timing> timing_of(const io::Trajectory& t) {
  const auto column = [&](const char* name) -> const std::vector<double>* {
    const auto it = t.columns.find(name);
    return it == t.columns.end() ? nullptr : &it->second;
  };
  const auto *compute = column("time_compute"), *comm = column("time_comm"), *metrics = column("time_metrics");
  if (compute == nullptr || comm == nullptr || metrics == nullptr || t.iteration.empty()) return std::nullopt;
  Timing timing;
  timing.iterations = t.iteration.back() - t.iteration.front();
  for (std::size_t r = 0; r < t.iteration.size(); ++r) {
    const auto since = static_cast<double>(r == 0 ? 0 : t.iteration[r] - t.iteration[r - 1]);
    timing.compute += (*compute)[r] * since;
    timing.comm += (*comm)[r] * since;
    timing.metrics += (*metrics)[r];
  }
  if (const auto* elapsed = column("time_elapsed")) timing.elapsed = elapsed->back();
  return timing;
}

/// The algorithm with its variant or period, without the step size: "dsgd (atc)", "psgd",
/// "gossip_pga (H = 4)" (algorithm->describe() is "<that>, step size <schedule>").
std::string algorithm_of(const io::FileAttributes& attributes) {
  const auto it = attributes.text.find("algorithm");
  if (it == attributes.text.end()) return "?";
  // The description up to its step size: "dsgd (atc)", "choco_sgd (top_k ..., consensus step 0.1)".
  std::string name = it->second.substr(0, it->second.find(", step size "));
  if (std::count(name.begin(), name.end(), '(') > std::count(name.begin(), name.end(), ')')) name += ")";
  return name;
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
    if (const auto it = t.attributes.integers.find("ranks"); it != t.attributes.integers.end())
      row.ranks = static_cast<int>(it->second);
    row.timing = timing_of(t);
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
    j["ranks"] = r.ranks;
    j["records"] = r.records;
    j["last"] = std::move(last);
    if (r.timing) {
      const Timing& t = *r.timing;
      const auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
      j["timing"] = {{"iterations", t.iterations},       {"elapsed_s", number(t.elapsed)},
                     {"iterations_per_s", number(t.per_second())},
                     {"compute_s", t.compute},           {"comm_s", t.comm},
                     {"metrics_s", t.metrics},           {"comm_share", number(t.comm_share())}};
    }
  }
  return j;
}

/// One table, printed aligned or as CSV: a header and a row of cells per file.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::size_t text_columns = 0;  ///< the first columns, left-aligned (numbers are right-aligned)
};

std::string csv_cell(const std::string& cell) {
  if (cell.find_first_of(",\"\n") == std::string::npos) return cell;
  std::string quoted(1, '"');
  for (char c : cell) {
    quoted.push_back(c);
    if (c == '"') quoted.push_back('"');  // a quote inside is doubled
  }
  quoted.push_back('"');
  return quoted;
}

void print_table(const Table& table, bool csv) {
  if (csv) {
    const auto line = [](const std::vector<std::string>& row) {
      std::string out;
      for (std::size_t c = 0; c < row.size(); ++c) {
        if (c > 0) out.push_back(',');
        out += csv_cell(row[c]);
      }
      print("{}\n", out);
    };
    line(table.header);
    for (const auto& row : table.rows) line(row);
    return;
  }
  std::vector<std::size_t> width(table.header.size());
  for (std::size_t c = 0; c < width.size(); ++c) {
    width[c] = table.header[c].size();
    for (const auto& row : table.rows) width[c] = std::max(width[c], row[c].size());
  }
  const auto line = [&](const std::vector<std::string>& row) {
    std::string out;
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (c > 0) out += "  ";
      out += c < table.text_columns ? fmt::format("{:<{}}", row[c], width[c]) : fmt::format("{:>{}}", row[c], width[c]);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    print("{}\n", out);
  };
  line(table.header);
  for (const auto& row : table.rows) line(row);
}

/// A number for a table: `format` in the aligned table, the shortest exact form in CSV, "-" (or
/// an empty CSV cell) when absent.
std::string cell(double v, bool csv, fmt::string_view format) {
  if (!std::isfinite(v)) return csv ? "" : "-";
  return csv ? shortest(v) : fmt::vformat(format, fmt::make_format_args(v));
}

Table metrics_table(const std::vector<SummaryRow>& rows, bool csv) {
  Table t{{"file", "kind", "algorithm", "topology", "agents", "iter", "consensus", "loss", "dist to x*", "accuracy"}, {}, 4};
  for (const auto& r : rows) {
    const auto last = [&](const char* column) {
      const auto it = r.last.find(column);
      return it == r.last.end() ? std::nan("") : it->second;
    };
    double accuracy = last("test_accuracy");
    if (std::isnan(accuracy)) accuracy = last("accuracy");
    t.rows.push_back({r.file, r.kind, r.algorithm, r.topology, std::to_string(r.agents), std::to_string(r.iteration),
                      cell(last("consensus_error"), csv, "{:.3e}"), cell(last("loss"), csv, "{:.3e}"),
                      cell(last("distance_to_solution"), csv, "{:.3e}"), cell(accuracy, csv, "{:.4f}")});
  }
  return t;
}

Table timing_table(const std::vector<SummaryRow>& rows, bool csv) {
  Table t{{"file", "algorithm", "topology", "ranks", "agents", "iter", "elapsed s", "it/s", "compute ms/it",
           "comm ms/it", "comm %", "metrics s", "bytes/agent"},
          {},
          3};
  for (const auto& r : rows) {
    if (!r.timing) continue;
    const Timing& m = *r.timing;
    const double per_it = m.iterations > 0 ? 1e3 / static_cast<double>(m.iterations) : std::nan("");
    const auto bytes = r.last.find("bytes_sent");
    t.rows.push_back({r.file, r.algorithm, r.topology, std::to_string(r.ranks), std::to_string(r.agents),
                      std::to_string(m.iterations), cell(m.elapsed, csv, "{:.3f}"), cell(m.per_second(), csv, "{:.1f}"),
                      cell(m.compute * per_it, csv, "{:.4f}"), cell(m.comm * per_it, csv, "{:.4f}"),
                      cell(100.0 * m.comm_share(), csv, "{:.1f}"), cell(m.metrics, csv, "{:.3f}"),
                      cell(bytes == r.last.end() ? std::nan("") : bytes->second, csv, "{:.4g}")});
  }
  return t;
}

}  // namespace

Command add_summary_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "summary", "One line per file: a trajectory's run and last record, or a checkpoint's run and iteration");
  auto files = std::make_shared<std::vector<std::string>>();
  auto json = std::make_shared<bool>(false);
  auto csv = std::make_shared<bool>(false);
  auto timing = std::make_shared<bool>(false);
  cmd->add_option("files", *files, "trajectory and checkpoint files written by concord run")->required();
  auto* json_flag = cmd->add_flag("--json", *json, "print a JSON array, one object per file (with its timing)");
  cmd->add_flag("--csv", *csv, "print the table as CSV (numbers in full precision, empty cells for absent values)")
      ->excludes(json_flag);
  cmd->add_flag("--timing", *timing,
                "where the time went, one line per trajectory: wall time and iterations per second (time_elapsed), "
                "compute and communication per iteration, their split, the records' evaluation, bytes sent");
  cmd->footer("A file that is neither a trajectory nor a checkpoint gets one line on stderr; the others are "
              "summarised, and the exit status is then 2. --timing needs the time columns (output/time_phases: "
              "true, the default); other files are left out of its table.");
  return [files, json, csv, timing] {
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
      print_table(*timing ? timing_table(rows, *csv) : metrics_table(rows, *csv), *csv);
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
