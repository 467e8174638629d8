// Checkpoints: written collectively at P ranks, read back bit for bit at P ranks and at 1 rank;
// atomic replacement of the previous checkpoint; clear errors for missing, foreign and mis-shaped
// files, never an HDF5 error stack.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "concord/core/error.hpp"
#include "concord/io/checkpoint.hpp"
#include "concord/io/trajectory.hpp"
#include "io_support.hpp"

using namespace concord_io_test;
using concord::AgentLayout;
using concord::AgentMatrix;
using concord::InputError;
using concord::RuntimeError;
using concord::io::CheckpointHeader;

namespace {

constexpr int agents = 9, dimension = 6;
/// State names in an order that is not alphabetical: the header must keep it.
const std::vector<std::string> names = {"x", "tracker", "a"};

/// Salt of state s at iteration k: every matrix of every checkpoint differs.
std::int64_t salt(std::size_t s, std::int64_t k) { return 1000 * k + static_cast<std::int64_t>(s); }

CheckpointHeader header_at(std::int64_t iteration) {
  CheckpointHeader h;
  h.iteration = iteration;
  h.agents = agents;
  h.dimension = dimension;
  h.attributes.text["deck"] = "concord:\n  algorithm: {type: gradient_tracking}\n";
  h.attributes.text["version"] = "0.1.0";
  h.attributes.integers["ranks"] = world_size();
  h.attributes.integers["iteration"] = -1;  // reserved: header.iteration wins
  return h;
}

void write_at(const std::string& path, std::int64_t iteration, MPI_Comm comm = MPI_COMM_WORLD) {
  const auto layout = AgentLayout::over(agents, comm);
  std::vector<std::pair<std::string, AgentMatrix>> state;
  for (std::size_t s = 0; s < names.size(); ++s)
    state.emplace_back(names[s], filled(layout, dimension, salt(s, iteration)));
  concord::io::write_checkpoint(path, comm, layout, header_at(iteration), state);
}

/// Reads every state at the layout of `comm` and checks it against the reference.
void expect_state(const std::string& path, std::int64_t iteration, MPI_Comm comm) {
  const auto layout = AgentLayout::over(agents, comm);
  std::vector<std::pair<std::string, AgentMatrix>> state;
  for (const auto& name : names) state.emplace_back(name, sentinel(layout.local_count(), dimension));
  // Read in a different order from the file's: matched by name.
  std::reverse(state.begin(), state.end());
  concord::io::read_checkpoint_state(path, comm, layout, state);
  for (std::size_t s = 0; s < names.size(); ++s)
    EXPECT_EQ(mismatches(state[names.size() - 1 - s].second, layout.local_first(), salt(s, iteration)), 0) << names[s];
}

bool exists(const std::string& path) { return std::filesystem::exists(path); }

}  // namespace

TEST(Checkpoint, RoundTripAtTheWritersRankCount) {
  ScratchDir dir("");
  const std::string path = dir.file("ckpt.h5");
  write_at(path, 120);
  EXPECT_TRUE(exists(path));
  EXPECT_FALSE(exists(path + ".tmp"));
  const CheckpointHeader h = concord::io::read_checkpoint_header(path);
  EXPECT_EQ(h.iteration, 120);
  EXPECT_EQ(h.agents, agents);
  EXPECT_EQ(h.dimension, dimension);
  EXPECT_EQ(h.state, names);
  auto expected = header_at(120).attributes;
  expected.integers.erase("iteration");
  EXPECT_EQ(h.attributes.text, expected.text);
  EXPECT_EQ(h.attributes.integers, expected.integers);
  expect_state(path, 120, MPI_COMM_WORLD);
}

TEST(Checkpoint, WrittenAtPRanksReadsAtOneRank) {
  ScratchDir dir("");
  const std::string path = dir.file("ckpt.h5");
  write_at(path, 7);
  // Every rank reads the whole file alone: a 1-rank layout holds all agents.
  expect_state(path, 7, MPI_COMM_SELF);
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST(Checkpoint, WrittenAtOneRankReadsAtPRanks) {
  ScratchDir dir("");
  const std::string path = dir.file("ckpt.h5");
  if (world_rank() == 0) write_at(path, 11, MPI_COMM_SELF);
  MPI_Barrier(MPI_COMM_WORLD);
  expect_state(path, 11, MPI_COMM_WORLD);
}

TEST(Checkpoint, ANewCheckpointReplacesThePreviousOne) {
  ScratchDir dir("");
  const std::string path = dir.file("ckpt.h5");
  write_at(path, 10);
  write_at(path, 20);
  EXPECT_FALSE(exists(path + ".tmp"));
  EXPECT_EQ(concord::io::read_checkpoint_header(path).iteration, 20);
  expect_state(path, 20, MPI_COMM_WORLD);
}

TEST(Checkpoint, AFailedWriteLeavesThePreviousCheckpointAndNoLitter) {
  ScratchDir dir("");
  const std::string path = dir.file("ckpt.h5");
  write_at(path, 10);
  // A directory where the temporary file goes makes the write fail.
  if (world_rank() == 0) std::filesystem::create_directory(path + ".tmp");
  MPI_Barrier(MPI_COMM_WORLD);
  testing::internal::CaptureStderr();
  std::string m = message_of<RuntimeError>([&] { write_at(path, 20); });
  EXPECT_NE(m.find("checkpoint file '" + path + "'"), std::string::npos) << m;
  EXPECT_EQ(concord::io::read_checkpoint_header(path).iteration, 10);
  expect_state(path, 10, MPI_COMM_WORLD);
  EXPECT_TRUE(std::filesystem::is_directory(path + ".tmp"));  // not ours to remove

  // A missing directory: nothing is created.
  const std::string nowhere = dir.file("missing/ckpt.h5");
  m = message_of<RuntimeError>([&] { write_at(nowhere, 20); });
  EXPECT_NE(m.find("checkpoint file '" + nowhere + "'"), std::string::npos) << m;
  EXPECT_NE(m.find("does the directory exist"), std::string::npos) << m;
  EXPECT_FALSE(exists(nowhere + ".tmp"));
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(Checkpoint, ClearErrorsForMissingForeignAndMisShapedFiles) {
  ScratchDir dir("");
  const std::string path = dir.file("ckpt.h5");
  write_at(path, 5);
  const auto layout = AgentLayout::over(agents, MPI_COMM_WORLD);
  testing::internal::CaptureStderr();

  // Missing file: header and state.
  const std::string absent = dir.file("absent.h5");
  std::string m = message_of<InputError>([&] { concord::io::read_checkpoint_header(absent); });
  EXPECT_NE(m.find("checkpoint file '" + absent + "' does not exist"), std::string::npos) << m;
  m = message_of<InputError>([&] {
    concord::io::read_checkpoint_state(absent, MPI_COMM_WORLD, layout,
                                       {{"x", sentinel(layout.local_count(), dimension)}});
  });
  EXPECT_NE(m.find("checkpoint file '" + absent + "' does not exist"), std::string::npos) << m;

  // Not HDF5.
  if (world_rank() == 0) std::ofstream(dir.file("text.h5")) << "iteration: 5\n";
  MPI_Barrier(MPI_COMM_WORLD);
  m = message_of<InputError>([&] { concord::io::read_checkpoint_header(dir.file("text.h5")); });
  EXPECT_NE(m.find("'" + dir.file("text.h5") + "' is not an HDF5 file, so not a Concord checkpoint"), std::string::npos)
      << m;

  // A trajectory is HDF5 but not a checkpoint.
  const std::string trajectory = dir.file("run.h5");
  concord::io::TrajectoryWriter::create(trajectory, MPI_COMM_WORLD, {"loss"}, {}, layout, dimension, false, false)
      .close();
  m = message_of<InputError>([&] { concord::io::read_checkpoint_header(trajectory); });
  EXPECT_NE(m.find("is not a Concord checkpoint: its root attribute 'format' is 'concord-trajectory 1'"),
            std::string::npos)
      << m;
  m = message_of<InputError>([&] {
    concord::io::read_checkpoint_state(trajectory, MPI_COMM_WORLD, layout,
                                       {{"x", sentinel(layout.local_count(), dimension)}});
  });
  EXPECT_NE(m.find("is not a Concord checkpoint"), std::string::npos) << m;

  // A state the file does not hold.
  m = message_of<InputError>([&] {
    concord::io::read_checkpoint_state(
        path, MPI_COMM_WORLD, layout,
        {{"x", sentinel(layout.local_count(), dimension)}, {"momentum", sentinel(layout.local_count(), dimension)}});
  });
  EXPECT_NE(m.find("checkpoint file '" + path + "' has no state 'momentum' (it holds: x, tracker, a)"),
            std::string::npos)
      << m;

  // Another number of agents, another dimension.
  const auto other = AgentLayout::over(agents + 3, MPI_COMM_WORLD);
  m = message_of<InputError>([&] {
    concord::io::read_checkpoint_state(path, MPI_COMM_WORLD, other, {{"x", sentinel(other.local_count(), dimension)}});
  });
  EXPECT_NE(m.find("state 'x' has shape 9 x 6 (agents x coordinates) but this run has 12 agents x 6 coordinates"),
            std::string::npos)
      << m;
  m = message_of<InputError>([&] {
    concord::io::read_checkpoint_state(path, MPI_COMM_WORLD, layout, {{"tracker", sentinel(layout.local_count(), 4)}});
  });
  EXPECT_NE(m.find("state 'tracker' has shape 9 x 6 (agents x coordinates) but this run has 9 agents x 4 coordinates"),
            std::string::npos)
      << m;
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}
