#pragma once
/// \file error.hpp
/// Concord's two tiers of errors (see docs/architecture.md):
///  - `concord::InputError`: bad user input (a deck key, a parameter value, a topology that is not
///    defined for n, a malformed file). The message names the item and what is allowed; the
///    driver prints it as one line and exits with code 2 before any work starts.
///  - `std::logic_error`: a broken internal invariant (a bug in Concord).
#include <stdexcept>
#include <string>

namespace concord {

/// Bad user input. `what()` is a complete, single-line message meant for the user.
class InputError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// A failure of the environment (I/O, MPI, HDF5) rather than of the input.
class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace concord
