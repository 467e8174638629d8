#pragma once
/// \file registry.hpp
/// The catalogue of topologies by name, with their parameters, defaults and validity rules: one
/// table serves the command line (`concord topology`), input decks and the docs.
///
/// \code
///   auto t = concord::topology::make_topology("base", 12, {{"k", "2"}}, /*seed=*/1);
/// \endcode
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "concord/core/random.hpp"
#include "concord/topology/topology.hpp"

namespace concord::topology {

struct ParameterInfo {
  std::string key;
  std::string type;           ///< "int", "real", "int list", "word", "path"
  std::string default_value;  ///< empty: required; "none": optional, absent unless given
  std::string help;
};

struct TopologyInfo {
  std::string name;
  std::string summary;
  std::string validity;  ///< which n the topology is defined for
  bool time_varying = false;
  bool uses_seed = false;
  std::vector<ParameterInfo> parameters;
};

/// Every topology Concord knows, in a stable order.
const std::vector<TopologyInfo>& topology_catalog();
/// The entry for `name`; InputError listing the valid names otherwise.
const TopologyInfo& topology_info(std::string_view name);

/// Builds topology `name` for `agents` agents. `params` are KEY=VALUE strings (unknown keys,
/// malformed values and values out of range throw InputError naming the key and what is allowed).
Topology make_topology(std::string_view name, int agents, const std::map<std::string, std::string>& params,
                       std::uint64_t seed = default_seed);

}  // namespace concord::topology
