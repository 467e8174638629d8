#pragma once
/// \file linear_model.hpp
/// Least squares and logistic regression (binary and multinomial): linear models with one loss.
///
/// Parameters of one agent, with F features and D = F + 1 if `bias` else F:
///   x[k D + j]  weight of output k on feature j;  x[k D + F]  bias of output k (if `bias`)
/// Outputs: 1 for least squares and binary logistic regression, c for multinomial (softmax).
///
///   least_squares   f_i(x) = (1/(2 m_i)) ||A_i x - b_i||^2 + (l2/2) ||w||^2
///   logistic        f_i(x) = (1/m_i) sum_s log(1 + exp(-y_s a_s.x)) + (l2/2) ||w||^2,  y_s = +-1
///                   (class 1 is +1, class 0 is -1)
///   softmax         f_i(x) = (1/m_i) sum_s -log softmax(W a_s + b)_{y_s} + (l2/2) ||W||^2
/// The L2 term never includes the biases. With KernelPath::blas (host builds) each agent's
/// outputs are one product with its minibatch rows (A x, or A W^T for softmax), the residuals
/// come from detail/losses.hpp, and the gradient is one product A^T r (R^T A); agents run in
/// parallel, one per host thread. With KernelPath::portable the same steps are Kokkos kernels
/// with one work item per slot, then per (agent, parameter). Either way the samples of an agent
/// are summed in a fixed order: an agent's gradient is the same for any number of ranks.
#include <memory>
#include <optional>
#include <vector>

#include "concord/comm/transport.hpp"
#include "concord/problems/agent_data.hpp"
#include "concord/problems/problem.hpp"

namespace concord::problems {

namespace detail {
struct BlasWork;
}

enum class Loss { squared, logistic, softmax };

struct LinearModelOptions {
  Loss loss = Loss::squared;
  double l2 = 0.0;
  bool bias = false;
  int batch = 0;            ///< minibatch per agent, 0 = full local gradient
  std::uint64_t seed = 0;   ///< sampling seed
  KernelPath kernels = default_kernel_path;  ///< blas needs host memory
  /// evaluate() uses a fixed subset of this many samples per agent (BatchSampler::subset; 0 =
  /// all), of the training and of the test set.
  std::int64_t evaluation_samples = 0;
};

class LinearModel final : public Problem {
 public:
  /// `test`, when given, is a held-out set spread over the agents (evaluate(..., Split::test)).
  /// Throws InputError when the data does not fit the loss (regression data for a classifier,
  /// logistic with more than 2 classes, ...).
  LinearModel(const AgentLayout& layout, AgentData train, std::optional<AgentData> test, const LinearModelOptions& options,
              const std::string& name);
  ~LinearModel() override;

  std::string name() const override { return name_; }
  std::string describe() const override;
  int dimension() const override { return outputs_ * row_; }
  bool classification() const override { return options_.loss != Loss::squared; }
  bool has_test_set() const override { return test_.has_value(); }

  void gradient(const ExecutionSpace& exec, const AgentMatrix& x, const AgentMatrix& g, std::int64_t iteration) override;
  /// The BLAS path makes the step inside its per-agent pass (no pass over g); the portable path
  /// takes Problem's default.
  void gradient_step(const ExecutionSpace& exec, const AgentMatrix& x, double gamma, const AgentMatrix& work,
                     const AgentMatrix& out, std::int64_t iteration) override;
  void evaluate(const ExecutionSpace& exec, const CoordinateVector& point, const AgentMatrix& out, Split split) override;
  std::optional<std::vector<double>> solution() const override { return solution_; }
  /// Numerical rank of the normal matrix H (after compute_solution; dimension() when nonsingular).
  int solution_rank() const { return solution_rank_; }

  /// Least squares only: x*, the minimum-norm minimiser of f, from the normal equations H x = c,
  ///   H = (1/n) sum_i (1/m_i) A_i^T A_i (+ l2 on the weights),  c = (1/n) sum_i (1/m_i) A_i^T b_i.
  /// Every agent's A_i^T A_i / m_i is formed on the host, by panels of 128 columns with Eigen's
  /// blocked kernels (upper triangle only), and summed over all agents with a ReproducibleSum (the same H, hence the same x*,
  /// for every P and every thread count). x* = H^+ c: Cholesky when H is clearly nonsingular,
  /// otherwise an eigendecomposition with eigenvalues <= D eps lambda_max taken as zero (an
  /// under-determined or rank-deficient problem: x* is then the minimum-norm solution, and
  /// solution_rank() < dimension()). Collective. `entries_in_flight` bounds the per-agent Gram
  /// entries held at once over the rank's agents (0: 2^24, 128 MiB); the Gram is reduced in chunks
  /// of whole panels that fit (at least one), with the same result for any bound.
  void compute_solution(const ExecutionSpace& exec, std::shared_ptr<comm::Transport> transport,
                        std::int64_t entries_in_flight = 0);

  const AgentData& train_data() const { return train_; }
  const LinearModelOptions& options() const { return options_; }

  // Kernel launchers (public only because CUDA's extended lambdas may not live in private members).
  /// Residuals (and, with `with_loss`, per-slot loss and correctness) of params(a, .) on `slots`.
  void forward(const ExecutionSpace& exec, const AgentData& data, const BatchSampler& slots, const AgentMatrix& params,
               bool with_loss);
  void accumulate_gradient(const ExecutionSpace& exec, const AgentData& data, const BatchSampler& slots,
                           const AgentMatrix& params, const AgentMatrix& g, int first_column);

 private:
  /// KernelPath::blas: residuals (and slot losses with `with_loss`) of params on `slots`, and with
  /// `g` non-empty the gradient into g, or with a `step` params - step gradient (gradient_step).
  void blas_pass(const ExecutionSpace& exec, const AgentData& data, const BatchSampler& slots, const AgentMatrix& params,
                 const AgentMatrix& g, bool with_loss, std::optional<double> step = std::nullopt);

  std::string name_;
  LinearModelOptions options_;
  AgentData train_;
  std::optional<AgentData> test_;
  int outputs_ = 1;
  int row_ = 0;  // D
  BatchSampler batches_, train_all_, test_all_;
  Kokkos::View<double**, Kokkos::LayoutRight, MemorySpace> residual_;  // slots x outputs
  Kokkos::View<double*, MemorySpace> slot_loss_, slot_correct_;
  AgentMatrix point_rows_;  // evaluate(): the point copied to every local agent
  // KernelPath::blas: each agent's parameters and gradient sums, agent-major; minibatch rows.
  // The penalised coordinates and the BLAS path's buffers (detail/agent_major.hpp), behind a
  // pointer so that this installed header needs no private one.
  std::unique_ptr<detail::BlasWork> work_;
  std::optional<std::vector<double>> solution_;
  int solution_rank_ = 0;
};

}  // namespace concord::problems
