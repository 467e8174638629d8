#pragma once
/// \file mlp.hpp
/// A multilayer perceptron for classification: F inputs, hidden layers of the given widths with a
/// relu or tanh activation, and c softmax outputs trained with the cross-entropy loss:
///   f_i(x) = (1/m_i) sum_s -log softmax(net_x(a_s))_{y_s} + (l2/2) sum_l ||W_l||^2
/// (the L2 term never includes the biases). No hidden layer (`hidden` empty) is multinomial
/// logistic regression with a bias.
///
/// Parameters of one agent: one flat vector, layer after layer. With widths n_0 = F, n_1 .. n_H
/// (hidden) and n_{H+1} = c, layer l = 0 .. H maps fan_in = n_l to fan_out = n_{l+1} and stores
///   x[w_l + o * fan_in + i]          weight W_l(o, i) (row-major: one output's weights contiguous)
///   x[w_l + fan_out * fan_in + o]    bias b_l(o)
/// where w_0 = 0 and w_{l+1} = w_l + fan_out * (fan_in + 1) (see weight_offset / bias_offset).
/// dimension() = sum_l n_{l+1} (n_l + 1).
///
/// Initialisation (initial_point): biases 0, weights W_l(o, i) ~ N(0, gain / fan_in) with gain 2
/// for relu (He) and 1 for tanh, drawn on the host in the order of the flat vector from
/// RandomStream(init_seed, stream_purpose::initial, l, 0) when same_init (every agent the same
/// model), else from RandomStream(init_seed, stream_purpose::initial, l, 1 + global agent id).
/// The draws depend on no rank, so the initial models are the same for any number of ranks.
///
/// Kernels. With KernelPath::blas (host builds) a minibatch gradient (batch <= 64, batch x
/// features <= 2^20: detail::lanes_take) runs on the agent-lanes kernels
/// (detail/agent_lanes.hpp): whole groups of 8 (AVX-512) or 4 (AVX2) agents
/// in the lanes of the vectors, register-tiled products reading the parameters and writing the
/// gradient or the local step where the AgentMatrix keeps them, a rank's remaining agents one at a
/// time with the same arithmetic. The full batch and the evaluations run three BLAS products per
/// layer for each agent on one host thread: activations H_{l+1} = act(H_l W_l^T + b_l), deltas
/// D_l = (D_{l+1} W_{l+1}) * act'(H_{l+1}), gradients D_{l+1}^T H_l; the softmax residual comes
/// from detail/losses.hpp in both; an evaluation subset's rows are gathered feature-major for
/// layer 0's products (detail::host_gather_transposed). With KernelPath::portable the same steps
/// are Kokkos kernels per (slot, unit), then per (agent, parameter) summing that agent's slots in
/// slot order. Either way no atomics and no sum across agents: the gradient of agent i is
/// bit-identical for any number of ranks and threads (and, on the lanes kernels, under every
/// CONCORD_HOST_ISA cap). Scratch buffers are allocated once in the constructor; gradient() and
/// evaluate() allocate nothing.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "concord/core/parameters.hpp"
#include "concord/problems/agent_data.hpp"
#include "concord/problems/problem.hpp"

namespace concord::problems {

namespace detail {
struct BlasWork;
}

enum class Activation { relu, tanh };

/// The activations' names ("relu", "tanh"): the deck's allowed words and the parser.
const parameters::Words<Activation>& activations();
std::string to_string(Activation activation);
/// activations().parse(name): InputError naming the allowed names otherwise.
Activation parse_activation(const std::string& name);

struct MlpOptions {
  std::vector<int> hidden = {32};  ///< hidden layer widths (empty: softmax regression)
  Activation activation = Activation::relu;
  double l2 = 0.0;                 ///< on the weights, not the biases
  int batch = 0;                   ///< minibatch per agent, 0 = full local gradient
  std::uint64_t seed = 0;          ///< sampling seed
  std::uint64_t init_seed = 0;     ///< initialisation seed
  bool same_init = true;           ///< every agent starts from the same model
  KernelPath kernels = default_kernel_path;  ///< blas needs host memory
  /// evaluate() uses a fixed subset of this many samples per agent (BatchSampler::subset; 0 =
  /// all), of the training and of the test set.
  std::int64_t evaluation_samples = 0;
};

class Mlp final : public Problem {
 public:
  /// `test`, when given, is a held-out set spread over the agents (evaluate(..., Split::test)).
  /// Throws InputError for regression data, fewer than 2 classes, a non-positive hidden width,
  /// l2 < 0, a negative batch, a test set that does not match the training set, or a dimension
  /// beyond the range of int.
  Mlp(const AgentLayout& layout, AgentData train, std::optional<AgentData> test, const MlpOptions& options,
      const std::string& name);
  ~Mlp() override;

  std::string name() const override { return name_; }
  /// e.g. "mnist: 784-32-10 relu, dimension 25450, batch 32".
  std::string describe() const override;
  int dimension() const override { return dimension_; }
  bool classification() const override { return true; }
  bool has_test_set() const override { return test_.has_value(); }

  void gradient(const ExecutionSpace& exec, const AgentMatrix& x, const AgentMatrix& g, std::int64_t iteration) override;
  /// The BLAS path makes the step inside its per-agent pass (no pass over g); the portable path
  /// takes Problem's default.
  void gradient_step(const ExecutionSpace& exec, const AgentMatrix& x, double gamma, const AgentMatrix& work,
                     const AgentMatrix& out, std::int64_t iteration) override;
  void evaluate(const ExecutionSpace& exec, const CoordinateVector& point, const AgentMatrix& out, Split split) override;
  /// Writes the seeded initialisation of the file comment into every local row; fences `exec`.
  void initial_point(const ExecutionSpace& exec, const AgentMatrix& x) const override;

  /// The initial parameters of one global agent (on the host): the row initial_point writes.
  std::vector<double> initial_parameters(int global_agent) const;

  /// Layer widths n_0 = F, hidden widths, n_{H+1} = classes.
  const std::vector<int>& widths() const { return widths_; }
  /// Number of weight layers (hidden layers + 1).
  int layers() const { return static_cast<int>(widths_.size()) - 1; }
  /// Offset of W_l(0, 0) and of b_l(0) in the flat parameter vector.
  std::int64_t weight_offset(int layer) const { return weight_offset_[static_cast<std::size_t>(layer)]; }
  std::int64_t bias_offset(int layer) const {
    return weight_offset(layer) + static_cast<std::int64_t>(widths_[static_cast<std::size_t>(layer) + 1]) *
                                      widths_[static_cast<std::size_t>(layer)];
  }

  const AgentData& train_data() const { return train_; }
  const MlpOptions& options() const { return options_; }

 private:
  /// Activations (output logits last) of params(a, .) on `slots`, the softmax residual in the
  /// output deltas and, with `with_loss`, per-slot loss and correctness.
  void forward(const ExecutionSpace& exec, const AgentData& data, const BatchSampler& slots, const AgentMatrix& params,
               bool with_loss);
  /// Hidden deltas, last hidden layer first (after forward).
  void backward(const ExecutionSpace& exec, const BatchSampler& slots, const AgentMatrix& params);
  /// g(a, p) = mean over a's slots of the per-sample gradient + l2 * weight (after backward).
  void accumulate_gradient(const ExecutionSpace& exec, const AgentData& data, const BatchSampler& slots,
                           const AgentMatrix& params, const AgentMatrix& g);
  /// KernelPath::blas: forward (slot losses with `with_loss`) and, with `g` non-empty, backward and
  /// the gradient into g, or with a `step` params - step gradient (gradient_step).
  void blas_pass(const ExecutionSpace& exec, const AgentData& data, const BatchSampler& slots, const AgentMatrix& params,
                 const AgentMatrix& g, bool with_loss, std::optional<double> step = std::nullopt);

  /// KernelPath::blas, the training sampler's slots (gradient, gradient_step): the gradient at x
  /// into out, or with a `step` the point x - step gradient, on the agent-lanes kernels
  /// (detail/agent_lanes.hpp) when they take the minibatch, otherwise by blas_pass.
  void minibatch_pass(const ExecutionSpace& exec, const AgentMatrix& x, const AgentMatrix& out,
                      std::optional<double> step);

  std::string name_;
  MlpOptions options_;
  AgentData train_;
  std::optional<AgentData> test_;
  std::vector<int> widths_;
  std::vector<std::int64_t> weight_offset_;  // per layer
  std::vector<std::int64_t> unit_offset_;    // per layer: first column of its outputs in act_/delta_
  int units_ = 0;                            // hidden units + classes
  int dimension_ = 0;
  BatchSampler batches_, train_all_, test_all_;
  Kokkos::View<double**, Kokkos::LayoutRight, MemorySpace> act_, delta_;  // slots x units
  Kokkos::View<double*, MemorySpace> slot_loss_, slot_correct_;
  AgentMatrix point_rows_;  // evaluate(): the point copied to every local agent
  // KernelPath::blas: each agent's parameters and gradient sums, agent-major; minibatch rows.
  // The penalised coordinates and the BLAS path's buffers (detail/agent_major.hpp), behind a
  // pointer so that this installed header needs no private one.
  std::unique_ptr<detail::BlasWork> work_;
};

}  // namespace concord::problems
