#include "concord/core/agent_layout.hpp"

#include <fmt/format.h>

#include "concord/core/error.hpp"

namespace concord {

AgentLayout::AgentLayout(int agents, int ranks, int rank) : agents_(agents), ranks_(ranks), rank_(rank) {
  if (ranks < 1 || rank < 0 || rank >= ranks)
    throw InputError(fmt::format("agent layout: rank {} of {} ranks is not valid", rank, ranks));
  if (agents < 1) throw InputError(fmt::format("agent layout: agents must be >= 1 (got {})", agents));
  if (agents < ranks)
    throw InputError(fmt::format("agent layout: {} agents on {} MPI ranks would leave a rank without agents; "
                                 "run with at most {} ranks (every rank needs >= 1 agent)",
                                 agents, ranks, agents));
  base_ = agents / ranks;
  extra_ = agents % ranks;
}

// AgentLayout::over asks MPI for the rank and size: it is defined in comm/communicator.cpp, since
// core sits below comm and calls no MPI itself.

int AgentLayout::owner(int a) const {
  // The first extra_ ranks hold base_ + 1 agents.
  const int big = extra_ * (base_ + 1);
  return a < big ? a / (base_ + 1) : extra_ + (a - big) / base_;
}

}  // namespace concord
