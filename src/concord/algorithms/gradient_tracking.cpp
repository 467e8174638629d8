// Gradient tracking: atc (the lecture's form) and cta ("DIGing", x and y in one exchange).
#include "concord/algorithms/detail/entries.hpp"
#include "concord/algorithms/detail/kernels.hpp"
#include "concord/topology/analysis.hpp"

namespace concord::algorithms {
namespace {

using detail::entries;
using detail::Flat;
using detail::flat;

class GradientTracking final : public Algorithm {
 public:
  GradientTracking(const AlgorithmOptions& o, Environment env)
      : Algorithm("gradient_tracking", o, env),
        cta_(o.variant == Variant::cta),
        y_(allocate("y")),
        g_(allocate("g")),
        g_new_(allocate("g_new")),
        work_(allocate("work")),
        work2_(allocate("work2")) {}

  void initialize(const ExecutionSpace& exec, const AgentMatrix& x0) override {
    Kokkos::deep_copy(exec, x_, x0);
    problem_.gradient(exec, x_, g_, 0);  // g^0 at x^0 with xi^0
    Kokkos::deep_copy(exec, y_, g_);     // y^0 = g^0
  }

  void advance(const ExecutionSpace& exec, std::int64_t k) override {
    const double gamma = options_.schedule.at(k);
    Flat x = flat(x_), y = flat(y_), g = flat(g_), gn = flat(g_new_), w = flat(work_), w2 = flat(work2_);
    if (!cta_) {
      begin(exec);
      entries(exec, "concord::GradientTracking::descend", x_, KOKKOS_LAMBDA(std::int64_t i) { w(i) = x(i) - gamma * y(i); });
      end(exec, times_.compute);
      mixer_.apply(exec, k, work_, x_);  // x^{k+1} = W (x^k - gamma y^k)
      end(exec, times_.communication);
      problem_.gradient(exec, x_, g_new_, k + 1);
      entries(exec, "concord::GradientTracking::track", x_, KOKKOS_LAMBDA(std::int64_t i) { w(i) = y(i) + gn(i) - g(i); });
      end(exec, times_.compute);
      mixer_.apply(exec, k, work_, y_);  // y^{k+1} = W (y^k + g^{k+1} - g^k)
      end(exec, times_.communication);
    } else {
      begin(exec);
      const AgentMatrix in[2] = {x_, y_}, out[2] = {work_, work2_};
      mixer_.apply(exec, k, in, out);  // W x and W y in one exchange
      end(exec, times_.communication);
      entries(exec, "concord::GradientTracking::descend", x_, KOKKOS_LAMBDA(std::int64_t i) { x(i) = w(i) - gamma * y(i); });
      problem_.gradient(exec, x_, g_new_, k + 1);
      entries(exec, "concord::GradientTracking::track", x_, KOKKOS_LAMBDA(std::int64_t i) { y(i) = w2(i) + gn(i) - g(i); });
      end(exec, times_.compute);
    }
    std::swap(g_, g_new_);
  }

  std::vector<std::pair<std::string, AgentMatrix>> state() const override { return {{"x", x_}, {"y", y_}, {"g", g_}}; }
  double exchanges_per_iteration() const override { return cta_ ? 1.0 : 2.0; }

  std::string describe() const override {
    return name() + " (" + variants().name(options_.variant) + "), step size " + options_.schedule.describe();
  }

 private:
  bool cta_;
  AgentMatrix y_, g_, g_new_, work_, work2_;
};

}  // namespace

namespace detail {

AlgorithmInfo gradient_tracking_entry() {
  return {"gradient_tracking",
          "x <- W (x - gamma y); y <- W (y + g(x_new) - g(x)) (atc; cta: x and y in one exchange)",
          true,
          {variant_parameter()},
          [](const AlgorithmOptions& o, Environment env) -> std::unique_ptr<Algorithm> {
            return std::make_unique<GradientTracking>(o, env);
          },
          [](const topology::Topology& t) { topology::require_stochasticity(t, topology::Stochasticity::doubly, "gradient_tracking"); }};
}

}  // namespace detail

}  // namespace concord::algorithms
