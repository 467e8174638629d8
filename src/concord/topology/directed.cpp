#include "concord/topology/directed.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "concord/core/error.hpp"
#include "concord/core/random.hpp"

namespace concord::topology {
namespace {

/// Agents reached from agent 0 along the arcs of `adj` (BFS).
std::size_t reached_from_zero(const std::vector<std::vector<int>>& adj) {
  std::vector<char> seen(adj.size(), 0);
  std::vector<int> queue{0};
  seen[0] = 1;
  for (std::size_t head = 0; head < queue.size(); ++head)
    for (int next : adj[static_cast<std::size_t>(queue[head])])
      if (!seen[static_cast<std::size_t>(next)]) {
        seen[static_cast<std::size_t>(next)] = 1;
        queue.push_back(next);
      }
  return queue.size();
}

}  // namespace

Topology directed_random(int n, int out_degree, std::uint64_t seed) {
  if (n < 1) throw InputError("directed_random: agents must be >= 1, got " + std::to_string(n));
  if (out_degree < 0)
    throw InputError("directed_random: out_degree=" + std::to_string(out_degree) + " out of range: allowed >= 0");
  if (out_degree > 0 && n < out_degree + 2)
    throw InputError("directed_random: not defined for n=" + std::to_string(n) + " with out_degree=" +
                     std::to_string(out_degree) + ": an agent has only n - 2 = " + std::to_string(std::max(n - 2, 0)) +
                     " candidates besides itself and its ring successor; use n >= out_degree + 2 or a smaller "
                     "out_degree");
  MatrixBuilder b(n);
  std::vector<int> targets;
  for (int j = 0; j < n; ++j) {
    targets.clear();
    if (n > 1) targets.push_back((j + 1) % n);
    // One stream per sender: agent j's draws do not depend on the other agents'.
    RandomStream rng(seed, stream_purpose::topology, 0x44520000ULL /* "DR" */, static_cast<std::uint64_t>(j));
    while (static_cast<int>(targets.size()) < (n > 1 ? 1 : 0) + out_degree) {
      const int i = static_cast<int>(rng.uniform_int(0, n - 1));
      if (i != j && std::find(targets.begin(), targets.end(), i) == targets.end()) targets.push_back(i);
    }
    const double w = 1.0 / static_cast<double>(targets.size() + 1);
    b.set(j, j, w);
    for (int i : targets) b.set(i, j, w);
  }
  std::vector<WeightMatrix> rounds;
  rounds.push_back(std::move(b).build());
  return Topology("directed_random", std::move(rounds),
                  "directed_random(n=" + std::to_string(n) + ", out_degree=" + std::to_string(out_degree) +
                      ", seed=" + std::to_string(seed) + ")");
}

bool strongly_connected(const WeightMatrix& w) {
  const int n = w.size();
  if (n <= 1) return true;
  // Row i lists the agents i receives from (arcs j -> i): `in` follows arcs backwards.
  std::vector<std::vector<int>> out(static_cast<std::size_t>(n)), in(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto cols = w.row_cols(i);
    auto vals = w.row_weights(i);
    for (std::size_t k = 0; k < cols.size(); ++k)
      if (cols[k] != i && vals[k] != 0.0) {
        out[static_cast<std::size_t>(cols[k])].push_back(i);
        in[static_cast<std::size_t>(i)].push_back(cols[k]);
      }
  }
  const auto all = static_cast<std::size_t>(n);
  return reached_from_zero(out) == all && reached_from_zero(in) == all;
}

}  // namespace concord::topology
