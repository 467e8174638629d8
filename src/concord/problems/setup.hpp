#pragma once
/// \file setup.hpp
/// From a description of the data and the model to a ready `Problem` on every rank: reads or
/// generates the data, partitions it over the agents (the same assignment for every number of
/// ranks), copies the local agents' samples to the device and, for least squares, computes x*.
///
/// \code
///   concord::problems::ProblemSpec spec;
///   spec.name = "logistic_regression";
///   spec.data.source = "fashion_mnist";
///   spec.data.partition.kind = concord::data::PartitionKind::dirichlet;
///   spec.batch = 32;
///   auto problem = concord::problems::make_problem(spec, layout, transport, /*seed=*/1);
/// \endcode
#include <memory>
#include <string>
#include <vector>

#include "concord/comm/transport.hpp"
#include "concord/data/partition.hpp"
#include "concord/problems/mlp.hpp"
#include "concord/problems/problem.hpp"
#include "concord/problems/synthetic.hpp"

namespace concord::problems {

struct DataSpec {
  /// "synthetic", "hdf5", "libsvm" or "fashion_mnist".
  std::string source = "synthetic";
  std::string file;       ///< hdf5 / libsvm: the training file
  std::string test_file;  ///< optional held-out file of the same kind (fashion_mnist: its test split)
  std::string directory;  ///< fashion_mnist: where the IDX files are ("" = Debian's location)
  std::int64_t max_samples = 0;  ///< use only the first max_samples training rows (0 = all)
  data::PartitionSpec partition;  ///< ignored for synthetic least squares (one block per agent)
  LeastSquaresSpec least_squares;          ///< synthetic least squares
  ClassificationSpec classification;       ///< synthetic classification
};

struct ProblemSpec {
  /// "least_squares", "logistic_regression" (binary for 2 classes, multinomial otherwise) or "mlp".
  std::string name = "least_squares";
  DataSpec data;
  int batch = 0;        ///< minibatch per agent (0 = full local gradient)
  /// The records' metrics on a fixed subset of this many samples per agent (0 = all samples).
  std::int64_t evaluation_samples = 0;
  double l2 = 0.0;
  bool bias = true;     ///< logistic regression: fit an intercept
  std::vector<int> hidden = {32};  ///< mlp
  Activation activation = Activation::relu;  ///< mlp
};

/// Names accepted in ProblemSpec::name and DataSpec::source (the catalogues' entries, catalog.hpp).
std::vector<std::string> problem_names();
std::vector<std::string> data_sources();

/// Builds the problem through its catalogue entry (catalog.hpp). Collective over the transport's ranks (least squares solves for x* with a ReproducibleSum).
/// Throws InputError for an unknown name or source, unusable data, or bad sizes, before any
/// iteration runs.
std::unique_ptr<Problem> make_problem(const ProblemSpec& spec, const AgentLayout& layout,
                                      std::shared_ptr<comm::Transport> transport, std::uint64_t seed);

}  // namespace concord::problems
