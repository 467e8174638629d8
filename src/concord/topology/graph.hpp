#pragma once
/// \file graph.hpp
/// Undirected graphs and the weight rules that turn them into doubly-stochastic mixing matrices.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "concord/topology/weight_matrix.hpp"

namespace concord::topology {

/// A simple undirected graph on agents 0..n-1 (no self loops, no multi-edges).
class Graph {
 public:
  explicit Graph(int n);
  int size() const { return static_cast<int>(adj_.size()); }
  /// Adds edge {i, j}; ignores duplicates; i == j is a logic error.
  void add_edge(int i, int j);
  bool has_edge(int i, int j) const;
  /// Sorted neighbors of i.
  const std::vector<int>& neighbors(int i) const { return adj_[i]; }
  int degree(int i) const { return static_cast<int>(adj_[i].size()); }
  int max_degree() const;
  std::size_t edges() const;
  bool connected() const;
  bool regular() const;

 private:
  std::vector<std::vector<int>> adj_;
};

/// How an undirected graph becomes a symmetric doubly-stochastic W (d_i excludes self):
///  - metropolis_hastings: W(i,j) = 1/(1 + max(d_i, d_j)) on edges, rest on the diagonal;
///  - max_degree:          W(i,j) = 1/(1 + d_max) on edges, rest on the diagonal;
///  - uniform:             W(i,j) = 1/(1 + d_i) for j in N(i) or j = i (regular graphs only).
enum class WeightRule { metropolis_hastings, max_degree, uniform };

/// "metropolis_hastings" (also "mh"), "max_degree", "uniform"; InputError otherwise.
WeightRule parse_weight_rule(std::string_view name);
std::string to_string(WeightRule rule);

/// The weight matrix of `g` under `rule`. InputError for `uniform` on a non-regular graph.
WeightMatrix weight_matrix(const Graph& g, WeightRule rule);

/// True when the union of the patterns of `rounds` (ignoring direction) is connected.
bool pattern_connected(const std::vector<WeightMatrix>& rounds);

}  // namespace concord::topology
