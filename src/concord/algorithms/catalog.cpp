#include "concord/algorithms/catalog.hpp"

#include <fmt/format.h>

#include "concord/algorithms/detail/entries.hpp"
#include "concord/core/error.hpp"

namespace concord::algorithms {

const std::vector<AlgorithmInfo>& algorithm_catalog() {
  static const std::vector<AlgorithmInfo> catalog = {
      detail::psgd_entry(),     detail::dsgd_entry(),       detail::gradient_tracking_entry(),
      detail::exact_diffusion_entry(), detail::d2_entry(), detail::gossip_pga_entry(),
      detail::local_sgd_entry(), detail::gossip_entry(),  detail::choco_gossip_entry(),
      detail::choco_sgd_entry(), detail::beer_entry(),  detail::push_sum_gossip_entry(), detail::push_sum_sgd_entry(),
      detail::push_pull_entry(), detail::async_dsgd_entry(), detail::async_gossip_entry(),
      detail::async_dsgd_mpi_entry(), detail::async_gossip_mpi_entry()};
  return catalog;
}

const AlgorithmInfo& algorithm_info(std::string_view name) {
  return parameters::find_entry(algorithm_catalog(), name, "algorithm");
}

std::vector<std::string> algorithm_names() { return parameters::entry_names(algorithm_catalog()); }

std::vector<std::string> descending_algorithm_names() {
  std::vector<std::string> names;
  for (const auto& a : algorithm_catalog())
    if (a.descends) names.push_back(a.name);
  return names;
}

const std::vector<parameters::Bound<AlgorithmOptions>>& step_size_parameters() {
  using namespace parameters;
  static const std::vector<Bound<AlgorithmOptions>> bound = {
      bind<AlgorithmOptions>([](AlgorithmOptions& o) -> double& { return o.schedule.gamma; },
                             required(real("step_size", "gamma (the schedule's base step size)", 0.0, true))),
      bind<AlgorithmOptions>([](AlgorithmOptions& o) -> ScheduleKind& { return o.schedule.kind; }, schedule_kinds(),
                             word("schedule", nullptr, {},
                                  "gamma_k = gamma; gamma / sqrt(k + 1); gamma * decay_factor^floor(k / decay_every)")),
      bind<AlgorithmOptions>([](AlgorithmOptions& o) -> std::int64_t& { return o.schedule.every; },
                             with(integer("decay_every", "iterations between decays", 1, iterations_max),
                                  when_in("algorithm/schedule", {"step"}))),
      bind<AlgorithmOptions>([](AlgorithmOptions& o) -> double& { return o.schedule.factor; },
                             with(real("decay_factor", "multiplier per decay", 0.0, true, 1.0),
                                  when_in("algorithm/schedule", {"step"}))),
      bind<AlgorithmOptions>([](AlgorithmOptions& o) -> std::int64_t& { return o.schedule.warmup; },
                             integer("warmup", "iterations of linear warm-up of gamma (0 = none)", 0, iterations_max)),
  };
  return bound;
}

namespace {
/// Every algorithm's bound parameters with the step-size ones, in deck order.
std::vector<parameters::EntryParams> entry_params() {
  std::vector<parameters::EntryParams> entries;
  for (const auto& a : algorithm_catalog()) {
    parameters::EntryParams e{a.name, {}};
    for (const auto& b : a.parameters) e.params.push_back(b.param);
    if (a.descends)
      for (const auto& b : step_size_parameters()) e.params.push_back(b.param);
    entries.push_back(std::move(e));
  }
  return entries;
}
}  // namespace

const std::vector<parameters::Bound<AlgorithmOptions>>& straggler_parameters() {
  using namespace parameters;
  static const std::vector<Bound<AlgorithmOptions>> bound = {
      bind(&AlgorithmOptions::straggler_ranks,
           integer_list("straggler_ranks", nullptr,
                        "ranks that emulate slow hardware: after every step they spin for (straggler_slowdown - 1) x "
                        "the step's time (for measuring asynchrony; empty: none)",
                        0, int_max)),
      bind(&AlgorithmOptions::straggler_slowdown,
           real("straggler_slowdown", "how many times slower the straggler ranks' steps are", 1.0, false)),
  };
  return bound;
}

std::vector<Param> algorithm_deck_parameters() { return parameters::merge_entry_params(entry_params(), "algorithm/name"); }

namespace {
constexpr const char* compression_path = "algorithm/compression";
}

std::vector<Section> algorithm_deck_sections() {
  Section c;
  c.key = "compression";
  c.doc = "What travels in compressed gossip (mixing/compression.hpp, docs/algorithms.md): the operator C and its "
          "parameters. Only the encoded rows are sent; random choices come from (seed, agent, iteration).";
  for (const auto& b : mixing::compression_parameters(compression_path)) c.params.push_back(b.param);
  std::vector<std::string> names;
  for (const auto& a : algorithm_catalog())
    if (a.compresses) names.push_back(a.name);
  c.when = parameters::when_in("algorithm/name", names);
  return {c};
}

AlgorithmOptions algorithm_options(const Tree& list) {
  AlgorithmOptions o;
  o.name = list.at("name").get<std::string>();
  const AlgorithmInfo& info = algorithm_info(o.name);
  parameters::assign(info.parameters, list, o);
  if (info.descends) parameters::assign(step_size_parameters(), list, o);
  if (info.compresses && list.contains("compression"))
    parameters::assign(mixing::compression_parameters(compression_path), list.at("compression"), o.compression);
  return o;
}

void check_topology(const AlgorithmOptions& options, const topology::Topology& topology) {
  const AlgorithmInfo& info = algorithm_info(options.name);
  if (info.check_topology) info.check_topology(topology);
}

std::unique_ptr<Algorithm> make_algorithm(const AlgorithmOptions& options, Environment env) {
  const AlgorithmInfo& info = algorithm_info(options.name);
  if (info.descends) options.schedule.validate();
  if (info.check_topology) info.check_topology(env.mixer.topology());
  return info.make(options, env);
}

}  // namespace concord::algorithms
