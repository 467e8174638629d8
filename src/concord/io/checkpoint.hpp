#pragma once
/// \file checkpoint.hpp
/// Checkpoints: every agent's full algorithm state, the iteration and the validated deck, in one
/// HDF5 file written collectively (parallel HDF5).
///
/// Layout (docs/outputs.md):
///   /state/<name>        float64 [agents, dimension] for each named state matrix (x, y, ...),
///                        row-major [agent][coordinate]
///   /state @order        the state names in the order written (1-D UTF-8 strings)
///   /state/<name> @checksum  int64: a checksum of the matrix (any rank count gives the same)
///   /records/iteration   int64 [records]; /records/values float64 [records, columns]; /records
///                        @columns: the trajectory's records up to the checkpoint (absent when none)
///   root @checksum       int64: a checksum of the header (attributes, state names and checksums,
///                        records), verified by read_checkpoint_header
///   root attributes      `format` = "concord-checkpoint 1", iteration, agents, dimension (int64),
///                        and the header's text (variable-length UTF-8) and integer (int64)
///                        attributes (deck, ...). `format`, `iteration`, `agents`, `dimension`
///                        are reserved: set from the header's fields, ignored in
///                        header.attributes, not returned among the attributes on reading.
///
/// Atomic replacement: the file is written as `path` + ".tmp" (a stale one from a crash is
/// overwritten), closed, fsync'ed and renamed over `path` by rank 0 (which then fsyncs the
/// directory), then all ranks wait — a crash at any moment leaves either the previous checkpoint
/// or the new one at `path`, never a corrupt file; a failed write removes its `.tmp` (a kill
/// cannot) and never touches `path`. Random streams are keyed by (seed, agent, iteration) and
/// topologies by the iteration, so the iteration is the whole RNG and schedule state.
///
/// Errors are thrown on every rank alike, never with HDF5's error stack on stderr.
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
  int agents = 0;                  ///< on writing: 0 (the layout's) or the layout's number of agents
  int dimension = 0;               ///< on writing: 0 (the state matrices' width) or that width
  FileAttributes attributes;       ///< deck text, version, ...
  std::vector<std::string> state;  ///< names of the state matrices, in file order (ignored on writing)
  /// Every trajectory record written up to the checkpoint (the run's earlier runs included), so
  /// that a trajectory lost or damaged by a crash can be rebuilt from the checkpoint: the
  /// iteration of each record, the metric columns, and the values [record][column], row-major.
  std::vector<std::int64_t> record_iteration;
  std::vector<std::string> record_columns;
  std::vector<double> record_values;
};

/// Collective, same header on every rank. `state` matrices are local agents x dimension (device
/// Views; copied to the host), names non-empty without '/'. Throws RuntimeError (HDF5 and file
/// system errors, naming the path) — the previous checkpoint survives; InputError when `path`
/// is a directory; std::logic_error when the matrices do not fit the layout or header.
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
