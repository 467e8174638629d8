// Helper of the atomic-replacement test (kill_checkpoint.py), one process:
//   checkpoint_writer PATH [AGENTS DIMENSION]   writes checkpoints to PATH in an endless loop,
//                                               iteration 1, 2, ... (continuing after the
//                                               iteration of a checkpoint already at PATH);
//                                               prints "wrote N" after each.
//   checkpoint_writer --verify PATH             reads PATH and checks every value equals the fill
//                                               of the iteration it records; exit 0 when so.
#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>

#include "concord/core/agent_layout.hpp"
#include "concord/core/spaces.hpp"
#include "concord/io/checkpoint.hpp"

namespace {

/// The fill: exact integers (< 2^53), unique per (iteration, agent, coordinate).
double fill(std::int64_t iteration, int agent, int c) {
  return static_cast<double>(iteration) * 1.0e9 + static_cast<double>(agent) * 1.0e6 + static_cast<double>(c);
}

int write_forever(const std::string& path, int agents, int dimension) {
  const auto layout = concord::AgentLayout::over(agents, MPI_COMM_WORLD);
  std::int64_t iteration = 0;
  if (std::filesystem::exists(path)) iteration = concord::io::read_checkpoint_header(path).iteration;
  concord::AgentMatrix x(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("concord::io::checkpoint_writer::x")),
      layout.local_count(), dimension);
  auto h = Kokkos::create_mirror_view(Kokkos::WithoutInitializing, x);
  for (;;) {
    ++iteration;
    for (int c = 0; c < dimension; ++c)
      for (int a = 0; a < layout.local_count(); ++a) h(a, c) = fill(iteration, layout.local_first() + a, c);
    Kokkos::deep_copy(x, h);
    concord::io::CheckpointHeader header;
    header.iteration = iteration;
    header.attributes.text["writer"] = "checkpoint_writer";
    concord::io::write_checkpoint(path, MPI_COMM_WORLD, layout, header, {{"x", x}});
    if (layout.rank() == 0) {
      std::printf("wrote %lld\n", static_cast<long long>(iteration));
      std::fflush(stdout);
    }
  }
}

int verify(const std::string& path) {
  const auto header = concord::io::read_checkpoint_header(path);
  const concord::AgentLayout layout(header.agents, 1, 0);
  concord::AgentMatrix x(Kokkos::view_alloc(std::string("concord::io::checkpoint_writer::verify")), header.agents,
                         header.dimension);
  concord::io::read_checkpoint_state(path, MPI_COMM_SELF, layout, {{"x", x}});
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
  long long bad = 0;
  for (int c = 0; c < header.dimension; ++c)
    for (int a = 0; a < header.agents; ++a)
      if (h(a, c) != fill(header.iteration, a, c)) {
        if (bad == 0)
          std::fprintf(stderr, "agent %d coordinate %d: %.17g, expected %.17g for iteration %lld\n", a, c, h(a, c),
                       fill(header.iteration, a, c), static_cast<long long>(header.iteration));
        ++bad;
      }
  if (bad) {
    std::fprintf(stderr, "%lld wrong values in '%s'\n", bad, path.c_str());
    return 1;
  }
  std::printf("verified iteration %lld (%d agents x %d)\n", static_cast<long long>(header.iteration), header.agents,
              header.dimension);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int status = 0;
  {
    Kokkos::ScopeGuard kokkos(argc, argv);
    try {
      const std::string first = argc > 1 ? argv[1] : "";
      if (first == "--verify" && argc == 3)
        status = verify(argv[2]);
      else if (argc == 2 || argc == 4)
        status = write_forever(first, argc == 4 ? std::atoi(argv[2]) : 64, argc == 4 ? std::atoi(argv[3]) : 200000);
      else {
        std::fprintf(stderr, "usage: checkpoint_writer PATH [AGENTS DIMENSION] | --verify PATH\n");
        status = 2;
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "checkpoint_writer: %s\n", e.what());
      status = 1;
    }
  }
  MPI_Finalize();
  return status;
}
