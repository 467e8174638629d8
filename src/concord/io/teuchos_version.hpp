#pragma once
/// \file teuchos_version.hpp
/// The version of the Teuchos ParameterList library Concord reads its input decks with.
#include <string>

namespace concord::io {
std::string teuchos_version();
}  // namespace concord::io
