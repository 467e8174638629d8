/// \file base_graphs.cpp
/// Base-(k+1) graphs: hyper-hypercube HHC(n, k), Simple Base-(k+1) SBG(n, k) and Base-(k+1) BG(n, k),
/// implemented literally from docs/topologies.md, section "Base-(k+1) graphs" (sub-sections (A), (B), (C)
/// are referred to below). All index arithmetic is exact integer arithmetic; the only floating-point
/// operations are the weights themselves.
#include "concord/topology/base_graphs.hpp"

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <utility>

#include "concord/core/error.hpp"

namespace concord::topology {

namespace {

/// Throws InputError unless n >= 1 and k >= 1; `name` is the generator named in the message.
void check_parameters(const char* name, std::int64_t n, std::int64_t k) {
  if (n < 1) throw InputError(std::string(name) + ": n (number of agents) must be >= 1, got n=" + std::to_string(n));
  if (k < 1) throw InputError(std::string(name) + ": k (maximum degree) must be >= 1, got k=" + std::to_string(k));
}

/// The part of n (>= 1) made of prime factors > k + 1: n divided by its largest divisor whose prime
/// factors are all <= k + 1. Trial division up to min(k + 1, sqrt(n)), so it is cheap for any k.
std::int64_t large_prime_part(std::int64_t n, std::int64_t k) {
  const std::int64_t b = k + 1;
  std::int64_t rest = n;
  for (std::int64_t f = 2; f <= b && f <= rest / f; ++f)
    while (rest % f == 0) rest /= f;
  // Either the loop stopped at f * f > rest (rest is 1 or a prime) or at f > b (every prime factor
  // of rest exceeds b, so rest <= b only when rest == 1). In both cases rest <= b means "no large factor".
  return rest <= b ? 1 : rest;
}

/// Smallest prime factor of m >= 2 (for error messages).
std::int64_t smallest_prime_factor(std::int64_t m) {
  for (std::int64_t f = 2; f <= m / f; ++f)
    if (m % f == 0) return f;
  return m;
}

/// Throws the InputError "HHC(n, k) is not defined" unless every prime factor of n is <= k + 1.
void check_hyper_hypercube_defined(const char* name, int n, int k) {
  const std::int64_t rest = large_prime_part(n, k);
  if (rest == 1) return;
  throw InputError(std::string(name) + ": not defined for n=" + std::to_string(n) + " with k=" + std::to_string(k) +
                   ": every prime factor of n must be <= k+1 = " + std::to_string(std::int64_t{k} + 1) + " (" +
                   std::to_string(n) + " has prime factor " + std::to_string(smallest_prime_factor(rest)) + ")");
}

/// "name(n=12, k=2)".
std::string describe(const char* name, int n, int k) {
  return std::string(name) + "(n=" + std::to_string(n) + ", k=" + std::to_string(k) + ")";
}

/// Adds the entries of the m x m matrix `w` to `b`, local agent u becoming global agent first + u * stride.
void add_embedded(MatrixBuilder& b, const WeightMatrix& w, int first, int stride) {
  for (int u = 0; u < w.size(); ++u) {
    const auto cols = w.row_cols(u);
    const auto weights = w.row_weights(u);
    for (std::size_t e = 0; e < cols.size(); ++e) b.add(first + u * stride, first + cols[e] * stride, weights[e]);
  }
}

/// HHC(n, k), (A), for valid n, k with HHC defined.
std::vector<WeightMatrix> hhc_rounds(int n, int k) {
  if (n == 1) return {WeightMatrix::identity(1)};
  // (A).2: greedy factors, largest first, then reversed (non-decreasing). A factor f never exceeds the
  // remaining cofactor, so the scan starts at min(k + 1, n).
  std::vector<int> factors;
  int rest = n;
  for (std::int64_t f = std::min<std::int64_t>(std::int64_t{k} + 1, n); f >= 2; --f)
    while (rest % f == 0) {
      factors.push_back(static_cast<int>(f));
      rest /= static_cast<int>(f);
    }
  std::reverse(factors.begin(), factors.end());

  // (A).3: round t joins, in uniform cliques of size f_t, the agents that differ only in mixed-radix
  // digit t (stride s_t = f_0 ... f_{t-1}).
  std::vector<WeightMatrix> rounds;
  int stride = 1;
  for (int f : factors) {
    MatrixBuilder b(n);
    std::vector<int> clique(static_cast<std::size_t>(f));
    for (int i = 0; i < n; ++i) {
      if ((i / stride) % f != 0) continue;
      for (int c = 0; c < f; ++c) clique[static_cast<std::size_t>(c)] = i + c * stride;
      b.set_clique(clique);
    }
    rounds.push_back(std::move(b).build());
    stride *= f;
  }
  return rounds;
}

/// One group V_l of SBG, (B).2-3: n_l = a_l b^{p_l} consecutive agents starting at `first`, split into
/// a_l sub-blocks of b^{p_l} agents.
struct Group {
  int first = 0;
  int digit = 0;                    ///< a_l, in 1..k
  int power = 0;                    ///< p_l
  int block = 1;                    ///< b^{p_l}, the size of a sub-block V_{l,q}
  int size = 0;                     ///< n_l = a_l b^{p_l}
  int remixes = 0;                  ///< counter c_l of (B).5
  std::vector<WeightMatrix> whole;  ///< H_l  = HHC(n_l, k)
  std::vector<WeightMatrix> sub;    ///< H'_l = HHC(b^{p_l}, k)
};

/// SBG(n, k), (B), for valid n, k.
std::vector<WeightMatrix> sbg_rounds(int n, int k) {
  // (B).1 (n = 1 is covered: HHC(1, k) = [I]).
  if (large_prime_part(n, k) == 1) return hhc_rounds(n, k);

  // (B).2: non-zero base-b digits of n, highest first. HHC(n, k) is not defined here, so n has a prime
  // factor > b and b < n fits an int.
  const int b = k + 1;
  std::vector<Group> groups;
  {
    std::vector<std::pair<int, int>> digits;  // (a, p), lowest power first
    int power = 0;
    for (int rest = n; rest > 0; rest /= b, ++power)
      if (rest % b != 0) digits.emplace_back(rest % b, power);
    int first = 0;
    for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
      Group g;
      g.first = first;
      g.digit = it->first;
      g.power = it->second;
      for (int p = 0; p < g.power; ++p) g.block *= b;
      g.size = g.digit * g.block;
      g.whole = hhc_rounds(g.size, k);
      g.sub = hhc_rounds(g.block, k);
      first += g.size;
      groups.push_back(std::move(g));
    }
  }
  const int L = static_cast<int>(groups.size());  // >= 2: a single digit would make HHC(n, k) defined

  // (B).3-4: phase A, every group mixes internally with its own HHC.
  const int R = static_cast<int>(groups[0].whole.size());  // p_0 + [a_0 >= 2]
  std::vector<WeightMatrix> rounds;
  for (int m = 0; m < R; ++m) {
    MatrixBuilder w(n);
    for (const Group& g : groups) add_embedded(w, g.whole[static_cast<std::size_t>(m) % g.whole.size()], g.first, 1);
    rounds.push_back(std::move(w).build());
  }

  // (B).5: transfers into group s = m - R, with re-mixing of the groups that already received.
  for (int m = R;; ++m) {
    const int s = m - R;
    MatrixBuilder w(n);
    if (s <= L - 2) {
      const Group& gs = groups[static_cast<std::size_t>(s)];
      int total = 0;  // N_s
      for (int l = s; l < L; ++l) total += groups[static_cast<std::size_t>(l)].size;
      // r = n_s / N_s. The three weights are formed from exact integers: r / a_s = b^{p_s} / N_s,
      // 1 - r / a_s = (N_s - b^{p_s}) / N_s and 1 - r = (N_s - n_s) / N_s.
      const double pair_weight = static_cast<double>(gs.block) / total;
      const double receiver_self = static_cast<double>(total - gs.block) / total;
      const double donor_self = static_cast<double>(total - gs.size) / total;

      // One stack per sub-block V_{s,q}, popped from the high end.
      std::vector<std::vector<int>> stacks(static_cast<std::size_t>(gs.digit));
      for (int q = 0; q < gs.digit; ++q)
        for (int j = 0; j < gs.block; ++j) stacks[static_cast<std::size_t>(q)].push_back(gs.first + q * gs.block + j);
      for (int l = L - 1; l > s; --l) {
        const Group& donor = groups[static_cast<std::size_t>(l)];
        for (int i = donor.first; i < donor.first + donor.size; ++i) {
          for (auto& stack : stacks) {
            const int j = stack.back();
            stack.pop_back();
            w.set(i, j, pair_weight);
            w.set(j, i, pair_weight);
            w.set(j, j, receiver_self);
          }
          w.set(i, i, donor_self);
        }
      }
      // The agents of V_s left on the stacks (they still agree) join in uniform cliques of at most b.
      std::vector<int> left;
      for (const auto& stack : stacks) left.insert(left.end(), stack.begin(), stack.end());
      for (std::size_t start = 0; start < left.size(); start += static_cast<std::size_t>(b)) {
        const std::size_t count = std::min(left.size() - start, static_cast<std::size_t>(b));
        if (count >= 2) w.set_clique(std::span<const int>(left).subspan(start, count));
      }
    }
    for (int l = 0; l < L; ++l) {
      if (!(R + l < m || (R + l == m && l == L - 1))) continue;
      Group& g = groups[static_cast<std::size_t>(l)];
      if (g.size < b) {
        add_embedded(w, g.whole[static_cast<std::size_t>(g.remixes) % g.whole.size()], g.first, 1);
      } else {
        for (int q = 0; q < g.digit; ++q)
          add_embedded(w, g.sub[static_cast<std::size_t>(g.remixes) % g.sub.size()], g.first + q * g.block, 1);
      }
      ++g.remixes;
    }
    for (int i = 0; i < n; ++i)
      if (w.get(i, i) == 0.0) w.set(i, i, 1.0);
    rounds.push_back(std::move(w).build());
    if (groups[0].remixes == static_cast<int>(groups[0].sub.size())) break;  // c_0 reached |H'_0| = p_0
  }
  return rounds;
}

}  // namespace

bool hyper_hypercube_defined(std::int64_t n, int k) { return n >= 1 && k >= 1 && large_prime_part(n, k) == 1; }

std::vector<WeightMatrix> hyper_hypercube_rounds(int n, int k) {
  check_parameters("hyper_hypercube", n, k);
  check_hyper_hypercube_defined("hyper_hypercube", n, k);
  return hhc_rounds(n, k);
}

std::vector<WeightMatrix> simple_base_rounds(int n, int k) {
  check_parameters("simple_base", n, k);
  return sbg_rounds(n, k);
}

std::vector<WeightMatrix> base_rounds(int n, int k) {
  check_parameters("base", n, k);
  // (C).1: n = n_pow * n_rest, n_pow the largest divisor of n with all prime factors <= k + 1.
  const int n_rest = static_cast<int>(large_prime_part(n, k));
  const int n_pow = n / n_rest;

  // (C).2-4: the shorter of SBG(n, k) and "SBG(n_rest) on blocks, then HHC(n_pow) on strided groups"
  // (ties go to the latter).
  std::vector<WeightMatrix> simple = sbg_rounds(n, k);
  const std::vector<WeightMatrix> inner = sbg_rounds(n_rest, k);
  const std::vector<WeightMatrix> outer = hhc_rounds(n_pow, k);
  if (simple.size() < inner.size() + outer.size()) return simple;

  std::vector<WeightMatrix> rounds;
  for (const WeightMatrix& r : inner) {  // every block B_i = {i n_rest, ..., (i+1) n_rest - 1}
    MatrixBuilder w(n);
    for (int i = 0; i < n_pow; ++i) add_embedded(w, r, i * n_rest, 1);
    rounds.push_back(std::move(w).build());
  }
  for (const WeightMatrix& r : outer) {  // every strided group S_j = {j, j + n_rest, ...}
    MatrixBuilder w(n);
    for (int j = 0; j < n_rest; ++j) add_embedded(w, r, j, n_rest);
    rounds.push_back(std::move(w).build());
  }
  return rounds;
}

Topology hyper_hypercube(int n, int k) {
  return Topology("hyper_hypercube", hyper_hypercube_rounds(n, k), describe("hyper_hypercube", n, k));
}

Topology simple_base(int n, int k) {
  return Topology("simple_base", simple_base_rounds(n, k), describe("simple_base", n, k));
}

Topology base(int n, int k) { return Topology("base", base_rounds(n, k), describe("base", n, k)); }

}  // namespace concord::topology
