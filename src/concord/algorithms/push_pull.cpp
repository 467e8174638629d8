// Push-pull gradient tracking on directed graphs (Pu, Shi, Xu, Nedic 2020).
#include <fmt/format.h>

#include <memory>
#include <vector>

#include "concord/algorithms/detail/entries.hpp"
#include "concord/algorithms/detail/kernels.hpp"
#include "concord/topology/analysis.hpp"

namespace concord::algorithms {
namespace {

using detail::entries;
using detail::Flat;
using detail::flat;

/// R = D^-1 C: the rows of C scaled to sum to 1 (same pattern: R pulls from the agents C pushes
/// to it from).
topology::WeightMatrix row_normalized(const topology::WeightMatrix& c) {
  topology::MatrixBuilder b(c.size());
  for (int i = 0; i < c.size(); ++i) {
    const auto cols = c.row_cols(i);
    const auto w = c.row_weights(i);
    double sum = 0.0;
    for (double v : w) sum += v;
    for (std::size_t e = 0; e < cols.size(); ++e) b.set(i, cols[e], w[e] / sum);
  }
  return std::move(b).build();
}

topology::Topology pull_topology(const topology::Topology& c) {
  std::vector<topology::WeightMatrix> rounds;
  for (const auto& w : c.rounds()) rounds.push_back(row_normalized(w));
  return topology::Topology(c.name() + " (rows normalised)", std::move(rounds), c.description());
}

/// The models x pull through the row-stochastic R (a weighted average of the in-neighbours), the
/// gradient trackers y are pushed through the column-stochastic C = W (the sum of the y_i stays
/// the sum of the current gradients):
///   x^{k+1} = R (x^k - gamma y^k)
///   y^{k+1} = C y^k + g^{k+1} - g^k,     y^0 = g^0
/// With exact gradients and a small constant step every x_i converges to x* linearly, on any
/// strongly connected directed graph. For a doubly-stochastic W, R = C = W.
class PushPull final : public Algorithm {
 public:
  PushPull(const AlgorithmOptions& o, Environment env)
      : Algorithm("push_pull", o, env),
        pull_(pull_topology(env.mixer.topology()), env.mixer.layout(), env.mixer.shared_transport(), dimension_, 1),
        y_(allocate("y")),
        g_(allocate("g")),
        g_new_(allocate("g_new")),
        work_(allocate("work")),
        pushed_(allocate("pushed")) {}

  void initialize(const ExecutionSpace& exec, const AgentMatrix& x0) override {
    Kokkos::deep_copy(exec, x_, x0);
    problem_.gradient(exec, x_, g_, 0);
    Kokkos::deep_copy(exec, y_, g_);
  }

  void advance(const ExecutionSpace& exec, std::int64_t k) override {
    const double gamma = options_.schedule.at(k);
    Flat x = flat(x_), y = flat(y_), g = flat(g_), gn = flat(g_new_), w = flat(work_), p = flat(pushed_);
    begin(exec);
    entries(exec, "concord::PushPull::descend", x_, KOKKOS_LAMBDA(std::int64_t i) { w(i) = x(i) - gamma * y(i); });
    end(exec, times_.compute);
    pull_.apply(exec, k, work_, x_);  // x^{k+1} = R (x - gamma y)
    end(exec, times_.communication);
    // C y^k travels while g^{k+1} is computed.
    const AgentMatrix in[1] = {y_}, out[1] = {pushed_};
    mixer_.start(exec, k, in, out);
    problem_.gradient(exec, x_, g_new_, k + 1);
    mixer_.finish(exec);
    entries(exec, "concord::PushPull::track", x_, KOKKOS_LAMBDA(std::int64_t i) { y(i) = p(i) + gn(i) - g(i); });
    end(exec, times_.compute);
    std::swap(g_, g_new_);
  }

  std::vector<std::pair<std::string, AgentMatrix>> state() const override { return {{"x", x_}, {"y", y_}, {"g", g_}}; }
  double exchanges_per_iteration() const override { return 2.0; }

  std::string describe() const override {
    return name() + " (x <- R (x - gamma y), y <- C y + g' - g; C = W, R = W with rows normalised), step size " +
           options_.schedule.describe();
  }

 private:
  mixing::Mixer pull_;
  AgentMatrix y_, g_, g_new_, work_, pushed_;
};

}  // namespace

namespace detail {

AlgorithmInfo push_pull_entry() {
  return {"push_pull",
          "gradient tracking on directed graphs: x <- R (x - gamma y), y <- C y + g(x_new) - g(x) (C = W "
          "column-stochastic, R = W with rows normalised)",
          true,
          {},
          [](const AlgorithmOptions& o, Environment env) -> std::unique_ptr<Algorithm> {
            return std::make_unique<PushPull>(o, env);
          },
          [](const topology::Topology& t) {
            topology::require_stochasticity(t, topology::Stochasticity::column, "push_pull");
            if (t.is_drawn())
              throw InputError(fmt::format("algorithm 'push_pull' needs a static or periodic topology (it builds the "
                                           "row-normalised R of every round once), but '{}' is drawn anew every "
                                           "iteration",
                                           t.name()));
          }};
}

}  // namespace detail

}  // namespace concord::algorithms
