// Gradient tracking on heterogeneous least squares with an installed Concord, on every rank of
// MPI_COMM_WORLD: 16 agents on a ring, each with its own data, reach the global minimiser x*
// although their local minimisers differ. The distance to x* is the same, to the last bit, for
// any number of ranks. Quoted by README.md.
// [gradient_tracking]
#include <concord/algorithms/algorithm.hpp>
#include <concord/algorithms/metrics.hpp>
#include <concord/problems/setup.hpp>
#include <concord/topology/registry.hpp>

// [gradient_tracking]
#include <Kokkos_Core.hpp>
#include <mpi.h>

#include <cstdint>
#include <cstdio>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  bool ok = false;
  {
    Kokkos::ScopeGuard kokkos(argc, argv);
    // [gradient_tracking]
    auto topology = concord::topology::make_topology("ring", 16, {});
    auto layout = concord::AgentLayout::over(16, MPI_COMM_WORLD);
    auto transport = concord::comm::make_transport(MPI_COMM_WORLD);
    concord::ExecutionSpace exec;
    concord::problems::ProblemSpec spec;                          // least_squares on synthetic data
    spec.data.least_squares = {/*samples_per_agent=*/50, /*dimension=*/10, /*heterogeneity=*/1.0, /*noise=*/0.1};
    auto problem = concord::problems::make_problem(spec, layout, transport, /*seed=*/1);   // also solves for x*
    concord::mixing::Mixer mixer(topology, layout, transport, problem->dimension());
    concord::mixing::ReproducibleSum sums(transport, layout, problem->dimension() + 3);
    concord::algorithms::AlgorithmOptions options;                // name, variant, schedule, period
    options.name = "gradient_tracking";
    options.schedule.gamma = 0.05;
    auto algorithm = concord::algorithms::make_algorithm(options, {*problem, mixer, sums});
    concord::AgentMatrix x0("concord::example::x0", layout.local_count(), problem->dimension());
    problem->initial_point(exec, x0);
    algorithm->initialize(exec, x0);
    for (std::int64_t k = 0; k < 1000; ++k) algorithm->step(exec, k);
    concord::algorithms::Metrics metrics(*problem, sums);
    auto m = metrics.compute(exec, 1000, algorithm->models());      // m.distance_to_solution, m.consensus_error, ...
    // [gradient_tracking]
    const auto start = metrics.compute(exec, 0, x0);
    ok = start.distance_to_solution > 0.1 && m.distance_to_solution < 1e-6 && m.consensus_error < 1e-12;
    if (layout.rank() == 0)
      std::printf("gradient_tracking: %d ranks, ||xbar - x*|| %.17g after 1000 iterations (%.3g at 0), "
                  "consensus error %.3g: %s\n",
                  layout.ranks(), m.distance_to_solution, start.distance_to_solution, m.consensus_error,
                  ok ? "converged" : "NOT converged");
  }
  MPI_Finalize();
  return ok ? 0 : 1;
}
