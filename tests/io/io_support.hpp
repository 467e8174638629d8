#pragma once
// Shared helpers of the io tests: a scratch directory agreed by all ranks, agent matrices filled
// with a function of (global agent, coordinate, salt) so that any rank count can check what it
// reads against an independent computation, and exact (bitwise) comparisons.
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <Kokkos_Core.hpp>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "concord/core/agent_layout.hpp"
#include "concord/core/random.hpp"
#include "concord/core/spaces.hpp"

namespace concord_io_test {

inline int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
inline int world_size() {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

/// A fresh, empty directory for one test, created by rank 0 and known to every rank; removed
/// (by rank 0, after a barrier) when the object dies.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& test) {
    std::string path;
    if (world_rank() == 0) {
      const auto* info = testing::UnitTest::GetInstance()->current_test_info();
      const std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : test;
      path = (std::filesystem::temp_directory_path() /
              ("concord_io_" + std::to_string(::getpid()) + "_" + std::to_string(world_size()) + "_" + name))
                 .string();
      std::filesystem::remove_all(path);
      std::filesystem::create_directories(path);
    }
    int length = static_cast<int>(path.size());
    MPI_Bcast(&length, 1, MPI_INT, 0, MPI_COMM_WORLD);
    path.resize(static_cast<std::size_t>(length));
    MPI_Bcast(path.data(), length, MPI_CHAR, 0, MPI_COMM_WORLD);
    path_ = path;
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    MPI_Barrier(MPI_COMM_WORLD);
    if (world_rank() == 0) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// The reference value of coordinate c of global agent a for a given salt: 53 random bits, sign
/// and a wide exponent range, so a misplaced, converted or rounded value shows.
inline double value(int agent, int c, std::int64_t salt) {
  concord::RandomStream rng(2024, static_cast<std::uint64_t>(agent), static_cast<std::uint64_t>(c),
                            static_cast<std::uint64_t>(salt));
  const double u = rng.uniform() - 0.5;
  return u * static_cast<double>(rng.uniform_int(1, 1 << 20));
}

/// This rank's block of the reference matrix, as a device AgentMatrix.
inline concord::AgentMatrix filled(const concord::AgentLayout& layout, int dimension, std::int64_t salt) {
  concord::AgentMatrix x(Kokkos::view_alloc(std::string("concord::io::test::filled")), layout.local_count(), dimension);
  auto h = Kokkos::create_mirror_view(x);
  for (int a = 0; a < layout.local_count(); ++a)
    for (int c = 0; c < dimension; ++c) h(a, c) = value(layout.local_first() + a, c, salt);
  Kokkos::deep_copy(x, h);
  return x;
}

/// A device AgentMatrix full of a sentinel (so unread entries show).
inline concord::AgentMatrix sentinel(int rows, int dimension) {
  concord::AgentMatrix x(Kokkos::view_alloc(std::string("concord::io::test::read")), rows, dimension);
  Kokkos::deep_copy(x, -12345.678);
  return x;
}

/// Number of entries of x (rows of global agents starting at `first`) differing bitwise from the
/// reference; the first mismatch is reported.
inline int mismatches(const concord::AgentMatrix& x, int first, std::int64_t salt) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
  int bad = 0;
  for (int a = 0; a < static_cast<int>(h.extent(0)); ++a)
    for (int c = 0; c < static_cast<int>(h.extent(1)); ++c) {
      const double expected = value(first + a, c, salt);
      if (std::memcmp(&expected, &h(a, c), sizeof(double)) != 0) {
        if (bad == 0)
          ADD_FAILURE() << "agent " << first + a << " coordinate " << c << ": read " << h(a, c) << ", expected "
                        << expected;
        ++bad;
      }
    }
  return bad;
}

inline bool bitwise_equal(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

/// The message of the exception of type E that f() throws; fails the test when it throws nothing
/// or something else.
template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw another type: " << e.what();
    return {};
  }
  ADD_FAILURE() << "threw nothing";
  return {};
}

}  // namespace concord_io_test
