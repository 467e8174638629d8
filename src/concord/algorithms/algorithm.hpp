#pragma once
/// \file algorithm.hpp
/// Decentralized and parallel optimizers as small state machines over per-agent Views.
///
/// Every algorithm holds its state (x, and y / previous gradients / previous iterates as it needs)
/// in `AgentMatrix` Views allocated once, in its constructor; `initialize` sets the state from the
/// initial models and `step(k)` advances from iteration k to k + 1. All communication goes
/// through the `Mixer` (gossip) or the `ReproducibleSum` (global averages), so every algorithm's
/// trajectory is bit-identical for any number of ranks. Definitions (docs/algorithms.md):
///
///   psgd              x <- x - gamma (1/n) sum_i g_i                 (all agents equal; allreduce)
///   dsgd (atc)        x_i <- sum_j W_ij (x_j - gamma g_j)
///   dsgd (cta)        x_i <- sum_j W_ij x_j - gamma g_i              (exchange overlaps gradients)
///   gradient_tracking (atc, the lecture's form; two exchanges per iteration)
///                     x <- W (x - gamma y);  y <- W (y + g(x_new) - g(x))
///   gradient_tracking (cta, "DIGing"; x and y in one exchange)
///                     x <- W x - gamma y;   y <- W y + g(x_new) - g(x)
///   exact_diffusion   psi' = x - gamma g; phi = psi' + x - psi; x <- (I + W)/2 phi
///   d2                x1 = W (x0 - gamma g0);  x' = W (2x - x_prev - gamma (g - g_prev))
///   gossip_pga        dsgd (atc), and every H-th iteration an exact global average instead
///   local_sgd         H local steps x_i <- x_i - gamma g_i, then a global average
///   gossip            x <- W x (average consensus: no gradient, no step size)
///   choco_gossip      q = C(x - x_hat); x_hat += q; s += W q; x += gamma_c (s - x_hat)   (compressed gossip)
///   choco_sgd         x' = x - gamma g; q = C(x' - x_hat); x_hat += q; s += W q; x = x' + gamma_c (s - x_hat)
///   push_sum_gossip   u <- W u; w <- W w; x = u / w               (W column-stochastic: directed graphs)
///   push_sum_sgd      u <- W (u - gamma grad F(u / w)); w <- W w; x = u / w
///   push_pull         x <- R (x - gamma y); y <- C y + g(x_new) - g(x)   (C = W, R = W rows normalised)
///   async_dsgd        active agents only: x_i <- sum_j W_ij p_j - gamma g_i(x_i); p_i <- x_i
///   async_gossip      active agents only: x_i <- sum_j W_ij p_j; p_i <- x_i
///                     (p = the published copies; iteration k = one tick of virtual time, agent i
///                     active with probability activation (/ slowdown), at least every
///                     max_staleness + 1 ticks: a deterministic simulation of asynchrony)
///   async_dsgd_mpi    the same over MPI for real: each rank updates at its own pace, mixing its
///   async_gossip_mpi  neighbours' newest copies no older than max_staleness ticks (AsyncMixer;
///                     max_staleness 0: dsgd cta / gossip bit for bit; otherwise not reproducible)
///
/// g^k is the problem's stochastic gradient of iteration k (minibatch drawn from the agents'
/// streams for iteration k).
#include <Kokkos_Timer.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "concord/algorithms/schedule.hpp"
#include "concord/core/random.hpp"
#include "concord/core/spaces.hpp"
#include "concord/mixing/compression.hpp"
#include "concord/mixing/mixer.hpp"
#include "concord/mixing/reproducible_sum.hpp"
#include "concord/problems/problem.hpp"

namespace concord::algorithms {

/// Wall time split into local computation and communication (seconds, this rank). Measured
/// with a fence of the execution space at each phase boundary when enabled.
struct StepTimes {
  double compute = 0.0;
  double communication = 0.0;
};

/// dsgd and gradient_tracking: adapt-then-combine (the lecture's form) or combine-then-adapt.
enum class Variant { atc, cta };
/// The variants' names ("atc", "cta"): the deck's allowed words and the parser.
const parameters::Words<Variant>& variants();

/// What configures an algorithm. The deck parameters bound to these members, with their ranges
/// and help, are declared once in the algorithm catalogue (catalog.hpp); the defaults here are
/// the deck's defaults.
struct AlgorithmOptions {
  std::string name = "dsgd";
  Variant variant = Variant::atc;  ///< dsgd and gradient_tracking
  StepSchedule schedule;           ///< every algorithm but gossip
  int period = 10;                 ///< H of gossip_pga and local_sgd
  mixing::CompressionOptions compression;  ///< choco_gossip, choco_sgd: what travels
  double consensus_step = 1.0;     ///< choco_gossip, choco_sgd: CHOCO's gamma (required in decks)
  /// async_dsgd, async_gossip: the probability that an agent is active in a tick, in (0, 1].
  double activation = 0.5;
  /// async_dsgd, async_gossip: the global ids of the slow agents (active with probability
  /// activation / slowdown); empty: none.
  std::vector<int> slow_agents;
  double slowdown = 4.0;  ///< async_dsgd, async_gossip: >= 1, how much rarer slow agents are active
  /// async_dsgd, async_gossip: an agent inactive for this many ticks in a row is active in the
  /// next (bounded staleness; 0: every agent every tick, i.e. synchronous).
  int max_staleness = 8;
  /// Straggler emulation (concord/parallel/straggler_ranks, straggler_slowdown): the listed ranks
  /// spin after every step for (slowdown - 1) x the step's time, as if their hardware were
  /// `straggler_slowdown` times slower. Empty: none.
  std::vector<int> straggler_ranks;
  double straggler_slowdown = 4.0;
  /// The run's seed (concord/seed): the streams of random compression operators and of the
  /// asynchronous algorithms' activity.
  std::uint64_t seed = default_seed;
  bool time_phases = true;         ///< fence at phase boundaries to split compute / communication
};

/// Everything an algorithm works with (owned by the caller, alive while the algorithm is).
struct Environment {
  problems::Problem& problem;
  mixing::Mixer& mixer;
  mixing::ReproducibleSum& reducer;  ///< width >= problem dimension
};

class Algorithm {
 public:
  virtual ~Algorithm() = default;
  const std::string& name() const { return name_; }
  /// One line for logs and file attributes: name, variant or period, step-size schedule.
  virtual std::string describe() const;

  /// Sets the state from the initial models x0 (local agents x d) and evaluates what the
  /// algorithm needs at iteration 0 (e.g. g^0 and y^0 = g^0 for gradient tracking).
  virtual void initialize(const ExecutionSpace& exec, const AgentMatrix& x0) = 0;
  /// Iteration k -> k + 1 (k counts from 0; call with k = 0, 1, 2, ...), inside a Kokkos Tools
  /// region "concord::<name>::step".
  void step(const ExecutionSpace& exec, std::int64_t k);
  /// The models x^k of the local agents.
  const AgentMatrix& models() const { return x_; }
  /// The algorithm's full state, by name, for checkpoints: restoring every View and calling
  /// step(k) continues bit-identically. x is always first.
  virtual std::vector<std::pair<std::string, AgentMatrix>> state() const = 0;

  const StepTimes& times() const { return times_; }
  const AlgorithmOptions& options() const { return options_; }
  /// Exchanges (neighbour messages or global averages) per iteration, for reports.
  virtual double exchanges_per_iteration() const { return 1.0; }
  /// The mean bytes an agent sends in iteration k: 8 per value and neighbour it sends to (its
  /// out-degree in W(k)), the encoded size for compressed gossip, and 2 x 8 x d (n - 1) / n per
  /// global average (a ring allreduce). Logical traffic: agents on one rank count alike.
  /// Default: one exchange of the d-vector per exchanges_per_iteration().
  virtual double bytes_sent(std::int64_t k) const { return gossip_bytes(k, exchanges_per_iteration() * dimension_); }
  /// The mean bytes an agent sent in iterations [0, k) (cached: O(1) per call for increasing k).
  virtual double bytes_through(std::int64_t k) const;
  /// Whether bytes_sent(k) varies from iteration to iteration beyond the topology's period (e.g.
  /// random activity); the run header then averages it over more iterations.
  virtual bool traffic_varies() const { return false; }

  /// Whether the ranks advance at their own pace between synchronisation points (async_*_mpi):
  /// the driver then calls no collective at other iterations, and calls `synchronize` on every
  /// rank before each one it does call (records, checkpoints, divergence checks, the end).
  virtual bool asynchronous_ranks() const { return false; }
  /// Collective, every rank after the same step: brings the ranks to a consistent state (nothing
  /// in flight). Its waiting counts as communication time.
  virtual void synchronize(const ExecutionSpace&) {}
  /// A restart at a checkpoint whose run had sent `bytes_sent` bytes per agent so far
  /// (bytes_through of its iteration). Algorithms whose count depends on timing continue from it;
  /// the others recompute theirs (the default ignores it).
  virtual void continue_counters(double /*bytes_sent*/) {}
  /// What the run's last line should add about the algorithm's own behaviour, the same on every
  /// rank (e.g. how often the asynchronous ranks updated); empty: nothing. Valid after a step.
  virtual std::string activity() const { return {}; }

 protected:
  Algorithm(std::string name, const AlgorithmOptions& options, Environment env);
  /// The algorithm's iteration k -> k + 1 (step() wraps it in its profiling region).
  virtual void advance(const ExecutionSpace& exec, std::int64_t k) = 0;
  AgentMatrix allocate(const std::string& what) const;
  /// Bytes per agent for `values` values sent to every out-neighbour in W(k).
  double gossip_bytes(std::int64_t k, double values_per_agent) const;
  /// Bytes per agent of a global average of `values` values (ring allreduce: 2 (n - 1) / n x 8 x values).
  double allreduce_bytes(double values_per_agent) const;

  /// Phase timing: `begin()` then `end(bucket)` around a phase.
  void begin(const ExecutionSpace& exec);
  void end(const ExecutionSpace& exec, double& bucket);

  std::string name_;
  AlgorithmOptions options_;
  problems::Problem& problem_;
  mixing::Mixer& mixer_;
  mixing::ReproducibleSum& reducer_;
  int agents_ = 0;  // local
  int dimension_ = 0;
  AgentMatrix x_;
  StepTimes times_;
  Kokkos::Timer timer_;
  std::string step_region_;  ///< "concord::<name>::step", built once
  bool straggler_ = false;   ///< this rank emulates a straggler (options_.straggler_ranks)
  mutable std::int64_t bytes_k_ = 0;  ///< bytes_through's cache: the sum over [0, bytes_k_)
  mutable double bytes_sum_ = 0.0;
  /// Host buffers of Topology::weights (a reweighted W(k)), sized once.
  mutable std::vector<double> round_values_;
  mutable std::vector<int> round_scratch_;
};

/// InputError unless every straggler rank of `options` is one of `ranks` ranks and the slowdown
/// is >= 1 (the Algorithm constructor checks it; the driver calls it before reading any data).
void check_stragglers(const AlgorithmOptions& options, int ranks);

/// Builds the algorithm `options.name` through its catalogue entry (catalog.hpp). Throws
/// InputError for an unknown name (listing the known ones), a bad schedule or period, or a
/// topology (the mixer's) the algorithm cannot run on, e.g. d2 on a W with an eigenvalue <= -1/3.
std::unique_ptr<Algorithm> make_algorithm(const AlgorithmOptions& options, Environment env);

}  // namespace concord::algorithms
