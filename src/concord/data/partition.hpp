#pragma once
/// \file partition.hpp
/// Which samples each agent holds. Seeded and independent of the number of ranks: every rank
/// computes the same assignment from the whole label vector, then keeps its agents' rows.
#include <cstdint>
#include <string>
#include <vector>

#include "concord/core/parameters.hpp"

#include "concord/data/sample_set.hpp"

namespace concord::data {

enum class PartitionKind {
  iid,           ///< shuffled, equal shares (the first m mod n agents get one more)
  label_sorted,  ///< samples sorted by label (ties shuffled), cut into n equal contiguous shares:
                 ///< each agent sees about max(1, c / n) classes
  dirichlet      ///< per class, shares drawn from Dirichlet(alpha) over agents (small alpha:
                 ///< strong label skew); every agent gets at least one sample
};

struct PartitionSpec {
  PartitionKind kind = PartitionKind::iid;
  double alpha = 0.5;  ///< Dirichlet concentration (> 0), used by `dirichlet`
};

/// Parses "iid", "label_sorted", "dirichlet"; InputError listing those otherwise.
/// The partitions' names ("iid", "label_sorted", "dirichlet"): the deck's allowed words and the parser.
const parameters::Words<PartitionKind>& partition_kinds();
/// partition_kinds().parse(name): InputError naming the allowed names otherwise.
PartitionKind parse_partition_kind(const std::string& name);
std::string to_string(PartitionKind kind);

/// samples_of[a] = the sample indices of agent a, in increasing order. Uses `set.owner` when it is
/// not empty (the spec is then ignored). Throws `InputError` when there are fewer samples than
/// agents, an agent would get no sample, or label-based kinds are asked for regression data.
std::vector<std::vector<std::int64_t>> partition(const SampleSet& set, int agents, const PartitionSpec& spec,
                                                 std::uint64_t seed);

}  // namespace concord::data
