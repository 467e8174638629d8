// Asynchronous gossip as a deterministic simulation: async_dsgd and async_gossip. Agents do not
// wait for a global step; each is active in a tick of virtual time with some probability and
// its neighbours see its last published model.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <vector>

#include "concord/algorithms/detail/entries.hpp"
#include "concord/algorithms/detail/kernels.hpp"
#include "concord/core/error.hpp"
#include "concord/topology/analysis.hpp"

namespace concord::algorithms {
namespace {

using detail::entries;
using detail::Flat;
using detail::flat;

/// Whether an agent is active at a tick: a pure function of (seed, agent, tick) and of how many
/// ticks in a row the agent was inactive before it. Host and device compute the same bits (the
/// draw is integer arithmetic and one exact scaling; the comparison is with the same double).
struct Activity {
  std::uint64_t seed;
  std::int64_t max_staleness;
  KOKKOS_INLINE_FUNCTION bool operator()(std::int64_t agent, std::int64_t tick, std::int64_t idle,
                                         double probability) const {
    if (idle >= max_staleness) return true;  // bounded staleness: forced active
    RandomStream s = agent_stream(seed, stream_purpose::asynchrony, static_cast<std::uint64_t>(agent),
                                  static_cast<std::uint64_t>(tick));
    return s.uniform() < probability;
  }
};

/// Asynchronous DSGD / gossip, simulated deterministically in virtual time. Iteration k is one
/// tick. Every agent i keeps its private model x_i and a published copy p_i (p^0 = x^0): what
/// its neighbours see of it, stale by the ticks since i was last active.
///
/// Activity. idle_i(k) = the ticks in a row before k in which agent i was inactive (idle_i(0) =
/// 0). Agent i is active at tick k when idle_i(k) >= max_staleness (forced: nobody is stale by
/// more than max_staleness ticks), or else when u < q_i, with u the first uniform of
/// agent_stream(seed, stream_purpose::asynchrony, i, k) and q_i = activation, or activation /
/// slowdown for the agents listed in slow_agents. idle_i(k+1) = 0 if active, idle_i(k) + 1
/// otherwise. max_staleness 0 makes every agent active in every tick (synchronous: with p = x the
/// update is DSGD's cta form, bit for bit). The draws depend on the global agent id and the tick
/// only, so the trajectory is the same for any number of ranks.
///
/// One tick, for every active agent i (inactive agents change nothing, neither x nor p):
///   x_i <- sum_j W(k)_ij p_j - gamma_k g_i(x_i)      (async_gossip: without the gradient)
///   p_i <- x_i                                        (publish)
/// The simulation exchanges every row of p each tick (Mixer::apply, the gradient computed while
/// the exchange is in flight) and evaluates every agent's gradient; inactive agents' results are
/// discarded. bytes_sent counts what a real deployment sends: only active agents publish.
///
/// The activity mask is computed on the device from the stream (one kernel over the local agents
/// per tick, no host loop, no allocation). The idle counters are not part of state(): they are a
/// function of (seed, agent, tick) alone, so a step(k) that does not follow step(k - 1) (a
/// restart, a jump) recomputes them by replaying the draws of ticks [0, k) on the device, O(k) per
/// agent.
class AsyncGossip final : public Algorithm {
 public:
  AsyncGossip(std::string name, bool descends, const AlgorithmOptions& o, Environment env)
      : Algorithm(std::move(name), o, env),
        descends_(descends),
        activity_{o.seed, static_cast<std::int64_t>(o.max_staleness)},
        p_(allocate("p")),
        work_(allocate("work")),
        g_(descends ? allocate("g") : AgentMatrix()),
        probability_(Kokkos::view_alloc(Kokkos::WithoutInitializing, "concord::" + name_ + "::probability"), agents_),
        idle_(Kokkos::view_alloc("concord::" + name_ + "::idle"), agents_),
        active_(Kokkos::view_alloc("concord::" + name_ + "::active"), agents_) {
    const int n = env.mixer.layout().agents();
    if (!(o.activation > 0.0 && o.activation <= 1.0))
      throw InputError(fmt::format("algorithm '{}': activation must be in (0, 1], not {}", name_, o.activation));
    if (!(o.slowdown >= 1.0))
      throw InputError(fmt::format("algorithm '{}': slowdown must be >= 1, not {}", name_, o.slowdown));
    if (o.max_staleness < 0)
      throw InputError(fmt::format("algorithm '{}': max_staleness must be >= 0, not {}", name_, o.max_staleness));
    all_probability_.assign(static_cast<std::size_t>(n), o.activation);
    for (int a : o.slow_agents) {
      if (a < 0 || a >= n)
        throw InputError(fmt::format("algorithm '{}': slow_agents lists agent {}, but there are {} agents (ids 0 to {})",
                                     name_, a, n, n - 1));
      all_probability_[static_cast<std::size_t>(a)] = o.activation / o.slowdown;
    }
    host_idle_.assign(static_cast<std::size_t>(n), 0);
    auto probability = Kokkos::create_mirror_view(probability_);
    const int first = mixer_.layout().local_first();
    for (int a = 0; a < agents_; ++a) probability(a) = all_probability_[static_cast<std::size_t>(first + a)];
    Kokkos::deep_copy(probability_, probability);
  }

  void initialize(const ExecutionSpace& exec, const AgentMatrix& x0) override {
    Kokkos::deep_copy(exec, x_, x0);
    Kokkos::deep_copy(exec, p_, x0);
    Kokkos::deep_copy(exec, idle_, 0);
    idle_at_ = 0;
  }

  void advance(const ExecutionSpace& exec, std::int64_t k) override {
    Flat x = flat(x_), p = flat(p_), w = flat(work_);
    const auto active = active_;
    const std::int64_t rows = agents_;
    begin(exec);
    draw_activity(exec, k);
    if (descends_) {  // the gradient computed while the exchange is in flight (DSGD cta's order)
      const double gamma = options_.schedule.at(k);
      Flat g = flat(g_);
      const AgentMatrix in[1] = {p_}, out[1] = {work_};
      mixer_.start(exec, k, in, out);
      problem_.gradient(exec, x_, g_, k);
      mixer_.finish(exec);
      entries(exec, "concord::AsyncGossip::descend", x_, KOKKOS_LAMBDA(std::int64_t i) {
        if (active(i % rows)) {
          x(i) = w(i) - gamma * g(i);
          p(i) = x(i);
        }
      });
      end(exec, times_.compute);  // overlapped: the whole step counts as computation
    } else {
      end(exec, times_.compute);
      mixer_.apply(exec, k, p_, work_);
      end(exec, times_.communication);
      entries(exec, "concord::AsyncGossip::mix", x_, KOKKOS_LAMBDA(std::int64_t i) {
        if (active(i % rows)) {
          x(i) = w(i);
          p(i) = w(i);
        }
      });
      end(exec, times_.compute);
    }
  }

  std::vector<std::pair<std::string, AgentMatrix>> state() const override { return {{"x", x_}, {"p", p_}}; }

  /// Only active agents publish: (active agents in tick k / n) x the bytes of one exchange of d
  /// values to the out-neighbours of W(k). The count is the actual one, computed on the host from
  /// the same draws when records are written (O(n) per tick, replayed from tick 0 when k goes
  /// back): no device synchronisation in the iteration loop.
  double bytes_sent(std::int64_t k) const override {
    return active_fraction(k) * gossip_bytes(k, static_cast<double>(dimension_));
  }

  bool traffic_varies() const override { return true; }

  std::string describe() const override {
    std::string line = fmt::format("{} (asynchronous simulation: activation {}", name(), options_.activation);
    if (!options_.slow_agents.empty())
      line += fmt::format(", slow agents [{}] at activation / {}", fmt::join(options_.slow_agents, ", "),
                          options_.slowdown);
    line += fmt::format(", max staleness {}", options_.max_staleness);
    if (descends_) return line + "), step size " + options_.schedule.describe();
    return line + ", no gradient)";
  }

  /// The fraction of all agents active at tick k (host replay of the draws).
  double active_fraction(std::int64_t k) const {
    if (k == last_k_) return last_fraction_;
    if (host_at_ > k) {
      std::fill(host_idle_.begin(), host_idle_.end(), 0);
      host_at_ = 0;
    }
    std::int64_t count = 0;
    for (; host_at_ <= k; ++host_at_) {
      count = 0;
      for (std::size_t a = 0; a < host_idle_.size(); ++a) {
        const bool on = activity_(static_cast<std::int64_t>(a), host_at_, host_idle_[a], all_probability_[a]);
        host_idle_[a] = on ? 0 : host_idle_[a] + 1;
        count += on ? 1 : 0;
      }
    }
    last_k_ = k;
    last_fraction_ = static_cast<double>(count) / static_cast<double>(host_idle_.size());
    return last_fraction_;
  }

  // Public only because CUDA's extended lambdas may not live in a private member function.
  /// active_ = the mask of tick k, idle_ advanced to k + 1. When k does not follow the previous
  /// tick, idle_ is first recomputed for tick k by replaying the draws of [0, k).
  void draw_activity(const ExecutionSpace& exec, std::int64_t k) {
    const Activity activity = activity_;
    const auto probability = probability_;
    const auto idle = idle_;
    const auto active = active_;
    const std::int64_t first = mixer_.layout().local_first();
    using AgentPolicy = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>;
    if (idle_at_ != k) {
      Kokkos::parallel_for("concord::AsyncGossip::replay", AgentPolicy(exec, 0, agents_), KOKKOS_LAMBDA(std::int64_t a) {
        std::int64_t count = 0;
        for (std::int64_t t = 0; t < k; ++t) count = activity(first + a, t, count, probability(a)) ? 0 : count + 1;
        idle(a) = count;
      });
    }
    Kokkos::parallel_for("concord::AsyncGossip::activity", AgentPolicy(exec, 0, agents_), KOKKOS_LAMBDA(std::int64_t a) {
      const bool on = activity(first + a, k, idle(a), probability(a));
      active(a) = on ? 1 : 0;
      idle(a) = on ? 0 : idle(a) + 1;
    });
    idle_at_ = k + 1;
  }

 private:
  bool descends_;
  Activity activity_;
  AgentMatrix p_, work_, g_;
  Kokkos::View<double*, MemorySpace> probability_;   ///< q_i of the local agents
  Kokkos::View<std::int64_t*, MemorySpace> idle_;    ///< idle_i(idle_at_) of the local agents
  Kokkos::View<int*, MemorySpace> active_;           ///< the mask of the last tick drawn
  std::int64_t idle_at_ = 0;                         ///< the tick idle_ belongs to
  std::vector<double> all_probability_;              ///< q_i of every agent (host)
  // bytes_sent's host replay over every agent.
  mutable std::vector<std::int64_t> host_idle_;
  mutable std::int64_t host_at_ = 0;
  mutable std::int64_t last_k_ = -1;
  mutable double last_fraction_ = 0.0;
};

std::vector<parameters::Bound<AlgorithmOptions>> async_parameters() {
  using namespace parameters;
  return {
      bind(&AlgorithmOptions::activation,
           real("activation", "probability that an agent is active in a tick of virtual time (1: every tick)", 0.0,
                true, 1.0)),
      bind(&AlgorithmOptions::slow_agents,
           integer_list("slow_agents", nullptr,
                        "global ids of the slow agents, active with probability activation / slowdown", 0, int_max)),
      bind(&AlgorithmOptions::slowdown,
           real("slowdown", "how many times rarer the slow agents are active (synchronous DSGD would wait for them: "
                            "slowdown time units per iteration)",
                1.0, false)),
      detail::max_staleness_parameter(),
  };
}

std::unique_ptr<Algorithm> make_async(const std::string& name, bool descends, const AlgorithmOptions& o, Environment env) {
  return std::make_unique<AsyncGossip>(name, descends, o, env);
}

}  // namespace

namespace detail {

parameters::Bound<AlgorithmOptions> max_staleness_parameter() {
  using namespace parameters;
  return bind(&AlgorithmOptions::max_staleness,
              integer("max_staleness",
                      "bounded staleness, in ticks. async_dsgd, async_gossip: an agent inactive for this many ticks in "
                      "a row is active in the next. async_*_mpi: a rank mixes no neighbour copy older than this many "
                      "ticks (it waits for a fresher one). 0: synchronous",
                      0, int_max));
}

AlgorithmInfo async_dsgd_entry() {
  return {"async_dsgd",
          "asynchronous DSGD, simulated in ticks: active agents x_i <- sum_j W_ij p_j - gamma g_i(x_i); p_i <- x_i",
          true,
          async_parameters(),
          [](const AlgorithmOptions& o, Environment env) { return make_async("async_dsgd", true, o, env); },
          [](const topology::Topology& t) {
            topology::require_stochasticity(t, topology::Stochasticity::doubly, "async_dsgd");
          }};
}

AlgorithmInfo async_gossip_entry() {
  return {"async_gossip",
          "asynchronous gossip, simulated in ticks: active agents x_i <- sum_j W_ij p_j; p_i <- x_i (no gradient)",
          false,
          async_parameters(),
          [](const AlgorithmOptions& o, Environment env) { return make_async("async_gossip", false, o, env); },
          [](const topology::Topology& t) {
            topology::require_stochasticity(t, topology::Stochasticity::row, "async_gossip");
          }};
}

}  // namespace detail

}  // namespace concord::algorithms
