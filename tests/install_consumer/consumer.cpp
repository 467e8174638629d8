// Uses the installed Concord: builds the 8-agent one-peer hypercube and checks finite-time consensus.
#include <concord/config.hpp>
#include <concord/topology/analysis.hpp>
#include <concord/topology/registry.hpp>
#include <cstdio>
#include <mpi.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  const auto t = concord::topology::make_topology("one_peer_hypercube", 8, {});
  const auto r = concord::topology::analyze(t);
  std::printf("Concord %s: %s, %d rounds, finite-time %s\n", CONCORD_VERSION, t.description().c_str(), t.period(),
              r.finite_time ? "yes" : "no");
  MPI_Finalize();
  return r.finite_time && t.period() == 3 ? 0 : 1;
}
