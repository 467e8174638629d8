// BEER (Zhao, Li, Richtarik, Chi 2022): gradient tracking with compressed communication. Both the
// models and the gradient trackers travel as CHOCO-style compressed differences with error
// feedback, so that heterogeneous agents reach x* itself (CHOCO-SGD stops at DSGD's bias).
#include <fmt/format.h>

#include "concord/algorithms/detail/entries.hpp"
#include "concord/algorithms/detail/kernels.hpp"
#include "concord/mixing/compressed_mixer.hpp"

namespace concord::algorithms {
namespace {

using detail::entries;
using detail::Flat;
using detail::flat;

/// Every agent i keeps x_i, the tracker v_i (v^0 = g^0 = grad F(x^0; xi^0)), the public copies
/// h_i of x_i and c_i of v_i that its neighbours know, s_i = sum_j W_ij h_j and t_i = sum_j W_ij c_j
/// (all four 0 at the start), and its last gradient g_i. One iteration, with gamma_c =
/// consensus_step and eta_k the step size:
///   x_i += gamma_c (s_i - h_i) - eta_k v_i
///   q_i = C(x_i - h_i);  h_i += q_i;  s_i += sum_j W_ij q_j           (message 1)
///   g_i' = grad F_i(x_i; xi^{k+1})
///   v_i += gamma_c (t_i - c_i) + g_i' - g_i;  g_i = g_i'
///   r_i = C(v_i - c_i);  c_i += r_i;  t_i += sum_j W_ij r_j           (message 2)
/// (the paper's X += gamma H (W - I) - eta V, H += C(X - H), V += gamma G (W - I) + grad F(X') -
/// grad F(X), G += C(V - G)). For doubly-stochastic W the mean of the v_i is the mean of the latest
/// gradients at every iteration (sum_i (t_i - c_i) = 0): v tracks the average gradient, so with
/// exact gradients the fixed point is x_i = x* for every agent. The random operators draw message
/// 1 from stream 2k and message 2 from stream 2k + 1 of (seed, agent), so that they are
/// independent.
class Beer final : public Algorithm {
 public:
  Beer(const AlgorithmOptions& o, Environment env)
      : Algorithm("beer", o, env),
        compressed_(env.mixer, mixing::make_compressor(o.compression, dimension_, o.seed)),
        v_(allocate("v")),
        h_(allocate("h")),
        s_(allocate("s")),
        c_(allocate("c")),
        t_(allocate("t")),
        g_(allocate("g")),
        g_new_(allocate("g_new")),
        diff_(allocate("difference")),
        q_(allocate("q")),
        wq_(allocate("wq")) {}

  void initialize(const ExecutionSpace& exec, const AgentMatrix& x0) override {
    Kokkos::deep_copy(exec, x_, x0);
    problem_.gradient(exec, x_, g_, 0);  // g^0 at x^0 with xi^0
    Kokkos::deep_copy(exec, v_, g_);
    for (const AgentMatrix* m : {&h_, &s_, &c_, &t_}) Kokkos::deep_copy(exec, *m, 0.0);
  }

  void advance(const ExecutionSpace& exec, std::int64_t k) override {
    const double step = options_.consensus_step, eta = options_.schedule.at(k);
    Flat x = flat(x_), v = flat(v_), h = flat(h_), s = flat(s_), c = flat(c_), t = flat(t_), g = flat(g_),
         gn = flat(g_new_), diff = flat(diff_), q = flat(q_), wq = flat(wq_);
    begin(exec);
    entries(exec, "concord::Beer::descend", x_, KOKKOS_LAMBDA(std::int64_t i) {
      x(i) += step * (s(i) - h(i)) - eta * v(i);
      diff(i) = x(i) - h(i);
    });
    end(exec, times_.compute);
    compressed_.apply(exec, 2 * k, diff_, q_, wq_);
    end(exec, times_.communication);
    entries(exec, "concord::Beer::public_x", x_, KOKKOS_LAMBDA(std::int64_t i) {
      h(i) += q(i);
      s(i) += wq(i);
    });
    problem_.gradient(exec, x_, g_new_, k + 1);
    entries(exec, "concord::Beer::track", x_, KOKKOS_LAMBDA(std::int64_t i) {
      v(i) += step * (t(i) - c(i)) + gn(i) - g(i);
      g(i) = gn(i);
      diff(i) = v(i) - c(i);
    });
    end(exec, times_.compute);
    compressed_.apply(exec, 2 * k + 1, diff_, q_, wq_);
    end(exec, times_.communication);
    entries(exec, "concord::Beer::public_v", x_, KOKKOS_LAMBDA(std::int64_t i) {
      c(i) += q(i);
      t(i) += wq(i);
    });
    end(exec, times_.compute);
  }

  std::vector<std::pair<std::string, AgentMatrix>> state() const override {
    return {{"x", x_}, {"v", v_}, {"h", h_}, {"s", s_}, {"c", c_}, {"t", t_}, {"g", g_}};
  }

  double exchanges_per_iteration() const override { return 2.0; }

  double bytes_sent(std::int64_t k) const override {
    return gossip_bytes(k, 2.0 * static_cast<double>(compressed_.compressor().bytes) / 8.0);
  }

  std::string describe() const override {
    return fmt::format("beer ({}, twice per iteration, consensus step {}, step size {})",
                       mixing::describe(compressed_.compressor()), options_.consensus_step,
                       options_.schedule.describe());
  }

 private:
  mixing::CompressedMixer compressed_;
  AgentMatrix v_, h_, s_, c_, t_, g_, g_new_, diff_, q_, wq_;
};

}  // namespace

namespace detail {

AlgorithmInfo beer_entry() {
  AlgorithmInfo info{"beer",
                     "BEER, compressed gradient tracking: x += gamma_c (W h - h) - gamma v; h += C(x - h); v += gamma_c "
                     "(W c - c) + g(x_new) - g(x); c += C(v - c)",
                     true,
                     {consensus_step_parameter()},
                     [](const AlgorithmOptions& o, Environment env) -> std::unique_ptr<Algorithm> {
                       return std::make_unique<Beer>(o, env);
                     },
                     [](const topology::Topology& t) { check_compressed_gossip("beer", t); }};
  info.compresses = true;
  return info;
}

}  // namespace detail

}  // namespace concord::algorithms
