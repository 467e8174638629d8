#pragma once
/// \file error.hpp
/// Concord's three tiers of errors (see docs/architecture.md); nothing else leaves the library:
///  - `concord::InputError`: bad user input (a deck key, a parameter value, a topology that is not
///    defined for n, a malformed file). The message names the item and what is allowed; the
///    driver prints it as one line and exits with code 2 before any work starts.
///  - `concord::RuntimeError`: a failure of the environment (I/O, MPI, HDF5); exit code 1.
///  - `std::logic_error`: a bug -- in Concord (a broken internal invariant) or in the code calling
///    it (`concord::UsageError`: a call that breaks the API's preconditions, e.g. matrices of the
///    wrong extents); exit code 1.
#include <stdexcept>
#include <string>

namespace concord {

/// Bad user input. `what()` is a complete, single-line message meant for the user.
class InputError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// A call that breaks the library's preconditions (wrong extents, aliasing arguments, a View in the
/// wrong memory space): a bug in the calling code, not bad input of a user.
class UsageError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// A failure of the environment (I/O, MPI, HDF5) rather than of the input.
class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace concord
