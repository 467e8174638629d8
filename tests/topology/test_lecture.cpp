// The lecture's worked examples: partial averaging of x = (0, 1, 2, 3, 4) over the 5-agent ring
// and the 5-agent static exponential graph (tables "Partial average over ring / exponential").
#include <gtest/gtest.h>

#include <vector>

#include "concord/topology/generators.hpp"

namespace {

std::vector<double> mix(const concord::topology::WeightMatrix& w, std::vector<double> x, int steps) {
  std::vector<double> y(x.size());
  for (int s = 0; s < steps; ++s) {
    w.apply(x, y);
    x.swap(y);
  }
  return x;
}

void expect_table_row(const std::vector<double>& got, const std::vector<double>& table, double tol) {
  ASSERT_EQ(got.size(), table.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], table[i], tol) << "agent " << i + 1;
}

}  // namespace

TEST(Lecture, RingFiveAgents) {
  const auto w = concord::topology::ring(5).round(0);
  const std::vector<double> x0{0, 1, 2, 3, 4};
  // Exact first step: agent 1 averages x5, x1, x2 = (4 + 0 + 1) / 3.
  const auto x1 = mix(w, x0, 1);
  EXPECT_DOUBLE_EQ(x1[0], 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(x1[4], 7.0 / 3.0);
  // The lecture prints two decimals (three from iteration 10 on).
  expect_table_row(x1, {1.67, 1, 2, 3, 2.33}, 0.005);
  expect_table_row(mix(w, x0, 5), {1.95, 1.93, 2.00, 2.07, 2.05}, 0.005);
  // The lecture's iteration-10 row reads (1.998, 1.996, 2.000, 2.000, 2.002); it cannot be right:
  // the ring preserves the mirror symmetry x_2 + x_4 = 4 of x0, and the exact values are
  // (1.9979, 1.9966, 2.0000, 2.0034, 2.0021). docs/validation.md records the misprint.
  expect_table_row(mix(w, x0, 10), {1.998, 1.997, 2.000, 2.003, 2.002}, 0.0005);
  expect_table_row(mix(w, x0, 50), {2, 2, 2, 2, 2}, 0.0005);
}

TEST(Lecture, ExponentialFiveAgents) {
  const auto w = concord::topology::exponential(5).round(0);
  // tau = ceil(log2 5) = 3: weights 1/4 on self, i+1, i+2, i+4.
  EXPECT_DOUBLE_EQ(w(0, 0), 0.25);
  EXPECT_DOUBLE_EQ(w(0, 1), 0.25);
  EXPECT_DOUBLE_EQ(w(0, 2), 0.25);
  EXPECT_DOUBLE_EQ(w(0, 4), 0.25);
  EXPECT_DOUBLE_EQ(w(0, 3), 0.0);
  const std::vector<double> x0{0, 1, 2, 3, 4};
  const auto x1 = mix(w, x0, 1);
  const std::vector<double> exact{1.75, 1.5, 2.5, 2.25, 2.0};
  for (int i = 0; i < 5; ++i) EXPECT_DOUBLE_EQ(x1[i], exact[i]);
  expect_table_row(mix(w, x0, 5), {2.002, 2.001, 2.00, 1.999, 1.998}, 0.0005);
  expect_table_row(mix(w, x0, 20), {2, 2, 2, 2, 2}, 0.0005);
}

TEST(Lecture, ExponentialSixAgentsMatrixIsTheTransposeOfW) {
  // The lecture's 6-agent illustration has 1/4 where (i - j) mod 6 is 0, 1, 2 or 4: it shows who
  // *sends* to whom, i.e. W^T in Concord's convention. Its formula (w_ij != 0 when
  // log2((j - i) mod n) is an integer) and its 5-agent table are W itself, as checked above.
  const auto w = concord::topology::exponential(6).round(0).transpose();
  const int pattern[6][6] = {{1, 0, 1, 0, 1, 1}, {1, 1, 0, 1, 0, 1}, {1, 1, 1, 0, 1, 0},
                             {0, 1, 1, 1, 0, 1}, {1, 0, 1, 1, 1, 0}, {0, 1, 0, 1, 1, 1}};
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j) EXPECT_DOUBLE_EQ(w(i, j), 0.25 * pattern[i][j]) << i << "," << j;
}
