// Asynchronous gossip over MPI for real: async_dsgd_mpi and async_gossip_mpi. Each rank updates
// at its own pace and mixes its neighbours' newest copies (mixing::AsyncMixer).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vector>

#include "concord/algorithms/detail/entries.hpp"
#include "concord/algorithms/detail/kernels.hpp"
#include "concord/comm/communicator.hpp"
#include "concord/core/error.hpp"
#include "concord/mixing/async_mixer.hpp"
#include "concord/topology/analysis.hpp"

namespace concord::algorithms {
namespace {

using detail::entries;
using detail::Flat;
using detail::flat;

/// One tick k on a rank (iteration k of the driver), when the rank updates at k:
///   g = g(x)                                   (async_gossip_mpi: none)
///   x <- sum_j W_ij p_j - gamma_k g            p_j: own rows of x, others' newest copies
///                                              stamped in [k - max_staleness, k]
///   publish x, stamped k + 1
/// and nothing when the rank skips k (it catches up with its neighbours, mixing::AsyncMixer).
/// The gradient comes first, so that a copy still in flight has a gradient's time to arrive.
///
/// The state is x alone: at every synchronisation point (synchronize(), which the driver calls
/// before each record, checkpoint and at the end) every rank holds its neighbours' current x, and
/// a step(k) that does not follow step(k - 1) (the first, or after a restart) primes the exchange
/// with x stamped k on every rank.
///
/// bytes_sent counts what was sent: 8 d per out-neighbour per update, summed over the ranks at
/// every synchronisation point (the header's nominal figure assumes an update every tick).
class AsyncMpi final : public Algorithm {
 public:
  AsyncMpi(std::string name, bool descends, const AlgorithmOptions& o, Environment env)
      : Algorithm(std::move(name), o, env),
        descends_(descends),
        mix_(env.mixer, o.max_staleness),
        work_(allocate("work")),
        g_(descends ? allocate("g") : AgentMatrix()) {
    // Out-edges of the local agents: the messages one update sends, counted logically (a
    // neighbour on the same rank counts as one on another).
    const topology::WeightMatrix& w = mixer_.topology().round(0);
    const int first = mixer_.layout().local_first(), last = first + agents_;
    for (int i = 0; i < w.size(); ++i)
      for (int j : w.row_cols(i)) local_out_edges_ += j != i && j >= first && j < last;
  }

  void initialize(const ExecutionSpace& exec, const AgentMatrix& x0) override {
    Kokkos::deep_copy(exec, x_, x0);
    expected_ = -1;
  }

  void advance(const ExecutionSpace& exec, std::int64_t k) override {
    if (k != expected_) {
      mix_.prime(exec, k, x_);
      first_tick_ = k - mix_.updates();  // ticks counted from where the updates were counted
    }
    expected_ = k + 1;
    if (!mix_.updates_at(k)) {
      mix_.poll(k);
      return;
    }
    begin(exec);
    if (descends_) problem_.gradient(exec, x_, g_, k);
    end(exec, times_.compute);
    const double waited = mix_.seconds_waiting();
    mix_.mix(exec, k, x_, work_);
    Flat x = flat(x_), w = flat(work_);
    if (descends_) {
      const double gamma = options_.schedule.at(k);
      Flat g = flat(g_);
      entries(exec, "concord::AsyncMpi::descend", x_, KOKKOS_LAMBDA(std::int64_t i) { x(i) = w(i) - gamma * g(i); });
    } else {
      Kokkos::deep_copy(exec, x_, work_);
    }
    mix_.publish(exec, k, x_);
    end(exec, times_.compute);
    // The time spent waiting for copies and send slots is communication, the rest computation.
    if (options_.time_phases) {
      const double wait = mix_.seconds_waiting() - waited;
      times_.compute -= wait;
      times_.communication += wait;
    }
  }

  bool asynchronous_ranks() const override { return true; }

  void synchronize(const ExecutionSpace& exec) override {
    exec.fence("concord::AsyncMpi::synchronize");
    const double waited = mix_.seconds_waiting();
    mix_.drain();
    const double bytes = 8.0 * dimension_ * static_cast<double>(local_out_edges_) *
                         static_cast<double>(mix_.updates());
    total_bytes_ = bytes_before_ + comm::allreduce_sum(bytes, mix_.communicator()) / mixer_.layout().agents();
    times_.communication += mix_.seconds_waiting() - waited;
    const MPI_Comm c = mix_.communicator();
    const auto updates = static_cast<long long>(mix_.updates());
    activity_ = fmt::format("updates per rank {} to {} (ticks {}), waiting per rank at most {:.3f} s",
                            comm::allreduce_min(updates, c), comm::allreduce_max(updates, c), expected_ - first_tick_,
                            comm::allreduce_max(mix_.seconds_waiting(), c));
  }

  std::string activity() const override { return activity_; }

  /// The bytes sent up to the last synchronisation point, per agent (a restart continues from
  /// the checkpoint's count); before the first one, the nominal figure of an update every tick.
  double bytes_through(std::int64_t k) const override {
    if (total_bytes_ >= 0.0) return total_bytes_;
    return Algorithm::bytes_through(k);
  }

  void continue_counters(double bytes_sent) override { bytes_before_ = bytes_sent; }

  std::vector<std::pair<std::string, AgentMatrix>> state() const override { return {{"x", x_}}; }

  std::string describe() const override {
    std::string line = fmt::format("{} (asynchronous over MPI: max staleness {} ticks", name(), options_.max_staleness);
    if (!options_.straggler_ranks.empty())
      line += fmt::format(", straggler ranks [{}] x{}", fmt::join(options_.straggler_ranks, ", "),
                          options_.straggler_slowdown);
    if (descends_) return line + "), step size " + options_.schedule.describe();
    return line + ", no gradient)";
  }

 private:
  bool descends_;
  mixing::AsyncMixer mix_;
  AgentMatrix work_, g_;
  std::int64_t expected_ = -1;  ///< the tick step() expects next (-1: prime first)
  std::int64_t local_out_edges_ = 0;
  double total_bytes_ = -1.0;   ///< bytes per agent at the last synchronisation (-1: none yet)
  double bytes_before_ = 0.0;   ///< bytes per agent sent before this run segment (a restart)
  std::int64_t first_tick_ = 0;
  std::string activity_;        ///< activity() as of the last synchronisation
};

/// The catalogue entry of async_dsgd_mpi and async_gossip_mpi: static topologies, and the
/// stochasticity the synchronous counterpart needs.
AlgorithmInfo async_mpi_entry(const std::string& name, std::string summary, bool descends,
                              topology::Stochasticity needed) {
  return {name,
          std::move(summary),
          descends,
          {detail::max_staleness_parameter()},
          [name, descends](const AlgorithmOptions& o, Environment env) -> std::unique_ptr<Algorithm> {
            return std::make_unique<AsyncMpi>(name, descends, o, env);
          },
          [name, needed](const topology::Topology& t) {
            mixing::AsyncMixer::require_static(t, "algorithm '" + name + "'");
            topology::require_stochasticity(t, needed, name);
          }};
}

}  // namespace

namespace detail {

AlgorithmInfo async_dsgd_mpi_entry() {
  return async_mpi_entry("async_dsgd_mpi",
                         "asynchronous DSGD over MPI: each rank at its own pace, x_i <- sum_j W_ij p_j - gamma g_i(x_i) "
                         "with the neighbours' newest copies p_j (not reproducible unless max_staleness is 0)",
                         true, topology::Stochasticity::doubly);
}

AlgorithmInfo async_gossip_mpi_entry() {
  return async_mpi_entry("async_gossip_mpi",
                         "asynchronous gossip over MPI: each rank at its own pace, x_i <- sum_j W_ij p_j (no gradient; "
                         "not reproducible unless max_staleness is 0)",
                         false, topology::Stochasticity::row);
}

}  // namespace detail

}  // namespace concord::algorithms
