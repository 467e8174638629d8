// The problems (LinearModel with its three losses, Mlp with relu and tanh and 0, 1, 2 hidden
// layers) against independent references, on every rank count:
//  - the gradient against central finite differences of the loss that evaluate() reports;
//  - gradient, loss and correct counts against straightforward host implementations written
//    here (plain loops over std::vector), for the full batch and for minibatches whose indices
//    are recomputed on the host from the agents' sampling streams;
//  - evaluate() at known points (exact correct and sample counts, analytic losses, accuracy);
//  - determinism: the gradient and evaluate rows of global agent i are bit-identical to those of
//    the same problem with every agent in one process;
//  - the Mlp initialisation (the same on every agent and rank count, He/Xavier variance);
//  - bad inputs are refused with InputError.
// Everything runs on the host side of the test through deep copies, so no kernel lives here.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "concord/core/error.hpp"
#include "concord/core/random.hpp"
#include "concord/data/partition.hpp"
#include "concord/problems/linear_model.hpp"
#include "concord/problems/mlp.hpp"
#include "concord/problems/synthetic.hpp"
#include "mixing_support.hpp"

using namespace concord_test;
using concord::AgentLayout;
using concord::AgentMatrix;
using concord::CoordinateVector;
namespace cp = concord::problems;

namespace {

constexpr int kAgents = 6;
constexpr int kFeatures = 5;
constexpr std::uint64_t kSamplingSeed = 17;
constexpr std::uint64_t kPointSeed = 29;

// ---------------------------------------------------------------------------------------------
// Data: every rank generates the samples of every agent the same way.

struct Dataset {
  concord::data::SampleSet set;
  std::vector<std::vector<std::int64_t>> samples_of;  // per global agent
};

/// `samples` samples in `classes` classes spread iid over the agents (uneven shares when
/// samples is not a multiple of kAgents).
Dataset classification_data(int classes, int samples, std::uint64_t seed, int features = kFeatures,
                            int agents = kAgents) {
  cp::ClassificationSpec spec;
  spec.samples = samples;
  spec.features = features;
  spec.classes = classes;
  spec.separation = 2.0;
  Dataset d;
  d.set = cp::synthetic_classification(spec, seed);
  d.samples_of = concord::data::partition(d.set, agents, concord::data::PartitionSpec{}, seed);
  return d;
}

/// Least squares rows of every agent (generated for the one-process layout).
Dataset regression_data(int per_agent, std::uint64_t seed) {
  cp::LeastSquaresSpec spec;
  spec.samples_per_agent = per_agent;
  spec.dimension = kFeatures;
  spec.heterogeneity = 0.5;
  spec.noise = 0.2;
  auto assigned = cp::synthetic_least_squares(spec, AgentLayout(kAgents, 1, 0), seed);
  return Dataset{std::move(assigned.set), std::move(assigned.samples_of)};
}

// ---------------------------------------------------------------------------------------------
// The problems under test.

enum class Model { linear, mlp };

struct Case {
  std::string label;
  Model model = Model::linear;
  int classes = 0;  // 0: regression data
  cp::LinearModelOptions linear;
  cp::MlpOptions mlp;
};

std::vector<Case> linear_cases() {
  std::vector<Case> cases;
  const std::pair<cp::Loss, int> losses[] = {{cp::Loss::squared, 0}, {cp::Loss::logistic, 2}, {cp::Loss::softmax, 4}};
  const char* names[] = {"squared", "logistic", "softmax"};
  int i = 0;
  for (const auto& [loss, classes] : losses) {
    for (bool bias : {false, true})
      for (double l2 : {0.0, 0.1}) {
        Case c;
        c.label = std::string("linear ") + names[i] + (bias ? " +bias" : "") + (l2 > 0 ? " l2" : "");
        c.model = Model::linear;
        c.classes = classes;
        c.linear.loss = loss;
        c.linear.bias = bias;
        c.linear.l2 = l2;
        cases.push_back(c);
      }
    ++i;
  }
  return cases;
}

std::vector<Case> mlp_cases() {
  std::vector<Case> cases;
  const std::vector<std::vector<int>> shapes{{}, {7}, {7, 6}};
  for (auto activation : {cp::Activation::relu, cp::Activation::tanh})
    for (std::size_t s = 0; s < shapes.size(); ++s) {
      Case c;
      c.model = Model::mlp;
      c.classes = 3;
      c.mlp.hidden = shapes[s];
      c.mlp.activation = activation;
      c.mlp.l2 = (s + (activation == cp::Activation::tanh ? 1 : 0)) % 2 == 1 ? 0.05 : 0.0;
      c.label = "mlp " + cp::to_string(activation) + " hidden " + std::to_string(shapes[s].size()) +
                (c.mlp.l2 > 0 ? " l2" : "");
      cases.push_back(c);
    }
  return cases;
}

// Every case on both kernel paths: the BLAS products (the default of host builds) and the
// portable Kokkos kernels (the device path), so each test below checks both.
std::vector<Case> all_cases() {
  auto one_path = linear_cases();
  for (auto& c : mlp_cases()) one_path.push_back(c);
  std::vector<Case> cases;
  for (auto path : {cp::KernelPath::blas, cp::KernelPath::portable})
    for (Case c : one_path) {
      if (path == cp::KernelPath::blas && !concord::host_execution) continue;
      c.linear.kernels = c.mlp.kernels = path;
      c.label += path == cp::KernelPath::blas ? " [blas]" : " [portable]";
      cases.push_back(c);
    }
  return cases;
}

Dataset train_data(const Case& c) {
  return c.classes == 0 ? regression_data(12, 101) : classification_data(c.classes, 83, 101);
}
Dataset test_data(const Case& c) {
  return c.classes == 0 ? regression_data(5, 202) : classification_data(c.classes, 40, 202);
}

std::unique_ptr<cp::Problem> make_problem(const Case& c, const AgentLayout& layout, const Dataset& train,
                                          const Dataset& test, int batch) {
  cp::AgentData tr(train.set, train.samples_of, layout, "train");
  cp::AgentData te(test.set, test.samples_of, layout, "test");
  if (c.model == Model::linear) {
    auto options = c.linear;
    options.batch = batch;
    options.seed = kSamplingSeed;
    return std::make_unique<cp::LinearModel>(layout, std::move(tr), std::move(te), options, c.label);
  }
  auto options = c.mlp;
  options.batch = batch;
  options.seed = kSamplingSeed;
  options.init_seed = 5;
  return std::make_unique<cp::Mlp>(layout, std::move(tr), std::move(te), options, c.label);
}

// ---------------------------------------------------------------------------------------------
// Independent host references: loss (mean + l2 term), gradient and correct count of one agent's
// parameters x on the set rows `rows` (in order, repeats allowed).

struct Reference {
  double loss = 0.0;
  double correct = 0.0;
  std::vector<double> grad;
};

Reference linear_reference(const Case& c, const concord::data::SampleSet& set, const std::vector<std::int64_t>& rows,
                           const std::vector<double>& x) {
  const int F = set.features;
  const int D = F + (c.linear.bias ? 1 : 0);
  const int K = c.linear.loss == cp::Loss::softmax ? set.classes : 1;
  Reference r;
  r.grad.assign(static_cast<std::size_t>(K) * D, 0.0);
  for (std::int64_t row : rows) {
    const double* a = set.row(row);
    std::vector<double> z(static_cast<std::size_t>(K), 0.0), residual(static_cast<std::size_t>(K), 0.0);
    for (int k = 0; k < K; ++k) {
      for (int j = 0; j < F; ++j) z[k] += x[static_cast<std::size_t>(k * D + j)] * a[j];
      if (c.linear.bias) z[k] += x[static_cast<std::size_t>(k * D + F)];
    }
    if (c.linear.loss == cp::Loss::squared) {
      const double e = z[0] - set.targets[static_cast<std::size_t>(row)];
      r.loss += 0.5 * e * e;
      residual[0] = e;
    } else if (c.linear.loss == cp::Loss::logistic) {
      const int label = set.labels[static_cast<std::size_t>(row)];
      const double y = label == 1 ? 1.0 : -1.0;
      r.loss += std::log1p(std::exp(-y * z[0]));
      residual[0] = -y / (1.0 + std::exp(y * z[0]));
      if ((z[0] > 0) == (label == 1)) r.correct += 1;
    } else {
      const int label = set.labels[static_cast<std::size_t>(row)];
      const double zmax = *std::max_element(z.begin(), z.end());
      double total = 0.0;
      for (double v : z) total += std::exp(v - zmax);
      const double log_norm = zmax + std::log(total);
      r.loss += log_norm - z[static_cast<std::size_t>(label)];
      for (int k = 0; k < K; ++k) residual[k] = std::exp(z[k] - log_norm) - (k == label ? 1.0 : 0.0);
      if (std::max_element(z.begin(), z.end()) - z.begin() == label) r.correct += 1;
    }
    for (int k = 0; k < K; ++k) {
      for (int j = 0; j < F; ++j) r.grad[static_cast<std::size_t>(k * D + j)] += residual[k] * a[j];
      if (c.linear.bias) r.grad[static_cast<std::size_t>(k * D + F)] += residual[k];
    }
  }
  const double m = static_cast<double>(rows.size());
  r.loss /= m;
  for (double& v : r.grad) v /= m;
  for (int k = 0; k < K; ++k)
    for (int j = 0; j < F; ++j) {
      const double w = x[static_cast<std::size_t>(k * D + j)];
      r.grad[static_cast<std::size_t>(k * D + j)] += c.linear.l2 * w;
      r.loss += 0.5 * c.linear.l2 * w * w;
    }
  return r;
}

/// Layer widths F, hidden..., classes of an Mlp case.
std::vector<int> mlp_widths(const Case& c, int features, int classes) {
  std::vector<int> n{features};
  n.insert(n.end(), c.mlp.hidden.begin(), c.mlp.hidden.end());
  n.push_back(classes);
  return n;
}

Reference mlp_reference(const Case& c, const concord::data::SampleSet& set, const std::vector<std::int64_t>& rows,
                        const std::vector<double>& x) {
  const std::vector<int> n = mlp_widths(c, set.features, set.classes);
  const int L = static_cast<int>(n.size()) - 1;
  std::vector<std::size_t> w_at(static_cast<std::size_t>(L)), b_at(static_cast<std::size_t>(L));
  std::size_t size = 0;
  for (int l = 0; l < L; ++l) {
    w_at[l] = size;
    b_at[l] = size + static_cast<std::size_t>(n[l + 1]) * n[l];
    size = b_at[l] + n[l + 1];
  }
  const bool relu = c.mlp.activation == cp::Activation::relu;
  Reference r;
  r.grad.assign(size, 0.0);
  for (std::int64_t row : rows) {
    // Forward: a[0] = input, a[l + 1] = act(W_l a[l] + b_l), logits last.
    std::vector<std::vector<double>> a(static_cast<std::size_t>(L) + 1);
    a[0].assign(set.row(row), set.row(row) + set.features);
    for (int l = 0; l < L; ++l) {
      a[l + 1].assign(static_cast<std::size_t>(n[l + 1]), 0.0);
      for (int o = 0; o < n[l + 1]; ++o) {
        double z = x[b_at[l] + o];
        for (int i = 0; i < n[l]; ++i) z += x[w_at[l] + static_cast<std::size_t>(o) * n[l] + i] * a[l][i];
        if (l < L - 1) z = relu ? std::max(z, 0.0) : std::tanh(z);
        a[l + 1][o] = z;
      }
    }
    const std::vector<double>& z = a[L];
    const int label = set.labels[static_cast<std::size_t>(row)];
    const double zmax = *std::max_element(z.begin(), z.end());
    double total = 0.0;
    for (double v : z) total += std::exp(v - zmax);
    const double log_norm = zmax + std::log(total);
    r.loss += log_norm - z[static_cast<std::size_t>(label)];
    if (std::max_element(z.begin(), z.end()) - z.begin() == label) r.correct += 1;
    // Backward.
    std::vector<double> delta(z.size());
    for (std::size_t k = 0; k < z.size(); ++k)
      delta[k] = std::exp(z[k] - log_norm) - (static_cast<int>(k) == label ? 1.0 : 0.0);
    for (int l = L - 1; l >= 0; --l) {
      for (int o = 0; o < n[l + 1]; ++o) {
        for (int i = 0; i < n[l]; ++i) r.grad[w_at[l] + static_cast<std::size_t>(o) * n[l] + i] += delta[o] * a[l][i];
        r.grad[b_at[l] + o] += delta[o];
      }
      if (l == 0) break;
      std::vector<double> below(static_cast<std::size_t>(n[l]), 0.0);
      for (int i = 0; i < n[l]; ++i) {
        for (int o = 0; o < n[l + 1]; ++o) below[i] += x[w_at[l] + static_cast<std::size_t>(o) * n[l] + i] * delta[o];
        const double h = a[l][i];
        below[i] *= relu ? (h > 0 ? 1.0 : 0.0) : 1.0 - h * h;
      }
      delta = below;
    }
  }
  const double m = static_cast<double>(rows.size());
  r.loss /= m;
  for (double& v : r.grad) v /= m;
  for (int l = 0; l < L; ++l)
    for (std::size_t p = w_at[l]; p < b_at[l]; ++p) {
      r.grad[p] += c.mlp.l2 * x[p];
      r.loss += 0.5 * c.mlp.l2 * x[p] * x[p];
    }
  return r;
}

Reference reference(const Case& c, const concord::data::SampleSet& set, const std::vector<std::int64_t>& rows,
                    const std::vector<double>& x) {
  return c.model == Model::linear ? linear_reference(c, set, rows, x) : mlp_reference(c, set, rows, x);
}

/// The set rows of global agent g's minibatch at iteration k on `layout`, recomputed as
/// BatchSampler::draw does: uniform_int over the agent's local sample range on its rank.
std::vector<std::int64_t> batch_rows(const Dataset& data, const AgentLayout& layout, int g, int batch, std::int64_t k) {
  const auto& own = data.samples_of[static_cast<std::size_t>(g)];
  if (batch == 0) return own;
  std::int64_t lo = 0;
  for (int h = layout.local_first(); h < g; ++h) lo += static_cast<std::int64_t>(data.samples_of[static_cast<std::size_t>(h)].size());
  const std::int64_t hi = lo + static_cast<std::int64_t>(own.size()) - 1;
  auto rng = concord::agent_stream(kSamplingSeed, concord::stream_purpose::sampling, static_cast<std::uint64_t>(g),
                                   static_cast<std::uint64_t>(k));
  std::vector<std::int64_t> rows;
  for (int b = 0; b < batch; ++b) rows.push_back(own[static_cast<std::size_t>(rng.uniform_int(lo, hi) - lo)]);
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Device helpers (deep copies only).

AgentMatrix to_device(const std::vector<double>& rows, int agents, int d) {
  AgentMatrix m("concord_test::rows", agents, d);
  auto h = Kokkos::create_mirror_view(m);
  for (int a = 0; a < agents; ++a)
    for (int c = 0; c < d; ++c) h(a, c) = rows[static_cast<std::size_t>(a) * d + c];
  Kokkos::deep_copy(m, h);
  return m;
}

CoordinateVector to_device(const std::vector<double>& v) {
  CoordinateVector p("concord_test::point", v.size());
  auto h = Kokkos::create_mirror_view(p);
  for (std::size_t c = 0; c < v.size(); ++c) h(c) = v[c];
  Kokkos::deep_copy(p, h);
  return p;
}

/// The gradient rows (agent-major) of the local agents at x, iteration k.
std::vector<double> gradient_rows(cp::Problem& problem, const AgentMatrix& x, std::int64_t k) {
  AgentMatrix g("concord_test::g", x.extent(0), x.extent(1));
  problem.gradient(concord::ExecutionSpace(), x, g, k);
  return local_rows(g);
}

/// evaluate() rows (agent-major, d + 3 columns) at `point`; `fill` is written beforehand.
std::vector<double> evaluate_rows(cp::Problem& problem, const std::vector<double>& point, cp::Split split,
                                  double fill = 0.0) {
  AgentMatrix out("concord_test::out", problem.layout().local_count(), problem.dimension() + 3);
  Kokkos::deep_copy(out, fill);
  problem.evaluate(concord::ExecutionSpace(), to_device(point), out, split);
  return local_rows(out);
}

/// A common point with coordinates in [-scale, scale).
std::vector<double> common_point(int d, double scale, std::uint64_t seed = kPointSeed) {
  std::vector<double> p(static_cast<std::size_t>(d));
  for (int c = 0; c < d; ++c) p[static_cast<std::size_t>(c)] = scale * initial_value(seed, 1000003, c);
  return p;
}

/// max |a - b| / max(1, max |b|) over one row of length d.
double relative_error(const double* a, const double* b, int d) {
  double diff = 0.0, scale = 1.0;
  for (int c = 0; c < d; ++c) {
    diff = std::max(diff, std::abs(a[c] - b[c]));
    scale = std::max(scale, std::abs(b[c]));
  }
  return diff / scale;
}

std::vector<double> row_of(const std::vector<double>& rows, int a, int width) {
  return std::vector<double>(rows.begin() + static_cast<std::ptrdiff_t>(a) * width,
                             rows.begin() + static_cast<std::ptrdiff_t>(a + 1) * width);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

// At a random common point, the full-batch gradient equals central finite differences of the
// loss column of evaluate() (which also returns that same gradient, bit for bit).
TEST(Problems, GradientMatchesFiniteDifferencesOfTheEvaluatedLoss) {
  const auto layout = AgentLayout::over(kAgents, MPI_COMM_WORLD);
  const int local = layout.local_count();
  for (const auto& c : all_cases()) {
    SCOPED_TRACE(c.label);
    const Dataset train = train_data(c), test = test_data(c);
    auto problem = make_problem(c, layout, train, test, 0);
    const int d = problem->dimension(), w = d + 3;
    const std::vector<double> p = common_point(d, 0.7);
    std::vector<double> xrows;
    for (int a = 0; a < local; ++a) xrows.insert(xrows.end(), p.begin(), p.end());
    const std::vector<double> g = gradient_rows(*problem, to_device(xrows, local, d), 0);
    const std::vector<double> ev = evaluate_rows(*problem, p, cp::Split::train);
    for (int a = 0; a < local; ++a)
      EXPECT_TRUE(bit_identical(row_of(g, a, d), std::vector<double>(ev.begin() + a * w, ev.begin() + a * w + d)))
          << "agent " << layout.local_first() + a << ": evaluate's gradient differs from gradient()";

    const double h = 1e-6;
    std::vector<double> fd(static_cast<std::size_t>(local) * d);
    for (int j = 0; j < d; ++j) {
      std::vector<double> plus = p, minus = p;
      plus[static_cast<std::size_t>(j)] += h;
      minus[static_cast<std::size_t>(j)] -= h;
      const auto fp = evaluate_rows(*problem, plus, cp::Split::train);
      const auto fm = evaluate_rows(*problem, minus, cp::Split::train);
      for (int a = 0; a < local; ++a)
        fd[static_cast<std::size_t>(a) * d + j] =
            (fp[static_cast<std::size_t>(a) * w + d] - fm[static_cast<std::size_t>(a) * w + d]) / (2 * h);
    }
    for (int a = 0; a < local; ++a) {
      const double* ga = g.data() + static_cast<std::ptrdiff_t>(a) * d;
      double norm = 0.0;
      for (int j = 0; j < d; ++j) norm = std::max(norm, std::abs(ga[j]));
      EXPECT_GT(norm, 1e-3) << "agent " << layout.local_first() + a << ": the gradient is (nearly) zero";
      EXPECT_LE(relative_error(fd.data() + static_cast<std::ptrdiff_t>(a) * d, ga, d), 1e-6)
          << "agent " << layout.local_first() + a;
    }
  }
}

// Gradients at per-agent random points (full batch and minibatches, several iterations) and the
// evaluate() rows on both splits against the host references, to 1e-12 relative.
TEST(Problems, GradientLossAndCountsMatchHostReference) {
  const auto layout = AgentLayout::over(kAgents, MPI_COMM_WORLD);
  const int local = layout.local_count(), first = layout.local_first();
  for (const auto& c : all_cases()) {
    SCOPED_TRACE(c.label);
    const Dataset train = train_data(c), test = test_data(c);
    for (int batch : {0, 5, 20, 65}) {  // 65: above the lanes pass's limit (agent_lanes.hpp)
      SCOPED_TRACE("batch " + std::to_string(batch));
      auto problem = make_problem(c, layout, train, test, batch);
      const int d = problem->dimension();
      const AgentMatrix x = initial_state(layout, d, kPointSeed);
      const std::vector<double> xrows = initial_rows(kAgents, d, kPointSeed);
      for (std::int64_t k : {0, 3, 4}) {
        const auto g = gradient_rows(*problem, x, k);
        for (int a = 0; a < local; ++a) {
          const auto rows = batch_rows(train, layout, first + a, batch, k);
          ASSERT_EQ(rows.size(), batch == 0 ? train.samples_of[static_cast<std::size_t>(first + a)].size()
                                            : static_cast<std::size_t>(batch));
          const Reference ref = reference(c, train.set, rows, row_of(xrows, first + a, d));
          EXPECT_LE(relative_error(g.data() + static_cast<std::ptrdiff_t>(a) * d, ref.grad.data(), d), 1e-12)
              << "agent " << first + a << " iteration " << k;
        }
      }
    }
    // evaluate() at a common point, on both splits.
    auto problem = make_problem(c, layout, train, test, 7);
    const int d = problem->dimension(), w = d + 3;
    const std::vector<double> p = common_point(d, 1.0);
    for (auto split : {cp::Split::train, cp::Split::test}) {
      const Dataset& data = split == cp::Split::train ? train : test;
      const auto ev = evaluate_rows(*problem, p, split, -7.5);
      for (int a = 0; a < local; ++a) {
        const auto& rows = data.samples_of[static_cast<std::size_t>(first + a)];
        const Reference ref = reference(c, data.set, rows, p);
        const double* row = ev.data() + static_cast<std::ptrdiff_t>(a) * w;
        const std::string where = std::string(split == cp::Split::train ? "train" : "test") + " agent " +
                                  std::to_string(first + a);
        EXPECT_LE(std::abs(row[d] - ref.loss), 1e-12 * std::max(1.0, std::abs(ref.loss))) << where;
        EXPECT_EQ(row[d + 1], ref.correct) << where;
        EXPECT_EQ(row[d + 2], static_cast<double>(rows.size())) << where;
        if (split == cp::Split::train) {
          EXPECT_LE(relative_error(row, ref.grad.data(), d), 1e-12) << where;
        } else {
          bool untouched = true;
          for (int j = 0; j < d; ++j) untouched = untouched && row[j] == -7.5;
          EXPECT_TRUE(untouched) << where << ": evaluate on the test split wrote gradient columns";
        }
      }
    }
  }
}

// Known points: an output bias alone decides every prediction, so the correct counts are label
// counts, the losses are analytic and the global accuracy is a class frequency.
TEST(Problems, EvaluateAtKnownPoints) {
  const auto layout = AgentLayout::over(kAgents, MPI_COMM_WORLD);
  const int local = layout.local_count(), first = layout.local_first();
  for (const auto& c : all_cases()) {
    SCOPED_TRACE(c.label);
    const Dataset train = train_data(c), test = test_data(c);
    auto problem = make_problem(c, layout, train, test, 0);
    const int d = problem->dimension(), w = d + 3;
    std::vector<double> p(static_cast<std::size_t>(d), 0.0);
    // The class every sample is predicted to be, and the bias that makes it so (bias b on the
    // predicted class, 0 elsewhere; b = 0 without a bias: ties go to class 0).
    int predicted = 0;
    double b = 0.0;
    if (c.model == Model::mlp) {
      auto* mlp = dynamic_cast<cp::Mlp*>(problem.get());
      ASSERT_NE(mlp, nullptr);
      predicted = c.classes - 1;
      b = 2.0;
      p[static_cast<std::size_t>(mlp->bias_offset(mlp->layers() - 1) + predicted)] = b;
    } else if (c.linear.bias && c.classes > 0) {
      predicted = c.classes - 1;
      b = 1.5;
      const int D = kFeatures + 1;
      p[static_cast<std::size_t>(c.linear.loss == cp::Loss::softmax ? predicted * D + kFeatures : kFeatures)] = b;
    }
    for (auto split : {cp::Split::train, cp::Split::test}) {
      const Dataset& data = split == cp::Split::train ? train : test;
      const auto ev = evaluate_rows(*problem, p, split);
      double correct = 0.0, samples = 0.0;
      for (int a = 0; a < local; ++a) {
        const auto& rows = data.samples_of[static_cast<std::size_t>(first + a)];
        double expected_correct = 0.0, expected_loss = 0.0;
        for (std::int64_t r : rows) {
          if (c.classes == 0) {
            const double t = data.set.targets[static_cast<std::size_t>(r)];
            expected_loss += 0.5 * t * t;
            continue;
          }
          const bool hit = data.set.labels[static_cast<std::size_t>(r)] == predicted;
          expected_correct += hit ? 1.0 : 0.0;
          if (c.model == Model::linear && c.linear.loss == cp::Loss::logistic)
            expected_loss += std::log1p(std::exp(hit ? -b : b));  // margin y b, y = +1 on the predicted class
          else
            expected_loss += std::log(c.classes - 1 + std::exp(b)) - (hit ? b : 0.0);
        }
        expected_loss /= static_cast<double>(rows.size());
        const double* row = ev.data() + static_cast<std::ptrdiff_t>(a) * w;
        EXPECT_EQ(row[d + 1], expected_correct) << "agent " << first + a;
        EXPECT_EQ(row[d + 2], static_cast<double>(rows.size())) << "agent " << first + a;
        EXPECT_NEAR(row[d], expected_loss, 1e-13 * std::max(1.0, expected_loss)) << "agent " << first + a;
        correct += row[d + 1];
        samples += row[d + 2];
      }
      // Global accuracy = frequency of the predicted class over every agent's samples.
      double local_counts[2] = {correct, samples}, global[2] = {0.0, 0.0};
      MPI_Allreduce(local_counts, global, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      double expected_hits = 0.0, expected_samples = 0.0;
      for (const auto& rows : data.samples_of)
        for (std::int64_t r : rows) {
          expected_samples += 1.0;
          if (c.classes > 0 && data.set.labels[static_cast<std::size_t>(r)] == predicted) expected_hits += 1.0;
        }
      EXPECT_EQ(global[1], expected_samples);
      EXPECT_EQ(global[0], expected_hits);
      if (c.classes > 0) {
        EXPECT_GT(expected_hits, 0.0);  // the check means something
        EXPECT_LT(expected_hits, expected_samples);
      }
    }
  }
}

// The gradient and evaluate rows of global agent i do not depend on the number of ranks: the
// distributed result equals, bit for bit, the same problem with every agent in this process.
TEST(Problems, ResultsAreBitIdenticalForAnyNumberOfRanks) {
  const auto layout = AgentLayout::over(kAgents, MPI_COMM_WORLD);
  const AgentLayout single(kAgents, 1, 0);
  for (const auto& c : all_cases()) {
    SCOPED_TRACE(c.label);
    const Dataset train = train_data(c), test = test_data(c);
    for (int batch : {0, 4}) {
      auto dist = make_problem(c, layout, train, test, batch);
      auto one = make_problem(c, single, train, test, batch);
      const int d = dist->dimension();
      ASSERT_EQ(one->dimension(), d);
      const AgentMatrix x = initial_state(layout, d, kPointSeed);
      const AgentMatrix x1 = initial_state(single, d, kPointSeed);
      for (std::int64_t k : {0, 9}) {
        AgentMatrix g("concord_test::g", layout.local_count(), d);
        dist->gradient(concord::ExecutionSpace(), x, g, k);
        const auto all = gather_rows(layout, g);
        const auto ref = gradient_rows(*one, x1, k);
        EXPECT_TRUE(bit_identical(all, ref)) << "batch " << batch << " iteration " << k << ": max diff "
                                             << max_abs_diff(all, ref);
      }
      const std::vector<double> p = common_point(d, 0.8);
      for (auto split : {cp::Split::train, cp::Split::test}) {
        AgentMatrix out("concord_test::out", layout.local_count(), d + 3);
        dist->evaluate(concord::ExecutionSpace(), to_device(p), out, split);
        const auto all = gather_rows(layout, out);
        const auto ref = evaluate_rows(*one, p, split);
        EXPECT_TRUE(bit_identical(all, ref)) << "batch " << batch << " evaluate split "
                                             << (split == cp::Split::train ? "train" : "test");
      }
    }
  }
}

// gradient_step(x, gamma) is x - gamma gradient(x), bit for bit, on both kernel paths (the BLAS
// path makes the step inside its per-agent pass), for a rank's agents and for one agent alone
// (the BLAS path's in-place case); whatever `work` holds before does not matter and x is kept.
TEST(Problems, GradientStepIsTheGradientThenTheStepBitForBit) {
  const auto layout = AgentLayout::over(kAgents, MPI_COMM_WORLD);
  const AgentLayout alone(1, 1, 0);
  const double gamma = 0.37;
  for (const auto& c : all_cases()) {
    SCOPED_TRACE(c.label);
    const Dataset train = train_data(c), test = test_data(c);
    Dataset train1 = train, test1 = test;  // agent 0's samples alone
    train1.samples_of.resize(1);
    test1.samples_of.resize(1);
    for (const AgentLayout* l : {&layout, &alone})
      for (int batch : {0, 5}) {
        auto problem = l == &alone ? make_problem(c, *l, train1, test1, batch) : make_problem(c, *l, train, test, batch);
        const int d = problem->dimension(), n = l->local_count();
        const AgentMatrix x = initial_state(*l, d, kPointSeed);
        for (std::int64_t k : {0, 3}) {
          const std::string where = std::to_string(l->agents()) + " agents, batch " + std::to_string(batch) +
                                    ", iteration " + std::to_string(k);
          const std::vector<double> xs = local_rows(x), g = gradient_rows(*problem, x, k);
          std::vector<double> expected(xs.size());
          for (std::size_t i = 0; i < xs.size(); ++i) expected[i] = xs[i] - gamma * g[i];
          AgentMatrix work("concord_test::work", n, d), out("concord_test::out", n, d);
          Kokkos::deep_copy(work, 1e300);
          problem->gradient_step(concord::ExecutionSpace(), x, gamma, work, out, k);
          const auto got = local_rows(out);
          if constexpr (concord::host_execution)  // a device compiler may contract x - gamma g into an FMA
            EXPECT_TRUE(bit_identical(got, expected)) << where << ": max diff " << max_abs_diff(got, expected);
          else
            EXPECT_LE(max_abs_diff(got, expected), 1e-15) << where;
          EXPECT_TRUE(bit_identical(local_rows(x), xs)) << where << ": gradient_step changed x";
        }
        AgentMatrix work("concord_test::work", n, d);
        EXPECT_THROW(problem->gradient_step(concord::ExecutionSpace(), x, gamma, work, x, 0), concord::UsageError)
            << "out aliasing x";
      }
  }
}

// The MLP's minibatch gradient on the host runs whole groups of agents in the lanes of the
// vectors and a rank's remaining agents one at a time (detail/agent_lanes.hpp). Both give the
// same bits: 27 agents in one process against each agent alone, for the gradient and the local
// step, with batches that fill no whole vector (5) and that do (16), 9 features (a partial
// vector) and 3 classes. Groups and single agents: 3 x 8 + 3 (AVX-512), 6 x 4 + 3 (AVX2), 27 x 1
// (scalar) at 1 thread; at 2 threads (ctest's lanes_threads2) 2 x 8 + 11, 6 x 4 + 3, 26 x 1 + 1.
TEST(Problems, MlpAgentsInLanesGiveTheBitsOfEachAgentAlone) {
  constexpr int agents = 27;
  const AgentLayout together(agents, 1, 0);
  const double gamma = 0.37;
  for (const auto& c : mlp_cases()) {
    SCOPED_TRACE(c.label);
    const Dataset train = classification_data(c.classes, 800, 303, 9, agents);
    const Dataset test = classification_data(c.classes, 60, 404, 9, agents);
    for (int batch : {5, 16}) {
      auto all = make_problem(c, together, train, test, batch);
      const int d = all->dimension();
      const AgentMatrix x = initial_state(together, d, kPointSeed);
      AgentMatrix work("concord_test::work", agents, d), out("concord_test::out", agents, d);
      for (std::int64_t k : {0, 7}) {
        const std::vector<double> g = gradient_rows(*all, x, k);
        all->gradient_step(concord::ExecutionSpace(), x, gamma, work, out, k);
        const std::vector<double> step = local_rows(out);
        for (int a = 0; a < agents; ++a) {
          const AgentLayout alone(agents, agents, a);  // agent a as the only agent of "rank" a
          auto one = make_problem(c, alone, train, test, batch);
          const AgentMatrix x1 = initial_state(alone, d, kPointSeed);
          const std::vector<double> g1 = gradient_rows(*one, x1, k);
          AgentMatrix work1("concord_test::work", 1, d), out1("concord_test::out", 1, d);
          one->gradient_step(concord::ExecutionSpace(), x1, gamma, work1, out1, k);
          const std::string where = "batch " + std::to_string(batch) + ", iteration " + std::to_string(k) +
                                    ", agent " + std::to_string(a);
          EXPECT_TRUE(bit_identical(row_of(g, a, d), g1)) << where << ": gradient, max diff "
                                                          << max_abs_diff(row_of(g, a, d), g1);
          EXPECT_TRUE(bit_identical(row_of(step, a, d), local_rows(out1))) << where << ": step";
        }
      }
    }
  }
}

// evaluation_samples: the records' metrics on a fixed subset of each agent's samples, the same
// subset for every number of ranks and every call; a subset as large as the data is the data.
TEST(Problems, EvaluationSubsetIsFixedAndRankIndependent) {
  const auto layout = AgentLayout::over(kAgents, MPI_COMM_WORLD);
  const AgentLayout single(kAgents, 1, 0);
  for (auto c : all_cases()) {
    SCOPED_TRACE(c.label);
    const Dataset train = train_data(c), test = test_data(c);
    auto full = make_problem(c, layout, train, test, 0);
    c.linear.evaluation_samples = c.mlp.evaluation_samples = 3;
    auto dist = make_problem(c, layout, train, test, 0);
    auto one = make_problem(c, single, train, test, 0);
    c.linear.evaluation_samples = c.mlp.evaluation_samples = 1000000;
    auto everything = make_problem(c, layout, train, test, 0);
    const int d = dist->dimension();
    const std::vector<double> p = common_point(d, 0.8);
    for (auto split : {cp::Split::train, cp::Split::test}) {
      const auto rows = [&](cp::Problem& problem) {
        AgentMatrix out("concord_test::out", layout.local_count(), d + 3);
        problem.evaluate(concord::ExecutionSpace(), to_device(p), out, split);
        return gather_rows(layout, out);
      };
      const auto subset = rows(*dist);
      EXPECT_TRUE(bit_identical(subset, rows(*dist))) << "the subset changed between calls";
      EXPECT_TRUE(bit_identical(subset, evaluate_rows(*one, p, split))) << "the subset depends on the rank count";
      EXPECT_TRUE(bit_identical(rows(*everything), rows(*full))) << "a subset of all samples differs from the data";
      const auto& sizes = split == cp::Split::train ? train.samples_of : test.samples_of;
      for (int a = 0; a < kAgents; ++a) {
        const double expected = static_cast<double>(std::min<std::size_t>(3, sizes[static_cast<std::size_t>(a)].size()));
        EXPECT_EQ(subset[static_cast<std::size_t>(a) * (d + 3) + d + 2], expected) << "agent " << a;
      }
    }
  }
}

// An Mlp without hidden layer is multinomial logistic regression with a bias: the same gradient
// and loss as LinearModel(softmax, bias) once the parameters are mapped.
TEST(MlpProblem, WithoutHiddenLayerEqualsSoftmaxRegression) {
  const auto layout = AgentLayout::over(kAgents, MPI_COMM_WORLD);
  const Dataset train = classification_data(4, 83, 101), test = classification_data(4, 40, 202);
  Case lin;
  lin.model = Model::linear;
  lin.classes = 4;
  lin.linear.loss = cp::Loss::softmax;
  lin.linear.bias = true;
  lin.linear.l2 = 0.1;
  Case mlp;
  mlp.model = Model::mlp;
  mlp.classes = 4;
  mlp.mlp.hidden = {};
  mlp.mlp.l2 = 0.1;
  for (int batch : {0, 6}) {
    auto a = make_problem(lin, layout, train, test, batch);
    auto b = make_problem(mlp, layout, train, test, batch);
    const int C = 4, F = kFeatures, D = F + 1, d = C * D;
    ASSERT_EQ(a->dimension(), d);
    ASSERT_EQ(b->dimension(), d);
    // linear x[k D + j] <-> mlp W[k F + j], linear x[k D + F] <-> mlp b[C F + k]
    auto to_mlp = [&](int p) { return p % D < F ? (p / D) * F + p % D : C * F + p / D; };
    const auto lin_rows = initial_rows(kAgents, d, kPointSeed);
    std::vector<double> mlp_rows(lin_rows.size());
    for (int g = 0; g < kAgents; ++g)
      for (int p = 0; p < d; ++p)
        mlp_rows[static_cast<std::size_t>(g) * d + to_mlp(p)] = lin_rows[static_cast<std::size_t>(g) * d + p];
    const int local = layout.local_count(), first = layout.local_first();
    std::vector<double> lin_local(lin_rows.begin() + first * d, lin_rows.begin() + (first + local) * d);
    std::vector<double> mlp_local(mlp_rows.begin() + first * d, mlp_rows.begin() + (first + local) * d);
    const auto ga = gradient_rows(*a, to_device(lin_local, local, d), 2);
    const auto gb = gradient_rows(*b, to_device(mlp_local, local, d), 2);
    for (int i = 0; i < local; ++i) {
      std::vector<double> mapped(static_cast<std::size_t>(d));
      for (int p = 0; p < d; ++p)
        mapped[static_cast<std::size_t>(to_mlp(p))] = ga[static_cast<std::size_t>(i) * d + p];
      EXPECT_LE(relative_error(gb.data() + static_cast<std::ptrdiff_t>(i) * d, mapped.data(), d), 1e-12)
          << "batch " << batch << " agent " << first + i;
    }
    const auto ea = evaluate_rows(*a, row_of(lin_rows, 0, d), cp::Split::test);
    const auto eb = evaluate_rows(*b, row_of(mlp_rows, 0, d), cp::Split::test);
    for (int i = 0; i < local; ++i) {
      const std::size_t at = static_cast<std::size_t>(i) * (d + 3) + d;
      EXPECT_NEAR(ea[at], eb[at], 1e-12 * std::abs(ea[at]));
      EXPECT_EQ(ea[at + 1], eb[at + 1]);
      EXPECT_EQ(ea[at + 2], eb[at + 2]);
    }
  }
}

// initial_point: the same nonzero model on every agent and for every rank count, biases zero,
// weights with mean 0 and variance gain / fan_in (loose statistical bounds); per-agent models
// when same_init is false, still independent of the rank count.
TEST(MlpProblem, InitialPointIsSeededSharedAndScaled) {
  const auto layout = AgentLayout::over(kAgents, MPI_COMM_WORLD);
  const AgentLayout single(kAgents, 1, 0);
  const Dataset train = classification_data(3, 60, 303, 20), test = classification_data(3, 30, 304, 20);
  for (auto activation : {cp::Activation::relu, cp::Activation::tanh}) {
    for (bool same : {true, false}) {
      SCOPED_TRACE(cp::to_string(activation) + (same ? " same_init" : " per-agent init"));
      Case c;
      c.model = Model::mlp;
      c.classes = 3;
      c.mlp.hidden = {64, 48};
      c.mlp.activation = activation;
      c.mlp.same_init = same;
      auto problem = make_problem(c, layout, train, test, 0);
      auto one = make_problem(c, single, train, test, 0);
      auto& mlp = dynamic_cast<cp::Mlp&>(*problem);
      const int d = mlp.dimension();
      ASSERT_EQ(d, 64 * 21 + 48 * 65 + 3 * 49);
      AgentMatrix x("concord_test::x0", layout.local_count(), d);
      mlp.initial_point(concord::ExecutionSpace(), x);
      const auto all = gather_rows(layout, x);
      AgentMatrix x1("concord_test::x1", kAgents, d);
      one->initial_point(concord::ExecutionSpace(), x1);
      EXPECT_TRUE(bit_identical(all, local_rows(x1))) << "the initial point depends on the rank count";
      for (int g = 0; g < kAgents; ++g) {
        const auto row = row_of(all, g, d);
        EXPECT_TRUE(bit_identical(row, mlp.initial_parameters(g))) << "agent " << g;
        if (g > 0) {
          if (same) EXPECT_TRUE(bit_identical(row, row_of(all, 0, d))) << "agent " << g << " differs from agent 0";
          else EXPECT_FALSE(bit_identical(row, row_of(all, 0, d))) << "agent " << g << " equals agent 0";
        }
        const double gain = activation == cp::Activation::relu ? 2.0 : 1.0;
        for (int l = 0; l < mlp.layers(); ++l) {
          const int fan_in = mlp.widths()[static_cast<std::size_t>(l)];
          const std::int64_t w0 = mlp.weight_offset(l), b0 = mlp.bias_offset(l);
          const std::int64_t b1 = b0 + mlp.widths()[static_cast<std::size_t>(l) + 1];
          double sum = 0.0, squares = 0.0;
          int zeros = 0;
          for (std::int64_t p = w0; p < b0; ++p) {
            const double v = row[static_cast<std::size_t>(p)];
            sum += v, squares += v * v, zeros += v == 0.0 ? 1 : 0;
          }
          const double count = static_cast<double>(b0 - w0), variance = gain / fan_in;
          EXPECT_EQ(zeros, 0) << "layer " << l;
          // 5 standard errors: mean ~ N(0, var / count), sample variance ~ var (1 +- sqrt(2 / count)).
          EXPECT_LE(std::abs(sum / count), 5.0 * std::sqrt(variance / count)) << "layer " << l;
          EXPECT_NEAR(squares / count / variance, 1.0, 5.0 * std::sqrt(2.0 / count)) << "layer " << l;
          for (std::int64_t p = b0; p < b1; ++p) EXPECT_EQ(row[static_cast<std::size_t>(p)], 0.0) << "bias " << p;
        }
      }
    }
  }
}

// The initial model changes with init_seed.
TEST(MlpProblem, InitSeedChangesTheModel) {
  const AgentLayout single(kAgents, 1, 0);
  const Dataset train = classification_data(3, 60, 303), test = classification_data(3, 30, 304);
  cp::AgentData tr(train.set, train.samples_of, single, "train");
  cp::MlpOptions o;
  o.hidden = {4};
  o.init_seed = 1;
  cp::Mlp a(single, tr, std::nullopt, o, "a");
  o.init_seed = 2;
  cp::Mlp b(single, tr, std::nullopt, o, "b");
  EXPECT_FALSE(bit_identical(a.initial_parameters(0), b.initial_parameters(0)));
}

TEST(MlpProblem, DimensionOffsetsAndDescription) {
  const auto layout = AgentLayout::over(kAgents, MPI_COMM_WORLD);
  const Dataset train = classification_data(3, 83, 101);
  cp::AgentData tr(train.set, train.samples_of, layout, "train");
  cp::MlpOptions o;
  o.hidden = {7, 6};
  o.activation = cp::Activation::tanh;
  o.batch = 8;
  cp::Mlp mlp(layout, tr, std::nullopt, o, "toy");
  EXPECT_EQ(mlp.dimension(), 7 * 6 + 6 * 8 + 3 * 7);
  EXPECT_EQ(mlp.layers(), 3);
  EXPECT_EQ(mlp.widths(), (std::vector<int>{5, 7, 6, 3}));
  EXPECT_EQ(mlp.weight_offset(0), 0);
  EXPECT_EQ(mlp.bias_offset(0), 35);
  EXPECT_EQ(mlp.weight_offset(1), 42);
  EXPECT_EQ(mlp.bias_offset(1), 84);
  EXPECT_EQ(mlp.weight_offset(2), 90);
  EXPECT_EQ(mlp.bias_offset(2), 108);
  EXPECT_TRUE(mlp.classification());
  EXPECT_FALSE(mlp.has_test_set());
  EXPECT_EQ(mlp.describe(), "toy: 5-7-6-3 tanh, dimension 111, batch 8");
  EXPECT_EQ(cp::parse_activation("relu"), cp::Activation::relu);
  EXPECT_EQ(cp::parse_activation("tanh"), cp::Activation::tanh);
  EXPECT_THROW(cp::parse_activation("sigmoid"), concord::InputError);
}

TEST(Problems, BadInputsAreRefused) {
  const auto layout = AgentLayout::over(kAgents, MPI_COMM_WORLD);
  const Dataset regression = regression_data(4, 1);
  const Dataset three = classification_data(3, 30, 2);
  const Dataset wide = classification_data(3, 30, 3, kFeatures + 1);
  auto data = [&](const Dataset& d) { return cp::AgentData(d.set, d.samples_of, layout, "train"); };
  auto mlp = [&](const Dataset& d, std::vector<int> hidden, double l2 = 0.0, int batch = 0) {
    cp::MlpOptions o;
    o.hidden = std::move(hidden);
    o.l2 = l2;
    o.batch = batch;
    cp::Mlp m(layout, data(d), std::nullopt, o, "bad");
  };
  EXPECT_THROW(mlp(regression, {4}), concord::InputError);
  EXPECT_NE(message_of([&] { mlp(regression, {4}); }).find("regression"), std::string::npos);
  EXPECT_THROW(mlp(three, {0}), concord::InputError);
  EXPECT_THROW(mlp(three, {4, -2}), concord::InputError);
  EXPECT_NE(message_of([&] { mlp(three, {4, -2}); }).find("width -2"), std::string::npos);
  EXPECT_THROW(mlp(three, {4}, -1.0), concord::InputError);
  EXPECT_THROW(mlp(three, {4}, 0.0, -1), concord::InputError);
  EXPECT_NO_THROW(mlp(three, {4}));
  EXPECT_NO_THROW(mlp(three, {}));
  EXPECT_THROW(cp::Mlp(layout, data(three), data(wide), cp::MlpOptions{}, "bad"), concord::InputError);

  auto linear = [&](const Dataset& d, cp::Loss loss, double l2 = 0.0) {
    cp::LinearModelOptions o;
    o.loss = loss;
    o.l2 = l2;
    cp::LinearModel m(layout, data(d), std::nullopt, o, "bad");
  };
  EXPECT_THROW(linear(three, cp::Loss::logistic), concord::InputError);
  EXPECT_THROW(linear(three, cp::Loss::squared), concord::InputError);
  EXPECT_THROW(linear(regression, cp::Loss::logistic), concord::InputError);
  EXPECT_THROW(linear(regression, cp::Loss::softmax), concord::InputError);
  EXPECT_THROW(linear(regression, cp::Loss::squared, -0.5), concord::InputError);
  EXPECT_NO_THROW(linear(three, cp::Loss::softmax));
  EXPECT_NO_THROW(linear(regression, cp::Loss::squared));
}
