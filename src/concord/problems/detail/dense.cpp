#include "concord/problems/detail/dense.hpp"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <mutex>
#include <stdexcept>

namespace concord::problems::detail {
namespace {

blasint to_blas(std::int64_t v) {
  if (v < 0 || v > INT_MAX)
    throw std::length_error(fmt::format("concord::problems: a product extent {} exceeds the BLAS integer range", v));
  return static_cast<blasint>(v);
}

}  // namespace

void use_single_threaded_blas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

std::string blas_description() {
  return fmt::format("{} ({} kernels)", openblas_get_config(), openblas_get_corename());
}

void check_blas_extent(std::int64_t extent, const std::string& what) {
  if (extent < 0 || extent > INT_MAX)
    throw std::length_error(fmt::format("{} is {}: the BLAS products take at most {}", what, extent, INT_MAX));
}

namespace {

/// C (m x n) = op(A) op(B), row-major; k = 0 gives C = 0 without calling the BLAS.
void product(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, std::int64_t m, std::int64_t n, std::int64_t k, const double* A,
             std::int64_t lda, const double* B, std::int64_t ldb, double* C, std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (std::int64_t i = 0; i < m; ++i) std::fill_n(C + i * ldc, n, 0.0);
    return;
  }
  cblas_dgemm(CblasRowMajor, ta, tb, to_blas(m), to_blas(n), to_blas(k), 1.0, A, to_blas(lda), B, to_blas(ldb), 0.0, C,
              to_blas(ldc));
}

}  // namespace

void product_nt(std::int64_t m, std::int64_t n, std::int64_t k, const double* A, std::int64_t lda, const double* B,
                std::int64_t ldb, double* C, std::int64_t ldc) {
  product(CblasNoTrans, CblasTrans, m, n, k, A, lda, B, ldb, C, ldc);
}

void product_nn(std::int64_t m, std::int64_t n, std::int64_t k, const double* A, std::int64_t lda, const double* B,
                std::int64_t ldb, double* C, std::int64_t ldc) {
  product(CblasNoTrans, CblasNoTrans, m, n, k, A, lda, B, ldb, C, ldc);
}

void product_tn(std::int64_t m, std::int64_t n, std::int64_t k, const double* A, std::int64_t lda, const double* B,
                std::int64_t ldb, double* C, std::int64_t ldc) {
  product(CblasTrans, CblasNoTrans, m, n, k, A, lda, B, ldb, C, ldc);
}

void product_tt(std::int64_t m, std::int64_t n, std::int64_t k, const double* A, std::int64_t lda, const double* B,
                std::int64_t ldb, double* C, std::int64_t ldc) {
  product(CblasTrans, CblasTrans, m, n, k, A, lda, B, ldb, C, ldc);
}

void product_n(std::int64_t m, std::int64_t k, const double* A, std::int64_t lda, const double* x, double* y) {
  if (m == 0) return;
  if (k == 0) {
    std::fill_n(y, m, 0.0);
    return;
  }
  cblas_dgemv(CblasRowMajor, CblasNoTrans, to_blas(m), to_blas(k), 1.0, A, to_blas(lda), x, 1, 0.0, y, 1);
}

void product_t(std::int64_t m, std::int64_t k, const double* A, std::int64_t lda, const double* r, double* y) {
  if (k == 0) return;
  cblas_dgemv(CblasRowMajor, CblasTrans, to_blas(m), to_blas(k), 1.0, A, to_blas(lda), r, 1, 0.0, y, 1);
}

}  // namespace concord::problems::detail
