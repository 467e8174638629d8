#pragma once
/// \file equitopo.hpp
/// EquiTopo graphs (Song et al., NeurIPS 2022): n-independent consensus rates with O(1) degree.
/// Basis matrix for hop a in 1..n-1: B(a)(i,i) = 1/n, B(a)(i, (i+a) mod n) = (n-1)/n.
/// All random draws come from `concord::RandomStream(seed, stream_purpose::topology, ...)`, so
/// every rank builds the same matrices. Definitions: docs/topologies.md.
///
/// Every function needs n >= 2 and hops in 1..n-1; invalid parameters throw `concord::InputError`.
#include <cstdint>
#include <vector>

#include "concord/topology/topology.hpp"

namespace concord::topology {

/// Second keys (k2) of the EquiTopo streams `RandomStream(seed, stream_purpose::topology, k2, k3)`.
/// Part of reproducibility: keep the values unchanged.
namespace equitopo_stream {
/// `draw_equitopo_hops`: one stream (k3 = 0), the M hops are its first M draws.
inline constexpr std::uint64_t static_hops = 1;
/// OD/OU-EquiDyn: one stream per round (k3 = round index). Its first draw is the round's hop,
/// its second (OU only) the matching's start, so round r does not depend on the other rounds and
/// OD and OU with the same seed and hops use the same hop sequence.
inline constexpr std::uint64_t dynamic_round = 2;
}  // namespace equitopo_stream

/// The basis matrix B(a).
WeightMatrix equitopo_basis(int n, int hop);
/// M hops drawn i.i.d. uniform from {1..n-1} (repeats allowed) from the seeded stream.
std::vector<int> draw_equitopo_hops(int n, int M, std::uint64_t seed);
/// The paper's default number of hops M = floor(8 ln(2n/p) / (3 eps^2)) (at least 1), for
/// success probability 1 - p of rho <= eps. Needs p in (0, 1) and eps > 0.
int default_equitopo_hop_count(int n, double p = 0.1, double eps = 0.5);

/// D-EquiStatic: W = (1/M) sum_m B(a_m) (directed, out-degree <= M).
Topology equi_static(int n, const std::vector<int>& hops);
/// U-EquiStatic: W = (1/(2M)) sum_m (B(a_m) + B(a_m)^T) (symmetric, degree <= 2M).
Topology u_equi_static(int n, const std::vector<int>& hops);

/// OD-EquiDyn: a period of `rounds` matrices; round r draws one hop a (uniformly from `hops`,
/// or from {1..n-1} when `hops` is empty, i.e. the "complete" variant) and uses
/// W = (1 - eta) I + eta B(a).
Topology od_equi_dyn(int n, const std::vector<int>& hops, double eta, int rounds, std::uint64_t seed);
/// OU-EquiDyn: as OD-EquiDyn, but round r draws a hop a and a start s and matches agents
/// (visiting s, s+1, ..., cyclically, i with i + a if both unmatched); a matched pair mixes with
/// I/n + ((n-1)/n) P, then W <- (1 - eta) I + eta W. Symmetric, one peer per round.
Topology ou_equi_dyn(int n, const std::vector<int>& hops, double eta, int rounds, std::uint64_t seed);

/// The OU-EquiDyn matching for hop a and start s in 0..n-1: visiting i = s, s+1, ..., n-1, 0, ...,
/// s-1, agent i is matched with (i + a) mod n when both are still unmatched. Returns partner[i],
/// or i itself for an agent left unmatched.
std::vector<int> ou_equitopo_matching(int n, int hop, int start);

}  // namespace concord::topology
