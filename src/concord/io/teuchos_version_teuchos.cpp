// Compiled at C++17 (Teuchos headers do not compile as C++20 with g++ 12): see CMakeLists.txt.
#include <Teuchos_ParameterList.hpp>
#include <Teuchos_Version.hpp>

#include "concord/io/teuchos_version.hpp"

namespace concord::io {

std::string teuchos_version() {
  // Teuchos_Version() reads "Teuchos in Trilinos X.Y..."; keep just that.
  return Teuchos::Teuchos_Version();
}

}  // namespace concord::io
