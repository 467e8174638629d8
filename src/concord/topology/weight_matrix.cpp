#include "concord/topology/weight_matrix.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace concord::topology {

WeightMatrix WeightMatrix::identity(int n) {
  MatrixBuilder b(n);
  for (int i = 0; i < n; ++i) b.set(i, i, 1.0);
  return std::move(b).build();
}

WeightMatrix WeightMatrix::average(int n) {
  MatrixBuilder b(n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) b.set(i, j, 1.0 / n);
  return std::move(b).build();
}

double WeightMatrix::operator()(int i, int j) const {
  auto cols = row_cols(i);
  auto it = std::lower_bound(cols.begin(), cols.end(), j);
  if (it == cols.end() || *it != j) return 0.0;
  return row_weights(i)[static_cast<std::size_t>(it - cols.begin())];
}

int WeightMatrix::degree(int i) const {
  int d = 0;
  for (int j : row_cols(i)) d += (j != i);
  return d;
}

int WeightMatrix::max_degree() const {
  int best = 0;
  for (int i = 0; i < n_; ++i) best = std::max(best, degree(i));
  return best;
}

void WeightMatrix::apply(std::span<const double> x, std::span<double> y) const { apply(weights_, x, y); }

void WeightMatrix::apply(std::span<const double> values, std::span<const double> x, std::span<double> y) const {
  for (int i = 0; i < n_; ++i) {
    double s = 0.0;
    for (auto k = offsets_[i]; k < offsets_[i + 1]; ++k) s += values[k] * x[cols_[k]];
    y[i] = s;
  }
}

void WeightMatrix::apply_transpose(std::span<const double> x, std::span<double> y) const {
  std::fill(y.begin(), y.end(), 0.0);
  for (int i = 0; i < n_; ++i)
    for (auto k = offsets_[i]; k < offsets_[i + 1]; ++k) y[cols_[k]] += weights_[k] * x[i];
}

WeightMatrix WeightMatrix::transpose() const {
  MatrixBuilder b(n_);
  for (int i = 0; i < n_; ++i)
    for (auto k = offsets_[i]; k < offsets_[i + 1]; ++k) b.set(cols_[k], i, weights_[k]);
  return std::move(b).build();
}

double WeightMatrix::stochasticity_error() const {
  std::vector<double> col(static_cast<std::size_t>(n_), 0.0);
  double err = 0.0;
  for (int i = 0; i < n_; ++i) {
    double row = 0.0;
    for (auto k = offsets_[i]; k < offsets_[i + 1]; ++k) {
      row += weights_[k];
      col[cols_[k]] += weights_[k];
    }
    err = std::max(err, std::abs(row - 1.0));
  }
  for (double c : col) err = std::max(err, std::abs(c - 1.0));
  return err;
}

double WeightMatrix::min_weight() const {
  return weights_.empty() ? 0.0 : *std::min_element(weights_.begin(), weights_.end());
}

double WeightMatrix::asymmetry() const {
  double a = 0.0;
  for (int i = 0; i < n_; ++i)
    for (auto k = offsets_[i]; k < offsets_[i + 1]; ++k)
      a = std::max(a, std::abs(weights_[k] - (*this)(cols_[k], i)));
  return a;
}

MatrixBuilder::MatrixBuilder(int n) {
  if (n < 1) throw std::logic_error("concord::topology::MatrixBuilder: size must be >= 1, got " + std::to_string(n));
  rows_.resize(static_cast<std::size_t>(n));
}

void MatrixBuilder::check(int i, int j) const {
  if (i < 0 || j < 0 || i >= size() || j >= size())
    throw std::logic_error("concord::topology::MatrixBuilder: entry (" + std::to_string(i) + ", " +
                           std::to_string(j) + ") outside a " + std::to_string(size()) + "x" +
                           std::to_string(size()) + " matrix");
}

void MatrixBuilder::set(int i, int j, double w) {
  check(i, j);
  rows_[i][j] = w;
}

void MatrixBuilder::add(int i, int j, double w) {
  check(i, j);
  rows_[i][j] += w;
}

double MatrixBuilder::get(int i, int j) const {
  check(i, j);
  auto it = rows_[i].find(j);
  return it == rows_[i].end() ? 0.0 : it->second;
}

bool MatrixBuilder::has(int i, int j) const {
  check(i, j);
  return rows_[i].count(j) != 0;
}

void MatrixBuilder::set_clique(std::span<const int> members) {
  const double w = 1.0 / static_cast<double>(members.size());
  for (int a : members)
    for (int b : members) set(a, b, w);
}

WeightMatrix MatrixBuilder::build() && {
  WeightMatrix m;
  m.n_ = size();
  m.offsets_.assign(1, 0);
  for (auto& row : rows_) {
    for (auto [j, w] : row) {
      if (w == 0.0) continue;
      m.cols_.push_back(j);
      m.weights_.push_back(w);
    }
    m.offsets_.push_back(static_cast<std::int64_t>(m.cols_.size()));
  }
  rows_.clear();
  return m;
}

}  // namespace concord::topology
