// The library's halo exchange + mixing step (Mixer::apply, MPI transport) against what a user
// would write by hand, and against MPI_Allreduce. Run with exactly 2 MPI ranks, a ring topology
// (each rank has one neighbour rank):
//
//   ring_n2/<bytes>    n = 2 agents, one per rank: each rank sends its whole state (d = bytes / 8
//                      doubles) to the other. Per iteration, in rotating order:
//                        library   Mixer::apply (post receive, send, wait, mix)
//                        hand      MPI_Irecv + MPI_Isend + MPI_Waitall, then the same average
//                                  y = w_a x_a + w_b x_b in ascending global agent order
//                        allreduce MPI_Allreduce(x -> z, d doubles, MPI_SUM)
//   ring_n64/<bytes>   n = 64 agents, 32 per rank: the 2 boundary rows go to the other rank
//                      (one message of 2 d doubles = <bytes>, d = bytes / 16), library vs a
//                      hand-written pack / Irecv / Isend / interior stencil / Waitall / boundary.
//   pingpong/<bytes>   calibration of the alpha-beta model t(S) = alpha + S beta: rank 0 sends
//                      <bytes> (d = bytes / 8 doubles, MPI_Send), rank 1 receives them and sends
//                      them back (MPI_Recv + MPI_Send). Per iteration: barrier, one untimed
//                      round trip (it lines the two ranks up), then one round trip timed on
//                      rank 0; one-way time = half of it (sent to rank 1 with MPI_Bcast, outside
//                      the timed region, so both ranks agree on the manual time). Counters:
//                      oneway_us, rtt_us (medians over the iterations), oneway_GBps = bytes /
//                      median one-way time.
//
// Each operation is timed on every rank between a barrier and a fence; the figure of one
// iteration is the maximum over ranks (MPI_Allreduce MAX, outside the timed regions). Counters
// are medians over the iterations: *_us, lib_over_hand, lib_minus_hand_us, lib_over_allreduce.
// The manual time (and bytes_per_second, per message) is the library's (pingpong: the one-way
// time).
// Results and command lines: perf/RESULTS.md.
//
// Extra option (before the Google Benchmark ones): --sizes=B1,B2,... message sizes in bytes
// (default 8,65536,1048576,16777216,104857600; ring_n64 stops at 16 MiB, whose local state is
// already 256 MiB per matrix and rank).
#include <benchmark/benchmark.h>
#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
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

using concord::AgentMatrix;
using concord::ExecutionSpace;
using Clock = std::chrono::steady_clock;
using Policy = Kokkos::RangePolicy<ExecutionSpace>;
using Vector = Kokkos::View<double*, concord::MemorySpace>;

MPI_Comm g_comm = MPI_COMM_NULL;  // the baselines' own communicator
int g_rank = 0, g_size = 1;

/// Seconds this rank spends in f(), from a common start (barrier) to a fence.
template <class F>
double timed(const ExecutionSpace& exec, F&& f) {
  exec.fence("bench::before");
  MPI_Barrier(g_comm);
  const auto t0 = Clock::now();
  f();
  exec.fence("bench::after");
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// The maximum over ranks of each entry.
template <std::size_t N>
std::array<double, N> max_over_ranks(std::array<double, N> t) {
  MPI_Allreduce(MPI_IN_PLACE, t.data(), static_cast<int>(N), MPI_DOUBLE, MPI_MAX, g_comm);
  return t;
}

bool all_ranks(bool ok) {
  int mine = ok ? 1 : 0, all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, g_comm);
  return all == 1;
}

/// x(a, c) = a deterministic function of the global agent id and the coordinate.
void fill(const AgentMatrix& x, int first_agent) {
  const int rows = static_cast<int>(x.extent(0));
  Kokkos::parallel_for(
      "bench::fill", Policy(0, static_cast<std::int64_t>(x.extent(1))), KOKKOS_LAMBDA(std::int64_t c) {
        for (int a = 0; a < rows; ++a) {
          std::uint64_t z = static_cast<std::uint64_t>(c) * 0x9E3779B97F4A7C15ULL +
                            static_cast<std::uint64_t>(first_agent + a) * 0xBF58476D1CE4E5B9ULL;
          z ^= z >> 31;
          z *= 0x94D049BB133111EBULL;
          z ^= z >> 29;
          x(a, c) = static_cast<double>(z >> 11) * 0x1.0p-53;
        }
      });
  Kokkos::fence();
}

bool same_bits(const AgentMatrix& a, const AgentMatrix& b) {
  auto ha = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a);
  auto hb = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), b);
  return std::memcmp(ha.data(), hb.data(), ha.span() * sizeof(double)) == 0;
}

struct Library {
  concord::topology::Topology topology;
  concord::AgentLayout layout;
  concord::mixing::Mixer mixer;
  Library(int agents, std::int64_t d)
      : topology(concord::topology::make_topology("ring", agents, {}, 0)),
        layout(concord::AgentLayout::over(agents, MPI_COMM_WORLD)),
        mixer(topology, layout,
              concord::comm::make_transport(MPI_COMM_WORLD, {concord::comm::TransportKind::mpi, false}),
              static_cast<int>(d), 1) {}
};

std::int64_t g_iteration_order = 0;

/// Counters from the per-iteration figures (each already the max over ranks).
void report(benchmark::State& state, const std::vector<double>& lib, const std::vector<double>& hand,
            const std::vector<double>* allreduce, std::int64_t message_bytes, std::int64_t d) {
  std::vector<double> ratio, diff, aratio;
  for (std::size_t i = 0; i < lib.size(); ++i) {
    ratio.push_back(lib[i] / hand[i]);
    diff.push_back(lib[i] - hand[i]);
    if (allreduce) aratio.push_back(lib[i] / (*allreduce)[i]);
  }
  state.SetBytesProcessed(state.iterations() * message_bytes);
  state.counters["d"] = static_cast<double>(d);
  state.counters["msg_bytes"] = static_cast<double>(message_bytes);
  state.counters["lib_us"] = median(lib) * 1e6;
  state.counters["hand_us"] = median(hand) * 1e6;
  state.counters["lib_over_hand"] = median(ratio);
  state.counters["lib_minus_hand_us"] = median(diff) * 1e6;
  if (allreduce) {
    state.counters["allreduce_us"] = median(*allreduce) * 1e6;
    state.counters["lib_over_allreduce"] = median(aratio);
  }
}

/// n = 2, one agent per rank: the pure exchange of a rank's whole state.
void ring_n2(benchmark::State& state) {
  const std::int64_t bytes = state.range(0);
  const std::int64_t d = std::max<std::int64_t>(1, bytes / 8);
  ExecutionSpace exec;
  Library lib(2, d);
  const int peer = 1 - g_rank;
  AgentMatrix x(Kokkos::view_alloc(std::string("bench::x")), 1, d), y("bench::y", 1, d), yh("bench::y_hand", 1, d);
  Vector halo("bench::halo", d), z("bench::allreduce", d);
  fill(x, g_rank);
  // The hand-written average: ascending global agent order, W's own weights.
  const auto& w = lib.topology.round(0);
  const auto cols = w.row_cols(g_rank);
  const auto ws = w.row_weights(g_rank);
  const bool self_first = cols[0] == g_rank;
  const double w_first = ws[0], w_second = ws[1];
  const double* first = self_first ? x.data() : halo.data();
  const double* second = self_first ? halo.data() : x.data();
  double* out = yh.data();
  auto hand = [&] {
    MPI_Request req[2];
    MPI_Irecv(halo.data(), static_cast<int>(d), MPI_DOUBLE, peer, 11, g_comm, &req[0]);
    MPI_Isend(x.data(), static_cast<int>(d), MPI_DOUBLE, peer, 11, g_comm, &req[1]);
    MPI_Waitall(2, req, MPI_STATUSES_IGNORE);
    Kokkos::parallel_for(
        "bench::hand_average", Policy(exec, 0, d),
        KOKKOS_LAMBDA(std::int64_t c) { out[c] = w_first * first[c] + w_second * second[c]; });
  };
  auto library = [&](std::int64_t k) { lib.mixer.apply(exec, k, x, y); };
  auto allreduce = [&] { MPI_Allreduce(x.data(), z.data(), static_cast<int>(d), MPI_DOUBLE, MPI_SUM, g_comm); };
  library(0);
  hand();
  exec.fence();
  if (!all_ranks(same_bits(y, yh))) {
    state.SkipWithError("library and hand-written results differ");
    return;
  }
  std::vector<double> tl, th, ta;
  std::int64_t k = 0;
  for (auto _ : state) {
    std::array<double, 3> t{};
    auto run_lib = [&] { t[0] = timed(exec, [&] { library(k); }); };
    auto run_hand = [&] { t[1] = timed(exec, hand); };
    auto run_all = [&] { t[2] = timed(exec, allreduce); };
    switch (g_iteration_order++ % 3) {
      case 0: run_lib(); run_hand(); run_all(); break;
      case 1: run_hand(); run_all(); run_lib(); break;
      default: run_all(); run_lib(); run_hand(); break;
    }
    ++k;
    t = max_over_ranks(t);
    state.SetIterationTime(t[0]);
    tl.push_back(t[0]), th.push_back(t[1]), ta.push_back(t[2]);
  }
  report(state, tl, th, &ta, 8 * d, d);
}

/// n = 64, 32 agents per rank: boundary rows 0 and 31 are exchanged, interior rows mixed locally.
void ring_n64(benchmark::State& state) {
  const std::int64_t bytes = state.range(0);
  const std::int64_t d = std::max<std::int64_t>(1, bytes / 16);
  constexpr int n = 64;
  ExecutionSpace exec;
  Library lib(n, d);
  const int rows = lib.layout.local_count(), first = lib.layout.local_first();
  const int peer = 1 - g_rank;
  AgentMatrix x(Kokkos::view_alloc(std::string("bench::x")), rows, d), y("bench::y", rows, d),
      yh("bench::y_hand", rows, d);
  Vector send("bench::send", 2 * d), recv("bench::recv", 2 * d);
  fill(x, first);
  const double third = 1.0 / 3.0;  // ring weights
  // Boundary rows: local row 0 (agent first) and rows - 1 (agent first + rows - 1). The peer sends
  // its rows 0 and rows - 1 as recv(2 c + 0), recv(2 c + 1). Global order of each boundary row:
  //   rank 0: row 0 = {x0, x1, peer's last (63)}, last row = {x30, x31, peer's first (32)}
  //   rank 1: row 0 = {peer's last (31), x0, x1}, last row = {peer's first (0), x30, x31}
  const bool low = g_rank == 0;
  auto hand = [&] {
    MPI_Request req[2];
    MPI_Irecv(recv.data(), static_cast<int>(2 * d), MPI_DOUBLE, peer, 12, g_comm, &req[0]);
    Kokkos::parallel_for(
        "bench::hand_pack", Policy(exec, 0, d), KOKKOS_LAMBDA(std::int64_t c) {
          send(2 * c) = x(0, c);
          send(2 * c + 1) = x(rows - 1, c);
        });
    exec.fence();
    MPI_Isend(send.data(), static_cast<int>(2 * d), MPI_DOUBLE, peer, 12, g_comm, &req[1]);
    Kokkos::parallel_for(
        "bench::hand_interior", Policy(exec, 0, d), KOKKOS_LAMBDA(std::int64_t c) {
          for (int i = 1; i < rows - 1; ++i) yh(i, c) = third * x(i - 1, c) + third * x(i, c) + third * x(i + 1, c);
        });
    MPI_Waitall(2, req, MPI_STATUSES_IGNORE);
    Kokkos::parallel_for(
        "bench::hand_boundary", Policy(exec, 0, d), KOKKOS_LAMBDA(std::int64_t c) {
          const double peer_first = recv(2 * c), peer_last = recv(2 * c + 1);
          if (low) {
            yh(0, c) = third * x(0, c) + third * x(1, c) + third * peer_last;
            yh(rows - 1, c) = third * x(rows - 2, c) + third * x(rows - 1, c) + third * peer_first;
          } else {
            yh(0, c) = third * peer_last + third * x(0, c) + third * x(1, c);
            yh(rows - 1, c) = third * peer_first + third * x(rows - 2, c) + third * x(rows - 1, c);
          }
        });
  };
  auto library = [&](std::int64_t k) { lib.mixer.apply(exec, k, x, y); };
  library(0);
  hand();
  exec.fence();
  if (!all_ranks(same_bits(y, yh))) {
    state.SkipWithError("library and hand-written results differ");
    return;
  }
  std::vector<double> tl, th;
  std::int64_t k = 0;
  for (auto _ : state) {
    std::array<double, 2> t{};
    auto run_lib = [&] { t[0] = timed(exec, [&] { library(k); }); };
    auto run_hand = [&] { t[1] = timed(exec, hand); };
    if (g_iteration_order++ % 2 == 0) {
      run_lib(); run_hand();
    } else {
      run_hand(); run_lib();
    }
    ++k;
    t = max_over_ranks(t);
    state.SetIterationTime(t[0]);
    tl.push_back(t[0]), th.push_back(t[1]);
  }
  report(state, tl, th, nullptr, 16 * d, d);
}

/// Ping-pong between the two ranks: one-way time of a <bytes> message, half the round trip.
void pingpong(benchmark::State& state) {
  const std::int64_t bytes = state.range(0);
  const std::int64_t d = std::max<std::int64_t>(1, bytes / 8);
  const int count = static_cast<int>(d);
  const int peer = 1 - g_rank;
  AgentMatrix buffer("bench::pingpong", 1, d);
  fill(buffer, g_rank);
  double* data = buffer.data();
  auto round_trip = [&] {
    if (g_rank == 0) {
      MPI_Send(data, count, MPI_DOUBLE, peer, 13, g_comm);
      MPI_Recv(data, count, MPI_DOUBLE, peer, 13, g_comm, MPI_STATUS_IGNORE);
    } else {
      MPI_Recv(data, count, MPI_DOUBLE, peer, 13, g_comm, MPI_STATUS_IGNORE);
      MPI_Send(data, count, MPI_DOUBLE, peer, 13, g_comm);
    }
  };
  std::vector<double> rtt;
  for (auto _ : state) {
    MPI_Barrier(g_comm);
    round_trip();  // untimed: both ranks leave it within one message of each other
    const auto t0 = Clock::now();
    round_trip();
    double t = std::chrono::duration<double>(Clock::now() - t0).count();
    MPI_Bcast(&t, 1, MPI_DOUBLE, 0, g_comm);  // rank 0's round trip is the figure
    state.SetIterationTime(0.5 * t);
    rtt.push_back(t);
  }
  state.SetBytesProcessed(state.iterations() * 8 * d);
  const double m = median(rtt);
  state.counters["d"] = static_cast<double>(d);
  state.counters["msg_bytes"] = static_cast<double>(8 * d);
  state.counters["rtt_us"] = m * 1e6;
  state.counters["oneway_us"] = 0.5 * m * 1e6;
  state.counters["oneway_GBps"] = m > 0 ? 8.0 * static_cast<double>(d) / (0.5 * m) * 1e-9 : 0.0;
}

std::vector<std::int64_t> parse_sizes(int& argc, char** argv) {
  std::vector<std::int64_t> sizes;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--sizes=", 8) == 0) {
      const std::string list = argv[i] + 8;
      std::size_t pos = 0;
      while (pos <= list.size()) {
        const std::size_t comma = std::min(list.find(',', pos), list.size());
        sizes.push_back(std::stoll(list.substr(pos, comma - pos)));
        pos = comma + 1;
      }
    } else if (g_rank != 0 && std::strncmp(argv[i], "--benchmark_out", 15) == 0) {
      // only rank 0 reports
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  if (sizes.empty()) sizes = {8, 64 << 10, 1 << 20, 16 << 20, 100 << 20};
  return sizes;
}

class NullReporter final : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
  void Finalize() override {}
};

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_dup(MPI_COMM_WORLD, &g_comm);
  MPI_Comm_rank(g_comm, &g_rank);
  MPI_Comm_size(g_comm, &g_size);
  int rc = 0;
  {
    Kokkos::ScopeGuard kokkos(argc, argv);
    const auto sizes = parse_sizes(argc, argv);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
      rc = 1;
    } else if (g_size != 2) {
      if (g_rank == 0) std::fprintf(stderr, "concord_bench_exchange: run with exactly 2 MPI ranks (got %d)\n", g_size);
      rc = 1;
    } else if (!concord::host_execution) {
      // The hand-written baselines hand View pointers to MPI: host memory only.
      if (g_rank == 0) std::fprintf(stderr, "concord_bench_exchange: host execution spaces only; nothing to run\n");
    } else {
      auto* n2 = benchmark::RegisterBenchmark("ring_n2", ring_n2);
      auto* n64 = benchmark::RegisterBenchmark("ring_n64", ring_n64);
      auto* pp = benchmark::RegisterBenchmark("pingpong", pingpong);
      for (auto b : sizes) {
        n2->Arg(b);
        if (b <= (16 << 20)) n64->Arg(b);
        pp->Arg(b);
      }
      for (auto* b : {n2, n64, pp}) b->UseManualTime()->Unit(benchmark::kMicrosecond);
      benchmark::AddCustomContext("kokkos", std::to_string(KOKKOS_VERSION));
      benchmark::AddCustomContext("kokkos_execution_space", ExecutionSpace::name());
      benchmark::AddCustomContext("kokkos_concurrency", std::to_string(ExecutionSpace().concurrency()));
      benchmark::AddCustomContext("mpi_ranks", std::to_string(g_size));
      char version[MPI_MAX_LIBRARY_VERSION_STRING];
      int length = 0;
      MPI_Get_library_version(version, &length);
      std::string v(version, static_cast<std::size_t>(length));
      benchmark::AddCustomContext("mpi_library", v.substr(0, v.find('\n')));
      if (g_rank == 0) {
        benchmark::RunSpecifiedBenchmarks();
      } else {
        NullReporter null;
        benchmark::RunSpecifiedBenchmarks(&null);
      }
    }
    benchmark::Shutdown();
  }
  MPI_Comm_free(&g_comm);
  MPI_Finalize();
  return rc;
}
