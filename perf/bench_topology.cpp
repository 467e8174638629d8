// Cost of building topologies and of their spectral analysis (dense up to 2048 agents,
// Lanczos beyond), so users know what `concord topology` costs at their scale.
#include <benchmark/benchmark.h>
#include <mpi.h>

#include <Kokkos_Core.hpp>

#include "concord/topology/analysis.hpp"
#include "concord/topology/registry.hpp"

namespace {

void build(benchmark::State& state, const char* name) {
  const int n = static_cast<int>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(concord::topology::make_topology(name, n, {}, 1));
}

void rho(benchmark::State& state, const char* name, int dense_limit) {
  const int n = static_cast<int>(state.range(0));
  const auto t = concord::topology::make_topology(name, n, {}, 1);
  concord::topology::AnalysisOptions opt;
  opt.dense_limit = dense_limit;
  for (auto _ : state) benchmark::DoNotOptimize(concord::topology::period_rate(t, opt));
}

BENCHMARK_CAPTURE(build, exponential, "exponential")->RangeMultiplier(4)->Range(64, 4096);
BENCHMARK_CAPTURE(build, base, "base")->RangeMultiplier(4)->Range(64, 4096);
BENCHMARK_CAPTURE(rho, exponential_dense, "exponential", 1 << 30)->RangeMultiplier(4)->Range(64, 1024);
BENCHMARK_CAPTURE(rho, exponential_lanczos, "exponential", 0)->RangeMultiplier(4)->Range(64, 1024);
BENCHMARK_CAPTURE(rho, one_peer_exponential_dense, "one_peer_exponential", 1 << 30)->RangeMultiplier(4)->Range(64, 1024);
BENCHMARK_CAPTURE(rho, one_peer_exponential_lanczos, "one_peer_exponential", 0)->RangeMultiplier(4)->Range(64, 1024);

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  {
    Kokkos::ScopeGuard kokkos(argc, argv);
    benchmark::Initialize(&argc, argv);
    benchmark::AddCustomContext("kokkos", std::to_string(KOKKOS_VERSION));
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
  }
  MPI_Finalize();
  return 0;
}
