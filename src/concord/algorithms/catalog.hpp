#pragma once
/// \file catalog.hpp
/// The catalogue of algorithms: one entry per algorithm, declaring its name, its one-line update,
/// its parameters (bound to the AlgorithmOptions members they set), its preconditions on the
/// topology and its factory. The deck's `concord/algorithm` list, `concord deck --reference`,
/// docs/deck-reference.md and the CLI listings are generated from it, in the way
/// topology/registry.hpp serves the topologies.
///
/// Adding an algorithm touches its own source file (its class and its entry function, see
/// detail/entries.hpp), one line of catalog.cpp and its tests -- nothing in io/ or driver/.
/// \code
///   const auto& d2 = concord::algorithms::algorithm_info("d2");
///   d2.check_topology(topology);  // InputError when lambda_min(W) <= -1/3
///   auto options = concord::algorithms::algorithm_options(deck.at("algorithm"));
/// \endcode
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "concord/algorithms/algorithm.hpp"
#include "concord/core/parameters.hpp"
#include "concord/topology/topology.hpp"

namespace concord::algorithms {

struct AlgorithmInfo {
  std::string name;
  std::string summary;   ///< the update in one line (docs/algorithms.md has the definitions)
  bool descends = true;  ///< takes gradient steps: the step-size parameters and minibatches apply
  /// Its own parameters, beyond the step-size ones every descending algorithm takes.
  std::vector<parameters::Bound<AlgorithmOptions>> parameters;
  std::function<std::unique_ptr<Algorithm>(const AlgorithmOptions&, Environment)> make;
  /// Throws InputError naming the algorithm and what would work when it cannot run on the
  /// topology (e.g. d2's lambda_min(W) > -1/3). Empty: every topology qualifies.
  std::function<void(const topology::Topology&)> check_topology;
  /// Sends compressed rows: takes the concord/algorithm/compression list (mixing/compression.hpp).
  bool compresses = false;
};

/// Every algorithm, in a stable order.
const std::vector<AlgorithmInfo>& algorithm_catalog();
/// The entry for `name`; InputError listing the known names otherwise.
const AlgorithmInfo& algorithm_info(std::string_view name);
std::vector<std::string> algorithm_names();
/// The algorithms that take gradient steps (all but gossip).
std::vector<std::string> descending_algorithm_names();

/// The step-size parameters (step_size, schedule, decay_every, decay_factor, warmup), bound to
/// AlgorithmOptions::schedule: declared once, taken by every descending algorithm.
const std::vector<parameters::Bound<AlgorithmOptions>>& step_size_parameters();

/// Straggler emulation (straggler_ranks, straggler_slowdown), bound to AlgorithmOptions: declared
/// here once, listed in the deck under concord/parallel (they apply to every algorithm).
const std::vector<parameters::Bound<AlgorithmOptions>>& straggler_parameters();

/// The deck declarations of concord/algorithm's catalogue parameters: each algorithm's own and
/// the step-size ones, each declared once with "applies when concord/algorithm/name is one of ..."
/// (io/deck.cpp adds `name`, `iterations` and `batch_size`).
std::vector<Param> algorithm_deck_parameters();

/// The sub-lists of concord/algorithm: `compression` (mixing::compression_parameters), applying
/// when the algorithm compresses.
std::vector<Section> algorithm_deck_sections();

/// The options of a validated concord/algorithm list: its name and every catalogue parameter
/// present (the deck holds only those that apply, defaults filled in).
AlgorithmOptions algorithm_options(const Tree& algorithm_list);

/// The algorithm's preconditions on the topology (its entry's check_topology). make_algorithm
/// calls it; the driver calls it early, right after building the topology, so that a topology
/// the algorithm cannot use is refused before any data is read.
void check_topology(const AlgorithmOptions& options, const topology::Topology& topology);

}  // namespace concord::algorithms
