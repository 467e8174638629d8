// ProblemSpec's names; make_problem and the loaders are the catalogue's (catalog.cpp).
#include "concord/problems/setup.hpp"

#include "concord/problems/catalog.hpp"

namespace concord::problems {

std::vector<std::string> problem_names() { return parameters::entry_names(problem_catalog()); }

std::vector<std::string> data_sources() { return parameters::entry_names(data_source_catalog()); }

}  // namespace concord::problems
