// Cost of one mixing step Y = W X in one process (P = 1, in_process transport), against the
// memory traffic it cannot avoid: reading X and writing Y once, 16 n d bytes, i.e. a plain copy.
//
// Benchmarks (n = 64 agents, fp64; d from --dims, default 1000000):
//   mix_vs_copy/<topology>/d      copy kernel, Kokkos::deep_copy and Mixer::apply timed in turn
//                                 in one loop; counters: medians and copy_over_mix, deep_over_mix
//   exp_vs_ring/d                 ring and exponential (and the copy) in one loop: exp_over_ring
//   memory_order/<topology>/d/T   the library's LayoutLeft mixing vs a tiled LayoutRight kernel
//                                 (tile of T coordinates; T = d: one whole row per work item)
//   overhead/<topology>/1000      Mixer::apply at d = 1000: the per-iteration fixed cost
// Every timed region is bracketed by fences. Results and command lines: perf/RESULTS.md.
//
// Extra option (before the Google Benchmark ones): --dims=D1,D2,... dimensions of the large runs
// (the smoke test uses a tiny one).
#include <benchmark/benchmark.h>
#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "concord/comm/transport.hpp"
#include "concord/core/agent_layout.hpp"
#include "concord/core/spaces.hpp"
#include "concord/mixing/mixer.hpp"
#include "concord/topology/registry.hpp"

namespace {

using concord_bench::median;
using concord_bench::timed;

using concord::AgentMatrix;
using concord::ExecutionSpace;
using Clock = std::chrono::steady_clock;
using RowMajor = Kokkos::View<double**, Kokkos::LayoutRight, concord::MemorySpace>;

constexpr int kAgents = 64;

/// x(a, c) = a pseudo-random value in [0, 1), deterministic.
template <class View>
void fill(const View& x) {
  const std::int64_t d = static_cast<std::int64_t>(x.extent(1));
  const int n = static_cast<int>(x.extent(0));
  Kokkos::parallel_for(
      "bench::fill", Kokkos::RangePolicy<ExecutionSpace>(0, d), KOKKOS_LAMBDA(std::int64_t c) {
        for (int a = 0; a < n; ++a) {
          std::uint64_t z = static_cast<std::uint64_t>(c) * 0x9E3779B97F4A7C15ULL +
                            static_cast<std::uint64_t>(a) * 0xBF58476D1CE4E5B9ULL;
          z ^= z >> 31;
          z *= 0x94D049BB133111EBULL;
          z ^= z >> 29;
          x(a, c) = static_cast<double>(z >> 11) * 0x1.0p-53;
        }
      });
  Kokkos::fence();
}

/// The baseline: y(i, c) = x(i, c), one coordinate (a contiguous column of agents) per index.
void copy_kernel(const ExecutionSpace& exec, const AgentMatrix& x, const AgentMatrix& y) {
  const int n = static_cast<int>(x.extent(0));
  Kokkos::parallel_for(
      "bench::copy", Kokkos::RangePolicy<ExecutionSpace>(exec, 0, static_cast<std::int64_t>(x.extent(1))),
      KOKKOS_LAMBDA(std::int64_t c) {
        for (int i = 0; i < n; ++i) y(i, c) = x(i, c);
      });
}

/// Check of y = W x on a few coordinates against WeightMatrix::apply (ascending columns): bit for
/// bit in the default build; within 1e-14 (relative) where the compiler may contract a * b + c
/// into FMAs differently in the two codes (e.g. -march=native).
template <class View>
bool check_mix(const concord::topology::WeightMatrix& w, const View& x, const View& y) {
  auto hx = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
  auto hy = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), y);
  const std::int64_t d = static_cast<std::int64_t>(x.extent(1));
  const int n = static_cast<int>(x.extent(0));
  std::vector<double> col(n), out(n);
  for (std::int64_t c : {std::int64_t{0}, d / 2, d - 1}) {
    for (int a = 0; a < n; ++a) col[a] = hx(a, c);
    w.apply(col, out);
    for (int a = 0; a < n; ++a)
      if (std::abs(out[a] - hy(a, c)) > 1e-14 * std::abs(out[a])) return false;
  }
  return true;
}

struct Setup {
  concord::topology::Topology topology;
  concord::AgentLayout layout;
  concord::mixing::Mixer mixer;
  Setup(const std::string& name, std::int64_t d)
      : topology(concord::topology::make_topology(name, kAgents, {}, 1)),
        layout(kAgents, 1, 0),
        mixer(topology, layout, concord::comm::make_transport(MPI_COMM_SELF), static_cast<int>(d), 1) {}
};

AgentMatrix matrix(const char* label, std::int64_t d) {
  return AgentMatrix(Kokkos::view_alloc(std::string(label)), kAgents, static_cast<std::size_t>(d));
}

void set_bytes(benchmark::State& state, std::int64_t d) {
  state.SetBytesProcessed(state.iterations() * 16 * std::int64_t{kAgents} * d);
}

void add_context_counters(benchmark::State& state, std::int64_t d) {
  state.counters["n"] = kAgents;
  state.counters["d"] = static_cast<double>(d);
}

/// copy kernel, deep_copy and Mixer::apply in turn; manual time = the mixing step.
void mix_vs_copy(benchmark::State& state, const std::string& name) {
  const std::int64_t d = state.range(0);
  ExecutionSpace exec;
  Setup s(name, d);
  AgentMatrix x = matrix("bench::x", d), y = matrix("bench::y", d);
  fill(x);
  s.mixer.apply(exec, 0, x, y);
  exec.fence();
  if (!check_mix(s.topology.round(0), x, y)) {
    state.SkipWithError("mixing result differs from WeightMatrix::apply");
    return;
  }
  std::vector<double> tc, td, tm, ratio, dratio;
  std::int64_t k = 0;
  for (auto _ : state) {
    double c = 0, dc = 0, m = 0;
    auto run_copy = [&] { c = timed(exec, [&] { copy_kernel(exec, x, y); }); };
    auto run_deep = [&] { dc = timed(exec, [&] { Kokkos::deep_copy(exec, y, x); }); };
    auto run_mix = [&] { m = timed(exec, [&] { s.mixer.apply(exec, k, x, y); }); };
    if (k % 2 == 0) {
      run_copy(); run_deep(); run_mix();
    } else {
      run_mix(); run_deep(); run_copy();
    }
    ++k;
    state.SetIterationTime(m);
    tc.push_back(c), td.push_back(dc), tm.push_back(m);
    ratio.push_back(c / m), dratio.push_back(dc / m);
  }
  set_bytes(state, d);
  add_context_counters(state, d);
  state.counters["t_copy_ms"] = median(tc) * 1e3;
  state.counters["t_deep_copy_ms"] = median(td) * 1e3;
  state.counters["t_mix_ms"] = median(tm) * 1e3;
  state.counters["copy_over_mix"] = median(ratio);
  state.counters["deep_over_mix"] = median(dratio);
  state.counters["degree"] = s.topology.round(0).max_degree();
}

/// ring, exponential and the copy in one loop (rotating order); manual time = exponential.
void exp_vs_ring(benchmark::State& state) {
  const std::int64_t d = state.range(0);
  ExecutionSpace exec;
  Setup ring("ring", d), expo("exponential", d);
  AgentMatrix x = matrix("bench::x", d), y = matrix("bench::y", d);
  fill(x);
  std::vector<double> tr, te, tc, ratio;
  std::int64_t k = 0;
  for (auto _ : state) {
    double r = 0, e = 0, c = 0;
    auto run_ring = [&] { r = timed(exec, [&] { ring.mixer.apply(exec, k, x, y); }); };
    auto run_exp = [&] { e = timed(exec, [&] { expo.mixer.apply(exec, k, x, y); }); };
    auto run_copy = [&] { c = timed(exec, [&] { copy_kernel(exec, x, y); }); };
    switch (k % 3) {
      case 0: run_ring(); run_exp(); run_copy(); break;
      case 1: run_exp(); run_copy(); run_ring(); break;
      default: run_copy(); run_ring(); run_exp(); break;
    }
    ++k;
    state.SetIterationTime(e);
    tr.push_back(r), te.push_back(e), tc.push_back(c), ratio.push_back(e / r);
  }
  set_bytes(state, d);
  add_context_counters(state, d);
  state.counters["t_ring_ms"] = median(tr) * 1e3;
  state.counters["t_exp_ms"] = median(te) * 1e3;
  state.counters["t_copy_ms"] = median(tc) * 1e3;
  state.counters["exp_over_ring"] = median(ratio);
}

/// Y = W X in agent-major order (LayoutRight: one agent's d coordinates contiguous), the
/// straightforward way: work item (tile, row i) computes y(i, tile) from the rows its entries
/// name, in ascending column order. Tile = d: one whole row per work item.
struct RowMajorMix {
  RowMajor::const_type x;
  RowMajor y;
  Kokkos::View<const std::int64_t*, concord::MemorySpace> offsets;
  Kokkos::View<const int*, concord::MemorySpace> cols;
  Kokkos::View<const double*, concord::MemorySpace> weights;
  std::int64_t tile, d;
  int n;
  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t item) const {
    const int i = static_cast<int>(item % n);
    const std::int64_t c0 = (item / n) * tile, c1 = c0 + tile < d ? c0 + tile : d;
    double* out = &y(i, 0);
    for (std::int64_t e = offsets(i); e < offsets(i + 1); ++e) {
      const double w = weights(e);
      const double* in = &x(cols(e), 0);
      if (e == offsets(i)) {
        for (std::int64_t c = c0; c < c1; ++c) out[c] = w * in[c];
      } else {
        for (std::int64_t c = c0; c < c1; ++c) out[c] += w * in[c];
      }
    }
  }
};

template <class T>
Kokkos::View<T*, concord::MemorySpace> to_device(const std::vector<T>& v) {
  Kokkos::View<T*, concord::MemorySpace> out("bench::csr", v.size());
  auto h = Kokkos::create_mirror_view(out);
  std::copy(v.begin(), v.end(), h.data());
  Kokkos::deep_copy(out, h);
  return out;
}

/// LayoutLeft (library) vs LayoutRight tiled, plus a LayoutRight copy; manual time = LayoutRight.
void memory_order(benchmark::State& state, const std::string& name) {
  const std::int64_t d = state.range(0);
  const std::int64_t tile = state.range(1) == 0 ? d : state.range(1);
  ExecutionSpace exec;
  Setup s(name, d);
  AgentMatrix x = matrix("bench::x", d), y = matrix("bench::y", d);
  RowMajor xr(Kokkos::view_alloc(std::string("bench::xr")), kAgents, d);
  RowMajor yr(Kokkos::view_alloc(std::string("bench::yr")), kAgents, d);
  fill(x);
  fill(xr);
  const auto& w0 = s.topology.round(0);
  std::vector<RowMajorMix> kernels;
  for (const auto& w : s.topology.rounds())
    kernels.push_back({xr, yr, to_device(w.row_offsets()), to_device(w.columns()), to_device(w.weights()), tile, d,
                       kAgents});
  const std::int64_t items = ((d + tile - 1) / tile) * kAgents;
  auto run_right = [&](std::int64_t k) {
    Kokkos::parallel_for("bench::row_major_mix", Kokkos::RangePolicy<ExecutionSpace>(exec, 0, items),
                         kernels[static_cast<std::size_t>(k % s.topology.period())]);
  };
  run_right(0);
  exec.fence();
  if (!check_mix(w0, xr, yr)) {
    state.SkipWithError("row-major mixing result differs from WeightMatrix::apply");
    return;
  }
  std::vector<double> tl, tr, tcr, ratio, cratio;
  std::int64_t k = 0;
  for (auto _ : state) {
    double l = 0, r = 0, cr = 0;
    auto run_left = [&] { l = timed(exec, [&] { s.mixer.apply(exec, k, x, y); }); };
    auto run_row = [&] { r = timed(exec, [&] { run_right(k); }); };
    auto run_copy = [&] { cr = timed(exec, [&] { Kokkos::deep_copy(exec, yr, xr); }); };
    if (k % 2 == 0) {
      run_left(); run_row(); run_copy();
    } else {
      run_copy(); run_row(); run_left();
    }
    ++k;
    state.SetIterationTime(r);
    tl.push_back(l), tr.push_back(r), tcr.push_back(cr), ratio.push_back(r / l), cratio.push_back(cr / r);
  }
  set_bytes(state, d);
  add_context_counters(state, d);
  state.counters["tile"] = static_cast<double>(tile);
  state.counters["t_left_ms"] = median(tl) * 1e3;
  state.counters["t_right_ms"] = median(tr) * 1e3;
  state.counters["right_over_left"] = median(ratio);
  state.counters["copy_over_right"] = median(cratio);
}

/// The fixed cost of one step: Mixer::apply at a dimension where it runs from cache.
void overhead(benchmark::State& state, const std::string& name) {
  const std::int64_t d = state.range(0);
  ExecutionSpace exec;
  Setup s(name, d);
  AgentMatrix x = matrix("bench::x", d), y = matrix("bench::y", d);
  fill(x);
  std::vector<double> t;
  std::int64_t k = 0;
  for (auto _ : state) {
    const double m = timed(exec, [&] { s.mixer.apply(exec, k, x, y); });
    ++k;
    state.SetIterationTime(m);
    t.push_back(m);
  }
  set_bytes(state, d);
  add_context_counters(state, d);
  state.counters["median_us"] = median(t) * 1e6;
}

std::vector<std::int64_t> parse_dims(int& argc, char** argv) {
  std::vector<std::int64_t> dims;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--dims=", 7) == 0) {
      std::string list = argv[i] + 7;
      std::size_t pos = 0;
      while (pos <= list.size()) {
        const std::size_t comma = std::min(list.find(',', pos), list.size());
        dims.push_back(std::stoll(list.substr(pos, comma - pos)));
        pos = comma + 1;
      }
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  if (dims.empty()) dims.push_back(1000000);
  return dims;
}

void register_all(const std::vector<std::int64_t>& dims) {
  const std::vector<std::string> topologies = {"ring", "one_peer_exponential", "exponential"};
  for (const auto& t : topologies) {
    auto* b = benchmark::RegisterBenchmark(("mix_vs_copy/" + t).c_str(), mix_vs_copy, t);
    for (auto d : dims) b->Arg(d);
    b->UseManualTime()->Unit(benchmark::kMillisecond);
  }
  {
    auto* b = benchmark::RegisterBenchmark("exp_vs_ring", exp_vs_ring);
    for (auto d : dims) b->Arg(d);
    b->UseManualTime()->Unit(benchmark::kMillisecond);
  }
  for (const auto& t : {std::string("ring"), std::string("exponential")}) {
    auto* b = benchmark::RegisterBenchmark(("memory_order/" + t).c_str(), memory_order, t);
    for (auto d : dims)
      for (std::int64_t tile : {std::int64_t{512}, std::int64_t{4096}, std::int64_t{0}}) b->Args({d, tile});
    b->UseManualTime()->Unit(benchmark::kMillisecond);
  }
  for (const auto& t : topologies)
    benchmark::RegisterBenchmark(("overhead/" + t).c_str(), overhead, t)
        ->Arg(1000)
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rc = 0;
  {
    Kokkos::ScopeGuard kokkos(argc, argv);
    const auto dims = parse_dims(argc, argv);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
      rc = 1;
    } else {
      register_all(dims);
      benchmark::AddCustomContext("kokkos", std::to_string(KOKKOS_VERSION));
      benchmark::AddCustomContext("kokkos_execution_space", ExecutionSpace::name());
      benchmark::AddCustomContext("kokkos_concurrency", std::to_string(ExecutionSpace().concurrency()));
      benchmark::RunSpecifiedBenchmarks();
    }
    benchmark::Shutdown();
  }
  MPI_Finalize();
  return rc;
}
