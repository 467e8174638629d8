// MPI-aware GoogleTest main shared by every Concord test executable.
//  - MPI and Kokkos are initialised once for the whole executable and finalised in reverse.
//  - Rank 0 prints GoogleTest's normal output; other ranks print only their failures, prefixed
//    with "[rank r]", so a failure on any rank is visible.
//  - The exit code is the same on every rank: non-zero when any rank failed.
#include <gtest/gtest.h>
#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <cstdio>

namespace {

class RankFailurePrinter : public testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  // GoogleTest calls OnTestPartResult while holding UnitTest's mutex, so it must not call
  // UnitTest::current_test_info() (which takes that mutex again and deadlocks): the test is
  // remembered here instead.
  void OnTestStart(const testing::TestInfo& info) override { info_ = &info; }
  void OnTestEnd(const testing::TestInfo&) override { info_ = nullptr; }
  void OnTestPartResult(const testing::TestPartResult& r) override {
    if (!r.failed()) return;
    std::fprintf(stderr, "[rank %d] FAILED %s.%s at %s:%d\n%s\n", rank_, info_ ? info_->test_suite_name() : "?",
                 info_ ? info_->name() : "?", r.file_name() ? r.file_name() : "?", r.line_number(), r.message());
  }

 private:
  int rank_;
  const testing::TestInfo* info_ = nullptr;
};

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int failed = 0;
  {
    Kokkos::ScopeGuard kokkos(argc, argv);
    testing::InitGoogleTest(&argc, argv);
    if (rank != 0) {
      auto& listeners = testing::UnitTest::GetInstance()->listeners();
      delete listeners.Release(listeners.default_result_printer());
      listeners.Append(new RankFailurePrinter(rank));
    }
    failed = RUN_ALL_TESTS() != 0;
  }
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0 && any_failed && !failed) std::fprintf(stderr, "Tests failed on another rank (see [rank r] lines)\n");
  MPI_Finalize();
  return any_failed;
}
