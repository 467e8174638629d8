// Exact diffusion: psi' = x - gamma g; phi = psi' + x - psi; x <- (I + W)/2 phi.
#include "concord/algorithms/detail/entries.hpp"
#include "concord/algorithms/detail/kernels.hpp"
#include "concord/topology/analysis.hpp"

namespace concord::algorithms {
namespace {

using detail::entries;
using detail::Flat;
using detail::flat;

class ExactDiffusion final : public Algorithm {
 public:
  ExactDiffusion(const AlgorithmOptions& o, Environment env)
      : Algorithm("exact_diffusion", o, env), psi_(allocate("psi")), g_(allocate("g")), phi_(allocate("phi")) {}

  void initialize(const ExecutionSpace& exec, const AgentMatrix& x0) override {
    Kokkos::deep_copy(exec, x_, x0);
    Kokkos::deep_copy(exec, psi_, x0);  // psi^0 = x^0
  }

  void advance(const ExecutionSpace& exec, std::int64_t k) override {
    const double gamma = options_.schedule.at(k);
    Flat x = flat(x_), psi = flat(psi_), g = flat(g_), phi = flat(phi_);
    begin(exec);
    problem_.gradient(exec, x_, g_, k);
    entries(exec, "concord::ExactDiffusion::adapt", x_, KOKKOS_LAMBDA(std::int64_t i) {
      const double next = x(i) - gamma * g(i);  // psi^{k+1}
      phi(i) = next + x(i) - psi(i);            // phi^{k+1}
      psi(i) = next;
    });
    end(exec, times_.compute);
    mixer_.apply(exec, k, phi_, x_);  // W phi
    end(exec, times_.communication);
    entries(exec, "concord::ExactDiffusion::combine", x_,
            KOKKOS_LAMBDA(std::int64_t i) { x(i) = 0.5 * (phi(i) + x(i)); });  // (I + W)/2 phi
    end(exec, times_.compute);
  }

  std::vector<std::pair<std::string, AgentMatrix>> state() const override { return {{"x", x_}, {"psi", psi_}}; }

 private:
  AgentMatrix psi_, g_, phi_;
};

}  // namespace

namespace detail {

AlgorithmInfo exact_diffusion_entry() {
  return {"exact_diffusion",
          "psi' = x - gamma g; phi = psi' + x - psi; x <- (I + W)/2 phi",
          true,
          {},
          [](const AlgorithmOptions& o, Environment env) -> std::unique_ptr<Algorithm> {
            return std::make_unique<ExactDiffusion>(o, env);
          },
          [](const topology::Topology& t) { topology::require_stochasticity(t, topology::Stochasticity::doubly, "exact_diffusion"); }};
}

}  // namespace detail

}  // namespace concord::algorithms
