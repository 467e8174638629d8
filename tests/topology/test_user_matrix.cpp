// User-supplied weight matrices from MatrixMarket and HDF5 files: read exactly, validated.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <filesystem>
#include <fstream>

#include "topology_support.hpp"
#include "concord/core/error.hpp"
#include "concord/topology/analysis.hpp"
#include "concord/topology/generators.hpp"
#include "concord/topology/registry.hpp"
#include "concord/topology/user_matrix.hpp"

using namespace concord::topology;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("concord_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

void write_text(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

using concord_test::error_of;

void write_dense_h5(const fs::path& p, const std::vector<double>& w, hsize_t n) {
  hid_t f = H5Fcreate(p.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t dims[2] = {n, n};
  hid_t s = H5Screate_simple(2, dims, nullptr);
  hid_t d = H5Dcreate2(f, "W", H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, w.data());
  H5Dclose(d);
  H5Sclose(s);
  H5Fclose(f);
}

}  // namespace

TEST(UserMatrix, MatrixMarketRoundTripOfTheRing) {
  const auto ring5 = ring(5).round(0);
  std::string text = "%%MatrixMarket matrix coordinate real general\n% the 5-agent ring\n5 5 " +
                     std::to_string(ring5.nonzeros()) + "\n";
  char buf[64];
  for (int i = 0; i < 5; ++i)
    for (int j : ring5.row_cols(i)) {
      std::snprintf(buf, sizeof buf, "%d %d %.17g\n", i + 1, j + 1, ring5(i, j));
      text += buf;
    }
  const auto p = scratch("ring5.mtx");
  write_text(p, text);
  EXPECT_EQ(read_weight_matrix_file(p.string()), ring5);
  const auto t = make_topology("file", 5, {{"path", p.string()}});
  EXPECT_EQ(t.round(0), ring5);
}

TEST(UserMatrix, MatrixMarketSymmetricStorage) {
  const auto p = scratch("pair.mtx");
  write_text(p, "%%MatrixMarket matrix coordinate real symmetric\n2 2 3\n1 1 0.25\n2 1 0.75\n2 2 0.25\n");
  const auto w = read_weight_matrix_file(p.string());
  EXPECT_DOUBLE_EQ(w(0, 1), 0.75);
  EXPECT_DOUBLE_EQ(w(1, 0), 0.75);
  EXPECT_NO_THROW(validate_mixing_matrix(w, "pair"));
}

TEST(UserMatrix, InvalidMatricesRejected) {
  const auto neg = scratch("neg.mtx");
  write_text(neg, "%%MatrixMarket matrix coordinate real general\n2 2 4\n1 1 1.5\n1 2 -0.5\n2 1 -0.5\n2 2 1.5\n");
  EXPECT_NE(error_of([&] { make_topology("file", 2, {{"path", neg.string()}}); }).find("is negative"), std::string::npos);

  const auto neither = scratch("neither.mtx");  // row sums 1.5 / 0.5, column sums 0.5 / 1.5
  write_text(neither, "%%MatrixMarket matrix coordinate real general\n2 2 3\n1 1 0.5\n1 2 1\n2 2 0.5\n");
  EXPECT_NE(error_of([&] { make_topology("file", 2, {{"path", neither.string()}}); })
                .find("W is neither row- nor column-stochastic within tolerance 1e-12: row 0 sums to 1.5 and column 0 "
                      "sums to 0.5"),
            std::string::npos);

  const auto oneway = scratch("oneway.mtx");  // column-stochastic, but 2 never reaches 0
  write_text(oneway, "%%MatrixMarket matrix coordinate real general\n3 3 5\n1 1 0.5\n2 1 0.5\n2 2 0.5\n3 2 0.5\n3 3 1\n");
  EXPECT_NE(error_of([&] { make_topology("file", 3, {{"path", oneway.string()}}); }).find("not strongly connected"),
            std::string::npos);

  const auto disc = scratch("disconnected.mtx");  // identity: doubly stochastic, not connected
  write_text(disc, "%%MatrixMarket matrix coordinate real general\n3 3 3\n1 1 1\n2 2 1\n3 3 1\n");
  EXPECT_NE(error_of([&] { make_topology("file", 3, {{"path", disc.string()}}); }).find("not connected"),
            std::string::npos);
  EXPECT_NE(error_of([&] { make_topology("file", 4, {{"path", disc.string()}}); }).find("run has 4 agents"),
            std::string::npos);

  const auto bad = scratch("bad.mtx");
  write_text(bad, "%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n3 1 1\n");
  EXPECT_NE(error_of([&] { read_weight_matrix_file(bad.string()); }).find("line 4: entry (3, 1) outside 1..2"),
            std::string::npos);
  const auto arr = scratch("array.mtx");
  write_text(arr, "%%MatrixMarket matrix array real general\n1 1\n1\n");
  EXPECT_NE(error_of([&] { read_weight_matrix_file(arr.string()); }).find("allowed: coordinate"), std::string::npos);
  EXPECT_NE(error_of([&] { read_weight_matrix_file("/nonexistent/w.mtx"); }).find("no such file"), std::string::npos);
  EXPECT_NE(error_of([&] { read_weight_matrix_file(arr.string() + ".csv"); }).find("no such file"), std::string::npos);
}

// Directed graphs: a column-stochastic (push-sum) or row-stochastic W is accepted and reported as
// such; the doubly-stochastic algorithms then refuse it themselves (require_stochasticity).
TEST(UserMatrix, RowOrColumnStochasticFilesAccepted) {
  const auto col = scratch("column.mtx");  // 0 -> 1 -> 2 -> 0 plus 0 -> 2: column j splits agent j's mass
  write_text(col, "%%MatrixMarket matrix coordinate real general\n3 3 7\n"
                  "1 1 0.25\n2 1 0.5\n3 1 0.25\n2 2 0.5\n3 2 0.5\n3 3 0.5\n1 3 0.5\n");
  const auto t = make_topology("file", 3, {{"path", col.string()}});
  EXPECT_EQ(stochasticity(t), Stochasticity::column);
  EXPECT_EQ(analyze(t).stochasticity, Stochasticity::column);
  EXPECT_FALSE(analyze(t).doubly_stochastic);
  EXPECT_NE(error_of([&] { require_stochasticity(t, Stochasticity::doubly, "dsgd"); })
                .find("algorithm 'dsgd' needs doubly-stochastic weights, but topology 'file' is column-stochastic only"),
            std::string::npos);

  const auto rows = scratch("rows.mtx");  // row sums 1, column sums 0.5 / 1.5
  write_text(rows, "%%MatrixMarket matrix coordinate real general\n2 2 3\n1 2 1\n2 1 0.5\n2 2 0.5\n");
  EXPECT_EQ(stochasticity(make_topology("file", 2, {{"path", rows.string()}})), Stochasticity::row);
}

TEST(UserMatrix, Hdf5DenseAndInvalid) {
  const auto w = exponential(6).round(0);
  std::vector<double> dense(36, 0.0);
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j) dense[i * 6 + j] = w(i, j);
  const auto p = scratch("exp6.h5");
  write_dense_h5(p, dense, 6);
  EXPECT_EQ(read_weight_matrix_file(p.string()), w);
  EXPECT_EQ(make_topology("file", 6, {{"path", p.string()}}).round(0), w);

  dense[0] += 0.1;  // row 0 no longer sums to 1
  const auto q = scratch("bad.h5");
  write_dense_h5(q, dense, 6);
  EXPECT_NE(error_of([&] { make_topology("file", 6, {{"path", q.string()}}); }).find("row 0 sums to"), std::string::npos);
  const auto noth5 = scratch("text.h5");
  write_text(noth5, "not hdf5");
  EXPECT_NE(error_of([&] { read_weight_matrix_file(noth5.string()); }).find("not an HDF5 file"), std::string::npos);
}
