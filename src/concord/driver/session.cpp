// The run session's parts (detail/session.hpp), in the order driver::run calls them.
#include "concord/driver/detail/session.hpp"

#include <Kokkos_Core.hpp>
#include <Kokkos_Profiling_ScopedRegion.hpp>
#include <algorithm>
#include <climits>
#include <cmath>
#include <span>

#include "concord/algorithms/catalog.hpp"
#include "concord/comm/communicator.hpp"
#include "concord/config.hpp"
#include "concord/core/error.hpp"
#include "concord/core/format.hpp"
#include "concord/core/text.hpp"
#include "concord/driver/build_info.hpp"
#include "concord/git_revision.hpp"
#include "concord/problems/setup.hpp"
#include "concord/topology/analysis.hpp"
#include "concord/topology/registry.hpp"

namespace concord::driver::detail {
namespace {

io::Deck read_deck(const RunOptions& options, MPI_Comm comm) {
  io::Tree raw = io::parse_deck(broadcast_file(options.deck, comm), options.deck, io::deck_format_of(options.deck));
  for (const auto& assignment : options.overrides) io::apply_override(raw, assignment);
  return io::validate_deck(raw);
}

OutputSettings output_settings(const io::Deck& deck, std::int64_t iterations) {
  OutputSettings o;
  o.file = deck.text("output/file");
  o.checkpoint_file = deck.text("output/checkpoint_file").empty() ? default_checkpoint(o.file) : deck.text("output/checkpoint_file");
  o.log_every = deck.integer("output/log_every");
  o.checkpoint_every = deck.integer("output/checkpoint_every");
  o.snapshot_every = deck.integer("output/snapshot_every");
  o.finite_every = deck.integer("output/check_finite_every");
  o.overwrite = deck.boolean("output/overwrite");
  o.progress_every = deck.integer("output/progress_every");
  if (o.progress_every == 0)  // about 20 lines per run, at records
    o.progress_every = std::max<std::int64_t>(o.log_every, (iterations / 20 + o.log_every - 1) / o.log_every * o.log_every);
  return o;
}

}  // namespace

// ---- 1. Set-up: everything checkable before any work -------------------------------------------

RunSession::RunSession(const RunOptions& options, MPI_Comm comm)
    : options_(options),
      comm_(comm),
      rank_(comm::rank(comm)),
      ranks_(comm::size(comm)),
      out_(rank_ == 0),
      deck_(read_deck(options, comm)),
      agents_(static_cast<int>(deck_.integer("agents"))),
      seed_(static_cast<std::uint64_t>(deck_.integer("seed"))),
      iterations_(deck_.integer("algorithm/iterations")),
      output_(output_settings(deck_, iterations_)) {
  if (agents_ < ranks_)
    throw InputError(str("concord/agents: {} agents on {} ranks; every rank needs at least one agent "
                         "(run with at most {} ranks or raise concord/agents)",
                         agents_, ranks_, agents_));
  check_outputs();
  check_memory(deck_, ranks_);
  try {
    topology_ = topology::make_topology(deck_.text("topology/name"), agents_, topology_parameters(deck_.at("topology")), seed_);
  } catch (const InputError& e) {
    throw InputError(std::string("concord/topology: ") + e.what());
  }
  algorithm_options_ = algorithm_options(deck_);
  algorithms::check_topology(algorithm_options_, topology_);  // e.g. d2's eigenvalue condition
  algorithms::check_stragglers(algorithm_options_, ranks_);
  if (algorithms::algorithm_info(algorithm_options_.name).descends) algorithm_options_.schedule.validate();
  check_restart();
}

void RunSession::check_outputs() const {
  if (output_.checkpoint_file == output_.file)
    throw InputError("concord/output/checkpoint_file: must differ from concord/output/file (" + output_.file + ")");
  for (const auto& [key, file] : {std::pair{"file", output_.file}, std::pair{"checkpoint_file", output_.checkpoint_file}})
    if (const std::string problem = unusable_output(file, comm_); !problem.empty())
      throw InputError(str("concord/output/{}: {} {}; choose another file name", key, file, problem));
}

void RunSession::check_restart() {
  if (!restarting()) {
    if (options_.new_trajectory) throw InputError("--new-trajectory applies to a restart only (give --restart CHECKPOINT)");
    if (!output_.overwrite)
      for (const auto& file : {output_.file, output_.checkpoint_file})
        if (exists_on_root(file, comm_))
          throw InputError("output " + file + " exists; choose another concord/output/file, set "
                           "concord/output/overwrite: true to replace it, or continue a run with --restart CHECKPOINT");
    return;
  }
  resume_from_ = io::read_checkpoint_header(options_.restart);
  const auto it = resume_from_.attributes.text.find("deck");
  if (it == resume_from_.attributes.text.end())
    throw InputError("checkpoint " + options_.restart + ": has no deck attribute (not written by concord run)");
  const io::Deck saved = io::validate_deck(io::parse_deck(it->second, options_.restart + " (its deck)", io::DeckFormat::yaml));
  const auto differences = io::restart_differences(saved.tree(), deck_.tree());
  if (!differences.empty()) {
    std::string msg = "checkpoint " + options_.restart + " does not match the deck (only concord/algorithm/iterations, "
                      "concord/output/* and concord/parallel/* may change on a restart):";
    for (const auto& d : differences) msg += "\n  " + d;
    throw InputError(msg);
  }
  start_ = resume_from_.iteration;
  if (start_ > iterations_)
    throw InputError(str("concord/algorithm/iterations: {} is below the checkpoint's iteration {} ({})", iterations_,
                         start_, options_.restart));
  const bool trajectory_exists = exists_on_root(output_.file, comm_);
  if (options_.new_trajectory && trajectory_exists && !output_.overwrite)
    throw InputError("output " + output_.file + " exists; --new-trajectory writes a new file: choose another "
                     "concord/output/file or set concord/output/overwrite: true to replace it");
  if (!options_.new_trajectory && !trajectory_exists)
    throw InputError(str("trajectory {} does not exist: a restart continues the trajectory of the run it restarts. Point "
                         "concord/output/file to that run's trajectory (the command printed when the run stopped has "
                         "every --set it used), or add --new-trajectory to write a new trajectory from the records the "
                         "checkpoint keeps (up to iteration {})",
                         output_.file, start_));
  last_checkpoint_ = start_;
  last_checkpoint_file_ = options_.restart;
}

int RunSession::report_valid() const {
  out_.say("{}", deck_.yaml());
  out_.say("deck {}: valid\n", options_.deck);
  return completed;
}

// ---- 2. Build ------------------------------------------------------------------------------------

void RunSession::build() {
  layout_.emplace(AgentLayout::over(agents_, comm_));
  transport_ = comm::make_transport(comm_, transport_options(deck_));
  problem_ = problems::make_problem(problem_spec(deck_), *layout_, transport_, seed_);
  dimension_ = problem_->dimension();
  std::tie(exec_, threads_line_) =
      execution_instance(deck_.integer("parallel/threads"), work_per_step(deck_, *layout_, dimension_));
  if (restarting() && (resume_from_.agents != agents_ || resume_from_.dimension != dimension_))
    throw InputError(str("checkpoint {} holds {} agents x {} coordinates; the deck gives {} x {}", options_.restart,
                         resume_from_.agents, resume_from_.dimension, agents_, dimension_));
  mixer_ = std::make_unique<mixing::Mixer>(topology_, *layout_, transport_, dimension_);
  reducer_ = std::make_unique<mixing::ReproducibleSum>(transport_, *layout_, problem_->evaluation_columns().width());
  algorithm_ = algorithms::make_algorithm(algorithm_options_, {*problem_, *mixer_, *reducer_});
  metrics_ = std::make_unique<algorithms::Metrics>(*problem_, *reducer_);
  columns_ = metric_columns(*problem_, algorithm_options_.time_phases);
  attributes_.text = {{"deck", deck_.yaml()},
                      {"version", CONCORD_VERSION},
                      {"git_revision", CONCORD_GIT_REVISION},
                      {"algorithm", algorithm_->describe()},
                      {"problem", problem_->describe()},
                      {"topology", topology_.name()}};
  attributes_.integers = {{"ranks", ranks_}, {"agents", agents_}, {"dimension", dimension_}};
  // Mean over one period of the topology (one iteration when static), or over the first
  // traffic_horizon_ iterations when the traffic is drawn (drawn topologies, random activity); the
  // trajectory's bytes_sent column is the running total.
  traffic_drawn_ = topology_.schedule() != topology::Schedule::periodic || algorithm_->traffic_varies();
  traffic_horizon_ = traffic_drawn_ ? std::clamp<std::int64_t>(iterations_, 1, 1000) : std::max(1, topology_.period());
  attributes_.text["bytes_per_agent_per_iteration"] =
      shortest(algorithm_->bytes_through(traffic_horizon_) / static_cast<double>(traffic_horizon_));
}

void RunSession::print_header() const {
  out_.say("concord {} (git {}) — {}{}\n", CONCORD_VERSION, CONCORD_GIT_REVISION, options_.deck,
           restarting() ? ", restarting from " + options_.restart : "");
  for (const auto& [label, value] : build_info())
    if (label != "concord") out_.say("  {:<16} {}\n", label + ":", value);
  out_.say("  {:<16} {}\n", "ranks:", ranks_);
  out_.say("  {:<16} {} ({} to {} per rank), transport {}\n", "agents:", agents_, layout_->count(ranks_ - 1),
           layout_->count(0), transport_->describe());
  out_.say("  {:<16} {}\n", host_execution ? "threads:" : "execution:", threads_line_);
  if (const std::string crowded = oversubscription(comm_, exec_.concurrency()); !crowded.empty())
    out_.warn("warning: {}: oversubscribed. MPICH's ranks busy-poll while they wait, so this run can be orders of "
              "magnitude slower than with ranks x threads <= cores (fewer ranks, or OMP_NUM_THREADS)",
              crowded);
  out_.say("--- validated deck ---\n{}----------------------\n", deck_.yaml());
  if (out_.active()) {
    const auto report = topology::analyze(topology_);
    double rho = 0.0;
    for (const auto& r : report.rounds) rho = std::max(rho, r.rho);
    out_.say("topology:  {} — {} round(s), max degree {}, rho {:.6f}{}{}{}\n",
             topology_.description().empty() ? topology_.name() : topology_.description(), report.period,
             report.max_degree, rho,
             topology_.is_drawn() && !topology_.is_static()
                 ? str(", drawn every iteration, mean-square rate {:.3e}", report.mean_square_rate)
             : report.period > 1 ? str(", period rate {:.3e}", report.period_rho)
                                 : "",
             report.finite_time ? ", exact average after one period" : "",
             report.doubly_stochastic ? "" : str(", {}-stochastic W", topology::to_string(report.stochasticity)));
  }
  out_.say("problem:   {}\n", problem_->describe());
  out_.say("algorithm: {}\n", algorithm_->describe());
  out_.say("traffic:   {} bytes sent per agent per iteration (mean over agents{}{})\n",
           attributes_.text.at("bytes_per_agent_per_iteration"),
           traffic_drawn_ ? str(" and the first {} iterations", traffic_horizon_)
                          : (topology_.is_static() ? "" : " and one period"),
           algorithm_->asynchronous_ranks() ? "; at most: ranks that skip ticks send less" : "");
  out_.say("output:    {} (a record every {} iterations{}), checkpoints {} ({})\n", output_.file, output_.log_every,
           output_.snapshot_every > 0 ? str(", snapshots every {}", output_.snapshot_every) : "", output_.checkpoint_file,
           output_.checkpoint_every > 0 ? str("every {} iterations", output_.checkpoint_every) : "at the end");
}

// ---- 3. Initial state and trajectory -------------------------------------------------------------

void RunSession::restore_or_initialize() {
  if (!restarting()) {
    AgentMatrix x0(Kokkos::view_alloc(std::string("concord::driver::x0"), exec_), layout_->local_count(), dimension_);
    problem_->initial_point(exec_, x0);
    if (const std::string initial = deck_.text("problem/initial"); initial != "point")
      place_initial_models(exec_, x0, *layout_, seed_, initial == "index", deck_.real("problem/initial_scale"));
    algorithm_->initialize(exec_, x0);
    return;
  }
  const auto state = algorithm_->state();
  for (const auto& [name, view] : state)
    if (std::find(resume_from_.state.begin(), resume_from_.state.end(), name) == resume_from_.state.end())
      throw InputError("checkpoint " + options_.restart + " has no state '" + name + "' needed by " + algorithm_->name());
  io::read_checkpoint_state(options_.restart, comm_, *layout_, state);
  if (const auto sent = resume_from_.attributes.text.find(checkpoint_bytes_sent); sent != resume_from_.attributes.text.end())
    algorithm_->continue_counters(std::stod(sent->second));
}

void RunSession::open_trajectory() {
  const bool snapshots = output_.snapshot_every > 0;
  // A run that ended between records (iterations not a multiple of log_every) closed with a record
  // of its last iteration, which an uninterrupted longer run does not have: a restart drops it.
  const bool off_grid = restarting() && start_ % output_.log_every != 0 && start_ < iterations_;
  const std::int64_t continue_after = off_grid ? start_ - 1 : start_;
  const bool resuming = restarting() && !options_.new_trajectory;
  // Every record written so far, kept for the checkpoints (a lost or damaged trajectory is rebuilt
  // from them): on a restart, the checkpoint's records up to where this run continues. Room for
  // every record the run can have (up to 2^20; beyond, the rare growth is amortised).
  history_.emplace(columns_, std::min<std::int64_t>(iterations_ / output_.log_every + 2, std::int64_t{1} << 20));
  if (restarting()) history_->restore(resume_from_, continue_after);
  if (resuming) {
    // The checkpoint names the last record its run had written (absent in files of older versions).
    const auto last = resume_from_.attributes.integers.find(trajectory_last_record);
    const std::string hint = str(
        "; add --new-trajectory (with another concord/output/file, or concord/output/overwrite: true) to write a "
        "new trajectory from the {} records the checkpoint keeps (iterations 0 to {}; snapshots before iteration {} "
        "are not in the checkpoint)",
        history_->size(), history_->last(), start_);
    try {
      trajectory_.emplace(io::TrajectoryWriter::resume(output_.file, comm_, continue_after, columns_, attributes_,
                                                       *layout_, dimension_, snapshots,
                                                       last == resume_from_.attributes.integers.end() ? -1 : last->second));
    } catch (const InputError& e) {
      throw InputError(e.what() + hint);
    } catch (const RuntimeError& e) {  // a file damaged by a crash: HDF5 cannot update it
      throw InputError(str("trajectory {} cannot be resumed: {}{}", output_.file, e.what(), hint));
    }
    // Dropping that record dropped a snapshot of the same iteration too: the restored models are it.
    if (off_grid && snapshots && start_ % output_.snapshot_every == 0) trajectory_->snapshot(start_, algorithm_->models());
    return;
  }
  trajectory_.emplace(io::TrajectoryWriter::create(output_.file, comm_, columns_, attributes_, *layout_, dimension_,
                                                   snapshots, output_.overwrite));
  if (options_.new_trajectory) {
    for (std::size_t r = 0; r < history_->size(); ++r) trajectory_->append(history_->iteration(r), history_->values(r));
    out_.say("note: a new trajectory {} holds the checkpoint's {} records (iterations 0 to {}) and continues from "
             "iteration {}\n",
             output_.file, history_->size(), history_->last(), start_);
  }
}

// ---- 4. The loop ---------------------------------------------------------------------------------

int RunSession::iterate() {
  last_times_ = algorithm_->times();
  last_record_ = start_;
  t0_ = std::chrono::steady_clock::now();
  // A restart continues the clock of the record it starts from (NaN in files without the column).
  const auto elapsed_column = std::find(columns_.begin(), columns_.end(), "time_elapsed");
  if (restarting() && history_->size() > 0 && elapsed_column != columns_.end()) {
    const double before = history_->values(history_->size() - 1)[static_cast<std::size_t>(elapsed_column - columns_.begin())];
    elapsed_before_ = std::isfinite(before) ? before : 0.0;
  }
  const bool snapshots = output_.snapshot_every > 0;
  if (!restarting()) {
    if (diverged_at(0) || !record(0)) return diverged;
    if (snapshots) trajectory_->snapshot(0, algorithm_->models());
  }
  const SignalGuard signals;
  // Ranks that advance at their own pace (async_*_mpi) meet only where the driver needs every rank
  // (records, checkpoints, snapshots, divergence checks, the end); a signal is noticed there.
  const bool asynchronous = algorithm_->asynchronous_ranks();
  for (std::int64_t k = start_; k < iterations_; ++k) {
    algorithm_->step(exec_, k);
    const std::int64_t done = k + 1;
    const bool log = done % output_.log_every == 0 || done == iterations_;
    const bool scheduled_checkpoint =
        output_.checkpoint_every > 0 && done % output_.checkpoint_every == 0 && done != iterations_;
    const bool finite_check = output_.finite_every > 0 && done % output_.finite_every == 0;
    const bool snapshot = snapshots && done % output_.snapshot_every == 0;
    if (asynchronous) {
      if (!(log || scheduled_checkpoint || finite_check || snapshot)) continue;
      algorithm_->synchronize(exec_);
    }
    // Every rank stops at the same iteration: the signal one rank received is everyone's.
    const int stop = ranks_ > 1 ? comm::allreduce_max(static_cast<int>(g_signal), comm_) : static_cast<int>(g_signal);
    const bool interrupt = stop != 0 && done < iterations_;  // at the last iteration: just finish
    const bool checkpoint = scheduled_checkpoint || interrupt;
    const bool check = log || checkpoint || finite_check;
    if (check && diverged_at(done)) return diverged;
    if (log && !record(done)) return diverged;
    if (snapshot) trajectory_->snapshot(done, algorithm_->models());
    if (checkpoint) write_checkpoint(done);
    if (interrupt) return interrupted_after(done, stop);
  }
  return finish();
}

bool RunSession::diverged_at(std::int64_t k) {
  const int agent = first_nonfinite_agent(exec_, algorithm_->models(), *layout_, comm_);
  if (agent == INT_MAX) return false;
  report_divergence(str("agent {}'s model is not finite (NaN or Inf)", agent), k);
  return true;
}

void RunSession::report_divergence(const std::string& what, std::int64_t k, const std::string& why) {
  trajectory_->flush();
  const std::string kept =
      last_checkpoint_ >= 0 ? str("the last good checkpoint is {} (iteration {})", last_checkpoint_file_, last_checkpoint_)
      : output_.checkpoint_every > 0
          ? str("no checkpoint was written yet (the first was due at iteration {})",
                (start_ / output_.checkpoint_every + 1) * output_.checkpoint_every)
          : std::string("no checkpoint was written (set concord/output/checkpoint_every to keep one during the run)");
  out_.warn("diverged: {} at iteration {}{}; {}", what, k, why, kept);
}

bool RunSession::record(std::int64_t k) {
  static const std::string region_name = "concord::driver::record";
  Kokkos::Profiling::ScopedRegion region(region_name);
  // Timed like the algorithm's phases: a fence, then a timer. Cheap to do on every record: the
  // divergence check before it has already synchronised, and the metrics end on the host.
  exec_.fence("concord::driver::metrics");
  const double iterating =
      elapsed_before_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count() - metrics_seconds_;
  Kokkos::Timer timer;
  const auto m = metrics_->compute(exec_, k, algorithm_->models());
  exec_.fence("concord::driver::metrics");
  const double evaluation = timer.seconds();
  // The same values on every rank (reproducible sums): every rank takes the same branch.
  for (const auto& [name, value] : {std::pair{"consensus_error", m.consensus_error}, std::pair{"loss", m.loss},
                                    std::pair{"grad_norm_sq", m.grad_norm_sq}})
    if (!std::isfinite(value)) {
      report_divergence(str("the {} is {}", name, shortest(value)), k, " (the models overflow)");
      return false;
    }
  const auto& times = algorithm_->times();
  // Per iteration since the previous record: compute, communication; then this record's evaluation.
  double seconds[4] = {0.0, 0.0, evaluation, k == 0 ? 0.0 : iterating};
  if (k > last_record_) {
    seconds[0] = (times.compute - last_times_.compute) / static_cast<double>(k - last_record_);
    seconds[1] = (times.communication - last_times_.communication) / static_cast<double>(k - last_record_);
  }
  comm::allreduce_max(std::span<double>(seconds), comm_);
  last_times_ = times;
  last_record_ = k;
  metrics_seconds_ += seconds[2];
  std::vector<double> values;
  for (const auto& c : columns_)
    values.push_back(c == "time_compute"   ? seconds[0]
                     : c == "time_comm"    ? seconds[1]
                     : c == "time_metrics" ? seconds[2]
                     : c == "time_elapsed" ? seconds[3]
                     : c == "bytes_sent"   ? algorithm_->bytes_through(k)
                                           : metric_value(m, c));
  trajectory_->append(k, values);
  history_->append(k, values);
  if (k % output_.progress_every == 0 || k == iterations_ || k == start_) print_progress(k, m, seconds);
  return true;
}

void RunSession::print_progress(std::int64_t k, const algorithms::MetricValues& m, const double (&seconds)[4]) const {
  // The rate of the iterations proper: the records' evaluation (time_metrics) is left out.
  const double iterating = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count() - metrics_seconds_;
  const double rate = k > start_ && iterating > 0 ? static_cast<double>(k - start_) / iterating : 0.0;
  std::string line = str("iter {:>{}}/{}  consensus {:.3e}  loss {:.6e}  |grad|^2 {:.3e}", k,
                         std::to_string(iterations_).size(), iterations_, m.consensus_error, m.loss, m.grad_norm_sq);
  if (!std::isnan(m.distance_to_solution)) line += str("  dist {:.3e}", m.distance_to_solution);
  if (!std::isnan(m.accuracy)) line += str("  acc {:.4f}", m.accuracy);
  if (!std::isnan(m.test_accuracy)) line += str("  test acc {:.4f}", m.test_accuracy);
  if (rate > 0) line += str("  | {:.0f} it/s  ETA {}", rate, duration(static_cast<double>(iterations_ - k) / rate));
  // Per iteration since the previous record (time_compute, time_comm; maximum over ranks).
  if (algorithm_options_.time_phases && k > start_ && seconds[0] + seconds[1] > 0.0)
    line += str("  | compute {} comm {} per it", duration_short(seconds[0]), duration_short(seconds[1]));
  out_.say("{}\n", line);
}

void RunSession::write_checkpoint(std::int64_t k) {
  static const std::string region_name = "concord::driver::write_checkpoint";
  Kokkos::Profiling::ScopedRegion region(region_name);
  checkpoint_.agents = agents_;
  checkpoint_.dimension = dimension_;
  checkpoint_.attributes = attributes_;
  checkpoint_.iteration = k;
  checkpoint_.state.clear();
  const auto state = algorithm_->state();
  for (const auto& [name, view] : state) checkpoint_.state.push_back(name);
  // Records first: a checkpoint never gets ahead of the records it names (a restart checks them).
  trajectory_->flush();
  checkpoint_.attributes.integers[trajectory_last_record] = trajectory_->last_record();
  checkpoint_.attributes.text[checkpoint_bytes_sent] = shortest(algorithm_->bytes_through(k));
  checkpoint_.record_iteration = history_->iterations();
  checkpoint_.record_columns = columns_;
  checkpoint_.record_values = history_->flat_values();
  io::write_checkpoint(output_.checkpoint_file, comm_, *layout_, checkpoint_, state);
  last_checkpoint_ = k;
  last_checkpoint_file_ = output_.checkpoint_file;
}

int RunSession::interrupted_after(std::int64_t done, int signal) {
  trajectory_->close();
  out_.warn("interrupted by {} after iteration {}; checkpoint written to {}. Continue with: {}",
            signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "a signal", done, output_.checkpoint_file,
            continue_command(options_, output_.checkpoint_file));
  return interrupted;
}

int RunSession::finish() {
  if (start_ == iterations_ && restarting())
    out_.say("nothing to do: the checkpoint is already at iteration {}\n", iterations_);
  else
    write_checkpoint(iterations_);
  trajectory_->close();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  out_.say("done: {} iterations in {} ({:.1f} s, of which {:.1f} s evaluating the records); trajectory {}, checkpoint {}\n",
           iterations_ - start_, duration(elapsed), elapsed, metrics_seconds_, output_.file, output_.checkpoint_file);
  if (const std::string activity = algorithm_->activity(); !activity.empty()) out_.say("{}: {}\n", algorithm_->name(), activity);
  return completed;
}

}  // namespace concord::driver::detail
