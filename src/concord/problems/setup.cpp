#include "concord/problems/setup.hpp"

#include <fmt/format.h>

#include "concord/core/error.hpp"
#include "concord/data/readers.hpp"
#include "concord/problems/linear_model.hpp"

namespace concord::problems {
namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

data::SampleSet truncated(data::SampleSet set, std::int64_t max_samples) {
  if (max_samples <= 0 || max_samples >= set.samples) return set;
  set.samples = max_samples;
  set.x.resize(static_cast<std::size_t>(max_samples) * set.features);
  if (!set.targets.empty()) set.targets.resize(static_cast<std::size_t>(max_samples));
  if (!set.labels.empty()) set.labels.resize(static_cast<std::size_t>(max_samples));
  if (!set.owner.empty()) set.owner.resize(static_cast<std::size_t>(max_samples));
  set.name += fmt::format(" (first {} samples)", max_samples);
  return set;
}

struct Loaded {
  data::SampleSet train;
  std::optional<data::SampleSet> test;
};

Loaded load(const DataSpec& spec, data::Task task, std::uint64_t seed) {
  Loaded out;
  if (spec.source == "synthetic") {
    out.train = synthetic_classification(spec.classification, seed);
  } else if (spec.source == "hdf5") {
    if (spec.file.empty()) throw InputError("data source 'hdf5' needs a file");
    out.train = data::read_hdf5(spec.file, task);
    if (!spec.test_file.empty()) out.test = data::read_hdf5(spec.test_file, task);
  } else if (spec.source == "libsvm") {
    if (spec.file.empty()) throw InputError("data source 'libsvm' needs a file");
    out.train = data::read_libsvm(spec.file, task);
    if (!spec.test_file.empty()) out.test = data::read_libsvm(spec.test_file, task, out.train.features);
  } else if (spec.source == "fashion_mnist") {
    out.train = data::read_fashion_mnist("train", spec.directory);
    out.test = data::read_fashion_mnist("test", spec.directory);
  } else {
    throw InputError(fmt::format("unknown data source '{}' (allowed: {})", spec.source, joined(data_sources())));
  }
  out.train = truncated(std::move(out.train), spec.max_samples);
  if (out.test && out.test->features != out.train.features)
    throw InputError(fmt::format("test data '{}' has {} features, the training data '{}' {}", out.test->name,
                                 out.test->features, out.train.name, out.train.features));
  return out;
}

}  // namespace

const std::vector<std::string>& problem_names() {
  static const std::vector<std::string> names = {"least_squares", "logistic_regression", "mlp"};
  return names;
}

const std::vector<std::string>& data_sources() {
  static const std::vector<std::string> names = {"synthetic", "hdf5", "libsvm", "fashion_mnist"};
  return names;
}

std::unique_ptr<Problem> make_problem(const ProblemSpec& spec, const AgentLayout& layout,
                                      std::shared_ptr<comm::Transport> transport, std::uint64_t seed) {
  const ExecutionSpace exec;
  const int n = layout.agents();
  if (spec.name == "least_squares") {
    LinearModelOptions options;
    options.loss = Loss::squared;
    options.l2 = spec.l2;
    options.batch = spec.batch;
    options.evaluation_samples = spec.evaluation_samples;
    options.seed = seed;
    std::unique_ptr<LinearModel> problem;
    if (spec.data.source == "synthetic") {
      auto generated = synthetic_least_squares(spec.data.least_squares, layout, seed);
      problem = std::make_unique<LinearModel>(layout, AgentData(generated.set, generated.samples_of, layout, "train"),
                                              std::nullopt, options, spec.name);
    } else {
      Loaded loaded = load(spec.data, data::Task::regression, seed);
      loaded.train.validate(n);
      auto parts = data::partition(loaded.train, n, spec.data.partition, seed);
      std::optional<AgentData> test;
      if (loaded.test) test.emplace(*loaded.test, data::partition(*loaded.test, n, {}, seed), layout, "test");
      problem = std::make_unique<LinearModel>(layout, AgentData(loaded.train, parts, layout, "train"), std::move(test),
                                              options, spec.name);
    }
    problem->compute_solution(exec, transport);
    return problem;
  }
  if (spec.name != "logistic_regression" && spec.name != "mlp")
    throw InputError(fmt::format("unknown problem '{}' (allowed: {})", spec.name, joined(problem_names())));

  Loaded loaded = load(spec.data, data::Task::classification, seed);
  loaded.train.validate(n);
  const auto parts = data::partition(loaded.train, n, spec.data.partition, seed);
  AgentData train(loaded.train, parts, layout, "train");
  std::optional<AgentData> test;
  if (loaded.test) {
    loaded.test->validate();
    data::SampleSet& t = *loaded.test;
    t.owner.clear();  // the held-out set is spread evenly, whatever the training partition
    test.emplace(t, data::partition(t, n, {}, seed), layout, "test");
  }
  if (spec.name == "logistic_regression") {
    LinearModelOptions options;
    options.loss = loaded.train.classes == 2 ? Loss::logistic : Loss::softmax;
    options.l2 = spec.l2;
    options.bias = spec.bias;
    options.batch = spec.batch;
    options.evaluation_samples = spec.evaluation_samples;
    options.seed = seed;
    return std::make_unique<LinearModel>(layout, std::move(train), std::move(test), options, spec.name);
  }
  MlpOptions options;
  options.hidden = spec.hidden;
  options.activation = parse_activation(spec.activation);
  options.l2 = spec.l2;
  options.batch = spec.batch;
  options.evaluation_samples = spec.evaluation_samples;
  options.seed = seed;
  options.init_seed = seed;
  return std::make_unique<Mlp>(layout, std::move(train), std::move(test), options, spec.name);
}

}  // namespace concord::problems
