// The driver's pieces around the run session (detail/support.hpp): signals, rank-0 file checks,
// the deck -> objects mapping, metric columns, the execution instance, memory and oversubscription
// checks. Every MPI call goes through comm.
#include "concord/driver/detail/support.hpp"

#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <fstream>
#include <span>
#include <sstream>
#include <tuple>
#include <type_traits>

#include "concord/algorithms/catalog.hpp"
#include "concord/comm/communicator.hpp"
#include "concord/core/error.hpp"
#include "concord/core/format.hpp"
#include "concord/core/random.hpp"
#include "concord/data/readers.hpp"
#include "concord/problems/catalog.hpp"

namespace concord::driver::detail {

// ---------------------------------------------------------------------------------------------
// Signals: the handler only records the signal; the run loop agrees on it collectively.
// ---------------------------------------------------------------------------------------------
volatile std::sig_atomic_t g_signal = 0;
namespace {
extern "C" void record_signal(int signo) { g_signal = signo; }
}  // namespace

SignalGuard::SignalGuard() {
    g_signal = 0;
    struct sigaction action {};
    action.sa_handler = record_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, &old_term_);
    sigaction(SIGINT, &action, &old_int_);
}

SignalGuard::~SignalGuard() {
  sigaction(SIGTERM, &old_term_, nullptr);
  sigaction(SIGINT, &old_int_, nullptr);
}

// ---------------------------------------------------------------------------------------------
// Rank 0 looks, every rank knows
// ---------------------------------------------------------------------------------------------
/// Rank 0 reads the file; every rank gets the text, or the same InputError.
std::string broadcast_file(const std::string& path, MPI_Comm comm) {
  std::string text;
  long long size = -1;
  if (comm::rank(comm) == 0) {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::stringstream s;
      s << in.rdbuf();
      text = s.str();
      size = static_cast<long long>(text.size());
    }
  }
  comm::broadcast(size, 0, comm);
  if (size < 0) throw InputError("deck " + path + ": cannot be read (missing file or no permission)");
  comm::broadcast(text, 0, comm);
  return text;
}

/// Why `path` cannot receive an output file ("is a directory", "is not a regular file (a device,
/// a pipe, ...)"), or "" when it is a regular file or does not exist. Rank 0 looks. Collective.
std::string unusable_output(const std::string& path, MPI_Comm comm) {
  int kind = 0;  // 0 fine, 1 directory, 2 another kind
  if (comm::rank(comm) == 0) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) kind = S_ISREG(st.st_mode) ? 0 : S_ISDIR(st.st_mode) ? 1 : 2;
  }
  comm::broadcast(kind, 0, comm);
  return kind == 0 ? "" : kind == 1 ? "is a directory" : "is not a regular file (a device, a pipe, ...)";
}

bool exists_on_root(const std::string& path, MPI_Comm comm) {
  int found = 0;
  if (comm::rank(comm) == 0) {
    struct stat st {};
    found = ::stat(path.c_str(), &st) == 0 ? 1 : 0;
  }
  comm::broadcast(found, 0, comm);
  return found != 0;
}

std::string duration_short(double seconds) {
  if (!(seconds >= 0.0)) return "-";
  if (seconds >= 1.0) return fmt::format("{:.3g} s", seconds);
  if (seconds >= 1e-3) return fmt::format("{:.3g} ms", seconds * 1e3);
  if (seconds >= 1e-6) return fmt::format("{:.3g} µs", seconds * 1e6);
  return fmt::format("{:.3g} ns", seconds * 1e9);
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
  o.seed = static_cast<std::uint64_t>(deck.integer("seed"));
  parameters::assign(algorithms::straggler_parameters(), deck.at("parallel"), o);
  return o;
}

comm::TransportOptions transport_options(const io::Deck& deck) {
  comm::TransportOptions o;
  parameters::assign(comm::transport_parameters(), deck.at("parallel"), o);
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
  c.push_back("bytes_sent");  // mean bytes each agent sent so far (Algorithm::bytes_sent)
  if (time_phases) {  // measured only then (output/time_phases): no columns of zeros otherwise
    c.push_back("time_compute");
    c.push_back("time_comm");
    // Always measured (the progress rate leaves it out), but a column only with the other times:
    // output/time_phases switches every time column at once.
    c.push_back("time_metrics");
    // Wall seconds of iterating since iteration 0 (records' evaluation left out, continued across
    // restarts): time to accuracy, e.g. synchronous against asynchronous ranks.
    c.push_back("time_elapsed");
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
  return comm::allreduce_min(local == INT_MAX ? INT_MAX : layout.local_first() + local, comm);
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
  const int node_ranks = comm::shared_memory_size(comm);
  if constexpr (!host_execution) threads = 1;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  const int cores = sched_getaffinity(0, sizeof(allowed), &allowed) == 0 ? CPU_COUNT(&allowed) : 0;
  // The worst node: the most demand per core.
  const comm::ValueAndRank worst =
      comm::allreduce_maxloc(cores > 0 ? static_cast<double>(node_ranks) * threads / cores : 0.0, comm);
  int numbers[3] = {node_ranks, threads, cores};
  comm::broadcast(std::span<int>(numbers), worst.rank, comm);
  if (!(worst.value > 1.0)) return "";
  return str("{} ranks x {} thread{} on a node where they may use {} core{}", numbers[0], numbers[1],
             numbers[1] == 1 ? "" : "s", numbers[2], numbers[2] == 1 ? "" : "s");
}

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

}  // namespace concord::driver::detail
