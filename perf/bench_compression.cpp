// Cost of one compressed gossip step (CompressedMixer::apply: encode every owned row, exchange the
// words, decode the halo, mix q) against the plain Mixer::apply of the same rows and against the
// floor of the encode: a copy of the rows (read v, write q), timed in turn in one loop.
//
// Benchmarks (n = 16 agents on the ring, one process; d from --dims, default 7850,100000):
//   compressed/<operator>/d   counters: median seconds of the compressed step, of Mixer::apply and
//                             of the copy; over_mix = compressed / mix, over_copy = compressed / copy
// Every timed region is bracketed by fences. Results and command lines: perf/RESULTS.md.
#include <benchmark/benchmark.h>
#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "concord/comm/transport.hpp"
#include "concord/core/agent_layout.hpp"
#include "concord/mixing/compressed_mixer.hpp"
#include "concord/topology/registry.hpp"

namespace {

using concord_bench::median;
using concord_bench::timed;

using concord::AgentMatrix;
using concord::ExecutionSpace;
using concord::mixing::CompressionKind;
using Clock = std::chrono::steady_clock;

constexpr int kAgents = 16;

void compressed(benchmark::State& state, concord::mixing::CompressionOptions options) {
  const int d = static_cast<int>(state.range(0));
  const ExecutionSpace exec;
  const auto layout = concord::AgentLayout::over(kAgents, MPI_COMM_SELF);
  const auto topology = concord::topology::make_topology("ring", kAgents, {}, 1);
  concord::mixing::Mixer mixer(topology, layout, concord::comm::make_transport(MPI_COMM_SELF), d);
  concord::mixing::CompressedMixer cm(mixer, concord::mixing::make_compressor(options, d, 1));
  AgentMatrix v("bench::v", kAgents, d), q("bench::q", kAgents, d), wq("bench::wq", kAgents, d);
  Kokkos::parallel_for(
      "bench::fill", Kokkos::MDRangePolicy<Kokkos::Rank<2>>(exec, {0, 0}, {kAgents, d}),
      KOKKOS_LAMBDA(int a, int c) { v(a, c) = ((a * 7919 + c * 104729) % 1000003) * 1e-6 - 0.5; });
  std::vector<double> t_compressed, t_mix, t_copy;
  std::int64_t k = 0;
  for (auto _ : state) {
    t_compressed.push_back(timed(exec, [&] { cm.apply(exec, k++, v, q, wq); }));
    t_mix.push_back(timed(exec, [&] { mixer.apply(exec, 0, v, wq); }));
    t_copy.push_back(timed(exec, [&] { Kokkos::deep_copy(exec, q, v); }));
    state.SetIterationTime(t_compressed.back());
  }
  const double c = median(t_compressed), m = median(t_mix), y = median(t_copy);
  state.counters["compressed_s"] = c;
  state.counters["mix_s"] = m;
  state.counters["copy_s"] = y;
  state.counters["over_mix"] = c / m;
  state.counters["over_copy"] = c / y;
  state.counters["bytes_per_row"] = static_cast<double>(cm.compressor().bytes);
}

std::vector<std::int64_t> dims = {7850, 100000};

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  Kokkos::initialize(argc, argv);
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--dims=", 7) == 0) {
      dims.clear();
      for (const char* p = argv[i] + 7; *p;) {
        dims.push_back(std::strtoll(p, const_cast<char**>(&p), 10));
        if (*p == ',') ++p;
      }
    }
  const std::vector<std::pair<std::string, concord::mixing::CompressionOptions>> operators = {
      {"none", {CompressionKind::none, 0, 0}},     {"bf16", {CompressionKind::bf16, 0, 0}},
      {"fp32", {CompressionKind::fp32, 0, 0}},     {"top_k_1pct", {CompressionKind::top_k, 0.01, 0}},
      {"random_k_1pct", {CompressionKind::random_k, 0.01, 0}}, {"qsgd_s16", {CompressionKind::qsgd, 0, 16}},
      {"sign", {CompressionKind::sign, 0, 0}}};
  for (const auto& [name, options] : operators)
    for (std::int64_t d : dims)
      benchmark::RegisterBenchmark(("compressed/" + name).c_str(), compressed, options)
          ->Arg(d)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  Kokkos::finalize();
  MPI_Finalize();
  return 0;
}
