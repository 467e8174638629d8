#pragma once
/// \file synthetic.hpp
/// Synthetic data with known structure, generated per agent from the agent's own random stream
/// (so the data of agent i is the same for every number of ranks).
///
/// Least squares with heterogeneity delta: agent i holds m rows a_s ~ N(0, I_d) and targets
///   b_s = a_s . x_i* + noise * eps_s,   x_i* = x* + delta u_i,   x*, u_i ~ N(0, I_d).
/// delta = 0 gives iid agents (all local minimisers near x*); larger delta spreads the local
/// minimisers and raises b^2 = (1/n) sum ||grad f_i(x*)||^2. The exact minimiser of f is not x*
/// (noise, finite m): `LinearModel::compute_solution` solves for it.
///
/// Classification: a mixture of c Gaussian classes N(mu_y, I_F) in F dimensions, class centres
/// mu_k ~ N(0, separation^2 / (2F) I_F), so two centres lie about `separation` noise units apart;
/// labels are uniform over classes and the partitioner (iid, label_sorted, dirichlet) sets the
/// label skew.
#include <cstdint>
#include <vector>

#include "concord/core/agent_layout.hpp"
#include "concord/data/sample_set.hpp"

namespace concord::problems {

/// Rows of a data set plus which rows each global agent holds (empty lists for agents whose
/// rows were not generated on this rank).
struct AssignedSamples {
  data::SampleSet set;
  std::vector<std::vector<std::int64_t>> samples_of;
};

struct LeastSquaresSpec {
  int samples_per_agent = 50;
  int dimension = 10;
  double heterogeneity = 0.0;  ///< delta
  double noise = 0.1;
};

/// The rows of the agents of `layout`'s rank only. Throws InputError for non-positive sizes.
AssignedSamples synthetic_least_squares(const LeastSquaresSpec& spec, const AgentLayout& layout, std::uint64_t seed);

struct ClassificationSpec {
  int samples = 1000;     ///< total over all agents
  int features = 20;
  int classes = 2;
  double separation = 3.0;  ///< distance scale between class centres (in units of the noise)
};

/// Every sample (all agents; the caller partitions them). Sample s is generated from its own
/// stream, so a larger data set extends a smaller one.
data::SampleSet synthetic_classification(const ClassificationSpec& spec, std::uint64_t seed);

}  // namespace concord::problems
