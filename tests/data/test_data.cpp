// The data layer: HDF5, LIBSVM and IDX readers (read exactly, bad input rejected with the file
// name and the problem), Fashion-MNIST, and the seeded partitioners.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "concord/core/error.hpp"
#include "concord/data/partition.hpp"
#include "concord/data/readers.hpp"
#include "concord/data/sample_set.hpp"

using namespace concord::data;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("concord_data_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

void write_text(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const concord::InputError& e) {
    return e.what();
  }
  return "(no error)";
}

#define EXPECT_CONTAINS(text, part) EXPECT_NE((text).find(part), std::string::npos) << "message: " << (text)

// ---- HDF5 writing --------------------------------------------------------------------------------

struct H5Writer {
  hid_t file;
  explicit H5Writer(const fs::path& p) : file(H5Fcreate(p.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) {}
  ~H5Writer() { H5Fclose(file); }
  H5Writer(const H5Writer&) = delete;
  H5Writer& operator=(const H5Writer&) = delete;

  template <class T>
  void write(const char* name, hid_t file_type, hid_t mem_type, const std::vector<hsize_t>& dims, const std::vector<T>& data) {
    hid_t s = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    hid_t d = H5Dcreate2(file, name, file_type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(d, 0);
    ASSERT_GE(H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), 0);
    H5Dclose(d);
    H5Sclose(s);
  }
  void features(const std::vector<double>& x, hsize_t m, hsize_t d) {
    write("features", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {m, d}, x);
  }
  void targets(const std::vector<double>& t) { write("targets", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {t.size()}, t); }
  void labels(const std::vector<int>& l) { write("targets", H5T_STD_I32LE, H5T_NATIVE_INT, {l.size()}, l); }
  void owner(const std::vector<int>& o) { write("owner", H5T_STD_I32LE, H5T_NATIVE_INT, {o.size()}, o); }
};

const std::vector<double> kX = {1.0 / 3, -2.5, 1e-300, 4.0, 0.1, -0.0, 7.25, 1e10, -1.0 / 7, 3.0, 2.0, 1.5, 0.0, -9.0, 6.5};

// ---- IDX writing ---------------------------------------------------------------------------------

std::vector<unsigned char> be32(std::uint32_t v) {
  return {static_cast<unsigned char>(v >> 24), static_cast<unsigned char>(v >> 16), static_cast<unsigned char>(v >> 8),
          static_cast<unsigned char>(v)};
}

void write_bytes(const fs::path& p, const std::vector<unsigned char>& bytes, bool gz) {
  if (gz) {
    gzFile f = gzopen(p.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
}

std::vector<unsigned char> idx_images(std::uint32_t m, std::uint32_t rows, std::uint32_t cols,
                                      const std::vector<unsigned char>& pixels, std::uint32_t magic = 0x803) {
  std::vector<unsigned char> out;
  for (auto v : {magic, m, rows, cols}) {
    const auto b = be32(v);
    out.insert(out.end(), b.begin(), b.end());
  }
  out.insert(out.end(), pixels.begin(), pixels.end());
  return out;
}

std::vector<unsigned char> idx_labels(const std::vector<unsigned char>& labels, std::uint32_t magic = 0x801) {
  std::vector<unsigned char> out;
  for (auto v : {magic, static_cast<std::uint32_t>(labels.size())}) {
    const auto b = be32(v);
    out.insert(out.end(), b.begin(), b.end());
  }
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

// ---- partitions ----------------------------------------------------------------------------------

SampleSet classification_set(std::int64_t m, int classes) {
  SampleSet s;
  s.name = "synthetic";
  s.samples = m;
  s.features = 1;
  s.x.assign(static_cast<std::size_t>(m), 0.0);
  s.classes = classes;
  for (std::int64_t i = 0; i < m; ++i) s.labels.push_back(static_cast<int>(i % classes));
  return s;
}

SampleSet regression_set(std::int64_t m) {
  SampleSet s;
  s.name = "synthetic-regression";
  s.samples = m;
  s.features = 1;
  s.x.assign(static_cast<std::size_t>(m), 1.0);
  s.targets.assign(static_cast<std::size_t>(m), 0.5);
  return s;
}

/// Every sample exactly once, every list sorted increasing and non-empty.
void expect_valid_partition(const std::vector<std::vector<std::int64_t>>& p, std::int64_t m, int agents) {
  ASSERT_EQ(static_cast<int>(p.size()), agents);
  std::vector<int> seen(static_cast<std::size_t>(m), 0);
  for (const auto& l : p) {
    EXPECT_FALSE(l.empty());
    EXPECT_TRUE(std::is_sorted(l.begin(), l.end()));
    EXPECT_TRUE(std::adjacent_find(l.begin(), l.end()) == l.end());
    for (auto s : l) {
      ASSERT_GE(s, 0);
      ASSERT_LT(s, m);
      ++seen[static_cast<std::size_t>(s)];
    }
  }
  for (std::int64_t s = 0; s < m; ++s) EXPECT_EQ(seen[static_cast<std::size_t>(s)], 1) << "sample " << s;
}

/// Mean over agents of the number of classes that make up >= 5% of the agent's samples.
double mean_major_classes(const SampleSet& set, const std::vector<std::vector<std::int64_t>>& p) {
  double total = 0;
  for (const auto& l : p) {
    std::vector<int> count(static_cast<std::size_t>(set.classes), 0);
    for (auto s : l) ++count[static_cast<std::size_t>(set.labels[static_cast<std::size_t>(s)])];
    for (int c : count)
      if (c >= 0.05 * static_cast<double>(l.size())) total += 1;
  }
  return total / static_cast<double>(p.size());
}

}  // namespace

// ==================================================================================================
// HDF5
// ==================================================================================================

TEST(Hdf5Reader, RegressionRoundTripIsExact) {
  const auto p = scratch("regression.h5");
  const std::vector<double> t = {0.5, -1.0 / 3, 1e-20, 42.0, -7.0};
  {
    H5Writer w(p);
    w.features(kX, 5, 3);
    w.targets(t);
  }
  const auto set = read_hdf5(p.string(), Task::regression);
  EXPECT_EQ(set.name, p.string());
  EXPECT_EQ(set.samples, 5);
  EXPECT_EQ(set.features, 3);
  EXPECT_EQ(set.x, kX);
  EXPECT_EQ(set.targets, t);
  EXPECT_EQ(set.task(), Task::regression);
  EXPECT_EQ(set.classes, 0);
  EXPECT_TRUE(set.labels.empty());
  EXPECT_TRUE(set.owner.empty());
  EXPECT_DOUBLE_EQ(set.row(2)[1], kX[7]);
  EXPECT_NO_THROW(set.validate());
}

TEST(Hdf5Reader, ClassificationRoundTripWithAndWithoutOwner) {
  const std::vector<int> labels = {0, 3, 1, 3, 0};
  const auto plain = scratch("classes.h5");
  {
    H5Writer w(plain);
    w.features(kX, 5, 3);
    w.labels(labels);
  }
  const auto set = read_hdf5(plain.string(), Task::classification);
  EXPECT_EQ(set.samples, 5);
  EXPECT_EQ(set.features, 3);
  EXPECT_EQ(set.x, kX);
  EXPECT_EQ(set.labels, labels);
  EXPECT_EQ(set.classes, 4);  // max label + 1
  EXPECT_EQ(set.task(), Task::classification);
  EXPECT_TRUE(set.targets.empty());
  EXPECT_TRUE(set.owner.empty());

  const auto owned = scratch("owned.h5");
  const std::vector<int> owner = {1, 0, 1, 2, 0};
  {
    H5Writer w(owned);
    w.features(kX, 5, 3);
    w.labels(labels);
    w.owner(owner);
  }
  const auto with_owner = read_hdf5(owned.string(), Task::classification);
  EXPECT_EQ(with_owner.labels, labels);
  EXPECT_EQ(with_owner.owner, owner);
  // The owner column drives the partition; the spec is ignored.
  const auto p = partition(with_owner, 3, {PartitionKind::dirichlet, 0.1}, 7);
  EXPECT_EQ(p, (std::vector<std::vector<std::int64_t>>{{1, 4}, {0, 2}, {3}}));

  // Regression data may carry an owner column too.
  const auto reg = scratch("owned_regression.h5");
  {
    H5Writer w(reg);
    w.features(kX, 5, 3);
    w.targets({1, 2, 3, 4, 5});
    w.owner(owner);
  }
  const auto r = read_hdf5(reg.string(), Task::regression);
  EXPECT_EQ(r.owner, owner);
  EXPECT_EQ(r.targets, (std::vector<double>{1, 2, 3, 4, 5}));
}

TEST(Hdf5Reader, LabelsOfOtherIntegerAndFloatTypes) {
  const auto p64 = scratch("labels_i64.h5");
  {
    H5Writer w(p64);
    w.features(kX, 5, 3);
    w.write<long long>("targets", H5T_STD_I64BE, H5T_NATIVE_LLONG, {5}, {2, 0, 1, 1, 2});
  }
  EXPECT_EQ(read_hdf5(p64.string(), Task::classification).labels, (std::vector<int>{2, 0, 1, 1, 2}));

  const auto pu8 = scratch("labels_u8.h5");
  {
    H5Writer w(pu8);
    w.features(kX, 5, 3);
    w.write<unsigned char>("targets", H5T_STD_U8LE, H5T_NATIVE_UCHAR, {5}, {9, 0, 1, 1, 2});
  }
  const auto u8 = read_hdf5(pu8.string(), Task::classification);
  EXPECT_EQ(u8.labels, (std::vector<int>{9, 0, 1, 1, 2}));
  EXPECT_EQ(u8.classes, 10);

  const auto pf = scratch("labels_float.h5");
  {
    H5Writer w(pf);
    w.features(kX, 5, 3);
    w.targets({1.0, 0.0, 2.0, 2.0, 0.0});
  }
  EXPECT_EQ(read_hdf5(pf.string(), Task::classification).labels, (std::vector<int>{1, 0, 2, 2, 0}));

  // Integer targets are fine for regression too.
  EXPECT_EQ(read_hdf5(p64.string(), Task::regression).targets, (std::vector<double>{2, 0, 1, 1, 2}));
}

TEST(Hdf5Reader, BadInputsNameTheFileAndTheProblem) {
  const auto missing = scratch("does_not_exist.h5").string();
  auto e = error_of([&] { read_hdf5(missing, Task::regression); });
  EXPECT_CONTAINS(e, missing);
  EXPECT_CONTAINS(e, "no such file");

  const auto text = scratch("text.h5");
  write_text(text, "not hdf5\n");
  e = error_of([&] { read_hdf5(text.string(), Task::regression); });
  EXPECT_CONTAINS(e, text.string());
  EXPECT_CONTAINS(e, "not an HDF5 file");

  const auto no_features = scratch("no_features.h5");
  {
    H5Writer w(no_features);
    w.targets({1, 2, 3});
  }
  e = error_of([&] { read_hdf5(no_features.string(), Task::regression); });
  EXPECT_CONTAINS(e, no_features.string());
  EXPECT_CONTAINS(e, "no dataset /features");

  const auto no_targets = scratch("no_targets.h5");
  {
    H5Writer w(no_targets);
    w.features(kX, 5, 3);
  }
  e = error_of([&] { read_hdf5(no_targets.string(), Task::regression); });
  EXPECT_CONTAINS(e, "no dataset /targets");

  const auto mismatch = scratch("mismatch.h5");
  {
    H5Writer w(mismatch);
    w.features(kX, 5, 3);
    w.targets({1, 2, 3, 4});
  }
  e = error_of([&] { read_hdf5(mismatch.string(), Task::regression); });
  EXPECT_CONTAINS(e, mismatch.string());
  EXPECT_CONTAINS(e, "shape 5 x 3 but /targets has 4 rows");

  const auto flat = scratch("flat.h5");
  {
    H5Writer w(flat);
    w.write<double>("features", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {15}, kX);
    w.targets({1, 2, 3, 4, 5});
  }
  e = error_of([&] { read_hdf5(flat.string(), Task::regression); });
  EXPECT_CONTAINS(e, flat.string());
  EXPECT_CONTAINS(e, "expected a 2-D array");

  const auto owner_short = scratch("owner_short.h5");
  {
    H5Writer w(owner_short);
    w.features(kX, 5, 3);
    w.targets({1, 2, 3, 4, 5});
    w.owner({0, 1});
  }
  e = error_of([&] { read_hdf5(owner_short.string(), Task::regression); });
  EXPECT_CONTAINS(e, owner_short.string());
  EXPECT_CONTAINS(e, "/owner has 2 rows");
}

TEST(Hdf5Reader, NonFiniteValuesNameTheSample) {
  auto x = kX;
  x[3 * 3 + 1] = std::numeric_limits<double>::quiet_NaN();  // sample 3, column 1
  const auto nan_x = scratch("nan_features.h5");
  {
    H5Writer w(nan_x);
    w.features(x, 5, 3);
    w.targets({1, 2, 3, 4, 5});
  }
  auto e = error_of([&] { read_hdf5(nan_x.string(), Task::regression); });
  EXPECT_CONTAINS(e, nan_x.string());
  EXPECT_CONTAINS(e, "sample 3");
  EXPECT_CONTAINS(e, "non-finite");

  const auto inf_t = scratch("inf_targets.h5");
  {
    H5Writer w(inf_t);
    w.features(kX, 5, 3);
    w.targets({1, 2, -std::numeric_limits<double>::infinity(), 4, std::numeric_limits<double>::quiet_NaN()});
  }
  e = error_of([&] { read_hdf5(inf_t.string(), Task::regression); });
  EXPECT_CONTAINS(e, inf_t.string());
  EXPECT_CONTAINS(e, "sample 2");
  EXPECT_CONTAINS(e, "non-finite target");
}

TEST(Hdf5Reader, BadClassLabelsRejected) {
  const auto negative = scratch("negative_label.h5");
  {
    H5Writer w(negative);
    w.features(kX, 5, 3);
    w.labels({0, 1, -1, 1, 0});
  }
  auto e = error_of([&] { read_hdf5(negative.string(), Task::classification); });
  EXPECT_CONTAINS(e, negative.string());
  EXPECT_CONTAINS(e, "entry 2 is -1");
  EXPECT_CONTAINS(e, ">= 0");

  const auto fractional = scratch("fractional_label.h5");
  {
    H5Writer w(fractional);
    w.features(kX, 5, 3);
    w.targets({0, 1, 1, 1.5, 0});
  }
  e = error_of([&] { read_hdf5(fractional.string(), Task::classification); });
  EXPECT_CONTAINS(e, fractional.string());
  EXPECT_CONTAINS(e, "entry 3 is 1.5, not an integer");

  const auto nan_label = scratch("nan_label.h5");
  {
    H5Writer w(nan_label);
    w.features(kX, 5, 3);
    w.targets({0, std::numeric_limits<double>::quiet_NaN(), 1, 1, 0});
  }
  e = error_of([&] { read_hdf5(nan_label.string(), Task::classification); });
  EXPECT_CONTAINS(e, "entry 1 is nan");

  const auto huge = scratch("huge_label.h5");
  {
    H5Writer w(huge);
    w.features(kX, 5, 3);
    w.write<long long>("targets", H5T_STD_I64LE, H5T_NATIVE_LLONG, {5}, {0, 1, 1LL << 40, 1, 0});
  }
  e = error_of([&] { read_hdf5(huge.string(), Task::classification); });
  EXPECT_CONTAINS(e, "entry 2 is 1099511627776");

  const auto negative_owner = scratch("negative_owner.h5");
  {
    H5Writer w(negative_owner);
    w.features(kX, 5, 3);
    w.targets({1, 2, 3, 4, 5});
    w.owner({0, 1, 0, -3, 1});
  }
  e = error_of([&] { read_hdf5(negative_owner.string(), Task::regression); });
  EXPECT_CONTAINS(e, "/owner");
  EXPECT_CONTAINS(e, "entry 3 is -3");
}

// ==================================================================================================
// LIBSVM
// ==================================================================================================

TEST(LibsvmReader, SparseBinaryWithCommentsAndBlankLines) {
  const auto p = scratch("binary.svm");
  write_text(p,
             "# a comment line\n"
             "+1 1:0.5 3:-2   # trailing comment\n"
             "\n"
             "   \t\n"
             "-1 2:1.25\n"
             "+1 qid:3 1:1e-3 4:7\r\n");
  const auto set = read_libsvm(p.string(), Task::classification);
  EXPECT_EQ(set.name, p.string());
  EXPECT_EQ(set.samples, 3);
  EXPECT_EQ(set.features, 4);  // the largest index seen
  EXPECT_EQ(set.classes, 2);
  EXPECT_EQ(set.labels, (std::vector<int>{1, 0, 1}));
  EXPECT_EQ(set.x, (std::vector<double>{0.5, 0, -2, 0, 0, 1.25, 0, 0, 1e-3, 0, 0, 7}));

  const auto wide = read_libsvm(p.string(), Task::classification, 6);
  EXPECT_EQ(wide.features, 6);
  EXPECT_EQ(wide.x.size(), 18u);
  EXPECT_EQ(wide.row(1)[1], 1.25);
  EXPECT_EQ(wide.row(2)[3], 7.0);

  // Only +1 present: still classes {0, 1}, +1 -> 1.
  const auto pos = scratch("positive.svm");
  write_text(pos, "+1 1:1\n1 2:1\n");
  const auto only_pos = read_libsvm(pos.string(), Task::classification);
  EXPECT_EQ(only_pos.labels, (std::vector<int>{1, 1}));
  EXPECT_EQ(only_pos.classes, 2);

  const auto zero_one = scratch("zero_one.svm");
  write_text(zero_one, "0 1:1\n1 1:2\n0 1:3\n");
  EXPECT_EQ(read_libsvm(zero_one.string(), Task::classification).labels, (std::vector<int>{0, 1, 0}));
}

TEST(LibsvmReader, MulticlassLabelsMappedInIncreasingOrder) {
  const auto p = scratch("multi.svm");
  write_text(p, "7 1:1\n3 2:1\n5 1:2\n7.0 2:2\n-4 1:0\n");
  const auto set = read_libsvm(p.string(), Task::classification);
  EXPECT_EQ(set.classes, 4);
  EXPECT_EQ(set.labels, (std::vector<int>{3, 1, 2, 3, 0}));

  const auto reg = read_libsvm(p.string(), Task::regression);
  EXPECT_EQ(reg.classes, 0);
  EXPECT_EQ(reg.targets, (std::vector<double>{7, 3, 5, 7, -4}));

  const auto r2 = scratch("regression.svm");
  write_text(r2, "2.5 1:1\n-0.125 3:4\n");
  const auto reg2 = read_libsvm(r2.string(), Task::regression);
  EXPECT_EQ(reg2.targets, (std::vector<double>{2.5, -0.125}));
  EXPECT_EQ(reg2.features, 3);
}

TEST(LibsvmReader, MalformedLinesGiveTheLineNumber) {
  struct Case {
    std::string text, fact;
    Task task = Task::classification;
    int features = 0;
  };
  const std::vector<Case> cases = {
      {"1 1:0.5\n# comment\n1 2:x\n", "line 3: value 'x' of feature 2 is not a finite number"},
      {"1 3:1 2:1\n", "line 1: feature index 2 follows index 3"},
      {"1 1:1\n1 0:1\n", "line 2: feature index '0'"},
      {"1 1:1\n\n1 2\n", "line 3: '2' is not an 'index:value' pair"},
      {"abc 1:1\n", "line 1: label 'abc' is not a finite number"},
      {"1 1:1\n1.5 1:1\n", "line 2: label '1.5' is not an integer"},
      {"1 1:1\n1 5:1\n", "line 2: feature index 5 exceeds the number of features, 4", Task::classification, 4},
      {"1 1:nan\n", "line 1: value 'nan' of feature 1 is not a finite number", Task::regression},
      {"# only a comment\n\n", "no samples"},
  };
  int k = 0;
  for (const auto& c : cases) {
    const auto p = scratch("bad" + std::to_string(k++) + ".svm");
    write_text(p, c.text);
    const auto e = error_of([&] { read_libsvm(p.string(), c.task, c.features); });
    EXPECT_CONTAINS(e, p.string());
    EXPECT_CONTAINS(e, c.fact);
  }
  const auto missing = scratch("missing.svm").string();
  const auto e = error_of([&] { read_libsvm(missing, Task::regression); });
  EXPECT_CONTAINS(e, missing);
  EXPECT_CONTAINS(e, "no such file");
}

// ==================================================================================================
// IDX
// ==================================================================================================

TEST(IdxReader, GzippedAndRawFilesReadBack) {
  const std::uint32_t m = 3, rows = 2, cols = 3;
  const std::vector<unsigned char> pixels = {0, 255, 128, 1, 2, 3, 10, 20, 30, 40, 50, 60, 255, 254, 0, 0, 7, 9};
  const std::vector<unsigned char> labels = {9, 0, 4};
  for (bool gz : {true, false}) {
    const auto img = scratch(gz ? "img.idx3.gz" : "img.idx3");
    const auto lab = scratch(gz ? "lab.idx1.gz" : "lab.idx1");
    write_bytes(img, idx_images(m, rows, cols, pixels), gz);
    write_bytes(lab, idx_labels(labels), gz);
    const auto set = read_idx(img.string(), lab.string());
    EXPECT_EQ(set.samples, 3);
    EXPECT_EQ(set.features, 6);
    EXPECT_EQ(set.classes, 10);
    EXPECT_EQ(set.labels, (std::vector<int>{9, 0, 4}));
    ASSERT_EQ(set.x.size(), pixels.size());
    for (std::size_t i = 0; i < pixels.size(); ++i) EXPECT_EQ(set.x[i], pixels[i] / 255.0) << i;
    EXPECT_EQ(set.x[1], 1.0);
    EXPECT_EQ(set.x[0], 0.0);
    EXPECT_NO_THROW(set.validate());
  }
}

TEST(IdxReader, BadFilesRejected) {
  const std::vector<unsigned char> pixels(2 * 2 * 2, 5);
  const auto img = scratch("ok.idx3.gz");
  const auto lab = scratch("ok.idx1.gz");
  write_bytes(img, idx_images(2, 2, 2, pixels), true);
  write_bytes(lab, idx_labels({1, 2}), true);
  ASSERT_NO_THROW(read_idx(img.string(), lab.string()));

  // Swapped files: wrong magic numbers.
  auto e = error_of([&] { read_idx(lab.string(), img.string()); });
  EXPECT_CONTAINS(e, lab.string());
  EXPECT_CONTAINS(e, "magic number 0x00000801");
  EXPECT_CONTAINS(e, "0x00000803");

  const auto lab3 = scratch("three.idx1");
  write_bytes(lab3, idx_labels({1, 2, 3}), false);
  e = error_of([&] { read_idx(img.string(), lab3.string()); });
  EXPECT_CONTAINS(e, lab3.string());
  EXPECT_CONTAINS(e, "3 labels");
  EXPECT_CONTAINS(e, "2 images");

  const auto big = scratch("big_label.idx1");
  write_bytes(big, idx_labels({1, 12}), false);
  e = error_of([&] { read_idx(img.string(), big.string()); });
  EXPECT_CONTAINS(e, big.string());
  EXPECT_CONTAINS(e, "sample 1 has label 12");
  EXPECT_CONTAINS(e, "0..9");
  EXPECT_NO_THROW(read_idx(img.string(), big.string(), 13));

  auto truncated_bytes = idx_images(2, 2, 2, pixels);
  truncated_bytes.resize(truncated_bytes.size() - 3);
  const auto truncated = scratch("truncated.idx3.gz");
  write_bytes(truncated, truncated_bytes, true);
  e = error_of([&] { read_idx(truncated.string(), lab.string()); });
  EXPECT_CONTAINS(e, truncated.string());
  EXPECT_CONTAINS(e, "ends after 5 of the 8 bytes");

  const auto missing = scratch("missing.idx3.gz").string();
  e = error_of([&] { read_idx(missing, lab.string()); });
  EXPECT_CONTAINS(e, missing);
  EXPECT_CONTAINS(e, "no such file");
}

// ==================================================================================================
// Hostile input: corrupt and lying files are refused with one line, before any large allocation
// ==================================================================================================

namespace {

std::vector<unsigned char> file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_raw(const fs::path& p, const std::vector<unsigned char>& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

/// The InputError of `f` (or "(no error)"), with whatever it wrote on stderr (fd 2) meanwhile.
struct Outcome {
  std::string error, stderr_text;
};
Outcome outcome_of(const std::function<void()>& f) {
  const auto capture = scratch("stderr.txt");
  std::fflush(stderr);
  const int saved = ::dup(2);
  const int fd = ::open(capture.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ::dup2(fd, 2);
  ::close(fd);
  Outcome out;
  out.error = error_of(f);
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::ifstream in(capture);
  out.stderr_text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return out;
}

#define EXPECT_ONE_LINE(text) EXPECT_EQ((text).find('\n'), std::string::npos) << "message: " << (text)

/// A valid gzip'd IDX pair (3 images of 2 x 2) for the corruption tests.
struct IdxPair {
  fs::path images, labels;
  std::vector<unsigned char> raw_images, raw_labels;
};
IdxPair idx_pair(const std::string& stem) {
  IdxPair p{scratch(stem + "-images.gz"), scratch(stem + "-labels.gz"),
            idx_images(3, 2, 2, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}), idx_labels({1, 0, 2})};
  write_bytes(p.images, p.raw_images, true);
  write_bytes(p.labels, p.raw_labels, true);
  return p;
}

}  // namespace

TEST(IdxReader, GzipStreamIsReadToItsVerifiedEnd) {
  const auto ok = idx_pair("ok");
  ASSERT_NO_THROW(read_idx(ok.images.string(), ok.labels.string()));
  const auto good = file_bytes(ok.images);
  ASSERT_GT(good.size(), 8u);

  struct Case {
    std::string name;
    std::function<void(std::vector<unsigned char>&)> damage;
    std::string fact;
  };
  const std::vector<Case> cases = {
      {"crc", [](auto& b) { b[b.size() - 8] ^= 0xff; }, "incorrect data check"},
      {"isize", [](auto& b) { b[b.size() - 4] ^= 0x01; }, "incorrect length check"},
      {"trailer_cut", [](auto& b) { b.resize(b.size() - 3); }, "the gzip stream ends early"},
      {"garbage", [](auto& b) { b.insert(b.end(), {'j', 'u', 'n', 'k'}); }, "bytes follow the end of the gzip stream"},
  };
  for (const auto& c : cases) {
    auto bytes = good;
    c.damage(bytes);
    const auto images = scratch("damaged-" + c.name + "-images.gz");
    write_raw(images, bytes);
    const auto e = error_of([&] { read_idx(images.string(), ok.labels.string()); });
    EXPECT_CONTAINS(e, images.string());
    EXPECT_CONTAINS(e, c.fact);
    EXPECT_ONE_LINE(e);
    // The same damage in the label file.
    auto lbytes = file_bytes(ok.labels);
    c.damage(lbytes);
    const auto labels = scratch("damaged-" + c.name + "-labels.gz");
    write_raw(labels, lbytes);
    const auto le = error_of([&] { read_idx(ok.images.string(), labels.string()); });
    EXPECT_CONTAINS(le, labels.string());
    EXPECT_CONTAINS(le, c.fact);
  }

  // A gzip file of several members (cat a.gz b.gz) is one stream of data.
  const auto head = scratch("member1.gz"), tail = scratch("member2.gz");
  write_bytes(head, {ok.raw_images.begin(), ok.raw_images.begin() + 16}, true);
  write_bytes(tail, {ok.raw_images.begin() + 16, ok.raw_images.end()}, true);
  auto joined = file_bytes(head);
  const auto second = file_bytes(tail);
  joined.insert(joined.end(), second.begin(), second.end());
  const auto members = scratch("members-images.gz");
  write_raw(members, joined);
  const auto set = read_idx(members.string(), ok.labels.string());
  EXPECT_EQ(set.samples, 3);
  EXPECT_EQ(set.x[11], 11 / 255.0);

  // More data than the header declares: refused, compressed or plain.
  auto longer = ok.raw_images;
  longer.push_back(7);
  const auto long_gz = scratch("long-images.gz"), long_plain = scratch("long-images.idx3");
  write_bytes(long_gz, longer, true);
  write_bytes(long_plain, longer, false);
  for (const auto& p : {long_gz, long_plain}) {
    const auto e = error_of([&] { read_idx(p.string(), ok.labels.string()); });
    EXPECT_CONTAINS(e, p.string());
    EXPECT_CONTAINS(e, "trailing data");
  }
}

TEST(IdxReader, DeclaredCountsAreCheckedBeforeAllocating) {
  const auto ok = idx_pair("counts");
  // 0xFFFFFFFF images of 28 x 28: 3.3 TB declared by a file of a few bytes.
  const auto huge = idx_images(0xFFFFFFFFu, 28, 28, {1, 2, 3, 4});
  const auto plain = scratch("huge-images.idx3"), gz = scratch("huge-images.gz");
  write_bytes(plain, huge, false);
  write_bytes(gz, huge, true);
  auto e = error_of([&] { read_idx(plain.string(), ok.labels.string()); });
  EXPECT_CONTAINS(e, plain.string());
  EXPECT_CONTAINS(e, "declares 4294967295 images of 28 x 28 pixels");
  EXPECT_CONTAINS(e, "the file has only 20 bytes");
  e = error_of([&] { read_idx(gz.string(), ok.labels.string()); });
  EXPECT_CONTAINS(e, gz.string());
  EXPECT_CONTAINS(e, "declares 4294967295 images of 28 x 28 pixels");
  EXPECT_CONTAINS(e, "inflates to at most");

  // A label file that announces 0xFFFFFFFF labels.
  const auto lab = scratch("huge-labels.idx1");
  auto labels = idx_labels({1, 0, 2});
  labels[4] = labels[5] = labels[6] = labels[7] = 0xff;
  write_bytes(lab, labels, false);
  e = error_of([&] { read_idx(ok.images.string(), lab.string()); });
  EXPECT_CONTAINS(e, lab.string());
  EXPECT_CONTAINS(e, "4294967295 labels");

  // A plausible count whose data is missing from a gzip file: refused as truncated, having
  // allocated only what arrived.
  const auto short_gz = scratch("short-images.gz"), labels50 = scratch("labels50.gz");
  write_bytes(short_gz, idx_images(50, 2, 2, std::vector<unsigned char>(8, 1)), true);
  write_bytes(labels50, idx_labels(std::vector<unsigned char>(50, 1)), true);
  e = error_of([&] { read_idx(short_gz.string(), labels50.string()); });
  EXPECT_CONTAINS(e, short_gz.string());
  EXPECT_CONTAINS(e, "ends after 8 of the 200 bytes of the pixels");
}

TEST(Hdf5Reader, DeclaredExtentMustBeStoredInTheFile) {
  // A chunked dataset of 1e9 x 1000 float64 with no chunk written: a few KB on disk.
  const auto unwritten = scratch("unwritten.h5");
  {
    H5Writer w(unwritten);
    const hsize_t dims[2] = {1000000000, 1000}, chunk[2] = {1, 1000};
    hid_t space = H5Screate_simple(2, dims, nullptr);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    hid_t d = H5Dcreate2(w.file, "features", H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ASSERT_GE(d, 0);
    H5Dclose(d);
    hid_t tspace = H5Screate_simple(1, dims, nullptr);
    H5Pset_chunk(dcpl, 1, chunk);
    d = H5Dcreate2(w.file, "targets", H5T_IEEE_F64LE, tspace, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ASSERT_GE(d, 0);
    H5Dclose(d);
    H5Sclose(tspace);
    H5Pclose(dcpl);
    H5Sclose(space);
  }
  ASSERT_LT(fs::file_size(unwritten), 100000u);
  auto e = error_of([&] { read_hdf5(unwritten.string(), Task::regression); });
  EXPECT_CONTAINS(e, unwritten.string());
  EXPECT_CONTAINS(e, "/features declares 1000000000 x 1000 values of 8 bytes");
  EXPECT_CONTAINS(e, "stores only 0 bytes");
  EXPECT_ONE_LINE(e);

  // A contiguous dataset whose space was never allocated (fill values only).
  const auto never = scratch("never_written.h5");
  {
    H5Writer w(never);
    const hsize_t dims[2] = {5, 3};
    hid_t space = H5Screate_simple(2, dims, nullptr);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE);
    hid_t d = H5Dcreate2(w.file, "features", H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ASSERT_GE(d, 0);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
    w.targets({1, 2, 3, 4, 5});
  }
  e = error_of([&] { read_hdf5(never.string(), Task::regression); });
  EXPECT_CONTAINS(e, never.string());
  EXPECT_CONTAINS(e, "/features declares 5 x 3 values");
  EXPECT_CONTAINS(e, "never written");

  // Deflate-compressed data reads back exactly; a deflated dataset holding one row of a
  // declared million is refused (no deflate stream reaches that ratio).
  const auto deflated = scratch("deflated.h5");
  const auto sparse = scratch("deflated_sparse.h5");
  for (const auto& p : {deflated, sparse}) {
    H5Writer w(p);
    const bool full = p == deflated;
    const hsize_t dims[2] = {full ? hsize_t{5} : hsize_t{1000000}, 3}, chunk[2] = {1, 3};
    hid_t space = H5Screate_simple(2, dims, nullptr);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, 6);
    hid_t d = H5Dcreate2(w.file, "features", H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ASSERT_GE(d, 0);
    const hsize_t start[2] = {0, 0}, count[2] = {5, 3};
    hid_t file_space = H5Dget_space(d);
    H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, count, nullptr);
    hid_t memory = H5Screate_simple(2, count, nullptr);
    ASSERT_GE(H5Dwrite(d, H5T_NATIVE_DOUBLE, memory, file_space, H5P_DEFAULT, kX.data()), 0);
    H5Sclose(memory);
    H5Sclose(file_space);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
    if (full) w.targets({1, 2, 3, 4, 5});
    else w.write<double>("targets", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {1000000}, std::vector<double>(1000000, 1.0));
  }
  EXPECT_EQ(read_hdf5(deflated.string(), Task::regression).x, kX);
  e = error_of([&] { read_hdf5(sparse.string(), Task::regression); });
  EXPECT_CONTAINS(e, sparse.string());
  EXPECT_CONTAINS(e, "/features declares 1000000 x 3 values");
  EXPECT_CONTAINS(e, "in 1000000 chunks but the file stores 5 of them");

  // A truncated file: the data lies beyond its end.
  const auto whole = scratch("whole.h5");
  {
    H5Writer w(whole);
    w.features(std::vector<double>(3000, 0.5), 1000, 3);
    w.targets(std::vector<double>(1000, 1.0));
  }
  auto bytes = file_bytes(whole);
  bytes.resize(bytes.size() - 4000);
  const auto cut = scratch("cut.h5");
  write_raw(cut, bytes);
  e = error_of([&] { read_hdf5(cut.string(), Task::regression); });
  EXPECT_CONTAINS(e, cut.string());
  EXPECT_ONE_LINE(e);
  EXPECT_NE(e, "(no error)");
}

TEST(Hdf5Reader, OnlyFiltersOfBoundedRatioAreAccepted) {
  // Scale-offset can shrink a chunk to a few bytes whatever its size: the storage would not bound
  // the declared extent: datasets with such filters are refused.
  const auto p = scratch("scaleoffset.h5");
  {
    H5Writer w(p);
    const hsize_t dims[2] = {4, 3}, chunk[2] = {1, 3};
    hid_t space = H5Screate_simple(2, dims, nullptr);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    H5Pset_scaleoffset(dcpl, H5Z_SO_INT, H5Z_SO_INT_MINBITS_DEFAULT);
    hid_t d = H5Dcreate2(w.file, "features", H5T_STD_I32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ASSERT_GE(d, 0);
    const std::vector<int> values(12, 3);
    ASSERT_GE(H5Dwrite(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
    w.labels({0, 1, 1, 0});
  }
  const auto e = error_of([&] { read_hdf5(p.string(), Task::classification); });
  EXPECT_CONTAINS(e, p.string());
  EXPECT_CONTAINS(e, "/features uses HDF5 filter 6 ('scaleoffset')");
  EXPECT_CONTAINS(e, "allowed: deflate (gzip), shuffle and fletcher32");
  EXPECT_ONE_LINE(e);
}

TEST(LibsvmReader, MemoryLimitFollowsTheProcessLimits) {
  // 1 sample x 600,000,000 features: 4.5 GiB dense. Under a data limit of 8 GiB (half of it
  // allowed) it is refused before allocating; the machine's own limit is reported.
  const auto p = scratch("wide.svm");
  write_text(p, "1 600000000:1\n");
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_DATA, &saved), 0);
  struct rlimit lowered = saved;
  lowered.rlim_cur = std::uint64_t{8} << 30;
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < lowered.rlim_cur) GTEST_SKIP() << "hard data limit below 8 GiB";
  ASSERT_EQ(::setrlimit(RLIMIT_DATA, &lowered), 0);
  const std::uint64_t limit = data_memory_limit();
  const auto e = error_of([&] { read_libsvm(p.string(), Task::regression); });
  ASSERT_EQ(::setrlimit(RLIMIT_DATA, &saved), 0);
  EXPECT_LE(limit, std::uint64_t{4} << 30);
  EXPECT_CONTAINS(e, p.string());
  EXPECT_CONTAINS(e, "1 samples x 600000000 features (the largest feature index, line 1) would need 4.5 GiB of memory");
  EXPECT_CONTAINS(e, "allowed");
  EXPECT_GT(data_memory_limit(), std::uint64_t{1} << 26);
}

TEST(Hdf5Reader, ClassLabelsAreCapped) {
  const auto huge = scratch("label_1e9.h5");
  {
    H5Writer w(huge);
    w.features(kX, 5, 3);
    w.labels({0, 1, 1000000000, 1, 0});
  }
  auto e = error_of([&] { read_hdf5(huge.string(), Task::classification); });
  EXPECT_CONTAINS(e, huge.string());
  EXPECT_CONTAINS(e, "/targets: entry 2 is 1000000000");
  EXPECT_CONTAINS(e, "at most 100000 classes");

  const auto top = scratch("label_max.h5");
  {
    H5Writer w(top);
    w.features(kX, 5, 3);
    w.labels({0, 1, max_classes - 1, 1, 0});
  }
  EXPECT_EQ(read_hdf5(top.string(), Task::classification).classes, max_classes);
}

TEST(Hdf5Reader, ErrorsCloseEveryObjectAndPrintOneLine) {
  const auto good = scratch("closing_good.h5");
  {
    H5Writer w(good);
    w.features(kX, 5, 3);
    w.labels({0, 1, 2, 1, 0});
  }
  auto bytes = file_bytes(good);
  std::vector<fs::path> bad;
  // Not HDF5; truncated; header bytes damaged; a dataset of the wrong type; NaN; labels < 0.
  bad.push_back(scratch("closing_text.h5"));
  write_text(bad.back(), "plain text\n");
  bad.push_back(scratch("closing_cut.h5"));
  write_raw(bad.back(), {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 2)});
  for (std::size_t at : {std::size_t{40}, std::size_t{100}, std::size_t{200}, std::size_t{400}, std::size_t{800}}) {
    auto damaged = bytes;
    for (std::size_t i = at; i < std::min(damaged.size(), at + 8); ++i) damaged[i] = 0xff;
    bad.push_back(scratch("closing_damaged" + std::to_string(at) + ".h5"));
    write_raw(bad.back(), damaged);
  }
  bad.push_back(scratch("closing_string.h5"));
  {
    H5Writer w(bad.back());
    w.features(kX, 5, 3);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, 4);
    w.write<char>("targets", type, type, {5}, std::vector<char>(20, 'a'));
    H5Tclose(type);
  }
  bad.push_back(scratch("closing_negative.h5"));
  {
    H5Writer w(bad.back());
    w.features(kX, 5, 3);
    w.labels({0, -1, 2, 1, 0});
  }
  int refused = 0;
  for (const auto& p : bad) {
    ASSERT_EQ(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
    const auto o = outcome_of([&] { read_hdf5(p.string(), Task::classification); });
    EXPECT_EQ(o.stderr_text, "") << p;
    EXPECT_ONE_LINE(o.error);
    if (o.error != "(no error)") {
      ++refused;
      EXPECT_CONTAINS(o.error, p.string());
    }
    EXPECT_EQ(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0) << "objects left open after reading " << p;
  }
  EXPECT_GE(refused, 5);
  // The reader leaves HDF5's own error reporting as it found it.
  H5E_auto2_t function = nullptr;
  void* data = nullptr;
  H5Eget_auto2(H5E_DEFAULT, &function, &data);
  EXPECT_NE(function, nullptr);
}

TEST(Hdf5Reader, FilesThatCrashTheHdf5LibraryAreRefused) {
  // Corrupt files found by fuzz_readers on which HDF5 1.10 divides by zero (a chunk dimension of
  // 0), smashes its stack (an integer type of impossible precision) or reads out of bounds.
  const auto dir = fs::path(__FILE__).parent_path().parent_path() / "fuzz" / "corpus" / "readers" / "crashers";
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  int seen = 0;
  for (const char* name : {"divide-by-zero.h5", "stack-smash.h5", "out-of-bounds.h5"}) {
    const auto p = dir / name;
    for (Task task : {Task::classification, Task::regression}) {
      const auto o = outcome_of([&] { read_hdf5(p.string(), task); });
      EXPECT_CONTAINS(o.error, p.string());
      EXPECT_ONE_LINE(o.error);
      EXPECT_EQ(o.stderr_text, "") << p;
      if (o.error.find("corrupt HDF5 file: the HDF5 library stopped with signal") != std::string::npos) ++seen;
    }
  }
  EXPECT_GE(seen, 3);
}

TEST(LibsvmReader, DeclaredSizesAreCheckedBeforeAllocating) {
  // Index 2^31 - 1 on 300 lines: 300 x 2147483647 float64 values (4.7 TiB) dense.
  const auto p = scratch("huge_index.svm");
  {
    std::ofstream out(p);
    out << "1 1:0.5\n";
    for (int i = 0; i < 300; ++i) out << "-1 2147483647:1\n";
  }
  auto e = error_of([&] { read_libsvm(p.string(), Task::classification); });
  EXPECT_CONTAINS(e, p.string());
  EXPECT_CONTAINS(e, "301 samples x 2147483647 features (the largest feature index, line 2) would need");
  EXPECT_ONE_LINE(e);

  // More distinct class labels than classes allowed.
  const auto many = scratch("many_labels.svm");
  {
    std::ofstream out(many);
    for (int i = 0; i <= max_classes; ++i) out << i << " 1:1\n";
  }
  e = error_of([&] { read_libsvm(many.string(), Task::classification); });
  EXPECT_CONTAINS(e, many.string());
  EXPECT_CONTAINS(e, "100001 distinct class labels; at most 100000");
  // As regression targets they are fine; a label of 1e9 is one class among two.
  EXPECT_EQ(read_libsvm(many.string(), Task::regression).samples, max_classes + 1);
  const auto big = scratch("big_label.svm");
  write_text(big, "1000000000 1:1\n3 1:2\n");
  EXPECT_EQ(read_libsvm(big.string(), Task::classification).labels, (std::vector<int>{1, 0}));
}

TEST(LibsvmReader, MoreMalformedLinesNameFileAndLine) {
  struct Case {
    std::string text, fact;
    Task task = Task::classification;
  };
  const std::vector<Case> cases = {
      {"1 1:1\n1 -3:1\n", "line 2: feature index '-3' in '-3:1' is not an integer >= 1"},
      {"1 1:1e400\n", "line 1: value '1e400' of feature 1 is not a finite number"},
      {"1 2:inf\n", "line 1: value 'inf' of feature 2 is not a finite number"},
      {"nan 1:1\n", "line 1: label 'nan' is not a finite number", Task::regression},
      {"1 1:1 1:2\n", "line 1: feature index 1 follows index 1"},
      {"1 1:0x10\n", "line 1: value '0x10' of feature 1"},
      {"1 1:\n", "line 1: value '' of feature 1"},
      {"1 :5\n", "line 1: feature index '' in ':5'"},
      {"1 qid:x 1:1\n", "line 1: query id 'x' is not an integer >= 0"},
      {"1 1:1 qid:2\n", "line 1: 'qid:2' follows a feature"},
      {"1 1:1\n\x01\x7f 1:1\n", "line 2: label '\\x01\\x7f' is not a finite number"},
      {"1 2147483648:1\n", "line 1: feature index 2147483648 is too large"},
      {"1 99999999999999999999:1\n", "line 1: feature index '99999999999999999999'"},
  };
  int k = 0;
  for (const auto& c : cases) {
    const auto p = scratch("malformed" + std::to_string(k++) + ".svm");
    write_text(p, c.text);
    const auto e = error_of([&] { read_libsvm(p.string(), c.task); });
    EXPECT_CONTAINS(e, p.string());
    EXPECT_CONTAINS(e, c.fact);
    EXPECT_ONE_LINE(e);
  }
}

// ==================================================================================================
// Fashion-MNIST
// ==================================================================================================

TEST(FashionMnist, TrainAndTestSplits) {
  if (!fs::is_directory("/usr/share/datasets/fashion-mnist"))
    GTEST_SKIP() << "/usr/share/datasets/fashion-mnist missing (Debian package dataset-fashion-mnist)";
  {
    const auto train = read_fashion_mnist("train");
    EXPECT_EQ(train.samples, 60000);
    EXPECT_EQ(train.features, 784);
    EXPECT_EQ(train.classes, 10);
    ASSERT_EQ(train.labels.size(), 60000u);
    std::vector<int> per_class(10, 0);
    for (int l : train.labels) {
      ASSERT_GE(l, 0);
      ASSERT_LT(l, 10);
      ++per_class[static_cast<std::size_t>(l)];
    }
    for (int c = 0; c < 10; ++c) EXPECT_EQ(per_class[static_cast<std::size_t>(c)], 6000) << "class " << c;
    const auto [lo, hi] = std::minmax_element(train.x.begin(), train.x.end());
    EXPECT_EQ(*lo, 0.0);
    EXPECT_EQ(*hi, 1.0);
    EXPECT_NO_THROW(train.validate());
  }
  const auto test = read_fashion_mnist("test", "/usr/share/datasets/fashion-mnist");
  EXPECT_EQ(test.samples, 10000);
  EXPECT_EQ(test.features, 784);
  EXPECT_EQ(test.name, "fashion-mnist/test");
  for (int l : test.labels) ASSERT_TRUE(l >= 0 && l < 10);
  for (double v : test.x) ASSERT_TRUE(v >= 0.0 && v <= 1.0);
}

TEST(FashionMnist, MissingDirectoryAndUnknownSplit) {
  const auto nowhere = scratch("no_fashion_here").string();
  auto e = error_of([&] { read_fashion_mnist("train", nowhere); });
  EXPECT_CONTAINS(e, nowhere);
  EXPECT_CONTAINS(e, "dataset-fashion-mnist");
  EXPECT_CONTAINS(e, "scripts/setup-deps.sh");
  e = error_of([&] { read_fashion_mnist("validation", nowhere); });
  EXPECT_CONTAINS(e, "'validation'");
  EXPECT_CONTAINS(e, "train, test");
}

// ==================================================================================================
// SampleSet::validate
// ==================================================================================================

TEST(SampleSetValidate, RejectsBrokenSets) {
  auto set = classification_set(6, 3);
  EXPECT_NO_THROW(set.validate());
  set.x[4] = std::numeric_limits<double>::infinity();
  auto e = error_of([&] { set.validate(); });
  EXPECT_CONTAINS(e, "'synthetic'");
  EXPECT_CONTAINS(e, "sample 4");

  set = classification_set(6, 3);
  set.labels[2] = 3;
  e = error_of([&] { set.validate(); });
  EXPECT_CONTAINS(e, "sample 2 has label 3");

  set = classification_set(6, 3);
  set.owner = {0, 1, 2, 0, 1, 2};
  EXPECT_NO_THROW(set.validate(3));
  e = error_of([&] { set.validate(2); });
  EXPECT_CONTAINS(e, "sample 2 has owner 2");

  auto reg = regression_set(4);
  EXPECT_NO_THROW(reg.validate());
  reg.targets[1] = std::nan("");
  e = error_of([&] { reg.validate(); });
  EXPECT_CONTAINS(e, "sample 1 has a non-finite target");
  reg = regression_set(4);
  reg.targets.pop_back();
  e = error_of([&] { reg.validate(); });
  EXPECT_CONTAINS(e, "3 targets for 4 samples");
}

// ==================================================================================================
// Partitions
// ==================================================================================================

TEST(Partition, ParseAndNames) {
  for (auto k : {PartitionKind::iid, PartitionKind::label_sorted, PartitionKind::dirichlet})
    EXPECT_EQ(parse_partition_kind(to_string(k)), k);
  const auto e = error_of([] { parse_partition_kind("random"); });
  EXPECT_CONTAINS(e, "'random'");
  EXPECT_CONTAINS(e, "iid, label_sorted, dirichlet");
}

TEST(Partition, IidIsAShuffledEqualSplit) {
  const auto set = regression_set(103);
  const auto p = partition(set, 10, {PartitionKind::iid}, 42);
  expect_valid_partition(p, 103, 10);
  for (int a = 0; a < 10; ++a) EXPECT_EQ(p[static_cast<std::size_t>(a)].size(), a < 3 ? 11u : 10u);
  // A shuffle, not contiguous blocks of the identity.
  std::vector<std::int64_t> first_block(11);
  for (int i = 0; i < 11; ++i) first_block[static_cast<std::size_t>(i)] = i;
  EXPECT_NE(p[0], first_block);
  int contiguous = 0;
  for (const auto& l : p) contiguous += (l.back() - l.front() + 1 == static_cast<std::int64_t>(l.size()));
  EXPECT_LT(contiguous, 10);

  // Deterministic in the seed.
  EXPECT_EQ(partition(set, 10, {PartitionKind::iid}, 42), p);
  EXPECT_NE(partition(set, 10, {PartitionKind::iid}, 43), p);
  // One agent holds everything.
  const auto one = partition(set, 1, {PartitionKind::iid}, 42);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].size(), 103u);
}

TEST(Partition, LabelSortedGivesOneClassPerAgent) {
  const auto set = classification_set(1000, 10);
  const auto p = partition(set, 10, {PartitionKind::label_sorted}, 1);
  expect_valid_partition(p, 1000, 10);
  std::set<int> classes_seen;
  for (const auto& l : p) {
    EXPECT_EQ(l.size(), 100u);
    std::set<int> cls;
    for (auto s : l) cls.insert(set.labels[static_cast<std::size_t>(s)]);
    EXPECT_EQ(cls.size(), 1u);
    classes_seen.insert(*cls.begin());
  }
  EXPECT_EQ(classes_seen.size(), 10u);

  // 5 agents: two classes each.
  for (const auto& l : partition(set, 5, {PartitionKind::label_sorted}, 1)) {
    std::set<int> cls;
    for (auto s : l) cls.insert(set.labels[static_cast<std::size_t>(s)]);
    EXPECT_EQ(cls.size(), 2u);
  }
  // Ties are shuffled: 20 agents split each class in two, differently for another seed.
  const auto a = partition(set, 20, {PartitionKind::label_sorted}, 1);
  expect_valid_partition(a, 1000, 20);
  EXPECT_EQ(partition(set, 20, {PartitionKind::label_sorted}, 1), a);
  EXPECT_NE(partition(set, 20, {PartitionKind::label_sorted}, 2), a);
}

TEST(Partition, DirichletSkewFollowsAlpha) {
  const auto set = classification_set(2000, 10);
  const auto skewed = partition(set, 10, {PartitionKind::dirichlet, 0.1}, 5);
  const auto even = partition(set, 10, {PartitionKind::dirichlet, 100.0}, 5);
  expect_valid_partition(skewed, 2000, 10);
  expect_valid_partition(even, 2000, 10);
  const double skewed_classes = mean_major_classes(set, skewed);
  const double even_classes = mean_major_classes(set, even);
  EXPECT_LE(skewed_classes, 4.5);  // measured: 3.7 (alpha 100: 10.0)
  EXPECT_GE(even_classes, 9.5);
  EXPECT_GT(even_classes - skewed_classes, 5.0);

  // Deterministic in the seed.
  EXPECT_EQ(partition(set, 10, {PartitionKind::dirichlet, 0.1}, 5), skewed);
  EXPECT_NE(partition(set, 10, {PartitionKind::dirichlet, 0.1}, 6), skewed);
}

TEST(Partition, DirichletEveryAgentNonEmpty) {
  // Tiny alpha puts each class on about one agent: most agents would be empty without the fix-up.
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    const auto set = classification_set(20, 2);
    const auto p = partition(set, 20, {PartitionKind::dirichlet, 0.01}, seed);
    expect_valid_partition(p, 20, 20);
    for (const auto& l : p) EXPECT_EQ(l.size(), 1u);

    const auto set2 = classification_set(57, 3);
    expect_valid_partition(partition(set2, 16, {PartitionKind::dirichlet, 0.05}, seed), 57, 16);
  }
}

TEST(Partition, OwnerColumnIsHonoured) {
  auto set = classification_set(8, 2);
  set.owner = {2, 0, 1, 1, 0, 2, 2, 1};
  const std::vector<std::vector<std::int64_t>> expected = {{1, 4}, {2, 3, 7}, {0, 5, 6}};
  for (auto k : {PartitionKind::iid, PartitionKind::label_sorted, PartitionKind::dirichlet})
    EXPECT_EQ(partition(set, 3, {k, 0.3}, 99), expected);

  auto e = error_of([&] { partition(set, 2, {}, 1); });
  EXPECT_CONTAINS(e, "sample 0 has owner 2");
  EXPECT_CONTAINS(e, "0..1");
  e = error_of([&] { partition(set, 4, {}, 1); });
  EXPECT_CONTAINS(e, "agent 3 owns no sample");
}

TEST(Partition, Errors) {
  const auto small = classification_set(3, 2);
  auto e = error_of([&] { partition(small, 5, {}, 1); });
  EXPECT_CONTAINS(e, "'synthetic'");
  EXPECT_CONTAINS(e, "3 samples");
  EXPECT_CONTAINS(e, "5 agents");
  e = error_of([&] { partition(small, 0, {}, 1); });
  EXPECT_CONTAINS(e, "0 agents");

  const auto reg = regression_set(50);
  for (auto k : {PartitionKind::label_sorted, PartitionKind::dirichlet}) {
    e = error_of([&] { partition(reg, 5, {k, 0.5}, 1); });
    EXPECT_CONTAINS(e, to_string(k));
    EXPECT_CONTAINS(e, "regression");
  }
  EXPECT_NO_THROW(partition(reg, 5, {PartitionKind::iid}, 1));

  const auto set = classification_set(50, 5);
  for (double alpha : {0.0, -1.0, std::numeric_limits<double>::infinity()}) {
    e = error_of([&] { partition(set, 5, {PartitionKind::dirichlet, alpha}, 1); });
    EXPECT_CONTAINS(e, "alpha");
    EXPECT_CONTAINS(e, "> 0");
  }
}
