// PSGD, Gossip-PGA and local SGD: the algorithms with exact global averages.
#include "concord/algorithms/detail/entries.hpp"
#include "concord/algorithms/detail/kernels.hpp"
#include "concord/topology/analysis.hpp"
#include "concord/core/rows.hpp"
#include "concord/core/error.hpp"

#include <fmt/format.h>

namespace concord::algorithms {
namespace {

/// PSGD, Gossip-PGA and local SGD: the algorithms with exact global averages.
class GlobalAveraging final : public Algorithm {
 public:
  enum class Kind { psgd, gossip_pga, local_sgd };
  GlobalAveraging(Kind kind, const AlgorithmOptions& o, Environment env)
      : Algorithm(kind == Kind::psgd ? "psgd" : kind == Kind::gossip_pga ? "gossip_pga" : "local_sgd", o, env),
        kind_(kind),
        g_(allocate("g")),
        work_(allocate("work")),
        mean_(Kokkos::view_alloc(std::string("concord::") + name_ + "::mean"), dimension_) {}

  void initialize(const ExecutionSpace& exec, const AgentMatrix& x0) override {
    Kokkos::deep_copy(exec, x_, x0);
    if (kind_ == Kind::psgd) {  // PSGD keeps one model: start every agent from the average
      reducer_.average(exec, x_, mean_);
      broadcast_rows(exec, "concord::psgd::broadcast", mean_, x_);
    }
  }

  void advance(const ExecutionSpace& exec, std::int64_t k) override {
    const double gamma = options_.schedule.at(k);
    begin(exec);
    if (kind_ == Kind::psgd) {  // x <- x - gamma mean(g)
      problem_.gradient(exec, x_, g_, k);
      end(exec, times_.compute);
      reducer_.average(exec, g_, mean_);
      end(exec, times_.communication);
      auto mean = mean_;
      auto x = x_;
      row_entries(exec, "concord::psgd::descend", x_,
                  KOKKOS_LAMBDA(std::int64_t a, std::int64_t c) { x(a, c) -= gamma * mean(c); });
      end(exec, times_.compute);
      return;
    }
    // w = x - gamma g, then averaged every `period` iterations, otherwise mixed (Gossip-PGA) or kept.
    problem_.gradient_step(exec, x_, gamma, g_, work_, k);
    end(exec, times_.compute);
    if ((k + 1) % options_.period == 0) {
      reducer_.average(exec, work_, mean_);
      broadcast_rows(exec, "concord::GlobalAveraging::broadcast", mean_, x_);
    } else if (kind_ == Kind::gossip_pga) {
      mixer_.apply(exec, k, work_, x_);
    } else {
      Kokkos::deep_copy(exec, x_, work_);
    }
    end(exec, times_.communication);
  }

  std::vector<std::pair<std::string, AgentMatrix>> state() const override { return {{"x", x_}}; }
  std::string describe() const override {
    const std::string period = kind_ == Kind::psgd ? "" : fmt::format(" (H = {})", options_.period);
    return name() + period + ", step size " + options_.schedule.describe();
  }
  double exchanges_per_iteration() const override {
    return kind_ == Kind::psgd ? 1.0 : kind_ == Kind::gossip_pga ? 1.0 : 1.0 / options_.period;
  }

 private:
  Kind kind_;
  AgentMatrix g_, work_;
  CoordinateVector mean_;
};

}  // namespace

namespace detail {
namespace {

parameters::Bound<AlgorithmOptions> period_parameter() {
  return parameters::bind(&AlgorithmOptions::period,
                          parameters::integer("period", "H: iterations between global averages", 1, parameters::int_max));
}

AlgorithmInfo global_averaging_entry(GlobalAveraging::Kind kind, std::string name, std::string summary) {
  const bool periodic = kind != GlobalAveraging::Kind::psgd;
  std::vector<parameters::Bound<AlgorithmOptions>> params;
  if (periodic) params.push_back(period_parameter());
  return {std::move(name), std::move(summary), true, std::move(params),
          [kind, periodic, n = name](const AlgorithmOptions& o, Environment env) -> std::unique_ptr<Algorithm> {
            if (periodic && o.period < 1) throw InputError(fmt::format("algorithm '{}': period must be >= 1, got {}", n, o.period));
            return std::make_unique<GlobalAveraging>(kind, o, env);
          },
          // psgd and local_sgd average exactly and never use W; gossip_pga mixes with it.
          kind == GlobalAveraging::Kind::gossip_pga
              ? std::function<void(const topology::Topology&)>([](const topology::Topology& t) {
                  topology::require_stochasticity(t, topology::Stochasticity::doubly, "gossip_pga");
                })
              : std::function<void(const topology::Topology&)>()};
}

}  // namespace

AlgorithmInfo psgd_entry() {
  return global_averaging_entry(GlobalAveraging::Kind::psgd, "psgd",
                                "parallel SGD: x <- x - gamma (1/n) sum_i g_i (an exact average every iteration)");
}

AlgorithmInfo gossip_pga_entry() {
  return global_averaging_entry(GlobalAveraging::Kind::gossip_pga, "gossip_pga",
                                "dsgd (atc), and every H-th iteration an exact global average instead");
}

AlgorithmInfo local_sgd_entry() {
  return global_averaging_entry(GlobalAveraging::Kind::local_sgd, "local_sgd",
                                "H local steps x_i <- x_i - gamma g_i, then a global average");
}

}  // namespace detail

}  // namespace concord::algorithms
