#pragma once
/// \file topology.hpp
/// A communication topology: n agents and the mixing matrix W(k) of every iteration k >= 0.
///
/// Three schedules say which matrix iteration k uses:
///  - `Schedule::periodic`: a sequence W(0), ..., W(p-1) of rounds; iteration k uses W(k mod p).
///    Static topologies have p = 1.
///  - `Schedule::drawn`: a pool of p distinct matrices; iteration k uses the pool member
///    round_index(k), drawn uniformly from RandomStream(seed, stream_purpose::topology, stream, k)
///    (its first draw). A fresh, independent draw every iteration, a function of (seed, k) only.
///  - `Schedule::reweighted`: one fixed pattern (the union of every W(k)'s entries, stored as
///    rounds()[0] with the expected weights E[W]); the weights of W(k) are drawn anew every
///    iteration by a `WeightDraw` (e.g. a random matching), on the host, from (seed, k).
///
/// Topologies are pure, deterministic host objects: the same constructor arguments (seed
/// included) give the same matrices, the same draws, on every rank.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "concord/topology/weight_matrix.hpp"

namespace concord::topology {

enum class Schedule {
  periodic,   ///< W(k) = rounds()[k mod p]
  drawn,      ///< W(k) = rounds()[i_k], i_k uniform on 0..p-1, drawn from (seed, k)
  reweighted  ///< W(k): the pattern of rounds()[0] with weights drawn from (seed, k) by a WeightDraw
};

/// "periodic", "drawn", "reweighted".
const char* schedule_name(Schedule s);

/// The weights of a `Schedule::reweighted` topology: W(k) on a fixed pattern, drawn anew every
/// iteration. Implementations are pure functions of (their parameters, k): every rank draws the
/// same W(k). `fill` must not allocate (the Mixer calls it every iteration with scratch it
/// sized once from `scratch_size`).
class WeightDraw {
 public:
  virtual ~WeightDraw() = default;
  /// Host ints `fill` needs as scratch.
  virtual std::size_t scratch_size() const = 0;
  /// W(k) on `pattern` for rows [first_row, last_row): the weight of every stored entry of those
  /// rows, in CSR order (0 for an entry W(k) lacks), written to values[0 .. entries of the rows).
  virtual void fill(std::int64_t k, const WeightMatrix& pattern, int first_row, int last_row,
                    std::span<double> values, std::span<int> scratch) const = 0;
  /// E[W(k)^T W(k)] (any sparsity pattern): the mean-square consensus rate is its second
  /// largest eigenvalue (topology/analysis.hpp).
  virtual WeightMatrix expected_gram() const = 0;
};

class Topology {
 public:
  Topology() = default;
  /// A periodic topology. `description` is a human-readable line (name and parameters) for reports.
  Topology(std::string name, std::vector<WeightMatrix> rounds, std::string description = {});

  /// A drawn topology: iteration k uses pool[round_index(k)], round_index(k) drawn uniformly from
  /// RandomStream(seed, stream_purpose::topology, stream, k). `stream` is the topology's own
  /// second key (random_rounds.hpp lists them); keep it unchanged, it is part of reproducibility.
  static Topology drawn(std::string name, std::vector<WeightMatrix> pool, std::uint64_t seed, std::uint64_t stream,
                        std::string description = {});
  /// A reweighted topology: W(k) has the pattern of `expected` (the union of the patterns of all
  /// W(k), weights E[W] for analysis and reports), its weights filled every iteration by `draw`.
  static Topology reweighted(std::string name, WeightMatrix expected, std::shared_ptr<const WeightDraw> draw,
                             std::string description = {});

  const std::string& name() const { return name_; }
  const std::string& description() const { return description_; }
  int agents() const { return rounds_.empty() ? 0 : rounds_.front().size(); }
  Schedule schedule() const { return schedule_; }
  /// Number of stored matrices: the period (periodic), the pool size (drawn), 1 (reweighted).
  /// Only a periodic topology repeats with this period.
  int period() const { return static_cast<int>(rounds_.size()); }
  /// One matrix for every iteration.
  bool is_static() const { return schedule_ != Schedule::reweighted && rounds_.size() == 1; }
  /// W(k) is drawn from (seed, k) rather than a periodic schedule.
  bool is_drawn() const { return schedule_ != Schedule::periodic; }

  /// The index in rounds() of iteration k's matrix (k >= 0): k mod p (periodic), the pool member
  /// drawn for k (drawn), 0 (reweighted: the pattern). O(1), no allocation.
  std::size_t round_index(std::int64_t k) const;
  /// rounds()[round_index(k)]: W(k) for periodic and drawn topologies; the pattern with E[W] for a
  /// reweighted one (whose W(k) is `matrix(k)`).
  const WeightMatrix& round(std::int64_t k) const { return rounds_[round_index(k)]; }
  const std::vector<WeightMatrix>& rounds() const { return rounds_; }
  /// W(k) exactly, for every schedule (a copy: for analysis and tests, not for the iteration loop).
  WeightMatrix matrix(std::int64_t k) const;
  /// W(k)'s weights on the pattern round(k), in its CSR order: the stored ones (periodic, drawn),
  /// or drawn into `values` (reweighted; absent entries 0). The buffers are sized on the first
  /// call and reused: no allocation afterwards, so host code may call it every iteration.
  std::span<const double> weights(std::int64_t k, std::vector<double>& values, std::vector<int>& scratch) const;

  /// The weight draw of a reweighted topology (nullptr otherwise).
  const WeightDraw* weight_draw() const { return draw_.get(); }
  std::uint64_t seed() const { return seed_; }

 private:
  std::string name_;
  std::string description_;
  std::vector<WeightMatrix> rounds_;
  Schedule schedule_ = Schedule::periodic;
  std::uint64_t seed_ = 0, stream_ = 0;
  std::shared_ptr<const WeightDraw> draw_;
};

}  // namespace concord::topology
