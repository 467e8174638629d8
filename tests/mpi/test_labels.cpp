// Every kernel, Kokkos Tools region and View label Concord produces carries the "concord::" prefix
// (the project's labelling rule; ArborX keeps the same rule with a test like this one).
//
// How: the test registers Kokkos Tools callbacks in-process (begin parallel_for / reduce / scan,
// push region, begin fence, allocate data) and records every name they see while Concord code
// runs, then checks each name. Exercised inside the window:
//  - every algorithm of the catalogue (algorithm_names()), a few steps of a small least-squares
//    run with metrics (LeastSquaresRun; d2 on a ring of 9 agents, the others on a ring of 8),
//    full-batch and minibatch, and once with every agent in this process (one-rank mixing and the
//    fused ReproducibleSum);
//  - a logistic-regression LinearModel and an Mlp: gradient (full batch and minibatch) and
//    evaluation on both splits, on both kernel paths (BLAS products, portable Kokkos kernels);
//  - one Mixer step on one rank (MPI_COMM_SELF), through start / finish and through apply.
// The regions Concord opens (Mixer::start / finish, ReproducibleSum::sum / average,
// Metrics::compute, each algorithm's <name>::step) must have been seen. The test's own Views and kernels (inputs, outputs) are
// made while recording is paused (TestSide), so only Concord's names are checked. What is
// allowed besides the prefix (Kokkos' own names around Concord's labels, and the known exceptions
// of code this test cannot change) is listed and explained at known_exceptions() and below it.
// CONCORD_LABELS_PRINT=1 prints every name seen (rank 0), e.g. to review a new exception.
//
// The callbacks are process-global: they are set by ToolCallbacks and reset to nullptr when it
// goes out of scope (also when an assertion or an exception leaves the test early), so the
// other tests of this executable run without a tool.
#include <gtest/gtest.h>
#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "algorithm_support.hpp"
#include "concord/algorithms/catalog.hpp"
#include "concord/data/partition.hpp"
#include "concord/problems/agent_data.hpp"
#include "concord/problems/linear_model.hpp"
#include "concord/problems/mlp.hpp"
#include "concord/problems/synthetic.hpp"
#include "mixing_support.hpp"

using namespace concord_test;
namespace cp = concord::problems;

namespace {

// ---------------------------------------------------------------------------------------------
// What the callbacks saw.

enum class Kind { kernel, region, view, fence };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kernel: return "kernel";
    case Kind::region: return "region";
    case Kind::view: return "View";
    case Kind::fence: return "fence";
  }
  return "?";
}

struct Recorder {
  std::mutex mutex;
  bool on = true;  // false while the test itself allocates or launches (TestSide)
  std::map<Kind, std::set<std::string>> names;
};

Recorder& recorder() {
  static Recorder r;
  return r;
}

void note(Kind kind, const char* name) {
  auto& r = recorder();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (r.on) r.names[kind].insert(name != nullptr ? name : "(null)");
}

void on_kernel(const char* name, std::uint32_t, std::uint64_t* id) {
  *id = 0;
  note(Kind::kernel, name);
}
void on_region(const char* name) { note(Kind::region, name); }
void on_fence(const char* name, std::uint32_t, std::uint64_t* id) {
  *id = 0;
  note(Kind::fence, name);
}
void on_allocate(Kokkos_Profiling_SpaceHandle, const char* label, const void*, std::uint64_t) {
  note(Kind::view, label);
}

/// Sets the callbacks for its lifetime; the destructor restores "no tool" (every one nullptr).
class ToolCallbacks {
 public:
  ToolCallbacks() {
    namespace kte = Kokkos::Tools::Experimental;
    {
      std::lock_guard<std::mutex> lock(recorder().mutex);
      recorder().names.clear();
      recorder().on = true;
    }
    kte::set_begin_parallel_for_callback(on_kernel);
    kte::set_begin_parallel_reduce_callback(on_kernel);
    kte::set_begin_parallel_scan_callback(on_kernel);
    kte::set_push_region_callback(on_region);
    kte::set_begin_fence_callback(on_fence);
    kte::set_allocate_data_callback(on_allocate);
  }
  ~ToolCallbacks() {
    namespace kte = Kokkos::Tools::Experimental;
    kte::set_begin_parallel_for_callback(nullptr);
    kte::set_begin_parallel_reduce_callback(nullptr);
    kte::set_begin_parallel_scan_callback(nullptr);
    kte::set_push_region_callback(nullptr);
    kte::set_begin_fence_callback(nullptr);
    kte::set_allocate_data_callback(nullptr);
  }
  ToolCallbacks(const ToolCallbacks&) = delete;
  ToolCallbacks& operator=(const ToolCallbacks&) = delete;
};

/// Pauses recording while the test makes its own inputs and outputs (their labels are the
/// test's, not Concord's). Fences and kernels the test triggers are not recorded either.
class TestSide {
 public:
  TestSide() { set(false); }
  ~TestSide() { set(true); }
  TestSide(const TestSide&) = delete;
  TestSide& operator=(const TestSide&) = delete;

 private:
  static void set(bool on) {
    std::lock_guard<std::mutex> lock(recorder().mutex);
    recorder().on = on;
  }
};

// ---------------------------------------------------------------------------------------------
// The rule and its exceptions.

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

/// Names that break the rule today, made by code outside this test's reach, each with its
/// source. The list must shrink, not grow: a new unprefixed name fails the test, and an entry
/// whose name no longer appears fails it too (delete the entry when its label is fixed).
struct KnownException {
  Kind kind;
  std::string name;
  bool suffix;        ///< match names ending with `name` (the backend's name comes first)
  const char* where;  ///< its source, for the failure message
};

const std::vector<KnownException>& known_exceptions() {
  static const std::vector<KnownException> known = {
      // The initial models LeastSquaresRun's constructor makes and hands to
      // Algorithm::initialize: a test-support View labelled "concord_test::x0" (test code, not
      // the library; made inside the constructor, between Concord's own allocations). Its Kokkos
      // initialisation kernel, "Kokkos::View::initialization [concord_test::x0]...", is covered
      // by this entry.
      {Kind::view, "concord_test::x0", false,
       "tests/mpi/algorithm_support.hpp: LeastSquaresRun's AgentMatrix x0(\"concord_test::x0\", ...)"},
  };
  return known;
}

/// The index of the known exception `name` matches, or -1.
int known_exception(Kind kind, std::string_view name) {
  const auto& known = known_exceptions();
  for (std::size_t i = 0; i < known.size(); ++i)
    if (known[i].kind == kind && (known[i].suffix ? ends_with(name, known[i].name) : name == known[i].name))
      return static_cast<int>(i);
  return -1;
}

/// The verdict on one name: allowed by the rule, or a known exception (its index), or a failure.
struct Verdict {
  bool ok = false;
  int exception = -1;
};

Verdict by_prefix(Kind kind, std::string_view name) {
  if (starts_with(name, "concord::")) return {true, -1};
  const int e = known_exception(kind, name);
  return {e >= 0, e};
}

/// Kokkos' own kernels around a View carry the View's label in brackets: "Kokkos::View::
/// initialization [label]" (value-initialisation of a new View; " via memset" may follow) and
/// "Kokkos::View::destruction [label]". Kokkos chooses the words, Concord the label: the label
/// inside the brackets is judged as a View label.
Verdict kernel_verdict(std::string_view name) {
  for (std::string_view prefix : {"Kokkos::View::initialization [", "Kokkos::View::destruction ["})
    if (starts_with(name, prefix)) {
      std::string_view label = name.substr(prefix.size());
      label = label.substr(0, label.rfind(']'));
      return by_prefix(Kind::view, label);
    }
  return by_prefix(Kind::kernel, name);
}

/// Fences. Concord names its fences "concord::...". Kokkos names the fences it issues itself
/// after what issued them, and those are allowed -- they are Kokkos' own default names, each
/// triggered by a Concord call that is itself labelled (a deep_copy between labelled Views, the
/// allocation or release of a labelled View, a labelled kernel):
///   "Kokkos::..."                 deep_copy ("Kokkos::deep_copy: ..."), create_mirror_view_and_copy,
///                                 View initialisation, and the global fence the tools interface
///                                 issues before each callback ("Kokkos::Tools::invoke_kokkosp_
///                                 callback: Kokkos Profile Tool Fence");
///   "<Space>::impl_deallocate before free"
///                                 the fence of a memory space before it frees a View's memory
///                                 (the one Kokkos name without the "Kokkos::" prefix).
/// Not allowed: Kokkos' name for a fence called *without* a name, "Kokkos::<Backend>::fence:
/// Unnamed Instance Fence" (exec.fence()) or "Kokkos::fence: Unnamed Global Fence"
/// (Kokkos::fence()). Kokkos always names the fences it issues, so such a fence is a Concord call
/// site that must pass a "concord::..." name.
Verdict fence_verdict(std::string_view name) {
  const bool unnamed = name.find("Unnamed Instance Fence") != std::string_view::npos ||
                       name.find("Unnamed Global Fence") != std::string_view::npos;
  if (!unnamed && (starts_with(name, "Kokkos::") || ends_with(name, "::impl_deallocate before free"))) return {true, -1};
  return by_prefix(Kind::fence, name);
}

/// Regions and View labels: the prefix, nothing else.
Verdict verdict(Kind kind, std::string_view name) {
  switch (kind) {
    case Kind::kernel: return kernel_verdict(name);
    case Kind::fence: return fence_verdict(name);
    case Kind::region:
    case Kind::view: return by_prefix(kind, name);
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// The work run inside the window.

/// A few iterations and two metric evaluations of `name` on a small least-squares problem.
void run_algorithm(const std::string& name, const std::string& variant, int batch, bool everything_here) {
  RunSpec spec;
  spec.agents = name == "d2" ? 9 : 8;  // d2 needs lambda_min(W) > -1/3: the ring of 9 has -0.29
  spec.topology = "ring";
  spec.data = {12, 4, 1.0, 0.1};
  spec.algorithm = algorithm_options(name, 0.05, variant, /*period=*/2);
  spec.batch = batch;
  spec.everything_here = everything_here;
  LeastSquaresRun run(spec);
  run.measure(0);
  run.run(0, 3);  // period 2: gossip_pga's and local_sgd's global average happens at k = 1
  run.measure(3);
}

struct Dataset {
  concord::data::SampleSet set;
  std::vector<std::vector<std::int64_t>> samples_of;
};

Dataset classification(int agents, int classes, int samples, std::uint64_t seed) {
  cp::ClassificationSpec spec;
  spec.samples = samples;
  spec.features = 5;
  spec.classes = classes;
  spec.separation = 2.0;
  Dataset d;
  d.set = cp::synthetic_classification(spec, seed);
  d.samples_of = concord::data::partition(d.set, agents, concord::data::PartitionSpec{}, seed);
  return d;
}

/// Gradient at the problem's initial point and evaluation at a common point, on both splits.
void exercise_problem(cp::Problem& problem) {
  const concord::ExecutionSpace exec;
  const int d = problem.dimension();
  const int local = problem.layout().local_count();
  std::optional<concord::AgentMatrix> x, g, out;
  std::optional<concord::CoordinateVector> point;
  {
    TestSide test;
    x.emplace("concord_test::x", local, d);
    g.emplace("concord_test::g", local, d);
    out.emplace("concord_test::out", local, d + cp::Problem::extra_columns);
    point.emplace("concord_test::point", d);
  }
  problem.initial_point(exec, *x);
  problem.gradient(exec, *x, *g, 0);
  problem.gradient(exec, *x, *g, 1);
  {
    TestSide test;
    Kokkos::deep_copy(exec, *point, Kokkos::subview(*x, 0, Kokkos::ALL));
  }
  problem.evaluate(exec, *point, *out, cp::Split::train);
  if (problem.has_test_set()) problem.evaluate(exec, *point, *out, cp::Split::test);
  TestSide test;
  exec.fence("concord_test::exercise_problem");  // before the test's Views go
}

void run_problems() {
  constexpr int agents = 6;
  const auto layout = concord::AgentLayout::over(agents, MPI_COMM_WORLD);
  const Dataset binary = classification(agents, 2, 60, 11), binary_test = classification(agents, 2, 30, 12);
  const Dataset three = classification(agents, 3, 60, 13), three_test = classification(agents, 3, 30, 14);
  for (auto path : {cp::KernelPath::blas, cp::KernelPath::portable}) {
    if (path == cp::KernelPath::blas && !concord::host_execution) continue;
    // Full batch on every sample, then a minibatch with a fixed evaluation subset.
    for (int batch : {0, 4}) {
      cp::LinearModelOptions lo;
      lo.loss = cp::Loss::logistic;
      lo.bias = true;
      lo.l2 = 0.01;
      lo.batch = batch;
      lo.seed = 3;
      lo.kernels = path;
      lo.evaluation_samples = batch > 0 ? 6 : 0;
      cp::LinearModel logistic(layout, cp::AgentData(binary.set, binary.samples_of, layout, "train"),
                               cp::AgentData(binary_test.set, binary_test.samples_of, layout, "test"), lo,
                               "logistic");
      exercise_problem(logistic);

      cp::MlpOptions mo;
      mo.hidden = {7, 6};
      mo.l2 = 0.01;
      mo.batch = batch;
      mo.seed = 3;
      mo.init_seed = 5;
      mo.kernels = path;
      mo.evaluation_samples = batch > 0 ? 6 : 0;
      cp::Mlp mlp(layout, cp::AgentData(three.set, three.samples_of, layout, "train"),
                  cp::AgentData(three_test.set, three_test.samples_of, layout, "test"), mo, "mlp");
      exercise_problem(mlp);
    }
  }
}

/// One mixing step with every agent on this rank (MPI_COMM_SELF): split phase with two vectors,
/// then apply with one.
void run_one_rank_mixing() {
  constexpr int agents = 8, d = 5;
  const concord::ExecutionSpace exec;
  const auto layout = concord::AgentLayout::over(agents, MPI_COMM_SELF);
  auto transport = concord::comm::make_transport(MPI_COMM_SELF);
  const auto topology = concord::topology::make_topology("exponential", agents, {}, 1);
  concord::mixing::Mixer mixer(topology, layout, transport, d);
  std::optional<concord::AgentMatrix> x, y, u, v;
  {
    TestSide test;
    x = initial_state(layout, d, 3, "concord_test::x");
    u = initial_state(layout, d, 4, "concord_test::u");
    y.emplace("concord_test::y", agents, d);
    v.emplace("concord_test::v", agents, d);
  }
  const concord::AgentMatrix in[] = {*x, *u}, out[] = {*y, *v};
  mixer.start(exec, 0, in, out);
  mixer.finish(exec);
  mixer.apply(exec, 1, *x, *y);
  TestSide test;
  exec.fence("concord_test::one_rank_mixing");  // before the test's Views go
}

/// A kernel for CallbacksSeeAnUnprefixedKernel (a functor: CUDA's extended lambdas may not live
/// in a TEST body, a private member function).
struct DoNothing {
  KOKKOS_FUNCTION void operator()(int) const {}
};

}  // namespace

TEST(Labels, EveryKernelRegionAndViewCarriesTheConcordPrefix) {
  std::map<Kind, std::set<std::string>> seen;
  {
    ToolCallbacks tools;
    for (const std::string& name : concord::algorithms::algorithm_names()) {
      SCOPED_TRACE(name);
      run_algorithm(name, "atc", 0, false);
      // The combine-then-adapt forms have their own kernels.
      if (name == "dsgd" || name == "gradient_tracking") run_algorithm(name, "cta", 0, false);
    }
    run_algorithm("dsgd", "atc", 3, false);  // minibatch sampling
    run_algorithm("psgd", "atc", 0, true);   // every agent here: one-rank mixing and sums
    run_problems();
    run_one_rank_mixing();
    TestSide test;
    Kokkos::fence("concord_test::labels");
    std::lock_guard<std::mutex> lock(recorder().mutex);
    seen = recorder().names;
  }  // callbacks reset to nullptr here

  if (std::getenv("CONCORD_LABELS_PRINT") && world_rank() == 0)
    for (const auto& [kind, names] : seen)
      for (const auto& n : names) std::printf("%s\t%s\n", kind_name(kind), n.c_str());
  for (Kind kind : {Kind::kernel, Kind::view}) EXPECT_FALSE(seen[kind].empty()) << "no " << kind_name(kind) << " seen";

  std::set<int> excepted;
  for (const auto& [kind, names] : seen)
    for (const std::string& name : names) {
      const Verdict v = verdict(kind, name);
      if (v.exception >= 0) excepted.insert(v.exception);
      if (!v.ok) ADD_FAILURE() << kind_name(kind) << " '" << name << "' does not carry the concord:: prefix";
    }
  // Every known exception must still occur: once its label is fixed, its entry must go.
  for (std::size_t i = 0; i < known_exceptions().size(); ++i) {
    const auto& e = known_exceptions()[i];
    EXPECT_TRUE(excepted.count(static_cast<int>(i)) == 1)
        << kind_name(e.kind) << " '" << e.name << "' (" << e.where
        << ") no longer appears: delete its entry from known_exceptions()";
  }

  for (const char* region : {"concord::Mixer::start", "concord::Mixer::finish", "concord::ReproducibleSum::sum",
                             "concord::ReproducibleSum::average", "concord::Metrics::compute", "concord::dsgd::step", "concord::gossip::step", "concord::d2::step"})
    EXPECT_TRUE(seen[Kind::region].count(region) == 1) << "region '" << region << "' was not seen";

  // The callbacks are gone: nothing is recorded any more.
  {
    std::lock_guard<std::mutex> lock(recorder().mutex);
    recorder().names.clear();
  }
  concord::CoordinateVector after("concord_test::after", 3);
  Kokkos::fence("concord_test::after");
  {
    std::lock_guard<std::mutex> lock(recorder().mutex);
    EXPECT_TRUE(recorder().names.empty()) << "a Kokkos Tools callback is still set after the test";
  }
}

// The rule itself, name by name: what passes, what Kokkos may add, what fails.
TEST(Labels, RuleAcceptsThePrefixAndKokkosOwnNamesOnly) {
  EXPECT_TRUE(verdict(Kind::kernel, "concord::Mixer::pack").ok);
  EXPECT_FALSE(verdict(Kind::kernel, "pack").ok);
  EXPECT_FALSE(verdict(Kind::kernel, "concord_test::fill_initial").ok);
  EXPECT_FALSE(verdict(Kind::kernel, "Kokkos::ViewFill-1D").ok);  // an unlabelled Kokkos helper
  EXPECT_TRUE(verdict(Kind::kernel, "Kokkos::View::initialization [concord::Mixer::send_buffer] via memset").ok);
  EXPECT_FALSE(verdict(Kind::kernel, "Kokkos::View::initialization [buffer] via memset").ok);
  EXPECT_FALSE(verdict(Kind::region, "Mixer::start").ok);
  EXPECT_FALSE(verdict(Kind::view, "").ok);
  EXPECT_FALSE(verdict(Kind::view, "x").ok);
  EXPECT_TRUE(verdict(Kind::view, "concord::Metrics::rows_mirror").ok);
  EXPECT_TRUE(verdict(Kind::fence, "concord::Metrics::compute").ok);
  EXPECT_TRUE(verdict(Kind::fence, "Kokkos::deep_copy: scalar copy, pre copy fence").ok);
  EXPECT_TRUE(verdict(Kind::fence, "HostSpace::impl_deallocate before free").ok);
  EXPECT_FALSE(verdict(Kind::fence, "Kokkos::fence: Unnamed Global Fence").ok);
  EXPECT_FALSE(verdict(Kind::fence, "my fence").ok);
  // A known exception passes, and is reported as such.
  const Verdict x0 = verdict(Kind::kernel, "Kokkos::View::initialization [concord_test::x0] via memset");
  EXPECT_TRUE(x0.ok);
  EXPECT_GE(x0.exception, 0);
}

// The callbacks record while set and stop when ToolCallbacks goes: an unprefixed kernel launched
// inside the window is seen.
TEST(Labels, CallbacksSeeAnUnprefixedKernel) {
  std::set<std::string> kernels;
  {
    ToolCallbacks tools;
    Kokkos::parallel_for("unprefixed", Kokkos::RangePolicy<concord::ExecutionSpace>(0, 1), DoNothing{});
    TestSide test;
    Kokkos::fence("concord_test::callbacks");
    std::lock_guard<std::mutex> lock(recorder().mutex);
    kernels = recorder().names[Kind::kernel];
  }
  EXPECT_EQ(kernels.count("unprefixed"), 1u);
  EXPECT_FALSE(verdict(Kind::kernel, "unprefixed").ok);
}
