#include "concord/algorithms/schedule.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "concord/core/error.hpp"

namespace concord::algorithms {

double StepSchedule::at(std::int64_t k) const {
  double g = gamma;
  switch (kind) {
    case ScheduleKind::constant: break;
    case ScheduleKind::inverse_sqrt: g = gamma / std::sqrt(static_cast<double>(k + 1)); break;
    case ScheduleKind::step: g = gamma * std::pow(factor, static_cast<double>(k / every)); break;
  }
  if (warmup > 0) g *= std::min(1.0, static_cast<double>(k + 1) / static_cast<double>(warmup));
  return g;
}

void StepSchedule::validate() const {
  if (!(gamma > 0) || !std::isfinite(gamma)) throw InputError(fmt::format("step_size must be > 0, got {}", gamma));
  if (kind == ScheduleKind::step) {
    if (every < 1) throw InputError(fmt::format("decay_every must be >= 1, got {}", every));
    if (!(factor > 0 && factor <= 1)) throw InputError(fmt::format("decay_factor must be in (0, 1], got {}", factor));
  }
  if (warmup < 0) throw InputError(fmt::format("warmup must be >= 0, got {}", warmup));
}

std::string StepSchedule::describe() const {
  std::string s;
  switch (kind) {
    case ScheduleKind::constant: s = fmt::format("constant {}", gamma); break;
    case ScheduleKind::inverse_sqrt: s = fmt::format("{} / sqrt(k + 1)", gamma); break;
    case ScheduleKind::step: s = fmt::format("{} x {}^floor(k / {})", gamma, factor, every); break;
  }
  if (warmup > 0) s += fmt::format(", linear warm-up over {} iterations", warmup);
  return s;
}

const parameters::Words<ScheduleKind>& schedule_kinds() {
  static const parameters::Words<ScheduleKind> words{
      "step-size schedule",
      {{"constant", ScheduleKind::constant}, {"inverse_sqrt", ScheduleKind::inverse_sqrt}, {"step", ScheduleKind::step}}};
  return words;
}

ScheduleKind parse_schedule_kind(const std::string& name) { return schedule_kinds().parse(name); }

std::string to_string(ScheduleKind kind) { return schedule_kinds().name(kind); }

}  // namespace concord::algorithms
