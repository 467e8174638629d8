#pragma once
/// \file schedule.hpp
/// Step sizes gamma_k.
///
///   constant       gamma_k = gamma
///   inverse_sqrt   gamma_k = gamma / sqrt(k + 1)
///   step           gamma_k = gamma * factor^floor(k / every)
/// and, for any kind, a linear warm-up over the first `warmup` iterations:
///   gamma_k <- gamma_k * min(1, (k + 1) / warmup).
#include <cstdint>
#include <string>

#include "concord/core/parameters.hpp"

namespace concord::algorithms {

enum class ScheduleKind { constant, inverse_sqrt, step };

struct StepSchedule {
  ScheduleKind kind = ScheduleKind::constant;
  double gamma = 0.0;         ///< the base step size: no default (validate() refuses <= 0)
  std::int64_t every = 1000;  ///< `step`: iterations between decays
  double factor = 0.1;        ///< `step`: multiplier per decay
  std::int64_t warmup = 0;    ///< iterations of linear warm-up (0 = none)

  double at(std::int64_t k) const;
  /// Throws InputError naming the offending field and the allowed range.
  void validate() const;
  std::string describe() const;
};

/// The schedules' names ("constant", "inverse_sqrt", "step"): the deck's allowed words and the parser.
const parameters::Words<ScheduleKind>& schedule_kinds();
/// schedule_kinds().parse(name): InputError listing the names otherwise.
ScheduleKind parse_schedule_kind(const std::string& name);
std::string to_string(ScheduleKind kind);

}  // namespace concord::algorithms
