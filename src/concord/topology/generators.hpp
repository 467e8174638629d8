#pragma once
/// \file generators.hpp
/// Constructors of the classic topologies (the lecture's graphs). Each returns a `Topology`
/// whose matrices follow the convention W(i, j) = weight agent i gives to agent j.
/// Invalid parameters throw `concord::InputError` naming the parameter and what is allowed.
/// Definitions: docs/topologies.md.
#include <cstdint>

#include "concord/topology/graph.hpp"
#include "concord/topology/topology.hpp"

namespace concord::topology {

/// W(i,i-1) = W(i,i) = W(i,i+1) = 1/3 (indices mod n; for n = 2 the two neighbors coincide).
Topology ring(int n);
/// 2D grid rows x cols without wrap-around (agent i sits at row i / cols, column i % cols).
Topology grid(int rows, int cols, WeightRule rule = WeightRule::metropolis_hastings);
/// 2D torus rows x cols (grid with wrap-around).
Topology torus(int rows, int cols, WeightRule rule = WeightRule::metropolis_hastings);
/// Erdős–Rényi G(n, p): each edge with probability p, re-drawn until connected (at most
/// `max_draws` draws). The number of draws used is reported in the description.
Topology erdos_renyi(int n, double p, std::uint64_t seed, WeightRule rule = WeightRule::metropolis_hastings,
                     int max_draws = 1000);
/// Random geometric graph: n points uniform in the unit square, edge when distance <= radius;
/// re-drawn until connected.
Topology geometric(int n, double radius, std::uint64_t seed, WeightRule rule = WeightRule::metropolis_hastings,
                   int max_draws = 1000);
/// Static exponential graph of base b >= 2: agent i receives from i + b^m (mod n) for every
/// b^m < n, with weight 1/(tau + 1) (tau = number of hops = ceil(log_b n)), self included.
Topology exponential(int n, int base = 2);
/// One-peer exponential graph: tau = ceil(log2 n) rounds; round k: W(i,i) = 1/2,
/// W(i, (i + 2^k) mod n) = 1/2.
Topology one_peer_exponential(int n);
/// One-peer hypercube (n = 2^tau): round k pairs i with i XOR 2^k, weights 1/2.
Topology one_peer_hypercube(int n);
/// Star graph around agent 0 (Metropolis-Hastings weights: the parameter-server picture).
Topology star(int n);
/// Complete graph, W = (1/n) 1 1^T.
Topology complete(int n);

/// Hops b^0, b^1, ... < n, computed in exact integer arithmetic.
std::vector<std::int64_t> power_hops(std::int64_t n, std::int64_t base);
/// ceil(log2 n) in exact integer arithmetic (0 for n = 1).
int ceil_log2(std::int64_t n);

}  // namespace concord::topology
