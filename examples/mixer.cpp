// Mixing the agents' models with an installed Concord, on every rank of MPI_COMM_WORLD: 64 agents
// over the one-peer exponential graph reach the exact average after one period (6 rounds), on any
// number of ranks that divides the agents into blocks. Quoted by README.md.
// [mixer]
#include <concord/mixing/mixer.hpp>
#include <concord/topology/registry.hpp>

// [mixer]
#include <Kokkos_Core.hpp>
#include <mpi.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <utility>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int failures = 0, ranks = 0, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  {
    Kokkos::ScopeGuard kokkos(argc, argv);
    // [mixer]
    const int n = 64, d = 3;
    auto topology = concord::topology::make_topology("one_peer_exponential", n, {});
    auto layout = concord::AgentLayout::over(n, MPI_COMM_WORLD);        // contiguous blocks of agents
    auto transport = concord::comm::make_transport(MPI_COMM_WORLD);       // in_process, mpi or nccl
    concord::mixing::Mixer mixer(topology, layout, transport, d);
    concord::AgentMatrix x("concord::example::x", layout.local_count(), d);
    concord::AgentMatrix y("concord::example::y", layout.local_count(), d);
    const int first = layout.local_first();                               // global id of local agent 0
    Kokkos::parallel_for("concord::example::fill",
                         Kokkos::MDRangePolicy<Kokkos::Rank<2>>({0, 0}, {layout.local_count(), d}),
                         KOKKOS_LAMBDA(int a, int c) { x(a, c) = first + a + c; });   // agent i: (i, i+1, i+2)
    for (std::int64_t k = 0; k < topology.period(); ++k) {   // x <- W(k) x for one period
      mixer.apply(k, x, y);
      std::swap(x, y);
    }
    // [mixer]
    // Every model is now the average of the initial ones: ((n - 1) / 2 + c) for coordinate c.
    auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
    for (int a = 0; a < layout.local_count(); ++a)
      for (int c = 0; c < d; ++c)
        if (std::abs(host(a, c) - ((n - 1) / 2.0 + c)) > 1e-12) ++failures;
    MPI_Allreduce(MPI_IN_PLACE, &failures, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0)
      std::printf("mixer: %d agents on %d ranks (%s), %d rounds: %s\n", n, ranks, transport->describe().c_str(),
                  topology.period(), failures == 0 ? "every model is the exact average" : "NOT the exact average");
  }
  MPI_Finalize();
  return failures == 0 ? 0 : 1;
}
