#pragma once
/// \file compressed_mixer.hpp
/// Compressed gossip on the Mixer's persistent plan: only the encoded rows travel.
///
/// One step, on each rank (static topologies: CHOCO keeps W x_hat incrementally):
///   encode:  q_i = C(v_i) for the owned agents, and the words that carry it (compression.hpp)
///   exchange the words of the rows peers read (the plan's pattern, `words` doubles per row)
///   mix the interior rows: wq = W q, while the messages are in flight
///   decode the halo rows from the words, mix the boundary rows
/// The decoded rows are those the senders hold, bit for bit, and every row sums in ascending
/// global agent id (plan.hpp): bit-identical results for any number of ranks.
///
/// \code
///   auto c = concord::mixing::make_compressor({CompressionKind::top_k, 0.01}, d, seed);
///   concord::mixing::CompressedMixer cm(mixer, c);   // shares the mixer's plan and transport
///   cm.apply(exec, k, v, q, wq);                     // q = C(v), wq = W q
/// \endcode
#include <cstdint>
#include <string_view>

#include "concord/core/spaces.hpp"
#include "concord/mixing/compression.hpp"
#include "concord/mixing/mixer.hpp"

namespace concord::mixing {

class CompressedMixer {
 public:
  /// Uses `mixer`'s plan, layout and transport (the mixer must outlive this). InputError for a
  /// time-varying topology or a compressor of another dimension.
  CompressedMixer(const Mixer& mixer, const Compressor& compressor);

  /// InputError naming `who` (e.g. "algorithm 'choco_sgd'") unless `topology` is static: the
  /// precondition the constructor checks, for callers that refuse a topology before building.
  static void require_static(const topology::Topology& topology, std::string_view who);

  const Compressor& compressor() const { return compressor_; }
  /// q = C(v) for the local agents (what their peers decode) and wq = W q. All three are
  /// (local agents x dimension); wq must alias neither.
  void apply(const ExecutionSpace& exec, std::int64_t k, const AgentMatrix& v, const AgentMatrix& q,
             const AgentMatrix& wq);

 private:
  const Mixer& mixer_;
  Compressor compressor_;
  AgentMatrix words_;  ///< owned agents x words: the encoded rows, in the layout the pack kernel reads
  /// Agent-major copies (one row contiguous) of v, q and the words: the operators walk a row at
  /// stride 1 instead of stride n (16x the cache lines at n = 16; perf/RESULTS.md).
  Kokkos::View<double**, Kokkos::LayoutRight, MemorySpace> rows_v_, rows_q_, rows_words_;
  Kokkos::View<double*, MemorySpace> send_, recv_, decoded_;
  Kokkos::View<int*, MemorySpace> halo_agents_;  ///< global id of each halo row
};

}  // namespace concord::mixing
