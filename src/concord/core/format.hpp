#pragma once
/// \file format.hpp
/// Number formatting for messages and descriptions.
#include <charconv>
#include <string>

namespace concord {

/// Shortest decimal text that reads back as `x` ("0.5", "1e-12", not "0.500000").
inline std::string shortest(double x) {
  char buf[32];  // the shortest form of any double, "nan" and "inf" included, fits in 24 characters
  return std::string(buf, std::to_chars(buf, buf + sizeof(buf), x).ptr);
}

}  // namespace concord
