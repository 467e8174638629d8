// Average consensus x <- W x (no gradient).
#include "concord/algorithms/detail/entries.hpp"
#include "concord/algorithms/detail/kernels.hpp"
#include "concord/topology/analysis.hpp"

namespace concord::algorithms {
namespace {

using detail::entries;
using detail::Flat;
using detail::flat;

/// Average consensus: x <- W(k) x, no gradient. Every agent's model tends to the average of the
/// initial models at the topology's consensus rate.
class Gossip final : public Algorithm {
 public:
  Gossip(const AlgorithmOptions& o, Environment env) : Algorithm("gossip", o, env), work_(allocate("work")) {}

  void initialize(const ExecutionSpace& exec, const AgentMatrix& x0) override { Kokkos::deep_copy(exec, x_, x0); }

  void advance(const ExecutionSpace& exec, std::int64_t k) override {
    begin(exec);
    mixer_.apply(exec, k, x_, work_);
    end(exec, times_.communication);
    std::swap(x_, work_);
  }

  std::vector<std::pair<std::string, AgentMatrix>> state() const override { return {{"x", x_}}; }

  std::string describe() const override { return name() + " (x <- W x, no gradient)"; }

 private:
  AgentMatrix work_;
};

}  // namespace

namespace detail {

AlgorithmInfo gossip_entry() {
  return {"gossip",
          "average consensus x <- W x: no gradient, no step size",
          false,
          {},
          [](const AlgorithmOptions& o, Environment env) -> std::unique_ptr<Algorithm> { return std::make_unique<Gossip>(o, env); },
          [](const topology::Topology& t) { topology::require_stochasticity(t, topology::Stochasticity::doubly, "gossip"); }};
}

}  // namespace detail

}  // namespace concord::algorithms
