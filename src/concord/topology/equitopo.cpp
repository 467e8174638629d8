#include "concord/topology/equitopo.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>

#include "concord/core/error.hpp"
#include "concord/core/format.hpp"
#include "concord/core/random.hpp"

namespace concord::topology {

namespace {

/// "[3, 3, 5]", or "complete" for the empty list of the dynamic variants.
std::string format_hops(const std::vector<int>& hops) {
  if (hops.empty()) return "complete";
  std::string s = "[";
  for (std::size_t m = 0; m < hops.size(); ++m) s += (m ? ", " : "") + std::to_string(hops[m]);
  return s + "]";
}

void check_agents(const char* who, int n) {
  if (n < 2)
    throw InputError(std::string(who) + ": n=" + std::to_string(n) +
                     " out of range: EquiTopo needs n >= 2 agents (hops are drawn from 1..n-1)");
}

void check_hop(const char* who, int n, int hop) {
  if (hop < 1 || hop > n - 1)
    throw InputError(std::string(who) + ": hop " + std::to_string(hop) + " out of range for n=" + std::to_string(n) +
                     ": hops must be in 1.." + std::to_string(n - 1));
}

/// n >= 2 and every hop in 1..n-1; an empty list only where `allow_empty` (the "complete" variant).
void check_hops(const char* who, int n, const std::vector<int>& hops, bool allow_empty) {
  check_agents(who, n);
  if (hops.empty() && !allow_empty)
    throw InputError(std::string(who) + ": empty hop list: give at least one hop in 1.." + std::to_string(n - 1));
  for (int hop : hops) check_hop(who, n, hop);
}

void check_dynamic(const char* who, int n, const std::vector<int>& hops, double eta, int rounds) {
  check_hops(who, n, hops, /*allow_empty=*/true);
  if (!(eta > 0.0 && eta <= 1.0))  // also rejects NaN
    throw InputError(std::string(who) + ": eta=" + shortest(eta) + " out of range: eta must be in (0, 1]");
  if (rounds < 1)
    throw InputError(std::string(who) + ": rounds=" + std::to_string(rounds) + " out of range: rounds must be >= 1");
}

/// The circulant matrix W(i, (i + d) mod n) = offset_weight[d] for d in 0..n-1. Every EquiTopo
/// matrix but OU's is circulant; zero weights are not stored.
WeightMatrix circulant(const std::vector<double>& offset_weight) {
  const int n = static_cast<int>(offset_weight.size());
  MatrixBuilder b(n);
  for (int d = 0; d < n; ++d)
    if (offset_weight[d] != 0.0)
      for (int i = 0; i < n; ++i) b.set(i, (i + d) % n, offset_weight[d]);
  return std::move(b).build();
}

/// How many times each hop d in 0..n-1 occurs in `hops` (multiplicities count in the sums).
std::vector<int> hop_counts(int n, const std::vector<int>& hops) {
  std::vector<int> count(static_cast<std::size_t>(n), 0);
  for (int hop : hops) ++count[hop];
  return count;
}

/// The hop of one dynamic round: the stream's next draw, uniform over the entries of `hops` (a
/// repeated entry is proportionally more likely), or over 1..n-1 when `hops` is empty.
int draw_round_hop(RandomStream& rng, int n, const std::vector<int>& hops) {
  if (hops.empty()) return static_cast<int>(rng.uniform_int(1, n - 1));
  return hops[static_cast<std::size_t>(rng.uniform_int(0, static_cast<std::int64_t>(hops.size()) - 1))];
}

std::string dynamic_description(const char* name, int n, const std::vector<int>& hops, double eta, int rounds,
                                std::uint64_t seed) {
  return std::string(name) + "(n=" + std::to_string(n) + ", eta=" + shortest(eta) + ", hops=" + format_hops(hops) +
         ", rounds=" + std::to_string(rounds) + ", seed=" + std::to_string(seed) + ")";
}

}  // namespace

WeightMatrix equitopo_basis(int n, int hop) {
  check_agents("equitopo_basis", n);
  check_hop("equitopo_basis", n, hop);
  std::vector<double> offset_weight(static_cast<std::size_t>(n), 0.0);
  offset_weight[0] = 1.0 / n;
  offset_weight[hop] = static_cast<double>(n - 1) / n;
  return circulant(offset_weight);
}

std::vector<int> draw_equitopo_hops(int n, int M, std::uint64_t seed) {
  check_agents("draw_equitopo_hops", n);
  if (M < 1)
    throw InputError("draw_equitopo_hops: M=" + std::to_string(M) + " out of range: the number of hops M must be >= 1");
  RandomStream rng(seed, stream_purpose::topology, equitopo_stream::static_hops, 0);
  std::vector<int> hops(static_cast<std::size_t>(M));
  for (int& hop : hops) hop = static_cast<int>(rng.uniform_int(1, n - 1));
  return hops;
}

int default_equitopo_hop_count(int n, double p, double eps) {
  check_agents("default_equitopo_hop_count", n);
  if (!(p > 0.0 && p < 1.0))
    throw InputError("default_equitopo_hop_count: p=" + shortest(p) +
                     " out of range: the failure probability p must be in (0, 1)");
  if (!(eps > 0.0))
    throw InputError("default_equitopo_hop_count: eps=" + shortest(eps) +
                     " out of range: the target rate eps must be > 0");
  const double m = std::floor(8.0 * std::log(2.0 * n / p) / (3.0 * eps * eps));
  if (!(m <= std::numeric_limits<int>::max()))
    throw InputError("default_equitopo_hop_count: eps=" + shortest(eps) + " too small: M = " + shortest(m) +
                     " hops does not fit an int; choose a larger eps or give M explicitly");
  return std::max(1, static_cast<int>(m));
}

Topology equi_static(int n, const std::vector<int>& hops) {
  check_hops("equi_static", n, hops, /*allow_empty=*/false);
  // (1/M) sum_m B(a_m): each B contributes 1/n to the diagonal and (n-1)/n to offset a_m.
  const std::vector<int> count = hop_counts(n, hops);
  const double M = static_cast<double>(hops.size());
  std::vector<double> offset_weight(static_cast<std::size_t>(n), 0.0);
  offset_weight[0] = 1.0 / n;
  for (int d = 1; d < n; ++d) offset_weight[d] = static_cast<double>(n - 1) * count[d] / (n * M);
  return Topology("equi_static", {circulant(offset_weight)},
                  "equi_static(n=" + std::to_string(n) + ", M=" + std::to_string(hops.size()) +
                      ", hops=" + format_hops(hops) + ")");
}

Topology u_equi_static(int n, const std::vector<int>& hops) {
  check_hops("u_equi_static", n, hops, /*allow_empty=*/false);
  // B(a)^T puts (n-1)/n on offset n - a, so offset d collects the hops d and n - d. The integer
  // sum count[d] + count[n - d] is the same for d and n - d: the matrix is exactly symmetric.
  const std::vector<int> count = hop_counts(n, hops);
  const double M = static_cast<double>(hops.size());
  std::vector<double> offset_weight(static_cast<std::size_t>(n), 0.0);
  offset_weight[0] = 1.0 / n;
  for (int d = 1; d < n; ++d) offset_weight[d] = static_cast<double>(n - 1) * (count[d] + count[n - d]) / (2.0 * n * M);
  return Topology("u_equi_static", {circulant(offset_weight)},
                  "u_equi_static(n=" + std::to_string(n) + ", M=" + std::to_string(hops.size()) +
                      ", hops=" + format_hops(hops) + ")");
}

Topology od_equi_dyn(int n, const std::vector<int>& hops, double eta, int rounds, std::uint64_t seed) {
  check_dynamic("od_equi_dyn", n, hops, eta, rounds);
  // (1 - eta) I + eta B(a) = (1 - b) I + b P^a with b = eta (n-1)/n: one peer, weight b.
  const double b = eta * (n - 1) / n;
  std::vector<WeightMatrix> mats;
  mats.reserve(static_cast<std::size_t>(rounds));
  for (int r = 0; r < rounds; ++r) {
    RandomStream rng(seed, stream_purpose::topology, equitopo_stream::dynamic_round, static_cast<std::uint64_t>(r));
    std::vector<double> offset_weight(static_cast<std::size_t>(n), 0.0);
    offset_weight[0] = 1.0 - b;
    offset_weight[draw_round_hop(rng, n, hops)] = b;
    mats.push_back(circulant(offset_weight));
  }
  return Topology("od_equi_dyn", std::move(mats), dynamic_description("od_equi_dyn", n, hops, eta, rounds, seed));
}

std::vector<int> ou_equitopo_matching(int n, int hop, int start) {
  check_agents("ou_equitopo_matching", n);
  check_hop("ou_equitopo_matching", n, hop);
  if (start < 0 || start > n - 1)
    throw InputError("ou_equitopo_matching: start " + std::to_string(start) +
                     " out of range for n=" + std::to_string(n) + ": start must be in 0.." + std::to_string(n - 1));
  std::vector<int> partner(static_cast<std::size_t>(n));
  std::vector<char> matched(static_cast<std::size_t>(n), 0);
  for (int i = 0; i < n; ++i) partner[i] = i;
  for (int k = 0; k < n; ++k) {
    const int i = (start + k) % n;
    const int j = (i + hop) % n;  // j != i since 1 <= hop <= n-1
    if (matched[i] || matched[j]) continue;
    partner[i] = j;
    partner[j] = i;
    matched[i] = matched[j] = 1;
  }
  return partner;
}

Topology ou_equi_dyn(int n, const std::vector<int>& hops, double eta, int rounds, std::uint64_t seed) {
  check_dynamic("ou_equi_dyn", n, hops, eta, rounds);
  // A matched pair mixes with (1 - eta) I + eta (I/n + ((n-1)/n) P) = (1 - b) I + b P on the pair,
  // b = eta (n-1)/n; an unmatched agent keeps its value (weight 1).
  const double b = eta * (n - 1) / n;
  std::vector<WeightMatrix> mats;
  mats.reserve(static_cast<std::size_t>(rounds));
  for (int r = 0; r < rounds; ++r) {
    RandomStream rng(seed, stream_purpose::topology, equitopo_stream::dynamic_round, static_cast<std::uint64_t>(r));
    const int hop = draw_round_hop(rng, n, hops);
    const int start = static_cast<int>(rng.uniform_int(0, n - 1));
    const std::vector<int> partner = ou_equitopo_matching(n, hop, start);
    MatrixBuilder w(n);
    for (int i = 0; i < n; ++i) {
      if (partner[i] == i) {
        w.set(i, i, 1.0);
      } else {
        w.set(i, i, 1.0 - b);
        w.set(i, partner[i], b);
      }
    }
    mats.push_back(std::move(w).build());
  }
  return Topology("ou_equi_dyn", std::move(mats), dynamic_description("ou_equi_dyn", n, hops, eta, rounds, seed));
}

}  // namespace concord::topology
