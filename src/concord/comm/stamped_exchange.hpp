#pragma once
/// \file stamped_exchange.hpp
/// An exchange without a global step: the halo rows of asynchronous gossip over MPI.
///
/// Every message carries a *stamp* (the tick of virtual time from which its rows are valid), and
/// each rank sends and takes messages at its own pace:
///   - `send(stamp)` starts the sends of one packed buffer to every peer of the pattern, with
///     persistent requests (MPI_Send_init, created once) and `slots` buffers in rotation: the
///     rank waits only when all of them are still in flight;
///   - every peer has `slots` receives always posted (MPI_Recv_init, restarted when taken), so a
///     sender never waits for its receiver to call MPI;
///   - `take(now)` moves, for each peer, every arrived message with stamp <= now into the halo
///     (the receive layout of plan.hpp), in the order sent: the halo holds the newest one. A
///     message stamped later than `now` (its sender is ahead) waits in its slot until `now`
///     reaches it;
///   - `wait_for(oldest, now)` takes messages until every peer's halo block is stamped >= oldest
///     (bounded staleness);
///   - `drain()` is collective over the peers (every rank calls it at the same tick, with no send
///     in between): it exchanges the count of messages each rank sent to each peer, then takes
///     exactly those (a peer that drained first may already be sending the next phase's), so that
///     afterwards none of them is in flight and the halo holds every peer's last message.
///
/// Waiting anywhere (a send slot, a stamp, a drain) keeps taking messages, so no rank waits on a
/// peer that waits on it (the argument is in docs/algorithms.md, "Asynchronous gossip over MPI").
///
/// Buffers live in host memory; counts over MPI's int limit are refused at construction. Every
/// MPI call goes through comm/errors.hpp's checks. The exchange owns a duplicate of the parent
/// communicator, so its messages never match anyone else's.
///
/// \code
///   concord::comm::StampedExchange ex(comm, pattern, /*values_per_row=*/d);
///   double* out = ex.acquire_send(now);   // send_rows x d values, the plan's send layout
///   ... pack ...; ex.send(k + 1);
///   ex.wait_for(k - max_staleness, k);    // then read ex.halo(), stamped ex.stamp(peer)
///   ex.drain();                           // at a synchronisation point, on every rank
/// \endcode
#include <mpi.h>

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "concord/comm/communicator.hpp"
#include "concord/comm/transport.hpp"

namespace concord::comm {

class StampedExchange {
 public:
  static constexpr std::int64_t no_stamp = std::numeric_limits<std::int64_t>::min();

  /// Collective over the ranks of `parent` (it duplicates the communicator). RuntimeError when a
  /// peer's block exceeds MPI's int count.
  StampedExchange(MPI_Comm parent, const ExchangePattern& pattern, std::size_t values_per_row, int slots = 4);
  /// Cancels the posted receives. Sends still in flight (only after an exception: drain() leaves
  /// none) are left to complete; their buffers are kept alive with the process.
  ~StampedExchange();
  StampedExchange(const StampedExchange&) = delete;
  StampedExchange& operator=(const StampedExchange&) = delete;

  const ExchangePattern& pattern() const { return pattern_; }
  std::size_t values_per_row() const { return values_per_row_; }

  /// The buffer of the next send (send_rows x values_per_row doubles, the send layout of plan.hpp),
  /// once its previous sends completed (meanwhile, messages stamped <= now are taken).
  double* acquire_send(std::int64_t now);
  /// Sends the acquired buffer's blocks to their peers, stamped `stamp`.
  void send(std::int64_t stamp);

  /// Takes every arrived message stamped <= now (see the file comment). Never waits.
  void take(std::int64_t now);
  /// Takes messages (stamped <= now) until every peer's halo is stamped >= oldest; waits.
  void wait_for(std::int64_t oldest, std::int64_t now);
  /// Collective: takes every message sent so far (see the file comment).
  void drain();

  /// The halo rows (recv_rows x values_per_row doubles, the receive layout of plan.hpp).
  const double* halo() const { return halo_.data(); }
  /// The stamp of receive block q's halo rows (no_stamp before the first message).
  std::int64_t stamp(std::size_t q) const { return peers_[q].stamp; }
  /// The newest stamp that arrived from any peer, taken or waiting in its slot (no_stamp if none).
  std::int64_t newest_arrived() const;
  std::int64_t messages_sent() const { return sent_messages_; }
  /// Seconds this rank spent waiting (for stamps, send slots and drains) so far.
  double seconds_waiting() const { return waiting_; }

 private:
  struct Slot {                      // one receive slot of a peer
    std::vector<double> buffer;      // [stamp bits][rows x values_per_row]
    MPI_Request request = MPI_REQUEST_NULL;
    bool arrived = false;            // completed, not yet taken (stamped later than `now`)
  };
  struct Peer {                      // a receive block
    std::vector<Slot> slots;
    int oldest = 0;                  // the slot the next message lands in
    std::int64_t stamp = no_stamp;   // the halo's
    std::int64_t newest = no_stamp;  // the newest arrived
    std::int64_t taken = 0;          // messages taken
  };
  struct SendSlot {
    std::vector<double> buffer;      // the send layout
    double stamp = 0.0;              // stamp bits, sent ahead of every block
    std::vector<MPI_Datatype> types; // per peer: {stamp, block}
    std::vector<MPI_Request> requests;
    bool in_flight = false;
  };
  /// Takes peer q's arrived messages stamped <= now, while fewer than `until` were taken in all;
  /// returns whether one was taken.
  bool take_peer(std::size_t q, std::int64_t now, std::int64_t until);
  /// Marks the peer's arrived messages behind a held one, for newest_arrived.
  void note_arrivals(Peer& peer);
  bool sends_complete(SendSlot& s);

  Communicator comm_;
  ExchangePattern pattern_;
  std::size_t values_per_row_;
  std::vector<double> halo_;
  std::vector<Peer> peers_;
  std::vector<SendSlot> sends_;
  int next_send_ = 0;
  std::vector<std::int64_t> sent_to_;  // messages sent to each send peer
  // drain(): the counts each receive peer announces, and the count messages' requests.
  std::vector<std::int64_t> expected_;
  std::vector<MPI_Request> drain_requests_;
  std::int64_t sent_messages_ = 0;
  double waiting_ = 0.0;
};

}  // namespace concord::comm
