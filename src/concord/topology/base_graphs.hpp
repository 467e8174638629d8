#pragma once
/// \file base_graphs.hpp
/// Base-(k+1) graphs (Takezawa et al., NeurIPS 2023): time-varying topologies of maximum degree
/// k whose period product is exactly J = (1/n) 1 1^T (finite-time consensus) — for every n
/// for `base`. Exact integer arithmetic throughout. Definitions: docs/topologies.md.
#include <cstdint>
#include <vector>

#include "concord/topology/topology.hpp"

namespace concord::topology {

/// True iff every prime factor of n is <= k + 1 (HHC(n, k) is defined); false for n < 1 or k < 1.
bool hyper_hypercube_defined(std::int64_t n, int k);
/// k-peer hyper-hypercube HHC(n, k); InputError when a prime factor of n exceeds k + 1.
Topology hyper_hypercube(int n, int k);
/// Simple Base-(k+1) graph SBG(n, k), defined for every n >= 1, k >= 1.
Topology simple_base(int n, int k);
/// Base-(k+1) graph BG(n, k): the shorter of SBG(n, k) and the block/stride construction.
Topology base(int n, int k);

/// The rounds alone (for composing constructions).
std::vector<WeightMatrix> hyper_hypercube_rounds(int n, int k);
std::vector<WeightMatrix> simple_base_rounds(int n, int k);
std::vector<WeightMatrix> base_rounds(int n, int k);

}  // namespace concord::topology
