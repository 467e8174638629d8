// CHOCO-gossip and CHOCO-SGD (Koloskova, Stich, Jaggi 2019): gossip on compressed differences
// with error feedback through the public copies x_hat.
#include <fmt/format.h>

#include <optional>

#include "concord/algorithms/detail/entries.hpp"
#include "concord/algorithms/detail/kernels.hpp"
#include "concord/mixing/compressed_mixer.hpp"
#include "concord/topology/analysis.hpp"

namespace concord::algorithms {
namespace {

using detail::entries;
using detail::Flat;
using detail::flat;

/// Every agent i keeps x_i, its public copy x_hat_i (what its neighbours know of it) and
/// s_i = sum_j W_ij x_hat_j. One iteration (choco_sgd; choco_gossip skips the gradient step):
///   x_i' = x_i - gamma g_i
///   q_i  = C(x_i' - x_hat_i)                      only q_i's encoding travels
///   x_hat_i += q_i;  s_i += sum_j W_ij q_j
///   x_i  = x_i' + gamma_c (s_i - x_hat_i)
/// With x_hat^0 = s^0 = 0. For W doubly stochastic the average of the x_i moves only by the
/// gradient steps (sum_i (s_i - x_hat_i) = 0), and x_i - x_hat_i -> 0: the compression error is
/// fed back into the next message rather than lost.
class Choco final : public Algorithm {
 public:
  Choco(std::string name, bool descends, const AlgorithmOptions& o, Environment env)
      : Algorithm(std::move(name), o, env),
        descends_(descends),
        compressed_(env.mixer, mixing::make_compressor(o.compression, dimension_, o.seed)),
        x_hat_(allocate("x_hat")),
        s_(allocate("s")),
        g_(descends ? allocate("g") : AgentMatrix()),
        v_(allocate("v")),
        q_(allocate("q")),
        wq_(allocate("wq")) {}

  void initialize(const ExecutionSpace& exec, const AgentMatrix& x0) override {
    Kokkos::deep_copy(exec, x_, x0);
    Kokkos::deep_copy(exec, x_hat_, 0.0);
    Kokkos::deep_copy(exec, s_, 0.0);
  }

  void advance(const ExecutionSpace& exec, std::int64_t k) override {
    const double step = options_.consensus_step;
    Flat x = flat(x_), xh = flat(x_hat_), s = flat(s_), v = flat(v_), q = flat(q_), wq = flat(wq_);
    begin(exec);
    if (descends_) {
      const double gamma = options_.schedule.at(k);
      Flat g = flat(g_);
      problem_.gradient(exec, x_, g_, k);
      entries(exec, "concord::Choco::descend", x_, KOKKOS_LAMBDA(std::int64_t i) {
        x(i) -= gamma * g(i);
        v(i) = x(i) - xh(i);
      });
    } else {
      entries(exec, "concord::Choco::difference", x_, KOKKOS_LAMBDA(std::int64_t i) { v(i) = x(i) - xh(i); });
    }
    end(exec, times_.compute);
    compressed_.apply(exec, k, v_, q_, wq_);
    end(exec, times_.communication);
    entries(exec, "concord::Choco::update", x_, KOKKOS_LAMBDA(std::int64_t i) {
      xh(i) += q(i);
      s(i) += wq(i);
      x(i) += step * (s(i) - xh(i));
    });
    end(exec, times_.compute);
  }

  std::vector<std::pair<std::string, AgentMatrix>> state() const override {
    return {{"x", x_}, {"x_hat", x_hat_}, {"s", s_}};
  }

  double bytes_sent(std::int64_t k) const override {
    return gossip_bytes(k, static_cast<double>(compressed_.compressor().bytes) / 8.0);
  }

  std::string describe() const override {
    std::string line = fmt::format("{} ({}, consensus step {}", name(), mixing::describe(compressed_.compressor()),
                                   options_.consensus_step);
    if (descends_) line += ", step size " + options_.schedule.describe();
    return line + ")";
  }

 private:
  bool descends_;
  mixing::CompressedMixer compressed_;
  AgentMatrix x_hat_, s_, g_, v_, q_, wq_;
};

AlgorithmInfo choco_entry(const std::string& name, std::string summary, bool descends) {
  AlgorithmInfo info{name,
                     std::move(summary),
                     descends,
                     {detail::consensus_step_parameter()},
                     [name, descends](const AlgorithmOptions& o, Environment env) -> std::unique_ptr<Algorithm> {
                       return std::make_unique<Choco>(name, descends, o, env);
                     },
                     [name](const topology::Topology& t) { detail::check_compressed_gossip(name, t); }};
  info.compresses = true;
  return info;
}

}  // namespace

namespace detail {

parameters::Bound<AlgorithmOptions> consensus_step_parameter() {
  return parameters::bind(&AlgorithmOptions::consensus_step,
                          parameters::required(parameters::real(
                              "consensus_step",
                              "gamma_c of CHOCO and BEER: how far x moves towards the neighbours' public copies per "
                              "iteration (1 with compression none is plain gossip; smaller for stronger compression)",
                              0.0, true, 1.0)));
}

void check_compressed_gossip(const std::string& name, const topology::Topology& t) {
  topology::require_stochasticity(t, topology::Stochasticity::doubly, name);
  mixing::CompressedMixer::require_static(t, "algorithm '" + name + "'");
}

AlgorithmInfo choco_gossip_entry() {
  return choco_entry("choco_gossip",
                     "compressed average consensus: q = C(x - x_hat); x_hat += q; x += gamma_c (W x_hat - x_hat)", false);
}

AlgorithmInfo choco_sgd_entry() {
  return choco_entry("choco_sgd",
                     "CHOCO-SGD: x' = x - gamma g; q = C(x' - x_hat); x_hat += q; x = x' + gamma_c (W x_hat - x_hat)",
                     true);
}

}  // namespace detail

}  // namespace concord::algorithms
