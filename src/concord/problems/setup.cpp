// ProblemSpec's names; make_problem and the loaders are the catalogue's (catalog.cpp).
#include "concord/problems/setup.hpp"

#include "concord/problems/catalog.hpp"

namespace concord::problems {

std::vector<std::string> problem_names() {
  std::vector<std::string> names;
  for (const auto& p : problem_catalog()) names.push_back(p.name);
  return names;
}

std::vector<std::string> data_sources() {
  std::vector<std::string> names;
  for (const auto& s : data_source_catalog()) names.push_back(s.name);
  return names;
}

}  // namespace concord::problems
