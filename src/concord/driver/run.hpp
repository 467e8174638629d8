#pragma once
/// \file run.hpp
/// `concord run`: a validated deck in, a run out — topology, problem, algorithm, the HDF5
/// trajectory, checkpoints, progress lines, and the handling of divergence and signals.
///
/// Collective over `comm`: every rank calls `run` with the same options. Rank 0 reads the deck
/// and broadcasts its text, so the deck needs to exist on rank 0 only.
#include <mpi.h>

#include <string>
#include <vector>

namespace concord::driver {

/// Exit statuses of `concord run` (also the process exit status).
enum ExitStatus : int {
  completed = 0,
  internal_error = 1,
  input_error = 2,    ///< bad deck, data or checkpoint: nothing was run
  diverged = 3,       ///< a model became NaN/Inf; the last good checkpoint is kept
  interrupted = 75,   ///< SIGTERM/SIGINT: a checkpoint of the current iteration was written
};

struct RunOptions {
  std::string deck;                    ///< deck file (YAML, or XML by its .xml extension)
  std::vector<std::string> overrides;  ///< PATH=VALUE, applied in order before validation
  std::string restart;                 ///< checkpoint to continue from ("" = a fresh run)
  bool check_only = false;             ///< validate (deck, topology, checkpoint match) and stop
  /// With `restart`: write a new trajectory file from the checkpoint's iteration on instead of
  /// continuing the run's (a restart whose trajectory is missing or does not reach the checkpoint
  /// is refused without it). The file must not exist unless concord/output/overwrite is true.
  bool new_trajectory = false;
};

/// The command that continues a run from `checkpoint`: `concord run DECK --set ... --restart
/// CHECKPOINT`, every override of `options` kept (they choose the output files), quoted for a shell.
std::string continue_command(const RunOptions& options, const std::string& checkpoint);

/// Runs the deck. Throws InputError (before any work) for bad input; returns an ExitStatus.
int run(const RunOptions& options, MPI_Comm comm);

}  // namespace concord::driver
