// The `concord` executable: run a deck, inspect a topology, print build information.
#include <mpi.h>

#include <CLI/CLI.hpp>
#include <Kokkos_Core.hpp>
#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "concord/config.hpp"
#include "concord/core/error.hpp"
#include "concord/driver/build_info.hpp"

namespace {

/// MPI and Kokkos live for the whole program; both are torn down in reverse order.
struct Runtime {
  Runtime(int& argc, char**& argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  }
  ~Runtime() { MPI_Finalize(); }
  int rank = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Runtime runtime(argc, argv);
  int rc = 0;
  {
    // Kokkos reads and removes its own --kokkos-* arguments first.
    Kokkos::ScopeGuard kokkos(argc, argv);
    CLI::App app{"Concord: decentralized optimization (DSGD, gradient tracking) on Kokkos and MPI", "concord"};
    app.set_version_flag("--version", CONCORD_VERSION);
    app.require_subcommand(1);

    auto* info = app.add_subcommand("info", "Print versions of Concord and its dependencies, enabled backends");
    concord::app::Command info_cmd = [] {
      for (const auto& [label, value] : concord::driver::build_info())
        std::printf("%-18s %s\n", (label + ":").c_str(), value.c_str());
      return 0;
    };
    auto topology_cmd = concord::app::add_topology_command(app);
    auto compare_cmd = concord::app::add_compare_command(app);

    try {
      app.parse(argc, argv);
      concord::app::Command run;
      if (info->parsed()) run = info_cmd;
      else if (app.got_subcommand("topology")) run = topology_cmd;
      else run = compare_cmd;
      rc = runtime.rank == 0 ? run() : 0;
    } catch (const CLI::CallForHelp& e) {
      rc = runtime.rank == 0 ? app.exit(e) : 0;
    } catch (const CLI::CallForAllHelp& e) {
      rc = runtime.rank == 0 ? app.exit(e) : 0;
    } catch (const CLI::CallForVersion& e) {
      rc = runtime.rank == 0 ? app.exit(e) : 0;
    } catch (const CLI::ParseError& e) {
      if (runtime.rank == 0) std::cerr << "concord: error: " << e.what() << " (see concord --help)\n";
      rc = 2;
    } catch (const concord::InputError& e) {
      if (runtime.rank == 0) std::cerr << "concord: error: " << e.what() << "\n";
      rc = 2;
    } catch (const std::exception& e) {
      std::cerr << "concord: internal error on rank " << runtime.rank << ": " << e.what() << "\n";
      rc = 1;
    }
  }
  MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return rc;
}
