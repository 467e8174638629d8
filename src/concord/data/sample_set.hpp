#pragma once
/// \file sample_set.hpp
/// Samples on the host, as read from a file or generated: the common currency of the data layer.
///
/// A `SampleSet` holds every sample of a data set (all agents' data, not only this rank's):
/// readers fill it, partitioners assign its rows to agents, and `problems::AgentData` copies the
/// rows of this rank's agents to the device. Features are row-major (samples x features).
///
/// Two kinds of targets:
///  - regression: `targets` (one double per sample), `classes == 0`, `labels` empty;
///  - classification: `labels` (one int in [0, classes) per sample), `targets` empty.
/// `owner`, when not empty, is the agent of each sample as given by the file (HDF5 `/owner`); the
/// partitioner is then not used.
#include <cstdint>
#include <string>
#include <vector>

namespace concord::data {

enum class Task { regression, classification };

struct SampleSet {
  std::string name;             ///< where the data came from (for messages and logs)
  std::int64_t samples = 0;     ///< rows
  int features = 0;             ///< columns
  std::vector<double> x;        ///< samples * features values, row-major
  std::vector<double> targets;  ///< regression targets (empty for classification)
  std::vector<int> labels;      ///< class labels in [0, classes) (empty for regression)
  int classes = 0;              ///< number of classes (0 for regression)
  std::vector<int> owner;       ///< agent of each sample, or empty

  Task task() const { return classes > 0 ? Task::classification : Task::regression; }
  const double* row(std::int64_t s) const { return x.data() + s * features; }

  /// Checks the invariants above and that every value is finite; throws `InputError` naming
  /// `name`, the first offending sample and what is allowed. `agents` > 0 also checks that
  /// owners lie in [0, agents).
  void validate(int agents = 0) const;
};

}  // namespace concord::data
