// Gradient kernels and fused algorithm steps in one process (P = 1, in_process transport),
// against the memory traffic they cannot avoid, measured side by side with a plain copy.
// Every timed region is bracketed by fences; the operations of one loop iteration run in a
// rotating order; counters are medians over the iterations (ratios: medians of the
// per-iteration ratios). Results and command lines: perf/RESULTS.md.
//
// 1. Gradient and evaluation kernels (n = 16 agents, fp64), each against its floors, timed in the
//    same loop: (a) the same BLAS products on the same shapes called directly (OpenBLAS
//    cblas_dgemm/dgemv, one single-threaded call per agent and product, agents spread over the
//    host threads as the library does, on operands already agent-major and contiguous), and (b)
//    Kokkos::deep_copy between two LayoutRight Views of the bytes of the samples read (|A|: the
//    whole data for full batches, the rows of one batch for minibatches; a copy moves 2 |A|).
//      grad/<problem>/...            Problem::gradient on the default kernel path (BLAS products)
//      grad_portable/<problem>/...   the same on KernelPath::portable (the device kernels)
//      eval/<problem>/...            Problem::evaluate on the training split at one point (loss,
//                                    accuracy and the gradient: the records' full-data pass)
//    problems: least_squares/<m>/<d> (full batch, m samples per agent, d features),
//    softmax/<m>/<F> (multinomial logistic regression, 10 classes, full batch), mlp/<m>/<batch>
//    (F-32-10 relu MLP, 10 classes; batch 0 = full batch).
//    Counters: grad_over_blas = t_grad / t_blas (medians of per-iteration ratios; 1 = at the
//    BLAS floor), copy_over_grad = t_copy / t_grad, grad_GBps = |A| / t_grad, GFLOPs = flops /
//    t_grad with a multiply-add = 2 flops (gradient: 6 x weights x samples, evaluation: 2 x).
// 2. One algorithm step, n = 64 agents (65 for d2, which needs lambda_min(W) > -1/3), ring topology, full batch. V = 8 n d bytes is one
//    per-agent state matrix. The bound counts, from src/concord/algorithms/<name>.cpp, every
//    state matrix each kernel of a step reads or writes (one V per read or write; a mixing step =
//    read in + write out), with the gradient at its minimum: read x, write g (2 V) plus, for
//    least squares, one read of A. t_bound = bytes / (2 V / t_copy), t_copy = a copy kernel of
//    one state matrix timed in the same loop; bound_over_step = t_bound / t_step (1 = the step
//    moves its bytes at copy bandwidth; above 1 is possible: in-place updates need no
//    write-allocate read, and V = 51 MB is not far above the 32 MB L3).
//      step/<algorithm>[/<variant>]/quadratic/<d>        f_a = 1/2 ||x - 1||^2, g = x - 1: the
//          gradient is exactly the 2 V of the bound, so the step shows the algorithm's own
//          passes; timed apart too: rest_over_bound = the step without the gradient vs its bound
//      step/<algorithm>[/<variant>]/least_squares/10/<d> least squares, m = 10 samples per agent
//      reproducible_average/<d>   ReproducibleSum::average of one state matrix (PSGD's average)
//
// Extra options (before the Google Benchmark ones): --smoke: tiny sizes (the ctest smoke test);
// --dims=D1,D2,...: dimensions of the quadratic steps (default 100000).
#include <benchmark/benchmark.h>
#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "concord/algorithms/algorithm.hpp"
#include "concord/comm/transport.hpp"
#include "concord/core/agent_layout.hpp"
#include "concord/core/spaces.hpp"
#include "concord/data/partition.hpp"
#include "concord/mixing/mixer.hpp"
#include "concord/mixing/reproducible_sum.hpp"
#include "concord/problems/agent_data.hpp"
#include "concord/problems/linear_model.hpp"
#include "concord/problems/mlp.hpp"
#include "concord/problems/synthetic.hpp"
#include "concord/topology/registry.hpp"

#include <cblas.h>

namespace {

using concord_bench::median;
using concord_bench::timed;

using concord::AgentMatrix;
using concord::ExecutionSpace;
using Clock = std::chrono::steady_clock;
using Rows = Kokkos::View<double**, Kokkos::LayoutRight, concord::MemorySpace>;

/// Sizes of every benchmark (full run or smoke run).
struct Sizes {
  int grad_agents = 16;
  int ls_samples = 1000;
  std::vector<int> ls_dims = {100, 1000};
  int cls_samples = 500;  // softmax and MLP, per agent
  int features = 784;
  int classes = 10;
  int mlp_batch = 32;
  int step_agents = 64;
  int step_samples = 10;
  int step_dim = 100000;
  std::vector<int> quadratic_dims = {100000};
};

Sizes sizes;

/// Runs the callables in a rotating order (the k-th iteration starts with the (k mod count)-th).
void rotate(std::int64_t k, const std::vector<std::function<void()>>& runs) {
  const std::size_t n = runs.size();
  for (std::size_t i = 0; i < n; ++i) runs[(static_cast<std::size_t>(k) + i) % n]();
}

/// Every entry of a rank-2 View <- a deterministic pseudo-random value in [-0.5, 0.5) * scale.
template <class View>
void fill(const View& x, double scale) {
  const std::int64_t rows = static_cast<std::int64_t>(x.extent(0));
  const std::int64_t cols = static_cast<std::int64_t>(x.extent(1));
  Kokkos::parallel_for(
      "bench::fill", Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(0, cols),
      KOKKOS_LAMBDA(std::int64_t c) {
        for (std::int64_t a = 0; a < rows; ++a) {
          std::uint64_t z = static_cast<std::uint64_t>(c) * 0x9E3779B97F4A7C15ULL +
                            static_cast<std::uint64_t>(a) * 0xBF58476D1CE4E5B9ULL;
          z ^= z >> 31;
          z *= 0x94D049BB133111EBULL;
          z ^= z >> 29;
          x(a, c) = (static_cast<double>(z >> 11) * 0x1.0p-53 - 0.5) * scale;
        }
      });
  Kokkos::fence();
}

AgentMatrix agent_matrix(const char* label, int agents, std::int64_t d) {
  return AgentMatrix(Kokkos::view_alloc(std::string(label)), agents, static_cast<std::size_t>(d));
}

/// The copy baseline as a plain kernel: dst(i) = src(i) over the contiguous storage.
template <class View>
void copy_kernel(const ExecutionSpace& exec, const View& src, const View& dst) {
  using Flat = Kokkos::View<double*, concord::MemorySpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  Flat s(src.data(), src.span()), d(dst.data(), dst.span());
  Kokkos::parallel_for("bench::copy", Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(exec, 0, s.extent(0)),
                       KOKKOS_LAMBDA(std::int64_t i) { d(i) = s(i); });
}

/// True when every entry of g is finite.
bool finite(const AgentMatrix& g) {
  int bad = 0;
  const std::int64_t rows = static_cast<std::int64_t>(g.extent(0));
  Kokkos::parallel_reduce(
      "bench::finite", Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(0, g.extent(1)),
      KOKKOS_LAMBDA(std::int64_t c, int& count) {
        for (std::int64_t a = 0; a < rows; ++a)
          if (!Kokkos::isfinite(g(a, c))) ++count;
      },
      bad);
  return bad == 0;
}

/// Least squares check on the host: g(a, j) = (1/m_a) sum_s (x_a . A_s - b_s) A_s[j] on a few
/// entries, within 1e-10 relative (the kernel sums in a different order).
bool check_least_squares(const concord::problems::AgentData& data, const AgentMatrix& x, const AgentMatrix& g) {
  auto hA = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), data.x);
  auto hb = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), data.targets);
  auto hx = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
  auto hg = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g);
  const int d = data.features, n = data.local_agents;
  for (int a : {0, n - 1}) {
    const std::int64_t lo = data.host_offsets[static_cast<std::size_t>(a)];
    const std::int64_t hi = data.host_offsets[static_cast<std::size_t>(a) + 1];
    for (int j : {0, d / 2, d - 1}) {
      double sum = 0.0, scale = 0.0;
      for (std::int64_t s = lo; s < hi; ++s) {
        double r = -hb(s);
        for (int c = 0; c < d; ++c) r += hx(a, c) * hA(s, c);
        sum += r * hA(s, j);
        scale += std::abs(r * hA(s, j));
      }
      const double want = sum / static_cast<double>(hi - lo);
      if (std::abs(want - hg(a, j)) > 1e-10 * (scale / static_cast<double>(hi - lo)) + 1e-300) return false;
    }
  }
  return true;
}

// ------------------------------------------------------------------------------------------------
// 1. Gradient kernels

/// The floor of one problem's kernels: the same BLAS products on the same shapes, called directly
/// on agent-major operands (A: each agent's m rows of F features, contiguous, or with
/// `feature_major` its F x m transpose, on which OpenBLAS runs the MLP's minibatch products
/// fastest -- the floor the MLP's agent-lanes pass is held to; W and G: each agent's parameters;
/// H and D: activations and deltas, m x units per agent).
struct BlasFloor {
  enum class Kind { least_squares, linear_softmax, mlp } kind = Kind::least_squares;
  bool feature_major = false;
  int agents = 0, m = 0, F = 0;
  std::vector<int> widths;  // mlp: F, hidden..., classes; softmax: F, classes
  std::int64_t d = 0, units = 0;
  Rows A, W, G, H, D;

  BlasFloor(Kind k, int n, int rows, std::vector<int> w) : kind(k), agents(n), m(rows), F(w.front()), widths(std::move(w)) {
    for (std::size_t l = 0; l + 1 < widths.size(); ++l) {
      d += static_cast<std::int64_t>(widths[l + 1]) * (widths[l] + (kind == Kind::least_squares ? 0 : 1));
      units += widths[l + 1];
    }
    if (kind == Kind::least_squares) d = F, units = 1;
    A = Rows(Kokkos::view_alloc(std::string("bench::floor_A")), static_cast<std::int64_t>(agents) * m, F);
    W = Rows(Kokkos::view_alloc(std::string("bench::floor_W")), agents, d);
    G = Rows(Kokkos::view_alloc(std::string("bench::floor_G")), agents, d);
    H = Rows(Kokkos::view_alloc(std::string("bench::floor_H")), static_cast<std::int64_t>(agents) * m, units);
    D = Rows(Kokkos::view_alloc(std::string("bench::floor_D")), static_cast<std::int64_t>(agents) * m, units);
    fill(A, 1.0), fill(W, 0.1), fill(H, 1.0), fill(D, 1.0);
  }

  /// The products of one gradient (with_gradient) or of one forward pass, every agent.
  void run(const ExecutionSpace& exec, bool with_gradient) {
    if constexpr (concord::host_execution) {
      Kokkos::parallel_for(
          "bench::blas_floor",
          Kokkos::RangePolicy<ExecutionSpace, Kokkos::Schedule<Kokkos::Dynamic>>(exec, 0, agents).set_chunk_size(1),
          [this, with_gradient](int a) { agent(a, with_gradient); });
    }
  }

  void agent(int a, bool with_gradient) const {
    const std::int64_t U = units;
    const double* Aa = A.data() + static_cast<std::int64_t>(a) * m * F;
    const double* Wa = W.data() + a * d;
    double* Ga = G.data() + a * d;
    double* Ha = H.data() + static_cast<std::int64_t>(a) * m * U;
    double* Da = D.data() + static_cast<std::int64_t>(a) * m * U;
    if (kind == Kind::least_squares) {
      cblas_dgemv(CblasRowMajor, CblasNoTrans, m, F, 1.0, Aa, F, Wa, 1, 0.0, Ha, 1);
      if (with_gradient) cblas_dgemv(CblasRowMajor, CblasTrans, m, F, 1.0, Aa, F, Ha, 1, 0.0, Ga, 1);
      return;
    }
    const int L = static_cast<int>(widths.size()) - 1;
    std::vector<std::int64_t> w(static_cast<std::size_t>(L)), u(static_cast<std::size_t>(L));
    for (int l = 0; l < L; ++l) {
      w[l] = l == 0 ? 0 : w[l - 1] + static_cast<std::int64_t>(widths[l]) * (widths[l - 1] + 1);
      u[l] = l == 0 ? 0 : u[l - 1] + widths[l];
    }
    auto input = [&](int l) { return l == 0 ? Aa : Ha + u[l - 1]; };
    auto ld = [&](int l) { return l == 0 ? F : static_cast<int>(U); };
    const bool t0 = feature_major;  // layer 0's input is A^T (F x m): A^T^T W^T and D^T A^T^T
    for (int l = 0; l < L; ++l)
      cblas_dgemm(CblasRowMajor, l == 0 && t0 ? CblasTrans : CblasNoTrans, CblasTrans, m, widths[l + 1], widths[l], 1.0,
                  input(l), l == 0 && t0 ? m : ld(l), Wa + w[l], widths[l], 0.0, Ha + u[l], static_cast<int>(U));
    if (!with_gradient) return;
    for (int l = L - 2; l >= 0; --l)
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, widths[l + 1], widths[l + 2], 1.0, Da + u[l + 1],
                  static_cast<int>(U), Wa + w[l + 1], widths[l + 1], 0.0, Da + u[l], static_cast<int>(U));
    for (int l = 0; l < L; ++l)
      cblas_dgemm(CblasRowMajor, CblasTrans, l == 0 && t0 ? CblasTrans : CblasNoTrans, widths[l + 1], widths[l], m, 1.0,
                  Da + u[l], static_cast<int>(U), input(l), l == 0 && t0 ? m : ld(l), 0.0, Ga + w[l], widths[l]);
  }
};

/// One problem with its data and its BLAS floor, built once per process and shared by the
/// repetitions.
struct GradientCase {
  concord::AgentLayout layout;
  std::unique_ptr<concord::problems::Problem> problem;
  const concord::problems::AgentData* data = nullptr;
  std::unique_ptr<BlasFloor> floor;
  std::int64_t rows_read = 0;   // samples a gradient reads (all agents)
  double weights = 0.0;         // multiply-adds per sample of one forward pass (softmax, MLP)
  bool least_squares = false;
  explicit GradientCase(int agents) : layout(agents, 1, 0) {}
};

std::map<std::string, std::unique_ptr<GradientCase>> gradient_cases;

std::string path_key(concord::problems::KernelPath path) {
  return path == concord::problems::KernelPath::blas ? "blas" : "portable";
}

GradientCase& least_squares_case(int agents, int m, int d,
                                 concord::problems::KernelPath path = concord::problems::default_kernel_path) {
  const std::string key = "ls/" + std::to_string(agents) + "/" + std::to_string(m) + "/" + std::to_string(d) + "/" + path_key(path);
  auto& slot = gradient_cases[key];
  if (!slot) {
    auto c = std::make_unique<GradientCase>(agents);
    auto generated = concord::problems::synthetic_least_squares({m, d, 1.0, 0.1}, c->layout, 1);
    concord::problems::AgentData data(generated.set, generated.samples_of, c->layout, "train");
    concord::problems::LinearModelOptions options;
    options.kernels = path;
    auto p = std::make_unique<concord::problems::LinearModel>(c->layout, std::move(data), std::nullopt, options,
                                                              "least_squares");
    c->data = &p->train_data();
    c->rows_read = c->data->samples;
    c->least_squares = true;
    c->floor = std::make_unique<BlasFloor>(BlasFloor::Kind::least_squares, agents, m, std::vector<int>{d, 1});
    c->problem = std::move(p);
    slot = std::move(c);
  }
  return *slot;
}

/// The classification data of the softmax and MLP cases (m samples per agent, iid partition).
struct ClassificationData {
  concord::problems::AgentData data;
};
std::map<int, std::unique_ptr<ClassificationData>> classification_data;

const concord::problems::AgentData& classification(const concord::AgentLayout& layout, int m) {
  auto& slot = classification_data[m];
  if (!slot) {
    const auto set = concord::problems::synthetic_classification(
        {layout.agents() * m, sizes.features, sizes.classes, 3.0}, 7);
    const auto samples_of = concord::data::partition(set, layout.agents(), {}, 7);
    slot = std::make_unique<ClassificationData>(ClassificationData{concord::problems::AgentData(set, samples_of, layout, "train")});
  }
  return slot->data;
}

GradientCase& softmax_case(int m, concord::problems::KernelPath path = concord::problems::default_kernel_path) {
  const std::string key = "softmax/" + std::to_string(m) + "/" + path_key(path);
  auto& slot = gradient_cases[key];
  if (!slot) {
    auto c = std::make_unique<GradientCase>(sizes.grad_agents);
    concord::problems::LinearModelOptions options;
    options.loss = concord::problems::Loss::softmax;
    options.kernels = path;
    auto p = std::make_unique<concord::problems::LinearModel>(c->layout, classification(c->layout, m), std::nullopt,
                                                              options, "softmax");
    c->data = &p->train_data();
    c->rows_read = c->data->samples;
    c->weights = static_cast<double>(sizes.features) * sizes.classes;
    c->floor = std::make_unique<BlasFloor>(BlasFloor::Kind::linear_softmax, sizes.grad_agents, m,
                                           std::vector<int>{sizes.features, sizes.classes});
    c->problem = std::move(p);
    slot = std::move(c);
  }
  return *slot;
}

GradientCase& mlp_case(int m, int batch, concord::problems::KernelPath path = concord::problems::default_kernel_path) {
  const std::string key = "mlp/" + std::to_string(m) + "/" + std::to_string(batch) + "/" + path_key(path);
  auto& slot = gradient_cases[key];
  if (!slot) {
    auto c = std::make_unique<GradientCase>(sizes.grad_agents);
    concord::problems::MlpOptions options;
    options.hidden = {32};
    options.batch = batch;
    options.seed = 3;
    options.kernels = path;
    auto p = std::make_unique<concord::problems::Mlp>(c->layout, classification(c->layout, m), std::nullopt, options,
                                                      "mlp");
    c->data = &p->train_data();
    c->rows_read = batch == 0 ? c->data->samples : static_cast<std::int64_t>(batch) * c->layout.agents();
    c->weights = static_cast<double>(sizes.features) * 32 + 32.0 * sizes.classes;
    c->floor = std::make_unique<BlasFloor>(BlasFloor::Kind::mlp, sizes.grad_agents, batch == 0 ? m : batch,
                                           std::vector<int>{sizes.features, 32, sizes.classes});
    c->floor->feature_major = batch > 0 && path == concord::problems::KernelPath::blas;  // BLAS's fastest form
    c->problem = std::move(p);
    slot = std::move(c);
  }
  return *slot;
}

/// Problem::gradient (or, with `evaluation`, Problem::evaluate on the data as a test split),
/// its BLAS floor and a deep_copy of the bytes of the samples it reads, in turn.
void kernel_vs_floors(benchmark::State& state, const std::function<GradientCase&()>& make, bool evaluation) {
  GradientCase& c = make();
  ExecutionSpace exec;
  const int n = c.layout.local_count();
  const std::int64_t d = c.problem->dimension();
  const int F = c.data->features;
  AgentMatrix x = agent_matrix("bench::x", n, d), g = agent_matrix("bench::g", n, d);
  AgentMatrix out = agent_matrix("bench::out", n, d + concord::problems::Problem::extra_columns);
  concord::CoordinateVector point(Kokkos::view_alloc(std::string("bench::point")), d);
  if (c.least_squares)
    fill(x, 0.2);
  else
    c.problem->initial_point(exec, x);
  Kokkos::deep_copy(point, Kokkos::subview(x, 0, Kokkos::ALL));
  Rows src(Kokkos::view_alloc(std::string("bench::copy_src")), c.rows_read, F);
  Rows dst(Kokkos::view_alloc(std::string("bench::copy_dst")), c.rows_read, F);
  fill(src, 1.0);
  c.problem->gradient(exec, x, g, 0);
  exec.fence();
  if (!finite(g) || (c.least_squares && !check_least_squares(*c.data, x, g))) {
    state.SkipWithError("gradient check failed");
    return;
  }
  // Evaluation uses the whole local data (the test split of a problem without one: train, no gradient).
  auto kernel = [&](std::int64_t k) {
    if (evaluation)
      c.problem->evaluate(exec, point, out, concord::problems::Split::train);
    else
      c.problem->gradient(exec, x, g, k);
  };
  std::vector<double> tg, tb, tc, over_blas, copy_ratio;
  std::int64_t k = 1;
  for (auto _ : state) {
    double a = 0, b = 0, e = 0;
    rotate(k, {[&] { a = timed(exec, [&] { kernel(k); }); },
               [&] { b = timed(exec, [&] { c.floor->run(exec, true); }); },
               [&] { e = timed(exec, [&] { Kokkos::deep_copy(exec, dst, src); }); }});
    ++k;
    state.SetIterationTime(a);
    tg.push_back(a), tb.push_back(b), tc.push_back(e), over_blas.push_back(a / b), copy_ratio.push_back(e / a);
  }
  const double bytes = 8.0 * static_cast<double>(c.rows_read) * F;
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes) * state.iterations());
  state.counters["n"] = n;
  state.counters["dim"] = static_cast<double>(d);
  state.counters["A_MB"] = bytes / 1e6;
  state.counters["t_ms"] = median(tg) * 1e3;
  state.counters["t_blas_ms"] = median(tb) * 1e3;
  state.counters["t_copy_ms"] = median(tc) * 1e3;
  state.counters["over_blas"] = median(over_blas);
  state.counters["copy_over_t"] = median(copy_ratio);
  state.counters["GBps"] = bytes / median(tg) / 1e9;
  if (c.weights > 0)
    state.counters["GFLOPs"] = 6.0 * c.weights * static_cast<double>(c.rows_read) / median(tg) / 1e9;
}

/// f_a(x) = 1/2 ||x - 1||^2: its gradient g = x - 1 reads x and writes g, exactly the 2 V the
/// step bounds count for a gradient, so the step runs at the speed of the algorithm's own passes.
class Quadratic final : public concord::problems::Problem {
 public:
  Quadratic(const concord::AgentLayout& layout, int d) : Problem(layout), d_(d) {}
  std::string name() const override { return "quadratic"; }
  std::string describe() const override { return "1/2 ||x - 1||^2"; }
  int dimension() const override { return d_; }
  bool classification() const override { return false; }
  void gradient(const ExecutionSpace& exec, const AgentMatrix& x, const AgentMatrix& g, std::int64_t) override {
    using Flat = Kokkos::View<double*, concord::MemorySpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
    Flat xf(x.data(), x.span()), gf(g.data(), g.span());
    Kokkos::parallel_for("bench::quadratic_gradient",
                         Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(exec, 0, x.span()),
                         KOKKOS_LAMBDA(std::int64_t i) { gf(i) = xf(i) - 1.0; });
  }
  void evaluate(const ExecutionSpace&, const concord::CoordinateVector&, const AgentMatrix&,
                concord::problems::Split) override {
    throw std::logic_error("bench::Quadratic::evaluate is not used");
  }

 private:
  int d_;
};

// ------------------------------------------------------------------------------------------------
// 2. Algorithm steps

/// The mixer and reducer of the step benchmarks and the quadratic problem, built once per process
/// (the least-squares problem is the gradient case of the same sizes).
struct StepCase {
  concord::AgentLayout layout;
  std::shared_ptr<concord::comm::Transport> transport;
  concord::topology::Topology topology;
  Quadratic quadratic;
  concord::mixing::Mixer mixer;
  concord::mixing::ReproducibleSum reducer;
  AgentMatrix src, dst, g;  // copy baseline and the gradient timed apart
  // The algorithm of the last step benchmark, kept over its repetitions (no re-allocation).
  std::string key;
  std::unique_ptr<concord::algorithms::Algorithm> algorithm;
  std::int64_t next_k = 0;
  StepCase(int agents, int d)
      : layout(agents, 1, 0),
        transport(concord::comm::make_transport(MPI_COMM_SELF)),
        topology(concord::topology::make_topology("ring", agents, {}, 1)),
        quadratic(layout, d),
        mixer(topology, layout, transport, d, 2),
        reducer(transport, layout, d + concord::problems::Problem::extra_columns),
        src(agent_matrix("bench::copy_src", agents, d)),
        dst(agent_matrix("bench::copy_dst", agents, d)),
        g(agent_matrix("bench::g", agents, d)) {
    fill(src, 1.0);
  }
};

std::map<std::pair<int, int>, std::unique_ptr<StepCase>> step_cases;

/// The agents of `algorithm`'s step benchmarks: sizes.step_agents, made odd for d2, which runs
/// only where lambda_min(W) > -1/3 (a ring of an even n has exactly -1/3; make_algorithm refuses
/// it). The bounds count bytes per agent, so the ratios compare across the two.
int step_agents(const std::string& algorithm) {
  return algorithm == "d2" ? sizes.step_agents | 1 : sizes.step_agents;
}

StepCase& step_case(int d, int agents) {
  auto& slot = step_cases[{d, agents}];
  if (!slot) slot = std::make_unique<StepCase>(agents, d);
  return *slot;
}

GradientCase& step_least_squares(int agents) {
  return least_squares_case(agents, sizes.step_samples, sizes.step_dim);
}

/// State matrices (V each) that one step reads or writes, counted per kernel from
/// src/concord/algorithms/<name>.cpp; the gradient counts 2 (read x, write g) and the
/// mixing step 2 (read in, write out). `extra_per_coordinate`: vectors of d values (PSGD's mean,
/// bounds and slices), which count 1/n of V each.
struct StepSpec {
  std::string name, variant;
  double passes;
  double extra_per_coordinate;
};

const std::vector<StepSpec>& step_specs() {
  static const std::vector<StepSpec> specs = {
      // gradient 2; descend: read x, g, write work 3; mix: read work, write x 2
      {"dsgd", "atc", 7, 0},
      // descend 3 (x, y -> work); mix 2; gradient 2 (x -> g_new); track 4 (y, g_new, g -> work); mix 2
      {"gradient_tracking", "atc", 13, 0},
      // mix of x and y 4; descend 3 (work, y -> x); gradient 2; track 4 (work2, g_new, g -> y)
      {"gradient_tracking", "cta", 13, 0},
      // gradient 2; adapt 5 (x, g, psi -> phi, psi); mix 2 (phi -> x); combine 3 (phi, x -> x)
      {"exact_diffusion", "", 12, 0},
      // gradient 2; extrapolate 5 (x, x_prev, g, g_prev -> work); mix 2 (work -> x_prev)
      {"d2", "", 9, 0},
      // gradient 2; reproducible average, one fused pass on one rank: reads g 1; descend: read x,
      // write x 2. Per coordinate: bound and two slices written (2 each with the write-allocate),
      // mean written (2) and read by the descent (1): 9 vectors of d values.
      {"psgd", "", 5, 9},
  };
  return specs;
}

/// Algorithm::step, a copy kernel and deep_copy of one state matrix, and (quadratic only)
/// Problem::gradient alone, in turn; manual time = the step. `least_squares`: the least-squares
/// problem of sizes.step_samples samples per agent and d = sizes.step_dim, else the quadratic.
void algorithm_step(benchmark::State& state, const StepSpec& spec, bool least_squares, int dimension) {
  const int agents = step_agents(spec.name);
  StepCase& c = step_case(dimension, agents);
  GradientCase* ls = least_squares ? &step_least_squares(agents) : nullptr;
  concord::problems::Problem& problem = ls ? *ls->problem : static_cast<concord::problems::Problem&>(c.quadratic);
  ExecutionSpace exec;
  const int n = c.layout.local_count();
  const std::int64_t d = problem.dimension();
  const std::string key = spec.name + "/" + spec.variant + "/" + problem.name();
  if (c.key != key) {
    c.algorithm.reset();  // free the previous state first
    concord::algorithms::AlgorithmOptions options;
    options.name = spec.name;
    if (!spec.variant.empty()) options.variant = concord::algorithms::variants().parse(spec.variant);
    options.schedule.gamma = 1e-6;  // small enough to stay finite over any number of steps
    options.time_phases = false;    // no fences inside the step
    c.algorithm = concord::algorithms::make_algorithm(options, {problem, c.mixer, c.reducer});
    AgentMatrix x0 = agent_matrix("bench::x0", n, d);
    c.algorithm->initialize(exec, x0);
    c.algorithm->step(exec, 0);  // k = 0 (D2's first step differs); touches every page once
    c.key = key;
    c.next_k = 1;
  }
  auto& algorithm = c.algorithm;
  const AgentMatrix src = c.src, dst = c.dst, g = c.g;
  exec.fence();
  const double V = 8.0 * n * static_cast<double>(d);
  const double A = ls ? 8.0 * static_cast<double>(ls->data->samples) * ls->data->features : 0.0;

  const double bytes = spec.passes * V + spec.extra_per_coordinate * 8.0 * static_cast<double>(d) + A;
  const double rest_bytes = bytes - 2.0 * V - A;
  // The least-squares gradient is most of its step (see grad/): timing it apart would only
  // double the run time; the quadratic's gradient is timed to split its step.
  const bool time_gradient = !least_squares;
  std::vector<double> ts, tg, tc, td, ratio, dratio, rest, trest;
  std::int64_t& k = c.next_k;
  for (auto _ : state) {
    double s = 0, gr = 0, cp = 0, dc = 0;
    std::vector<std::function<void()>> runs = {
        [&] { s = timed(exec, [&] { algorithm->step(exec, k); }); },
        [&] { cp = timed(exec, [&] { copy_kernel(exec, src, dst); }); },
        [&] { dc = timed(exec, [&] { Kokkos::deep_copy(exec, dst, src); }); }};
    if (time_gradient) runs.push_back([&] { gr = timed(exec, [&] { problem.gradient(exec, algorithm->models(), g, k); }); });
    rotate(k, runs);
    ++k;
    state.SetIterationTime(s);
    const double bandwidth = 2.0 * V / cp;
    ts.push_back(s), tc.push_back(cp), td.push_back(dc);
    ratio.push_back(bytes / bandwidth / s);
    dratio.push_back(bytes / (2.0 * V / dc) / s);
    if (time_gradient) {
      tg.push_back(gr), trest.push_back(s - gr);
      rest.push_back(rest_bytes / bandwidth / (s - gr));
    }
  }
  if (!finite(algorithm->models())) {
    state.SkipWithError("the models are not finite");
    return;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes) * state.iterations());
  state.counters["n"] = n;
  state.counters["dim"] = static_cast<double>(d);
  state.counters["V_MB"] = V / 1e6;
  state.counters["A_MB"] = A / 1e6;
  state.counters["bound_V"] = bytes / V;
  state.counters["t_step_ms"] = median(ts) * 1e3;
  state.counters["t_copy_ms"] = median(tc) * 1e3;
  state.counters["t_deep_copy_ms"] = median(td) * 1e3;
  state.counters["copy_GBps"] = 2.0 * V / median(tc) / 1e9;
  state.counters["t_bound_ms"] = bytes / (2.0 * V / median(tc)) * 1e3;
  state.counters["bound_over_step"] = median(ratio);
  state.counters["deep_bound_over_step"] = median(dratio);
  if (time_gradient) {
    state.counters["t_grad_ms"] = median(tg) * 1e3;
    state.counters["t_rest_ms"] = median(trest) * 1e3;
    state.counters["rest_over_bound"] = median(rest);
  }
}

/// ReproducibleSum::average of one state matrix (PSGD's global average of the gradients) and the
/// copy kernel of that matrix, in turn; manual time = the average. Its traffic with one rank (one
/// fused pass): the matrix read once plus the 4 vectors of d values it writes (bounds, two
/// slices, the mean), counted twice for the write-allocate: V + 8 vectors.
void reproducible_average(benchmark::State& state, int dimension) {
  StepCase& c = step_case(dimension, sizes.step_agents);
  ExecutionSpace exec;
  const int n = c.layout.local_count();
  const std::int64_t d = dimension;
  concord::CoordinateVector mean(Kokkos::view_alloc(std::string("bench::mean")), d);
  const double V = 8.0 * n * static_cast<double>(d);
  const double bytes = V + 8.0 * 8.0 * static_cast<double>(d);
  std::vector<double> ta, tc, ratio;
  std::int64_t k = 0;
  for (auto _ : state) {
    double a = 0, cp = 0;
    rotate(k++, {[&] { a = timed(exec, [&] { c.reducer.average(exec, c.src, mean); }); },
                 [&] { cp = timed(exec, [&] { copy_kernel(exec, c.src, c.dst); }); }});
    state.SetIterationTime(a);
    ta.push_back(a), tc.push_back(cp), ratio.push_back(bytes / (2.0 * V / cp) / a);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes) * state.iterations());
  state.counters["n"] = n;
  state.counters["dim"] = static_cast<double>(d);
  state.counters["t_average_ms"] = median(ta) * 1e3;
  state.counters["t_copy_ms"] = median(tc) * 1e3;
  state.counters["ns_per_value"] = median(ta) / (n * static_cast<double>(d)) * 1e9;
  state.counters["bound_over_average"] = median(ratio);
}

// ------------------------------------------------------------------------------------------------

std::vector<int> parse_list(const char* text) {
  std::vector<int> out;
  std::string list = text;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    const std::size_t comma = std::min(list.find(',', pos), list.size());
    out.push_back(std::stoi(list.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  return out;
}

/// --dims of the quadratic steps (empty: the default).
std::vector<int> dims;

bool parse_options(int& argc, char** argv) {
  bool smoke = false;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--smoke") == 0)
      smoke = true;
    else if (std::strncmp(argv[i], "--dims=", 7) == 0)
      dims = parse_list(argv[i] + 7);
    else
      argv[out++] = argv[i];
  }
  argc = out;
  return smoke;
}

void register_all() {
  auto manual = [](benchmark::internal::Benchmark* b) { b->UseManualTime()->Unit(benchmark::kMillisecond); };
  const int m_ls = sizes.ls_samples, m_cls = sizes.cls_samples;
  using concord::problems::KernelPath;
  using Make = std::function<GradientCase&()>;
  // grad/ on the default path, grad_portable/ on the portable kernels, eval/ evaluation.
  const std::vector<std::pair<std::string, std::pair<KernelPath, bool>>> kinds = {
      {"grad/", {concord::problems::default_kernel_path, false}},
      {"grad_portable/", {KernelPath::portable, false}},
      {"eval/", {concord::problems::default_kernel_path, true}}};
  for (const auto& [prefix, what] : kinds) {
    const auto [path, evaluation] = what;
    for (int d : sizes.ls_dims)
      manual(benchmark::RegisterBenchmark((prefix + "least_squares/" + std::to_string(m_ls) + "/" + std::to_string(d)).c_str(),
                                          kernel_vs_floors, Make([=]() -> GradientCase& {
                                            return least_squares_case(sizes.grad_agents, m_ls, d, path);
                                          }),
                                          evaluation));
    manual(benchmark::RegisterBenchmark(
        (prefix + "softmax/" + std::to_string(m_cls) + "/" + std::to_string(sizes.features)).c_str(), kernel_vs_floors,
        Make([=]() -> GradientCase& { return softmax_case(m_cls, path); }), evaluation));
    for (int batch : {sizes.mlp_batch, 0}) {
      if (evaluation && batch != 0) continue;  // evaluation always reads all the data
      manual(benchmark::RegisterBenchmark(
          (prefix + "mlp/" + std::to_string(m_cls) + "/" + std::to_string(batch)).c_str(), kernel_vs_floors,
          Make([=]() -> GradientCase& { return mlp_case(m_cls, batch, path); }), evaluation));
    }
  }
  auto step = [&](const StepSpec& spec, bool least_squares, int d) {
    const std::string problem =
        least_squares ? "least_squares/" + std::to_string(sizes.step_samples) : std::string("quadratic");
    const std::string name = "step/" + spec.name + (spec.variant.empty() ? "" : "/" + spec.variant) + "/" + problem +
                             "/" + std::to_string(d);
    manual(benchmark::RegisterBenchmark(name.c_str(), algorithm_step, spec, least_squares, d));
  };
  for (int d : sizes.quadratic_dims) {
    for (const auto& spec : step_specs()) step(spec, false, d);
    manual(benchmark::RegisterBenchmark(("reproducible_average/" + std::to_string(d)).c_str(), reproducible_average, d));
  }
  for (const auto& spec : step_specs()) step(spec, true, sizes.step_dim);
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rc = 0;
  {
    Kokkos::ScopeGuard kokkos(argc, argv);
    if (parse_options(argc, argv)) {
      sizes.grad_agents = 4;
      sizes.ls_samples = 20;
      sizes.ls_dims = {8, 32};
      sizes.cls_samples = 20;
      sizes.features = 16;
      sizes.mlp_batch = 4;
      sizes.step_agents = 8;
      sizes.step_samples = 2;
      sizes.step_dim = 1000;
      sizes.quadratic_dims = {1000};
    }
    if (!dims.empty()) sizes.quadratic_dims = dims;
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
      rc = 1;
    } else {
      register_all();
      benchmark::AddCustomContext("kokkos", std::to_string(KOKKOS_VERSION));
      benchmark::AddCustomContext("kokkos_execution_space", ExecutionSpace::name());
      benchmark::AddCustomContext("kokkos_concurrency", std::to_string(ExecutionSpace().concurrency()));
      benchmark::RunSpecifiedBenchmarks();
    }
    benchmark::Shutdown();
    // Every View must go before Kokkos::finalize.
    step_cases.clear();
    gradient_cases.clear();
    classification_data.clear();
  }
  MPI_Finalize();
  return rc;
}
