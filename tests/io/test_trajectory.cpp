// TrajectoryWriter and read_trajectory: what is written collectively at P ranks reads back exactly
// (records, snapshots, attributes); existing files are refused unless overwriting; a resume
// truncates after the restart iteration and continuing gives the same file as an uninterrupted run.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "concord/core/error.hpp"
#include "concord/io/checkpoint.hpp"
#include "concord/io/trajectory.hpp"
#include "io_support.hpp"

using namespace concord_io_test;
using concord::AgentLayout;
using concord::InputError;
using concord::io::FileAttributes;
using concord::io::Trajectory;
using concord::io::TrajectoryWriter;

namespace {

constexpr int agents = 7, dimension = 5;
const std::vector<std::string> columns = {"loss", "consensus", "accuracy"};

/// The metric values of the record at `iteration`: exact functions, NaN and infinities included.
std::vector<double> record(std::int64_t iteration) {
  const double k = static_cast<double>(iteration);
  return {1.0 / (k + 3.0), iteration % 20 == 10 ? std::numeric_limits<double>::quiet_NaN() : std::sqrt(k + 0.5),
          iteration == 0 ? -std::numeric_limits<double>::infinity() : -k * 1e-300};
}

FileAttributes attributes(int ranks) {
  FileAttributes a;
  a.text["deck"] = "concord:\n  problem: {type: least_squares}\n  note: \"ünïcødé → ok\"\n";
  a.text["version"] = "0.1.0";
  a.text["empty"] = "";
  a.integers["ranks"] = ranks;
  a.integers["seed"] = -42;
  a.integers["big"] = std::int64_t{1} << 50;
  return a;
}

/// Writes records at `iterations` and, when `snap` says so, snapshots (salt = iteration).
void write_records(TrajectoryWriter& w, const AgentLayout& layout, const std::vector<std::int64_t>& iterations,
                   bool snapshots) {
  for (auto k : iterations) {
    w.append(k, record(k));
    if (snapshots && k % 20 == 0) w.snapshot(k, filled(layout, dimension, k));
  }
}

/// Checks `t` holds exactly the records and snapshots of `iterations` (independent computation).
void expect_content(const Trajectory& t, const std::vector<std::int64_t>& iterations, bool snapshots) {
  EXPECT_EQ(t.iteration, iterations);
  EXPECT_EQ(t.column_order, columns);
  ASSERT_EQ(t.columns.size(), columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c) {
    std::vector<double> expected;
    for (auto k : iterations) expected.push_back(record(k)[c]);
    ASSERT_TRUE(t.columns.count(columns[c])) << columns[c];
    EXPECT_TRUE(bitwise_equal(t.columns.at(columns[c]), expected)) << columns[c];
  }
  EXPECT_EQ(t.agents, agents);
  EXPECT_EQ(t.dimension, dimension);
  std::vector<std::int64_t> snapshot_iterations;
  std::vector<double> expected;
  if (snapshots)
    for (auto k : iterations)
      if (k % 20 == 0) {
        snapshot_iterations.push_back(k);
        for (int a = 0; a < agents; ++a)
          for (int c = 0; c < dimension; ++c) expected.push_back(value(a, c, k));
      }
  EXPECT_EQ(t.snapshot_iteration, snapshot_iterations);
  EXPECT_TRUE(bitwise_equal(t.snapshots, expected)) << t.snapshots.size() << " values, expected " << expected.size();
}

std::vector<std::int64_t> range(std::int64_t first, std::int64_t last, std::int64_t step) {
  std::vector<std::int64_t> v;
  for (auto k = first; k <= last; k += step) v.push_back(k);
  return v;
}

}  // namespace

TEST(Trajectory, RoundTripRecordsSnapshotsAndAttributes) {
  ScratchDir dir("");
  const std::string path = dir.file("run.h5");
  const auto layout = AgentLayout::over(agents, MPI_COMM_WORLD);
  const auto iterations = range(0, 60, 10);
  {
    auto w = TrajectoryWriter::create(path, MPI_COMM_WORLD, columns, attributes(world_size()), layout, dimension, true,
                                      false);
    write_records(w, layout, iterations, true);
    w.flush();
    EXPECT_EQ(w.records(), static_cast<std::int64_t>(iterations.size()));
    w.close();
    w.close();  // idempotent
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const Trajectory t = concord::io::read_trajectory(path);  // every rank reads, serially
  expect_content(t, iterations, true);
  EXPECT_EQ(t.attributes.text, attributes(world_size()).text);
  EXPECT_EQ(t.attributes.integers, attributes(world_size()).integers);
}

TEST(Trajectory, WithoutSnapshotsHasNone) {
  ScratchDir dir("");
  const std::string path = dir.file("run.h5");
  const auto layout = AgentLayout::over(agents, MPI_COMM_WORLD);
  const auto iterations = range(0, 30, 10);
  {
    auto w = TrajectoryWriter::create(path, MPI_COMM_WORLD, columns, {}, layout, dimension, false, false);
    write_records(w, layout, iterations, false);
    EXPECT_THROW(w.snapshot(40, filled(layout, dimension, 40)), std::logic_error);
    EXPECT_THROW(w.append(30, record(30)), std::logic_error);                // not after 30
    EXPECT_THROW(w.append(40, std::vector<double>{1.0}), std::logic_error);  // 1 value for 3 columns
  }                                                                          // the destructor closes (collectively)
  MPI_Barrier(MPI_COMM_WORLD);
  const Trajectory t = concord::io::read_trajectory(path);
  expect_content(t, iterations, false);
  EXPECT_TRUE(t.attributes.text.empty());
  EXPECT_TRUE(t.attributes.integers.empty());
}

TEST(Trajectory, RefusesAnExistingFileUnlessOverwriting) {
  ScratchDir dir("");
  const std::string path = dir.file("run.h5");
  const auto layout = AgentLayout::over(agents, MPI_COMM_WORLD);
  {
    auto w = TrajectoryWriter::create(path, MPI_COMM_WORLD, columns, {}, layout, dimension, true, false);
    write_records(w, layout, range(0, 20, 10), true);
  }
  testing::internal::CaptureStderr();
  const std::string message = message_of<InputError>(
      [&] { TrajectoryWriter::create(path, MPI_COMM_WORLD, {"other"}, {}, layout, dimension, false, false); });
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");  // no HDF5 error stack
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("concord/output/overwrite: true"), std::string::npos) << message;
  MPI_Barrier(MPI_COMM_WORLD);
  expect_content(concord::io::read_trajectory(path), range(0, 20, 10), true);  // untouched
  MPI_Barrier(MPI_COMM_WORLD);

  // A directory in the way is refused even when overwriting.
  EXPECT_NE(message_of<InputError>([&] {
              TrajectoryWriter::create(dir.path(), MPI_COMM_WORLD, columns, {}, layout, dimension, false, true);
            }).find("is a directory"),
            std::string::npos);

  {
    auto w = TrajectoryWriter::create(path, MPI_COMM_WORLD, {"other"}, {}, layout, dimension, false, true);
    w.append(3, {2.5});
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const Trajectory t = concord::io::read_trajectory(path);
  EXPECT_EQ(t.iteration, std::vector<std::int64_t>{3});
  EXPECT_EQ(t.column_order, std::vector<std::string>{"other"});
  EXPECT_EQ(t.columns.at("other"), std::vector<double>{2.5});
  EXPECT_TRUE(t.snapshot_iteration.empty());
  EXPECT_TRUE(t.snapshots.empty());
}

TEST(Trajectory, ResumeTruncatesAndContinuesLikeAnUninterruptedRun) {
  ScratchDir dir("");
  const auto layout = AgentLayout::over(agents, MPI_COMM_WORLD);
  const std::string whole = dir.file("whole.h5"), resumed = dir.file("resumed.h5");
  {
    auto w = TrajectoryWriter::create(whole, MPI_COMM_WORLD, columns, attributes(1), layout, dimension, true, false);
    write_records(w, layout, range(0, 100, 10), true);
  }
  {
    // The interrupted run got to iteration 80; its last checkpoint was at 40.
    auto w = TrajectoryWriter::create(resumed, MPI_COMM_WORLD, columns, attributes(1), layout, dimension, true, false);
    write_records(w, layout, range(0, 80, 10), true);
    w.flush();
  }
  FileAttributes changed;
  changed.integers["ranks"] = 99;
  changed.text["restarted_from"] = "ckpt.h5";
  {
    auto w = TrajectoryWriter::resume(resumed, MPI_COMM_WORLD, 40, columns, changed, layout, dimension, true);
    EXPECT_EQ(w.records(), 5);  // 0, 10, ..., 40: the record of the checkpoint's iteration stays
    EXPECT_THROW(w.append(40, record(40)), std::logic_error);
    write_records(w, layout, range(50, 100, 10), true);
    EXPECT_EQ(w.records(), 11);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const Trajectory a = concord::io::read_trajectory(whole), b = concord::io::read_trajectory(resumed);
  expect_content(b, range(0, 100, 10), true);
  EXPECT_EQ(a.iteration, b.iteration);
  EXPECT_EQ(a.snapshot_iteration, b.snapshot_iteration);
  EXPECT_TRUE(bitwise_equal(a.snapshots, b.snapshots));
  for (const auto& c : columns) EXPECT_TRUE(bitwise_equal(a.columns.at(c), b.columns.at(c))) << c;
  // Given attributes replaced or added, the others kept.
  auto expected = attributes(1);
  expected.integers["ranks"] = 99;
  expected.text["restarted_from"] = "ckpt.h5";
  EXPECT_EQ(b.attributes.text, expected.text);
  EXPECT_EQ(b.attributes.integers, expected.integers);
}

TEST(Trajectory, ResumeFromBeforeTheFirstRecordEmptiesIt) {
  ScratchDir dir("");
  const auto layout = AgentLayout::over(agents, MPI_COMM_WORLD);
  const std::string path = dir.file("run.h5");
  {
    auto w = TrajectoryWriter::create(path, MPI_COMM_WORLD, columns, {}, layout, dimension, true, false);
    write_records(w, layout, range(10, 50, 10), true);
  }
  {
    auto w = TrajectoryWriter::resume(path, MPI_COMM_WORLD, 5, columns, {}, layout, dimension, true);
    EXPECT_EQ(w.records(), 0);
    write_records(w, layout, range(20, 40, 10), true);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  expect_content(concord::io::read_trajectory(path), range(20, 40, 10), true);
}

TEST(Trajectory, ResumeRefusesOtherColumnsShapesAndMissingFiles) {
  ScratchDir dir("");
  const auto layout = AgentLayout::over(agents, MPI_COMM_WORLD);
  const std::string path = dir.file("run.h5");
  {
    auto w = TrajectoryWriter::create(path, MPI_COMM_WORLD, columns, {}, layout, dimension, false, false);
    write_records(w, layout, range(0, 30, 10), false);
  }
  testing::internal::CaptureStderr();
  std::string m = message_of<InputError>([&] {
    TrajectoryWriter::resume(path, MPI_COMM_WORLD, 10, {"loss", "gradient_norm"}, {}, layout, dimension, false);
  });
  EXPECT_NE(m.find(path), std::string::npos) << m;
  EXPECT_NE(m.find("not in the file: [gradient_norm]"), std::string::npos) << m;
  EXPECT_NE(m.find("not written by this run: [consensus, accuracy]"), std::string::npos) << m;

  m = message_of<InputError>([&] {
    TrajectoryWriter::resume(path, MPI_COMM_WORLD, 10, {"consensus", "loss", "accuracy"}, {}, layout, dimension, false);
  });
  EXPECT_NE(m.find("different order"), std::string::npos) << m;

  m = message_of<InputError>([&] {
    TrajectoryWriter::resume(path, MPI_COMM_WORLD, 10, columns, {}, AgentLayout::over(agents + 1, MPI_COMM_WORLD),
                             dimension, false);
  });
  EXPECT_NE(m.find("written for 7 agents x 5 coordinates; this run has 8 agents x 5"), std::string::npos) << m;

  m = message_of<InputError>([&] {
    TrajectoryWriter::resume(dir.file("absent.h5"), MPI_COMM_WORLD, 10, columns, {}, layout, dimension, false);
  });
  EXPECT_NE(m.find("'" + dir.file("absent.h5") + "' does not exist"), std::string::npos) << m;
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  MPI_Barrier(MPI_COMM_WORLD);
  expect_content(concord::io::read_trajectory(path), range(0, 30, 10), false);  // refusals changed nothing
}

TEST(Trajectory, ReadingRefusesMissingForeignAndNonHdf5Files) {
  ScratchDir dir("");
  testing::internal::CaptureStderr();
  std::string m = message_of<InputError>([&] { concord::io::read_trajectory(dir.file("absent.h5")); });
  EXPECT_NE(m.find("trajectory file '" + dir.file("absent.h5") + "' does not exist"), std::string::npos) << m;

  if (world_rank() == 0) std::ofstream(dir.file("text.h5")) << "not hdf5\n";
  MPI_Barrier(MPI_COMM_WORLD);
  m = message_of<InputError>([&] { concord::io::read_trajectory(dir.file("text.h5")); });
  EXPECT_NE(m.find("'" + dir.file("text.h5") + "' is not an HDF5 file"), std::string::npos) << m;

  // A checkpoint is HDF5 but not a trajectory.
  const auto layout = AgentLayout::over(agents, MPI_COMM_WORLD);
  concord::io::CheckpointHeader header;
  header.iteration = 3;
  concord::io::write_checkpoint(dir.file("ckpt.h5"), MPI_COMM_WORLD, layout, header,
                                {{"x", filled(layout, dimension, 1)}});
  m = message_of<InputError>([&] { concord::io::read_trajectory(dir.file("ckpt.h5")); });
  EXPECT_NE(m.find("is not a Concord trajectory: its root attribute 'format' is 'concord-checkpoint 1', expected "
                   "'concord-trajectory 1'"),
            std::string::npos)
      << m;
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}
