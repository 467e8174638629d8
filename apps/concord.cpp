// The `concord` executable: run a deck, inspect a topology, print build information.
#include <mpi.h>

#include <CLI/CLI.hpp>
#include <Kokkos_Core.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <new>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "concord/config.hpp"
#include "concord/core/detail/host_isa.hpp"
#include "concord/core/error.hpp"
#include "concord/driver/build_info.hpp"
#include "concord/io/trajectory.hpp"

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

/// argv split in two null-terminated lists, both starting with the program name: the
/// --kokkos-* arguments for Kokkos, every other one for Concord's parser.
std::pair<std::vector<char*>, std::vector<char*>> split_kokkos_arguments(int argc, char** argv) {
  std::vector<char*> kokkos{argv[0]}, concord{argv[0]};
  for (int i = 1; i < argc; ++i) (std::string_view(argv[i]).rfind("--kokkos-", 0) == 0 ? kokkos : concord).push_back(argv[i]);
  kokkos.push_back(nullptr);
  concord.push_back(nullptr);
  return {kokkos, concord};
}

}  // namespace

int main(int argc, char** argv) {
  Runtime runtime(argc, argv);
  int rc = 0;
  {
    // Unpinned OpenMP threads unless the user pins them (several ranks per node would otherwise
    // bind their threads to the same cores); Kokkos warns when the variable is unset.
    setenv("OMP_PROC_BIND", "false", /*overwrite=*/0);
    // Kokkos sees only its own --kokkos-* arguments (it would print its whole help for --help);
    // Concord's parser sees the rest. `--kokkos-help` prints Kokkos' options and exits.
    auto [kokkos_args, concord_args] = split_kokkos_arguments(argc, argv);
    int kokkos_argc = static_cast<int>(kokkos_args.size()) - 1;
    Kokkos::ScopeGuard kokkos(kokkos_argc, kokkos_args.data());
    CLI::App app{"Concord: decentralized optimization (DSGD, gradient tracking) on Kokkos and MPI", "concord"};
    app.set_version_flag("--version", CONCORD_VERSION);
    app.require_subcommand(1);
    app.footer("Kokkos options (threads, devices, tools) go before or after the subcommand as --kokkos-NAME=VALUE, "
               "e.g. --kokkos-num-threads=2, or in KOKKOS_* environment variables; --kokkos-help lists them.");

    auto* info = app.add_subcommand("info", "Print versions of Concord and its dependencies, enabled backends");
    auto info_json = std::make_shared<bool>(false);
    info->add_flag("--json", *info_json, "print a JSON object (label: value)");
    concord::app::Command info_cmd = [info_json] {
      if (*info_json) {
        nlohmann::ordered_json j = nlohmann::ordered_json::object();
        for (const auto& [label, value] : concord::driver::build_info()) j[label] = value;
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
      }
      for (const auto& [label, value] : concord::driver::build_info())
        std::printf("%-18s %s\n", (label + ":").c_str(), value.c_str());
      return 0;
    };
    auto topology_cmd = concord::app::add_topology_command(app);
    auto compare_cmd = concord::app::add_compare_command(app);
    auto run_cmd = concord::app::add_run_command(app);
    auto deck_cmd = concord::app::add_deck_command(app);
    auto summary_cmd = concord::app::add_summary_command(app);
    auto plot_cmd = concord::app::add_python_command(
        app, "plot",
        "Plot trajectories (metric against iteration, time or bytes) and studies (scaling curves) as PNG/PDF/SVG "
        "(matplotlib; concord plot --help for the options)");
    auto study_cmd = concord::app::add_python_command(
        app, "study",
        "Run a deck at several rank counts and deck values (strong / weak scaling, grids) and tabulate time per "
        "iteration, speed-up, efficiency and time to a target (concord study --help; docs/studies.md)");

    try {
      concord::detail::host_isa();  // a bad CONCORD_HOST_ISA is refused before any work
      app.parse(static_cast<int>(concord_args.size()) - 1, concord_args.data());
      if (app.got_subcommand("run")) {
        rc = run_cmd();  // collective: every rank runs
      } else {
        concord::app::Command command;
        if (info->parsed()) command = info_cmd;
        else if (app.got_subcommand("topology")) command = topology_cmd;
        else if (app.got_subcommand("deck")) command = deck_cmd;
        else if (app.got_subcommand("summary")) command = summary_cmd;
        else if (app.got_subcommand("plot")) command = plot_cmd;
        else if (app.got_subcommand("study")) command = study_cmd;
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
    } catch (const std::bad_alloc&) {
      std::cerr << "concord: error on rank " << runtime.rank
                << ": out of memory; use more ranks or nodes, fewer agents or a smaller problem\n";
      runtime.abort_others(1);
      rc = 1;
    } catch (const std::exception& e) {
      std::cerr << "concord: internal error on rank " << runtime.rank << ": " << e.what() << "\n";
      runtime.abort_others(1);
      rc = 1;
    }
  }
  // HDF5 failed to close a file (disk full, I/O error: the message is printed): its shutdown in
  // MPI_Finalize would crash on that file, so this process ends without it.
  if (concord::io::hdf5_shutdown_unsafe()) {
    std::fflush(nullptr);
    std::_Exit(rc);
  }
  MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return rc;
}
