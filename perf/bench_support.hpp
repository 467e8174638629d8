#pragma once
// What every benchmark here shares: the median of repeats and a region timed between two fences.
#include <algorithm>
#include <chrono>
#include <vector>

#include "concord/core/spaces.hpp"

namespace concord_bench {

using Clock = std::chrono::steady_clock;

inline double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

/// Seconds taken by f(), fenced on both sides.
template <class F>
double timed(const concord::ExecutionSpace& exec, F&& f) {
  exec.fence("bench::before");
  const auto t0 = Clock::now();
  f();
  exec.fence("bench::after");
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace concord_bench
