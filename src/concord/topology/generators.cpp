#include "concord/topology/generators.hpp"

#include <cmath>
#include <string>

#include "concord/core/error.hpp"
#include "concord/core/format.hpp"
#include "concord/core/random.hpp"

namespace concord::topology {
namespace {

void require_agents(const char* name, int n, int min = 1) {
  if (n < min)
    throw InputError(std::string(name) + ": agents must be >= " + std::to_string(min) + ", got " + std::to_string(n));
}

Topology static_topology(std::string name, WeightMatrix w, std::string description) {
  std::vector<WeightMatrix> rounds;
  rounds.push_back(std::move(w));
  return Topology(std::move(name), std::move(rounds), std::move(description));
}

Topology lattice(const char* name, int rows, int cols, bool wrap, WeightRule rule) {
  if (rows < 1 || cols < 1)
    throw InputError(std::string(name) + ": rows and cols must be >= 1, got rows=" + std::to_string(rows) +
                     " cols=" + std::to_string(cols));
  const int n = rows * cols;
  Graph g(n);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const int i = r * cols + c;
      if (c + 1 < cols) g.add_edge(i, i + 1);
      else if (wrap && cols > 1) g.add_edge(i, r * cols);
      if (r + 1 < rows) g.add_edge(i, i + cols);
      else if (wrap && rows > 1) g.add_edge(i, c);
    }
  return static_topology(name, weight_matrix(g, rule),
                         std::string(name) + "(rows=" + std::to_string(rows) + ", cols=" + std::to_string(cols) +
                             ", weights=" + to_string(rule) + ")");
}

}  // namespace

int ceil_log2(std::int64_t n) {
  int t = 0;
  while ((std::int64_t{1} << t) < n) ++t;
  return t;
}

std::vector<std::int64_t> power_hops(std::int64_t n, std::int64_t base) {
  std::vector<std::int64_t> hops;
  for (std::int64_t h = 1; h < n; h *= base) {
    hops.push_back(h);
    if (h > n / base) break;  // next power would be >= n (and could overflow)
  }
  return hops;
}

Topology ring(int n) {
  require_agents("ring", n);
  MatrixBuilder b(n);
  for (int i = 0; i < n; ++i) {
    b.add(i, i, 1.0 / 3.0);
    b.add(i, (i + n - 1) % n, 1.0 / 3.0);
    b.add(i, (i + 1) % n, 1.0 / 3.0);
  }
  return static_topology("ring", std::move(b).build(), "ring(n=" + std::to_string(n) + ")");
}

Topology grid(int rows, int cols, WeightRule rule) { return lattice("grid", rows, cols, false, rule); }
Topology torus(int rows, int cols, WeightRule rule) { return lattice("torus", rows, cols, true, rule); }

Topology erdos_renyi(int n, double p, std::uint64_t seed, WeightRule rule, int max_draws) {
  require_agents("erdos_renyi", n);
  if (!(p > 0.0 && p <= 1.0))
    throw InputError("erdos_renyi: p=" + shortest(p) + " out of range: the edge probability p must be in (0, 1]");
  for (int draw = 0; draw < max_draws; ++draw) {
    RandomStream rng(seed, stream_purpose::topology, 0x45520000ULL /* "ER" */, static_cast<std::uint64_t>(draw));
    Graph g(n);
    for (int i = 0; i < n; ++i)
      for (int j = i + 1; j < n; ++j)
        if (rng.uniform() < p) g.add_edge(i, j);
    if (g.connected())
      return static_topology("erdos_renyi", weight_matrix(g, rule),
                             "erdos_renyi(n=" + std::to_string(n) + ", p=" + shortest(p) +
                                 ", seed=" + std::to_string(seed) + ", weights=" + to_string(rule) +
                                 ", draws=" + std::to_string(draw + 1) + ")");
  }
  throw InputError("erdos_renyi: no connected graph in " + std::to_string(max_draws) + " draws with n=" +
                   std::to_string(n) + ", p=" + shortest(p) + "; raise p (connectivity needs p above about ln(n)/n = " +
                   shortest(std::log(static_cast<double>(n)) / n) + ")");
}

Topology geometric(int n, double radius, std::uint64_t seed, WeightRule rule, int max_draws) {
  require_agents("geometric", n);
  if (!(radius > 0.0 && radius <= std::sqrt(2.0)))
    throw InputError("geometric: radius=" + shortest(radius) + " out of range: radius must be in (0, sqrt(2)]");
  for (int draw = 0; draw < max_draws; ++draw) {
    RandomStream rng(seed, stream_purpose::topology, 0x47450000ULL /* "GE" */, static_cast<std::uint64_t>(draw));
    std::vector<double> x(n), y(n);
    for (int i = 0; i < n; ++i) {
      x[i] = rng.uniform();
      y[i] = rng.uniform();
    }
    Graph g(n);
    for (int i = 0; i < n; ++i)
      for (int j = i + 1; j < n; ++j) {
        const double dx = x[i] - x[j], dy = y[i] - y[j];
        if (dx * dx + dy * dy <= radius * radius) g.add_edge(i, j);
      }
    if (g.connected())
      return static_topology("geometric", weight_matrix(g, rule),
                             "geometric(n=" + std::to_string(n) + ", radius=" + shortest(radius) +
                                 ", seed=" + std::to_string(seed) + ", weights=" + to_string(rule) +
                                 ", draws=" + std::to_string(draw + 1) + ")");
  }
  throw InputError("geometric: no connected graph in " + std::to_string(max_draws) + " draws with n=" +
                   std::to_string(n) + ", radius=" + shortest(radius) + "; raise radius");
}

Topology exponential(int n, int base) {
  require_agents("exponential", n);
  if (base < 2) throw InputError("exponential: base=" + std::to_string(base) + " out of range: base must be >= 2");
  const auto hops = power_hops(n, base);
  const double w = 1.0 / static_cast<double>(hops.size() + 1);
  MatrixBuilder b(n);
  for (int i = 0; i < n; ++i) {
    b.set(i, i, w);
    for (auto h : hops) b.set(i, static_cast<int>((i + h) % n), w);
  }
  return static_topology("exponential", std::move(b).build(),
                         "exponential(n=" + std::to_string(n) + ", base=" + std::to_string(base) + ")");
}

Topology one_peer_exponential(int n) {
  require_agents("one_peer_exponential", n);
  const int tau = ceil_log2(n);
  std::vector<WeightMatrix> rounds;
  if (tau == 0) rounds.push_back(WeightMatrix::identity(1));
  for (int k = 0; k < tau; ++k) {
    MatrixBuilder b(n);
    const std::int64_t hop = std::int64_t{1} << k;
    for (int i = 0; i < n; ++i) {
      b.set(i, i, 0.5);
      b.set(i, static_cast<int>((i + hop) % n), 0.5);
    }
    rounds.push_back(std::move(b).build());
  }
  return Topology("one_peer_exponential", std::move(rounds), "one_peer_exponential(n=" + std::to_string(n) + ")");
}

Topology one_peer_hypercube(int n) {
  require_agents("one_peer_hypercube", n);
  if ((n & (n - 1)) != 0)
    throw InputError("one_peer_hypercube: not defined for n=" + std::to_string(n) +
                     ": the number of agents must be a power of two (e.g. " + std::to_string(1 << (ceil_log2(n) - 1)) +
                     " or " + std::to_string(1 << ceil_log2(n)) + ")");
  const int tau = ceil_log2(n);
  std::vector<WeightMatrix> rounds;
  if (tau == 0) rounds.push_back(WeightMatrix::identity(1));
  for (int k = 0; k < tau; ++k) {
    MatrixBuilder b(n);
    for (int i = 0; i < n; ++i) {
      b.set(i, i, 0.5);
      b.set(i, i ^ (1 << k), 0.5);
    }
    rounds.push_back(std::move(b).build());
  }
  return Topology("one_peer_hypercube", std::move(rounds), "one_peer_hypercube(n=" + std::to_string(n) + ")");
}

Topology star(int n) {
  require_agents("star", n);
  Graph g(n);
  for (int i = 1; i < n; ++i) g.add_edge(0, i);
  return static_topology("star", weight_matrix(g, WeightRule::metropolis_hastings),
                         "star(n=" + std::to_string(n) + ", center=0)");
}

Topology complete(int n) {
  require_agents("complete", n);
  return static_topology("complete", WeightMatrix::average(n), "complete(n=" + std::to_string(n) + ")");
}

}  // namespace concord::topology
