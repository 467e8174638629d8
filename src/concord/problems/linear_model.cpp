#include "concord/problems/linear_model.hpp"

#include <fmt/format.h>

#include <Eigen/Dense>
#include <algorithm>
#include <array>
#include <limits>
#include <utility>
#include <vector>

#include "concord/core/error.hpp"
#include "concord/core/rows.hpp"
#include "concord/mixing/reproducible_sum.hpp"
#include "concord/problems/detail/agent_major.hpp"
#include "concord/problems/detail/dense.hpp"
#include "concord/problems/detail/losses.hpp"

namespace concord::problems {
namespace {

using Policy = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>;

/// Columns of the Gram matrix computed by one work item (a panel).
constexpr int kGramPanel = 128;
/// Per-agent Gram entries held at once on a rank (over all its agents), by default: 16 Mi doubles, 128 MiB.
constexpr std::int64_t kEntriesInFlight = std::int64_t{1} << 24;
/// Cholesky solves x* when its estimate of 1/cond_1(H) exceeds kCholeskyMargin D eps.
constexpr double kCholeskyMargin = 1e4;

/// While alive: Eigen runs single-threaded and blocks its products for fixed cache sizes, so that
/// its results depend on the operands and their shapes only (not on the thread count or the
/// machine's caches).
struct FixedEigenKernels {
  FixedEigenKernels()
      : threads(Eigen::nbThreads()), l1(Eigen::l1CacheSize()), l2(Eigen::l2CacheSize()), l3(Eigen::l3CacheSize()) {
    Eigen::setNbThreads(1);
    Eigen::setCpuCacheSizes(32 * 1024, 512 * 1024, 8 * 1024 * 1024);
  }
  ~FixedEigenKernels() {
    Eigen::setNbThreads(threads);
    Eigen::setCpuCacheSizes(l1, l2, l3);
  }
  FixedEigenKernels(const FixedEigenKernels&) = delete;
  FixedEigenKernels& operator=(const FixedEigenKernels&) = delete;
  int threads;
  std::ptrdiff_t l1, l2, l3;
};

std::string loss_name(Loss loss) {
  switch (loss) {
    case Loss::squared: return "least squares";
    case Loss::logistic: return "binary logistic";
    case Loss::softmax: return "multinomial logistic";
  }
  return "?";
}

}  // namespace

LinearModel::~LinearModel() = default;

LinearModel::LinearModel(const AgentLayout& layout, AgentData train, std::optional<AgentData> test,
                         const LinearModelOptions& options, const std::string& name)
    : Problem(layout),
      name_(name),
      options_(options),
      train_(std::move(train)),
      test_(std::move(test)),
      work_(std::make_unique<detail::BlasWork>()) {
  if (train_.local_agents != layout.local_count())
    throw UsageError("concord::problems::LinearModel: data and layout disagree on the local agents");
  const bool regression = train_.classes == 0;
  if (options.loss == Loss::squared && !regression)
    throw InputError(fmt::format("problem '{}': least squares needs regression targets, but the data has {} classes",
                                 name, train_.classes));
  if (options.loss != Loss::squared && regression)
    throw InputError(fmt::format("problem '{}': {} regression needs class labels, but the data has regression targets",
                                 name, loss_name(options.loss)));
  if (options.loss == Loss::logistic && train_.classes != 2)
    throw InputError(fmt::format("problem '{}': binary logistic regression needs 2 classes, the data has {} (use "
                                 "multinomial for more)",
                                 name, train_.classes));
  if (options.loss == Loss::softmax && train_.classes < 2)
    throw InputError(fmt::format("problem '{}': multinomial logistic regression needs >= 2 classes, the data has {}",
                                 name, train_.classes));
  if (options.l2 < 0) throw InputError(fmt::format("problem '{}': l2 must be >= 0, got {}", name, options.l2));
  if (test_ && (test_->features != train_.features || test_->classes != train_.classes))
    throw InputError(fmt::format("problem '{}': the test set has {} features and {} classes, the training set {} and {}",
                                 name, test_->features, test_->classes, train_.features, train_.classes));
  outputs_ = options.loss == Loss::softmax ? train_.classes : 1;
  row_ = train_.features + (options.bias ? 1 : 0);
  batches_ = BatchSampler(train_, options.batch, options.seed);
  train_all_ = BatchSampler::subset(train_, options.evaluation_samples, options.seed);
  std::int64_t slots = std::max(batches_.slots(), train_all_.slots());
  if (test_) {
    test_all_ = BatchSampler::subset(*test_, options.evaluation_samples, options.seed);
    slots = std::max(slots, test_all_.slots());
  }
  residual_ = decltype(residual_)(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("concord::LinearModel::residual")),
                                  slots, outputs_);
  slot_loss_ = decltype(slot_loss_)(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("concord::LinearModel::slot_loss")), slots);
  slot_correct_ =
      decltype(slot_correct_)(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("concord::LinearModel::slot_correct")), slots);
  point_rows_ = AgentMatrix(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("concord::LinearModel::point_rows")),
                            train_.local_agents, dimension());
  std::vector<detail::CoordinateRange> weights;  // each output's F weights; not its bias
  for (int k = 0; k < outputs_; ++k)
    weights.push_back({static_cast<std::int64_t>(k) * row_, static_cast<std::int64_t>(k) * row_ + train_.features});
  work_->set_penalised(std::move(weights), dimension(), "concord::LinearModel::");
  if (options.kernels == KernelPath::blas) {
    std::int64_t gathered = 0;  // the most rows one agent gathers, over the samplers whose slots are not in place
    for (const BatchSampler* sampler : {&batches_, &train_all_, &test_all_})
      if (!sampler->in_place()) gathered = std::max(gathered, sampler->widest_agent());
    work_->prepare_blas({&train_, test_ ? &*test_ : nullptr}, train_.local_agents, dimension(), train_.features,
                        gathered, "concord::LinearModel::");
  }
}

std::string LinearModel::describe() const {
  std::string text = fmt::format("{} ({}): {} features{}, {} outputs, dimension {}, l2 {}, batch {}", name_,
                                 loss_name(options_.loss), train_.features, options_.bias ? " + bias" : "", outputs_,
                                 dimension(), options_.l2,
                                 options_.batch == 0 ? std::string("full") : std::to_string(options_.batch));
  if (solution_ && solution_rank_ < dimension())
    text += fmt::format("; x* is the minimum-norm minimiser (the normal matrix has rank {} of {})", solution_rank_,
                        dimension());
  return text;
}

void LinearModel::forward(const ExecutionSpace& exec, const AgentData& data, const BatchSampler& slots,
                          const AgentMatrix& params, bool with_loss) {
  auto W = params;
  auto X = data.x;
  auto targets = data.targets;
  auto labels = data.labels;
  auto sample = slots.slot_sample();
  auto agent = slots.slot_agent();
  auto r = residual_;
  auto loss = slot_loss_;
  auto correct = slot_correct_;
  const int F = data.features, D = row_, K = outputs_;
  const bool bias = options_.bias;
  const Loss kind = options_.loss;
  Kokkos::parallel_for(
      "concord::LinearModel::forward", Policy(exec, 0, slots.slots()), KOKKOS_LAMBDA(std::int64_t slot) {
        const int a = agent(slot);
        const std::int64_t s = sample(slot);
        for (int k = 0; k < K; ++k) {
          double z = bias ? W(a, k * D + F) : 0.0;
          for (int j = 0; j < F; ++j) z += W(a, k * D + j) * X(s, j);
          r(slot, k) = z;
        }
        detail::SampleLoss l;
        if (kind == Loss::squared)
          l = detail::squared_loss(r(slot, 0), targets(s));
        else if (kind == Loss::logistic)
          l = detail::logistic_loss(r(slot, 0), labels(s) == 1);
        else
          l = detail::softmax_cross_entropy(&r(slot, 0), 1, K, labels(s));
        if (with_loss) {
          loss(slot) = l.loss;
          correct(slot) = l.correct;
        }
      });
}

void LinearModel::accumulate_gradient(const ExecutionSpace& exec, const AgentData& data, const BatchSampler& slots,
                                      const AgentMatrix& params, const AgentMatrix& g, int first_column) {
  auto W = params;
  auto X = data.x;
  auto sample = slots.slot_sample();
  auto offsets = slots.slot_offsets();
  auto r = residual_;
  const std::int64_t agents = data.local_agents;
  const int F = data.features, D = row_;
  const double l2 = options_.l2;
  Kokkos::parallel_for(
      "concord::LinearModel::gradient", Policy(exec, 0, agents * dimension()), KOKKOS_LAMBDA(std::int64_t i) {
        const int p = static_cast<int>(i / agents);
        const int a = static_cast<int>(i % agents);
        const int k = p / D, j = p % D;
        const std::int64_t lo = offsets(a), hi = offsets(a + 1);
        double sum = 0.0;
        if (j < F)
          for (std::int64_t slot = lo; slot < hi; ++slot) sum += r(slot, k) * X(sample(slot), j);
        else
          for (std::int64_t slot = lo; slot < hi; ++slot) sum += r(slot, k);
        double value = sum / static_cast<double>(hi - lo);
        if (j < F) value += l2 * W(a, p);
        g(a, first_column + p) = value;
      });
}

void LinearModel::blas_pass(const ExecutionSpace& exec, const AgentData& data, const BatchSampler& slots,
                            const AgentMatrix& params, const AgentMatrix& g, bool with_loss,
                            std::optional<double> step) {
  if constexpr (host_execution) {
    const detail::AgentMajorPass pass(exec, params, g, work_->agent_params, work_->agent_sums);
    const int F = data.features, D = row_, K = outputs_, d = dimension();
    const bool bias = options_.bias, with_gradient = g.extent(0) > 0, gathered = !slots.in_place();
    const Loss kind = options_.loss;
    const double* X = data.x.data();
    const std::int64_t ldx = F > 0 ? static_cast<std::int64_t>(data.x.stride(0)) : 0;
    const std::int64_t* offsets = slots.slot_offsets().data();
    const std::int64_t* sample = slots.slot_sample().data();
    const double* targets = data.targets.data();
    const int* labels = data.labels.data();
    double* residual = residual_.data();
    double* loss = slot_loss_.data();
    double* correct = slot_correct_.data();
    double* all_params = pass.params;
    double* all_sums = pass.sums;
    const detail::ThreadScratch& gather = work_->gather;
    const detail::GradientClose close(work_->penalised_ranges, options_.l2, step);
    Kokkos::parallel_for("concord::LinearModel::agent_products", detail::host_agents(exec, data.local_agents),
                         [=](int a) {
                           const std::int64_t lo = offsets[a], m = offsets[a + 1] - lo;
                           const double inverse = 1.0 / static_cast<double>(m);
                           const double* W = all_params + static_cast<std::int64_t>(a) * d;
                           // The targets of scattered samples miss the cache: ask for them now.
                           for (std::int64_t i = 0; i < m; ++i)
                             __builtin_prefetch(targets != nullptr ? static_cast<const void*>(targets + sample[lo + i])
                                                                   : static_cast<const void*>(labels + sample[lo + i]));
                           const detail::ThreadScratch::Block block(gather);
                           const auto rows = detail::agent_rows(X, ldx, F, sample, lo, m, gathered, block.data());
                           const double* A = rows.first;
                           const std::int64_t lda = rows.second;
                           double* Z = residual + lo * K;
                           if (K == 1)
                             detail::product_n(m, F, A, lda, W, Z);
                           else
                             detail::product_nt(m, K, F, A, lda, W, D, Z, K);
                           for (std::int64_t i = 0; i < m; ++i) {
                             double* z = Z + i * K;
                             if (bias)
                               for (int k = 0; k < K; ++k) z[k] += W[k * D + F];
                             const std::int64_t s = sample[lo + i];
                             detail::SampleLoss l;
                             if (kind == Loss::squared)
                               l = detail::squared_loss(z[0], targets[s]);
                             else if (kind == Loss::logistic)
                               l = detail::logistic_loss(z[0], labels[s] == 1);
                             else
                               l = detail::softmax_cross_entropy(z, 1, K, labels[s]);
                             if (with_loss) {
                               loss[lo + i] = l.loss;
                               correct[lo + i] = l.correct;
                             }
                             for (int k = 0; k < K; ++k) z[k] *= inverse;  // the products below then give the mean
                           }
                           if (!with_gradient) return;
                           double* G = all_sums + static_cast<std::int64_t>(a) * d;
                           if (K == 1)
                             detail::product_t(m, F, A, lda, Z, G);
                           else
                             detail::product_tn(K, F, m, Z, K, A, lda, G, D);
                           if (bias)
                             for (int k = 0; k < K; ++k) {
                               double sum = 0.0;
                               for (std::int64_t i = 0; i < m; ++i) sum += Z[i * K + k];
                               G[k * D + F] = sum;
                             }
                           close(G, W, d);
                         });
    pass.finish(exec);
  }
}

void LinearModel::gradient(const ExecutionSpace& exec, const AgentMatrix& x, const AgentMatrix& g, std::int64_t iteration) {
  batches_.draw(exec, iteration);
  if (options_.kernels == KernelPath::blas) {
    blas_pass(exec, train_, batches_, x, g, false);
    return;
  }
  forward(exec, train_, batches_, x, false);
  accumulate_gradient(exec, train_, batches_, x, g, 0);
}

void LinearModel::gradient_step(const ExecutionSpace& exec, const AgentMatrix& x, double gamma,
                                const AgentMatrix& work, const AgentMatrix& out, std::int64_t iteration) {
  if (options_.kernels != KernelPath::blas) {
    Problem::gradient_step(exec, x, gamma, work, out, iteration);
    return;
  }
  check_gradient_step(x, work, out, "concord::problems::LinearModel");
  batches_.draw(exec, iteration);
  blas_pass(exec, train_, batches_, x, out, false, gamma);
}

void LinearModel::evaluate(const ExecutionSpace& exec, const CoordinateVector& point, const AgentMatrix& out, Split split) {
  if (split == Split::test && !test_)
    throw std::logic_error("concord::problems::LinearModel::evaluate: no test set");
  const AgentData& data = split == Split::train ? train_ : *test_;
  const BatchSampler& slots = split == Split::train ? train_all_ : test_all_;
  const int d = dimension();
  auto rows = point_rows_;
  broadcast_rows(exec, "concord::LinearModel::broadcast", point, rows);
  if (options_.kernels == KernelPath::blas) {
    blas_pass(exec, data, slots, rows, split == Split::train ? out : AgentMatrix(), true);
  } else {
    forward(exec, data, slots, rows, true);
    if (split == Split::train) accumulate_gradient(exec, data, slots, rows, out, 0);
  }
  detail::loss_rows(exec, point, work_->penalised, options_.l2, slots.slot_offsets(), slot_loss_, slot_correct_, out, d);
}

// The steps of LinearModel::compute_solution (host loops, Eigen's kernels and the reduction).
namespace {

using HostPolicy = Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace, Kokkos::Schedule<Kokkos::Dynamic>,
                                       Kokkos::IndexType<std::int64_t>>;
using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Rows = Eigen::Map<const RowMajor, Eigen::Unaligned, Eigen::OuterStride<>>;
using HostRows = AgentMatrix::host_mirror_type;

/// Entries before column q of a packed upper triangle (entry (p, q), p <= q, at q (q + 1) / 2 + p).
std::int64_t packed_before(std::int64_t q) { return q * (q + 1) / 2; }

/// The training samples on the host: sample s's features at x_data + s * x_stride, its target
/// t(s); agent a's samples are [offsets[a], offsets[a + 1]).
struct HostSamples {
  decltype(Kokkos::create_mirror_view_and_copy(HostSpace(), std::declval<const decltype(AgentData::x)&>())) X;
  decltype(Kokkos::create_mirror_view_and_copy(HostSpace(), std::declval<const decltype(AgentData::targets)&>())) t;
  const std::int64_t* offsets = nullptr;
  const double* x_data = nullptr;
  std::int64_t x_stride = 0;
};

/// The samples of `train` on the host (no copy on the host backends), once `exec` is done.
HostSamples host_samples(const ExecutionSpace& exec, const AgentData& train) {
  exec.fence("concord::LinearModel::compute_solution");
  HostSamples s{Kokkos::create_mirror_view_and_copy(HostSpace(), train.x),
                Kokkos::create_mirror_view_and_copy(HostSpace(), train.targets)};
  s.offsets = train.host_offsets.data();
  s.x_data = s.X.data();
  s.x_stride = train.features > 0 ? static_cast<std::int64_t>(s.X.stride(0)) : 0;
  return s;
}

/// Per-agent entries that fit in flight: entries_in_flight (0: kEntriesInFlight) over the local
/// agents, at least vector_width.
std::int64_t per_agent_budget(std::int64_t entries_in_flight, std::int64_t agents, std::int64_t vector_width) {
  return std::max<std::int64_t>((entries_in_flight > 0 ? entries_in_flight : kEntriesInFlight) /
                                    std::max<std::int64_t>(agents, 1),
                                vector_width);
}

/// The Gram's reduction chunks, columns [bounds[k], bounds[k + 1]), and the widest per-agent row
/// the reduction needs (the chunks' packed entries, or vector_width).
struct GramChunks {
  std::vector<int> bounds;
  std::int64_t width = 0;
};

/// Cuts the F Gram columns into chunks of whole panels holding at most `budget` packed entries per
/// agent (at least one panel each).
GramChunks gram_chunks(int F, std::int64_t vector_width, std::int64_t budget) {
  GramChunks chunks{{0}, vector_width};
  std::vector<int>& bounds = chunks.bounds;
  while (bounds.back() < F) {
    const int q0 = bounds.back();
    int q1 = std::min(F, q0 + kGramPanel);
    while (q1 < F && packed_before(std::min(F, q1 + kGramPanel)) - packed_before(q0) <= budget)
      q1 = std::min(F, q1 + kGramPanel);
    bounds.push_back(q1);
    chunks.width = std::max(chunks.width, packed_before(q1) - packed_before(q0));
  }
  return chunks;
}

/// Rows of per-agent entries (local agents x width) filled on the host, and their average over all
/// agents of all ranks (a ReproducibleSum: the same bits for any number of ranks).
struct AgentAverage {
  AgentAverage(std::shared_ptr<comm::Transport> transport, const AgentLayout& layout, int agents, std::int64_t width)
      : rows(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("concord::LinearModel::gram_rows")), agents,
             width),
        rows_host(Kokkos::create_mirror_view(rows)),
        total(Kokkos::view_alloc(std::string("concord::LinearModel::gram_total")), width),
        total_host(Kokkos::create_mirror_view(total)),
        reducer(std::move(transport), layout, static_cast<int>(width)) {}

  /// Averages the first `columns` columns of rows_host over all agents into total_host.
  void average(const ExecutionSpace& exec, std::int64_t columns) {
    const auto cols = std::make_pair(std::int64_t{0}, columns);
    Kokkos::deep_copy(exec, Kokkos::subview(rows, Kokkos::ALL, cols), Kokkos::subview(rows_host, Kokkos::ALL, cols));
    reducer.average(exec, Kokkos::subview(rows, Kokkos::ALL, cols), total);
    Kokkos::deep_copy(exec, Kokkos::subview(total_host, cols), Kokkos::subview(total, cols));
    exec.fence("concord::LinearModel::compute_solution");
  }

  AgentMatrix rows;
  HostRows rows_host;
  CoordinateVector total;
  CoordinateVector::host_mirror_type total_host;
  mixing::ReproducibleSum reducer;
};

/// rows_host(a, .) = agent a's A_a^T b_a / m_a, then with a bias b_a's mean (at F) and the column
/// sums A_a^T 1 / m_a (at D + p), vector_width entries in all.
void normal_rhs_rows(const HostSamples& samples, int agents, int F, int D, bool bias, std::int64_t vector_width,
                     const HostRows& rows_host) {
  const std::int64_t* offsets = samples.offsets;
  const double* x_data = samples.x_data;
  const std::int64_t x_stride = samples.x_stride;
  const auto t = samples.t;
  Kokkos::parallel_for(
      "concord::LinearModel::normal_rhs", HostPolicy(0, std::int64_t{agents}), [=](std::int64_t a) {
        const std::int64_t lo = offsets[a], hi = offsets[a + 1];
        const double m = static_cast<double>(hi - lo);
        std::vector<double> sums(static_cast<std::size_t>(vector_width), 0.0);
        for (std::int64_t s = lo; s < hi; ++s) {
          const double* xs = x_data + s * x_stride;
          const double ts = t(s);
          for (int p = 0; p < F; ++p) sums[static_cast<std::size_t>(p)] += xs[p] * ts;
          if (bias) {
            sums[static_cast<std::size_t>(F)] += ts;
            for (int p = 0; p < F; ++p) sums[static_cast<std::size_t>(D + p)] += xs[p];
          }
        }
        for (std::int64_t e = 0; e < vector_width; ++e) rows_host(a, e) = sums[static_cast<std::size_t>(e)] / m;
      });
}

/// rows_host(a, .) = the packed upper triangle of agent a's A_a^T A_a / m_a in columns [q0, q1)
/// (column q's entries from packed_before(q) - packed_before(q0) on).
void gram_rows(const HostSamples& samples, int agents, int F, int q0, int q1, const HostRows& rows_host) {
  const std::int64_t* offsets = samples.offsets;
  const double* x_data = samples.x_data;
  const std::int64_t x_stride = samples.x_stride;
  const std::int64_t base = packed_before(q0);
  std::vector<std::array<int, 2>> items;
  for (int j0 = q0; j0 < q1; j0 += kGramPanel)
    for (int a = 0; a < agents; ++a) items.push_back({a, j0});
  std::stable_sort(items.begin(), items.end(), [](const auto& u, const auto& v) { return u[1] > v[1]; });
  const std::array<int, 2>* item = items.data();
  Kokkos::parallel_for(
      "concord::LinearModel::gram", HostPolicy(0, static_cast<std::int64_t>(items.size())), [=](std::int64_t w) {
        const auto [a, j0] = item[w];
        const std::int64_t lo = offsets[a], hi = offsets[a + 1];
        const double m = static_cast<double>(hi - lo);
        const int bj = std::min(kGramPanel, F - j0);
        const Rows A(x_data + lo * x_stride, hi - lo, F, Eigen::OuterStride<>(x_stride));
        thread_local Eigen::MatrixXd above, diagonal;
        above.resize(j0, bj);
        if (j0 > 0) above.noalias() = A.leftCols(j0).transpose() * A.middleCols(j0, bj);
        diagonal.setZero(bj, bj);
        diagonal.selfadjointView<Eigen::Upper>().rankUpdate(A.middleCols(j0, bj).transpose());
        for (int j = 0; j < bj; ++j) {
          const int q = j0 + j;
          const std::int64_t column = packed_before(q) - base;
          for (int p = 0; p < j0; ++p) rows_host(a, column + p) = above(p, j) / m;
          for (int i = 0; i <= j; ++i) rows_host(a, column + j0 + i) = diagonal(i, j) / m;
        }
      });
}

/// x* = H^+ c, and H's numerical rank in `rank`.
Eigen::VectorXd minimum_norm_solution(const Eigen::MatrixXd& H, const Eigen::VectorXd& c, int& rank) {
  // x* = H^+ c. Cholesky (with one refinement step) when H is clearly nonsingular; otherwise the
  // eigendecomposition H = V diag(lambda) V^T with lambda <= D eps lambda_max taken as zero: the
  // minimum-norm minimiser (c lies in the range of H).
  const int D = static_cast<int>(H.rows());
  const double eps = std::numeric_limits<double>::epsilon();
  Eigen::VectorXd x;
  rank = D;
  Eigen::LLT<Eigen::MatrixXd> llt(H);
  if (llt.info() == Eigen::Success && llt.rcond() > kCholeskyMargin * D * eps) {
    x = llt.solve(c);
    x += llt.solve(c - H * x);
  } else {
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(H);
    const Eigen::VectorXd& lambda = eigen.eigenvalues();
    const Eigen::MatrixXd& V = eigen.eigenvectors();
    const double cut = D * eps * std::max(0.0, lambda.cwiseAbs().maxCoeff());
    Eigen::VectorXd inverse(D);
    rank = 0;
    for (int i = 0; i < D; ++i) {
      inverse(i) = lambda(i) > cut ? 1.0 / lambda(i) : 0.0;
      if (lambda(i) > cut) ++rank;
    }
    const Eigen::VectorXd y = (V.transpose() * c).cwiseProduct(inverse);
    x = V * y;
    const Eigen::VectorXd correction = (V.transpose() * (c - H * x)).cwiseProduct(inverse);
    x += V * correction;
  }
  return x;
}

}  // namespace

void LinearModel::compute_solution(const ExecutionSpace& exec, std::shared_ptr<comm::Transport> transport,
                                   std::int64_t entries_in_flight) {
  if (options_.loss != Loss::squared)
    throw std::logic_error("concord::problems::LinearModel::compute_solution: least squares only");
  const int D = row_, F = train_.features;
  const bool bias = options_.bias;
  const int agents = train_.local_agents;
  FixedEigenKernels fixed;

  // The samples on the host (no copy on the host backends).
  const HostSamples samples = host_samples(exec, train_);

  // Per-agent entries in flight, (local agents x width), reduced over all agents chunk by chunk:
  // first c_i = A_i^T b_i / m_i and (with a bias) the column sums A_i^T 1 / m_i, then the packed
  // upper triangle of A_i^T A_i / m_i (entry (p, q), p <= q, at q (q + 1) / 2 + p) in chunks of
  // whole panels holding at most entries_in_flight entries over all local agents (at least one panel).
  const std::int64_t vector_width = D + (bias ? F : 0);
  const GramChunks chunks = gram_chunks(F, vector_width, per_agent_budget(entries_in_flight, agents, vector_width));
  if (chunks.width > std::numeric_limits<int>::max())
    throw InputError(fmt::format("problem '{}': dimension {} is too large for the exact least-squares solution", name_, D));
  AgentAverage reduction(transport, layout_, agents, chunks.width);

  Eigen::MatrixXd H(D, D);
  Eigen::VectorXd c(D);

  // Right-hand side and bias column: plain loops, samples in ascending order.
  normal_rhs_rows(samples, agents, F, D, bias, vector_width, reduction.rows_host);
  reduction.average(exec, vector_width);
  for (int p = 0; p < D; ++p) c(p) = reduction.total_host(p);
  if (bias) {
    for (int p = 0; p < F; ++p) H(p, F) = H(F, p) = reduction.total_host(D + p);
    H(F, F) = 1.0;
  }

  // The Gram matrix by column panels: work item (agent, panel) computes the upper part of the
  // panel's columns [j0, j0 + kGramPanel) of A_i^T A_i with Eigen's blocked kernels on one thread:
  // the block above the diagonal as one product, the diagonal block as a rank update (its upper
  // triangle only). Items are ordered by decreasing cost for the dynamic schedule.
  for (std::size_t chunk = 0; chunk + 1 < chunks.bounds.size(); ++chunk) {
    const int q0 = chunks.bounds[chunk], q1 = chunks.bounds[chunk + 1];
    const std::int64_t base = packed_before(q0);
    gram_rows(samples, agents, F, q0, q1, reduction.rows_host);
    reduction.average(exec, packed_before(q1) - base);
    for (int q = q0; q < q1; ++q)
      for (int p = 0; p <= q; ++p) H(p, q) = H(q, p) = reduction.total_host(packed_before(q) - base + p);
  }
  for (int p = 0; p < F; ++p) H(p, p) += options_.l2;

  const Eigen::VectorXd x = minimum_norm_solution(H, c, solution_rank_);
  solution_ = std::vector<double>(x.data(), x.data() + D);
}

}  // namespace concord::problems
