#pragma once
/// \file checkpoint.hpp
/// Checkpoints: every agent's full algorithm state, the iteration and the validated deck, in one
/// HDF5 file written collectively (parallel HDF5).
///
/// Layout (docs/outputs.md):
///   /state/<name>        float64 [agents, dimension] for each named state matrix (x, y, ...)
///   root attributes      iteration (int64), agents, dimension, and text attributes (deck, ...)
///
/// Atomic replacement: the file is written as `path` + ".tmp", closed, fsync'ed and renamed over
/// `path` by rank 0, then all ranks wait — a crash at any moment leaves either the previous
/// checkpoint or the new one at `path`, never a corrupt file. Random streams are keyed by
/// (seed, agent, iteration) and topologies by the iteration, so the iteration is the whole RNG
/// and schedule state.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "concord/core/agent_layout.hpp"
#include "concord/core/spaces.hpp"
#include "concord/io/trajectory.hpp"

namespace concord::io {

struct CheckpointHeader {
  std::int64_t iteration = 0;
  int agents = 0;
  int dimension = 0;
  FileAttributes attributes;          ///< deck text, version, ...
  std::vector<std::string> state;     ///< names of the state matrices, in file order
};

/// Collective. `state` matrices are local agents x dimension (device or host Views). Throws
/// RuntimeError (file system errors, naming the path) — the previous checkpoint survives.
void write_checkpoint(const std::string& path, MPI_Comm comm, const AgentLayout& layout, const CheckpointHeader& header,
                      const std::vector<std::pair<std::string, AgentMatrix>>& state);

/// Reads the header (collective-safe: any rank may call; all ranks get the same result).
/// InputError naming the file when it is missing, unreadable or not a Concord checkpoint.
CheckpointHeader read_checkpoint_header(const std::string& path);

/// Collective: fills each rank's rows of every matrix in `state` (names must all be present in
/// the file with shape agents x dimension of `layout`; InputError saying which is missing or
/// mis-shaped). The number of ranks may differ from the run that wrote it.
void read_checkpoint_state(const std::string& path, MPI_Comm comm, const AgentLayout& layout,
                           const std::vector<std::pair<std::string, AgentMatrix>>& state);

}  // namespace concord::io
