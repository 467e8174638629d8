#pragma once
/// \file session.hpp
/// One `concord run`, as a session with named parts (driver::run calls them in this order):
///
///   RunSession session(options, comm);  // set-up: the deck, outputs, memory, topology, the
///                                       //   algorithm's preconditions, a restart's checkpoint
///   session.build();                    // layout, transport, problem, mixer, algorithm, metrics
///   session.print_header();
///   session.restore_or_initialize();    // the checkpoint's state, or fresh initial models
///   session.open_trajectory();          // a new file, the restarted run's, or one rebuilt
///   return session.iterate();           // steps; records, snapshots, checkpoints; stop
///
/// Every part is collective over the run's communicator. Set-up throws InputError before any work;
/// the loop returns an ExitStatus (completed, diverged, interrupted). Private to the driver.
#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "concord/algorithms/algorithm.hpp"
#include "concord/algorithms/metrics.hpp"
#include "concord/driver/detail/support.hpp"
#include "concord/driver/run.hpp"
#include "concord/io/checkpoint.hpp"
#include "concord/io/deck.hpp"
#include "concord/io/trajectory.hpp"
#include "concord/mixing/mixer.hpp"
#include "concord/mixing/reproducible_sum.hpp"
#include "concord/topology/topology.hpp"

namespace concord::driver::detail {

/// What concord/output asks for, read once from the validated deck.
struct OutputSettings {
  std::string file, checkpoint_file;
  std::int64_t log_every = 0, checkpoint_every = 0, snapshot_every = 0, finite_every = 0, progress_every = 0;
  bool overwrite = false;
};

class RunSession {
 public:
  /// Set-up: reads and validates the deck (rank 0 reads, every rank gets it), checks the output
  /// files, the memory bound, the topology, the algorithm's preconditions on it and, for a
  /// restart, the checkpoint against the deck and the trajectory it continues.
  RunSession(const RunOptions& options, MPI_Comm comm);

  /// `--check`: prints the validated deck and that it is valid.
  int report_valid() const;
  /// Everything the iteration works with, built once: layout, transport, problem (its data read),
  /// execution instance, mixer, reducer, algorithm, metrics.
  void build();
  /// The run's header: build, ranks, agents, threads, the validated deck, topology, problem,
  /// algorithm, outputs; an oversubscription warning.
  void print_header() const;
  /// A fresh run: initial models (the problem's point, or the deck's spread); a restart: the
  /// checkpoint's state.
  void restore_or_initialize();
  /// Opens the trajectory: created, resumed where the checkpoint stands, or (--new-trajectory)
  /// created from the records the checkpoint keeps.
  void open_trajectory();
  /// Iterations start .. iterations, with records, snapshots, checkpoints and the checks for
  /// divergence and signals. Returns the ExitStatus.
  int iterate();

 private:
  bool restarting() const { return !options_.restart.empty(); }
  void check_outputs() const;
  void check_restart();
  /// Records the iteration-k state: false (after the message) when the run diverged. Collective.
  bool diverged_at(std::int64_t k);
  bool record(std::int64_t k);
  void print_progress(std::int64_t k, const algorithms::MetricValues& m, const double (&seconds)[4]) const;
  void write_checkpoint(std::int64_t k);
  /// The one divergence message (stderr, rank 0): what is not finite, at which iteration, why if
  /// known, and the last good checkpoint (or why there is none).
  void report_divergence(const std::string& what, std::int64_t k, const std::string& why = "");
  int interrupted_after(std::int64_t done, int signal);
  int finish();

  // Set-up
  RunOptions options_;
  MPI_Comm comm_;
  int rank_ = 0, ranks_ = 1;
  Console out_;
  io::Deck deck_;
  int agents_ = 0;
  std::uint64_t seed_ = 0;
  std::int64_t iterations_ = 0, start_ = 0;
  OutputSettings output_;
  topology::Topology topology_;
  algorithms::AlgorithmOptions algorithm_options_;
  io::CheckpointHeader resume_from_;  ///< a restart's checkpoint header
  // Built
  std::optional<AgentLayout> layout_;
  std::shared_ptr<comm::Transport> transport_;
  std::unique_ptr<problems::Problem> problem_;
  int dimension_ = 0;
  ExecutionSpace exec_;
  std::string threads_line_;
  std::unique_ptr<mixing::Mixer> mixer_;
  std::unique_ptr<mixing::ReproducibleSum> reducer_;
  std::unique_ptr<algorithms::Algorithm> algorithm_;
  std::unique_ptr<algorithms::Metrics> metrics_;
  std::vector<std::string> columns_;
  io::FileAttributes attributes_;
  // Outputs
  std::optional<RecordHistory> history_;
  std::optional<io::TrajectoryWriter> trajectory_;
  io::CheckpointHeader checkpoint_;
  std::int64_t last_checkpoint_ = -1;
  std::string last_checkpoint_file_;  ///< the restart file until this run writes its own
  // The loop's clocks
  algorithms::StepTimes last_times_;
  std::int64_t last_record_ = 0;
  double metrics_seconds_ = 0.0;  ///< evaluating records (max over ranks): left out of the rate
  std::chrono::steady_clock::time_point t0_;
  bool traffic_drawn_ = false;         ///< bytes vary beyond one period (drawn topology, random activity)
  std::int64_t traffic_horizon_ = 1;  ///< iterations the header's traffic figure averages
  double elapsed_before_ = 0.0;   ///< time_elapsed at the start of this run segment (restarts)
};

}  // namespace concord::driver::detail
