#include "concord/comm/stamped_exchange.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <thread>

#include "concord/comm/errors.hpp"
#include "concord/core/error.hpp"

namespace concord::comm {

namespace {

constexpr int data_tag = 7401;
constexpr int count_tag = 7402;

int mpi_count(std::int64_t values) {
  if (values + 1 > std::numeric_limits<int>::max())
    throw RuntimeError(fmt::format("an asynchronous message of {} doubles exceeds MPI's int count limit", values));
  return static_cast<int>(values);
}

/// Between the polls of a waiting loop: after the first few, give the core away (ranks may share
/// cores, and the rank waited for may be the one that needs it).
class Backoff {
 public:
  void operator()() {
    if (++polls_ > 64) std::this_thread::yield();
  }

 private:
  int polls_ = 0;
};

/// Measures the time of a waiting loop into `total`.
class WaitClock {
 public:
  explicit WaitClock(double& total) : total_(total), start_(std::chrono::steady_clock::now()) {}
  ~WaitClock() { total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  WaitClock(const WaitClock&) = delete;
  WaitClock& operator=(const WaitClock&) = delete;

 private:
  double& total_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

StampedExchange::StampedExchange(MPI_Comm parent, const ExchangePattern& pattern, std::size_t values_per_row,
                                 int slots)
    : comm_(parent), pattern_(pattern), values_per_row_(values_per_row) {
  if (slots < 1 || values_per_row < 1) throw UsageError("concord::StampedExchange: slots and values_per_row must be >= 1");
  const auto vpr = static_cast<std::int64_t>(values_per_row);
  halo_.assign(static_cast<std::size_t>(pattern.recv_rows() * vpr), 0.0);
  peers_.resize(pattern.recvs.size());
  for (std::size_t q = 0; q < pattern.recvs.size(); ++q) {
    const PeerBlock& b = pattern.recvs[q];
    const int count = mpi_count(b.rows * vpr) + 1;
    peers_[q].slots.resize(static_cast<std::size_t>(slots));
    for (Slot& s : peers_[q].slots) {
      s.buffer.assign(static_cast<std::size_t>(count), 0.0);
      CONCORD_MPI(MPI_Recv_init(s.buffer.data(), count, MPI_DOUBLE, b.rank, data_tag, comm_.get(), &s.request));
      CONCORD_MPI(MPI_Start(&s.request));
    }
  }
  sent_to_.assign(pattern.sends.size(), 0);
  expected_.assign(pattern.recvs.size(), 0);
  drain_requests_.assign(pattern.recvs.size() + pattern.sends.size(), MPI_REQUEST_NULL);
  sends_.resize(pattern.sends.empty() ? 0 : static_cast<std::size_t>(slots));
  for (SendSlot& s : sends_) {
    s.buffer.assign(static_cast<std::size_t>(pattern.send_rows() * vpr), 0.0);
    s.types.resize(pattern.sends.size(), MPI_DATATYPE_NULL);
    s.requests.resize(pattern.sends.size(), MPI_REQUEST_NULL);
    for (std::size_t p = 0; p < pattern.sends.size(); ++p) {
      const PeerBlock& b = pattern.sends[p];
      // {the stamp, the peer's block}: one message, no copy of the packed rows.
      int lengths[2] = {1, mpi_count(b.rows * vpr)};
      MPI_Aint addresses[2];
      CONCORD_MPI(MPI_Get_address(&s.stamp, &addresses[0]));
      CONCORD_MPI(MPI_Get_address(s.buffer.data() + b.first_row * vpr, &addresses[1]));
      CONCORD_MPI(MPI_Type_create_hindexed(2, lengths, addresses, MPI_DOUBLE, &s.types[p]));
      CONCORD_MPI(MPI_Type_commit(&s.types[p]));
      CONCORD_MPI(MPI_Send_init(MPI_BOTTOM, 1, s.types[p], b.rank, data_tag, comm_.get(), &s.requests[p]));
    }
  }
}

StampedExchange::~StampedExchange() {
  if (finalized()) return;
  for (Peer& peer : peers_)
    for (Slot& s : peer.slots) {
      if (!s.arrived) {
        MPI_Cancel(&s.request);
        MPI_Wait(&s.request, MPI_STATUS_IGNORE);
      }
      MPI_Request_free(&s.request);
    }
  for (SendSlot& s : sends_) {
    if (s.in_flight) {  // only after an exception: let the sends finish, keep their buffers alive
      for (MPI_Request& r : s.requests) MPI_Request_free(&r);
      new std::vector<double>(std::move(s.buffer));  // NOLINT: intentionally leaked, see the comment above
    } else {
      for (MPI_Request& r : s.requests) MPI_Request_free(&r);
    }
    for (MPI_Datatype& t : s.types) MPI_Type_free(&t);
  }
}

bool StampedExchange::take_peer(std::size_t q, std::int64_t now, std::int64_t until) {
  Peer& peer = peers_[q];
  const PeerBlock& b = pattern_.recvs[q];
  const auto vpr = static_cast<std::int64_t>(values_per_row_);
  bool took = false;
  while (peer.taken < until) {
    Slot& s = peer.slots[static_cast<std::size_t>(peer.oldest)];
    if (!s.arrived) {
      int done = 0;
      CONCORD_MPI(MPI_Test(&s.request, &done, MPI_STATUS_IGNORE));
      if (!done) return took;
      s.arrived = true;
      peer.newest = std::max(peer.newest, std::bit_cast<std::int64_t>(s.buffer[0]));
    }
    const auto stamp = std::bit_cast<std::int64_t>(s.buffer[0]);
    if (stamp > now) {  // its sender is ahead: kept until `now` reaches it
      note_arrivals(peer);
      return took;
    }
    std::memcpy(halo_.data() + b.first_row * vpr, s.buffer.data() + 1,
                static_cast<std::size_t>(b.rows * vpr) * sizeof(double));
    peer.stamp = stamp;
    ++peer.taken;
    s.arrived = false;
    CONCORD_MPI(MPI_Start(&s.request));
    peer.oldest = (peer.oldest + 1) % static_cast<int>(peer.slots.size());
    took = true;
  }
  return took;
}

void StampedExchange::note_arrivals(Peer& peer) {
  // Messages fill the posted receives in the order they were posted: test the slots after the
  // oldest, in that order, so that `newest` counts every message that arrived.
  const auto slots = static_cast<int>(peer.slots.size());
  for (int i = 1; i < slots; ++i) {
    Slot& s = peer.slots[static_cast<std::size_t>((peer.oldest + i) % slots)];
    if (!s.arrived) {
      int done = 0;
      CONCORD_MPI(MPI_Test(&s.request, &done, MPI_STATUS_IGNORE));
      if (!done) return;
      s.arrived = true;
    }
    peer.newest = std::max(peer.newest, std::bit_cast<std::int64_t>(s.buffer[0]));
  }
}

void StampedExchange::take(std::int64_t now) {
  for (std::size_t q = 0; q < peers_.size(); ++q) take_peer(q, now, std::numeric_limits<std::int64_t>::max());
}

void StampedExchange::wait_for(std::int64_t oldest, std::int64_t now) {
  if (oldest > now) throw std::logic_error("concord::StampedExchange::wait_for: oldest > now");
  take(now);
  const auto stale = [&] {
    return std::any_of(peers_.begin(), peers_.end(), [&](const Peer& p) { return p.stamp < oldest; });
  };
  if (!stale()) return;
  WaitClock clock(waiting_);
  for (Backoff backoff; stale(); backoff()) take(now);
}

bool StampedExchange::sends_complete(SendSlot& s) {
  if (!s.in_flight) return true;
  int done = 0;
  CONCORD_MPI(MPI_Testall(static_cast<int>(s.requests.size()), s.requests.data(), &done, MPI_STATUSES_IGNORE));
  if (done) s.in_flight = false;
  return done != 0;
}

double* StampedExchange::acquire_send(std::int64_t now) {
  if (sends_.empty()) return nullptr;
  SendSlot& s = sends_[static_cast<std::size_t>(next_send_)];
  if (!sends_complete(s)) {
    WaitClock clock(waiting_);
    Backoff backoff;
    while (!sends_complete(s)) {
      backoff();
      take(now);
    }
  }
  return s.buffer.data();
}

void StampedExchange::send(std::int64_t stamp) {
  if (sends_.empty()) return;
  SendSlot& s = sends_[static_cast<std::size_t>(next_send_)];
  if (s.in_flight) throw std::logic_error("concord::StampedExchange::send without acquire_send");
  s.stamp = std::bit_cast<double>(stamp);
  CONCORD_MPI(MPI_Startall(static_cast<int>(s.requests.size()), s.requests.data()));
  s.in_flight = true;
  for (auto& c : sent_to_) ++c;
  ++sent_messages_;
  next_send_ = (next_send_ + 1) % static_cast<int>(sends_.size());
}

std::int64_t StampedExchange::newest_arrived() const {
  std::int64_t newest = no_stamp;
  for (const Peer& p : peers_) newest = std::max(newest, p.newest);
  return newest;
}

void StampedExchange::drain() {
  WaitClock clock(waiting_);
  // 1. Each rank tells each receiver how many messages it sent, on a tag of their own. Nothing is
  //    taken meanwhile: a peer that finished draining may already send messages of the next phase.
  std::vector<std::int64_t>& expected = expected_;       // sized at construction
  std::vector<MPI_Request>& requests = drain_requests_;
  for (std::size_t q = 0; q < peers_.size(); ++q)
    CONCORD_MPI(MPI_Irecv(&expected[q], 1, MPI_INT64_T, pattern_.recvs[q].rank, count_tag, comm_.get(), &requests[q]));
  for (std::size_t p = 0; p < sent_to_.size(); ++p)
    CONCORD_MPI(MPI_Isend(&sent_to_[p], 1, MPI_INT64_T, pattern_.sends[p].rank, count_tag, comm_.get(),
                          &requests[peers_.size() + p]));
  for (Backoff backoff;; backoff()) {
    int counts = 0;
    CONCORD_MPI(MPI_Testall(static_cast<int>(requests.size()), requests.data(), &counts, MPI_STATUSES_IGNORE));
    if (counts) break;
  }
  // 2. Take exactly the messages counted, and see this rank's own sends taken by their receivers.
  constexpr std::int64_t any_stamp = std::numeric_limits<std::int64_t>::max();
  for (Backoff backoff;; backoff()) {
    bool done = true;
    for (std::size_t q = 0; q < peers_.size(); ++q) {
      take_peer(q, any_stamp, expected[q]);
      done = done && peers_[q].taken == expected[q];
    }
    for (SendSlot& s : sends_) done = sends_complete(s) && done;
    if (done) return;
  }
}

}  // namespace concord::comm
