// Transports (in_process, mpi), reductions, mixing::average, the communicator, and the
// MPI/NCCL error checks.
#include <gtest/gtest.h>
#include <mpi.h>

#include <span>
#include <string>

#include "concord/comm/communicator.hpp"
#include "concord/comm/errors.hpp"
#include "concord/comm/transport.hpp"
#include "concord/config.hpp"
#include "concord/mixing/mixer.hpp"
#include "concord/mixing/reproducible_sum.hpp"
#include "mixing_support.hpp"

using namespace concord_test;
using concord::comm::TransportKind;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

using DeviceVector = Kokkos::View<double*, concord::MemorySpace>;

DeviceVector to_device(const std::vector<double>& v) {
  DeviceVector d("concord_test::vector", v.size());
  auto h = Kokkos::create_mirror_view(d);
  for (std::size_t i = 0; i < v.size(); ++i) h(i) = v[i];
  Kokkos::deep_copy(d, h);
  return d;
}

std::vector<double> to_host(const DeviceVector& d) {
  Kokkos::fence();
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d);
  return std::vector<double>(h.data(), h.data() + h.extent(0));
}

/// Value i of rank r in the reduction tests: small dyadic numbers, so sums are exact.
double contribution(int r, std::size_t i) {
  return (r + 1) * 0.5 + static_cast<double>(i % 97) * r * r - 0.25 * static_cast<double>(i);
}

}  // namespace

TEST(Transport, AutomaticKindFollowsRankCount) {
  const int p = world_size();
  auto t = concord::comm::make_transport(MPI_COMM_WORLD);
  ASSERT_TRUE(t);
  const TransportKind expected =
      p == 1 ? TransportKind::in_process : (CONCORD_HAVE_NCCL ? TransportKind::nccl : TransportKind::mpi);
  EXPECT_EQ(t->kind(), expected) << concord::comm::to_string(t->kind());
  EXPECT_EQ(t->size(), p);
  EXPECT_EQ(t->rank(), world_rank());
  EXPECT_FALSE(t->in_flight());
  EXPECT_TRUE(contains(t->describe(), std::string(concord::comm::to_string(t->kind())))) << t->describe();
  // Over MPI_COMM_SELF every rank is alone.
  auto self = concord::comm::make_transport(MPI_COMM_SELF);
  EXPECT_EQ(self->kind(), TransportKind::in_process);
  EXPECT_EQ(self->size(), 1);
  EXPECT_EQ(self->rank(), 0);
  // An explicit mpi transport works for any rank count, P = 1 included.
  auto mpi = concord::comm::make_transport(MPI_COMM_WORLD, {TransportKind::mpi, false});
  EXPECT_EQ(mpi->kind(), TransportKind::mpi);
  EXPECT_EQ(mpi->size(), p);
  EXPECT_EQ(mpi->rank(), world_rank());
}

TEST(Transport, AllreduceSumOfRankDependentVectors) {
  const int p = world_size(), rank = world_rank();
  const concord::ExecutionSpace exec;
  for (TransportKind kind : {TransportKind::automatic, TransportKind::mpi}) {
    auto t = concord::comm::make_transport(MPI_COMM_WORLD, {kind, false});
    for (std::size_t count : {std::size_t{1}, std::size_t{5}, std::size_t{1000}}) {
      std::vector<double> mine(count), expected(count, 0.0);
      for (std::size_t i = 0; i < count; ++i) {
        mine[i] = contribution(rank, i);
        for (int r = 0; r < p; ++r) expected[i] += contribution(r, i);
      }
      DeviceVector d = to_device(mine);
      t->allreduce_sum(exec, d.data(), count);
      const auto got = to_host(d);
      EXPECT_EQ(got, expected) << concord::comm::to_string(t->kind()) << " count " << count;
    }
  }
}

TEST(Transport, PointToPointExchangeAroundTheRing) {
  const int p = world_size(), rank = world_rank();
  const concord::ExecutionSpace exec;
  auto t = concord::comm::make_transport(MPI_COMM_WORLD, {TransportKind::mpi, false});
  concord::comm::ExchangePattern pattern;
  constexpr std::size_t values_per_row = 3;
  constexpr std::int64_t rows = 2;
  if (p > 1) {
    pattern.sends.push_back({(rank + 1) % p, 0, rows});
    pattern.recvs.push_back({(rank + p - 1) % p, 0, rows});
  }
  const std::size_t values = static_cast<std::size_t>(rows) * values_per_row;
  t->reserve(values, values, 4);
  std::vector<double> send_host(values);
  for (std::size_t i = 0; i < values; ++i) send_host[i] = 1000.0 * rank + static_cast<double>(i);
  DeviceVector send = to_device(send_host), recv("recv", values);

  EXPECT_THROW(t->wait(exec), std::logic_error);  // nothing in flight
  t->post_receives(exec, pattern, values_per_row, recv.data());
  EXPECT_TRUE(t->in_flight());
  EXPECT_THROW(t->post_receives(exec, pattern, values_per_row, recv.data()), std::logic_error);
  t->post_sends(exec, pattern, values_per_row, send.data());
  t->wait(exec);
  EXPECT_FALSE(t->in_flight());
  if (p > 1) {
    const int from = (rank + p - 1) % p;
    const auto got = to_host(recv);
    for (std::size_t i = 0; i < values; ++i) EXPECT_EQ(got[i], 1000.0 * from + static_cast<double>(i));
  }

  // The in_process transport refuses patterns with peers.
  auto self = concord::comm::make_transport(MPI_COMM_SELF);
  concord::comm::ExchangePattern with_peer;
  with_peer.recvs.push_back({0, 0, 1});
  EXPECT_THROW(self->post_receives(exec, with_peer, 1, recv.data()), std::logic_error);
}

TEST(Transport, AverageEqualsHostMeanOnEveryRank) {
  auto t = concord::comm::make_transport(MPI_COMM_WORLD);
  const concord::ExecutionSpace exec;
  for (int n : {7, 12, 13})
    for (int d : {1, 3, 5}) {
      const auto layout = concord::AgentLayout::over(n, MPI_COMM_WORLD);
      const auto x = initial_state(layout, d, 31);
      concord::CoordinateVector mean("mean", d);
      concord::mixing::ReproducibleSum sum(t, layout, d);
      sum.average(exec, x, mean);
      const auto got = to_host(mean);
      const auto rows = initial_rows(n, d, 31);
      for (int c = 0; c < d; ++c) {
        double s = 0.0;
        for (int a = 0; a < n; ++a) s += rows[static_cast<std::size_t>(a) * d + c];
        EXPECT_NEAR(got[static_cast<std::size_t>(c)], s / n, 1e-13) << "n=" << n << " d=" << d << " c=" << c;
        EXPECT_TRUE(same_on_all_ranks(bits_of(got[static_cast<std::size_t>(c)]))) << "n=" << n << " c=" << c;
      }
      if (d > 1) {
        concord::CoordinateVector wrong("wrong", d - 1);
        EXPECT_THROW(sum.average(exec, x, wrong), concord::UsageError);
      }
    }
}

TEST(Transport, KindNamesAndRefusals) {
  for (TransportKind kind :
       {TransportKind::automatic, TransportKind::in_process, TransportKind::mpi, TransportKind::nccl})
    EXPECT_EQ(concord::comm::parse_transport_kind(concord::comm::to_string(kind)), kind);
  EXPECT_THROW(concord::comm::parse_transport_kind("bogus"), concord::InputError);
  const std::string msg = message_of([] { concord::comm::parse_transport_kind("bogus"); });
  EXPECT_TRUE(contains(msg, "'bogus'")) << msg;
  EXPECT_TRUE(contains(msg, "allowed: automatic, in_process, mpi, nccl")) << msg;

  const int p = world_size();
  const concord::comm::TransportOptions in_process{TransportKind::in_process, false};
  if (p > 1) {
    EXPECT_THROW(concord::comm::make_transport(MPI_COMM_WORLD, in_process), concord::InputError);
    const std::string m = message_of([&] { concord::comm::make_transport(MPI_COMM_WORLD, in_process); });
    EXPECT_TRUE(contains(m, "in_process")) << m;
    EXPECT_TRUE(contains(m, "one MPI rank")) << m;
    EXPECT_TRUE(contains(m, std::to_string(p))) << m;
  } else {
    EXPECT_EQ(concord::comm::make_transport(MPI_COMM_WORLD, in_process)->kind(), TransportKind::in_process);
  }
  EXPECT_EQ(concord::comm::make_transport(MPI_COMM_SELF, in_process)->kind(), TransportKind::in_process);
#if !CONCORD_HAVE_NCCL
  EXPECT_THROW(concord::comm::make_transport(MPI_COMM_WORLD, {TransportKind::nccl, false}), concord::InputError);
#endif
}

TEST(Transport, CheckMpiNamesOperationAndRank) {
  const int rank = world_rank();
  EXPECT_NO_THROW(concord::comm::check_mpi(MPI_SUCCESS, "MPI_Barrier(comm)"));
  EXPECT_THROW(concord::comm::check_mpi(MPI_ERR_RANK, "MPI_Isend(buf, 1, MPI_DOUBLE)"), concord::RuntimeError);
  const std::string msg = message_of([] { concord::comm::check_mpi(MPI_ERR_RANK, "MPI_Isend(buf, 1, MPI_DOUBLE)"); });
  EXPECT_EQ(msg.rfind("MPI_Isend failed on rank " + std::to_string(rank) + ": ", 0), 0u) << msg;
  EXPECT_FALSE(contains(msg, "(buf")) << msg;
  EXPECT_TRUE(contains(msg, "MPI error code " + std::to_string(MPI_ERR_RANK))) << msg;

  // A real failing call on a Concord communicator (MPI_ERRORS_RETURN) reaches the check.
  concord::comm::Communicator comm(MPI_COMM_WORLD);
  double v = 1.0;
  const std::string real =
      message_of([&] { CONCORD_MPI(MPI_Send(&v, 1, MPI_DOUBLE, comm.size() + 3, 0, comm.get())); });
  EXPECT_EQ(real.rfind("MPI_Send failed on rank " + std::to_string(rank) + ": ", 0), 0u) << real;

  EXPECT_NO_THROW(concord::comm::check_nccl(0, "ncclSend(x)"));
  const std::string nccl = message_of([] { concord::comm::check_nccl(3, "ncclSend(buf, n)"); });
  EXPECT_EQ(nccl.rfind("ncclSend failed on rank " + std::to_string(rank) + ": ", 0), 0u) << nccl;
}

TEST(Communicator, DuplicatesWithErrorsReturnAndMoves) {
  concord::comm::Communicator a(MPI_COMM_WORLD);
  EXPECT_EQ(a.rank(), world_rank());
  EXPECT_EQ(a.size(), world_size());
  int result = MPI_UNEQUAL;
  MPI_Comm_compare(a.get(), MPI_COMM_WORLD, &result);
  EXPECT_EQ(result, MPI_CONGRUENT);  // a duplicate, not the same communicator
  MPI_Errhandler handler;
  MPI_Comm_get_errhandler(a.get(), &handler);
  EXPECT_TRUE(handler == MPI_ERRORS_RETURN);

  const MPI_Comm raw = a.get();
  concord::comm::Communicator b(std::move(a));
  EXPECT_EQ(b.get(), raw);
  EXPECT_EQ(a.get(), MPI_COMM_NULL);  // NOLINT(bugprone-use-after-move): moved-from state is specified
  concord::comm::Communicator c(MPI_COMM_SELF);
  c = std::move(b);
  EXPECT_EQ(c.get(), raw);
  EXPECT_EQ(c.size(), world_size());
  int sum = 0, one = 1;
  MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, c.get());
  EXPECT_EQ(sum, world_size());
}

TEST(Transport, ExplicitMpiTransportMixesLikeOneProcess) {
  auto t = concord::comm::make_transport(MPI_COMM_WORLD, {TransportKind::mpi, false});
  for (const char* name : {"ring", "exponential", "star"}) {
    const auto topo = concord::topology::make_topology(name, 13, {}, 0);
    const auto layout = concord::AgentLayout::over(13, MPI_COMM_WORLD);
    concord::mixing::Mixer mixer(topo, layout, t, 2);
    SelfMixer self(topo, 2);
    const auto dist = gather_rows(layout, run_steps(mixer, initial_state(layout, 2, 3), 0, 4));
    const auto single = local_rows(run_steps(self.mixer, initial_state(self.layout, 2, 3), 0, 4));
    EXPECT_TRUE(bit_identical(dist, single)) << name;
  }
}

// comm's checked collectives, against values every rank can compute on its own.
TEST(Communicator, CheckedCollectivesAgreeOnEveryRank) {
  namespace cc = concord::comm;
  const MPI_Comm world = MPI_COMM_WORLD;
  const int r = cc::rank(world), p = cc::size(world);
  EXPECT_EQ(cc::allreduce_min(r + 10, world), 10);
  EXPECT_EQ(cc::allreduce_max(r + 10, world), p + 9);
  EXPECT_EQ(cc::allreduce_sum(static_cast<long long>(r) + 1, world), static_cast<long long>(p) * (p + 1) / 2);
  double v[3] = {static_cast<double>(r), -static_cast<double>(r), 1.0};
  cc::allreduce_max(std::span<double>(v), world);
  EXPECT_EQ(v[0], p - 1.0);
  EXPECT_EQ(v[1], 0.0);
  EXPECT_EQ(v[2], 1.0);
  // MAXLOC: the largest value and the lowest rank holding it (ranks 0 and 1 tie at 5 when p > 1).
  const auto best = cc::allreduce_maxloc(r <= 1 ? 5.0 : 1.0, world);
  EXPECT_EQ(best.value, 5.0);
  EXPECT_EQ(best.rank, 0);
  int scalar = r == p - 1 ? 42 : 0;
  cc::broadcast(scalar, p - 1, world);
  EXPECT_EQ(scalar, 42);
  int numbers[3] = {r, r, r};
  cc::broadcast(std::span<int>(numbers), 0, world);
  EXPECT_EQ(numbers[0] + numbers[1] + numbers[2], 0);
  std::string text = r == 0 ? std::string(100000, 'x') + "end" : "";
  cc::broadcast(text, 0, world);
  EXPECT_EQ(text.size(), 100003u);
  EXPECT_EQ(text.substr(text.size() - 3), "end");
  // The tests run on one host: every rank shares its node with all the others.
  EXPECT_EQ(cc::shared_memory_size(world), p);
  cc::barrier(world);
}

// A step that fails on one rank fails on every rank, with that rank's error type and message.
TEST(Communicator, OnEveryRankSpreadsTheFirstError) {
  const MPI_Comm world = MPI_COMM_WORLD;
  const int r = concord::comm::rank(world), p = concord::comm::size(world);
  const int failing = p - 1;
  try {
    concord::comm::on_every_rank(world, [&] {
      if (r == failing) throw concord::InputError("bad value on the last rank");
    });
    FAIL() << "no error on rank " << r;
  } catch (const concord::InputError& e) {
    EXPECT_STREQ(e.what(), "bad value on the last rank");
  }
  EXPECT_NO_THROW(concord::comm::on_every_rank(world, [] {}));
}
