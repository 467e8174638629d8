// D2: x1 = W (x0 - gamma g0); x' = W (2x - x_prev - gamma (g - g_prev)).
#include "concord/algorithms/detail/entries.hpp"
#include "concord/algorithms/detail/kernels.hpp"
#include "concord/core/error.hpp"
#include "concord/topology/analysis.hpp"

#include <fmt/format.h>

namespace concord::algorithms {
namespace {

using detail::entries;
using detail::Flat;
using detail::flat;

class D2 final : public Algorithm {
 public:
  D2(const AlgorithmOptions& o, Environment env)
      : Algorithm("d2", o, env),
        x_prev_(allocate("x_prev")),
        g_(allocate("g")),
        g_prev_(allocate("g_prev")),
        work_(allocate("work")) {}

  void initialize(const ExecutionSpace& exec, const AgentMatrix& x0) override {
    Kokkos::deep_copy(exec, x_, x0);
    Kokkos::deep_copy(exec, x_prev_, x0);
    Kokkos::deep_copy(exec, g_prev_, 0.0);
  }

  void advance(const ExecutionSpace& exec, std::int64_t k) override {
    const double gamma = options_.schedule.at(k);
    Flat x = flat(x_), xp = flat(x_prev_), g = flat(g_), gp = flat(g_prev_), w = flat(work_);
    begin(exec);
    problem_.gradient(exec, x_, g_, k);
    if (k == 0)
      entries(exec, "concord::D2::first", x_, KOKKOS_LAMBDA(std::int64_t i) { w(i) = x(i) - gamma * g(i); });
    else
      entries(exec, "concord::D2::extrapolate", x_,
              KOKKOS_LAMBDA(std::int64_t i) { w(i) = 2.0 * x(i) - xp(i) - gamma * (g(i) - gp(i)); });
    end(exec, times_.compute);
    mixer_.apply(exec, k, work_, x_prev_);  // x^{k+1} into the buffer of x^{k-1}
    end(exec, times_.communication);
    std::swap(x_, x_prev_);
    std::swap(g_, g_prev_);
  }

  std::vector<std::pair<std::string, AgentMatrix>> state() const override {
    return {{"x", x_}, {"x_prev", x_prev_}, {"g_prev", g_prev_}};
  }

 private:
  AgentMatrix x_prev_, g_, g_prev_, work_;
};

}  // namespace

namespace detail {

/// D2 converges only for symmetric W with eigenvalues above -1/3 (docs/algorithms.md): checked
/// for every round, densely up to AnalysisOptions::dense_limit agents and by Lanczos beyond.
void check_d2(const topology::Topology& t) {
  topology::require_stochasticity(t, topology::Stochasticity::doubly, "d2");
  const int n = t.agents();
  for (int r = 0; r < t.period(); ++r) {
    const auto& w = t.rounds()[static_cast<std::size_t>(r)];  // every stored matrix (a drawn pool too)
    if (!w.is_symmetric())
      throw InputError(fmt::format("concord/algorithm/name: d2 needs a symmetric W, but topology '{}' is not symmetric "
                                   "(round {}); use gradient_tracking or exact_diffusion, or a symmetric topology",
                                   t.name(), r));
    const double lambda_min = topology::smallest_eigenvalue(w);
    if (!(lambda_min > -1.0 / 3.0))
      throw InputError(fmt::format(
          "concord/algorithm/name: d2 needs the eigenvalues of W above -1/3, but topology '{}' on {} agents has "
          "lambda_min = {:.4f}{}. Use exact_diffusion (the same fixed point; it mixes with (I + W)/2, whose "
          "eigenvalues are always above 0), or a topology whose W qualifies, e.g. complete (eigenvalues 0 and 1)",
          t.name(), n, lambda_min,
          t.name() == "ring" ? " (a ring has lambda_min > -1/3 only for an odd number of agents)" : ""));
  }
}

AlgorithmInfo d2_entry() {
  return {"d2",
          "x1 = W (x0 - gamma g0); x' = W (2x - x_prev - gamma (g - g_prev)); needs symmetric W, lambda_min > -1/3",
          true,
          {},
          [](const AlgorithmOptions& o, Environment env) -> std::unique_ptr<Algorithm> { return std::make_unique<D2>(o, env); },
          check_d2};
}

}  // namespace detail

}  // namespace concord::algorithms
