// The `concord` executable: run a deck, inspect a topology, print build information.
#include <mpi.h>

#include <CLI/CLI.hpp>
#include <Kokkos_Core.hpp>
#include <cstdio>
#include <cstdlib>
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
    MPI_Comm_size(MPI_COMM_WORLD, &size);
  }
  /// With several ranks an error on one rank ends them all (exit status `code`).
  void abort_others(int code) const {
    if (size > 1) MPI_Abort(MPI_COMM_WORLD, code);
  }
  ~Runtime() { MPI_Finalize(); }
  int rank = 0;
  int size = 1;
};

}  // namespace

int main(int argc, char** argv) {
  Runtime runtime(argc, argv);
  int rc = 0;
  {
    // Unpinned OpenMP threads unless the user pins them (several ranks per node would otherwise
    // bind their threads to the same cores); Kokkos warns when the variable is unset.
    setenv("OMP_PROC_BIND", "false", /*overwrite=*/0);
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
    auto run_cmd = concord::app::add_run_command(app);
    auto deck_cmd = concord::app::add_deck_command(app);
    auto summary_cmd = concord::app::add_summary_command(app);

    try {
      app.parse(argc, argv);
      if (app.got_subcommand("run")) {
        rc = run_cmd();  // collective: every rank runs
      } else {
        concord::app::Command command;
        if (info->parsed()) command = info_cmd;
        else if (app.got_subcommand("topology")) command = topology_cmd;
        else if (app.got_subcommand("deck")) command = deck_cmd;
        else if (app.got_subcommand("summary")) command = summary_cmd;
        else command = compare_cmd;
        rc = runtime.rank == 0 ? command() : 0;
      }
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
    } catch (const concord::RuntimeError& e) {
      // I/O or MPI failures may hit one rank only: the others could be waiting in a collective.
      std::cerr << "concord: error on rank " << runtime.rank << ": " << e.what() << "\n";
      runtime.abort_others(1);
      rc = 1;
    } catch (const std::exception& e) {
      std::cerr << "concord: internal error on rank " << runtime.rank << ": " << e.what() << "\n";
      runtime.abort_others(1);
      rc = 1;
    }
  }
  MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return rc;
}
