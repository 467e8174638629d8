#pragma once
/// \file async_mixer.hpp
/// Asynchronous gossip over MPI on the Mixer's persistent plan: ranks advance through ticks of
/// virtual time at their own pace and mix their neighbours' newest copies.
///
/// Each rank keeps a clock (the driver's iteration k, one tick per call) and updates its agents
/// at some ticks only:
///   mix(k):      out = W p, with the rank's own rows of x and, for every other rank's rows, the
///                newest copy stamped in [k - max_staleness, k] (waits for one if none arrived:
///                bounded staleness);
///   publish(k):  sends x to the ranks that read it, stamped k + 1 (valid from tick k + 1);
///   updates_at(k): at the first tick after an update, picks the next tick this rank updates at:
///                the newest stamp that arrived from any neighbour by then, clamped to
///                [last update + 1, last update + 1 + max_staleness]. A slow rank thus skips the
///                ticks its neighbours already covered (it is inactive there, like a slow agent of
///                async_dsgd's simulation) and stays on the common clock, so that the driver's
///                records (every rank at the same tick) cost at most one slow update of waiting.
///   drain():     at a synchronisation tick (records, checkpoints, the end), on every rank: after
///                it nothing is in flight and every rank holds its neighbours' current models.
/// With max_staleness 0 every rank updates at every tick with copies stamped exactly k: the
/// synchronous combine-then-adapt step, bit for bit. With max_staleness > 0 which copy a rank
/// mixes depends on timing: runs are not reproducible (docs/algorithms.md).
///
/// Static topologies only (the plan of round 0). Messages go through comm::StampedExchange on a
/// duplicate of the mixer's transport communicator; device builds stage them through the host.
///
/// \code
///   concord::mixing::AsyncMixer am(mixer, /*max_staleness=*/8);
///   am.prime(exec, k0, x);                 // every rank, at the first tick
///   for (k = k0; ...; ++k) {
///     if (!am.updates_at(k)) { am.poll(k); continue; }
///     am.mix(exec, k, x, w);  x = w - gamma g;  am.publish(exec, k, x);
///   }
///   am.drain();                            // every rank, same tick
/// \endcode
#include <cstdint>
#include <optional>
#include <string_view>

#include "concord/comm/stamped_exchange.hpp"
#include "concord/core/spaces.hpp"
#include "concord/mixing/mixer.hpp"

namespace concord::mixing {

class AsyncMixer {
 public:
  /// Collective (it duplicates a communicator). InputError for a time-varying topology or a
  /// negative max_staleness.
  AsyncMixer(const Mixer& mixer, int max_staleness);

  /// InputError naming `who` unless `topology` is static.
  static void require_static(const topology::Topology& topology, std::string_view who);

  int max_staleness() const { return max_staleness_; }
  /// Collective, every rank at the same tick k: publishes x stamped k and waits until every
  /// neighbour's copy is stamped >= k. The start of a run, or its continuation after a restart.
  void prime(const ExecutionSpace& exec, std::int64_t k, const AgentMatrix& x);
  /// Whether this rank updates at tick k (false: it skips k, catching up with its neighbours).
  /// Call once per tick, in order: at the first tick after an update it takes the messages that
  /// arrived meanwhile and picks the next tick to update at.
  bool updates_at(std::int64_t k);
  /// Takes arrived messages without waiting (keeps MPI progressing on skipped ticks).
  void poll(std::int64_t k) { exchange_->take(k); }
  /// out = W p at tick k (see the file comment). x and out are (local agents x dimension).
  void mix(const ExecutionSpace& exec, std::int64_t k, const AgentMatrix& x, const AgentMatrix& out);
  /// Sends x, valid from tick k + 1, and picks the next tick to update at.
  void publish(const ExecutionSpace& exec, std::int64_t k, const AgentMatrix& x);
  /// Collective at a synchronisation tick (see the file comment).
  void drain() { exchange_->drain(); }

  /// Updates this rank made since construction.
  std::int64_t updates() const { return updates_; }
  /// Seconds this rank waited for messages or send slots.
  double seconds_waiting() const { return exchange_->seconds_waiting(); }
  /// The ranks' communicator (the transport's), for the algorithm's collectives at
  /// synchronisation points, when nothing is in flight.
  MPI_Comm communicator() const { return mixer_.transport().communicator(); }

 private:
  const Mixer& mixer_;
  int max_staleness_;
  /// Packs x's sent rows and sends them stamped `stamp` (waiting for a free send buffer).
  void send(const ExecutionSpace& exec, std::int64_t stamp, const AgentMatrix& x);

  std::optional<comm::StampedExchange> exchange_;
  std::int64_t last_ = -1;    ///< the tick of the last update (prime(k): k - 1)
  std::int64_t next_ = 0;     ///< the next tick this rank updates at
  bool chosen_ = true;        ///< next_ chosen since the last update
  std::int64_t updates_ = 0;
  /// The halo on the device (device builds: a copy of the exchange's host halo) and the packed
  /// rows before they are staged (device builds only; host builds pack into the send slot).
  Kokkos::View<double*, MemorySpace> halo_, pack_;
};

}  // namespace concord::mixing
