// Push-sum over column-stochastic weights (Kempe et al. 2003): push_sum_gossip (average
// consensus on directed graphs) and push_sum_sgd (stochastic gradient push, Assran et al. 2019).
#include <fmt/format.h>

#include <vector>

#include "concord/algorithms/detail/entries.hpp"
#include "concord/algorithms/detail/kernels.hpp"
#include "concord/topology/analysis.hpp"

namespace concord::algorithms {
namespace {

using detail::entries;
using detail::Flat;
using detail::flat;

/// Every agent i keeps a numerator u_i and a weight w_i (w^0 = 1) and reports z_i = u_i / w_i.
/// With W column-stochastic (sum_i W_ij = 1: agent j splits what it holds among itself and its
/// out-neighbours) both sums are preserved, and z_i -> the average of the u^0 even when W is not
/// row-stochastic, where x <- W x converges to a weighted average instead. One iteration:
///   u_i' = u_i - gamma grad F(z_i)        (push_sum_sgd only)
///   u <- W u';  w <- W w;  z = u / w
/// The weights do not depend on the data: every rank computes w^k = W(k-1) ... W(0) 1 for all
/// agents on the host (O(nnz) per iteration, the same bits everywhere) instead of sending them;
/// bytes_sent counts them as a real deployment sends them, one more value per message.
class PushSum final : public Algorithm {
 public:
  PushSum(std::string name, bool descends, const AlgorithmOptions& o, Environment env)
      : Algorithm(std::move(name), o, env),
        descends_(descends),
        u_(allocate("u")),
        work_(allocate("work")),
        g_(descends ? allocate("g") : AgentMatrix()),
        weight_(Kokkos::view_alloc(Kokkos::WithoutInitializing, "concord::" + name_ + "::weight"), agents_),
        weight_host_(Kokkos::create_mirror_view(weight_)),
        all_weights_(static_cast<std::size_t>(env.mixer.layout().agents()), 1.0),
        next_weights_(all_weights_.size()) {}

  void initialize(const ExecutionSpace& exec, const AgentMatrix& x0) override {
    Kokkos::deep_copy(exec, u_, x0);
    Kokkos::deep_copy(exec, x_, x0);
    weights_at_ = -1;  // recomputed from w^0 = 1 by the first step
  }

  void advance(const ExecutionSpace& exec, std::int64_t k) override {
    Flat u = flat(u_), z = flat(x_), w = flat(work_);
    begin(exec);
    if (descends_) {
      const double gamma = options_.schedule.at(k);
      Flat g = flat(g_);
      problem_.gradient(exec, x_, g_, k);
      entries(exec, "concord::PushSum::descend", u_, KOKKOS_LAMBDA(std::int64_t i) { u(i) -= gamma * g(i); });
    }
    advance_weights(exec, k);  // w^{k+1} of the local agents
    end(exec, times_.compute);
    mixer_.apply(exec, k, u_, work_);
    end(exec, times_.communication);
    std::swap(u_, work_);
    u = flat(u_);
    const auto weight = weight_;
    const std::int64_t rows = agents_;
    entries(exec, "concord::PushSum::debias", x_, KOKKOS_LAMBDA(std::int64_t i) { z(i) = u(i) / weight(i % rows); });
    end(exec, times_.compute);
  }

  std::vector<std::pair<std::string, AgentMatrix>> state() const override { return {{"x", x_}, {"u", u_}}; }
  double bytes_sent(std::int64_t k) const override { return gossip_bytes(k, dimension_ + 1.0); }

  std::string describe() const override {
    return descends_ ? name() + " (push-sum SGD, column-stochastic W), step size " + options_.schedule.describe()
                     : name() + " (u <- W u, w <- W w, z = u / w: no gradient)";
  }

 private:
  /// weight_ = w^{k+1} of the local agents. The host weights follow the iterations; after a
  /// restart (or any jump) they are recomputed from w^0 = 1.
  void advance_weights(const ExecutionSpace& exec, std::int64_t k) {
    if (weights_at_ != k) {
      std::fill(all_weights_.begin(), all_weights_.end(), 1.0);
      for (std::int64_t t = 0; t < k; ++t) step_weights(t);
    }
    step_weights(k);
    weights_at_ = k + 1;
    const int first = mixer_.layout().local_first();
    for (int a = 0; a < agents_; ++a) weight_host_(a) = all_weights_[static_cast<std::size_t>(first + a)];
    Kokkos::deep_copy(exec, weight_, weight_host_);
  }
  void step_weights(std::int64_t t) {
    const topology::Topology& topology = mixer_.topology();  // W(t) without a copy, buffers reused
    topology.round(t).apply(topology.weights(t, round_values_, round_scratch_), all_weights_, next_weights_);
    std::swap(all_weights_, next_weights_);
  }

  bool descends_;
  AgentMatrix u_, work_, g_;
  Kokkos::View<double*, MemorySpace> weight_;
  Kokkos::View<double*, MemorySpace>::host_mirror_type weight_host_;
  std::vector<double> all_weights_, next_weights_;
  std::vector<double> round_values_;  ///< Topology::weights' buffers (reweighted topologies)
  std::vector<int> round_scratch_;
  std::int64_t weights_at_ = -1;  ///< the iteration all_weights_ belongs to
};

void needs_column_stochastic(const std::string& name, const topology::Topology& t) {
  topology::require_stochasticity(t, topology::Stochasticity::column, name);
}

}  // namespace

namespace detail {

AlgorithmInfo push_sum_gossip_entry() {
  return {"push_sum_gossip",
          "average consensus on directed graphs: u <- W u, w <- W w, z = u / w (W column-stochastic)",
          false,
          {},
          [](const AlgorithmOptions& o, Environment env) -> std::unique_ptr<Algorithm> {
            return std::make_unique<PushSum>("push_sum_gossip", false, o, env);
          },
          [](const topology::Topology& t) { needs_column_stochastic("push_sum_gossip", t); }};
}

AlgorithmInfo push_sum_sgd_entry() {
  return {"push_sum_sgd",
          "stochastic gradient push: u <- W (u - gamma grad F(u / w)), w <- W w (W column-stochastic)",
          true,
          {},
          [](const AlgorithmOptions& o, Environment env) -> std::unique_ptr<Algorithm> {
            return std::make_unique<PushSum>("push_sum_sgd", true, o, env);
          },
          [](const topology::Topology& t) { needs_column_stochastic("push_sum_sgd", t); }};
}

}  // namespace detail

}  // namespace concord::algorithms
