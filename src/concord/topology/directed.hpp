#pragma once
/// \file directed.hpp
/// Directed topologies whose mixing matrices are column-stochastic but not doubly stochastic:
/// the graphs of push-sum SGD and push-pull gradient tracking. Each sender j splits its mass
/// among itself and its out-neighbours, so sum_i W(i, j) = 1 while the row sums (in-degrees)
/// vary. The doubly-stochastic algorithms refuse them (analysis.hpp: require_stochasticity).
/// Definitions: docs/topologies.md.
#include <cstdint>

#include "concord/topology/topology.hpp"

namespace concord::topology {

/// A strongly connected random directed graph: every agent j sends to j + 1 (mod n, the directed
/// ring) and to `out_degree` further distinct agents drawn from the seed; W(i, j) = 1/(d_j + 1)
/// for each out-neighbour i of j and for i = j, d_j = out_degree + 1 (n >= 2). InputError unless
/// n >= out_degree + 2 (out_degree = 0: any n >= 1).
Topology directed_random(int n, int out_degree, std::uint64_t seed);

/// Strong connectivity of the pattern of W (an arc j -> i for every stored W(i, j) != 0): every
/// agent reaches every other one along the arcs, and is reached by every other one.
bool strongly_connected(const WeightMatrix& w);

}  // namespace concord::topology
