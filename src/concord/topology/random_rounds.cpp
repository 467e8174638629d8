#include "concord/topology/random_rounds.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "concord/core/error.hpp"
#include "concord/core/format.hpp"
#include "concord/core/random.hpp"
#include "concord/topology/generators.hpp"

namespace concord::topology {

namespace {

/// Fisher-Yates shuffle of 0..m-1 into perm[0..m) from `rng` (m - 1 draws).
void shuffle(RandomStream& rng, int m, std::span<int> perm) {
  for (int i = 0; i < m; ++i) perm[static_cast<std::size_t>(i)] = i;
  for (int i = m - 1; i > 0; --i) {
    const auto j = static_cast<std::size_t>(rng.uniform_int(0, i));
    std::swap(perm[static_cast<std::size_t>(i)], perm[j]);
  }
}

const char* base_name(MatchingBase base) { return base == MatchingBase::complete ? "complete" : "ring"; }

/// The reweighted schedule of random_matching: the base graph's pattern, W(k) from the matching.
class MatchingDraw final : public WeightDraw {
 public:
  MatchingDraw(int n, MatchingBase base, std::uint64_t seed, WeightMatrix expected)
      : n_(n), base_(base), seed_(seed), expected_(std::move(expected)) {}

  std::size_t scratch_size() const override {
    return static_cast<std::size_t>(n_) + matching_scratch_size(n_, base_);
  }

  void fill(std::int64_t k, const WeightMatrix& pattern, int first_row, int last_row, std::span<double> values,
            std::span<int> scratch) const override {
    const auto n = static_cast<std::size_t>(n_);
    const std::span<int> partner = scratch.first(n);
    draw_matching(n_, base_, seed_, k, partner, scratch.subspan(n));
    std::size_t v = 0;
    for (int i = first_row; i < last_row; ++i) {
      const int p = partner[static_cast<std::size_t>(i)];
      for (int j : pattern.row_cols(i)) values[v++] = j == i ? (p == i ? 1.0 : 0.5) : (j == p ? 0.5 : 0.0);
    }
  }

  /// W symmetric with W^2 = W (a pair's block [1/2 1/2; 1/2 1/2] is a projection), so E[W^T W] = E[W].
  WeightMatrix expected_gram() const override { return expected_; }

 private:
  int n_;
  MatchingBase base_;
  std::uint64_t seed_;
  WeightMatrix expected_;
};

/// E[W] of random_matching on the complete graph: P(i matched with j) = 1/(n-1) for n even, 1/n
/// for n odd (one agent of n is left out), the same for every pair.
WeightMatrix expected_complete_matching(int n) {
  if (n == 1) return WeightMatrix::identity(1);
  const double off = n % 2 == 0 ? 0.5 / (n - 1) : 0.5 / n;
  const double diag = n % 2 == 0 ? 0.5 : (n + 1) / (2.0 * n);  // unmatched (1/n): 1, matched: 1/2
  MatrixBuilder b(n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) b.set(i, j, i == j ? diag : off);
  return std::move(b).build();
}

/// E[W] of random_matching on the ring: every edge is in the matching with probability q.
WeightMatrix expected_ring_matching(int n) {
  const double q = ring_matching_edge_probability(n);
  MatrixBuilder b(n);
  for (int i = 0; i < n; ++i) {
    b.set(i, i, 1.0 - q);  // matched (2q: two incident edges, disjoint events) with weight 1/2
    b.set(i, (i + 1) % n, q / 2);
    b.set(i, (i + n - 1) % n, q / 2);
  }
  return std::move(b).build();
}

}  // namespace

Topology random_one_peer_exponential(int n, std::uint64_t seed) {
  Topology pool = one_peer_exponential(n);
  return Topology::drawn("random_one_peer_exponential", pool.rounds(), seed, drawn_stream::one_peer_exponential,
                         "random_one_peer_exponential(n=" + std::to_string(n) + ", seed=" + std::to_string(seed) + ")");
}

Topology equidyn(int n, double eta, std::uint64_t seed) {
  if (n < 2)
    throw InputError("equidyn: n=" + std::to_string(n) + " out of range: EquiDyn needs n >= 2 agents (shifts 1..n-1)");
  if (!(eta > 0.0 && eta <= 1.0))
    throw InputError("equidyn: eta=" + shortest(eta) + " out of range: eta must be in (0, 1]");
  // (1 - eta) I + eta B(a) = (1 - b) I + b P^a, b = eta (n-1)/n: the values od_equi_dyn stores.
  const double b = eta * (n - 1) / n;
  std::vector<WeightMatrix> pool;
  pool.reserve(static_cast<std::size_t>(n - 1));
  for (int a = 1; a < n; ++a) {
    MatrixBuilder w(n);
    for (int i = 0; i < n; ++i) {
      w.set(i, i, 1.0 - b);
      w.set(i, (i + a) % n, b);
    }
    pool.push_back(std::move(w).build());
  }
  return Topology::drawn("equidyn", std::move(pool), seed, drawn_stream::equidyn,
                         "equidyn(n=" + std::to_string(n) + ", eta=" + shortest(eta) + ", seed=" + std::to_string(seed) +
                             ")");
}

std::size_t matching_scratch_size(int n, MatchingBase /*base*/) { return static_cast<std::size_t>(n); }

void draw_matching(int n, MatchingBase base, std::uint64_t seed, std::int64_t k, std::span<int> partner,
                   std::span<int> scratch) {
  RandomStream rng(seed, stream_purpose::topology, drawn_stream::matching, static_cast<std::uint64_t>(k));
  for (int i = 0; i < n; ++i) partner[static_cast<std::size_t>(i)] = i;
  shuffle(rng, n, scratch);  // agents (complete) or edges (i, i+1 mod n) (ring)
  if (base == MatchingBase::complete) {
    for (int m = 0; m + 1 < n; m += 2) {
      const int a = scratch[static_cast<std::size_t>(m)], b = scratch[static_cast<std::size_t>(m) + 1];
      partner[static_cast<std::size_t>(a)] = b;
      partner[static_cast<std::size_t>(b)] = a;
    }
    return;
  }
  for (int m = 0; m < n; ++m) {
    const int a = scratch[static_cast<std::size_t>(m)], b = (a + 1) % n;
    if (partner[static_cast<std::size_t>(a)] != a || partner[static_cast<std::size_t>(b)] != b) continue;
    partner[static_cast<std::size_t>(a)] = b;
    partner[static_cast<std::size_t>(b)] = a;
  }
}

double ring_matching_edge_probability(int n) {
  // f(m): expected size of the random greedy matching of a path of m edges. The first edge taken
  // (uniform, position j) removes its neighbours and leaves paths of j-2 and m-j-1 edges:
  // f(m) = 1 + (2/m) sum_{i=0}^{m-2} f(i), f(0) = 0. On the ring the first edge leaves a path of
  // n-3 edges: E|M| = 1 + f(n-3).
  if (n < 3) throw std::logic_error("concord::topology::ring_matching_edge_probability: n < 3");
  std::vector<double> f(static_cast<std::size_t>(n), 0.0);
  double prefix = 0.0;  // sum_{i=0}^{m-2} f(i)
  for (int m = 1; m <= n - 3; ++m) {
    if (m >= 2) prefix += f[static_cast<std::size_t>(m) - 2];
    f[static_cast<std::size_t>(m)] = 1.0 + 2.0 * prefix / m;
  }
  return (1.0 + f[static_cast<std::size_t>(n) - 3]) / n;
}

Topology random_matching(int n, MatchingBase base, std::uint64_t seed) {
  if (n < 1) throw InputError("random_matching: n=" + std::to_string(n) + " out of range: n >= 1");
  if (base == MatchingBase::ring && n < 3)
    throw InputError("random_matching: base=ring needs n >= 3 agents, got " + std::to_string(n) +
                     "; use base=complete");
  WeightMatrix expected = base == MatchingBase::complete ? expected_complete_matching(n) : expected_ring_matching(n);
  auto draw = std::make_shared<const MatchingDraw>(n, base, seed, expected);
  return Topology::reweighted("random_matching", std::move(expected), std::move(draw),
                              "random_matching(n=" + std::to_string(n) + ", base=" + base_name(base) +
                                  ", seed=" + std::to_string(seed) + ")");
}

}  // namespace concord::topology
