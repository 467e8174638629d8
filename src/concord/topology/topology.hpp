#pragma once
/// \file topology.hpp
/// A communication topology: n agents and a periodic sequence of mixing matrices
/// W(0), ..., W(p-1); iteration k uses W(k mod p). Static topologies have p = 1.
/// Topologies are pure, deterministic host objects: the same constructor arguments (seed
/// included) give the same matrices on every rank.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "concord/topology/weight_matrix.hpp"

namespace concord::topology {

class Topology {
 public:
  Topology() = default;
  /// `description` is a human-readable line (name and parameters) for reports.
  Topology(std::string name, std::vector<WeightMatrix> rounds, std::string description = {});

  const std::string& name() const { return name_; }
  const std::string& description() const { return description_; }
  int agents() const { return rounds_.empty() ? 0 : rounds_.front().size(); }
  int period() const { return static_cast<int>(rounds_.size()); }
  bool is_static() const { return rounds_.size() == 1; }

  /// W(k mod p) for iteration k >= 0.
  const WeightMatrix& round(std::int64_t k) const { return rounds_[static_cast<std::size_t>(k % period())]; }
  const std::vector<WeightMatrix>& rounds() const { return rounds_; }

 private:
  std::string name_;
  std::string description_;
  std::vector<WeightMatrix> rounds_;
};

}  // namespace concord::topology
