#include "concord/problems/linear_model.hpp"

#include <fmt/format.h>

#include <Eigen/Dense>
#include <algorithm>

#include "concord/core/error.hpp"
#include "concord/mixing/reproducible_sum.hpp"

namespace concord::problems {
namespace {

using Policy = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>;

std::string loss_name(Loss loss) {
  switch (loss) {
    case Loss::squared: return "least squares";
    case Loss::logistic: return "binary logistic";
    case Loss::softmax: return "multinomial logistic";
  }
  return "?";
}

}  // namespace

LinearModel::LinearModel(const AgentLayout& layout, AgentData train, std::optional<AgentData> test,
                         const LinearModelOptions& options, const std::string& name)
    : Problem(layout), name_(name), options_(options), train_(std::move(train)), test_(std::move(test)) {
  if (train_.local_agents != layout.local_count())
    throw std::invalid_argument("concord::problems::LinearModel: data and layout disagree on the local agents");
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
  train_all_ = BatchSampler(train_, 0, options.seed);
  std::int64_t slots = std::max(batches_.slots(), train_all_.slots());
  if (test_) {
    test_all_ = BatchSampler(*test_, 0, options.seed);
    slots = std::max(slots, test_all_.slots());
  }
  residual_ = decltype(residual_)(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("concord::LinearModel::residual")),
                                  slots, outputs_);
  slot_loss_ = decltype(slot_loss_)(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("concord::LinearModel::slot_loss")), slots);
  slot_correct_ =
      decltype(slot_correct_)(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("concord::LinearModel::slot_correct")), slots);
  point_rows_ = AgentMatrix(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("concord::LinearModel::point_rows")),
                            train_.local_agents, dimension());
}

std::string LinearModel::describe() const {
  return fmt::format("{} ({}): {} features{}, {} outputs, dimension {}, l2 {}, batch {}", name_, loss_name(options_.loss),
                     train_.features, options_.bias ? " + bias" : "", outputs_, dimension(), options_.l2,
                     options_.batch == 0 ? std::string("full") : std::to_string(options_.batch));
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
        double l = 0.0, ok = 0.0;
        if (kind == Loss::squared) {
          const double e = r(slot, 0) - targets(s);
          r(slot, 0) = e;
          l = 0.5 * e * e;
        } else if (kind == Loss::logistic) {
          const double y = labels(s) == 1 ? 1.0 : -1.0;
          const double z = r(slot, 0), m = y * z;
          // log(1 + e^-m) and sigma(-m) = 1 / (1 + e^m), both without overflow.
          l = m > 0 ? Kokkos::log1p(Kokkos::exp(-m)) : -m + Kokkos::log1p(Kokkos::exp(m));
          const double sig = m > 0 ? Kokkos::exp(-m) / (1.0 + Kokkos::exp(-m)) : 1.0 / (1.0 + Kokkos::exp(m));
          r(slot, 0) = -y * sig;
          ok = ((z > 0) == (labels(s) == 1)) ? 1.0 : 0.0;
        } else {
          const int y = labels(s);
          int best = 0;
          double zmax = r(slot, 0);
          for (int k = 1; k < K; ++k)
            if (r(slot, k) > zmax) zmax = r(slot, k), best = k;
          double total = 0.0;
          for (int k = 0; k < K; ++k) total += Kokkos::exp(r(slot, k) - zmax);
          const double log_total = Kokkos::log(total);
          l = -(r(slot, y) - zmax - log_total);
          for (int k = 0; k < K; ++k) r(slot, k) = Kokkos::exp(r(slot, k) - zmax - log_total) - (k == y ? 1.0 : 0.0);
          ok = best == y ? 1.0 : 0.0;
        }
        if (with_loss) {
          loss(slot) = l;
          correct(slot) = ok;
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

void LinearModel::gradient(const ExecutionSpace& exec, const AgentMatrix& x, const AgentMatrix& g, std::int64_t iteration) {
  batches_.draw(exec, iteration);
  forward(exec, train_, batches_, x, false);
  accumulate_gradient(exec, train_, batches_, x, g, 0);
}

void LinearModel::evaluate(const ExecutionSpace& exec, const CoordinateVector& point, const AgentMatrix& out, Split split) {
  if (split == Split::test && !test_)
    throw std::logic_error("concord::problems::LinearModel::evaluate: no test set");
  const AgentData& data = split == Split::train ? train_ : *test_;
  const BatchSampler& slots = split == Split::train ? train_all_ : test_all_;
  const int d = dimension();
  auto rows = point_rows_;
  const std::int64_t agents = train_.local_agents;
  Kokkos::parallel_for(
      "concord::LinearModel::broadcast", Policy(exec, 0, agents * d),
      KOKKOS_LAMBDA(std::int64_t i) { rows(i % agents, static_cast<int>(i / agents)) = point(i / agents); });
  forward(exec, data, slots, rows, true);
  if (split == Split::train) accumulate_gradient(exec, data, slots, rows, out, 0);
  auto offsets = slots.slot_offsets();
  auto loss = slot_loss_;
  auto correct = slot_correct_;
  const int F = data.features, D = row_, K = outputs_;
  const double l2 = options_.l2;
  Kokkos::parallel_for(
      "concord::LinearModel::loss", Policy(exec, 0, agents), KOKKOS_LAMBDA(std::int64_t a) {
        const std::int64_t lo = offsets(a), hi = offsets(a + 1);
        double l = 0.0, ok = 0.0;
        for (std::int64_t slot = lo; slot < hi; ++slot) l += loss(slot), ok += correct(slot);
        double penalty = 0.0;
        if (l2 > 0)
          for (int k = 0; k < K; ++k)
            for (int j = 0; j < F; ++j) penalty += point(k * D + j) * point(k * D + j);
        out(a, d) = l / static_cast<double>(hi - lo) + 0.5 * l2 * penalty;
        out(a, d + 1) = ok;
        out(a, d + 2) = static_cast<double>(hi - lo);
      });
}

void LinearModel::compute_solution(const ExecutionSpace& exec, std::shared_ptr<comm::Transport> transport) {
  if (options_.loss != Loss::squared)
    throw std::logic_error("concord::problems::LinearModel::compute_solution: least squares only");
  const int D = row_, F = train_.features;
  const int width = D * D + D;
  auto X = train_.x;
  auto t = train_.targets;
  auto offsets = train_.offsets;
  const std::int64_t agents = train_.local_agents;
  AgentMatrix rows(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("concord::LinearModel::normal_equations")),
                   agents, width);
  Kokkos::parallel_for(
      "concord::LinearModel::normal_equations", Policy(exec, 0, agents * width), KOKKOS_LAMBDA(std::int64_t i) {
        const int a = static_cast<int>(i % agents);
        const int e = static_cast<int>(i / agents);
        const std::int64_t lo = offsets(a), hi = offsets(a + 1);
        double sum = 0.0;
        if (e < D * D) {
          const int p = e / D, q = e % D;
          for (std::int64_t s = lo; s < hi; ++s) sum += (p < F ? X(s, p) : 1.0) * (q < F ? X(s, q) : 1.0);
        } else {
          const int p = e - D * D;
          for (std::int64_t s = lo; s < hi; ++s) sum += (p < F ? X(s, p) : 1.0) * t(s);
        }
        rows(a, e) = sum / static_cast<double>(hi - lo);
      });
  mixing::ReproducibleSum reducer(transport, layout_, width);
  CoordinateVector total(Kokkos::view_alloc(std::string("concord::LinearModel::normal_total")), width);
  reducer.average(exec, rows, total);
  auto host = Kokkos::create_mirror_view_and_copy(HostSpace(), total);
  Eigen::MatrixXd H(D, D);
  Eigen::VectorXd c(D);
  for (int p = 0; p < D; ++p) {
    for (int q = 0; q < D; ++q) H(p, q) = host(p * D + q);
    c(p) = host(D * D + p);
    if (p < F) H(p, p) += options_.l2;
  }
  Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(H);
  if (qr.rank() < D)
    throw InputError(fmt::format("problem '{}': the least-squares system is singular (rank {} of {}): more independent "
                                 "samples than parameters are needed for a unique minimiser",
                                 name_, qr.rank(), D));
  Eigen::VectorXd x = qr.solve(c);
  x += qr.solve(c - H * x);  // one step of iterative refinement
  solution_ = std::vector<double>(x.data(), x.data() + D);
}

}  // namespace concord::problems
