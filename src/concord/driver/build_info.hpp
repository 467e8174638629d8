#pragma once
/// \file build_info.hpp
/// What this Concord is built from and runs on: printed by `concord info` and echoed at the top
/// of every run's output.
#include <string>
#include <utility>
#include <vector>

namespace concord::driver {

/// (label, value) pairs in display order. Call after MPI and Kokkos are initialised.
std::vector<std::pair<std::string, std::string>> build_info();

}  // namespace concord::driver
