// ReproducibleSum: sums over all agents that are bit-identical for any number of ranks, accurate
// to about one rounding, and NaN when any input is not finite.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "concord/comm/transport.hpp"
#include "concord/mixing/reproducible_sum.hpp"
#include "mixing_support.hpp"

using namespace concord_test;

namespace {

/// Values spread over 40 orders of magnitude with both signs: a naive sum depends on its order.
double adversarial(int agent, int column) {
  concord::RandomStream rng(99, static_cast<std::uint64_t>(agent), static_cast<std::uint64_t>(column));
  const double magnitude = std::pow(10.0, rng.uniform_int(-20, 20));
  return (rng.uniform() - 0.5) * magnitude;
}

concord::AgentMatrix fill(const concord::AgentLayout& layout, int width, double (*value)(int, int)) {
  concord::AgentMatrix x("x", layout.local_count(), width);
  auto h = Kokkos::create_mirror_view(x);
  for (int a = 0; a < layout.local_count(); ++a)
    for (int c = 0; c < width; ++c) h(a, c) = value(layout.local_first() + a, c);
  Kokkos::deep_copy(x, h);
  return x;
}

std::vector<double> summed(MPI_Comm comm, int n, int width, double (*value)(int, int), bool average = false) {
  auto layout = concord::AgentLayout::over(n, comm);
  auto transport = concord::comm::make_transport(comm);
  concord::mixing::ReproducibleSum sum(transport, layout, width);
  auto x = fill(layout, width, value);
  concord::CoordinateVector total("total", width);
  if (average) sum.average(concord::ExecutionSpace(), x, total);
  else sum.sum(concord::ExecutionSpace(), x, total);
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), total);
  return std::vector<double>(h.data(), h.data() + width);
}

}  // namespace

TEST(ReproducibleSum, BitIdenticalToOneProcessAndAccurate) {
  const int width = 64;
  for (int n : {4, 7, 13, 64}) {
    const auto here = summed(MPI_COMM_WORLD, n, width, adversarial);
    const auto alone = summed(MPI_COMM_SELF, n, width, adversarial);
    EXPECT_TRUE(bit_identical(here, alone)) << "n=" << n;
    for (int c = 0; c < width; ++c) {
      long double exact = 0.0L, largest = 0.0L;
      for (int a = 0; a < n; ++a) {
        exact += adversarial(a, c);
        largest = std::max(largest, std::fabs(static_cast<long double>(adversarial(a, c))));
      }
      // One rounding of the result plus the dropped slice remainder (n 2^-2B of the largest value).
      const double tolerance = 2.3e-16 * std::fabs(static_cast<double>(exact)) + 1e-24 * static_cast<double>(largest);
      EXPECT_NEAR(here[static_cast<std::size_t>(c)], static_cast<double>(exact), tolerance) << "n=" << n << " c=" << c;
      EXPECT_TRUE(same_on_all_ranks(bits_of(here[static_cast<std::size_t>(c)])));
    }
  }
}

TEST(ReproducibleSum, AverageZerosAndExtremes) {
  auto average = summed(MPI_COMM_WORLD, 8, 3, [](int a, int c) { return c == 0 ? 0.0 : c == 1 ? a + 1.0 : 1e300; }, true);
  EXPECT_EQ(average[0], 0.0);
  EXPECT_EQ(average[1], 4.5);
  EXPECT_EQ(average[2], 1e300);
  auto tiny = summed(MPI_COMM_WORLD, 8, 1, [](int a, int) { return (a + 1) * 1e-310; });  // subnormal
  EXPECT_NEAR(tiny[0], 36e-310, 1e-323);
}

TEST(ReproducibleSum, NonFiniteInputGivesNaN) {
  auto with_nan = summed(MPI_COMM_WORLD, 6, 2, [](int a, int c) {
    return (a == 5 && c == 1) ? std::numeric_limits<double>::quiet_NaN() : 1.0;
  });
  EXPECT_EQ(with_nan[0], 6.0);
  EXPECT_TRUE(std::isnan(with_nan[1]));
  auto with_inf = summed(MPI_COMM_WORLD, 6, 1, [](int a, int) { return a == 2 ? INFINITY : 1.0; });
  EXPECT_TRUE(std::isnan(with_inf[0]));
}
