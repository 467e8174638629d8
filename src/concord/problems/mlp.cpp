#include "concord/problems/mlp.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <stdexcept>

#include "concord/core/error.hpp"
#include "concord/core/rows.hpp"
#include "concord/core/random.hpp"
#include "concord/problems/detail/agent_lanes.hpp"
#include "concord/problems/detail/agent_major.hpp"
#include "concord/problems/detail/dense.hpp"
#include "concord/problems/detail/losses.hpp"

// The kernels are free functions with external linkage (not lambdas in private members), as
// CUDA's extended lambdas require.
namespace concord::problems::mlp_kernels {

using Policy = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>;
using Units = Kokkos::View<double**, Kokkos::LayoutRight, MemorySpace>;
using Features = Kokkos::View<double**, Kokkos::LayoutRight, MemorySpace>;
using AgentOf = Kokkos::View<int*, MemorySpace>;

/// One layer's geometry: fan_in -> fan_out, weights at `weights` in a parameter row, inputs from
/// the features (in_units < 0) or from act(., in_units + i), outputs at column out_units.
struct Layer {
  int fan_in = 0, fan_out = 0;
  std::int64_t weights = 0;
  int in_units = -1, out_units = 0;
};

/// act(slot, out + o) = activation(b(o) + sum_i W(o, i) in(slot, i)); the output layer (last)
/// keeps the logits.
void forward_layer(const ExecutionSpace& exec, const AgentMatrix& W, const Features& X, const IndexVector& sample,
                   const AgentOf& agent, const Units& act, std::int64_t slots, Layer layer, bool last,
                   Activation activation) {
  const int fan_in = layer.fan_in, fan_out = layer.fan_out, in = layer.in_units, out = layer.out_units;
  const std::int64_t w = layer.weights, b = layer.weights + static_cast<std::int64_t>(fan_in) * fan_out;
  Kokkos::parallel_for(
      "concord::Mlp::forward", Policy(exec, 0, slots * fan_out), KOKKOS_LAMBDA(std::int64_t t) {
        const std::int64_t slot = t / fan_out;
        const int o = static_cast<int>(t % fan_out);
        const int a = agent(slot);
        const std::int64_t row = w + static_cast<std::int64_t>(o) * fan_in;
        double z = W(a, b + o);
        if (in < 0) {
          const std::int64_t s = sample(slot);
          for (int i = 0; i < fan_in; ++i) z += W(a, row + i) * X(s, i);
        } else {
          for (int i = 0; i < fan_in; ++i) z += W(a, row + i) * act(slot, in + i);
        }
        if (!last) z = activation == Activation::relu ? (z > 0.0 ? z : 0.0) : Kokkos::tanh(z);
        act(slot, out + o) = z;
      });
}

/// Softmax cross-entropy at the output: delta(slot, out + k) = softmax(z)_k - [k == y], and the
/// per-slot loss and correctness when `with_loss`.
void softmax_output(const ExecutionSpace& exec, const Kokkos::View<int*, MemorySpace>& labels, const IndexVector& sample,
                    const Units& act, const Units& delta, const Kokkos::View<double*, MemorySpace>& loss,
                    const Kokkos::View<double*, MemorySpace>& correct, std::int64_t slots, int classes, int out,
                    bool with_loss) {
  const int K = classes;
  Kokkos::parallel_for(
      "concord::Mlp::softmax", Policy(exec, 0, slots), KOKKOS_LAMBDA(std::int64_t slot) {
        for (int k = 0; k < K; ++k) delta(slot, out + k) = act(slot, out + k);
        const detail::SampleLoss l = detail::softmax_cross_entropy(&delta(slot, out), 1, K, labels(sample(slot)));
        if (with_loss) {
          loss(slot) = l.loss;
          correct(slot) = l.correct;
        }
      });
}

/// Deltas of a hidden layer (its outputs at column `units`, `width` of them) from the deltas of the
/// next layer `next` (whose fan_in is `width`): delta = act'(z) * W_next^T delta_next.
void backward_layer(const ExecutionSpace& exec, const AgentMatrix& W, const AgentOf& agent, const Units& act,
                    const Units& delta, std::int64_t slots, int units, int width, Layer next, Activation activation) {
  const int fan_out = next.fan_out, next_units = next.out_units;
  const std::int64_t w = next.weights;
  Kokkos::parallel_for(
      "concord::Mlp::backward", Policy(exec, 0, slots * width), KOKKOS_LAMBDA(std::int64_t t) {
        const std::int64_t slot = t / width;
        const int j = static_cast<int>(t % width);
        const int a = agent(slot);
        double sum = 0.0;
        for (int o = 0; o < fan_out; ++o)
          sum += W(a, w + static_cast<std::int64_t>(o) * width + j) * delta(slot, next_units + o);
        const double h = act(slot, units + j);
        const double derivative = activation == Activation::relu ? (h > 0.0 ? 1.0 : 0.0) : 1.0 - h * h;
        delta(slot, units + j) = derivative * sum;
      });
}

/// g(a, .) of one layer: weights (1/|slots|) sum_slot delta(slot, o) in(slot, i) + l2 W(o, i),
/// biases (1/|slots|) sum_slot delta(slot, o), slots of agent a in slot order.
void layer_gradient(const ExecutionSpace& exec, const AgentMatrix& W, const Features& X, const IndexVector& sample,
                    const IndexVector& offsets, const Units& act, const Units& delta, const AgentMatrix& g,
                    std::int64_t agents, Layer layer, double l2) {
  const int fan_in = layer.fan_in, in = layer.in_units, out = layer.out_units;
  const std::int64_t w = layer.weights, weights = static_cast<std::int64_t>(fan_in) * layer.fan_out;
  const std::int64_t count = weights + layer.fan_out;
  Kokkos::parallel_for(
      "concord::Mlp::gradient", Policy(exec, 0, agents * count), KOKKOS_LAMBDA(std::int64_t t) {
        const std::int64_t q = t / agents;
        const int a = static_cast<int>(t % agents);
        const std::int64_t lo = offsets(a), hi = offsets(a + 1);
        double sum = 0.0, value = 0.0;
        if (q < weights) {
          const int o = static_cast<int>(q / fan_in), i = static_cast<int>(q % fan_in);
          if (in < 0)
            for (std::int64_t slot = lo; slot < hi; ++slot) sum += delta(slot, out + o) * X(sample(slot), i);
          else
            for (std::int64_t slot = lo; slot < hi; ++slot) sum += delta(slot, out + o) * act(slot, in + i);
          value = sum / static_cast<double>(hi - lo) + l2 * W(a, w + q);
        } else {
          const int o = static_cast<int>(q - weights);
          for (std::int64_t slot = lo; slot < hi; ++slot) sum += delta(slot, out + o);
          value = sum / static_cast<double>(hi - lo);
        }
        g(a, w + q) = value;
      });
}

}  // namespace concord::problems::mlp_kernels

namespace concord::problems {

const parameters::Words<Activation>& activations() {
  static const parameters::Words<Activation> words{"activation", {{"relu", Activation::relu}, {"tanh", Activation::tanh}}};
  return words;
}

std::string to_string(Activation activation) { return activations().name(activation); }

Activation parse_activation(const std::string& name) { return activations().parse(name); }

Mlp::~Mlp() = default;

Mlp::Mlp(const AgentLayout& layout, AgentData train, std::optional<AgentData> test, const MlpOptions& options,
         const std::string& name)
    : Problem(layout),
      name_(name),
      options_(options),
      train_(std::move(train)),
      test_(std::move(test)),
      work_(std::make_unique<detail::BlasWork>()) {
  if (train_.local_agents != layout.local_count())
    throw UsageError("concord::problems::Mlp: data and layout disagree on the local agents");
  if (train_.classes == 0)
    throw InputError(fmt::format("problem '{}': the MLP is a classifier and needs class labels, but the data has "
                                 "regression targets",
                                 name));
  if (train_.classes < 2)
    throw InputError(fmt::format("problem '{}': the MLP needs at least 2 classes, the data has {}", name, train_.classes));
  if (train_.features < 1)
    throw InputError(fmt::format("problem '{}': the data has no feature", name));
  for (std::size_t l = 0; l < options.hidden.size(); ++l)
    if (options.hidden[l] < 1)
      throw InputError(fmt::format("problem '{}': hidden layer {} has width {}; widths must be >= 1", name, l + 1,
                                   options.hidden[l]));
  if (!(options.l2 >= 0) || !std::isfinite(options.l2))
    throw InputError(fmt::format("problem '{}': l2 must be >= 0, got {}", name, options.l2));
  if (options.batch < 0)
    throw InputError(fmt::format("problem '{}': batch_size must be >= 0 (0 = full local gradient), got {}", name,
                                 options.batch));
  if (test_ && (test_->features != train_.features || test_->classes != train_.classes))
    throw InputError(fmt::format("problem '{}': the test set has {} features and {} classes, the training set {} and {}",
                                 name, test_->features, test_->classes, train_.features, train_.classes));
  if (test_ && test_->local_agents != train_.local_agents)
    throw UsageError("concord::problems::Mlp: test and training data disagree on the local agents");

  widths_.push_back(train_.features);
  widths_.insert(widths_.end(), options.hidden.begin(), options.hidden.end());
  widths_.push_back(train_.classes);
  std::int64_t params = 0, units = 0;
  for (int l = 0; l < layers(); ++l) {
    const std::int64_t fan_in = widths_[static_cast<std::size_t>(l)], fan_out = widths_[static_cast<std::size_t>(l) + 1];
    weight_offset_.push_back(params);
    unit_offset_.push_back(units);
    params += fan_out * (fan_in + 1);
    units += fan_out;
    if (params > INT_MAX || units > INT_MAX)
      throw InputError(fmt::format("problem '{}': the network has more than {} parameters", name, INT_MAX));
  }
  dimension_ = static_cast<int>(params);
  units_ = static_cast<int>(units);

  batches_ = BatchSampler(train_, options.batch, options.seed);
  train_all_ = BatchSampler::subset(train_, options.evaluation_samples, options.seed);
  std::int64_t slots = std::max(batches_.slots(), train_all_.slots());
  if (test_) {
    test_all_ = BatchSampler::subset(*test_, options.evaluation_samples, options.seed);
    slots = std::max(slots, test_all_.slots());
  }
  const auto alloc = [](const char* what) {
    return Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("concord::Mlp::") + what);
  };
  act_ = decltype(act_)(alloc("activations"), slots, units_);
  delta_ = decltype(delta_)(alloc("deltas"), slots, units_);
  slot_loss_ = decltype(slot_loss_)(alloc("slot_loss"), slots);
  slot_correct_ = decltype(slot_correct_)(alloc("slot_correct"), slots);
  point_rows_ = AgentMatrix(alloc("point_rows"), train_.local_agents, dimension_);
  std::vector<detail::CoordinateRange> weights;  // the L2 term applies to the weights, not the biases
  for (int l = 0; l < layers(); ++l) weights.push_back({weight_offset(l), bias_offset(l)});
  work_->set_penalised(std::move(weights), dimension_, "concord::Mlp::");
  if (options.kernels == KernelPath::blas) {
    work_->prepare_lanes(options.batch, train_.features, units_, "concord::Mlp::");
    if (work_->lanes.width > 0) {  // what every lanes pass reads besides the state (lanes_pass sets that)
      detail::LaneMlpPass& pass = work_->lane_pass;
      pass.layers = layers();
      pass.width = widths_.data();
      pass.weights = weight_offset_.data();
      pass.units = unit_offset_.data();
      pass.U = units_;
      pass.relu = options.activation == Activation::relu;
      pass.X = train_.x.data();
      pass.ldx = static_cast<std::int64_t>(train_.x.stride(0));
      pass.gather = detail::host_gather_transposed();
      pass.F = train_.features;
      pass.classes = train_.classes;
      pass.labels = train_.labels.data();
      pass.sample = batches_.slot_sample().data();
      pass.offsets = batches_.slot_offsets().data();
      pass.m = batches_.batch();
      pass.d = dimension_;
      pass.l2 = options.l2;
    }
    // The most rows one agent gathers for the BLAS pass, over the samplers whose slots are not in
    // place (the lanes pass, when it takes the minibatch, gathers into its own scratch).
    std::int64_t gathered = 0;
    for (const BatchSampler* sampler : {&batches_, &train_all_, &test_all_})
      if (!sampler->in_place() && !(sampler == &batches_ && work_->lanes.width > 0))
        gathered = std::max(gathered, sampler->widest_agent());
    work_->prepare_blas({&train_, test_ ? &*test_ : nullptr}, train_.local_agents, dimension_, train_.features, gathered,
                        "concord::Mlp::");
  }
}

std::string Mlp::describe() const {
  std::string shape = std::to_string(widths_.front());
  for (std::size_t l = 1; l < widths_.size(); ++l) {
    shape += '-';
    shape += std::to_string(widths_[l]);
  }
  const std::string kind = options_.hidden.empty() ? std::string("softmax regression") : to_string(options_.activation);
  return fmt::format("{}: {} {}, dimension {}{}, batch {}", name_, shape, kind, dimension_,
                     options_.l2 > 0 ? fmt::format(", l2 {}", options_.l2) : std::string(),
                     options_.batch == 0 ? std::string("full") : std::to_string(options_.batch));
}

std::vector<double> Mlp::initial_parameters(int global_agent) const {
  if (global_agent < 0 || global_agent >= layout_.agents())
    throw UsageError(fmt::format("concord::problems::Mlp::initial_parameters: agent {} of {}", global_agent,
                                            layout_.agents()));
  std::vector<double> x(static_cast<std::size_t>(dimension_), 0.0);
  const double gain = options_.activation == Activation::relu ? 2.0 : 1.0;
  const std::uint64_t key = options_.same_init ? 0 : 1 + static_cast<std::uint64_t>(global_agent);
  for (int l = 0; l < layers(); ++l) {
    RandomStream rng(options_.init_seed, stream_purpose::initial, static_cast<std::uint64_t>(l), key);
    const double sd = std::sqrt(gain / widths_[static_cast<std::size_t>(l)]);
    for (std::int64_t p = weight_offset(l); p < bias_offset(l); ++p) x[static_cast<std::size_t>(p)] = sd * rng.normal();
  }
  return x;
}

void Mlp::initial_point(const ExecutionSpace& exec, const AgentMatrix& x) const {
  if (static_cast<int>(x.extent(0)) != train_.local_agents || static_cast<int>(x.extent(1)) != dimension_)
    throw UsageError("concord::problems::Mlp::initial_point: x is not (local agents x dimension)");
  Kokkos::View<double**, AgentMatrix::array_layout, HostSpace> host(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("concord::Mlp::initial_point")), x.extent(0), x.extent(1));
  std::vector<double> row;
  for (int a = 0; a < train_.local_agents; ++a) {
    if (a == 0 || !options_.same_init) row = initial_parameters(layout_.local_first() + a);
    for (int c = 0; c < dimension_; ++c) host(a, c) = row[static_cast<std::size_t>(c)];
  }
  Kokkos::deep_copy(exec, x, host);
  exec.fence("concord::Mlp::initial_point");
}

void Mlp::forward(const ExecutionSpace& exec, const AgentData& data, const BatchSampler& slots, const AgentMatrix& params,
                  bool with_loss) {
  const int L = layers();
  for (int l = 0; l < L; ++l) {
    const mlp_kernels::Layer layer{widths_[static_cast<std::size_t>(l)], widths_[static_cast<std::size_t>(l) + 1],
                                   weight_offset(l), l == 0 ? -1 : static_cast<int>(unit_offset_[static_cast<std::size_t>(l) - 1]),
                                   static_cast<int>(unit_offset_[static_cast<std::size_t>(l)])};
    mlp_kernels::forward_layer(exec, params, data.x, slots.slot_sample(), slots.slot_agent(), act_, slots.slots(), layer,
                               l == L - 1, options_.activation);
  }
  mlp_kernels::softmax_output(exec, data.labels, slots.slot_sample(), act_, delta_, slot_loss_, slot_correct_,
                              slots.slots(), data.classes, static_cast<int>(unit_offset_.back()), with_loss);
}

void Mlp::backward(const ExecutionSpace& exec, const BatchSampler& slots, const AgentMatrix& params) {
  for (int l = layers() - 2; l >= 0; --l) {
    // Hidden layer l's outputs (width n_{l+1}) feed layer l + 1.
    const mlp_kernels::Layer next{widths_[static_cast<std::size_t>(l) + 1], widths_[static_cast<std::size_t>(l) + 2],
                                  weight_offset(l + 1), static_cast<int>(unit_offset_[static_cast<std::size_t>(l)]),
                                  static_cast<int>(unit_offset_[static_cast<std::size_t>(l) + 1])};
    mlp_kernels::backward_layer(exec, params, slots.slot_agent(), act_, delta_, slots.slots(),
                                static_cast<int>(unit_offset_[static_cast<std::size_t>(l)]),
                                widths_[static_cast<std::size_t>(l) + 1], next, options_.activation);
  }
}

void Mlp::accumulate_gradient(const ExecutionSpace& exec, const AgentData& data, const BatchSampler& slots,
                              const AgentMatrix& params, const AgentMatrix& g) {
  for (int l = 0; l < layers(); ++l) {
    const mlp_kernels::Layer layer{widths_[static_cast<std::size_t>(l)], widths_[static_cast<std::size_t>(l) + 1],
                                   weight_offset(l), l == 0 ? -1 : static_cast<int>(unit_offset_[static_cast<std::size_t>(l) - 1]),
                                   static_cast<int>(unit_offset_[static_cast<std::size_t>(l)])};
    mlp_kernels::layer_gradient(exec, params, data.x, slots.slot_sample(), slots.slot_offsets(), act_, delta_, g,
                                data.local_agents, layer, options_.l2);
  }
}

void Mlp::minibatch_pass(const ExecutionSpace& exec, const AgentMatrix& x, const AgentMatrix& out,
                         std::optional<double> step) {
  if (work_->lanes.width == 0) {
    blas_pass(exec, train_, batches_, x, out, false, step);
    return;
  }
  if constexpr (host_execution) {
    detail::LaneMlpPass pass = work_->lane_pass;
    pass.x = x.data();
    pass.nx = static_cast<std::int64_t>(x.stride(1));
    pass.out = out.data();
    pass.nout = static_cast<std::int64_t>(out.stride(1));
    pass.step = step.has_value();
    pass.gamma = step.value_or(0.0);
    // Whole groups of `width` agents in place, a multiple of the host threads of them (a group
    // is about `width` agents' work: fewer groups than threads would leave threads idle), then
    // the rest one agent each on contiguous rows: the AgentMatrix's own when it holds one agent,
    // otherwise copies made by the agent-major transposes (each agent's own strided walk would
    // read every line of x once per agent). Either kernel gives the same bits.
    const int width = work_->lanes.width, agents = train_.local_agents, threads = exec.concurrency();
    const int groups = agents / width / threads * threads;
    const int first = groups * width, singles = agents - first;
    const std::int64_t d = dimension_;
    const bool direct = detail::single_contiguous_row(x) && detail::single_contiguous_row(out);
    double* rows_x = direct ? x.data() : work_->agent_params.data();  // single s at rows_x + s d
    double* rows_out = direct ? out.data() : work_->agent_sums.data();
    if (singles > 0 && !direct)
      concord::detail::host_transpose_tiles(exec, x.data() + first, pass.nx, rows_x, d, singles, d, true);
    const detail::LaneKernels kernels = work_->lanes;
    const detail::ThreadScratch& scratch = work_->lane_scratch;
    Kokkos::parallel_for("concord::Mlp::agent_lanes", detail::host_agents(exec, groups + singles), [=, &scratch](int q) {
      const detail::ThreadScratch::Block block(scratch);
      if (q < groups)
        kernels.group(pass, q * width, block.data());
      else
        kernels.agent(pass, q - groups + first, rows_x + (q - groups) * d, rows_out + (q - groups) * d, block.data());
    });
    if (singles > 0 && !direct)
      concord::detail::host_transpose_tiles(exec, rows_out, d, out.data() + first, pass.nout, singles, d, false);
  }
}

void Mlp::blas_pass(const ExecutionSpace& exec, const AgentData& data, const BatchSampler& slots, const AgentMatrix& params,
                    const AgentMatrix& g, bool with_loss, std::optional<double> step) {
  if constexpr (host_execution) {
    const detail::AgentMajorPass pass(exec, params, g, work_->agent_params, work_->agent_sums);
    const int F = data.features, K = data.classes, L = layers(), U = units_, d = dimension_;
    const bool with_gradient = g.extent(0) > 0, gathered = !slots.in_place(), relu = options_.activation == Activation::relu;
    const double* X = data.x.data();
    const std::int64_t ldx = static_cast<std::int64_t>(data.x.stride(0));
    const std::int64_t* offsets = slots.slot_offsets().data();
    const std::int64_t* sample = slots.slot_sample().data();
    const int* labels = data.labels.data();
    double* act = act_.data();
    double* delta = delta_.data();
    double* loss = slot_loss_.data();
    double* correct = slot_correct_.data();
    double* all_params = pass.params;
    double* all_sums = pass.sums;
    const detail::ThreadScratch& gather = work_->gather;
    const detail::GatherTransposed gather_transposed = detail::host_gather_transposed();
    const detail::GradientClose close(work_->penalised_ranges, options_.l2, step);
    const int* width = widths_.data();
    const std::int64_t* weights = weight_offset_.data();
    const std::int64_t* units = unit_offset_.data();
    Kokkos::parallel_for(
        "concord::Mlp::agent_products", detail::host_agents(exec, data.local_agents), [=](int a) {
          const std::int64_t lo = offsets[a], m = offsets[a + 1] - lo;
          const double inverse = 1.0 / static_cast<double>(m);
          const double* W = all_params + static_cast<std::int64_t>(a) * d;
          // The labels of scattered samples miss the cache: ask for them now, read after the products.
          for (std::int64_t i = 0; i < m; ++i) __builtin_prefetch(labels + sample[lo + i]);
          const detail::ThreadScratch::Block block(gather);
          // Layer 0 reads the agent's samples in place (m rows of F, ld lda) or, for a minibatch,
          // gathered feature-major (F x m: the faster layout for its products, see agent_major.hpp).
          const double* A = X + lo * ldx;
          const std::int64_t lda = gathered ? m : ldx;
          if (gathered) {
            gather_transposed(X, ldx, sample + lo, m, F, block.data());
            A = block.data();
          }
          double* H = act + lo * U;     // the agent's activations, row i = slot lo + i
          double* Dl = delta + lo * U;  // its deltas
          // Layer l reads `input(l)` (ld `input_ld(l)`) and writes columns units[l] .. of H.
          const auto input = [&](int l) -> const double* { return l == 0 ? A : H + units[l - 1]; };
          const auto input_ld = [&](int l) { return l == 0 ? lda : static_cast<std::int64_t>(U); };
          for (int l = 0; l < L; ++l) {
            const int fan_in = width[l], fan_out = width[l + 1];
            const double* b = W + weights[l] + static_cast<std::int64_t>(fan_in) * fan_out;
            double* out = H + units[l];
            if (l == 0 && gathered)
              detail::product_tt(m, fan_out, fan_in, A, lda, W + weights[l], fan_in, out, U);
            else
              detail::product_nt(m, fan_out, fan_in, input(l), input_ld(l), W + weights[l], fan_in, out, U);
            const bool last = l == L - 1;  // one loop per case, so that each vectorises
            for (std::int64_t i = 0; i < m; ++i) {
              double* z = out + i * U;
              if (last)
                for (int o = 0; o < fan_out; ++o) z[o] += b[o];
              else if (relu)
                for (int o = 0; o < fan_out; ++o) z[o] = z[o] + b[o] > 0.0 ? z[o] + b[o] : 0.0;
              else
                for (int o = 0; o < fan_out; ++o) z[o] = std::tanh(z[o] + b[o]);
            }
          }
          const std::int64_t logits = units[L - 1];
          for (std::int64_t i = 0; i < m; ++i) {
            double* z = Dl + i * U + logits;
            std::copy_n(H + i * U + logits, K, z);
            const detail::SampleLoss l = detail::softmax_cross_entropy(z, 1, K, labels[sample[lo + i]]);
            if (with_loss) {
              loss[lo + i] = l.loss;
              correct[lo + i] = l.correct;
            }
            for (int k = 0; k < K; ++k) z[k] *= inverse;  // every delta and gradient below is then a mean
          }
          if (!with_gradient) return;
          for (int l = L - 2; l >= 0; --l) {
            // Hidden layer l's outputs (width[l + 1] of them, at units[l]) feed layer l + 1.
            const int w = width[l + 1], next_out = width[l + 2];
            double* dl = Dl + units[l];
            detail::product_nn(m, w, next_out, Dl + units[l + 1], U, W + weights[l + 1], w, dl, U);
            for (std::int64_t i = 0; i < m; ++i) {
              const double* h = H + i * U + units[l];
              double* di = dl + i * U;
              if (relu)
                for (int j = 0; j < w; ++j) di[j] = h[j] > 0.0 ? di[j] : 0.0;
              else
                for (int j = 0; j < w; ++j) di[j] *= 1.0 - h[j] * h[j];
            }
          }
          double* G = all_sums + static_cast<std::int64_t>(a) * d;
          for (int l = 0; l < L; ++l) {
            const int fan_in = width[l], fan_out = width[l + 1];
            const double* dl = Dl + units[l];
            if (l == 0 && gathered)
              detail::product_tt(fan_out, fan_in, m, dl, U, A, lda, G + weights[l], fan_in);
            else
              detail::product_tn(fan_out, fan_in, m, dl, U, input(l), input_ld(l), G + weights[l], fan_in);
            double* gb = G + weights[l] + static_cast<std::int64_t>(fan_in) * fan_out;
            for (int o = 0; o < fan_out; ++o) gb[o] = 0.0;
            for (std::int64_t i = 0; i < m; ++i)
              for (int o = 0; o < fan_out; ++o) gb[o] += dl[i * U + o];
          }
          close(G, W, d);
        });
    pass.finish(exec);
  }
}

void Mlp::gradient(const ExecutionSpace& exec, const AgentMatrix& x, const AgentMatrix& g, std::int64_t iteration) {
  if (static_cast<int>(x.extent(0)) != train_.local_agents || static_cast<int>(x.extent(1)) != dimension_ ||
      g.extent(0) != x.extent(0) || g.extent(1) != x.extent(1))
    throw UsageError("concord::problems::Mlp::gradient: x and g must be (local agents x dimension)");
  batches_.draw(exec, iteration);
  if (options_.kernels == KernelPath::blas) {
    minibatch_pass(exec, x, g, std::nullopt);
    return;
  }
  forward(exec, train_, batches_, x, false);
  backward(exec, batches_, x);
  accumulate_gradient(exec, train_, batches_, x, g);
}

void Mlp::gradient_step(const ExecutionSpace& exec, const AgentMatrix& x, double gamma, const AgentMatrix& work,
                        const AgentMatrix& out, std::int64_t iteration) {
  if (options_.kernels != KernelPath::blas) {
    Problem::gradient_step(exec, x, gamma, work, out, iteration);
    return;
  }
  check_gradient_step(x, work, out, "concord::problems::Mlp");
  if (static_cast<int>(x.extent(0)) != train_.local_agents || static_cast<int>(x.extent(1)) != dimension_)
    throw UsageError("concord::problems::Mlp::gradient_step: x must be (local agents x dimension)");
  batches_.draw(exec, iteration);
  minibatch_pass(exec, x, out, gamma);
}

void Mlp::evaluate(const ExecutionSpace& exec, const CoordinateVector& point, const AgentMatrix& out, Split split) {
  if (split == Split::test && !test_) throw std::logic_error("concord::problems::Mlp::evaluate: no test set");
  if (static_cast<int>(point.extent(0)) != dimension_ || static_cast<int>(out.extent(0)) != train_.local_agents ||
      static_cast<int>(out.extent(1)) != evaluation_columns().width())
    throw UsageError("concord::problems::Mlp::evaluate: point must have dimension() entries and out be "
                                "(local agents x dimension() + 3)");
  const AgentData& data = split == Split::train ? train_ : *test_;
  const BatchSampler& slots = split == Split::train ? train_all_ : test_all_;
  broadcast_rows(exec, "concord::Mlp::broadcast", point, point_rows_);
  if (options_.kernels == KernelPath::blas) {
    blas_pass(exec, data, slots, point_rows_, split == Split::train ? out : AgentMatrix(), true);
  } else {
    forward(exec, data, slots, point_rows_, true);
    if (split == Split::train) {
      backward(exec, slots, point_rows_);
      accumulate_gradient(exec, data, slots, point_rows_, out);
    }
  }
  detail::loss_rows(exec, point, work_->penalised, options_.l2, slots.slot_offsets(), slot_loss_, slot_correct_, out, dimension_);
}

}  // namespace concord::problems
