#pragma once
/// \file random_rounds.hpp
/// Random time-varying topologies whose matrix is drawn anew at every iteration k from
/// RandomStream(seed, stream_purpose::topology, <stream below>, k), not a periodic schedule
/// (topology.hpp, Schedule::drawn and Schedule::reweighted). Every rank draws the same W(k).
///
/// Mean-square rate: for W(k) doubly stochastic and drawn independently of the past,
///   E ||x^{k+1} - xbar||^2 <= lambda_2(E[W^T W]) ||x^k - xbar||^2,
/// so lambda_2(E[W^T W]) (= ||E[W^T W] - J||_2) is the rate analysis reports for them
/// (topology/analysis.hpp, mean_square_rate). Definitions: docs/topologies.md.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "concord/topology/topology.hpp"

namespace concord::topology {

/// Second keys (k2) of the drawn topologies' streams RandomStream(seed, stream_purpose::topology,
/// k2, k). Part of reproducibility: keep the values unchanged; distinct from equitopo_stream's.
namespace drawn_stream {
inline constexpr std::uint64_t one_peer_exponential = 16;
inline constexpr std::uint64_t equidyn = 17;
inline constexpr std::uint64_t matching = 18;
}  // namespace drawn_stream

/// Each iteration a hop 2^t, t uniform in [0, ceil(log2 n)): W = (I + P_{2^t})/2, i.e.
/// W(i, i) = W(i, i + 2^t mod n) = 1/2. Pool: the rounds of one_peer_exponential(n). Any n >= 1
/// (n = 1: W = I); doubly stochastic, one peer, directed.
Topology random_one_peer_exponential(int n, std::uint64_t seed);

/// EquiDyn (OD-EquiDyn, complete variant; Song et al., NeurIPS 2022): each iteration a shift a
/// uniform in 1..n-1, W = (1 - eta) I + eta B(a) = (1 - b) I + b P^a with b = eta (n-1)/n.
/// Pool: the n-1 shifts (the same matrices as od_equi_dyn's rounds). n >= 2, eta in (0, 1].
Topology equidyn(int n, double eta, std::uint64_t seed);

/// Base graph of random_matching.
enum class MatchingBase { complete, ring };

/// Pairwise randomized gossip (Boyd et al. 2006, synchronous form): each iteration a random
/// matching of the agents; matched pairs average (W(i,i) = W(i,j) = 1/2), unmatched agents keep
/// their value (W(i,i) = 1).
///  - complete base: a uniformly random perfect matching (n even; n odd: one agent left out, each
///    with probability 1/n): shuffle the agents, pair consecutive ones.
///  - ring base (n >= 3): a random maximal matching of the ring's edges: shuffle the n edges
///    (i, i+1 mod n), take each whose two ends are still free.
/// Reweighted schedule: one pattern (the base graph, self included); rounds()[0] holds E[W].
/// Since W is symmetric with W^2 = W, E[W^T W] = E[W].
Topology random_matching(int n, MatchingBase base, std::uint64_t seed);

/// The matching of random_matching at iteration k: partner[i], or i for an unmatched agent.
/// `scratch` holds at least matching_scratch_size(n, base) ints. No allocation.
void draw_matching(int n, MatchingBase base, std::uint64_t seed, std::int64_t k, std::span<int> partner,
                   std::span<int> scratch);
std::size_t matching_scratch_size(int n, MatchingBase base);

/// E[|M|] / n for the ring's random maximal matching (the probability that a given ring edge is
/// in the matching), exact: E[W] = (1 - q) I + (q / 2)(P + P^T).
double ring_matching_edge_probability(int n);

}  // namespace concord::topology
