#include "concord/data/sample_set.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstddef>

#include "concord/core/error.hpp"
#include "concord/core/format.hpp"

namespace concord::data {

void SampleSet::validate(int agents) const {
  const std::string who = fmt::format("data set '{}'", name);
  auto fail = [&](const std::string& why) { throw InputError(who + ": " + why); };

  if (samples < 1) fail(fmt::format("has {} samples; at least one is needed", samples));
  if (features < 1) fail(fmt::format("has {} features per sample; at least one is needed", features));
  const auto m = static_cast<std::size_t>(samples);
  const auto d = static_cast<std::size_t>(features);
  if (x.size() != m * d)
    fail(fmt::format("holds {} feature values but {} samples x {} features need {}", x.size(), samples, features, m * d));
  if (classes < 0) fail(fmt::format("has {} classes; allowed: 0 (regression) or >= 1 (classification)", classes));

  for (std::size_t s = 0; s < m; ++s)
    for (std::size_t j = 0; j < d; ++j)
      if (!std::isfinite(x[s * d + j]))
        fail(fmt::format("sample {} has a non-finite feature (column {} is {}); features must be finite numbers", s, j,
                         shortest(x[s * d + j])));

  if (classes == 0) {
    if (targets.size() != m)
      fail(fmt::format("regression data has {} targets for {} samples (expected one target per sample)", targets.size(),
                       samples));
    if (!labels.empty()) fail("regression data (0 classes) must not carry class labels");
    for (std::size_t s = 0; s < m; ++s)
      if (!std::isfinite(targets[s]))
        fail(fmt::format("sample {} has a non-finite target ({}); targets must be finite numbers", s, shortest(targets[s])));
  } else {
    if (labels.size() != m)
      fail(fmt::format("classification data has {} labels for {} samples (expected one label per sample)", labels.size(),
                       samples));
    if (!targets.empty()) fail("classification data must not carry regression targets");
    for (std::size_t s = 0; s < m; ++s)
      if (labels[s] < 0 || labels[s] >= classes)
        fail(fmt::format("sample {} has label {}, outside the allowed classes 0..{}", s, labels[s], classes - 1));
  }

  if (!owner.empty()) {
    if (owner.size() != m)
      fail(fmt::format("has {} owners for {} samples (expected one agent per sample)", owner.size(), samples));
    for (std::size_t s = 0; s < m; ++s) {
      if (owner[s] < 0) fail(fmt::format("sample {} has owner {}; agents are numbered from 0", s, owner[s]));
      if (agents > 0 && owner[s] >= agents)
        fail(fmt::format("sample {} has owner {}, but there are {} agents (allowed: 0..{})", s, owner[s], agents,
                         agents - 1));
    }
  }
}

}  // namespace concord::data
