// DSGD: x_i <- sum_j W_ij (x_j - gamma g_j) (atc), or x_i <- sum_j W_ij x_j - gamma g_i (cta).
#include "concord/algorithms/detail/entries.hpp"
#include "concord/algorithms/detail/kernels.hpp"
#include "concord/topology/analysis.hpp"

namespace concord::algorithms {
namespace {

using detail::entries;
using detail::Flat;
using detail::flat;

class Dsgd final : public Algorithm {
 public:
  Dsgd(const AlgorithmOptions& o, Environment env)
      : Algorithm("dsgd", o, env), cta_(o.variant == Variant::cta), g_(allocate("g")), work_(allocate("work")) {}

  void initialize(const ExecutionSpace& exec, const AgentMatrix& x0) override { Kokkos::deep_copy(exec, x_, x0); }

  void advance(const ExecutionSpace& exec, std::int64_t k) override {
    const double gamma = options_.schedule.at(k);
    if (!cta_) {  // x <- W (x - gamma g)
      begin(exec);
      problem_.gradient_step(exec, x_, gamma, g_, work_, k);
      end(exec, times_.compute);
      mixer_.apply(exec, k, work_, x_);
      end(exec, times_.communication);
    } else {  // x <- W x - gamma g, the gradient computed while the exchange is in flight
      begin(exec);
      Flat x = flat(x_), g = flat(g_), w = flat(work_);
      const AgentMatrix in[1] = {x_}, out[1] = {work_};
      mixer_.start(exec, k, in, out);
      problem_.gradient(exec, x_, g_, k);
      mixer_.finish(exec);
      entries(exec, "concord::Dsgd::descend", x_, KOKKOS_LAMBDA(std::int64_t i) { x(i) = w(i) - gamma * g(i); });
      end(exec, times_.compute);  // overlapped: the whole step counts as computation
    }
  }

  std::vector<std::pair<std::string, AgentMatrix>> state() const override { return {{"x", x_}}; }

  std::string describe() const override {
    return name() + " (" + variants().name(options_.variant) + "), step size " + options_.schedule.describe();
  }

 private:
  bool cta_;
  AgentMatrix g_, work_;
};

}  // namespace

namespace detail {

parameters::Bound<AlgorithmOptions> variant_parameter() {
  return parameters::bind(&AlgorithmOptions::variant, variants(),
                          parameters::word("variant", nullptr, {},
                                           "adapt-then-combine (the lecture's form) or combine-then-adapt (overlaps "
                                           "the exchange with the gradient; gradient tracking: x and y in one exchange)"));
}

AlgorithmInfo dsgd_entry() {
  return {"dsgd",
          "decentralized SGD: x_i <- sum_j W_ij (x_j - gamma g_j) (atc) or sum_j W_ij x_j - gamma g_i (cta)",
          true,
          {variant_parameter()},
          [](const AlgorithmOptions& o, Environment env) -> std::unique_ptr<Algorithm> { return std::make_unique<Dsgd>(o, env); },
          [](const topology::Topology& t) { topology::require_stochasticity(t, topology::Stochasticity::doubly, "dsgd"); }};
}

}  // namespace detail

}  // namespace concord::algorithms
