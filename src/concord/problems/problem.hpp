#pragma once
/// \file problem.hpp
/// A local objective f_i per agent, batched over the agents of one rank.
///
/// Every problem works on one flat parameter vector per agent (an `AgentMatrix` row), so mixing
/// and the algorithms treat least squares, logistic regression and the MLP alike. All kernels of
/// a call are enqueued on `exec`; no call fences unless documented.
///
///   gradient(exec, x, g, k)  g(a, :) = stochastic gradient of f_a at x(a, :) on the minibatch of
///                            iteration k (BatchSampler; batch 0 = the full local gradient)
///   gradient_step(exec, x, gamma, work, out, k)
///                            out(a, :) = x(a, :) - gamma g(a, :) with the same g: the local step
///                            of the adapt-then-combine methods, made without a pass over g where
///                            the problem can (the BLAS path makes it while g is in cache)
///   evaluate(exec, p, out, split)
///                            per local agent a, at one common point p (e.g. the average model):
///                            out(a, 0 .. d-1) = grad f_a(p)   (train split only; test leaves it)
///                            out(a, d)        = f_a(p)        (mean loss over a's samples)
///                            out(a, d + 1)    = correct predictions among a's samples
///                            out(a, d + 2)    = a's number of samples
///                            Summing these rows over agents (ReproducibleSum) gives f(p),
///                            grad f(p) (both divided by n) and the accuracy (correct / samples).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "concord/core/agent_layout.hpp"
#include "concord/core/spaces.hpp"

namespace concord::problems {

enum class Split { train, test };

/// The columns of evaluate()'s output, by name: the gradient's d columns, then the three totals.
/// Every producer (the problems' kernels) and consumer (Metrics) reads positions from here.
struct EvaluationColumns {
  int dimension = 0;
  KOKKOS_INLINE_FUNCTION int loss() const { return dimension; }         ///< f_a(p)
  KOKKOS_INLINE_FUNCTION int correct() const { return dimension + 1; }  ///< correct predictions
  KOKKOS_INLINE_FUNCTION int samples() const { return dimension + 2; }  ///< samples evaluated
  KOKKOS_INLINE_FUNCTION int width() const { return dimension + 3; }    ///< columns of `out`
};

/// How a problem computes its products:
///   blas      one BLAS call per agent and product (detail/dense.hpp), agents spread over the host
///             threads: the fast path of host builds (Serial, OpenMP);
///   portable  Kokkos kernels with one work item per (slot, unit) or (agent, parameter): the path
///             of device builds, also runnable on the host (the tests compare the two).
/// Both keep the determinism contract: an agent's gradient and evaluation do not depend on the
/// number of ranks or threads. They differ from each other in the last bits (summation order).
enum class KernelPath { blas, portable };
inline constexpr KernelPath default_kernel_path = host_execution ? KernelPath::blas : KernelPath::portable;

class Problem {
 public:
  virtual ~Problem() = default;

  virtual std::string name() const = 0;
  /// One line for logs, e.g. "least_squares: d = 10, 50 samples per agent".
  virtual std::string describe() const = 0;
  virtual int dimension() const = 0;
  virtual bool classification() const = 0;
  virtual bool has_test_set() const { return false; }
  const AgentLayout& layout() const { return layout_; }

  virtual void gradient(const ExecutionSpace& exec, const AgentMatrix& x, const AgentMatrix& g,
                        std::int64_t iteration) = 0;
  /// out = x - gamma g, g = gradient(x) of iteration k, bit for bit as the two computed apart (one
  /// rounding per product and per difference). `work` (extents of x) is scratch whose content
  /// afterwards is unspecified; out must not alias x. This default computes g into work, then
  /// one pass; a problem overrides it when it can fuse the step into its gradient.
  virtual void gradient_step(const ExecutionSpace& exec, const AgentMatrix& x, double gamma, const AgentMatrix& work,
                             const AgentMatrix& out, std::int64_t iteration);
  /// See the file comment; `out` has evaluation_columns().width() columns.
  virtual void evaluate(const ExecutionSpace& exec, const CoordinateVector& point, const AgentMatrix& out,
                        Split split) = 0;

  /// Initial model of every local agent: zero unless the problem says otherwise (the MLP draws a
  /// seeded initialisation, the same for every agent).
  virtual void initial_point(const ExecutionSpace& exec, const AgentMatrix& x) const;

  /// The minimiser x* of f when it is known (least squares), on the host.
  virtual std::optional<std::vector<double>> solution() const { return std::nullopt; }

  /// Where evaluate() writes what (and how wide its output is).
  EvaluationColumns evaluation_columns() const { return {dimension()}; }
  /// Columns after the gradient's d (EvaluationColumns::width() - dimension).
  static constexpr int extra_columns = 3;

 protected:
  explicit Problem(const AgentLayout& layout) : layout_(layout) {}
  /// gradient_step's preconditions, checked first by every implementation: UsageError naming
  /// `who` unless x, work and out have the same extents and are three distinct matrices.
  static void check_gradient_step(const AgentMatrix& x, const AgentMatrix& work, const AgentMatrix& out,
                                  const char* who);
  AgentLayout layout_;
};

}  // namespace concord::problems
