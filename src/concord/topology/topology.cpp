#include "concord/topology/topology.hpp"

#include <stdexcept>

namespace concord::topology {

Topology::Topology(std::string name, std::vector<WeightMatrix> rounds, std::string description)
    : name_(std::move(name)), description_(std::move(description)), rounds_(std::move(rounds)) {
  if (rounds_.empty()) throw std::logic_error("concord::topology::Topology '" + name_ + "': no rounds");
  for (const auto& w : rounds_)
    if (w.size() != rounds_.front().size())
      throw std::logic_error("concord::topology::Topology '" + name_ + "': rounds of different sizes");
  if (description_.empty()) description_ = name_;
}

}  // namespace concord::topology
