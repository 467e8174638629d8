#pragma once
// Shared by the topology tests: the message of the InputError a call throws.
#include <functional>
#include <string>

#include "concord/core/error.hpp"

namespace concord_test {

/// The InputError message `f` throws, or "(no error)".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const concord::InputError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace concord_test
