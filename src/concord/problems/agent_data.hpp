#pragma once
/// \file agent_data.hpp
/// The samples of this rank's agents on the device, and the minibatches drawn from them.
///
/// `AgentData` copies, for every local agent a (global id first + a), the rows assigned to it by a
/// partition into one device array, agents one after another:
///   features(s, j)   local sample s, feature j (LayoutRight: one sample's features contiguous)
///   targets(s)       regression target (empty View for classification)
///   labels(s)        class label (empty View for regression)
///   offsets(a) .. offsets(a + 1)   the samples of local agent a
///
/// `BatchSampler` chooses, for iteration k, which samples every local agent uses: all of them
/// (batch 0), or `batch` samples drawn uniformly with replacement from the agent's own stream
/// agent_stream(seed, sampling, global agent, k). The draws of an agent depend only on (seed,
/// agent, k), never on the rank that holds it, so minibatch runs are the same for every P.
/// A batch is described by *slots*: slot_offsets(a) .. slot_offsets(a + 1) are agent a's slots
/// and slot_sample(slot) the local sample in that slot.
#include <cstdint>
#include <string>
#include <vector>

#include "concord/core/agent_layout.hpp"
#include "concord/core/spaces.hpp"
#include "concord/data/sample_set.hpp"

namespace concord::problems {

using IndexVector = Kokkos::View<std::int64_t*, MemorySpace>;

struct AgentData {
  /// Copies the samples of the local agents: samples_of[g] lists the rows of `set` held by global
  /// agent g (only the local agents' entries are read; each must be non-empty).
  AgentData(const data::SampleSet& set, const std::vector<std::vector<std::int64_t>>& samples_of,
            const AgentLayout& layout, const std::string& label);
  AgentData() = default;

  int local_agents = 0;
  int first_agent = 0;  ///< global id of local agent 0
  int features = 0;
  int classes = 0;  ///< 0 for regression
  std::int64_t samples = 0;  ///< local samples, all agents
  Kokkos::View<double**, Kokkos::LayoutRight, MemorySpace> x;
  Kokkos::View<double*, MemorySpace> targets;
  Kokkos::View<int*, MemorySpace> labels;
  IndexVector offsets;
  std::vector<std::int64_t> host_offsets;

  std::int64_t samples_of(int local_agent) const {
    return host_offsets[static_cast<std::size_t>(local_agent) + 1] - host_offsets[static_cast<std::size_t>(local_agent)];
  }
};

class BatchSampler {
 public:
  /// batch = 0: every local sample every iteration (full local gradients). Buffers allocated here.
  BatchSampler(const AgentData& data, int batch, std::uint64_t seed);
  BatchSampler() = default;

  /// A fixed subset, the same at every call: per_agent samples of every local agent drawn once
  /// without replacement from RandomStream(seed, stream_purpose::evaluation, global agent, 0), in
  /// ascending order (all of an agent's samples when it has no more than per_agent; per_agent = 0:
  /// all samples, the full sampler). Depends on no rank. draw() leaves it unchanged.
  static BatchSampler subset(const AgentData& data, std::int64_t per_agent, std::uint64_t seed);

  /// Fills the slots for iteration k (a no-op for full batches).
  void draw(const ExecutionSpace& exec, std::int64_t iteration);

  int batch() const { return batch_; }
  /// True when agent a's slots are its samples in order (full batch): the slots then need no gather.
  bool in_place() const { return in_place_; }
  std::int64_t slots() const { return static_cast<std::int64_t>(slot_sample_.extent(0)); }
  /// The most slots one local agent has.
  std::int64_t widest_agent() const { return widest_agent_; }
  const IndexVector& slot_offsets() const { return slot_offsets_; }
  const IndexVector& slot_sample() const { return slot_sample_; }
  /// Local agent of each slot.
  const Kokkos::View<int*, MemorySpace>& slot_agent() const { return slot_agent_; }

 private:
  int batch_ = 0;
  bool in_place_ = true;
  std::int64_t widest_agent_ = 0;
  std::uint64_t seed_ = 0;
  int first_agent_ = 0;
  IndexVector data_offsets_, slot_offsets_, slot_sample_;
  Kokkos::View<int*, MemorySpace> slot_agent_;
};

}  // namespace concord::problems
