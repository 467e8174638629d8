#pragma once
/// \file agent_layout.hpp
/// How n agents are spread over P MPI ranks: contiguous blocks, the first n mod P ranks holding
/// one agent more. P = 1 holds every agent in one process; P = n one agent per rank.
/// \code
///   concord::AgentLayout layout(/*agents=*/10, /*ranks=*/4, /*rank=*/1);
///   layout.first(1) == 3; layout.count(1) == 3; layout.owner(9) == 3;
/// \endcode
#include <mpi.h>

namespace concord {

class AgentLayout {
 public:
  /// Throws `InputError` when agents < ranks (a rank would hold no agent) or either is < 1.
  AgentLayout(int agents, int ranks, int rank);
  /// The layout of `agents` over the ranks of `comm` (this process being its rank in `comm`).
  /// Throws `RuntimeError` when MPI fails. Defined in comm/communicator.cpp (core calls no MPI).
  static AgentLayout over(int agents, MPI_Comm comm);

  int agents() const { return agents_; }
  int ranks() const { return ranks_; }
  int rank() const { return rank_; }

  /// First global agent id held by rank r, and how many agents it holds.
  int first(int r) const { return r * base_ + (r < extra_ ? r : extra_); }
  int count(int r) const { return base_ + (r < extra_ ? 1 : 0); }
  /// The rank holding global agent a.
  int owner(int a) const;

  /// This rank's block: global ids [local_first(), local_first() + local_count()).
  int local_first() const { return first(rank_); }
  int local_count() const { return count(rank_); }
  bool is_local(int a) const { return a >= local_first() && a < local_first() + local_count(); }

 private:
  int agents_, ranks_, rank_, base_, extra_;
};

}  // namespace concord
