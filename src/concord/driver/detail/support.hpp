#pragma once
/// \file support.hpp
/// The pieces the run session (session.hpp) is built from: signals, a console, rank-0 file checks,
/// the deck -> objects mapping, metric columns, the record history, the execution instance, the
/// memory and oversubscription checks. Private to the driver (not installed).
#include <fmt/format.h>
#include <mpi.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "concord/algorithms/algorithm.hpp"
#include "concord/algorithms/metrics.hpp"
#include "concord/comm/transport.hpp"
#include "concord/core/agent_layout.hpp"
#include "concord/core/spaces.hpp"
#include "concord/io/checkpoint.hpp"
#include "concord/io/deck.hpp"
#include "concord/problems/problem.hpp"
#include "concord/problems/setup.hpp"

namespace concord::driver::detail {

/// fmt with a run-time format string: nvcc (the CUDA flavour compiles every file with it) cannot
/// evaluate fmt 9's consteval format-string checks.
template <class... Args>
std::string str(fmt::string_view format, const Args&... args) {
  return fmt::vformat(format, fmt::make_format_args(args...));
}

/// The last SIGTERM/SIGINT received while a SignalGuard was alive (0: none).
extern volatile std::sig_atomic_t g_signal;

/// Records SIGTERM and SIGINT in g_signal while alive (the previous handlers come back after).
class SignalGuard {
 public:
  SignalGuard();
  ~SignalGuard();
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  struct sigaction old_term_ {}, old_int_ {};
};

/// The run's one output path for messages: rank 0 prints, lines flushed so batch logs show progress
/// as it happens. say(): progress and reports on stdout; warn(): "concord: ..." lines on stderr
/// (warnings, divergence, interruption).
class Console {
 public:
  explicit Console(bool active) : active_(active) {}
  template <class... Args>
  void say(fmt::string_view f, const Args&... args) const {
    if (!active_) return;
    std::fputs(str(f, args...).c_str(), stdout);
    std::fflush(stdout);
  }
  template <class... Args>
  void warn(fmt::string_view f, const Args&... args) const {
    if (!active_) return;
    std::fputs(("concord: " + str(f, args...) + "\n").c_str(), stderr);
    std::fflush(stderr);
  }
  bool active() const { return active_; }

 private:
  bool active_;
};

// ---- rank 0 looks, every rank knows (collective) ----------------------------------------------
/// Rank 0 reads the file; every rank gets the text, or the same InputError.
std::string broadcast_file(const std::string& path, MPI_Comm comm);
/// Why `path` cannot receive an output file ("is a directory", "is not a regular file (a device,
/// a pipe, ...)"), or "" when it is a regular file or does not exist.
std::string unusable_output(const std::string& path, MPI_Comm comm);
bool exists_on_root(const std::string& path, MPI_Comm comm);

/// "m:ss" or "h:mm:ss"; "--:--" when unknown.
std::string duration(double seconds);
/// A short time for progress lines, 3 significant digits: "850 ns", "12.3 µs", "4.56 ms", "1.20 s".
std::string duration_short(double seconds);
/// The output file with .h5 replaced by .checkpoint.h5.
std::string default_checkpoint(const std::string& output);

// ---- deck -> objects ---------------------------------------------------------------------------
/// concord/topology's keys but `name`, as KEY=VALUE strings for topology::make_topology.
std::map<std::string, std::string> topology_parameters(const io::Tree& list);
/// The problem's spec (the catalogue's parameters) with the run's minibatch and evaluation subset.
problems::ProblemSpec problem_spec(const io::Deck& deck);
/// The algorithm's options (the catalogue's parameters) with the phase timing of concord/output.
algorithms::AlgorithmOptions algorithm_options(const io::Deck& deck);
comm::TransportOptions transport_options(const io::Deck& deck);

// ---- records -------------------------------------------------------------------------------------
/// The trajectory's columns for this problem (time columns with output/time_phases).
std::vector<std::string> metric_columns(const problems::Problem& problem, bool time_phases);
double metric_value(const algorithms::MetricValues& m, const std::string& column);

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

/// Checkpoint attribute: the iteration of the last trajectory record when it was written.
inline const std::string trajectory_last_record = "trajectory_last_record";
/// Checkpoint attribute: bytes_sent (per agent) up to the checkpoint's iteration, for algorithms
/// whose count depends on timing (Algorithm::continue_counters).
inline const std::string checkpoint_bytes_sent = "bytes_sent";

// ---- models --------------------------------------------------------------------------------------
/// Smallest global id of an agent whose model has a NaN or Inf (INT_MAX: none). Collective.
int first_nonfinite_agent(const ExecutionSpace& exec, const AgentMatrix& x, const AgentLayout& layout, MPI_Comm comm);
/// The deck's concord/problem/initial other than `point`, on top of the problem's initial point:
/// `normal` adds scale * N(0, I) from agent i's own stream, `index` sets x_i = scale * i. Both
/// depend on the global agent id only, so the models are the same for any number of ranks.
void place_initial_models(const ExecutionSpace& exec, const AgentMatrix& x0, const AgentLayout& layout,
                          std::uint64_t seed, bool index, double scale);

// ---- where the run executes ------------------------------------------------------------------------
/// Below this many multiply-adds per step and rank, an automatic concord/parallel/threads runs the
/// iterations on one thread: a kernel then takes a few microseconds, about what starting and
/// joining a team of OpenMP threads costs, and on a loaded machine every join waits for a thread
/// that another process holds (a tiny problem's step measured 15x slower with 2 threads than with
/// 1; perf/RESULTS.md, "Small problems").
constexpr std::int64_t single_thread_work = std::int64_t{1} << 16;

/// Multiply-adds of one step on the rank with the most agents, roughly: local agents x dimension x
/// samples per gradient (the minibatch, or an agent's samples for full gradients; 1 for gossip).
/// -1 when the deck does not say (data files: the sample count is known only once read).
std::int64_t work_per_step(const io::Deck& deck, const AgentLayout& layout, int dimension);
/// The execution space instance the whole run works on, and a line saying why. With OpenMP:
/// `requested` threads (concord/parallel/threads > 0, at most the pool's), or, when 0, one thread
/// for a step below `single_thread_work` and the whole pool otherwise. One instance, created once
/// before the loop; every kernel of the problem, the mixer, the sums and the metrics runs on it.
/// Results do not depend on the choice (every kernel is bit-identical for any thread count).
std::pair<ExecutionSpace, std::string> execution_instance(std::int64_t requested, std::int64_t work);
/// "4 ranks x 1 thread on a node with 2 cores" when the ranks on some node, times each one's
/// threads, exceed the cores they may run on; "" otherwise. MPICH's ranks busy-poll while they
/// wait, so an oversubscribed run is slower by orders of magnitude. Collective.
std::string oversubscription(MPI_Comm comm, int threads);
/// Refuses, before anything is allocated, a deck whose run cannot fit in this process: a lower
/// bound of the bytes the rank with the most agents needs (the topology's weights, held by every
/// rank; six agents x dimension matrices of state; synthetic data) against what the process may
/// use. A bound, not a forecast: a deck that passes can still run out of memory.
void check_memory(const io::Deck& deck, int ranks);

}  // namespace concord::driver::detail
