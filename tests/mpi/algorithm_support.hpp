#pragma once
// A complete least-squares (or classification) run assembled in code, for the algorithm tests:
// layout, synthetic data, problem with its exact solution, topology, mixer, reproducible sums,
// algorithm and metrics.
#include <memory>
#include <string>

#include "concord/algorithms/algorithm.hpp"
#include "concord/algorithms/metrics.hpp"
#include "concord/comm/transport.hpp"
#include "concord/problems/linear_model.hpp"
#include "concord/problems/synthetic.hpp"
#include "concord/topology/registry.hpp"
#include "mixing_support.hpp"

namespace concord_test {

struct RunSpec {
  int agents = 8;
  std::string topology = "ring";
  concord::problems::LeastSquaresSpec data{20, 5, 1.0, 0.1};
  concord::algorithms::AlgorithmOptions algorithm;
  int batch = 0;
  std::uint64_t seed = 1;
  bool everything_here = false;  ///< all agents in this process (in_process transport)
};

struct LeastSquaresRun {
  explicit LeastSquaresRun(const RunSpec& spec)
      : comm(spec.everything_here ? MPI_COMM_SELF : MPI_COMM_WORLD),
        layout(concord::AgentLayout::over(spec.agents, comm)),
        transport(concord::comm::make_transport(comm)),
        problem(make_problem(spec, layout, transport)),
        topology(concord::topology::make_topology(spec.topology, spec.agents, {}, spec.seed)),
        mixer(topology, layout, transport, problem->dimension()),
        reducer(transport, layout, problem->dimension() + concord::problems::Problem::extra_columns),
        algorithm(concord::algorithms::make_algorithm(spec.algorithm, {*problem, mixer, reducer})),
        metrics(*problem, reducer) {
    concord::AgentMatrix x0("concord_test::x0", layout.local_count(), problem->dimension());
    problem->initial_point(exec, x0);
    algorithm->initialize(exec, x0);
  }

  static std::unique_ptr<concord::problems::LinearModel> make_problem(
      const RunSpec& spec, const concord::AgentLayout& layout, std::shared_ptr<concord::comm::Transport> transport) {
    auto generated = concord::problems::synthetic_least_squares(spec.data, layout, spec.seed);
    concord::problems::AgentData data(generated.set, generated.samples_of, layout, "train");
    concord::problems::LinearModelOptions options;
    options.batch = spec.batch;
    options.seed = spec.seed;
    auto p = std::make_unique<concord::problems::LinearModel>(layout, std::move(data), std::nullopt, options,
                                                              "least_squares");
    p->compute_solution(concord::ExecutionSpace(), transport);
    return p;
  }

  /// Runs iterations [from, to).
  void run(std::int64_t from, std::int64_t to) {
    for (std::int64_t k = from; k < to; ++k) algorithm->step(exec, k);
  }
  concord::algorithms::MetricValues measure(std::int64_t k) { return metrics.compute(exec, k, algorithm->models()); }
  std::vector<double> models() { return gather_rows(layout, algorithm->models(), comm); }

  concord::ExecutionSpace exec;
  MPI_Comm comm;
  concord::AgentLayout layout;
  std::shared_ptr<concord::comm::Transport> transport;
  std::unique_ptr<concord::problems::LinearModel> problem;
  concord::topology::Topology topology;
  concord::mixing::Mixer mixer;
  concord::mixing::ReproducibleSum reducer;
  std::unique_ptr<concord::algorithms::Algorithm> algorithm;
  concord::algorithms::Metrics metrics;
};

inline concord::algorithms::AlgorithmOptions algorithm_options(const std::string& name, double gamma,
                                                                const std::string& variant = "atc", int period = 4) {
  concord::algorithms::AlgorithmOptions o;
  o.name = name;
  o.variant = concord::algorithms::variants().parse(variant);
  o.schedule.gamma = gamma;
  o.period = period;
  return o;
}

}  // namespace concord_test
