#pragma once
/// \file dense.hpp
/// The dense products of the problems on the host: thin row-major wrappers over the BLAS
/// (OpenBLAS from Debian's libopenblas-dev), one call per agent and product.
///
/// Why a BLAS: every problem kernel is a product with one agent's samples (least squares and
/// logistic regression: A x and A^T r; softmax and the MLP: A W^T, D W and D^T A per layer). A
/// tuned BLAS runs these at the machine's floor (a copy of A for the matrix-vector products, ~50
/// GFLOP/s per core for the matrix products here), which hand-written portable loops did not
/// approach (perf/RESULTS.md, "Problem kernels").
///
/// Determinism: each agent's products are separate single-threaded calls on that agent's own
/// operands, and the agents of a rank are spread over the host threads one agent per work item.
/// An agent's result therefore depends on its operands and their shapes only -- not on which rank
/// holds it, how many agents that rank holds, the thread count or the operands' alignment
/// (checked by the tests for 1, 2 and 4 ranks) -- for a given BLAS library and CPU kernel
/// (OpenBLAS picks its kernel per CPU: set OPENBLAS_CORETYPE alike on every node of a run that
/// spans different CPUs). use_single_threaded_blas() makes the BLAS run in the calling thread.
#include <cstdint>
#include <string>

namespace concord::problems::detail {

/// Makes the BLAS compute every call in the calling thread (Concord runs one agent per host
/// thread). Idempotent; called by the problems' constructors. It is process-wide: code of the
/// application that calls the same BLAS also runs single-threaded afterwards.
void use_single_threaded_blas();

/// One line naming the BLAS and its kernel, e.g. "OpenBLAS 0.3.21 (Haswell kernels)".
std::string blas_description();

/// Throws std::length_error naming `what` when extent does not fit the BLAS's int arguments (the
/// problems check their shapes with it in their constructors, before any kernel runs).
void check_blas_extent(std::int64_t extent, const std::string& what);

/// Row-major products, C = A op B (beta = 0) with leading dimensions in elements (k = 0 gives C = 0):
///   product_nt: C (m x n) = A (m x k) B^T, B stored n x k
///   product_nn: C (m x n) = A (m x k) B,   B stored k x n
///   product_tn: C (m x n) = A^T B,         A stored k x m, B stored k x n
///   product_tt: C (m x n) = A^T B^T,       A stored k x m, B stored n x k
void product_nt(std::int64_t m, std::int64_t n, std::int64_t k, const double* A, std::int64_t lda, const double* B,
                std::int64_t ldb, double* C, std::int64_t ldc);
void product_nn(std::int64_t m, std::int64_t n, std::int64_t k, const double* A, std::int64_t lda, const double* B,
                std::int64_t ldb, double* C, std::int64_t ldc);
void product_tn(std::int64_t m, std::int64_t n, std::int64_t k, const double* A, std::int64_t lda, const double* B,
                std::int64_t ldb, double* C, std::int64_t ldc);
void product_tt(std::int64_t m, std::int64_t n, std::int64_t k, const double* A, std::int64_t lda, const double* B,
                std::int64_t ldb, double* C, std::int64_t ldc);
/// y (m) = A x, A stored m x k row-major.
void product_n(std::int64_t m, std::int64_t k, const double* A, std::int64_t lda, const double* x, double* y);
/// y (k) = A^T r, A stored m x k row-major.
void product_t(std::int64_t m, std::int64_t k, const double* A, std::int64_t lda, const double* r, double* y);

}  // namespace concord::problems::detail
