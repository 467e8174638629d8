#include "concord/driver/run.hpp"

#include <fmt/format.h>
#include <sched.h>
#include <sys/stat.h>

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>
#include <type_traits>

#include "concord/algorithms/algorithm.hpp"
#include "concord/algorithms/catalog.hpp"
#include "concord/algorithms/metrics.hpp"
#include "concord/comm/transport.hpp"
#include "concord/config.hpp"
#include "concord/core/agent_layout.hpp"
#include "concord/core/error.hpp"
#include "concord/core/format.hpp"
#include "concord/core/random.hpp"
#include "concord/core/text.hpp"
#include "concord/driver/build_info.hpp"
#include "concord/git_revision.hpp"
#include "concord/io/checkpoint.hpp"
#include "concord/io/deck.hpp"
#include "concord/io/trajectory.hpp"
#include "concord/mixing/mixer.hpp"
#include "concord/mixing/reproducible_sum.hpp"
#include "concord/data/readers.hpp"
#include "concord/problems/catalog.hpp"
#include "concord/problems/setup.hpp"
#include "concord/topology/analysis.hpp"
#include "concord/topology/registry.hpp"

namespace concord::driver {
namespace {

/// fmt with a run-time format string: nvcc (the CUDA flavour compiles every file with it) cannot
/// evaluate fmt 9's consteval format-string checks.
template <class... Args>
std::string str(fmt::string_view format, const Args&... args) {
  return fmt::vformat(format, fmt::make_format_args(args...));
}

// ---------------------------------------------------------------------------------------------
// Signals: the handler only records the signal; the run loop agrees on it collectively.
// ---------------------------------------------------------------------------------------------
volatile std::sig_atomic_t g_signal = 0;
extern "C" void record_signal(int signo) { g_signal = signo; }

class SignalGuard {
 public:
  SignalGuard() {
    g_signal = 0;
    struct sigaction action {};
    action.sa_handler = record_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, &old_term_);
    sigaction(SIGINT, &action, &old_int_);
  }
  ~SignalGuard() {
    sigaction(SIGTERM, &old_term_, nullptr);
    sigaction(SIGINT, &old_int_, nullptr);
  }

 private:
  struct sigaction old_term_ {}, old_int_ {};
};

// ---------------------------------------------------------------------------------------------
// Small collective helpers
// ---------------------------------------------------------------------------------------------
int comm_rank(MPI_Comm comm) {
  int r = 0;
  MPI_Comm_rank(comm, &r);
  return r;
}
int comm_size(MPI_Comm comm) {
  int p = 1;
  MPI_Comm_size(comm, &p);
  return p;
}

/// Rank 0 reads the file; every rank gets the text, or the same InputError.
std::string broadcast_file(const std::string& path, MPI_Comm comm) {
  std::string text;
  long long size = -1;
  if (comm_rank(comm) == 0) {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::stringstream s;
      s << in.rdbuf();
      text = s.str();
      size = static_cast<long long>(text.size());
    }
  }
  MPI_Bcast(&size, 1, MPI_LONG_LONG, 0, comm);
  if (size < 0) throw InputError("deck " + path + ": cannot be read (missing file or no permission)");
  text.resize(static_cast<std::size_t>(size));
  MPI_Bcast(text.data(), static_cast<int>(size), MPI_CHAR, 0, comm);
  return text;
}

/// Why `path` cannot receive an output file ("is a directory", "is not a regular file (a device,
/// a pipe, ...)"), or "" when it is a regular file or does not exist. Rank 0 looks. Collective.
std::string unusable_output(const std::string& path, MPI_Comm comm) {
  int kind = 0;  // 0 fine, 1 directory, 2 another kind
  if (comm_rank(comm) == 0) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) kind = S_ISREG(st.st_mode) ? 0 : S_ISDIR(st.st_mode) ? 1 : 2;
  }
  MPI_Bcast(&kind, 1, MPI_INT, 0, comm);
  return kind == 0 ? "" : kind == 1 ? "is a directory" : "is not a regular file (a device, a pipe, ...)";
}

bool exists_on_root(const std::string& path, MPI_Comm comm) {
  int found = 0;
  if (comm_rank(comm) == 0) {
    struct stat st {};
    found = ::stat(path.c_str(), &st) == 0 ? 1 : 0;
  }
  MPI_Bcast(&found, 1, MPI_INT, 0, comm);
  return found != 0;
}

std::string duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e8) return "--:--";
  const auto s = static_cast<long long>(seconds + 0.5);
  return s >= 3600 ? str("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60) : str("{}:{:02}", s / 60, s % 60);
}

std::string default_checkpoint(const std::string& output) {
  const std::string ext = ".h5";
  if (output.size() > ext.size() && output.compare(output.size() - ext.size(), ext.size(), ext) == 0)
    return output.substr(0, output.size() - ext.size()) + ".checkpoint.h5";
  return output + ".checkpoint.h5";
}

// ---------------------------------------------------------------------------------------------
// Deck -> objects
// ---------------------------------------------------------------------------------------------
std::map<std::string, std::string> topology_parameters(const io::Tree& list) {
  std::map<std::string, std::string> params;
  for (const auto& [key, value] : list.items()) {
    if (key == "name") continue;
    if (value.is_string()) params[key] = value.get<std::string>();
    else if (value.is_number_float()) params[key] = shortest(value.get<double>());
    else if (value.is_array()) {
      std::string s;
      for (const auto& x : value) {
        if (!s.empty()) s += ',';
        s += x.dump();
      }
      params[key] = s;
    } else params[key] = value.dump();
  }
  return params;
}

/// The problem's spec: the catalogue's parameters from concord/problem, and the run's minibatch and
/// evaluation subset.
problems::ProblemSpec problem_spec(const io::Deck& deck) {
  problems::ProblemSpec spec = problems::problem_spec(deck.at("problem"));
  if (deck.has("algorithm/batch_size")) spec.batch = static_cast<int>(deck.integer("algorithm/batch_size"));
  spec.evaluation_samples = deck.integer("output/evaluation_samples");
  return spec;
}

/// The algorithm's options: the catalogue's parameters from concord/algorithm, and the phase timing
/// from concord/output.
algorithms::AlgorithmOptions algorithm_options(const io::Deck& deck) {
  algorithms::AlgorithmOptions o = algorithms::algorithm_options(deck.at("algorithm"));
  o.time_phases = deck.boolean("output/time_phases");
  return o;
}

comm::TransportOptions transport_options(const io::Deck& deck) {
  comm::TransportOptions o;
  const auto kind = deck.text("parallel/transport");
  o.kind = kind == "mpi" ? comm::TransportKind::mpi : kind == "nccl" ? comm::TransportKind::nccl : comm::TransportKind::automatic;
  o.gpu_aware = deck.boolean("parallel/gpu_aware");
  return o;
}

std::vector<std::string> metric_columns(const problems::Problem& problem, bool time_phases) {
  std::vector<std::string> c = {"consensus_error", "loss", "grad_norm_sq"};
  if (problem.solution()) c.push_back("distance_to_solution");
  if (problem.classification()) c.push_back("accuracy");
  if (problem.has_test_set()) {
    c.push_back("test_loss");
    if (problem.classification()) c.push_back("test_accuracy");
  }
  if (time_phases) {  // measured only then (output/time_phases): no columns of zeros otherwise
    c.push_back("time_compute");
    c.push_back("time_comm");
    // Always measured (the progress rate leaves it out), but a column only with the other times:
    // output/time_phases switches every time column at once.
    c.push_back("time_metrics");
  }
  return c;
}

double metric_value(const algorithms::MetricValues& m, const std::string& column) {
  if (column == "consensus_error") return m.consensus_error;
  if (column == "loss") return m.loss;
  if (column == "grad_norm_sq") return m.grad_norm_sq;
  if (column == "distance_to_solution") return m.distance_to_solution;
  if (column == "accuracy") return m.accuracy;
  if (column == "test_loss") return m.test_loss;
  if (column == "test_accuracy") return m.test_accuracy;
  return algorithms::MetricValues::none;
}

/// Smallest global id of an agent whose model has a NaN or Inf (INT_MAX: none). Collective.
int first_nonfinite_agent(const ExecutionSpace& exec, const AgentMatrix& x, const AgentLayout& layout, MPI_Comm comm) {
  const std::int64_t rows = x.extent(0), size = x.extent(0) * x.extent(1);
  int local = INT_MAX;
  if (size > 0) {
    const auto* data = x.data();  // LayoutLeft: entry (a, j) at a + rows * j
    Kokkos::parallel_reduce(
        "concord::driver::first_nonfinite_agent", Kokkos::RangePolicy<ExecutionSpace>(exec, 0, size),
        KOKKOS_LAMBDA(std::int64_t i, int& first) {
          if (!Kokkos::isfinite(data[i])) first = Kokkos::min(first, static_cast<int>(i % rows));
        },
        Kokkos::Min<int>(local));
  }
  int global_local = local == INT_MAX ? INT_MAX : layout.local_first() + local;
  int result = INT_MAX;
  MPI_Allreduce(&global_local, &result, 1, MPI_INT, MPI_MIN, comm);
  return result;
}

/// The deck's concord/problem/initial other than `point`, on top of the problem's initial point:
/// `normal` adds scale * N(0, I) from agent i's own stream, `index` sets x_i = scale * i. Both
/// depend on the global agent id only, so the models are the same for any number of ranks.
void place_initial_models(const ExecutionSpace& exec, const AgentMatrix& x0, const AgentLayout& layout,
                          std::uint64_t seed, bool index, double scale) {
  auto host = Kokkos::create_mirror_view(x0);
  Kokkos::deep_copy(exec, host, x0);
  exec.fence("concord::driver::place_initial_models");
  for (int a = 0; a < layout.local_count(); ++a) {
    const auto agent = static_cast<std::uint64_t>(layout.local_first() + a);
    // Key 2^63 keeps these draws apart from the MLP's initial weights (same purpose, small keys).
    auto rng = agent_stream(seed, stream_purpose::initial, agent, std::uint64_t{1} << 63);
    for (std::size_t c = 0; c < x0.extent(1); ++c)
      host(a, c) = index ? scale * static_cast<double>(agent) : host(a, c) + scale * rng.normal();
  }
  Kokkos::deep_copy(exec, x0, host);
}

/// Below this many multiply-adds per step and rank, an automatic concord/parallel/threads runs the
/// iterations on one thread: a kernel then takes a few microseconds, about what starting and
/// joining a team of OpenMP threads costs, and on a loaded machine every join waits for a thread
/// that another process holds (a tiny problem's step measured 15x slower with 2 threads than with
/// 1; perf/RESULTS.md, "Small problems").
constexpr std::int64_t single_thread_work = std::int64_t{1} << 16;

/// Multiply-adds of one step on the rank with the most agents, roughly: local agents x dimension x
/// samples per gradient (the minibatch, or an agent's samples for full gradients; 1 for gossip).
/// -1 when the deck does not say (data files: the sample count is known only once read).
std::int64_t work_per_step(const io::Deck& deck, const AgentLayout& layout, int dimension) {
  std::int64_t samples = -1;
  const std::int64_t batch = deck.has("algorithm/batch_size") ? deck.integer("algorithm/batch_size") : 0;
  if (deck.text("algorithm/name") == "gossip") samples = 1;
  else if (batch > 0) samples = batch;
  else if (deck.has("problem/data/samples_per_agent")) samples = deck.integer("problem/data/samples_per_agent");
  else if (deck.has("problem/data/samples"))
    samples = (deck.integer("problem/data/samples") + layout.agents() - 1) / layout.agents();
  if (samples < 0) return -1;
  return static_cast<std::int64_t>(layout.count(0)) * dimension * std::max<std::int64_t>(samples, 1);
}

/// The execution space instance the whole run works on, and a line saying why. With OpenMP:
/// `requested` threads (concord/parallel/threads > 0, at most the pool's), or, when 0, one thread
/// for a step below `single_thread_work` and the whole pool otherwise. One instance, created once
/// before the loop; every kernel of the problem, the mixer, the sums and the metrics runs on it.
/// Results do not depend on the choice (every kernel is bit-identical for any thread count).
std::pair<ExecutionSpace, std::string> execution_instance(std::int64_t requested, std::int64_t work) {
  const ExecutionSpace whole;
  if constexpr (!host_execution) return {whole, whole.name()};
  const int pool = whole.concurrency();
  const std::string size = work < 0 ? "work per step unknown" : str("{} multiply-adds per step", work);
  int threads = pool;
  std::string why;
  if (requested > 0) {
    threads = static_cast<int>(std::min<std::int64_t>(requested, pool));
    why = str("concord/parallel/threads: {}", requested);
  } else if (work >= 0 && work < single_thread_work) {
    threads = 1;
    why = str("automatic: {}, below {}", size, single_thread_work);
  } else {
    why = str("automatic: {}", size);
  }
  const std::string line = str("{} of {} per rank ({})", threads, pool, why);
#ifdef KOKKOS_ENABLE_OPENMP
  if constexpr (std::is_same_v<ExecutionSpace, Kokkos::OpenMP>)
    if (threads < pool) return {Kokkos::OpenMP(threads), line};
#endif
  return {whole, line};
}

/// "4 ranks x 1 thread on a node with 2 cores" when the ranks on some node, times each one's
/// threads, exceed the cores they may run on; "" otherwise. MPICH's ranks busy-poll while they
/// wait, so an oversubscribed run is slower by orders of magnitude. Collective.
std::string oversubscription(MPI_Comm comm, int threads) {
  MPI_Comm node = MPI_COMM_NULL;
  MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int node_ranks = 1;
  MPI_Comm_size(node, &node_ranks);
  MPI_Comm_free(&node);
  if constexpr (!host_execution) threads = 1;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  const int cores = sched_getaffinity(0, sizeof(allowed), &allowed) == 0 ? CPU_COUNT(&allowed) : 0;
  // The worst node: the most demand per core.
  struct {
    double load;
    int rank;
  } mine{cores > 0 ? static_cast<double>(node_ranks) * threads / cores : 0.0, comm_rank(comm)}, worst{};
  MPI_Allreduce(&mine, &worst, 1, MPI_DOUBLE_INT, MPI_MAXLOC, comm);
  int numbers[3] = {node_ranks, threads, cores};
  MPI_Bcast(numbers, 3, MPI_INT, worst.rank, comm);
  if (!(worst.load > 1.0)) return "";
  return str("{} ranks x {} thread{} on a node where they may use {} core{}", numbers[0], numbers[1],
             numbers[1] == 1 ? "" : "s", numbers[2], numbers[2] == 1 ? "" : "s");
}

/// The trajectory's records in memory (a few doubles per record), for the checkpoints.
class RecordHistory {
 public:
  RecordHistory(std::vector<std::string> columns, std::int64_t records) : columns_(std::move(columns)) {
    iterations_.reserve(static_cast<std::size_t>(records));
    values_.reserve(static_cast<std::size_t>(records) * columns_.size());
  }
  /// The checkpoint's records with iteration <= `until`, mapped by column name (a column the
  /// checkpoint lacks, e.g. after output/time_phases changed, reads NaN).
  void restore(const io::CheckpointHeader& checkpoint, std::int64_t until) {
    const std::size_t from = checkpoint.record_columns.size();
    std::vector<long> source(columns_.size(), -1);
    for (std::size_t c = 0; c < columns_.size(); ++c)
      for (std::size_t f = 0; f < from; ++f)
        if (checkpoint.record_columns[f] == columns_[c]) source[c] = static_cast<long>(f);
    for (std::size_t r = 0; r < checkpoint.record_iteration.size() && checkpoint.record_iteration[r] <= until; ++r) {
      std::vector<double> row(columns_.size(), algorithms::MetricValues::none);
      for (std::size_t c = 0; c < columns_.size(); ++c)
        if (source[c] >= 0) row[c] = checkpoint.record_values[r * from + static_cast<std::size_t>(source[c])];
      append(checkpoint.record_iteration[r], row);
    }
  }
  void append(std::int64_t iteration, const std::vector<double>& row) {
    iterations_.push_back(iteration);
    values_.insert(values_.end(), row.begin(), row.end());
  }
  std::size_t size() const { return iterations_.size(); }
  std::int64_t last() const { return iterations_.empty() ? -1 : iterations_.back(); }
  std::int64_t iteration(std::size_t r) const { return iterations_[r]; }
  std::vector<double> values(std::size_t r) const {
    return {values_.begin() + static_cast<long>(r * columns_.size()), values_.begin() + static_cast<long>((r + 1) * columns_.size())};
  }
  const std::vector<std::int64_t>& iterations() const { return iterations_; }
  const std::vector<double>& flat_values() const { return values_; }

 private:
  std::vector<std::string> columns_;
  std::vector<std::int64_t> iterations_;
  std::vector<double> values_;
};

/// Refuses, before anything is allocated, a deck whose run cannot fit in this process: a lower
/// bound of the bytes the rank with the most agents needs (the topology's weights, held by every
/// rank; six agents x dimension matrices of state; synthetic data) against what the process may
/// use. A bound, not a forecast: a deck that passes can still run out of memory.
void check_memory(const io::Deck& deck, int ranks) {
  const double agents = static_cast<double>(deck.integer("agents"));
  const double local = std::ceil(agents / ranks);
  // (bytes, what, the deck items that set it)
  std::vector<std::tuple<double, std::string, std::string>> parts = {
      {agents * 40.0, "the topology's weights", "concord/agents"}};  // a weight, its column and row offset per agent
  if (deck.has("problem/data/samples_per_agent")) {
    const double d = static_cast<double>(deck.integer("problem/data/dimension"));
    const double m = static_cast<double>(deck.integer("problem/data/samples_per_agent"));
    parts.emplace_back(local * d * 8.0 * 6.0, "the agents' models", "concord/agents x concord/problem/data/dimension");
    parts.emplace_back(local * m * (d + 1.0) * 8.0, "the synthetic samples",
                       "concord/problem/data/samples_per_agent x dimension");
  } else if (deck.has("problem/data/samples")) {
    const double features = static_cast<double>(deck.integer("problem/data/features"));
    parts.emplace_back(local * features * 8.0 * 6.0, "the agents' models", "concord/agents x concord/problem/data/features");
    parts.emplace_back(static_cast<double>(deck.integer("problem/data/samples")) * (features + 1.0) * 8.0,
                       "the synthetic samples", "concord/problem/data/samples x features");
  }
  double bytes = 0.0;
  for (const auto& part : parts) bytes += std::get<0>(part);
  const double limit = 2.0 * static_cast<double>(data::data_memory_limit());
  if (bytes <= limit) return;
  const auto& largest = *std::max_element(parts.begin(), parts.end());
  throw InputError(str("{}: the run needs at least {:.3g} GiB per process on {} rank(s) ({:.3g} GiB for {}), more than "
                       "this process may use ({:.3g} GiB); use more ranks or nodes, or a smaller problem",
                       std::get<2>(largest), bytes / 1073741824.0, ranks, std::get<0>(largest) / 1073741824.0,
                       std::get<1>(largest), limit / 1073741824.0));
}

/// Rank 0 prints; lines are flushed so batch logs show progress as it happens.
class Console {
 public:
  explicit Console(bool active) : active_(active) {}
  template <class... Args>
  void operator()(fmt::string_view f, const Args&... args) const {
    if (!active_) return;
    std::fputs(str(f, args...).c_str(), stdout);
    std::fflush(stdout);
  }
  bool active() const { return active_; }

 private:
  bool active_;
};

/// Checkpoint attribute: the iteration of the last trajectory record when it was written.
const std::string trajectory_last_record = "trajectory_last_record";

}  // namespace

std::string continue_command(const RunOptions& options, const std::string& checkpoint) {
  std::string command = "concord run " + shell_quote(options.deck);
  for (const auto& assignment : options.overrides) command += " --set " + shell_quote(assignment);
  return command + " --restart " + shell_quote(checkpoint);
}

int run(const RunOptions& options, MPI_Comm comm) {
  const int rank = comm_rank(comm), ranks = comm_size(comm);
  const Console out(rank == 0);

  // ---- 1. The deck, validated before anything else -------------------------------------------
  io::Tree raw = io::parse_deck(broadcast_file(options.deck, comm), options.deck, io::deck_format_of(options.deck));
  for (const auto& assignment : options.overrides) io::apply_override(raw, assignment);
  const io::Deck deck = io::validate_deck(raw);
  const int agents = static_cast<int>(deck.integer("agents"));
  const auto seed = static_cast<std::uint64_t>(deck.integer("seed"));
  const std::int64_t iterations = deck.integer("algorithm/iterations");
  const std::string output_file = deck.text("output/file");
  const std::string checkpoint_file =
      deck.text("output/checkpoint_file").empty() ? default_checkpoint(output_file) : deck.text("output/checkpoint_file");
  const std::int64_t log_every = deck.integer("output/log_every");
  const std::int64_t checkpoint_every = deck.integer("output/checkpoint_every");
  const std::int64_t snapshot_every = deck.integer("output/snapshot_every");
  const std::int64_t finite_every = deck.integer("output/check_finite_every");
  if (agents < ranks)
    throw InputError(str("concord/agents: {} agents on {} ranks; every rank needs at least one agent "
                                 "(run with at most {} ranks or raise concord/agents)",
                                 agents, ranks, agents));
  if (checkpoint_file == output_file)
    throw InputError("concord/output/checkpoint_file: must differ from concord/output/file (" + output_file + ")");
  for (const auto& [key, file] : {std::pair{"file", output_file}, std::pair{"checkpoint_file", checkpoint_file}})
    if (const std::string problem = unusable_output(file, comm); !problem.empty())
      throw InputError(str("concord/output/{}: {} {}; choose another file name", key, file, problem));

  check_memory(deck, ranks);

  // ---- 2. The topology (its parameters are checked against n here) ---------------------------
  topology::Topology topo;
  try {
    topo = topology::make_topology(deck.text("topology/name"), agents, topology_parameters(deck.at("topology")), seed);
  } catch (const InputError& e) {
    throw InputError(std::string("concord/topology: ") + e.what());
  }
  const auto algorithm_opts = algorithm_options(deck);
  algorithms::check_topology(algorithm_opts, topo);  // e.g. d2's eigenvalue condition, before any data is read
  if (algorithms::algorithm_info(algorithm_opts.name).descends) algorithm_opts.schedule.validate();

  // ---- 3. Outputs and the checkpoint to resume from ------------------------------------------
  std::int64_t start = 0;
  io::CheckpointHeader resume_from;
  if (!options.restart.empty()) {
    resume_from = io::read_checkpoint_header(options.restart);
    const auto it = resume_from.attributes.text.find("deck");
    if (it == resume_from.attributes.text.end())
      throw InputError("checkpoint " + options.restart + ": has no deck attribute (not written by concord run)");
    const io::Deck saved = io::validate_deck(io::parse_deck(it->second, options.restart + " (its deck)", io::DeckFormat::yaml));
    const auto differences = io::restart_differences(saved.tree(), deck.tree());
    if (!differences.empty()) {
      std::string msg = "checkpoint " + options.restart + " does not match the deck (only concord/algorithm/iterations, "
                        "concord/output/* and concord/parallel/* may change on a restart):";
      for (const auto& d : differences) msg += "\n  " + d;
      throw InputError(msg);
    }
    start = resume_from.iteration;
    if (start > iterations)
      throw InputError(str("concord/algorithm/iterations: {} is below the checkpoint's iteration {} ({})",
                                   iterations, start, options.restart));
    const bool trajectory_exists = exists_on_root(output_file, comm);
    if (options.new_trajectory && trajectory_exists && !deck.boolean("output/overwrite"))
      throw InputError("output " + output_file + " exists; --new-trajectory writes a new file: choose another "
                       "concord/output/file or set concord/output/overwrite: true to replace it");
    if (!options.new_trajectory && !trajectory_exists)
      throw InputError(str("trajectory {} does not exist: a restart continues the trajectory of the run it restarts. Point "
                    "concord/output/file to that run's trajectory (the command printed when the run stopped has "
                    "every --set it used), or add --new-trajectory to write a new trajectory from the records the "
                    "checkpoint keeps (up to iteration {})",
                           output_file, start));
  } else if (options.new_trajectory) {
    throw InputError("--new-trajectory applies to a restart only (give --restart CHECKPOINT)");
  } else if (!deck.boolean("output/overwrite")) {
    for (const auto& file : {output_file, checkpoint_file})
      if (exists_on_root(file, comm))
        throw InputError("output " + file + " exists; choose another concord/output/file, set "
                         "concord/output/overwrite: true to replace it, or continue a run with --restart CHECKPOINT");
  }
  if (options.check_only) {
    out("{}", deck.yaml());
    out("deck {}: valid\n", options.deck);
    return completed;
  }

  // ---- 4. Everything the iteration works with --------------------------------------------------
  const AgentLayout layout = AgentLayout::over(agents, comm);
  auto transport = comm::make_transport(comm, transport_options(deck));
  auto problem = problems::make_problem(problem_spec(deck), layout, transport, seed);
  const int dimension = problem->dimension();
  const auto instance = execution_instance(deck.integer("parallel/threads"), work_per_step(deck, layout, dimension));
  const ExecutionSpace& exec = instance.first;
  if (!options.restart.empty() && (resume_from.agents != agents || resume_from.dimension != dimension))
    throw InputError(str("checkpoint {} holds {} agents x {} coordinates; the deck gives {} x {}", options.restart,
                                 resume_from.agents, resume_from.dimension, agents, dimension));
  mixing::Mixer mixer(topo, layout, transport, dimension);
  mixing::ReproducibleSum reducer(transport, layout, dimension + problems::Problem::extra_columns);
  auto algorithm = algorithms::make_algorithm(algorithm_opts, {*problem, mixer, reducer});
  algorithms::Metrics metrics(*problem, reducer);
  const auto columns = metric_columns(*problem, algorithm_opts.time_phases);

  // ---- 5. Header ------------------------------------------------------------------------------
  out("concord {} (git {}) — {}{}\n", CONCORD_VERSION, CONCORD_GIT_REVISION, options.deck,
      options.restart.empty() ? "" : ", restarting from " + options.restart);
  for (const auto& [label, value] : build_info())
    if (label != "concord") out("  {:<16} {}\n", label + ":", value);
  out("  {:<16} {}\n", "ranks:", ranks);
  out("  {:<16} {} ({} to {} per rank), transport {}\n", "agents:", agents, layout.count(ranks - 1), layout.count(0),
      transport->describe());
  out("  {:<16} {}\n", host_execution ? "threads:" : "execution:", instance.second);
  if (const std::string crowded = oversubscription(comm, exec.concurrency()); !crowded.empty() && rank == 0)
    std::fprintf(stderr,
                 "concord: warning: %s: oversubscribed. MPICH's ranks busy-poll while they wait, so this run can be "
                 "orders of magnitude slower than with ranks x threads <= cores (fewer ranks, or OMP_NUM_THREADS)\n",
                 crowded.c_str());
  out("--- validated deck ---\n{}----------------------\n", deck.yaml());
  if (out.active()) {
    const auto report = topology::analyze(topo);
    double rho = 0.0;
    for (const auto& r : report.rounds) rho = std::max(rho, r.rho);
    out("topology:  {} — {} round(s), max degree {}, rho {:.6f}{}{}\n", topo.description().empty() ? topo.name() : topo.description(),
        report.period, report.max_degree, rho, report.period > 1 ? str(", period rate {:.3e}", report.period_rho) : "",
        report.finite_time ? ", exact average after one period" : "");
  }
  out("problem:   {}\n", problem->describe());
  out("algorithm: {}\n", algorithm->describe());
  out("output:    {} (a record every {} iterations{}), checkpoints {} ({})\n", output_file, log_every,
      snapshot_every > 0 ? str(", snapshots every {}", snapshot_every) : "", checkpoint_file,
      checkpoint_every > 0 ? str("every {} iterations", checkpoint_every) : "at the end");

  // ---- 6. Initial state: fresh, or the checkpoint's -------------------------------------------
  if (options.restart.empty()) {
    AgentMatrix x0(Kokkos::view_alloc(std::string("concord::driver::x0"), exec), layout.local_count(), dimension);
    problem->initial_point(exec, x0);
    if (const std::string initial = deck.text("problem/initial"); initial != "point")
      place_initial_models(exec, x0, layout, seed, initial == "index", deck.real("problem/initial_scale"));
    algorithm->initialize(exec, x0);
  } else {
    const auto state = algorithm->state();
    for (const auto& [name, view] : state)
      if (std::find(resume_from.state.begin(), resume_from.state.end(), name) == resume_from.state.end())
        throw InputError("checkpoint " + options.restart + " has no state '" + name + "' needed by " + algorithm->name());
    io::read_checkpoint_state(options.restart, comm, layout, state);
  }

  io::FileAttributes attributes;
  attributes.text = {{"deck", deck.yaml()},
                     {"version", CONCORD_VERSION},
                     {"git_revision", CONCORD_GIT_REVISION},
                     {"algorithm", algorithm->describe()},
                     {"problem", problem->describe()},
                     {"topology", topo.name()}};
  attributes.integers = {{"ranks", ranks}, {"agents", agents}, {"dimension", dimension}};

  const bool snapshots = snapshot_every > 0;
  // A run that ended between records (iterations not a multiple of log_every) closed with a record
  // of its last iteration, which an uninterrupted longer run does not have: a restart drops it.
  const bool off_grid = !options.restart.empty() && start % log_every != 0 && start < iterations;
  const bool resuming = !options.restart.empty() && !options.new_trajectory;
  // Every record written so far, kept for the checkpoints (a lost or damaged trajectory is rebuilt
  // from them): on a restart, the checkpoint's records up to where this run continues.
  // Room for every record the run can have (up to 2^20; beyond, the rare growth is amortised).
  RecordHistory history(columns, std::min<std::int64_t>(iterations / log_every + 2, std::int64_t{1} << 20));
  if (!options.restart.empty()) history.restore(resume_from, off_grid ? start - 1 : start);
  auto trajectory = [&] {
    if (resuming) {
      // The checkpoint names the last record its run had written (absent in files of older versions).
      const auto last = resume_from.attributes.integers.find(trajectory_last_record);
      const std::string hint = str(
          "; add --new-trajectory (with another concord/output/file, or concord/output/overwrite: true) to write a "
          "new trajectory from the {} records the checkpoint keeps (iterations 0 to {}; snapshots before iteration {} "
          "are not in the checkpoint)",
          history.size(), history.last(), start);
      try {
        return io::TrajectoryWriter::resume(output_file, comm, off_grid ? start - 1 : start, columns, attributes, layout,
                                            dimension, snapshots,
                                            last == resume_from.attributes.integers.end() ? -1 : last->second);
      } catch (const InputError& e) {
        throw InputError(e.what() + hint);
      } catch (const RuntimeError& e) {  // a file damaged by a crash: HDF5 cannot update it
        throw InputError(str("trajectory {} cannot be resumed: {}{}", output_file, e.what(), hint));
      }
    }
    auto created = io::TrajectoryWriter::create(output_file, comm, columns, attributes, layout, dimension, snapshots,
                                                deck.boolean("output/overwrite"));
    if (options.new_trajectory) {
      for (std::size_t r = 0; r < history.size(); ++r) created.append(history.iteration(r), history.values(r));
      out("note: a new trajectory {} holds the checkpoint's {} records (iterations 0 to {}) and continues from "
          "iteration {}\n",
          output_file, history.size(), history.last(), start);
    }
    return created;
  }();
  // Dropping that record dropped a snapshot of the same iteration too: the restored models are it.
  if (resuming && off_grid && snapshots && start % snapshot_every == 0) trajectory.snapshot(start, algorithm->models());

  io::CheckpointHeader header;
  header.agents = agents;
  header.dimension = dimension;
  header.attributes = attributes;
  std::int64_t last_checkpoint = options.restart.empty() ? -1 : start;
  // Where that checkpoint is: the restart file until this run writes its own (the deck may name another).
  std::string last_checkpoint_file = options.restart;
  auto write_checkpoint = [&](std::int64_t k) {
    header.iteration = k;
    header.state.clear();
    const auto state = algorithm->state();
    for (const auto& [name, view] : state) header.state.push_back(name);
    // Records first: a checkpoint never gets ahead of the records it names (a restart checks them).
    trajectory.flush();
    header.attributes.integers[trajectory_last_record] = trajectory.last_record();
    header.record_iteration = history.iterations();
    header.record_columns = columns;
    header.record_values = history.flat_values();
    io::write_checkpoint(checkpoint_file, comm, layout, header, state);
    last_checkpoint = k;
    last_checkpoint_file = checkpoint_file;
  };
  // The divergence message when no checkpoint exists yet: what would have written one.
  const std::string no_checkpoint_yet =
      checkpoint_every > 0
          ? str("no checkpoint was written yet (the first was due at iteration {})",
                (start / checkpoint_every + 1) * checkpoint_every)
          : std::string("no checkpoint was written (set concord/output/checkpoint_every to keep one during the run)");
  auto diverged_at = [&](std::int64_t k) {
    const int agent = first_nonfinite_agent(exec, algorithm->models(), layout, comm);
    if (agent == INT_MAX) return false;
    trajectory.flush();
    if (rank == 0)
      std::fprintf(stderr,
                   "concord: diverged: agent %d's model is not finite (NaN or Inf) at iteration %lld; %s\n", agent,
                   static_cast<long long>(k),
                   last_checkpoint >= 0
                       ? str("the last good checkpoint is {} (iteration {})", last_checkpoint_file, last_checkpoint).c_str()
                       : no_checkpoint_yet.c_str());
    return true;
  };

  // ---- 7. The iteration loop -------------------------------------------------------------------
  std::int64_t progress_every = deck.integer("output/progress_every");
  if (progress_every == 0) progress_every = std::max<std::int64_t>(log_every, (iterations / 20 + log_every - 1) / log_every * log_every);
  algorithms::StepTimes last_times = algorithm->times();
  std::int64_t last_record = start;
  // Seconds spent evaluating records (max over ranks) since t0: the progress rate leaves them out.
  double metrics_seconds = 0.0;
  Kokkos::Timer metrics_timer;
  const auto t0 = std::chrono::steady_clock::now();
  /// Appends the record of iteration k; false (after a message) when a metric overflowed to NaN
  /// or Inf although the models are finite — the run diverges. Collective.
  auto record = [&](std::int64_t k) {
    // Timed like the algorithm's phases: a fence, then Kokkos::Timer. Cheap to do on every record:
    // the divergence check before it has already synchronised, and the metrics end on the host.
    exec.fence("concord::driver::metrics");
    metrics_timer.reset();
    const auto m = metrics.compute(exec, k, algorithm->models());
    exec.fence("concord::driver::metrics");
    const double evaluation = metrics_timer.seconds();
    // The same values on every rank (reproducible sums): every rank takes the same branch.
    for (const auto& [name, value] : {std::pair{"consensus_error", m.consensus_error}, std::pair{"loss", m.loss},
                                      std::pair{"grad_norm_sq", m.grad_norm_sq}})
      if (!std::isfinite(value)) {
        trajectory.flush();
        if (rank == 0)
          std::fprintf(stderr, "concord: diverged: the %s is %s at iteration %lld (the models overflow); %s\n", name,
                       shortest(value).c_str(), static_cast<long long>(k),
                       last_checkpoint >= 0
                           ? str("the last good checkpoint is {} (iteration {})", last_checkpoint_file, last_checkpoint).c_str()
                           : no_checkpoint_yet.c_str());
        return false;
      }
    const auto& times = algorithm->times();
    // Per iteration since the previous record: compute, communication; then this record's evaluation.
    double seconds[3] = {0.0, 0.0, evaluation};
    if (k > last_record) {
      seconds[0] = (times.compute - last_times.compute) / static_cast<double>(k - last_record);
      seconds[1] = (times.communication - last_times.communication) / static_cast<double>(k - last_record);
    }
    MPI_Allreduce(MPI_IN_PLACE, seconds, 3, MPI_DOUBLE, MPI_MAX, comm);
    last_times = times;
    last_record = k;
    metrics_seconds += seconds[2];
    std::vector<double> values;
    for (const auto& c : columns)
      values.push_back(c == "time_compute"   ? seconds[0]
                       : c == "time_comm"    ? seconds[1]
                       : c == "time_metrics" ? seconds[2]
                                             : metric_value(m, c));
    trajectory.append(k, values);
    history.append(k, values);
    if (k % progress_every == 0 || k == iterations || k == start) {
      // The rate of the iterations proper: the records' evaluation (time_metrics) is left out.
      const double iterating =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() - metrics_seconds;
      const double rate = k > start && iterating > 0 ? static_cast<double>(k - start) / iterating : 0.0;
      std::string line = str("iter {:>{}}/{}  consensus {:.3e}  loss {:.6e}  |grad|^2 {:.3e}", k,
                                     std::to_string(iterations).size(), iterations, m.consensus_error, m.loss, m.grad_norm_sq);
      if (!std::isnan(m.distance_to_solution)) line += str("  dist {:.3e}", m.distance_to_solution);
      if (!std::isnan(m.accuracy)) line += str("  acc {:.4f}", m.accuracy);
      if (!std::isnan(m.test_accuracy)) line += str("  test acc {:.4f}", m.test_accuracy);
      if (rate > 0)
        line += str("  | {:.0f} it/s  ETA {}", rate, duration(static_cast<double>(iterations - k) / rate));
      out("{}\n", line);
    }
    return true;
  };

  if (options.restart.empty()) {
    if (diverged_at(0) || !record(0)) return diverged;
    if (snapshots) trajectory.snapshot(0, algorithm->models());
  }
  const SignalGuard signals;
  const bool several = ranks > 1;
  for (std::int64_t k = start; k < iterations; ++k) {
    algorithm->step(exec, k);
    const std::int64_t done = k + 1;
    int stop = g_signal;
    if (several) MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, comm);
    const bool interrupt = stop != 0 && done < iterations;  // at the last iteration: just finish
    const bool log = done % log_every == 0 || done == iterations;
    const bool checkpoint = (checkpoint_every > 0 && done % checkpoint_every == 0 && done != iterations) || interrupt;
    const bool check = log || checkpoint || (finite_every > 0 && done % finite_every == 0);
    if (check && diverged_at(done)) return diverged;
    if (log && !record(done)) return diverged;
    if (snapshots && done % snapshot_every == 0) trajectory.snapshot(done, algorithm->models());
    if (checkpoint) write_checkpoint(done);
    if (interrupt) {
      trajectory.close();
      if (rank == 0)
        std::fprintf(stderr,
                     "concord: interrupted by %s after iteration %lld; checkpoint written to %s. Continue with: "
                     "%s\n",
                     stop == SIGINT ? "SIGINT" : stop == SIGTERM ? "SIGTERM" : "a signal", static_cast<long long>(done),
                     checkpoint_file.c_str(), continue_command(options, checkpoint_file).c_str());
      return interrupted;
    }
  }
  if (start == iterations && !options.restart.empty())
    out("nothing to do: the checkpoint is already at iteration {}\n", iterations);
  else
    write_checkpoint(iterations);
  trajectory.close();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out("done: {} iterations in {} ({:.1f} s, of which {:.1f} s evaluating the records); trajectory {}, checkpoint {}\n",
      iterations - start, duration(elapsed), elapsed, metrics_seconds, output_file, checkpoint_file);
  return completed;
}

}  // namespace concord::driver
