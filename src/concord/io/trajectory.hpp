#pragma once
/// \file trajectory.hpp
/// The run's HDF5 trajectory file, written collectively with parallel HDF5 (MPI-IO).
///
/// Layout (docs/outputs.md):
///   /trajectory/iteration      int64 [records], extendible, chunked
///   /trajectory/<column>       float64 [records], one per metric column, extendible
///   /trajectory @columns       the column names in order (1-D variable-length UTF-8 strings)
///   /snapshots/iteration       int64 [snapshots]                 (only when snapshots are on)
///   /snapshots/x               float64 [snapshots, agents, dimension]; each rank writes its rows
///   root attributes            `format` = "concord-trajectory 1", `agents` and `dimension`
///                              (int64), and the strings and integers given at creation (deck,
///                              version, git revision, ranks, ...)
///
/// Attribute types: FileAttributes::text become scalar variable-length UTF-8 strings (any length;
/// the deck fits), FileAttributes::integers scalar int64. The names `format`, `agents` and
/// `dimension` are reserved: they are set from the arguments, entries of that name in
/// FileAttributes are ignored, and read_trajectory does not return them among the attributes.
///
/// Every call is collective over the communicator, with the same arguments on every rank (the
/// attributes too). Metric values are identical on all ranks (ReproducibleSum), so rank 0's are
/// written; snapshot rows come from every rank's agent block. Iterations of records (and of
/// snapshots) must increase strictly. Errors: InputError for what the user can fix (an existing
/// file, a resume that does not fit), concord::RuntimeError naming the file for HDF5 and file
/// system failures, std::logic_error for misuse by the caller; thrown on every rank alike, never
/// with HDF5's error stack on stderr.
#include <mpi.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "concord/core/agent_layout.hpp"
#include "concord/core/spaces.hpp"

namespace concord::io {

/// True once HDF5 failed to close a file (disk full, an I/O error): HDF5 keeps a half-destroyed
/// file registered, and its shutdown — run by MPI_Finalize — would crash on it. A program that
/// sees this ends without MPI_Finalize (after printing its error), as `concord` does.
bool hdf5_shutdown_unsafe();

/// Root attributes: text ones and integer ones.
struct FileAttributes {
  std::map<std::string, std::string> text;
  std::map<std::string, std::int64_t> integers;
};

class TrajectoryWriter {
 public:
  /// Creates `path` with the metric `columns` in this order. An existing file is refused
  /// (InputError naming it and `concord/output/overwrite`) unless `overwrite` (a directory is
  /// always refused); rank 0 looks and broadcasts before any collective call. `snapshots`
  /// enables /snapshots (agents x `dimension` per snapshot). Column names: non-empty, no '/',
  /// not "iteration", unique.
  static TrajectoryWriter create(const std::string& path, MPI_Comm comm, const std::vector<std::string>& columns,
                                 const FileAttributes& attributes, const AgentLayout& layout, int dimension,
                                 bool snapshots, bool overwrite);
  /// Opens an existing trajectory for a restart from iteration `iteration` (the checkpoint's):
  /// keeps the records and snapshots with iteration <= `iteration` (the longest increasing
  /// prefix: a record torn by a crash goes too) and drops the rest (the datasets shrink), so
  /// appending from the next iteration on gives the file of an uninterrupted run. InputError
  /// when the file is missing or not a trajectory, when its columns differ from `columns` (the
  /// message lists the difference) or its agents x dimension from this run's. Replaces (or adds)
  /// the root attributes given (e.g. the new rank count); the others stay. With `snapshots` and a
  /// file without /snapshots, /snapshots is created; without `snapshots`, existing snapshots are
  /// truncated the same way and no more are written.
  ///
  /// `required_record` (>= 0) is the iteration of the last record the run being continued had
  /// written when it wrote its checkpoint: the file must hold it as its last record at or before
  /// max(`iteration`, `required_record`), or the restart is refused (InputError, nothing changed)
  /// — records lost in a crash, or a file of another run, are never silently continued.
  static TrajectoryWriter resume(const std::string& path, MPI_Comm comm, std::int64_t iteration,
                                 const std::vector<std::string>& columns, const FileAttributes& attributes,
                                 const AgentLayout& layout, int dimension, bool snapshots,
                                 std::int64_t required_record = -1);

  TrajectoryWriter(TrajectoryWriter&&) noexcept;
  TrajectoryWriter& operator=(TrajectoryWriter&&) noexcept;
  ~TrajectoryWriter();  ///< closes (collective: destroy on every rank); call close() to see errors

  /// Appends one record: `values` in column order (NaN where a metric does not apply). Written
  /// at once (no buffering); flush() makes it durable.
  void append(std::int64_t iteration, const std::vector<double>& values);
  /// Appends the models of all agents (each rank its rows of `x`, local agents x dimension).
  void snapshot(std::int64_t iteration, const AgentMatrix& x);
  /// Makes everything written so far durable (H5Fflush, global scope).
  void flush();
  /// Closes the file (collective). Idempotent; the writer cannot be used afterwards.
  void close();

  /// Records in the file (after a resume: those kept plus those appended since).
  std::int64_t records() const;
  /// The iteration of the last record in the file; -1 when there is none.
  std::int64_t last_record() const;

 private:
  struct Impl;
  explicit TrajectoryWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// A trajectory read back (serial, any process): for tests, `concord summary` and restarts.
struct Trajectory {
  std::vector<std::int64_t> iteration;
  std::map<std::string, std::vector<double>> columns;
  std::vector<std::string> column_order;
  std::vector<std::int64_t> snapshot_iteration;
  std::vector<double> snapshots;  ///< [snapshot][agent][coordinate], row-major
  int agents = 0, dimension = 0;  ///< from the root attributes
  FileAttributes attributes;      ///< the root attributes given by the writer (not the reserved ones)
};
/// InputError naming the file when it is missing or not a Concord trajectory.
Trajectory read_trajectory(const std::string& path);

}  // namespace concord::io
