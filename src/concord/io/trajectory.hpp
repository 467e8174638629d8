#pragma once
/// \file trajectory.hpp
/// The run's HDF5 trajectory file, written collectively with parallel HDF5 (MPI-IO).
///
/// Layout (docs/outputs.md):
///   /trajectory/iteration      int64 [records], extendible, chunked
///   /trajectory/<column>       float64 [records], one per metric column, extendible
///   /snapshots/iteration       int64 [snapshots]                 (only when snapshots are on)
///   /snapshots/x               float64 [snapshots, agents, dimension]; each rank writes its rows
///   root attributes            strings and integers given at creation (deck, version, git
///                              revision, ranks, agents, dimension, ...)
///
/// Every call is collective over the communicator. Metric values are identical on all ranks
/// (ReproducibleSum), so rank 0's are written; snapshot rows come from every rank's agent block.
#include <mpi.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "concord/core/agent_layout.hpp"
#include "concord/core/spaces.hpp"

namespace concord::io {

/// Root attributes: text ones and integer ones.
struct FileAttributes {
  std::map<std::string, std::string> text;
  std::map<std::string, std::int64_t> integers;
};

class TrajectoryWriter {
 public:
  /// Creates `path` with the metric `columns` in this order. An existing file is refused
  /// (InputError naming it and `concord/output/overwrite`) unless `overwrite`. `snapshots`
  /// enables /snapshots (agents x `dimension` per snapshot).
  static TrajectoryWriter create(const std::string& path, MPI_Comm comm, const std::vector<std::string>& columns,
                                 const FileAttributes& attributes, const AgentLayout& layout, int dimension,
                                 bool snapshots, bool overwrite);
  /// Opens an existing trajectory for a restart from iteration `iteration`: drops records and
  /// snapshots with iteration > `iteration`, checks the columns match (InputError otherwise) and
  /// replaces the root attributes given (e.g. the new rank count).
  static TrajectoryWriter resume(const std::string& path, MPI_Comm comm, std::int64_t iteration,
                                 const std::vector<std::string>& columns, const FileAttributes& attributes,
                                 const AgentLayout& layout, int dimension, bool snapshots);

  TrajectoryWriter(TrajectoryWriter&&) noexcept;
  TrajectoryWriter& operator=(TrajectoryWriter&&) noexcept;
  ~TrajectoryWriter();  ///< closes (collective: destroy on every rank)

  /// Appends one record: `values` in column order (NaN where a metric does not apply).
  void append(std::int64_t iteration, const std::vector<double>& values);
  /// Appends the models of all agents (each rank its rows of `x`, local agents x dimension).
  void snapshot(std::int64_t iteration, const AgentMatrix& x);
  /// Makes everything written so far durable (H5Fflush).
  void flush();
  void close();

  std::int64_t records() const;

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
  int agents = 0, dimension = 0;
  FileAttributes attributes;
};
/// InputError naming the file when it is missing or not a Concord trajectory.
Trajectory read_trajectory(const std::string& path);

}  // namespace concord::io
