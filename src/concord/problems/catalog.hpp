#pragma once
/// \file catalog.hpp
/// The catalogues of problems and of data sources: one entry each, declaring its name, a
/// summary, its parameters (bound to the ProblemSpec / DataSpec members they set) and its
/// factory or loader. The deck's `concord/problem` and `concord/problem/data` lists,
/// `concord deck --reference` and docs/deck-reference.md are generated from them, as the
/// topology catalogue (topology/registry.hpp) serves the topologies.
///
/// Adding a data source: its entry in catalog.cpp (a loader returning the training set and an
/// optional held-out set) and its test. Adding a problem: its class, its entry, its test.
/// \code
///   auto spec = concord::problems::problem_spec(deck.at("problem"));
///   auto problem = concord::problems::make_problem(spec, layout, transport, seed);
/// \endcode
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "concord/core/parameters.hpp"
#include "concord/data/sample_set.hpp"
#include "concord/problems/setup.hpp"

namespace concord::problems {

/// What a data source delivers: the training samples and, when the source has one, a held-out set.
struct LoadedData {
  data::SampleSet train;
  std::optional<data::SampleSet> test;
};

struct DataSourceInfo {
  std::string name;
  std::string summary;
  /// Its parameters under concord/problem/data (a parameter may add its own condition, e.g. the
  /// synthetic generator's sizes depend on the problem).
  std::vector<parameters::Bound<DataSpec>> parameters;
  /// Reads or generates the samples for a task (before max_samples is applied).
  std::function<LoadedData(const DataSpec&, data::Task, std::uint64_t seed)> load;
};

struct ProblemInfo {
  std::string name;
  std::string summary;
  data::Task task = data::Task::classification;  ///< what its data must hold: targets or labels
  /// Its own parameters under concord/problem, beyond those every problem takes (l2).
  std::vector<parameters::Bound<ProblemSpec>> parameters;
  /// Builds the problem on this rank (collective over the transport's ranks).
  std::function<std::unique_ptr<Problem>(const ProblemSpec&, const AgentLayout&, std::shared_ptr<comm::Transport>,
                                         std::uint64_t seed)>
      make;
};

const std::vector<ProblemInfo>& problem_catalog();
/// The entry for `name`; InputError listing the known names otherwise.
const ProblemInfo& problem_info(std::string_view name);
const std::vector<DataSourceInfo>& data_source_catalog();
const DataSourceInfo& data_source_info(std::string_view name);

/// The parameters every problem takes (l2), bound to ProblemSpec.
const std::vector<parameters::Bound<ProblemSpec>>& common_problem_parameters();
/// How the samples are spread over the agents (partition, alpha), bound to DataSpec::partition:
/// they apply to every source except synthetic least squares (one generated block per agent).
const std::vector<parameters::Bound<DataSpec>>& partition_parameters();

/// Deck declarations of concord/problem's catalogue parameters (after `name`) and of
/// concord/problem/data's (after `source`), each declared once with the entries it applies to.
std::vector<Param> problem_deck_parameters();
std::vector<Param> data_deck_parameters();

/// The spec of a validated concord/problem list (its data list included). The run's own settings
/// (batch, evaluation_samples) are set by the caller.
ProblemSpec problem_spec(const Tree& problem_list);

/// The data of `spec` for `task`: the source's samples, cut to max_samples, the held-out set's
/// features checked against the training set's.
LoadedData load_data(const DataSpec& spec, data::Task task, std::uint64_t seed);

}  // namespace concord::problems
