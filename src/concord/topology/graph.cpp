#include "concord/topology/graph.hpp"

#include <algorithm>
#include <stdexcept>

#include "concord/core/error.hpp"

namespace concord::topology {

Graph::Graph(int n) {
  if (n < 1) throw std::logic_error("concord::topology::Graph: size must be >= 1");
  adj_.resize(static_cast<std::size_t>(n));
}

void Graph::add_edge(int i, int j) {
  if (i == j || i < 0 || j < 0 || i >= size() || j >= size())
    throw std::logic_error("concord::topology::Graph::add_edge: invalid edge {" + std::to_string(i) + ", " +
                           std::to_string(j) + "}");
  auto insert = [](std::vector<int>& v, int x) {
    auto it = std::lower_bound(v.begin(), v.end(), x);
    if (it == v.end() || *it != x) v.insert(it, x);
  };
  insert(adj_[i], j);
  insert(adj_[j], i);
}

bool Graph::has_edge(int i, int j) const { return std::binary_search(adj_[i].begin(), adj_[i].end(), j); }

int Graph::max_degree() const {
  std::size_t d = 0;
  for (const auto& a : adj_) d = std::max(d, a.size());
  return static_cast<int>(d);
}

std::size_t Graph::edges() const {
  std::size_t e = 0;
  for (const auto& a : adj_) e += a.size();
  return e / 2;
}

bool Graph::connected() const {
  std::vector<char> seen(adj_.size(), 0);
  std::vector<int> stack{0};
  seen[0] = 1;
  std::size_t count = 1;
  while (!stack.empty()) {
    int i = stack.back();
    stack.pop_back();
    for (int j : adj_[i])
      if (!seen[j]) {
        seen[j] = 1;
        ++count;
        stack.push_back(j);
      }
  }
  return count == adj_.size();
}

bool Graph::regular() const {
  for (const auto& a : adj_)
    if (a.size() != adj_.front().size()) return false;
  return true;
}

WeightRule parse_weight_rule(std::string_view name) {
  if (name == "metropolis_hastings" || name == "mh") return WeightRule::metropolis_hastings;
  if (name == "max_degree") return WeightRule::max_degree;
  if (name == "uniform") return WeightRule::uniform;
  throw InputError("weights: unknown weight rule '" + std::string(name) +
                   "'; allowed: metropolis_hastings (or mh), max_degree, uniform");
}

std::string to_string(WeightRule rule) {
  switch (rule) {
    case WeightRule::metropolis_hastings: return "metropolis_hastings";
    case WeightRule::max_degree: return "max_degree";
    case WeightRule::uniform: return "uniform";
  }
  return "?";
}

WeightMatrix weight_matrix(const Graph& g, WeightRule rule) {
  const int n = g.size();
  if (rule == WeightRule::uniform && !g.regular())
    throw InputError("weights=uniform: 1/(degree+1) weights are doubly stochastic only on regular graphs, and this "
                     "graph's degrees range from " +
                     std::to_string([&] {
                       int d = n;
                       for (int i = 0; i < n; ++i) d = std::min(d, g.degree(i));
                       return d;
                     }()) +
                     " to " + std::to_string(g.max_degree()) + "; use weights=metropolis_hastings or max_degree");
  const int dmax = g.max_degree();
  MatrixBuilder b(n);
  for (int i = 0; i < n; ++i) {
    double off = 0.0;
    for (int j : g.neighbors(i)) {
      double w = 0.0;
      switch (rule) {
        case WeightRule::metropolis_hastings: w = 1.0 / (1.0 + std::max(g.degree(i), g.degree(j))); break;
        case WeightRule::max_degree: w = 1.0 / (1.0 + dmax); break;
        case WeightRule::uniform: w = 1.0 / (1.0 + g.degree(i)); break;
      }
      b.set(i, j, w);
      off += w;
    }
    b.set(i, i, 1.0 - off);
  }
  return std::move(b).build();
}

bool pattern_connected(const std::vector<WeightMatrix>& rounds) {
  if (rounds.empty()) return false;
  Graph g(rounds.front().size());
  for (const auto& w : rounds)
    for (int i = 0; i < w.size(); ++i)
      for (int j : w.row_cols(i))
        if (j != i) g.add_edge(i, j);
  return g.connected();
}

}  // namespace concord::topology
