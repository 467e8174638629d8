// ReproducibleSum: sums over all agents that are bit-identical for any number of ranks, accurate
// to about one rounding, and NaN when any input is not finite.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

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

template <class Value>
concord::AgentMatrix fill(const concord::AgentLayout& layout, int width, Value value) {
  concord::AgentMatrix x("x", layout.local_count(), width);
  auto h = Kokkos::create_mirror_view(x);
  for (int a = 0; a < layout.local_count(); ++a)
    for (int c = 0; c < width; ++c) h(a, c) = value(layout.local_first() + a, c);
  Kokkos::deep_copy(x, h);
  return x;
}

template <class Value>
std::vector<double> summed(MPI_Comm comm, int n, int width, Value value, bool average = false) {
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

/// The reference: the scalar algorithm of reproducible_sum.hpp exactly as first written (bounds,
/// two truncated slices per value scaled by two power-of-two multiplies, one recombination), for
/// all n agents in one process. Host kernels may be restructured (vectorised, fused), but must
/// give these bits for every input.
double ref_pow2(int k) { return std::bit_cast<double>(static_cast<std::uint64_t>(k + 1023) << 52); }
double ref_scale2(double v, int k) {
  const int half = k / 2;
  return v * ref_pow2(half) * ref_pow2(k - half);
}
int ref_exponent_above(double m) {
  const int biased = static_cast<int>((std::bit_cast<std::uint64_t>(m) >> 52) & 0x7ff);
  return biased == 0 ? -1022 : biased - 1022;
}
template <class Value>
std::vector<double> reference_sum(int n, int width, Value value, double factor) {
  int log2n = 0;
  while ((std::int64_t{1} << log2n) < n) ++log2n;
  const int bits = 52 - log2n;
  std::vector<double> out(static_cast<std::size_t>(width));
  for (int c = 0; c < width; ++c) {
    double m = 0.0;
    for (int a = 0; a < n; ++a) {
      const double v = std::fabs(value(a, c));
      if (!(v <= std::numeric_limits<double>::max())) m = std::numeric_limits<double>::infinity();
      else if (v > m) m = v;
    }
    if (!(m <= std::numeric_limits<double>::max())) {
      out[static_cast<std::size_t>(c)] = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    const int e = ref_exponent_above(m);
    double s1 = 0.0, s2 = 0.0;
    for (int a = 0; a < n; ++a) {
      const double q = ref_scale2(value(a, c), bits - e);
      const double t1 = std::trunc(q);
      const double t2 = std::trunc(ref_scale2(q - t1, bits));
      s1 += t1;
      s2 += t2;
    }
    out[static_cast<std::size_t>(c)] = (ref_scale2(s1, e - bits) + ref_scale2(s2, e - 2 * bits)) * factor;
  }
  return out;
}

/// Hard cases by column (c mod 24): extreme and subnormal exponents, huge and tiny values in one
/// column, exact cancellation, zeros of both signs, powers of two at the bound, values near the
/// overflow threshold, random mantissas over the whole exponent range.
double hard(int agent, int column) {
  concord::RandomStream rng(7, static_cast<std::uint64_t>(agent), static_cast<std::uint64_t>(column));
  const double u = rng.uniform() - 0.5;
  const double sign = (agent * 7 + column) % 3 == 0 ? -1.0 : 1.0;
  const double big = std::numeric_limits<double>::max();
  const double sub = std::numeric_limits<double>::denorm_min();
  switch (column % 24) {
    case 0: return 0.0;
    case 1: return -0.0;
    case 2: return agent % 2 ? -0.0 : 0.0;
    case 3: return u * 1e300;
    case 4: return sign * big * (0.5 + std::fabs(u));                  // sums overflow
    case 5: return agent == 0 ? big : -big * 0.25 * (1.0 + u * 1e-10);  // near the overflow threshold
    case 6: return sign * sub * (1 + agent % 5);                       // subnormal multiples
    case 7: return u * 1e-310;                                         // subnormal mantissas
    case 8: return agent == 1 ? u * 1e300 : u * 1e-300;                // huge and tiny together
    case 9: return (agent % 2 ? -1.0 : 1.0) * std::ldexp(1.0 + agent, 40) + u;  // cancellation
    case 10: return agent == 0 ? 1.0 : u * 1e-17;                      // below the slices
    case 11: return std::ldexp(sign, agent % 60 - 30);                 // powers of two
    case 12: return std::ldexp(1.0, 1023) * (agent == 0 ? 1.0 : u);    // bound 2^1023
    case 13: return std::ldexp(1.0, -1022) * (agent == 0 ? 1.0 : u);   // bound at the smallest normal
    case 14: return std::ldexp(u, -960);                               // tiny normals
    case 15: return std::ldexp(u, -1000);
    case 16: return std::ldexp(u, 1000);
    case 17: return -std::ldexp(1.0, 10) + std::ldexp(u, -40);         // all negative
    case 18: return u * std::pow(10.0, rng.uniform_int(-300, 300));
    case 19: return std::bit_cast<double>(rng.next() & 0x7fefffffffffffffULL) * sign;  // any finite bits
    case 20: return agent == 2 ? -sub : 0.0;
    case 21: return 0.1 * (agent + 1);
    case 22: return sign * (std::ldexp(1.0, 52) - 0.5);
    default: return u;
  }
}

/// The kinds of `hard` whose columns the host's grouped kernels (8 columns at once) take on
/// their vector path: finite, with a bound above about 2^-977 (the rest go column by column).
/// `hard` itself puts a fallback kind in every group of 8 columns.
double hard_grouped(int agent, int column) {
  static constexpr int kinds[] = {3, 4, 5, 8, 9, 10, 11, 12, 14, 16, 17, 18, 19, 21, 22, 23};
  return hard(agent, kinds[column % 16] + 24 * (column / 16));
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

// Every host or device kernel gives the bits of the scalar reference on hard inputs, for every
// agent count (1 to 67, odd widths), for sums and averages, on all ranks and on one process; the
// columns in two arrangements, so that grouped kernels run both their vector and fallback paths.
TEST(ReproducibleSum, BitIdenticalToScalarReferenceOnHardInputs) {
  using Value = double (*)(int, int);
  for (auto [name, value] : {std::pair<const char*, Value>{"hard", hard}, {"hard_grouped", hard_grouped}}) {
    for (int n : {1, 2, 3, 4, 7, 13, 64, 67}) {
      for (int width : {1, 5, 24 * 3 + 7}) {
        if (n < world_size()) continue;  // every rank needs an agent
        for (bool average : {false, true}) {
          const auto expected = reference_sum(n, width, value, average ? 1.0 / n : 1.0);
          const auto here = summed(MPI_COMM_WORLD, n, width, value, average);
          const auto alone = summed(MPI_COMM_SELF, n, width, value, average);
          for (int c = 0; c < width; ++c) {
            const auto i = static_cast<std::size_t>(c);
            EXPECT_EQ(bits_of(here[i]), bits_of(expected[i]))
                << name << " n=" << n << " width=" << width << " average=" << average << " c=" << c << ": "
                << here[i] << " vs reference " << expected[i];
            EXPECT_EQ(bits_of(alone[i]), bits_of(expected[i])) << name << ", one process, n=" << n << " c=" << c;
          }
        }
      }
    }
  }
}
