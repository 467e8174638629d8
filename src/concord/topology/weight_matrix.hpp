#pragma once
/// \file weight_matrix.hpp
/// Sparse mixing matrices on the host, in global agent ids.
///
/// Convention used everywhere in Concord: `W(i, j)` is the weight agent i gives to the value of
/// agent j, so one gossip step is x_i <- sum_j W(i, j) x_j  (x <- W x).
///
/// A `WeightMatrix` is an immutable CSR matrix whose rows hold their columns in ascending order,
/// diagonal included (also when its weight is 0 it is not stored). Build one with a
/// `MatrixBuilder`:
/// \code
///   concord::topology::MatrixBuilder b(3);
///   b.set(0, 0, 0.5); b.set(0, 1, 0.5); ...
///   concord::topology::WeightMatrix w = std::move(b).build();
/// \endcode
#include <cstdint>
#include <map>
#include <span>
#include <vector>

namespace concord::topology {

class WeightMatrix {
 public:
  WeightMatrix() = default;

  /// The n x n identity.
  static WeightMatrix identity(int n);
  /// J = (1/n) 1 1^T, dense.
  static WeightMatrix average(int n);

  int size() const { return n_; }
  std::size_t nonzeros() const { return cols_.size(); }

  /// Columns (ascending) and weights of row i.
  std::span<const int> row_cols(int i) const {
    return {cols_.data() + offsets_[i], static_cast<std::size_t>(offsets_[i + 1] - offsets_[i])};
  }
  std::span<const double> row_weights(int i) const {
    return {weights_.data() + offsets_[i], static_cast<std::size_t>(offsets_[i + 1] - offsets_[i])};
  }
  const std::vector<std::int64_t>& row_offsets() const { return offsets_; }
  const std::vector<int>& columns() const { return cols_; }
  const std::vector<double>& weights() const { return weights_; }

  /// W(i, j), 0 when not stored.
  double operator()(int i, int j) const;

  /// Number of neighbors of agent i (stored off-diagonal entries of row i; self excluded).
  int degree(int i) const;
  /// Max over i of degree(i): the most agents any agent receives from (the lecture's degree; for
  /// a symmetric pattern also the most it sends to).
  int max_degree() const;

  /// y = W x and y = W^T x (sums in ascending column order: deterministic).
  void apply(std::span<const double> x, std::span<double> y) const;
  /// y = W' x for the matrix W' of this pattern with the weights `values` (CSR order, one per
  /// stored entry): e.g. a reweighted topology's W(k) (Topology::weights), without building it.
  void apply(std::span<const double> values, std::span<const double> x, std::span<double> y) const;
  void apply_transpose(std::span<const double> x, std::span<double> y) const;

  WeightMatrix transpose() const;

  /// Largest |row sum - 1| and |column sum - 1|.
  double stochasticity_error() const;
  /// Smallest stored weight (negative weights make a matrix invalid for mixing).
  double min_weight() const;
  /// Largest |W(i, j) - W(j, i)|.
  double asymmetry() const;
  /// W == W^T exactly (every construction that promises symmetry delivers it bit for bit).
  bool is_symmetric() const { return asymmetry() == 0.0; }

  bool operator==(const WeightMatrix&) const = default;

 private:
  friend class MatrixBuilder;
  int n_ = 0;
  std::vector<std::int64_t> offsets_{0};
  std::vector<int> cols_;
  std::vector<double> weights_;
};

/// Accumulates entries of an n x n matrix, then builds a `WeightMatrix`.
class MatrixBuilder {
 public:
  explicit MatrixBuilder(int n);
  int size() const { return static_cast<int>(rows_.size()); }
  /// W(i, j) = w (overwrites).
  void set(int i, int j, double w);
  /// W(i, j) += w.
  void add(int i, int j, double w);
  /// Current W(i, j), 0 when unset.
  double get(int i, int j) const;
  bool has(int i, int j) const;
  /// Uniform clique: W(a, b) = 1 / |members| for all a, b in members (self included).
  void set_clique(std::span<const int> members);
  /// Builds the CSR matrix. Entries set to exactly 0 are dropped.
  WeightMatrix build() &&;

 private:
  void check(int i, int j) const;
  std::vector<std::map<int, double>> rows_;
};

}  // namespace concord::topology
